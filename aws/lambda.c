/* lambda: ListFunctions, ListVersionsByFunction, GetAccountSettings, Invoke; see lambda.h. */
#include "lambda.h"

#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "client.h"
#include "http.h"
#include "uri.h"

#define LAMBDA_MAX_PAYLOAD ((size_t)256 << 10) /* asynchronous invocations */
#define LAMBDA_MAX_ANSWER  ((size_t)16 << 20)
#define LAMBDA_MAX_SYNC    ((size_t)6 << 20) /* synchronous invocations */

/* botocore's FunctionName pattern of Invoke, anchored; the name part at most 64. */
#define INVOKE_TARGET_RE                                                                           \
	"^(arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov)?-[a-z]+-[0-9]:[0-9]{12}:function:|"             \
	"[0-9]{12}:function:)?[a-zA-Z0-9_.-]{1,64}(:(\\$LATEST|[a-zA-Z0-9_-]{1,128}))?$"
#define QUALIFIER_RE "^[a-zA-Z0-9$_-]{1,128}$"

void lambda_function_list_free(struct lambda_function_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->n; i++) {
		free(list->items[i].name);
		free(list->items[i].version);
		free(list->items[i].arn);
	}
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

static int name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int lambda_check_function_name(const char *name, struct err *e)
{
	size_t i, n = name ? strlen(name) : 0;

	if (n == 0)
		return err_set(e, ERR_INVALID,
		               "a function name is 1 to %d characters; this is empty",
		               LAMBDA_MAX_NAME);
	if (n > LAMBDA_MAX_NAME)
		return err_set(e, ERR_INVALID, "a function name is 1 to %d characters; this is %zu",
		               LAMBDA_MAX_NAME, n);
	for (i = 0; i < n; i++)
		if (!name_char(name[i]))
			return err_set(e, ERR_INVALID,
			               "a function name holds only letters, digits, '-' and '_'");
	return 0;
}

/* A function, version, alias or ARN as Invoke's path takes it. */
static int check_invoke_target(const char *s, struct err *e)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > LAMBDA_MAX_QUALIFIED)
		return err_set(e, ERR_INVALID, "Invoke: the function name is empty or too long");
	for (i = 0; i < n; i++)
		if (!name_char(s[i]) && s[i] != ':' && s[i] != '.' && s[i] != '$')
			return err_set(e, ERR_INVALID,
			               "Invoke: the function name has a bad character");
	return 0;
}

/* A string member: borrowed, NULL when absent or null; *bad set when another type. */
static const char *str_member(json_t *obj, const char *key, int *bad)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

/* An integer member >= 0: 0 when absent or null; *bad set otherwise. */
static int64_t size_member(json_t *obj, const char *key, int *bad)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		*bad = 1;
		return 0;
	}
	return (int64_t)json_integer_value(v);
}

static json_t *load_object(const char *json, size_t len, const char *what, struct err *e)
{
	json_error_t jerr;
	json_t *root = json_loadb(json ? json : "", json ? len : 0, JSON_REJECT_DUPLICATES, &jerr);

	if (!root) {
		err_set(e, ERR_PARSE, "%s: the answer is not JSON (line %d)", what, jerr.line);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		err_set(e, ERR_PARSE, "%s: the answer is not an object", what);
		return NULL;
	}
	return root;
}

static int append_function(struct lambda_function_list *out, json_t *fn, const char *what,
                           struct err *e)
{
	struct lambda_function item;
	struct lambda_function *grown;
	const char *name, *version, *arn;
	int bad = 0;

