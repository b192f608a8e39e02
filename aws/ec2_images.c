/* ec2_images: AMI and snapshot calls over the Query API, answers read by aws/xml; see
 * ec2_images.h. */
#include "ec2_images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/vec.h"
#include "query.h"
#include "uri.h"
#include "xml.h"
#include "../util/decimal.h"

#define EC2_MAX_RESULTS "1000"

/*
 * Where the parser stands: every open element has a kind, found from its
 * parent's kind and its name in the answer's rule table; anything else
 * (and all under it) is ignored. Kinds from N_FIRST_FIELD on collect text.
 */
enum node {
	N_IMAGES = XML_FIRST_KIND,
	N_IMAGE,
	N_BDM,
	N_BD,
	N_EBS,
	N_SNAPS,
	N_SNAP,
	N_TAG_SET,
	N_TAG,
	N_FIRST_FIELD,
	N_NEXT_TOKEN = N_FIRST_FIELD,
	N_RETURN,
	N_NEW_IMAGE_ID,
	N_IMG_ID,
	N_IMG_NAME,
	N_IMG_STATE,
	N_IMG_CREATED,
	N_IMG_OWNER,
	N_IMG_DESC,
	N_DEV_NAME,
	N_DEV_SNAP,
	N_SNAP_ID,
	N_SNAP_VOLUME,
	N_SNAP_STATE,
	N_SNAP_START,
	N_SNAP_PROGRESS,
	N_SNAP_OWNER,
	N_SNAP_DESC,
	N_SNAP_SIZE,
	N_TAG_KEY,
	N_TAG_VALUE
};

static const struct xml_rule image_rules[] = {
    {"imagesSet", XML_ROOT, N_IMAGES},
    {"nextToken", XML_ROOT, N_NEXT_TOKEN},
    {"item", N_IMAGES, N_IMAGE},
    {"imageId", N_IMAGE, N_IMG_ID},
    {"name", N_IMAGE, N_IMG_NAME},
    {"imageState", N_IMAGE, N_IMG_STATE},
    {"creationDate", N_IMAGE, N_IMG_CREATED},
    {"imageOwnerId", N_IMAGE, N_IMG_OWNER},
    {"description", N_IMAGE, N_IMG_DESC},
    {"tagSet", N_IMAGE, N_TAG_SET},
    {"blockDeviceMapping", N_IMAGE, N_BDM},
    {"item", N_BDM, N_BD},
    {"deviceName", N_BD, N_DEV_NAME},
    {"ebs", N_BD, N_EBS},
    {"snapshotId", N_EBS, N_DEV_SNAP},
    {"item", N_TAG_SET, N_TAG},
    {"key", N_TAG, N_TAG_KEY},
    {"value", N_TAG, N_TAG_VALUE},
};

static const struct xml_rule snapshot_rules[] = {
    {"snapshotSet", XML_ROOT, N_SNAPS},  {"nextToken", XML_ROOT, N_NEXT_TOKEN},
    {"item", N_SNAPS, N_SNAP},           {"snapshotId", N_SNAP, N_SNAP_ID},
    {"volumeId", N_SNAP, N_SNAP_VOLUME}, {"status", N_SNAP, N_SNAP_STATE},
    {"startTime", N_SNAP, N_SNAP_START}, {"progress", N_SNAP, N_SNAP_PROGRESS},
    {"ownerId", N_SNAP, N_SNAP_OWNER},   {"description", N_SNAP, N_SNAP_DESC},
    {"volumeSize", N_SNAP, N_SNAP_SIZE}, {"tagSet", N_SNAP, N_TAG_SET},
    {"item", N_TAG_SET, N_TAG},          {"key", N_TAG, N_TAG_KEY},
    {"value", N_TAG, N_TAG_VALUE},
};

static const struct xml_rule create_rules[] = {
    {"imageId", XML_ROOT, N_NEW_IMAGE_ID},
};

static const struct xml_rule return_rules[] = {
    {"return", XML_ROOT, N_RETURN},
};

