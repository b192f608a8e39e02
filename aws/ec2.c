/* ec2: DescribeInstances over the Query API, and what the EC2 modules share; see ec2.h. */
#include "ec2.h"

#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/timefmt.h"
#include "../util/vec.h"
#include "uri.h"
#include "xml.h"

#define EC2_MAX_RESULTS "1000" /* the most EC2 allows on one page */
#define EC2_MAX_PAGES   1000   /* a nextToken that never ends stops here */

/* A page of 1,000 instances as EC2 describes them is about 10 MB (util/buf's
 * default cap, which the answer's buffer has, is 16 MiB). */
#define EC2_MAX_ANSWER ((size_t)16 << 20)

const struct query_api ec2_api = {"ec2", "EC2", "ec2", "2016-11-15", EC2_MAX_ANSWER};

/*
 * Where the parser stands: every open element has a kind, found from its
 * parent's kind and its name in the rules below; anything not in the rules
 * (and everything under it) is ignored, so an ipAddress inside
 * networkInterfaceSet or a tagSet inside a volume never reaches the
 * instance. Kinds from N_FIRST_FIELD on collect their text.
 */
enum node {
	N_RESERVATION_SET = XML_FIRST_KIND,
	N_RESERVATION,
	N_INSTANCES_SET,
	N_INSTANCE,
	N_STATE,
	N_PLACEMENT,
	N_TAG_SET,
	N_TAG,
	N_FIRST_FIELD,
	N_NEXT_TOKEN = N_FIRST_FIELD,
	N_INSTANCE_ID,
	N_PUBLIC_IP,
	N_PRIVATE_IP,
	N_LAUNCH_TIME,
	N_STATE_NAME,
	N_AZ,
	N_TAG_KEY,
	N_TAG_VALUE
};

static const struct xml_rule rules[] = {
    {"reservationSet", XML_ROOT, N_RESERVATION_SET},
    {"nextToken", XML_ROOT, N_NEXT_TOKEN},
    {"item", N_RESERVATION_SET, N_RESERVATION},
    {"instancesSet", N_RESERVATION, N_INSTANCES_SET},
    {"item", N_INSTANCES_SET, N_INSTANCE},
    {"instanceId", N_INSTANCE, N_INSTANCE_ID},
    {"ipAddress", N_INSTANCE, N_PUBLIC_IP},
    {"privateIpAddress", N_INSTANCE, N_PRIVATE_IP},
    {"launchTime", N_INSTANCE, N_LAUNCH_TIME},
    {"instanceState", N_INSTANCE, N_STATE},
    {"name", N_STATE, N_STATE_NAME},
    {"placement", N_INSTANCE, N_PLACEMENT},
    {"availabilityZone", N_PLACEMENT, N_AZ},
    {"tagSet", N_INSTANCE, N_TAG_SET},
    {"item", N_TAG_SET, N_TAG},
    {"key", N_TAG, N_TAG_KEY},
    {"value", N_TAG, N_TAG_VALUE},
};

/*
 * Elements nothing above keeps at any depth whose contents are large: cut
 * out before expat reads the answer (aws/xml.h). An instance as EC2
 * describes it is mostly its network interfaces and volumes.
 */
static const char *const skipped[] = {"networkInterfaceSet",
                                      "blockDeviceMapping",
                                      "groupSet",
                                      "productCodes",
                                      "monitoring",
                                      "stateReason",
                                      "iamInstanceProfile",
                                      "cpuOptions",
                                      "capacityReservationSpecification",
                                      "hibernationOptions",
                                      "licenseSet",
                                      "metadataOptions",
                                      "enclaveOptions",
                                      "privateDnsNameOptions",
                                      "maintenanceOptions",
                                      "elasticGpuAssociationSet",
                                      "elasticInferenceAcceleratorAssociationSet",
                                      "networkPerformanceOptions",
                                      "operator",
                                      NULL};

struct parse {
	struct ec2_instance_list page; /* this page's instances */
	size_t cap;
	size_t tags_cap; /* of the last instance's tags */
	char *next_token;
};

static void free_instance(struct ec2_instance *in)
{
	free(in->instance_id);
	free(in->state);
	free(in->public_ip);
	free(in->private_ip);
	free(in->launch_time);
	free(in->availability_zone);
	ec2_tags_free(in->tags, in->n_tags);
}

void ec2_instance_list_free(struct ec2_instance_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->n; i++)
		free_instance(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

const char *ec2_instance_tag(const struct ec2_instance *inst, const char *key)
{
	return inst ? ec2_tags_find(inst->tags, inst->n_tags, key) : NULL;
}

const char *ec2_tags_find(const struct ec2_tag *tags, size_t n, const char *key)
{
	size_t i;

	if (!key)
		return NULL;
	for (i = 0; i < n; i++)
		if (tags[i].key && strcmp(tags[i].key, key) == 0)
			return tags[i].value;
	return NULL;
}

void ec2_tags_free(struct ec2_tag *tags, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(tags[i].key);
		free(tags[i].value);
	}
	free(tags);
}

