/* router: the route table, path matching and JSON error answers; see router.h. */
#include "router.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../config.h"
#include "routes.h"

#define ROUTER_MAX_PATH     8192 /* longer paths get 414 */
#define ROUTER_MAX_SEGMENTS 16   /* no route has more; deeper paths are unknown */
#define ROUTER_MAX_MESSAGE  400

struct route {
	struct router_route pub; /* what front doors and tests see */
	routes_handler handler;
	int variant;
};

/* Every route, once: method, pattern, name, who may call it, its class, handler. */
static const struct route route_table[] = {
    {{"GET", "/health", "health", ROUTER_OPEN, ROUTER_LOOKUP}, routes_health, 0},
    {{"GET", "/eb/{env}/ip", "eb-ip", ROUTER_KEY, ROUTER_LOOKUP}, routes_ip, ROUTES_EB},
    {{"GET", "/eb/{env}/ip/{n}", "eb-ip-n", ROUTER_KEY, ROUTER_LOOKUP}, routes_ip, ROUTES_EB},
    {{"GET", "/eb/{env}/instances", "eb-instances", ROUTER_KEY, ROUTER_LOOKUP},
     routes_instances,
     ROUTES_EB},
    {{"GET", "/asg/{group}/ip", "asg-ip", ROUTER_KEY, ROUTER_LOOKUP}, routes_ip, ROUTES_ASG},
    {{"GET", "/asg/{group}/ip/{n}", "asg-ip-n", ROUTER_KEY, ROUTER_LOOKUP}, routes_ip, ROUTES_ASG},
    {{"GET", "/asg/{group}/instances", "asg-instances", ROUTER_KEY, ROUTER_LOOKUP},
     routes_instances,
     ROUTES_ASG},
    {{"GET", "/eb/{env}/hostkeys", "eb-hostkeys", ROUTER_KEY, ROUTER_LOOKUP},
     routes_hostkeys,
     ROUTES_EB},
    {{"GET", "/eb/{env}/hostkeys/{n}", "eb-hostkeys-n", ROUTER_KEY, ROUTER_LOOKUP},
     routes_hostkeys,
     ROUTES_EB},
    {{"GET", "/asg/{group}/hostkeys", "asg-hostkeys", ROUTER_KEY, ROUTER_LOOKUP},
     routes_hostkeys,
     ROUTES_ASG},
    {{"GET", "/asg/{group}/hostkeys/{n}", "asg-hostkeys-n", ROUTER_KEY, ROUTER_LOOKUP},
     routes_hostkeys,
     ROUTES_ASG},
    {{"POST", "/backup/ami", "backup-ami", ROUTER_KEY, ROUTER_OPS}, routes_backup, 0},
    {{"GET", "/logs/{function}/{request_id}", "logs", ROUTER_KEY, ROUTER_OPS}, routes_logs, 0},
    /* Slack sends no key but signs the request (routes_slack_logsearch checks it). */
    {{"POST", "/slack/logsearch", "slack-logsearch", ROUTER_OPEN, ROUTER_OPS},
     routes_slack_logsearch,
     0},
    {{"GET", "/lambda/storage", "lambda-storage", ROUTER_KEY, ROUTER_OPS},
     routes_lambda_storage,
     0},
};

#define N_ROUTES (sizeof(route_table) / sizeof(route_table[0]))

/* Empties resp for a new answer; keeps route and error. */
static void response_reset(struct router_response *resp)
{
	free(resp->content_type);
	resp->content_type = NULL;
	router_pairs_free(resp->headers, resp->n_headers);
	resp->headers = NULL;
	resp->n_headers = 0;
	buf_free(&resp->body);
	buf_init(&resp->body, 0);
	resp->status = 0;
}

