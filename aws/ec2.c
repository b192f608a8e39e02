/* ec2: DescribeInstances over the Query API, its answer parsed by expat; see ec2.h. */
#include "ec2.h"

#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/timefmt.h"
#include "client.h"
#include "uri.h"

#define EC2_API_VERSION "2016-11-15"
#define EC2_MAX_RESULTS "1000" /* the most EC2 allows on one page */
#define EC2_MAX_PAGES   1000   /* a nextToken that never ends stops here */
#define EC2_MAX_FIELD   4096   /* bytes of one text field; more is ERR_PARSE */
#define EC2_STACK       16     /* open elements whose kind is kept; deeper is ignored */

/*
 * Where the parser stands. Every open element has a kind, found from its
 * parent's kind and its name in the rules below; anything not in the rules
 * (and everything under it) is N_IGNORE, so an ipAddress inside
 * networkInterfaceSet or a tagSet inside a volume never reaches the
 * instance. Kinds from N_FIRST_FIELD on collect their text.
 */
enum node {
	N_IGNORE,
	N_DOC,
	N_RESPONSE,
	N_RESERVATION_SET,
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
	N_INSTANCE_TYPE,
	N_IMAGE_ID,
	N_STATE_NAME,
	N_AZ,
	N_TAG_KEY,
	N_TAG_VALUE
};

static const struct rule {
	enum node parent;
	const char *name;
	enum node kind;
} rules[] = {
    {N_DOC, "DescribeInstancesResponse", N_RESPONSE},
    {N_RESPONSE, "reservationSet", N_RESERVATION_SET},
    {N_RESPONSE, "nextToken", N_NEXT_TOKEN},
    {N_RESERVATION_SET, "item", N_RESERVATION},
    {N_RESERVATION, "instancesSet", N_INSTANCES_SET},
    {N_INSTANCES_SET, "item", N_INSTANCE},
    {N_INSTANCE, "instanceId", N_INSTANCE_ID},
    {N_INSTANCE, "ipAddress", N_PUBLIC_IP},
    {N_INSTANCE, "privateIpAddress", N_PRIVATE_IP},
    {N_INSTANCE, "launchTime", N_LAUNCH_TIME},
    {N_INSTANCE, "instanceType", N_INSTANCE_TYPE},
    {N_INSTANCE, "imageId", N_IMAGE_ID},
    {N_INSTANCE, "instanceState", N_STATE},
    {N_STATE, "name", N_STATE_NAME},
    {N_INSTANCE, "placement", N_PLACEMENT},
    {N_PLACEMENT, "availabilityZone", N_AZ},
    {N_INSTANCE, "tagSet", N_TAG_SET},
    {N_TAG_SET, "item", N_TAG},
    {N_TAG, "key", N_TAG_KEY},
    {N_TAG, "value", N_TAG_VALUE},
};

struct parse {
	XML_Parser xp;
	struct err *e;
	int rc;                         /* first failure; the parser is stopped */
	size_t depth;                   /* open elements */
	unsigned char kinds[EC2_STACK]; /* kinds[d]: kind of the element at depth d (1-based) */
	struct buf text;                /* text of the open field */
	struct ec2_instance *items;     /* this page's instances */
	size_t n, cap;
	size_t tags_cap; /* of the last instance's tags */
	char *next_token;
};

static void free_instance(struct ec2_instance *in)
{
	size_t i;

	free(in->instance_id);
	free(in->state);
	free(in->public_ip);
	free(in->private_ip);
	free(in->launch_time);
	free(in->availability_zone);
	free(in->instance_type);
	free(in->image_id);
	for (i = 0; i < in->n_tags; i++) {
		free(in->tags[i].key);
		free(in->tags[i].value);
	}
	free(in->tags);
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
	size_t i;

	if (!inst || !key)
		return NULL;
	for (i = 0; i < inst->n_tags; i++)
		if (inst->tags[i].key && strcmp(inst->tags[i].key, key) == 0)
			return inst->tags[i].value;
	return NULL;
}

/* Moves src's instances to the end of dst; src is left empty. On failure
 * src's instances are freed and dst is unchanged. */