int ec2_tag_close(struct ec2_tag *tags, size_t *n)
{
	struct ec2_tag *tag = &tags[*n - 1];

	if (!tag->key) { /* a tag without a key is no tag */
		free(tag->value);
		(*n)--;
		return 0;
	}
	if (!tag->value)
		tag->value = strdup("");
	return tag->value ? 0 : ERR_NOMEM;
}

int ec2_take_field(char **slot, struct buf *text)
{
	/* A copy of its own size: a kept field lives as long as the list, and
	 * the text's buffer has room for far more (256 bytes at least). */
	char *s = malloc(text->len + 1);

	if (!s)
		return ERR_NOMEM;
	if (text->len)
		memcpy(s, text->data, text->len);
	s[text->len] = '\0';
	buf_free(text);
	free(*slot);
	*slot = s;
	return 0;
}

int64_t ec2_time_ms(const char *s)
{
	int64_t ms;

	return timefmt_parse_iso8601(s, 0, &ms, NULL) == 0 && ms > 0 ? ms : 0;
}

/* ---- DescribeInstances answers ---- */

static struct ec2_instance *cur_instance(struct parse *ps)
{
	return &ps->page.items[ps->page.n - 1];
}

static int on_start(struct xml *x, void *ctx, int parent, size_t depth, const char *name)
{
	struct parse *ps = ctx;
	struct ec2_instance *in;
	int kind = xml_rule_kind(rules, sizeof(rules) / sizeof(rules[0]), parent, name);
	void *item = ps;

	(void)depth;
	if (kind == N_INSTANCE) {
		item = vec_push(&ps->page.items, &ps->page.n, &ps->cap, sizeof(*ps->page.items));
		ps->tags_cap = 0;
	} else if (kind == N_TAG) {
		in = cur_instance(ps);
		item = vec_push(&in->tags, &in->n_tags, &ps->tags_cap, sizeof(*in->tags));
	} else if (kind >= N_FIRST_FIELD) {
		xml_collect(x, EC2_MAX_FIELD, ERR_PARSE);
	}
	if (!item)
		xml_fail(x, ERR_NOMEM, "out of memory");
	return kind;
}

/* The slot an ending field's text goes to. */
static char **field_slot(struct parse *ps, int kind)
{
	struct ec2_instance *in;
	struct ec2_tag *tag;

	if (kind == N_NEXT_TOKEN)
		return &ps->next_token;
	in = cur_instance(ps);
	tag = in->n_tags ? &in->tags[in->n_tags - 1] : NULL;
	switch (kind) {
	case N_INSTANCE_ID:
		return &in->instance_id;
	case N_PUBLIC_IP:
		return &in->public_ip;
	case N_PRIVATE_IP:
		return &in->private_ip;
	case N_LAUNCH_TIME:
		return &in->launch_time;
	case N_STATE_NAME:
		return &in->state;
	case N_AZ:
		return &in->availability_zone;
	case N_TAG_KEY:
		return tag ? &tag->key : NULL;
	case N_TAG_VALUE:
		return tag ? &tag->value : NULL;
	default:
		return NULL;
	}
}

static void on_end(struct xml *x, void *ctx, int kind, struct buf *text)
{
	struct parse *ps = ctx;
	struct ec2_instance *in;
	char **slot;
	int rc = 0;

	if (kind >= N_FIRST_FIELD) {
		slot = field_slot(ps, kind);
		if (kind == N_NEXT_TOKEN && !text->len)
			slot = NULL; /* an empty nextToken is the last page */
		if (slot)
			rc = ec2_take_field(slot, text);
	} else if (kind == N_TAG) {
		in = cur_instance(ps);
		rc = ec2_tag_close(in->tags, &in->n_tags);
	} else if (kind == N_INSTANCE) {
		in = cur_instance(ps);
		if (!in->instance_id || !*in->instance_id)
			xml_fail(x, ERR_PARSE, "an instance without an instanceId");
		in->launch_time_ms = ec2_time_ms(in->launch_time);
	}
	if (rc)
		xml_fail(x, rc, "out of memory");
}