/* Copies s with every byte outside printable ASCII replaced by '?'. */
static void ascii_only(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

int router_answer(struct router_response *resp, int status, const char *content_type)
{
	free(resp->content_type);
	resp->content_type = strdup(content_type);
	if (!resp->content_type)
		return ERR_NOMEM;
	resp->status = status;
	return 0;
}

int router_answer_json(struct router_response *resp, int status, json_t *root)
{
	char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	int rc = ERR_NOMEM;

	json_decref(root);
	buf_reset(&resp->body);
	if (text && buf_append_str(&resp->body, text) == 0 &&
	    buf_append_str(&resp->body, "\n") == 0)
		rc = router_answer(resp, status, ROUTER_JSON);
	free(text);
	return rc;
}

static int error_body(struct router_response *resp, int status, const char *code,
                      const char *message)
{
	response_reset(resp);
	return router_answer_json(resp, status,
	                          json_pack("{s:s, s:s}", "message", message, "code", code));
}

int router_error(struct router_response *resp, int status, const char *code, const char *fmt, ...)
{
	char message[ROUTER_MAX_MESSAGE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	ascii_only(message);
	return error_body(resp, status, code, message);
}

/* Keeps only the characters AWS's codes and request ids are made of. */
static void token_only(char *dst, size_t cap, const char *src)
{
	size_t n = 0;

	for (; *src && n + 1 < cap; src++) {
		char c = *src;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_')
			dst[n++] = c;
	}
	dst[n] = '\0';
}

static int aws_error(struct router_response *resp, int status, const char *code, const char *what,
                     const struct err *e)
{
	char aws_code[sizeof(e->aws_code)], rid[sizeof(e->request_id)];
	char message[ROUTER_MAX_MESSAGE];
	int n;

	token_only(aws_code, sizeof(aws_code), e->aws_code);
	token_only(rid, sizeof(rid), e->request_id);
	n = snprintf(message, sizeof(message), "%s", what);
	if (aws_code[0])
		n += snprintf(message + n, sizeof(message) - (size_t)n, ": %s", aws_code);
	if (e->http_status > 0 && e->http_status < 1000)
		n += snprintf(message + n, sizeof(message) - (size_t)n, " (HTTP %ld)",
		              e->http_status);
	if (rid[0])
		snprintf(message + n, sizeof(message) - (size_t)n, ", request id %s", rid);
	return error_body(resp, status, code, message);
}

int router_error_from(struct router_response *resp, const struct err *e)
{
	int rc;

	resp->error = *e;
	switch (e->code) {
	case ERR_INVALID:
		return router_error(resp, 400, "InvalidRequest", "%s", e->message);
	case ERR_NOT_FOUND:
		return router_error(resp, 404, "NotFound", "%s", e->message);
	case ERR_AWS:
		return aws_error(resp, 502, "AwsError", "AWS answered an error", e);
	case ERR_THROTTLED:
		rc = aws_error(resp, 503, "Throttled",
		               "AWS is throttling requests, try again later", e);
		if (rc == 0)
			rc = router_pair_add(&resp->headers, &resp->n_headers, "Retry-After", "1");
		return rc;
	case ERR_NETWORK:
		return error_body(resp, 502, "AwsUnreachable", "AWS could not be reached");
	case ERR_TIMEOUT:
		return error_body(resp, 504, "AwsTimeout", "AWS did not answer in time");
	case ERR_CREDENTIALS:
		return error_body(resp, 502, "CredentialsError",
		                  "the service has no usable AWS credentials");
	case ERR_PARSE:
	case ERR_TOO_LARGE:
		return error_body(resp, 502, "AwsBadAnswer", "AWS's answer could not be read");
	case ERR_NOMEM:
		return error_body(resp, 500, "InternalError", "out of memory");
	default:
		return error_body(resp, 500, "InternalError", "internal error");
	}
}

/* Splits path ("/a/b") into segments in buf; -1 when too deep. */
static int split_path(char *path, char **seg, size_t max)
{
	size_t n = 0;
	char *p = path + 1;

	for (;;) {
		char *slash = strchr(p, '/');
		if (n == max)
			return -1;
		seg[n++] = p;
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return (int)n;
}

/* Matches pattern against the segments; fills args. */
static int route_matches(const struct route *rt, char *const *seg, int n_seg,
                         struct route_args *args)
{
	const char *p = rt->pub.pattern + 1;
	int i = 0;

	memset(args, 0, sizeof(*args));
	args->variant = rt->variant;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (i >= n_seg)
			return 0;
		if (p[0] == '{') {
			if (args->n_params == ROUTES_MAX_PARAMS)
				return 0;
			args->param[args->n_params++] = seg[i];
		} else if (strlen(seg[i]) != len || memcmp(seg[i], p, len) != 0) {
			return 0;
		}
		i++;
		p += len;
		if (*p == '/')
			p++;
	}
	return i == n_seg;
}

int router_caller_may_ops(const struct router_caller *c, const char *ops_api_key_id)
{
	switch (c->key) {
	case ROUTER_KEY_OPS:
		return 1;
	case ROUTER_KEY_NONE:
	case ROUTER_KEY_LOOKUP:
		return 0; /* ebssh-api checked the key: no other proof counts */
	case ROUTER_KEY_UNCHECKED:
		break;
	}
	if (c->user_arn && *c->user_arn)
		return 1; /* API Gateway's AWS_IAM authorization let the signer in */
	return c->api_key_id && *c->api_key_id && ops_api_key_id && *ops_api_key_id &&
	       strcmp(c->api_key_id, ops_api_key_id) == 0;
}

int router_forbidden(struct router_response *resp)
{
	response_reset(resp);
	if (buf_append_str(&resp->body, ROUTER_FORBIDDEN_BODY) < 0 ||
	    router_answer(resp, 403, ROUTER_JSON) < 0 ||
	    router_pair_add(&resp->headers, &resp->n_headers, "x-amzn-ErrorType",
	                    "ForbiddenException") < 0)
		return ERR_NOMEM;
	return 0;
}

static int dispatch(struct service_context *ctx, const struct router_request *req,
                    struct router_response *resp)
{
	char *seg[ROUTER_MAX_SEGMENTS];
	char allow[64] = "";
	char *path = NULL;
	struct route_args args;
	const char *method = req->method ? req->method : "";
	size_t i, len;
	int n_seg, rc;

	resp->route = "-";
	if (!req->path || req->path[0] != '/')
		return router_error(resp, 400, "InvalidRequest", "the path must start with '/'");
	len = strlen(req->path);
	if (len > ROUTER_MAX_PATH)
		return router_error(resp, 414, "UriTooLong", "the path is longer than %d bytes",
		                    ROUTER_MAX_PATH);
	path = strdup(req->path);
	if (!path)
		return ERR_NOMEM;
	n_seg = split_path(path, seg, ROUTER_MAX_SEGMENTS);
	for (i = 0; n_seg > 0 && i < N_ROUTES; i++) {
		const struct route *rt = &route_table[i];
		if (!route_matches(rt, seg, n_seg, &args))
			continue;
		if (strcmp(rt->pub.method, method) == 0) {
			resp->route = rt->pub.pattern;
			if (rt->pub.access == ROUTER_KEY && rt->pub.route_class == ROUTER_OPS &&
			    !router_caller_may_ops(&req->caller,
			                           service_config_get().ops_api_key_id))
				rc = router_forbidden(resp);
			else
				rc = rt->handler(ctx, req, &args, resp);
			free(path);
			return rc;
		}
		if (!strstr(allow, rt->pub.method)) {
			size_t used = strlen(allow);
			snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "",
			         rt->pub.method);
		}
	}
	free(path);
	if (allow[0]) {
		rc = router_error(resp, 405, "MethodNotAllowed",
		                  "%.16s is not allowed here; use %s", method, allow);
		if (rc == 0)
			rc = router_pair_add(&resp->headers, &resp->n_headers, "Allow", allow);
		return rc;
	}
	return router_error(resp, 404, "NotFound", "no route for %.16s %.200s", method, req->path);
}

int router_handle(struct service_context *ctx, const struct router_request *req,
                  struct router_response *resp)
{
	int rc;

	rc = dispatch(ctx, req, resp);
	if (rc == 0 && (resp->status < 100 || resp->status > 599)) {
		struct err e;
		err_set(&e, ERR_INTERNAL, "route %s answered no status", resp->route);
		rc = router_error_from(resp, &e);
	}
	if (rc == 0)
		rc = router_pair_add(&resp->headers, &resp->n_headers, "Cache-Control", "no-store");
	if (rc < 0) {
		struct err e;
		err_set(&e, ERR_NOMEM, "out of memory");
		if (router_error_from(resp, &e) < 0 ||
		    router_pair_add(&resp->headers, &resp->n_headers, "Cache-Control", "no-store") <
		        0) {
			response_reset(resp);
			return ERR_NOMEM;
		}
	}
	return 0;
}

size_t router_route_count(void)
{
	return N_ROUTES;
}

const struct router_route *router_route_at(size_t i)
{
	return i < N_ROUTES ? &route_table[i].pub : NULL;
}

int router_needs_key(const char *path)
{
	char *seg[ROUTER_MAX_SEGMENTS];
	struct route_args args;
	char *copy;
	size_t i;
	int n_seg, matched = 0, keyed = 0;

	if (!path || path[0] != '/' || strlen(path) > ROUTER_MAX_PATH)
		return 1;
	copy = strdup(path);
	if (!copy)
		return 1;
	n_seg = split_path(copy, seg, ROUTER_MAX_SEGMENTS);
	for (i = 0; n_seg > 0 && i < N_ROUTES; i++) {
		if (!route_matches(&route_table[i], seg, n_seg, &args))
			continue;
		matched = 1;
		if (route_table[i].pub.access == ROUTER_KEY)
			keyed = 1;
	}
	free(copy);
	return !matched || keyed;
}

enum router_class router_class_of(const char *method, const char *path)
{
	char *seg[ROUTER_MAX_SEGMENTS];
	struct route_args args;
	enum router_class cls = ROUTER_LOOKUP;
	char *copy;
	size_t i;
	int n_seg;

	if (!method || !path || path[0] != '/' || strlen(path) > ROUTER_MAX_PATH)
		return ROUTER_LOOKUP;
	copy = strdup(path);
	if (!copy)
		return ROUTER_LOOKUP;
	n_seg = split_path(copy, seg, ROUTER_MAX_SEGMENTS);
	for (i = 0; n_seg > 0 && i < N_ROUTES; i++) {
		if (strcmp(route_table[i].pub.method, method) == 0 &&
		    route_matches(&route_table[i], seg, n_seg, &args)) {
			cls = route_table[i].pub.route_class;
			break;
		}
	}
	free(copy);
	return cls;
}