	if (!json_is_object(fn))
		return err_set(e, ERR_PARSE, "%s: an entry is not an object", what);
	name = str_member(fn, "FunctionName", &bad);
	version = str_member(fn, "Version", &bad);
	arn = str_member(fn, "FunctionArn", &bad);
	item.code_size = size_member(fn, "CodeSize", &bad);
	if (bad)
		return err_set(e, ERR_PARSE, "%s: an entry has a field of the wrong type", what);
	if (!name || !*name || !version || !*version)
		return err_set(e, ERR_PARSE, "%s: an entry lacks FunctionName or Version", what);
	item.name = strdup(name);
	item.version = strdup(version);
	item.arn = strdup(arn ? arn : "");
	grown = NULL;
	if (item.name && item.version && item.arn && out->n < ((size_t)-1) / sizeof(*grown) - 1)
		grown = realloc(out->items, (out->n + 1) * sizeof(*grown));
	if (!grown) {
		free(item.name);
		free(item.version);
		free(item.arn);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	grown[out->n++] = item;
	out->items = grown;
	return 0;
}

int lambda_parse_function_list(const char *json, size_t len, const char *list_key,
                               struct lambda_function_list *out, char **next_marker, struct err *e)
{
	const char *what =
	    strcmp(list_key, "Functions") == 0 ? "ListFunctions" : "ListVersionsByFunction";
	json_t *root, *list;
	const char *marker;
	size_t i, before = out->n;
	int rc = 0, bad = 0;

	*next_marker = NULL;
	root = load_object(json, len, what, e);
	if (!root)
		return ERR_PARSE;
	list = json_object_get(root, list_key);
	if (list && !json_is_null(list) && !json_is_array(list)) {
		rc = err_set(e, ERR_PARSE, "%s: \"%s\" is not an array", what, list_key);
		goto out;
	}
	for (i = 0; list && i < json_array_size(list) && !rc; i++)
		rc = append_function(out, json_array_get(list, i), what, e);
	if (rc)
		goto out;
	marker = str_member(root, "NextMarker", &bad);
	if (bad) {
		rc = err_set(e, ERR_PARSE, "%s: \"NextMarker\" is not a string", what);
		goto out;
	}
	if (marker && *marker) {
		*next_marker = strdup(marker);
		if (!*next_marker)
			rc = err_set(e, ERR_NOMEM, "out of memory");
	}
out:
	if (rc) {
		while (out->n > before) {
			struct lambda_function *f = &out->items[--out->n];
			free(f->name);
			free(f->version);
			free(f->arn);
		}
	}
	json_decref(root);
	return rc;
}

int lambda_parse_account_settings(const char *json, size_t len, struct lambda_account_settings *out,
                                  struct err *e)
{
	json_t *root, *limit, *usage;
	int bad = 0;

	memset(out, 0, sizeof(*out));
	root = load_object(json, len, "GetAccountSettings", e);
	if (!root)
		return ERR_PARSE;
	limit = json_object_get(root, "AccountLimit");
	usage = json_object_get(root, "AccountUsage");
	if ((limit && !json_is_object(limit) && !json_is_null(limit)) ||
	    (usage && !json_is_object(usage) && !json_is_null(usage)))
		bad = 1;
	if (!bad && json_is_object(limit))
		out->total_code_size_limit = size_member(limit, "TotalCodeSize", &bad);
	if (!bad && json_is_object(usage)) {
		out->total_code_size_used = size_member(usage, "TotalCodeSize", &bad);
		out->function_count = size_member(usage, "FunctionCount", &bad);
	}
	json_decref(root);
	if (bad) {
		memset(out, 0, sizeof(*out));
		return err_set(e, ERR_PARSE, "GetAccountSettings: a field has the wrong type");
	}
	return 0;
}

static void rest_call(struct aws_call *call, const char *method, const char *path,
                      const char *query)
{
	memset(call, 0, sizeof(*call));
	call->service = "lambda";
	call->endpoint_id = "LAMBDA";
	call->endpoint_prefix = "lambda";
	call->protocol = AWS_PROTOCOL_REST_JSON;
	call->method = method;
	call->path = path;
	call->query = query;
}

/* Every page of a list call at path (already encoded), list_key its array. */
static int list_pages(struct aws_client *c, const char *path, const char *list_key,
                      struct lambda_function_list *out, struct err *e)
{
	struct lambda_function_list all = {NULL, 0};
	char *marker = NULL, *next = NULL;
	struct aws_call call;
	struct buf query, body;
	int pages, rc = 0;

