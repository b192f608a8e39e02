/*
 * fuzz_ec2_images: the parsers of aws/ec2_images (DescribeImages,
 * DescribeSnapshots, CreateImage, <return> answers) and ec2_ami_name on any
 * bytes. Besides the sanitizers' findings, a broken promise of the header
 * (an item without its id, a field over its bound, a failure that left
 * something behind or set no message, a name EC2 would refuse) aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/ec2_images.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The calls of aws/ec2_images.c need aws_client_call; never called here
 * (weak, so that a linked client.o wins). */
__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	(void)c;
	(void)call;
	(void)body;
	return err_set(e, ERR_INTERNAL, "no AWS in a fuzz target");
}

static void check_field(const char *s, int may_be_null)
{
	if (!s ? !may_be_null : strlen(s) > 4096)
		abort();
}

static void check_tags(const struct ec2_tag *tags, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		check_field(tags[i].key, 0);
		check_field(tags[i].value, 0);
		if (!ec2_tags_find(tags, n, tags[i].key))
			abort();
	}
}

static void check_images(const struct ec2_image_list *l)
{
	size_t i, j;

	for (i = 0; i < l->n; i++) {
		const struct ec2_image *im = &l->items[i];

		check_field(im->image_id, 0);
		if (!*im->image_id)
			abort();
		check_field(im->name, 1);
		check_field(im->state, 1);
		check_field(im->creation_date, 1);
		check_field(im->owner_id, 1);
		check_field(im->description, 1);
		if (im->creation_ms < 0 || (!im->creation_date && im->creation_ms))
			abort();
		check_tags(im->tags, im->n_tags);
		for (j = 0; j < im->n_devices; j++) {
			check_field(im->devices[j].device_name, 1);
			check_field(im->devices[j].snapshot_id, 1);
		}
	}
}

static void check_snaps(const struct ec2_snapshot_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct ec2_snapshot *s = &l->items[i];

		check_field(s->snapshot_id, 0);
		if (!*s->snapshot_id)
			abort();
		check_field(s->volume_id, 1);
		check_field(s->state, 1);
		check_field(s->start_time, 1);
		check_field(s->progress, 1);
		check_field(s->owner_id, 1);
		check_field(s->description, 1);
		if (s->volume_size < -1 || s->start_ms < 0 || (!s->start_time && s->start_ms))
			abort();
		check_tags(s->tags, s->n_tags);
	}
}

static void check_failure(int rc, const struct err *e)
{
	if (rc != e->code || !e->message[0])
		abort();
}

static void check_token(const char *t)
{
	if (t && (!*t || strlen(t) > 4096))
		abort();
}

/* The name is 3..128 of EC2's characters and ends with the suffix. */
static void check_name(const uint8_t *data, size_t size)
{
	static const char suffix[] = "-20240501T0930Z";
	char base[512], out[EC2_AMI_NAME_MAX + 1];
	size_t n = size < sizeof(base) - 1 ? size : sizeof(base) - 1, len, i;

	memcpy(base, data, n);
	base[n] = '\0';
	if (ec2_ami_name(out, sizeof(out), base, suffix, NULL) != 0)
		abort();
	len = strlen(out);
	if (len < EC2_AMI_NAME_MIN || len > EC2_AMI_NAME_MAX ||
	    strcmp(out + len - strlen(suffix), suffix) != 0)
		abort();
	for (i = 0; i < len; i++)
		if (!strchr(
		        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789()[] ./-'@_",
		        out[i]) ||
		    !out[i])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct ec2_image_list images = {NULL, 0};
	struct ec2_snapshot_list snaps = {NULL, 0};
	char *token = NULL, *id = NULL;
	struct err e;
	int rc;

	rc = ec2_parse_describe_images(s, size, &images, &token, &e);
	if (rc == 0) {
		check_images(&images);
		check_token(token);
	} else {
		check_failure(rc, &e);
		if (images.n || images.items || token)
			abort();
	}
	ec2_image_list_free(&images);
	free(token);
	token = NULL;

	rc = ec2_parse_describe_snapshots(s, size, &snaps, &token, &e);
	if (rc == 0) {
		check_snaps(&snaps);
		check_token(token);
	} else {
		check_failure(rc, &e);
		if (snaps.n || snaps.items || token)
			abort();
	}
	ec2_snapshot_list_free(&snaps);
	free(token);

	rc = ec2_parse_create_image(s, size, &id, &e);
	if (rc == 0) {
		check_field(id, 0);
		if (!*id)
			abort();
	} else {
		check_failure(rc, &e);
		if (id)
			abort();
	}
	free(id);

	rc = ec2_parse_return("DeleteSnapshot", s, size, &e);
	if (rc)
		check_failure(rc, &e);
	check_name(data, size);
	return 0;
}