struct parse {
	const struct xml_rule *rules;
	size_t n_rules;
	struct ec2_image_list images;
	size_t images_cap;
	struct ec2_snapshot_list snaps;
	size_t snaps_cap;
	struct ec2_tag **tags; /* the open item's tag array */
	size_t *n_tags;
	size_t tags_cap;
	size_t devs_cap;
	char *next_token;
	char *image_id; /* CreateImage */
};

/* ---- lists and helpers ---- */

static void free_image(struct ec2_image *im)
{
	size_t i;

	free(im->image_id);
	free(im->name);
	free(im->state);
	free(im->creation_date);
	free(im->owner_id);
	free(im->description);
	ec2_tags_free(im->tags, im->n_tags);
	for (i = 0; i < im->n_devices; i++) {
		free(im->devices[i].device_name);
		free(im->devices[i].snapshot_id);
	}
	free(im->devices);
}

static void free_snapshot(struct ec2_snapshot *s)
{
	free(s->snapshot_id);
	free(s->volume_id);
	free(s->state);
	free(s->start_time);
	free(s->progress);
	free(s->owner_id);
	free(s->description);
	ec2_tags_free(s->tags, s->n_tags);
}

void ec2_image_list_free(struct ec2_image_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->n; i++)
		free_image(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

void ec2_snapshot_list_free(struct ec2_snapshot_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->n; i++)
		free_snapshot(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

/* A decimal of at most 18 digits, or -1. */
static int64_t parse_size(const char *s)
{
	int64_t v;

	return decimal_parse(s, strlen(s), 18, 0, 0, INT64_MAX, &v) ? -1 : v;
}

/* ---- AMI names ---- */

static int ami_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("()[] ./-'@_", c) != NULL;
}

int ec2_ami_name(char *out, size_t cap, const char *base, const char *suffix, struct err *e)
{
	size_t n = 0, slen, room, i;
	const unsigned char *p;

	if (!out || cap <= EC2_AMI_NAME_MAX || !base || !suffix)
		return err_set(e, ERR_INVALID, "AMI name: no buffer or no parts");
	slen = strlen(suffix);
	if (slen >= EC2_AMI_NAME_MAX - 2)
		return err_set(e, ERR_INVALID, "AMI name: a suffix of %zu bytes", slen);
	for (i = 0; i < slen; i++)
		if (!ami_char((unsigned char)suffix[i]))
			return err_set(e, ERR_INVALID,
			               "AMI name: the suffix has a character "
			               "AMI names do not allow");
	room = EC2_AMI_NAME_MAX - slen;
	for (p = (const unsigned char *)base; *p && n < room; p++) {
		if (ami_char(*p)) {
			out[n++] = (char)*p;
			continue;
		}
		out[n++] = '_';
		if (*p >= 0xc0) /* a UTF-8 lead byte: its continuation bytes go with it */
			while ((p[1] & 0xc0) == 0x80)
				p++;
	}
	memcpy(out + n, suffix, slen);
	n += slen;
	while (n < EC2_AMI_NAME_MIN)
		out[n++] = '_';
	out[n] = '\0';
	return 0;
}

/* ---- the parser ---- */

static struct ec2_image *cur_image(struct parse *ps)
{
	return &ps->images.items[ps->images.n - 1];
}

static struct ec2_snapshot *cur_snap(struct parse *ps)
{
	return &ps->snaps.items[ps->snaps.n - 1];
}

/* Opens an item of a list kind; 0 or ERR_NOMEM. */
static int open_item(struct parse *ps, int kind)
{
	struct ec2_image *im;
	struct ec2_snapshot *sn;
	void *item;

	switch (kind) {
	case N_IMAGE:
		im = vec_push(&ps->images.items, &ps->images.n, &ps->images_cap, sizeof(*im));
		if (!im)
			return ERR_NOMEM;
		ps->tags = &im->tags;
		ps->n_tags = &im->n_tags;
		ps->tags_cap = 0;
		ps->devs_cap = 0;
		return 0;
	case N_SNAP:
		sn = vec_push(&ps->snaps.items, &ps->snaps.n, &ps->snaps_cap, sizeof(*sn));
		if (!sn)
			return ERR_NOMEM;
		sn->volume_size = -1;
		ps->tags = &sn->tags;
		ps->n_tags = &sn->n_tags;
		ps->tags_cap = 0;
		return 0;
	case N_TAG:
		item = vec_push(ps->tags, ps->n_tags, &ps->tags_cap, sizeof(**ps->tags));
		return item ? 0 : ERR_NOMEM;
	case N_BD:
		im = cur_image(ps);
		item = vec_push(&im->devices, &im->n_devices, &ps->devs_cap, sizeof(*im->devices));
		return item ? 0 : ERR_NOMEM;
	default:
		return 0;
	}
}

static int on_start(struct xml *x, void *ctx, int parent, size_t depth, const char *name)
{
	struct parse *ps = ctx;
	int kind = xml_rule_kind(ps->rules, ps->n_rules, parent, name);

	(void)depth;
	if (kind >= N_FIRST_FIELD)
		xml_collect(x, EC2_MAX_FIELD, ERR_PARSE);
	else if (open_item(ps, kind))
		xml_fail(x, ERR_NOMEM, "out of memory");
	return kind;
}

static char **image_slot(struct parse *ps, int kind)
{
	struct ec2_image *im = cur_image(ps);
	struct ec2_block_device *bd = im->n_devices ? &im->devices[im->n_devices - 1] : NULL;

	switch (kind) {
	case N_IMG_ID:
		return &im->image_id;
	case N_IMG_NAME:
		return &im->name;
	case N_IMG_STATE:
		return &im->state;
	case N_IMG_CREATED:
		return &im->creation_date;
	case N_IMG_OWNER:
		return &im->owner_id;
	case N_IMG_DESC:
		return &im->description;
	case N_DEV_NAME:
		return bd ? &bd->device_name : NULL;
	case N_DEV_SNAP:
		return bd ? &bd->snapshot_id : NULL;
	default:
		return NULL;
	}
}

static char **snap_slot(struct parse *ps, int kind)
{
	struct ec2_snapshot *sn = cur_snap(ps);

	switch (kind) {
	case N_SNAP_ID:
		return &sn->snapshot_id;
	case N_SNAP_VOLUME:
		return &sn->volume_id;
	case N_SNAP_STATE:
		return &sn->state;
	case N_SNAP_START:
		return &sn->start_time;
	case N_SNAP_PROGRESS:
		return &sn->progress;
	case N_SNAP_OWNER:
		return &sn->owner_id;
	case N_SNAP_DESC:
		return &sn->description;
	default:
		return NULL;
	}
}

/* The slot an ending field's text goes to; NULL: handled or dropped. */
static char **field_slot(struct xml *x, struct parse *ps, int kind, const char *text)
{
	struct ec2_tag *tag;

	switch (kind) {
	case N_NEXT_TOKEN:
		return *text ? &ps->next_token : NULL; /* an empty nextToken is the last page */
	case N_NEW_IMAGE_ID:
		return &ps->image_id;
	case N_RETURN:
		if (strcmp(text, "true") != 0)
			xml_fail(x, ERR_PARSE, "<return> is not true");
		return NULL;
	case N_SNAP_SIZE:
		cur_snap(ps)->volume_size = parse_size(text);
		return NULL;
	case N_TAG_KEY:
	case N_TAG_VALUE:
		tag = &(*ps->tags)[*ps->n_tags - 1];
		return kind == N_TAG_KEY ? &tag->key : &tag->value;
	default:
		if (kind >= N_IMG_ID && kind <= N_DEV_SNAP)
			return image_slot(ps, kind);
		return snap_slot(ps, kind);
	}
}

static void on_end(struct xml *x, void *ctx, int kind, struct buf *text)
{
	struct parse *ps = ctx;
	struct ec2_image *im;
	struct ec2_snapshot *sn;
	char **slot;
	int rc = 0;

	if (kind >= N_FIRST_FIELD) {
		slot = field_slot(x, ps, kind, buf_str(text));
		if (slot)
			rc = ec2_take_field(slot, text);
	} else if (kind == N_TAG) {
		rc = ec2_tag_close(*ps->tags, ps->n_tags);
	} else if (kind == N_IMAGE) {
		im = cur_image(ps);
		if (!im->image_id || !*im->image_id)
			xml_fail(x, ERR_PARSE, "an image without an imageId");
		im->creation_ms = ec2_time_ms(im->creation_date);
	} else if (kind == N_SNAP) {
		sn = cur_snap(ps);
		if (!sn->snapshot_id || !*sn->snapshot_id)
			xml_fail(x, ERR_PARSE, "a snapshot without a snapshotId");
		sn->start_ms = ec2_time_ms(sn->start_time);
	}
	if (rc)
		xml_fail(x, rc, "out of memory");
}

/* Parses xml, an answer of action with rules; ps (freed with parse_free)
 * holds what it gave. */
static int run_parse(struct parse *ps, const char *action, const struct xml_rule *rules,
                     size_t n_rules, const char *xml, size_t len, struct err *e)
{
	char what[96], root[96];
	struct xml_reader reader = {what, root, on_start, on_end, NULL};

	snprintf(what, sizeof(what), "%s answer", action);
	snprintf(root, sizeof(root), "%sResponse", action);
	memset(ps, 0, sizeof(*ps));
	ps->rules = rules;
	ps->n_rules = n_rules;
	return xml_parse(xml, len, &reader, ps, e);
}

static void parse_free(struct parse *ps)
{
	ec2_image_list_free(&ps->images);
	ec2_snapshot_list_free(&ps->snaps);
	free(ps->next_token);
	free(ps->image_id);
}

/* Hands the page's token to the caller. */
static void give_token(struct parse *ps, char **next_token)
{
	if (next_token) {
		*next_token = ps->next_token;
		ps->next_token = NULL;
	}
}

int ec2_parse_describe_images(const char *xml, size_t len, struct ec2_image_list *out,
                              char **next_token, struct err *e)
{
	struct parse ps;
	int rc;

	if (next_token)
		*next_token = NULL;
	if (!out || (!xml && len))
		return err_set(e, ERR_INVALID, "DescribeImages answer: no list or no bytes");
	rc = run_parse(&ps, "DescribeImages", image_rules,
	               sizeof(image_rules) / sizeof(image_rules[0]), xml, len, e);
	if (!rc &&
	    vec_append(&out->items, &out->n, &ps.images.items, &ps.images.n, sizeof(*out->items)))
		rc = err_set(e, ERR_NOMEM, "DescribeImages answer: out of memory");
	if (!rc)
		give_token(&ps, next_token);
	parse_free(&ps);
	return rc;
}

int ec2_parse_describe_snapshots(const char *xml, size_t len, struct ec2_snapshot_list *out,
                                 char **next_token, struct err *e)
{
	struct parse ps;
	int rc;

	if (next_token)
		*next_token = NULL;
	if (!out || (!xml && len))
		return err_set(e, ERR_INVALID, "DescribeSnapshots answer: no list or no bytes");
	rc = run_parse(&ps, "DescribeSnapshots", snapshot_rules,
	               sizeof(snapshot_rules) / sizeof(snapshot_rules[0]), xml, len, e);
	if (!rc &&
	    vec_append(&out->items, &out->n, &ps.snaps.items, &ps.snaps.n, sizeof(*out->items)))
		rc = err_set(e, ERR_NOMEM, "DescribeSnapshots answer: out of memory");
	if (!rc)
		give_token(&ps, next_token);
	parse_free(&ps);
	return rc;
}

int ec2_parse_create_image(const char *xml, size_t len, char **image_id, struct err *e)
{
	struct parse ps;
	int rc;

	if (!image_id || (!xml && len))
		return err_set(e, ERR_INVALID, "CreateImage answer: no output or no bytes");
	*image_id = NULL;
	rc = run_parse(&ps, "CreateImage", create_rules,
	               sizeof(create_rules) / sizeof(create_rules[0]), xml, len, e);
	if (!rc && (!ps.image_id || !*ps.image_id))
		rc = err_set(e, ERR_PARSE, "CreateImage answer: no imageId");
	if (!rc) {
		*image_id = ps.image_id;
		ps.image_id = NULL;
	}
	parse_free(&ps);
	return rc;
}

int ec2_parse_return(const char *action, const char *xml, size_t len, struct err *e)
{
	struct parse ps;
	int rc;

	if (!action || strlen(action) > 64 || (!xml && len))
		return err_set(e, ERR_INVALID, "EC2 answer: no action or no bytes");
	rc = run_parse(&ps, action, return_rules, sizeof(return_rules) / sizeof(return_rules[0]),
	               xml, len, e);
	parse_free(&ps);
	return rc;
}

/* ---- the calls ---- */

/* An empty form of action. */
static int form_start(struct buf *form, const char *action)
{
	buf_init(form, 0);
	return query_form_start(form, &ec2_api, action);
}

static int check_strings(const char *what, const char *const *v, size_t n, struct err *e)
{
	size_t i;

	if (n && !v)
		return err_set(e, ERR_INVALID, "%s: a list without values", what);
	for (i = 0; i < n; i++)
		if (!v[i] || !*v[i])
			return err_set(e, ERR_INVALID, "%s: value %zu is empty", what, i + 1);
	return 0;
}

static int check_filters(const char *what, const struct ec2_filter *f, size_t n, struct err *e)
{
	size_t i;

	if (n && !f)
		return err_set(e, ERR_INVALID, "%s: no filters", what);
	for (i = 0; i < n; i++) {
		if (!f[i].name || !*f[i].name || !f[i].n_values || !f[i].values)
			return err_set(e, ERR_INVALID, "%s: filter %zu is malformed", what, i + 1);
		if (check_strings(what, f[i].values, f[i].n_values, e))
			return ERR_INVALID;
	}
	return 0;
}

/* A DescribeImages or DescribeSnapshots query: both take owners, ids and
 * filters, and MaxResults only without ids. */
struct describe {
	const char *action;   /* "DescribeImages" */
	const char *id_param; /* "ImageId" */
	const char *const *owners;
	size_t n_owners;
	const char *const *ids;
	size_t n_ids;
	const struct ec2_filter *filters;
	size_t n_filters;
	int include_disabled; /* DescribeImages: IncludeDisabled=true */
};

static int describe_check(const struct describe *d, struct err *e)
{
	int rc = check_strings(d->action, d->owners, d->n_owners, e);

	if (!rc)
		rc = check_strings(d->action, d->ids, d->n_ids, e);
	if (!rc)
		rc = check_filters(d->action, d->filters, d->n_filters, e);
	return rc;
}

static int describe_build(struct buf *form, const void *dv, const char *token)
{
	const struct describe *d = dv;
	int rc = query_form_start(form, &ec2_api, d->action);

	if (!rc)
		rc = query_form_list(form, "Owner", d->owners, d->n_owners);
	if (!rc)
		rc = query_form_list(form, d->id_param, d->ids, d->n_ids);
	if (!rc)
		rc = ec2_form_filters(form, d->filters, d->n_filters);
	if (!rc && d->include_disabled)
		rc = uri_form_add(form, "IncludeDisabled", "true");
	if (!rc && !d->n_ids)
		rc = uri_form_add(form, "MaxResults", EC2_MAX_RESULTS);
	if (!rc && token)
		rc = uri_form_add(form, "NextToken", token);
	return rc;
}

static int images_parse(const char *xml, size_t len, void *out, char **next, struct err *e)
{
	return ec2_parse_describe_images(xml, len, out, next, e);
}

int ec2_describe_images(struct aws_client *c, const struct ec2_image_query *q,
                        struct ec2_image_list *out, struct err *e)
{
	struct ec2_image_list all = {NULL, 0};
	struct describe d;
	int rc;

	if (!q || !out)
		return err_set(e, ERR_INVALID, "DescribeImages: no query or no list");
	d = (struct describe){
	    .action = "DescribeImages",
	    .id_param = "ImageId",
	    .owners = q->owners,
	    .n_owners = q->n_owners,
	    .ids = q->image_ids,
	    .n_ids = q->n_image_ids,
	    .filters = q->filters,
	    .n_filters = q->n_filters,
	    .include_disabled = q->include_disabled,
	};
	rc = describe_check(&d, e);
	if (!rc)
		rc = ec2_paged(c, d.action, describe_build, &d, images_parse, &all, e);
	if (!rc && vec_append(&out->items, &out->n, &all.items, &all.n, sizeof(*all.items)))
		rc = err_set(e, ERR_NOMEM, "DescribeImages: out of memory");
	ec2_image_list_free(&all);
	return rc;
}

static int snaps_parse(const char *xml, size_t len, void *out, char **next, struct err *e)
{
	return ec2_parse_describe_snapshots(xml, len, out, next, e);
}

int ec2_describe_snapshots(struct aws_client *c, const struct ec2_snapshot_query *q,
                           struct ec2_snapshot_list *out, struct err *e)
{
	struct ec2_snapshot_list all = {NULL, 0};
	struct describe d;
	int rc;

	if (!q || !out)
		return err_set(e, ERR_INVALID, "DescribeSnapshots: no query or no list");
	d = (struct describe){
	    .action = "DescribeSnapshots",
	    .id_param = "SnapshotId",
	    .owners = q->owners,
	    .n_owners = q->n_owners,
	    .ids = q->snapshot_ids,
	    .n_ids = q->n_snapshot_ids,
	    .filters = q->filters,
	    .n_filters = q->n_filters,
	};
	rc = describe_check(&d, e);
	if (!rc)
		rc = ec2_paged(c, d.action, describe_build, &d, snaps_parse, &all, e);
	if (!rc && vec_append(&out->items, &out->n, &all.items, &all.n, sizeof(*all.items)))
		rc = err_set(e, ERR_NOMEM, "DescribeSnapshots: out of memory");
	ec2_snapshot_list_free(&all);
	return rc;
}

static int check_tags(const char *what, const struct ec2_kv *tags, size_t n, struct err *e)
{
	size_t i;

	if (n && !tags)
		return err_set(e, ERR_INVALID, "%s: no tags", what);
	for (i = 0; i < n; i++)
		if (!tags[i].key || !*tags[i].key || !tags[i].value)
			return err_set(e, ERR_INVALID, "%s: tag %zu is malformed", what, i + 1);
	return 0;
}

/* TagSpecification.<spec>.ResourceType=type, .Tag.N.Key/.Value */
static int form_tag_spec(struct buf *form, size_t spec, const char *type, const struct ec2_kv *tags,
                         size_t n)
{
	size_t i;
	int rc = uri_form_addf(form, type, "TagSpecification.%zu.ResourceType", spec);

	for (i = 0; i < n && !rc; i++) {
		rc = uri_form_addf(form, tags[i].key, "TagSpecification.%zu.Tag.%zu.Key", spec,
		                   i + 1);
		if (!rc)
			rc = uri_form_addf(form, tags[i].value,
			                   "TagSpecification.%zu.Tag.%zu.Value", spec, i + 1);
	}
	return rc;
}

int ec2_create_image(struct aws_client *c, const struct ec2_create_image_req *req, char **image_id,
                     struct err *e)
{
	struct buf form, body;
	size_t spec = 0;
	int rc;

	if (!image_id)
		return err_set(e, ERR_INVALID, "CreateImage: no output");
	*image_id = NULL;
	if (!req || !req->instance_id || !*req->instance_id || !req->name ||
	    strlen(req->name) < EC2_AMI_NAME_MIN || strlen(req->name) > EC2_AMI_NAME_MAX)
		return err_set(e, ERR_INVALID, "CreateImage: no instance or a bad name");
	if (check_tags("CreateImage", req->image_tags, req->n_image_tags, e) ||
	    check_tags("CreateImage", req->snapshot_tags, req->n_snapshot_tags, e))
		return ERR_INVALID;
	rc = form_start(&form, "CreateImage");
	if (!rc)
		rc = uri_form_add(&form, "InstanceId", req->instance_id);
	if (!rc)
		rc = uri_form_add(&form, "Name", req->name);
	if (!rc && req->description)
		rc = uri_form_add(&form, "Description", req->description);
	if (!rc)
		rc = uri_form_add(&form, "NoReboot", req->no_reboot ? "true" : "false");
	if (!rc && req->n_image_tags)
		rc = form_tag_spec(&form, ++spec, "image", req->image_tags, req->n_image_tags);
	if (!rc && req->n_snapshot_tags)
		rc = form_tag_spec(&form, ++spec, "snapshot", req->snapshot_tags,
		                   req->n_snapshot_tags);
	if (rc)
		return query_form_failed(&form, "CreateImage", rc, e);
	rc = query_call(c, &ec2_api, &form, &body, e);
	if (!rc)
		rc = ec2_parse_create_image(body.data, body.len, image_id, e);
	buf_free(&body);
	return rc;
}

/* An action on one id whose answer is <return>true</return>. */
static int one_id_call(struct aws_client *c, const char *action, const char *param, const char *id,
                       struct err *e)
{
	struct buf form, body;
	int rc;

	if (!id || !*id)
		return err_set(e, ERR_INVALID, "%s: no %s", action, param);
	rc = form_start(&form, action);
	if (!rc)
		rc = uri_form_add(&form, param, id);
	if (rc)
		return query_form_failed(&form, action, rc, e);
	rc = query_call(c, &ec2_api, &form, &body, e);
	if (!rc)
		rc = ec2_parse_return(action, body.data, body.len, e);
	buf_free(&body);
	return rc;
}

int ec2_deregister_image(struct aws_client *c, const char *image_id, struct err *e)
{
	return one_id_call(c, "DeregisterImage", "ImageId", image_id, e);
}

int ec2_delete_snapshot(struct aws_client *c, const char *snapshot_id, struct err *e)
{
	return one_id_call(c, "DeleteSnapshot", "SnapshotId", snapshot_id, e);
}

int ec2_create_tags(struct aws_client *c, const char *const *resource_ids, size_t n_ids,
                    const struct ec2_kv *tags, size_t n_tags, struct err *e)
{
	struct buf form, body;
	size_t i;
	int rc;

	if (!n_ids || !n_tags)
		return err_set(e, ERR_INVALID, "CreateTags: nothing to tag");
	rc = check_strings("CreateTags", resource_ids, n_ids, e);
	if (!rc)
		rc = check_tags("CreateTags", tags, n_tags, e);
	if (rc)
		return rc;
	rc = form_start(&form, "CreateTags");
	if (!rc)
		rc = query_form_list(&form, "ResourceId", resource_ids, n_ids);
	for (i = 0; i < n_tags && !rc; i++) {
		rc = uri_form_addf(&form, tags[i].key, "Tag.%zu.Key", i + 1);
		if (!rc)
			rc = uri_form_addf(&form, tags[i].value, "Tag.%zu.Value", i + 1);
	}
	if (rc)
		return query_form_failed(&form, "CreateTags", rc, e);
	rc = query_call(c, &ec2_api, &form, &body, e);
	if (!rc)
		rc = ec2_parse_return("CreateTags", body.data, body.len, e);
	buf_free(&body);
	return rc;
}