	for (pages = 0;; pages++) {
		if (pages == LAMBDA_MAX_PAGES) {
			rc = err_set(e, ERR_TOO_LARGE, "%s: more than %d pages", path,
			             LAMBDA_MAX_PAGES);
			goto out;
		}
		/* Sorted: "Marker" < "MaxItems". */
		buf_init(&query, (size_t)8 << 10);
		rc = 0;
		if (marker)
			rc = uri_form_add(&query, "Marker", marker);
		if (!rc)
			rc = uri_form_add(&query, "MaxItems", LAMBDA_PAGE_ITEMS);
		if (rc) {
			err_set(e, rc, "the pagination marker is too long");
			goto out;
		}
		rest_call(&call, "GET", path, query.data);
		buf_init(&body, LAMBDA_MAX_ANSWER);
		rc = aws_client_call(c, &call, &body, e);
		buf_free(&query);
		if (!rc)
			rc = lambda_parse_function_list(body.data, body.len, list_key, &all, &next,
			                                e);
		buf_free(&body);
		if (rc)
			goto out;
		if (!next)
			break;
		if (marker && strcmp(marker, next) == 0) {
			rc = err_set(e, ERR_PARSE, "Lambda answered the same NextMarker twice");
			goto out;
		}
		free(marker);
		marker = next;
		next = NULL;
	}
	*out = all;
	all.items = NULL;
	all.n = 0;
out:
	free(marker);
	free(next);
	lambda_function_list_free(&all);
	return rc;
}

int lambda_list_functions(struct aws_client *c, struct lambda_function_list *out, struct err *e)
{
	return list_pages(c, "/2015-03-31/functions/", "Functions", out, e);
}

/* "/2015-03-31/functions/" encoded(name) suffix. */
static int function_path(struct buf *path, const char *function, const char *suffix)
{
	int rc = buf_append_str(path, "/2015-03-31/functions/");

	if (!rc)
		rc = uri_encode(path, function, strlen(function), 0);
	if (!rc)
		rc = buf_append_str(path, suffix);
	return rc;
}

int lambda_list_versions(struct aws_client *c, const char *function,
                         struct lambda_function_list *out, struct err *e)
{
	struct buf path;
	int rc;

	rc = check_invoke_target(function, e);
	if (rc)
		return rc;
	buf_init(&path, (size_t)4 << 10);
	rc = function_path(&path, function, "/versions");
	if (rc)
		return err_set(e, rc, "out of memory");
	rc = list_pages(c, path.data, "Versions", out, e);
	buf_free(&path);
	return rc;
}

int lambda_get_account_settings(struct aws_client *c, struct lambda_account_settings *out,
                                struct err *e)
{
	struct aws_call call;
	struct buf body;
	int rc;

	rest_call(&call, "GET", "/2016-08-19/account-settings/", NULL);
	buf_init(&body, LAMBDA_MAX_ANSWER);
	rc = aws_client_call(c, &call, &body, e);
	if (!rc)
		rc = lambda_parse_account_settings(body.data, body.len, out, e);
	buf_free(&body);
	return rc;
}

int lambda_invoke_event(struct aws_client *c, const char *function, const char *payload, size_t len,
                        struct err *e)
{
	static const struct http_header event_type[] = {{"X-Amz-Invocation-Type", "Event"}};
	struct aws_call call;
	struct buf path, body;
	int rc;

