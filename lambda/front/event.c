/* event: Lambda payloads in, proxy answers out; see event.h. */
#include "event.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../aws/uri.h"
#include "../../util/b64.h"

void event_init(struct event *ev)
{
	memset(ev, 0, sizeof(*ev));
	router_request_init(&ev->request);
}

static void event_s3_records_free(struct event *ev)
{
	size_t i;

	for (i = 0; i < ev->n_s3_records; i++) {
		struct event_s3_record *r = &ev->s3_records[i];

		free(r->event_name);
		free(r->bucket);
		free(r->key);
		free(r->version_id);
		free(r->etag);
		free(r->sqs_message_id);
	}
	free(ev->s3_records);
	ev->s3_records = NULL;
	ev->n_s3_records = 0;
}

void event_free(struct event *ev)
{
	if (!ev)
		return;
	router_request_free(&ev->request);
	free(ev->source);
	free(ev->detail_type);
	free(ev->rule_name);
	free(ev->logs_data);
	free(ev->deployment_id);
	free(ev->hook_execution_id);
	free(ev->sqs_records);
	event_s3_records_free(ev);
	json_decref(ev->json);
	event_init(ev);
}

const char *event_kind_name(enum event_kind kind)
{
	switch (kind) {
	case EVENT_HTTP:
		return "http";
	case EVENT_SCHEDULED:
		return "scheduled";
	case EVENT_CODEPIPELINE:
		return "codepipeline";
	case EVENT_EVENTBRIDGE:
		return "eventbridge";
	case EVENT_LOGS:
		return "logs";
	case EVENT_CODEPIPELINE_JOB:
		return "codepipeline-job";
	case EVENT_CODEDEPLOY_HOOK:
		return "codedeploy-hook";
	case EVENT_SQS:
		return "sqs";
	case EVENT_S3:
		return "s3";
	}
	return "unknown";
}

/* ---- base64 ---- */

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int event_base64_decode(const char *in, size_t len, char **out, size_t *out_len, struct err *e)
{
	*out = NULL;
	*out_len = 0;
	while (len && is_space(in[0])) {
		in++;
		len--;
	}
	while (len && is_space(in[len - 1]))
		len--;
	if (len % 4 != 0 || len > EVENT_MAX_BYTES * 2)
		return err_set(e, ERR_INVALID, "base64 text of %zu characters is not padded", len);
	return b64_decode(in, len, 0, EVENT_MAX_BYTES * 2, (unsigned char **)out, out_len, e);
}

/* ---- reading the event ---- */

/*
 * The string at obj[key] (borrowed) and its length. Absent or null: NULL,
 * or ERR_INVALID when required. Not a string, or holding a NUL: ERR_INVALID.
 * (The failures return the constant rather than err_set's result, so that
 * a caller's `rc < 0` visibly guards its use of *out.)
 */
static int get_str(json_t *obj, const char *key, int required, const char **out, size_t *len,
                   struct err *e)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	*out = NULL;
	if (len)
		*len = 0;
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		err_set(e, ERR_INVALID, "the event has no \"%s\"", key);
		return ERR_INVALID;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		err_set(e, ERR_INVALID, "the event's \"%s\" %s", key,
		        json_is_string(v) ? "holds a NUL" : "is not a string");
		return ERR_INVALID;
	}
	*out = json_string_value(v);
	if (len)
		*len = json_string_length(v);
	return 0;
}

/* A string value of a headers / query map, checked: the string (borrowed),
 * or NULL with ERR_INVALID in e. */
static const char *pair_value(json_t *v, const char *map, struct err *e)
{
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		err_set(e, ERR_INVALID, "a value of \"%s\" %s", map,
		        json_is_string(v) ? "holds a NUL" : "is not a string");
		return NULL;
	}
	return json_string_value(v);
}

static int add_pair(struct router_pair **list, size_t *n, const char *name, const char *value,
                    struct err *e)
{
	if (*n >= EVENT_MAX_PAIRS)
		return err_set(e, ERR_TOO_LARGE, "the event has more than %d headers or parameters",
		               EVENT_MAX_PAIRS);
	if (router_pair_add(list, n, name, value) < 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	return 0;
}

/* Adds the pair name = v, v a string of the map map_name; a null v is skipped. */
static int add_json_pair(struct router_pair **list, size_t *n, const char *name, json_t *v,
                         const char *map_name, struct err *e)
{
	const char *value;

	if (json_is_null(v))
		return 0;
	if (!(value = pair_value(v, map_name, e)))
		return ERR_INVALID;
	return add_pair(list, n, name, value, e);
}

/* Adds {name: "v"} pairs; null values are skipped. */
static int add_single_map(json_t *map, const char *map_name, struct router_pair **list, size_t *n,
                          struct err *e)
{
	const char *key;
	json_t *v;
	int rc;