static int list_move(struct ec2_instance_list *dst, struct ec2_instance_list *src)
{
	struct ec2_instance *p;

	if (!src->n) {
		ec2_instance_list_free(src);
		return 0;
	}
	if (src->n > SIZE_MAX / sizeof(*p) - dst->n) {
		ec2_instance_list_free(src);
		return ERR_NOMEM;
	}
	p = realloc(dst->items, (dst->n + src->n) * sizeof(*p));
	if (!p) {
		ec2_instance_list_free(src);
		return ERR_NOMEM;
	}
	memcpy(p + dst->n, src->items, src->n * sizeof(*p));
	dst->items = p;
	dst->n += src->n;
	free(src->items);
	src->items = NULL;
	src->n = 0;
	return 0;
}

int64_t ec2_time_ms(const char *s)
{
	int64_t ms;

	return timefmt_parse_iso8601(s, 0, &ms, NULL) == 0 && ms > 0 ? ms : 0;
}

static void fail(struct parse *ps, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct parse *ps, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (ps->rc)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps->rc = err_set(ps->e, code, "DescribeInstances answer: %s", msg);
	XML_StopParser(ps->xp, XML_FALSE);
}

static enum node kind_at(const struct parse *ps, size_t depth)
{
	if (depth == 0)
		return N_DOC;
	return depth < EC2_STACK ? (enum node)ps->kinds[depth] : N_IGNORE;
}

/* "ec2:instanceId" -> "instanceId": tolerate prefixed names without
 * namespace processing. */
static const char *local_name(const char *name)
{
	const char *colon = strrchr(name, ':');

	return colon ? colon + 1 : name;
}

/* Element names are echoed in messages only as plain ASCII. */
static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '_' || c == '-' || c == '.';
}

static struct ec2_instance *cur_instance(struct parse *ps)
{
	return &ps->items[ps->n - 1];
}

static int add_instance(struct parse *ps)
{
	struct ec2_instance *p;
	size_t cap;

	if (ps->n == ps->cap) {
		cap = ps->cap ? ps->cap * 2 : 8;
		if (cap > SIZE_MAX / sizeof(*p))
			return ERR_NOMEM;
		p = realloc(ps->items, cap * sizeof(*p));
		if (!p)
			return ERR_NOMEM;
		ps->items = p;
		ps->cap = cap;
	}
	memset(&ps->items[ps->n++], 0, sizeof(*ps->items));
	ps->tags_cap = 0;
	return 0;
}

static int add_tag(struct parse *ps)
{
	struct ec2_instance *in = cur_instance(ps);
	struct ec2_tag *p;
	size_t cap;

	if (in->n_tags == ps->tags_cap) {
		cap = ps->tags_cap ? ps->tags_cap * 2 : 4;
		if (cap > SIZE_MAX / sizeof(*p))
			return ERR_NOMEM;
		p = realloc(in->tags, cap * sizeof(*p));
		if (!p)
			return ERR_NOMEM;
		in->tags = p;
		ps->tags_cap = cap;
	}
	memset(&in->tags[in->n_tags++], 0, sizeof(*in->tags));
	return 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct parse *ps = ud;
	enum node parent = kind_at(ps, ps->depth), kind = N_IGNORE;
	const char *local = local_name(name);
	size_t i;
	int rc = 0;

	(void)atts;
	if (ps->rc)
		return;
	if (parent != N_IGNORE && parent < N_FIRST_FIELD) {
		for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
			if (rules[i].parent == parent && strcmp(rules[i].name, local) == 0) {
				kind = rules[i].kind;
				break;
			}
		}
	}
	if (parent == N_DOC && kind != N_RESPONSE) {
		char shown[48];

		for (i = 0; i < sizeof(shown) - 1 && name[i]; i++)
			shown[i] = is_name_char(name[i]) ? name[i] : '?';
		shown[i] = '\0';
		fail(ps, ERR_PARSE, "a <%s> where a DescribeInstancesResponse was expected", shown);
		return;
	}
	ps->depth++;
	if (ps->depth < EC2_STACK)
		ps->kinds[ps->depth] = (unsigned char)kind;
	if (kind == N_INSTANCE)
		rc = add_instance(ps);
	else if (kind == N_TAG)
		rc = add_tag(ps);
	else if (kind >= N_FIRST_FIELD)
		rc = buf_append(&ps->text, "", 0); /* a field with no text is "" */
	if (rc)
		fail(ps, rc, "out of memory");
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct parse *ps = ud;
	int rc;

	if (ps->rc || kind_at(ps, ps->depth) < N_FIRST_FIELD || len <= 0)
		return;
	rc = buf_append(&ps->text, s, (size_t)len);
	if (rc == ERR_TOO_LARGE)
		fail(ps, ERR_PARSE, "a text field longer than %d bytes", EC2_MAX_FIELD);
	else if (rc)
		fail(ps, rc, "out of memory");
}