int ec2_parse_describe_instances(const char *xml, size_t len, struct ec2_instance_list *out,
                                 char **next_token, struct err *e)
{
	static const struct xml_reader reader = {
	    "DescribeInstances answer", "DescribeInstancesResponse", on_start, on_end, skipped};
	struct parse ps;
	int rc;

	if (next_token)
		*next_token = NULL;
	if (!out || (!xml && len))
		return err_set(e, ERR_INVALID, "DescribeInstances answer: no list or no bytes");
	memset(&ps, 0, sizeof(ps));
	rc = xml_parse(xml, len, &reader, &ps, e);
	if (!rc &&
	    vec_append(&out->items, &out->n, &ps.page.items, &ps.page.n, sizeof(*out->items)))
		rc = err_set(e, ERR_NOMEM, "DescribeInstances answer: out of memory");
	if (!rc && next_token) {
		*next_token = ps.next_token;
		ps.next_token = NULL;
	}
	ec2_instance_list_free(&ps.page);
	free(ps.next_token);
	return rc;
}

/* ---- the calls ---- */

int ec2_form_filters(struct buf *form, const struct ec2_filter *filters, size_t n)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		rc = uri_form_addf(form, filters[i].name, "Filter.%zu.Name", i + 1);
		for (j = 0; j < filters[i].n_values && !rc; j++)
			rc = uri_form_addf(form, filters[i].values[j], "Filter.%zu.Value.%zu",
			                   i + 1, j + 1);
	}
	return rc;
}

int ec2_paged(struct aws_client *c, const char *action, ec2_page_build build, const void *q,
              ec2_page_parse parse, void *out, struct err *e)
{
	struct buf form, body;
	char *token = NULL, *next = NULL;
	int rc = 0, pages;

	for (pages = 0;; pages++) {
		if (pages == EC2_MAX_PAGES) {
			rc = err_set(e, ERR_TOO_LARGE, "%s: more than %d pages", action,
			             EC2_MAX_PAGES);
			break;
		}
		buf_init(&form, 0);
		rc = build(&form, q, token);
		if (rc) {
			rc = query_form_failed(&form, action, rc, e);
			break;
		}
		rc = query_call(c, &ec2_api, &form, &body, e);
		if (!rc)
			rc = parse(body.data, body.len, out, &next, e);
		buf_free(&body);
		if (rc || !next)
			break;
		if (token && strcmp(token, next) == 0) {
			rc = err_set(e, ERR_PARSE, "%s: EC2 answered the same nextToken twice",
			             action);
			break;
		}
		free(token);
		token = next;
		next = NULL;
	}
	free(token);
	free(next);
	return rc;
}

struct instances_query {
	const struct ec2_filter *filters;
	size_t n;
};

/* The form of one page: the filters, MaxResults (which EC2 refuses beside
 * instance ids) and the page's NextToken. */
static int instances_build(struct buf *form, const void *qv, const char *token)
{
	const struct instances_query *q = qv;
	int rc = query_form_start(form, &ec2_api, "DescribeInstances"), by_id = 0;
	size_t i;

	for (i = 0; i < q->n; i++)
		if (strcmp(q->filters[i].name, "instance-id") == 0)
			by_id = 1;
	if (!rc)
		rc = ec2_form_filters(form, q->filters, q->n);
	if (!rc && !by_id)
		rc = uri_form_add(form, "MaxResults", EC2_MAX_RESULTS);
	if (!rc && token)
		rc = uri_form_add(form, "NextToken", token);
	return rc;
}

static int instances_parse(const char *xml, size_t len, void *out, char **next, struct err *e)
{
	return ec2_parse_describe_instances(xml, len, out, next, e);
}

int ec2_describe_instances(struct aws_client *c, const struct ec2_filter *filters, size_t n_filters,
                           struct ec2_instance_list *out, struct err *e)
{
	struct ec2_instance_list all = {NULL, 0};
	struct instances_query q = {filters, n_filters};
	size_t i, j;
	int rc;

	if (!out || (n_filters && !filters))
		return err_set(e, ERR_INVALID, "DescribeInstances: no list or no filters");
	for (i = 0; i < n_filters; i++) {
		if (!filters[i].name || !*filters[i].name ||
		    (filters[i].n_values && !filters[i].values))
			return err_set(e, ERR_INVALID, "DescribeInstances: filter %zu is malformed",
			               i + 1);
		for (j = 0; j < filters[i].n_values; j++)
			if (!filters[i].values[j])
				return err_set(e, ERR_INVALID,
				               "DescribeInstances: filter %zu has a NULL value",
				               i + 1);
	}
	rc = ec2_paged(c, "DescribeInstances", instances_build, &q, instances_parse, &all, e);
	if (!rc && vec_append(&out->items, &out->n, &all.items, &all.n, sizeof(*all.items)))
		rc = err_set(e, ERR_NOMEM, "DescribeInstances: out of memory");
	ec2_instance_list_free(&all);
	return rc;
}

char *ec2_filter_literal(const char *s)
{
	char *v = malloc(2 * strlen(s) + 1), *p = v;

	if (!v)
		return NULL;
	for (; *s; s++) {
		if (*s == '*' || *s == '?' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return v;
}