	json_object_foreach(map, key, v)
	{
		if ((rc = add_json_pair(list, n, key, v, map_name, e)) < 0)
			return rc;
	}
	return 0;
}

/* Adds {name: ["v1", "v2"]} pairs, one per value; null values are skipped. */
static int add_multi_map(json_t *map, const char *map_name, struct router_pair **list, size_t *n,
                         struct err *e)
{
	const char *key;
	json_t *arr, *v;
	size_t i;
	int rc;

	json_object_foreach(map, key, arr)
	{
		if (json_is_null(arr))
			continue;
		if (!json_is_array(arr))
			return err_set(e, ERR_INVALID, "a value of \"%s\" is not a list", map_name);
		json_array_foreach(arr, i, v)
		{
			if ((rc = add_json_pair(list, n, key, v, map_name, e)) < 0)
				return rc;
		}
	}
	return 0;
}

/* The multi-value map when it is a non-empty object, else the single-value one. */
static int add_map(json_t *root, const char *multi, const char *single, struct router_pair **list,
                   size_t *n, struct err *e)
{
	json_t *m = json_object_get(root, multi), *s = json_object_get(root, single);

	if (m && !json_is_null(m) && !json_is_object(m))
		return err_set(e, ERR_INVALID, "the event's \"%s\" is not an object", multi);
	if (s && !json_is_null(s) && !json_is_object(s))
		return err_set(e, ERR_INVALID, "the event's \"%s\" is not an object", single);
	if (json_is_object(m) && json_object_size(m) > 0)
		return add_multi_map(m, multi, list, n, e);
	if (json_is_object(s))
		return add_single_map(s, single, list, n, e);
	return 0;
}

/* Percent-decodes s[0..len) once into a new string; invalid escapes and %00 stay as they are. */
static char *percent_decode(const char *s, size_t len, int plus_is_space)
{
	char *out = malloc(len + 1), *p = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < len && (hi = uri_hex_value(s[i + 1])) >= 0 &&
		    (lo = uri_hex_value(s[i + 2])) >= 0 && (hi | lo) != 0) {
			*p++ = (char)(hi * 16 + lo);
			i += 2;
		} else if (plus_is_space && s[i] == '+') {
			*p++ = ' ';
		} else {
			*p++ = s[i];
		}
	}
	*p = '\0';
	return out;
}

/* Splits a raw query string ("a=1&b=%20") into decoded pairs. */
static int add_raw_query(const char *q, struct router_request *r, struct err *e)
{
	while (*q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		size_t nlen = eq ? (size_t)(eq - q) : len;
		char *name = NULL, *value = NULL;
		int rc = 0;

		if (len) {
			name = percent_decode(q, nlen, 1);
			value = eq ? percent_decode(eq + 1, len - nlen - 1, 1) : strdup("");
			rc = name && value ? add_pair(&r->query, &r->n_query, name, value, e)
			                   : err_set(e, ERR_NOMEM, "out of memory");
		}
		free(name);
		free(value);
		if (rc < 0)
			return rc;
		q += len + (amp ? 1 : 0);
	}
	return 0;
}