/* The slot an ending field's text goes to. */
static char **field_slot(struct parse *ps, enum node kind)
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
	case N_INSTANCE_TYPE:
		return &in->instance_type;
	case N_IMAGE_ID:
		return &in->image_id;
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

static void end_field(struct parse *ps, enum node kind)
{
	char **slot = field_slot(ps, kind);
	char *s = buf_take(&ps->text);

	if (!s) {
		fail(ps, ERR_NOMEM, "out of memory");
		return;
	}
	if (!slot || (kind == N_NEXT_TOKEN && !*s)) {
		free(s); /* an empty nextToken is the last page */
		return;
	}
	free(*slot); /* a repeated field: the last one wins */
	*slot = s;
}

static void end_tag(struct parse *ps)
{
	struct ec2_instance *in = cur_instance(ps);
	struct ec2_tag *tag = &in->tags[in->n_tags - 1];

	if (!tag->key) { /* a tag without a key is no tag */
		free(tag->value);
		in->n_tags--;
		return;
	}
	if (!tag->value) {
		tag->value = strdup("");
		if (!tag->value)
			fail(ps, ERR_NOMEM, "out of memory");
	}
}

static void end_instance(struct parse *ps)
{
	struct ec2_instance *in = cur_instance(ps);

	if (!in->instance_id || !*in->instance_id) {
		fail(ps, ERR_PARSE, "an instance without an instanceId");
		return;
	}
	if (in->launch_time)
		in->launch_time_ms = ec2_time_ms(in->launch_time);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct parse *ps = ud;
	enum node kind = kind_at(ps, ps->depth);

	(void)name;
	if (ps->rc)
		return;
	if (kind >= N_FIRST_FIELD)
		end_field(ps, kind);
	else if (kind == N_TAG)
		end_tag(ps);
	else if (kind == N_INSTANCE)
		end_instance(ps);
	ps->depth--;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	fail(ud, ERR_PARSE, "a DOCTYPE (not allowed)");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	fail(ud, ERR_PARSE, "an entity declaration (not allowed)");
}

int ec2_parse_describe_instances(const char *xml, size_t len, struct ec2_instance_list *out,
                                 char **next_token, struct err *e)
{
	struct parse ps;
	struct ec2_instance_list page;
	enum XML_Error xerr;

	if (next_token)
		*next_token = NULL;
	if (!out || (!xml && len))
		return err_set(e, ERR_INVALID, "DescribeInstances answer: no list or no bytes");
	if (len > INT_MAX)
		return err_set(e, ERR_TOO_LARGE, "DescribeInstances answer: %zu bytes", len);
	memset(&ps, 0, sizeof(ps));
	ps.e = e;
	buf_init(&ps.text, EC2_MAX_FIELD);
	ps.xp = XML_ParserCreate(NULL);
	if (!ps.xp)
		return err_set(e, ERR_NOMEM, "DescribeInstances answer: out of memory");
	XML_SetUserData(ps.xp, &ps);
	XML_SetElementHandler(ps.xp, on_start, on_end);
	XML_SetCharacterDataHandler(ps.xp, on_text);
	XML_SetStartDoctypeDeclHandler(ps.xp, on_doctype);
	XML_SetEntityDeclHandler(ps.xp, on_entity_decl);
	XML_SetParamEntityParsing(ps.xp, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_Parse(ps.xp, xml ? xml : "", (int)len, XML_TRUE) != XML_STATUS_OK && !ps.rc) {
		xerr = XML_GetErrorCode(ps.xp);
		if (xerr == XML_ERROR_NO_MEMORY)
			ps.rc = err_set(e, ERR_NOMEM, "DescribeInstances answer: out of memory");
		else
			ps.rc = err_set(
			    e, ERR_PARSE, "DescribeInstances answer: malformed XML at line %lu: %s",
			    (unsigned long)XML_GetCurrentLineNumber(ps.xp), XML_ErrorString(xerr));
	}
	XML_ParserFree(ps.xp);
	buf_free(&ps.text);
	page.items = ps.items;
	page.n = ps.n;
	if (ps.rc) {
		ec2_instance_list_free(&page);
		free(ps.next_token);
		return ps.rc;
	}
	if (list_move(out, &page)) {
		free(ps.next_token);
		return err_set(e, ERR_NOMEM, "DescribeInstances answer: out of memory");
	}
	if (next_token)
		*next_token = ps.next_token;
	else
		free(ps.next_token);
	return 0;
}

