/*
 * fuzz_ec2_xml: the parsers of what EC2 and the other AWS APIs answer, on
 * any bytes: ec2_parse_describe_instances and errors_parse (both XML and
 * JSON). Besides the sanitizers' findings, a broken promise of the headers
 * (an instance without an id, a field over its bound, a failure that left
 * something behind, a message that is not one line of UTF-8) aborts.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/ec2.h"
#include "aws/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * aws/ec2.c calls aws_client_call (from ec2_describe_instances). Until
 * aws/client.c is in the library this weak stand-in resolves it; once it is,
 * the weak definition keeps the linker from pulling client.o (and curl) in.
 * It is never called here.
 */
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

static void check_instances(const struct ec2_instance_list *l)
{
	size_t i, j;

	for (i = 0; i < l->n; i++) {
		const struct ec2_instance *in = &l->items[i];

		check_field(in->instance_id, 0);
		if (!*in->instance_id)
			abort();
		check_field(in->state, 1);
		check_field(in->public_ip, 1);
		check_field(in->private_ip, 1);
		check_field(in->launch_time, 1);
		check_field(in->availability_zone, 1);
		check_field(in->instance_type, 1);
		check_field(in->image_id, 1);
		if (in->launch_time_ms < 0 || (!in->launch_time && in->launch_time_ms))
			abort();
		for (j = 0; j < in->n_tags; j++) {
			check_field(in->tags[j].key, 0);
			check_field(in->tags[j].value, 0);
			if (ec2_instance_tag(in, in->tags[j].key) == NULL)
				abort();
		}
	}
}

/* One line of valid UTF-8, and the codes plain ASCII. */
static void check_err(const struct err *e, int rc)
{
	const char *p;
	json_t *j;

	if (rc != ERR_AWS || e->code != ERR_AWS || !e->message[0])
		abort();
	for (p = e->message; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			abort();
	for (p = e->aws_code; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			abort();
	for (p = e->request_id; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			abort();
	j = json_string(e->message); /* NULL on invalid UTF-8 */
	if (!j)
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct ec2_instance_list list = {NULL, 0};
	char *token = NULL;
	struct err e;
	int rc;

	rc = ec2_parse_describe_instances(s, size, &list, &token, &e);
	if (rc == 0) {
		check_instances(&list);
		if (token && (!*token || strlen(token) > 4096))
			abort();
	} else if (rc != e.code || list.n || list.items || token || !e.message[0]) {
		abort();
	}
	ec2_instance_list_free(&list);
	free(token);

	rc = errors_parse(0, 400, s, size, NULL, NULL, &e);
	check_err(&e, rc);
	rc = errors_parse(1, 503, s, size, "aws.ns#Fallback:http://x", "req-id", &e);
	check_err(&e, rc);
	if (!e.aws_code[0]) /* the body's code, else the header's */
		abort();
	return 0;
}