static int is_tchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int set_method(struct router_request *r, const char *m, struct err *e)
{
	size_t i, len = strlen(m);

	if (len == 0 || len > EVENT_MAX_METHOD)
		return err_set(e, ERR_INVALID, "the event's HTTP method is empty or too long");
	for (i = 0; i < len; i++)
		if (!is_tchar(m[i]))
			return err_set(e, ERR_INVALID, "the event's HTTP method is malformed");
	r->method = strdup(m);
	return r->method ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

/* Sets the decoded path, without "/{stage}" when strip_stage names one. */
static int set_path(struct router_request *r, const char *path, size_t len, const char *strip_stage,
                    struct err *e)
{
	if (len == 0 || path[0] != '/')
		return err_set(e, ERR_INVALID, "the event's path does not start with '/'");
	if (len > EVENT_MAX_PATH)
		return err_set(e, ERR_TOO_LARGE, "the event's path is longer than %d bytes",
		               EVENT_MAX_PATH);
	if (strip_stage && *strip_stage && strcmp(strip_stage, "$default") != 0) {
		size_t sl = strlen(strip_stage);
		if (len > sl && strncmp(path + 1, strip_stage, sl) == 0 &&
		    (path[sl + 1] == '/' || path[sl + 1] == '\0')) {
			path += sl + 1;
			len -= sl + 1;
		}
	}
	r->path = len ? percent_decode(path, len, 0) : strdup("/");
	return r->path ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

static int set_body(struct router_request *r, json_t *root, struct err *e)
{
	const char *body;
	size_t len;
	int rc;

	if ((rc = get_str(root, "body", 0, &body, &len, e)) < 0 || !body)
		return rc;
	if (json_is_true(json_object_get(root, "isBase64Encoded"))) {
		rc = event_base64_decode(body, len, &r->body, &r->body_len, e);
		if (rc < 0)
			err_prefix(e, "the event's body");
		return rc;
	}
	r->body = malloc(len + 1);
	if (!r->body)
		return err_set(e, ERR_NOMEM, "out of memory");
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	r->body_len = len;
	return 0;
}

static int set_request_id(struct router_request *r, json_t *ctx, struct err *e)
{
	const char *id;
	int rc;

	if ((rc = get_str(ctx, "requestId", 0, &id, NULL, e)) < 0 || !id)
		return rc;
	r->request_id = strdup(id);
	return r->request_id ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

/* *dst = a copy of obj[key] when it is a non-empty string; anything else
 * (absent, null, another type) leaves it NULL: identity fields are facts
 * API Gateway adds, never the request's own. */
static int set_identity(char **dst, json_t *obj, const char *key, struct err *e)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	if (!s || !*s || strlen(s) != json_string_length(v) || *dst)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

/* The caller: REST's requestContext.identity (apiKeyId, userArn, caller,
 * sourceIp), HTTP API 2.0's requestContext.authorizer.iam (userArn,
 * callerId) and http.sourceIp; 1.0 of an HTTP API has identity too. */
static int set_caller(struct router_caller *c, json_t *ctx, struct err *e)
{
	json_t *id = json_object_get(ctx, "identity");
	json_t *iam = json_object_get(json_object_get(ctx, "authorizer"), "iam");
	int rc;

	if ((rc = set_identity(&c->api_key_id, id, "apiKeyId", e)) < 0 ||
	    (rc = set_identity(&c->user_arn, id, "userArn", e)) < 0 ||
	    (rc = set_identity(&c->caller, id, "caller", e)) < 0 ||
	    (rc = set_identity(&c->source_ip, id, "sourceIp", e)) < 0 ||
	    (rc = set_identity(&c->user_arn, iam, "userArn", e)) < 0 ||
	    (rc = set_identity(&c->caller, iam, "callerId", e)) < 0 ||
	    (rc = set_identity(&c->source_ip, json_object_get(ctx, "http"), "sourceIp", e)) < 0)
		return rc;
	return 0;
}

/* API Gateway REST, or HTTP API payload 1.0. */
static int parse_v1(json_t *root, struct router_request *r, struct err *e)
{
	json_t *ctx = json_object_get(root, "requestContext");
	const char *method, *path, *version, *stage;
	size_t path_len;
	int rc;

	if ((rc = get_str(root, "httpMethod", 1, &method, NULL, e)) < 0 ||
	    (rc = get_str(root, "path", 1, &path, &path_len, e)) < 0 ||
	    (rc = get_str(root, "version", 0, &version, NULL, e)) < 0 ||
	    (rc = get_str(ctx, "stage", 0, &stage, NULL, e)) < 0)
		return rc;
	/* Only an HTTP API (which says its version) puts a named stage in "path". */
	if ((rc = set_method(r, method, e)) < 0 ||
	    (rc = set_path(r, path, path_len, version ? stage : NULL, e)) < 0 ||
	    (rc = add_map(root, "multiValueHeaders", "headers", &r->headers, &r->n_headers, e)) <
	        0 ||
	    (rc = add_map(root, "multiValueQueryStringParameters", "queryStringParameters",
	                  &r->query, &r->n_query, e)) < 0 ||
	    (rc = set_body(r, root, e)) < 0 || (rc = set_request_id(r, ctx, e)) < 0 ||
	    (rc = set_caller(&r->caller, ctx, e)) < 0)
		return rc;
	return 0;
}

/* The cookies array as one Cookie header. */
static int add_cookies(json_t *root, struct router_request *r, struct err *e)
{
	json_t *cookies = json_object_get(root, "cookies"), *v;
	struct buf b;
	const char *s;
	size_t i;
	int rc;

	if (!cookies || json_is_null(cookies))
		return 0;
	if (!json_is_array(cookies))
		return err_set(e, ERR_INVALID, "the event's \"cookies\" is not a list");
	if (json_array_size(cookies) == 0)
		return 0;
	buf_init(&b, EVENT_MAX_BYTES);
	json_array_foreach(cookies, i, v)
	{
		if (!(s = pair_value(v, "cookies", e))) {
			buf_free(&b);
			return ERR_INVALID;
		}
		rc = i ? buf_append_str(&b, "; ") : 0;
		if (!rc)
			rc = buf_append_str(&b, s);
		if (rc) /* the buffer freed itself */
			return err_set(e, rc, "the event's cookies: %s", err_code_name(rc));
	}
	rc = add_pair(&r->headers, &r->n_headers, "Cookie", buf_str(&b), e);
	buf_free(&b);
	return rc;
}

/* HTTP API payload 2.0, or a Function URL. */
static int parse_v2(json_t *root, struct router_request *r, struct err *e)
{
	json_t *ctx = json_object_get(root, "requestContext");
	json_t *http = json_object_get(ctx, "http"), *headers, *qsp;
	const char *method, *path, *stage, *raw_query;
	size_t path_len;
	int rc;

	if (!json_is_object(http))
		return err_set(e, ERR_INVALID, "the event has no \"requestContext.http\"");
	if ((rc = get_str(http, "method", 1, &method, NULL, e)) < 0 ||
	    (rc = get_str(root, "rawPath", 1, &path, &path_len, e)) < 0 ||
	    (rc = get_str(ctx, "stage", 0, &stage, NULL, e)) < 0 ||
	    (rc = get_str(root, "rawQueryString", 0, &raw_query, NULL, e)) < 0)
		return rc;
	if ((rc = set_method(r, method, e)) < 0 || (rc = set_path(r, path, path_len, stage, e)) < 0)
		return rc;
	headers = json_object_get(root, "headers");
	if (headers && !json_is_null(headers)) {
		if (!json_is_object(headers))
			return err_set(e, ERR_INVALID, "the event's \"headers\" is not an object");
		if ((rc = add_single_map(headers, "headers", &r->headers, &r->n_headers, e)) < 0)
			return rc;
	}
	if ((rc = add_cookies(root, r, e)) < 0)
		return rc;
	qsp = json_object_get(root, "queryStringParameters");
	if (raw_query)
		rc = add_raw_query(raw_query, r, e);
	else if (json_is_object(qsp))
		rc = add_single_map(qsp, "queryStringParameters", &r->query, &r->n_query, e);
	else if (qsp && !json_is_null(qsp))
		rc = err_set(e, ERR_INVALID,
		             "the event's \"queryStringParameters\" is not an object");
	if (rc < 0 || (rc = set_body(r, root, e)) < 0 || (rc = set_request_id(r, ctx, e)) < 0 ||
	    (rc = set_caller(&r->caller, ctx, e)) < 0)
		return rc;
	return 0;
}

static int dup_field(char **dst, const char *s, struct err *e)
{
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

static int parse_eventbridge(json_t *root, struct event *ev, struct err *e)
{
	const char *source, *detail_type, *resource = NULL, *slash;
	json_t *resources = json_object_get(root, "resources");
	int rc;

	if ((rc = get_str(root, "source", 1, &source, NULL, e)) < 0 ||
	    (rc = get_str(root, "detail-type", 1, &detail_type, NULL, e)) < 0)
		return rc;
	if (json_is_array(resources) && json_array_size(resources) > 0) {
		json_t *r0 = json_array_get(resources, 0);
		if (json_is_string(r0) && strlen(json_string_value(r0)) == json_string_length(r0))
			resource = json_string_value(r0);
	}
	if (strcmp(detail_type, "Scheduled Event") == 0) {
		ev->kind = EVENT_SCHEDULED;
		if (resource) {
			slash = strrchr(resource, '/');
			rc = dup_field(&ev->rule_name, slash ? slash + 1 : resource, e);
		}
	} else if (strcmp(source, "aws.codepipeline") == 0) {
		ev->kind = EVENT_CODEPIPELINE;
	} else {
		ev->kind = EVENT_EVENTBRIDGE;
	}
	if (rc == 0)
		rc = dup_field(&ev->source, source, e);
	if (rc == 0)
		rc = dup_field(&ev->detail_type, detail_type, e);
	return rc;
}

/* CodeDeploy's lifecycle hook event: both ids, non-empty strings. */
static int parse_codedeploy_hook(json_t *root, struct event *ev, struct err *e)
{
	const char *deployment, *execution;
	int rc;

	ev->kind = EVENT_CODEDEPLOY_HOOK;
	if ((rc = get_str(root, "DeploymentId", 1, &deployment, NULL, e)) < 0 ||
	    (rc = get_str(root, "LifecycleEventHookExecutionId", 1, &execution, NULL, e)) < 0)
		return rc;
	if (!*deployment || !*execution)
		return err_set(
		    e, ERR_INVALID,
		    "the CodeDeploy event's DeploymentId or LifecycleEventHookExecutionId "
		    "is empty");
	if ((rc = dup_field(&ev->deployment_id, deployment, e)) < 0)
		return rc;
	return dup_field(&ev->hook_execution_id, execution, e);
}

/* 1 when root is {"Records": [r0, ...]} and r0's eventSource is "aws:sqs". */
static int is_sqs_batch(json_t *root)
{
	json_t *records = json_object_get(root, "Records");
	const char *src =
	    json_string_value(json_object_get(json_array_get(records, 0), "eventSource"));

	return json_is_array(records) && src && strcmp(src, "aws:sqs") == 0;
}

/* An SQS batch's records; strings borrowed from root (kept in ev->json). */
static int parse_sqs(json_t *root, struct event *ev, struct err *e)
{
	json_t *records = json_object_get(root, "Records"), *rec, *count;
	struct event_sqs_record *r;
	const char *src, *s;
	size_t i, n = json_array_size(records);
	char *end;

	ev->kind = EVENT_SQS;
	if (n > EVENT_MAX_SQS_RECORDS)
		return err_set(e, ERR_TOO_LARGE, "the SQS batch has more than %d records",
		               EVENT_MAX_SQS_RECORDS);
	ev->sqs_records = calloc(n + 1, sizeof(*ev->sqs_records));
	if (!ev->sqs_records)
		return err_set(e, ERR_NOMEM, "out of memory");
	json_array_foreach(records, i, rec)
	{
		r = &ev->sqs_records[i];
		src = json_string_value(json_object_get(rec, "eventSource"));
		if (!src || strcmp(src, "aws:sqs") != 0)
			return err_set(e, ERR_INVALID,
			               "SQS record %zu: its eventSource is not aws:sqs", i);
		r->message_id = json_string_value(json_object_get(rec, "messageId"));
		if (!r->message_id || !*r->message_id)
			return err_set(e, ERR_INVALID, "SQS record %zu has no messageId", i);
		r->body = json_string_value(json_object_get(rec, "body"));
		count =
		    json_object_get(json_object_get(rec, "attributes"), "ApproximateReceiveCount");
		s = json_string_value(count);
		if (s && *s) {
			r->receive_count = strtol(s, &end, 10);
			if (*end || r->receive_count < 0)
				r->receive_count = 0;
		}
	}
	ev->n_sqs_records = n;
	return 0;
}

/* ---- S3 notifications, bare or wrapped ---- */

#define S3_MAX_DEPTH   4 /* SQS > SNS > destination record > SNS > S3 */
#define S3_MAX_RECORDS 100000

static const char *member_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The source of a record: "aws:s3", "aws:sns", "aws:sqs" (either spelling). */
static const char *record_source(json_t *rec)
{
	const char *s = member_str(rec, "eventSource");

	return s ? s : member_str(rec, "EventSource");
}

/* 1 when node is an S3 notification, an SNS event or envelope, or a Lambda
 * destination record (the shapes collect_s3 unwraps). */
static int is_s3_shape(json_t *node)
{
	const char *src, *type = member_str(node, "Type");

	if (json_is_object(json_object_get(node, "requestPayload")))
		return 1;
	if (type && strcmp(type, "Notification") == 0 && member_str(node, "Message"))
		return 1;
	src = record_source(json_array_get(json_object_get(node, "Records"), 0));
	return src && (strcmp(src, "aws:s3") == 0 || strcmp(src, "aws:sns") == 0);
}

static int add_s3_record(struct event *ev, json_t *rec, const char *msg_id, struct err *e)
{
	json_t *s3 = json_object_get(rec, "s3");
	json_t *obj = json_object_get(s3, "object"), *size = json_object_get(obj, "size");
	const char *name = member_str(rec, "eventName"), *bucket, *key, *v;
	struct event_s3_record *r, *grown;

	if (!json_is_object(s3))
		return err_set(e, ERR_INVALID, "an S3 record has no s3 member");
	if (!name || strncmp(name, "ObjectCreated:", 14) != 0)
		return 0;
	bucket = member_str(json_object_get(s3, "bucket"), "name");
	key = member_str(obj, "key");
	if (!bucket || !*bucket || !key || !*key)
		return err_set(e, ERR_INVALID, "an S3 record has no bucket name or object key");
	if (ev->n_s3_records >= S3_MAX_RECORDS)
		return err_set(e, ERR_TOO_LARGE, "more than %d S3 records", S3_MAX_RECORDS);
	grown = realloc(ev->s3_records, (ev->n_s3_records + 1) * sizeof(*grown));
	if (!grown)
		return err_set(e, ERR_NOMEM, "out of memory");
	ev->s3_records = grown;
	r = &grown[ev->n_s3_records++];
	memset(r, 0, sizeof(*r));
	r->size = json_is_integer(size) ? (long long)json_integer_value(size) : -1;
	r->event_name = strdup(name);
	r->bucket = strdup(bucket);
	r->key = percent_decode(key, strlen(key), 1);
	if (!r->event_name || !r->bucket || !r->key)
		return err_set(e, ERR_NOMEM, "out of memory");
	if ((v = member_str(obj, "versionId")) && *v && !(r->version_id = strdup(v)))
		return err_set(e, ERR_NOMEM, "out of memory");
	if ((v = member_str(obj, "eTag")) && *v && !(r->etag = strdup(v)))
		return err_set(e, ERR_NOMEM, "out of memory");
	if (msg_id && !(r->sqs_message_id = strdup(msg_id)))
		return err_set(e, ERR_NOMEM, "out of memory");
	return 0;
}

static int collect_s3(json_t *node, const char *msg_id, int depth, struct event *ev, struct err *e);

/* A JSON text inside a string (SNS Message, SQS body): its S3 records. */
static int collect_s3_text(const char *text, const char *msg_id, int depth, struct event *ev,
                           struct err *e)
{
	json_error_t jerr;
	json_t *inner = json_loads(text, 0, &jerr);
	int rc = 0;

	if (inner)
		rc = collect_s3(inner, msg_id, depth + 1, ev, e);
	else if (msg_id)
		rc = err_set(e, ERR_INVALID, "SQS message %s: its body is not JSON", msg_id);
	/* an SNS message that is not JSON carries no S3 event */
	json_decref(inner);
	return rc;
}

static int collect_s3(json_t *node, const char *msg_id, int depth, struct event *ev, struct err *e)
{
	json_t *records, *rec, *payload;
	const char *type, *src, *text;
	size_t i;
	int rc = 0;

	if (depth > S3_MAX_DEPTH)
		return err_set(e, ERR_INVALID, "S3 notification wrapped more than %d deep",
		               S3_MAX_DEPTH);
	payload = json_object_get(node, "requestPayload");
	if (json_is_object(payload))
		return collect_s3(payload, msg_id, depth + 1, ev, e);
	type = member_str(node, "Type");
	text = member_str(node, "Message");
	if (type && strcmp(type, "Notification") == 0 && text)
		return collect_s3_text(text, msg_id, depth, ev, e);
	records = json_object_get(node, "Records");
	json_array_foreach(records, i, rec)
	{
		src = record_source(rec);
		if (!src)
			continue;
		if (strcmp(src, "aws:s3") == 0) {
			rc = add_s3_record(ev, rec, msg_id, e);
		} else if (strcmp(src, "aws:sns") == 0) {
			text = member_str(json_object_get(rec, "Sns"), "Message");
			if (text)
				rc = collect_s3_text(text, msg_id, depth, ev, e);
		} else if (strcmp(src, "aws:sqs") == 0) {
			const char *id = member_str(rec, "messageId");

			text = member_str(rec, "body");
			if (!id || !*id || !text)
				rc = err_set(e, ERR_INVALID,
				             "SQS record %zu has no messageId or body", i);
			else
				rc = collect_s3_text(text, id, depth, ev, e);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* 1 when the SQS batch's first body is an S3-bearing shape. */
static int sqs_carries_s3(json_t *root)
{
	const char *body = member_str(json_array_get(json_object_get(root, "Records"), 0), "body");
	json_error_t jerr;
	json_t *inner = body ? json_loads(body, 0, &jerr) : NULL;
	int yes = inner && is_s3_shape(inner);

	json_decref(inner);
	return yes;
}

static int parse_s3(json_t *root, struct event *ev, struct err *e)
{
	int rc;

	ev->kind = EVENT_S3;
	rc = collect_s3(root, NULL, 0, ev, e);
	if (rc)
		event_s3_records_free(ev);
	return rc;
}

int event_parse(const char *json, size_t len, struct event *out, struct err *e)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *s;
	int rc;

	event_init(out);
	if (len > EVENT_MAX_BYTES)
		return err_set(e, ERR_TOO_LARGE, "the event is larger than %zu bytes",
		               EVENT_MAX_BYTES);
	root = json_loadb(json, len, 0, &jerr);
	if (!root)
		return err_set(e, ERR_INVALID, "the event is not JSON (line %d, column %d)",
		               jerr.line, jerr.column);
	if (!json_is_object(root)) {
		rc = err_set(e, ERR_INVALID, "the event is not a JSON object");
		goto out;
	}
	if ((v = json_object_get(root, "awslogs")) != NULL) {
		out->kind = EVENT_LOGS;
		rc = get_str(v, "data", 1, &s, NULL, e);
		if (rc == 0)
			rc = dup_field(&out->logs_data, s, e);
	} else if (json_is_object(json_object_get(root, "CodePipeline.job"))) {
		out->kind = EVENT_CODEPIPELINE_JOB;
		rc = 0;
	} else if (json_object_get(root, "DeploymentId") &&
	           json_object_get(root, "LifecycleEventHookExecutionId")) {
		rc = parse_codedeploy_hook(root, out, e);
	} else if (is_sqs_batch(root)) {
		rc = sqs_carries_s3(root) ? parse_s3(root, out, e) : parse_sqs(root, out, e);
	} else if (is_s3_shape(root)) {
		rc = parse_s3(root, out, e);
	} else if (json_object_get(root, "detail-type") && json_object_get(root, "source")) {
		rc = parse_eventbridge(root, out, e);
	} else if ((rc = get_str(root, "version", 0, &s, NULL, e)) == 0 && s &&
	           strcmp(s, "2.0") == 0) {
		out->kind = EVENT_HTTP;
		out->format = EVENT_FORMAT_V2;
		rc = parse_v2(root, &out->request, e);
	} else if (rc == 0 && json_object_get(root, "httpMethod")) {
		out->kind = EVENT_HTTP;
		out->format = EVENT_FORMAT_V1;
		rc = parse_v1(root, &out->request, e);
	} else if (rc == 0) {
		rc = err_set(e, ERR_INVALID,
		             "unknown event: not API Gateway, a Function URL, EventBridge, "
		             "CloudWatch Logs, CodePipeline, a CodeDeploy hook, SQS, S3 or SNS");
	}
	if (rc == 0 && out->kind != EVENT_HTTP) {
		out->json = root;
		root = NULL;
	}
out:
	json_decref(root);
	return rc;
}

/* ---- the answer ---- */

/* The headers of resp in order, Content-Type first. */
struct hdr {
	const char *name, *value;
};

static size_t collect_headers(const struct router_response *resp, struct hdr *h)
{
	size_t i, n = 0;

	if (resp->content_type)
		h[n++] = (struct hdr){"Content-Type", resp->content_type};
	for (i = 0; i < resp->n_headers; i++)
		h[n++] = (struct hdr){resp->headers[i].name, resp->headers[i].value};
	return n;
}

/* Whether an earlier header has the same name. */
static int seen_before(const struct hdr *h, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (strcasecmp(h[j].name, h[i].name) == 0)
			return 1;
	return 0;
}

static int set_headers(enum event_format format, json_t *root, const struct hdr *h, size_t n)
{
	json_t *single = json_object(), *multi = json_object(), *cookies = json_array();
	size_t i, j;
	int rc = ERR_NOMEM;

	if (!single || !multi || !cookies)
		goto out;
	for (i = 0; i < n; i++) {
		size_t count = 0;
		if (format == EVENT_FORMAT_V2 && strcasecmp(h[i].name, "Set-Cookie") == 0) {
			if (json_array_append_new(cookies, json_string(h[i].value)) < 0)
				goto bad;
			continue;
		}
		if (seen_before(h, i))
			continue;
		for (j = i; j < n; j++)
			count += strcasecmp(h[j].name, h[i].name) == 0;
		if (count == 1) {
			if (json_object_set_new(single, h[i].name, json_string(h[i].value)) < 0)
				goto bad;
		} else if (format == EVENT_FORMAT_V1) {
			json_t *arr = json_array();
			if (json_object_set_new(multi, h[i].name, arr) < 0)
				goto bad;
			for (j = i; j < n; j++)
				if (strcasecmp(h[j].name, h[i].name) == 0 &&
				    json_array_append_new(arr, json_string(h[j].value)) < 0)
					goto bad;
		} else {
			struct buf b;
			int brc = 0;
			buf_init(&b, 0);
			for (j = i; j < n && brc == 0; j++)
				if (strcasecmp(h[j].name, h[i].name) == 0)
					brc = (b.len ? buf_append_str(&b, ", ") : 0) < 0
					          ? ERR_NOMEM
					          : buf_append_str(&b, h[j].value);
			if (brc == 0)
				brc = json_object_set_new(single, h[i].name,
				                          json_string(buf_str(&b)));
			buf_free(&b);
			if (brc < 0)
				goto bad;
		}
	}
	if (json_object_set(root, "headers", single) < 0 ||
	    (json_object_size(multi) && json_object_set(root, "multiValueHeaders", multi) < 0) ||
	    (json_array_size(cookies) && json_object_set(root, "cookies", cookies) < 0))
		goto bad;
	rc = 0;
	goto out;
bad:
	/* json_string fails on a value that is not UTF-8 as well as on no memory */
	rc = ERR_INVALID;
out:
	json_decref(single);
	json_decref(multi);
	json_decref(cookies);
	return rc;
}

/* The body as a JSON string, or base64 when it is not UTF-8. */
static int set_body_out(json_t *root, const struct buf *body)
{
	json_t *s = json_stringn(body->data ? body->data : "", body->len);
	unsigned char *enc;
	int b64 = 0;

	if (!s) {
		if (body->len > EVENT_MAX_BYTES)
			return ERR_TOO_LARGE;
		enc = malloc(4 * ((body->len + 2) / 3) + 1);
		if (!enc)
			return ERR_NOMEM;
		EVP_EncodeBlock(enc, (const unsigned char *)body->data, (int)body->len);
		s = json_string((char *)enc);
		free(enc);
		b64 = 1;
	}
	if (json_object_set_new(root, "body", s) < 0 ||
	    json_object_set_new(root, "isBase64Encoded", json_boolean(b64)) < 0)
		return ERR_NOMEM;
	return 0;
}

int event_format_response(enum event_format format, const struct router_response *resp,
                          struct buf *out, struct err *e)
{
	struct hdr *h;
	json_t *root;
	char *text = NULL;
	int rc;

	h = calloc(resp->n_headers + 1, sizeof(*h));
	root = json_pack("{s:i}", "statusCode", resp->status);
	if (!h || !root) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = set_headers(format, root, h, collect_headers(resp, h));
	if (rc < 0) {
		err_set(e, rc, "a response header is not UTF-8");
		goto out;
	}
	rc = set_body_out(root, &resp->body);
	if (rc < 0) {
		err_set(e, rc, "the response body could not be encoded");
		goto out;
	}
	text = json_dumps(root, JSON_COMPACT);
	if (!text) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = buf_append_str(out, text);
	if (rc < 0)
		err_set(e, rc, "the proxy answer does not fit");
out:
	free(text);
	free(h);
	json_decref(root);
	return rc;
}