/* The Query form of one page: Action, Version, the filters, MaxResults
 * (which EC2 refuses beside instance ids) and the page's NextToken. */
static int build_form(struct buf *form, const struct ec2_filter *filters, size_t n_filters,
                      const char *token)
{
	int rc, by_id = 0;
	size_t i, j;

	rc = uri_form_add(form, "Action", "DescribeInstances");
	if (!rc)
		rc = uri_form_add(form, "Version", EC2_API_VERSION);
	for (i = 0; i < n_filters && !rc; i++) {
		if (strcmp(filters[i].name, "instance-id") == 0)
			by_id = 1;
		rc = uri_form_addf(form, filters[i].name, "Filter.%zu.Name", i + 1);
		for (j = 0; j < filters[i].n_values && !rc; j++)
			rc = uri_form_addf(form, filters[i].values[j], "Filter.%zu.Value.%zu",
			                   i + 1, j + 1);
	}
	if (!rc && !by_id)
		rc = uri_form_add(form, "MaxResults", EC2_MAX_RESULTS);
	if (!rc && token)
		rc = uri_form_add(form, "NextToken", token);
	return rc;
}

int ec2_describe_instances(struct aws_client *c, const struct ec2_filter *filters, size_t n_filters,
                           struct ec2_instance_list *out, struct err *e)
{
	struct ec2_instance_list all = {NULL, 0};
	struct aws_call call;
	struct buf form, body;
	char *token = NULL, *next = NULL;
	size_t i, j;
	int rc = 0, pages;

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
	for (pages = 0;; pages++) {
		if (pages == EC2_MAX_PAGES) {
			rc = err_set(e, ERR_TOO_LARGE, "DescribeInstances: more than %d pages",
			             EC2_MAX_PAGES);
			goto out;
		}
		buf_init(&form, 0);
		rc = build_form(&form, filters, n_filters, token);
		if (rc) {
			err_set(e, rc, "DescribeInstances: cannot build the request (%s)",
			        err_code_name(rc));
			goto out;
		}
		memset(&call, 0, sizeof(call));
		call.service = "ec2";
		call.endpoint_id = "EC2";
		call.endpoint_prefix = "ec2";
		call.protocol = AWS_PROTOCOL_QUERY;
		call.method = "POST";
		call.path = "/";
		call.content_type = "application/x-www-form-urlencoded; charset=utf-8";
		call.body = form.data;
		call.body_len = form.len;
		buf_init(&body, 0);
		rc = aws_client_call(c, &call, &body, e);
		buf_free(&form);
		if (!rc)
			rc = ec2_parse_describe_instances(body.data, body.len, &all, &next, e);
		buf_free(&body);
		if (rc)
			goto out;
		if (!next)
			break;
		if (token && strcmp(token, next) == 0) {
			rc = err_set(e, ERR_PARSE,
			             "DescribeInstances: EC2 answered the same "
			             "nextToken twice");
			goto out;
		}
		free(token);
		token = next;
		next = NULL;
	}
	if (list_move(out, &all))
		rc = err_set(e, ERR_NOMEM, "DescribeInstances: out of memory");
out:
	ec2_instance_list_free(&all);
	free(token);
	free(next);
	return rc;
}