	rc = check_invoke_target(function, e);
	if (rc)
		return rc;
	if (!payload || len > LAMBDA_MAX_PAYLOAD)
		return err_set(e, ERR_INVALID, "Invoke: the payload is missing or over %zu bytes",
		               LAMBDA_MAX_PAYLOAD);
	buf_init(&path, (size_t)4 << 10);
	rc = function_path(&path, function, "/invocations");
	if (rc)
		return err_set(e, rc, "out of memory");
	rest_call(&call, "POST", path.data, NULL);
	call.content_type = "application/json";
	call.body = payload;
	call.body_len = len;
	call.extra_headers = event_type;
	call.n_extra_headers = 1;
	buf_init(&body, (size_t)1 << 20);
	rc = aws_client_call(c, &call, &body, e);
	buf_free(&body);
	buf_free(&path);
	return rc;
}

/* 1 when s matches the extended regular expression re, 0 when not, <0 on failure. */
static int matches(const char *re, const char *s)
{
	regex_t rx;
	int rc;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return ERR_NOMEM;
	rc = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return rc;
}

int lambda_check_invoke_target(const char *s, struct err *e)
{
	size_t n = s ? strlen(s) : 0;
	int m;

	if (n == 0 || n > LAMBDA_MAX_QUALIFIED)
		return err_set(e, ERR_INVALID,
		               "a function to invoke is 1 to %d characters; this is %zu",
		               LAMBDA_MAX_QUALIFIED, n);
	m = matches(INVOKE_TARGET_RE, s);
	if (m < 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	if (!m)
		return err_set(
		    e, ERR_INVALID,
		    "a function to invoke is a name (letters, digits, '-', '_', '.'), "
		    "ACCOUNT:function:NAME or arn:aws:lambda:REGION:ACCOUNT:function:NAME, "
		    "with an optional :VERSION or :ALIAS");
	return 0;
}

void lambda_invoke_result_init(struct lambda_invoke_result *r)
{
	r->function_error = NULL;
	buf_init(&r->payload, LAMBDA_MAX_ANSWER);
}

void lambda_invoke_result_free(struct lambda_invoke_result *r)
{
	if (!r)
		return;
	free(r->function_error);
	r->function_error = NULL;
	buf_free(&r->payload);
}

int lambda_invoke_sync(struct aws_client *c, const char *function, const char *qualifier,
                       const char *payload, size_t len, long timeout_ms,
                       struct lambda_invoke_result *out, struct err *e)
{
	static const struct http_header sync_type[] = {
	    {"X-Amz-Invocation-Type", "RequestResponse"}};
	struct aws_call call;
	struct buf path, query;
	int rc;

	lambda_invoke_result_init(out);
	rc = lambda_check_invoke_target(function, e);
	if (rc)
		return rc;
	if (qualifier && matches(QUALIFIER_RE, qualifier) != 1)
		return err_set(e, ERR_INVALID,
		               "Invoke: a qualifier is 1 to 128 of letters, digits, '$', '_', '-'");
	if (!payload || len > LAMBDA_MAX_SYNC)
		return err_set(e, ERR_INVALID, "Invoke: the payload is missing or over %zu bytes",
		               LAMBDA_MAX_SYNC);
	buf_init(&path, (size_t)4 << 10);
	buf_init(&query, (size_t)1 << 10);
	rc = function_path(&path, function, "/invocations");
	if (!rc && qualifier)
		rc = uri_form_add(&query, "Qualifier", qualifier);
	if (rc) {
		buf_free(&path);
		buf_free(&query);
		return err_set(e, rc, "out of memory");
	}
	rest_call(&call, "POST", path.data, qualifier ? query.data : NULL);
	call.content_type = "application/json";
	call.body = payload;
	call.body_len = len;
	call.extra_headers = sync_type;
	call.n_extra_headers = 1;
	/* Half the time per attempt: a fast 5xx leaves room for one retry. */
	call.timeout_ms = timeout_ms >= 2000 ? timeout_ms / 2 : timeout_ms;
	call.budget_ms = timeout_ms;
	call.answer_header = "X-Amz-Function-Error";
	call.answer_header_value = &out->function_error;
	rc = aws_client_call(c, &call, &out->payload, e);
	buf_free(&query);
	buf_free(&path);
	if (rc)
		lambda_invoke_result_free(out);
	return rc;
}
