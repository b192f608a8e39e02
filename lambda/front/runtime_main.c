/*
 * build/bootstrap: the Lambda custom runtime (provided.al2023).
 *
 * Speaks the Runtime API at $AWS_LAMBDA_RUNTIME_API: the endpoint URLs are
 * built once, one http_client (one libcurl handle, its connection kept alive)
 * carries every call, /next waits without a timeout and the other calls have
 * short ones. Each invocation: GET /next, its headers (request id, deadline,
 * function ARN, trace id into _X_AMZN_TRACE_ID), event_parse, one dispatch
 * switch on the event kind (API Gateway and Function URL events go through
 * router_handle and event_format_response), then POST .../response, or
 * .../error in Lambda's error shape with Lambda-Runtime-Function-Error-Type
 * Runtime.Xxx or Function.Xxx; the loop goes on. Init failures go to
 * /runtime/init/error before a non-zero exit. A network failure on a call
 * (a stale keep-alive connection) is retried once. A 500 from the Runtime
 * API means the container is going away: free everything and exit.
 *
 * Every stderr line is JSON (lambda/log.h): the log context is set from
 * /next's request id and trace id, and for an HTTP event API Gateway's
 * requestContext.requestId, and cleared after the invocation's summary line
 * ("invocation": route, method, status, duration, the error type reported,
 * if any; for an HTTP event the caller: api_key_id, caller_arn (AWS_IAM's
 * userArn), source_ip, when API Gateway gave them). Never headers, bodies,
 * credentials or API keys (a key's id is no secret).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../aws/client.h"
#include "../../aws/http.h"
#include "../../aws/uri.h"
#include "../config.h"
#include "../log.h"
#include "../ops/dispatch.h"
#include "door.h"
#include "event.h"
#include "../router/lookup_cache.h"
#include "../router/router.h"
#include "../../util/monotime.h"
#include "../../util/version.h"

#define API_VERSION        "2018-06-01"
#define POST_TIMEOUT_MS    10000L
#define ERROR_CONTENT_TYPE "application/vnd.aws.lambda.error+json"
#define ERROR_TYPE_HEADER  "Lambda-Runtime-Function-Error-Type"

/* Error types reported to Lambda (Lambda-Runtime-Function-Error-Type). */
#define ERRTYPE_INIT          "Runtime.InitError"
#define ERRTYPE_INVALID_EVENT "Runtime.InvalidEvent"
#define ERRTYPE_NOMEM         "Runtime.OutOfMemory"
#define ERRTYPE_TOO_LARGE     "Function.ResponseSizeTooLarge"

struct runtime {
	struct http_client *http; /* the Runtime API's connection */
	char *url_next;           /* http://HOST/2018-06-01/runtime/invocation/next */
	char *url_invocation;     /* http://HOST/2018-06-01/runtime/invocation/ */
	char *url_init_error;     /* http://HOST/2018-06-01/runtime/init/error */
	struct service_context ctx;
};

/* What /next said about one invocation; strings borrowed from next's headers. */
struct invocation {
	struct http_response next; /* owns the event body and the headers */
	const char *request_id;
	const char *function_arn;
	const char *trace_id;  /* NULL when absent */
	long long deadline_ms; /* Unix epoch ms; 0 when absent */
	struct timespec start;
};

/* What the invocation log line says. */
struct outcome {
	const char *route;                 /* the router's route, an event kind, or NULL */
	char method[EVENT_MAX_METHOD + 1]; /* the request's, "" for other events */
	int status;                        /* HTTP status answered, 0 for none */
	const char *error;                 /* error type reported to /error, or NULL */
	char api_key_id[128];              /* the HTTP caller's API key id, "" for none */
	char caller_arn[512];              /* the HTTP caller's IAM ARN (AWS_IAM), "" for none */
	char source_ip[64];                /* the HTTP caller's address, "" for none */
};

/* A Runtime API that answers 500 or cannot be reached: exit promptly. */
struct fatal {
	int set;
	enum log_level level;
	char message[512];
};

static char *url_of(const char *host, const char *path)
{
	struct buf b;

	buf_init(&b, 0);
	if (buf_appendf(&b, "http://%s/" API_VERSION "/runtime/%s", host, path))
		return NULL;
	return buf_take(&b);
}

/* One exchange with the Runtime API, retried once on a network failure (a
 * keep-alive connection the other side had closed). */
static int api_send(struct runtime *rt, const struct http_request *req, struct http_response *resp,
                    struct err *e)
{
	int rc = http_send(rt->http, req, resp, e);

	if (rc == ERR_NETWORK)
		rc = http_send(rt->http, req, resp, e);
	return rc;
}

/* Lambda's error document: {"errorMessage", "errorType", "stackTrace": []}.
 * The message may quote the event: bytes outside printable ASCII become '?'. */
static char *error_document(const char *type, const char *message)
{
	char clean[512];
	size_t i;
	json_t *doc;
	char *text;

	for (i = 0; i < sizeof(clean) - 1 && message[i]; i++)
		clean[i] = (char)(message[i] >= 0x20 && message[i] < 0x7f ? message[i] : '?');
	clean[i] = '\0';
	doc = json_pack("{s:s, s:s, s:[]}", "errorMessage", clean, "errorType", type, "stackTrace");

	if (!doc)
		return NULL;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

/* POSTs to url; returns the HTTP status, or a negative code. */
static long api_post(struct runtime *rt, const char *url, const struct http_header *headers,
                     size_t n_headers, const char *body, size_t body_len, struct err *e)
{
	struct http_request req = {0};
	struct http_response resp;
	long status;
	int rc;

	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.n_headers = n_headers;
	req.body = body;
	req.body_len = body_len;
	req.timeout_ms = POST_TIMEOUT_MS;
	req.max_response = (size_t)64 << 10;
	http_response_init(&resp);
	rc = api_send(rt, &req, &resp, e);
	status = rc ? rc : resp.status;
	http_response_free(&resp);
	return status;
}

static long post_error_to(struct runtime *rt, const char *url, const char *type,
                          const char *message, struct err *e)
{
	const struct http_header headers[] = {
	    {"Content-Type", ERROR_CONTENT_TYPE},
	    {ERROR_TYPE_HEADER, type},
	};
	char *doc = error_document(type, message);
	long status;

	if (!doc)
		return err_set(e, ERR_NOMEM, "out of memory");
	status = api_post(rt, url, headers, 2, doc, strlen(doc), e);
	free(doc);
	return status;
}

/* URL of .../invocation/{id}/{what} with the id percent-encoded. */
static char *invocation_url(const struct runtime *rt, const char *request_id, const char *what)
{
	struct buf b;

	buf_init(&b, 0);
	if (buf_append_str(&b, rt->url_invocation) ||
	    uri_encode(&b, request_id, strlen(request_id), 0) || buf_appendf(&b, "/%s", what))
		return NULL;
	return buf_take(&b);
}

/* A Runtime API that cannot be reached or answers 5xx is going away (fatal);
 * other unexpected answers (400, 403) are logged and the loop goes on. */
static void check_status(long status, const struct err *e, const char *what, struct fatal *f)
{
	if (status == 202)
		return;
	if (status < 0 || status >= 500) {
		f->set = 1;
		f->level = LOG_ERROR;
		if (status < 0)
			snprintf(f->message, sizeof(f->message), "posting %s failed: %.400s", what,
			         e->message);
		else
			snprintf(f->message, sizeof(f->message),
			         "the Runtime API answered %ld to %s", status, what);
		return;
	}
	log_msg(LOG_WARN, "the Runtime API answered %ld to %s", status, what);
}

static void report_error(struct runtime *rt, const struct invocation *inv, const char *type,
                         const char *message, struct outcome *out, struct fatal *f)
{
	char *url = invocation_url(rt, inv->request_id, "error");
	long status;
	struct err e;

	err_clear(&e);
	out->error = type;
	status = url ? post_error_to(rt, url, type, message, &e)
	             : err_set(&e, ERR_NOMEM, "out of memory");
	free(url);
	check_status(status, &e, "an error", f);
}

static void report_response(struct runtime *rt, const struct invocation *inv, const struct buf *doc,
                            struct outcome *out, struct fatal *f)
{
	const struct http_header headers[] = {{"Content-Type", "application/json"}};
	char *url = invocation_url(rt, inv->request_id, "response");
	long status;
	struct err e;

	err_clear(&e);
	status = url ? api_post(rt, url, headers, 1, buf_str(doc), doc->len, &e)
	             : err_set(&e, ERR_NOMEM, "out of memory");
	free(url);
	if (status == 413) {
		report_error(rt, inv, ERRTYPE_TOO_LARGE,
		             "the response is larger than Lambda accepts", out, f);
		return;
	}
	check_status(status, &e, "a response", f);
}

/* What failed behind a route's error answer (kept in resp->error for the log):
 * ERROR for a 5xx answer, WARN for the caller's mistakes; AWS's code, HTTP
 * status and request id when AWS answered the error. */
static void log_route_error(const struct router_response *resp)
{
	const struct err *e = &resp->error;
	json_t *fields = json_pack("{s:s?, s:i, s:s}", "route", resp->route, "status", resp->status,
	                           "error_code", err_code_name(e->code));

	if (fields && e->aws_code[0])
		json_object_set_new(fields, "aws_code", json_string(e->aws_code));
	if (fields && e->http_status > 0)
		json_object_set_new(fields, "aws_status", json_integer(e->http_status));
	if (fields && e->request_id[0])
		json_object_set_new(fields, "aws_request_id", json_string(e->request_id));
	log_fields_new(resp->status >= 500 ? LOG_ERROR : LOG_WARN, fields, "%s failed: %s",
	               resp->route ? resp->route : "route", e->message);
}

/* An API Gateway or Function URL request: the router, then the matching response shape. */
static void handle_http(struct runtime *rt, const struct invocation *inv, struct event *ev,
                        struct outcome *out, struct fatal *f)
{
	struct router_request *req = &ev->request;
	struct router_response resp;
	struct buf doc;
	struct err e;

	err_clear(&e);
	router_response_init(&resp);
	buf_init(&doc, 0);
	snprintf(out->method, sizeof(out->method), "%s", req->method ? req->method : "");
	/* Who called, for the summary line (the event is freed before it). */
	snprintf(out->api_key_id, sizeof(out->api_key_id), "%s",
	         req->caller.api_key_id ? req->caller.api_key_id : "");
	snprintf(out->caller_arn, sizeof(out->caller_arn), "%s",
	         req->caller.user_arn ? req->caller.user_arn : "");
	snprintf(out->source_ip, sizeof(out->source_ip), "%s",
	         req->caller.source_ip ? req->caller.source_ip : "");
	/* The routes see the id the caller gets in x-amzn-RequestId: API Gateway's
	 * requestContext.requestId, or Lambda's when the event has none. */
	if (!req->request_id)
		req->request_id = strdup(inv->request_id);
	if (!req->request_id || router_handle(&rt->ctx, req, &resp)) {
		report_error(rt, inv, ERRTYPE_NOMEM, "out of memory answering the request", out, f);
		goto out;
	}
	out->route = resp.route;
	out->status = resp.status;
	if (resp.error.code != 0)
		log_route_error(&resp);
	if (event_format_response(ev->format, &resp, &doc, &e)) {
		report_error(rt, inv, e.code == ERR_NOMEM ? ERRTYPE_NOMEM : ERRTYPE_TOO_LARGE,
		             e.message, out, f);
		goto out;
	}
	report_response(rt, inv, &doc, out, f);
out:
	buf_free(&doc);
	router_response_free(&resp);
}

/* Schedules, notifications and the log search job: lambda/dispatch.c's table. */
static void handle_workflow(struct runtime *rt, const struct invocation *inv,
                            const struct event *ev, struct outcome *out, struct fatal *f)
{
	struct dispatch_outcome o;
	struct err e;

	err_clear(&e);
	dispatch_outcome_init(&o);
	if (dispatch_event(&rt->ctx, ev, &o, &e) == 0) {
		out->status = 200;
		report_response(rt, inv, &o.answer, out, f);
	} else {
		/* the whole message (a backup's report) in the log; /error gets its start */
		const char *name = o.workflow ? o.workflow : event_kind_name(ev->kind);

		log_fields_new(LOG_ERROR, json_pack("{s:s}", "workflow", name), "%s failed: %s",
		               name, e.message);
		report_error(rt, inv, o.error_type, e.message, out, f);
	}
	if (o.workflow)
		out->route = o.workflow;
	dispatch_outcome_free(&o);
}

/* The one dispatch on what kind of event arrived. */
static void handle_event(struct runtime *rt, const struct invocation *inv, struct outcome *out,
                         struct fatal *f)
{
	const struct http_response *next = &inv->next;
	struct event ev;
	struct err e;

	err_clear(&e);
	rt->ctx.deadline_ms = inv->deadline_ms > 0 ? (int64_t)inv->deadline_ms : 0;
	rt->ctx.invoked_function_arn = inv->function_arn; /* borrowed from next's headers */
	if (event_parse(next->body.data ? next->body.data : "", next->body.len, &ev, &e)) {
		out->route = "invalid-event";
		report_error(rt, inv, e.code == ERR_NOMEM ? ERRTYPE_NOMEM : ERRTYPE_INVALID_EVENT,
		             e.message, out, f);
		goto out;
	}
	out->route = event_kind_name(ev.kind);
	if (ev.kind == EVENT_HTTP)
		log_context_set_api_request_id(ev.request.request_id);
	switch (ev.kind) {
	case EVENT_HTTP:
		handle_http(rt, inv, &ev, out, f);
		break;
	default:
		handle_workflow(rt, inv, &ev, out, f);
		break;
	}
out:
	rt->ctx.invoked_function_arn = NULL;
	event_free(&ev);
}

/* The summary line: message "invocation", level ERROR when an error type was reported. */
static void log_invocation(const struct invocation *inv, const struct outcome *out)
{
	json_t *fields = json_pack("{s:s?, s:s?, s:i, s:f}", "route", out->route, "method",
	                           out->method[0] ? out->method : NULL, "status", out->status,
	                           "duration_ms", monotime_elapsed_ms(&inv->start));

	if (fields && out->error)
		json_object_set_new(fields, "error", json_string(out->error));
	/* Who called an HTTP route: API Gateway's key id, or the IAM signer. */
	if (fields && out->api_key_id[0])
		json_object_set_new(fields, "api_key_id", json_string(out->api_key_id));
	if (fields && out->caller_arn[0])
		json_object_set_new(fields, "caller_arn", json_string(out->caller_arn));
	if (fields && out->source_ip[0])
		json_object_set_new(fields, "source_ip", json_string(out->source_ip));
	log_fields_new(out->error ? LOG_ERROR : LOG_INFO, fields, "invocation");
}

/* Waits for the next invocation; 0, or non-zero with f set. */
static int next_invocation(struct runtime *rt, struct invocation *inv, struct fatal *f)
{
	struct http_request req = {0};
	const char *deadline, *trace;
	struct err e;
	int rc;

	err_clear(&e);
	req.method = "GET";
	req.url = rt->url_next;
	req.timeout_ms = -1; /* an invocation may be hours away */
	rc = api_send(rt, &req, &inv->next, &e);
	if (rc) {
		f->set = 1;
		f->level = LOG_ERROR;
		snprintf(f->message, sizeof(f->message), "GET /next failed: %.400s", e.message);
		return -1;
	}
	if (inv->next.status != 200) {
		f->set = 1;
		/* a 500: the container is going away (see the top of the file) */
		f->level = inv->next.status >= 500 ? LOG_WARN : LOG_ERROR;
		snprintf(f->message, sizeof(f->message), "the Runtime API answered %ld to /next",
		         inv->next.status);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &inv->start);
	inv->request_id = http_response_header(&inv->next, "Lambda-Runtime-Aws-Request-Id");
	inv->function_arn = http_response_header(&inv->next, "Lambda-Runtime-Invoked-Function-Arn");
	deadline = http_response_header(&inv->next, "Lambda-Runtime-Deadline-Ms");
	inv->deadline_ms = deadline ? strtoll(deadline, NULL, 10) : 0;
	trace = http_response_header(&inv->next, "Lambda-Runtime-Trace-Id");
	inv->trace_id = trace && *trace ? trace : NULL;
	if (inv->trace_id)
		setenv("_X_AMZN_TRACE_ID", trace, 1);
	else
		unsetenv("_X_AMZN_TRACE_ID");
	log_context_set(inv->request_id, NULL, inv->trace_id);
	return 0;
}

static void runtime_free(struct runtime *rt)
{
	aws_client_free(rt->ctx.aws);
	lookup_cache_free(rt->ctx.lookup_cache);
	http_client_free(rt->http);
	free(rt->url_next);
	free(rt->url_invocation);
	free(rt->url_init_error);
	memset(rt, 0, sizeof(*rt));
}

/* Tells Lambda init failed (best effort), then frees and returns 1 for exit(). */
static int init_failed(struct runtime *rt, const char *message)
{
	log_msg(LOG_ERROR, "init failed: %s", message);
	if (rt->http && rt->url_init_error)
		post_error_to(rt, rt->url_init_error, ERRTYPE_INIT, message, NULL);
	runtime_free(rt);
	http_global_cleanup();
	return 1;
}

/*
 * NOTIFY_TZ needs zone files. When the system has none (an empty root, or a
 * runtime image without tzdata), use the table of POSIX rules the zip
 * carries beside bootstrap ($LAMBDA_TASK_ROOT/zone-rules.txt, see
 * scripts/package.sh): EBSSH_ZONE_RULES. Before any thread starts, so
 * setenv is safe.
 */
static void use_bundled_zone_rules(void)
{
	const char *root = getenv("LAMBDA_TASK_ROOT");
	const char *dir = getenv("TZDIR");
	char path[512], probe[600];

	snprintf(probe, sizeof(probe), "%s/UTC", dir && *dir ? dir : "/usr/share/zoneinfo");
	if (getenv("EBSSH_ZONE_RULES") || access(probe, R_OK) == 0 || !root || !*root)
		return;
	snprintf(path, sizeof(path), "%s/zone-rules.txt", root);
	if (access(path, R_OK) == 0)
		setenv("EBSSH_ZONE_RULES", path, 1);
}

int main(int argc, char **argv)
{
	struct runtime rt;
	struct err e;
	struct fatal f = {0};
	const char *host = getenv("AWS_LAMBDA_RUNTIME_API");

	/* Lambda runs bootstrap with no argument; --version is for people. */
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		puts("bootstrap " EBSSH_VERSION);
		http_version_print(stdout, 1);
		return 0;
	}
	memset(&rt, 0, sizeof(rt));
	rt.ctx.aws_get = door_aws_new;
	use_bundled_zone_rules();
	err_clear(&e);
	if (!host || !*host) {
		log_msg(LOG_ERROR,
		        "AWS_LAMBDA_RUNTIME_API is not set (run me as a Lambda runtime)");
		return 1;
	}
	if (http_global_init(&e)) {
		log_msg(LOG_ERROR, "init failed: %s", e.message);
		return 1;
	}
	rt.url_next = url_of(host, "invocation/next");
	rt.url_invocation = url_of(host, "invocation/");
	rt.url_init_error = url_of(host, "init/error");
	if (!rt.url_next || !rt.url_invocation || !rt.url_init_error)
		return init_failed(&rt, "out of memory");
	rt.http = http_client_new(&e);
	if (!rt.http)
		return init_failed(&rt, e.message);
	/* The configuration once, checked: a bad value is an init error. */
	if (service_config_init(&e))
		return init_failed(&rt, e.message);
	/* The container's lookup cache: warm invocations share it. */
	rt.ctx.lookup_cache = door_lookup_cache_new(&e);
	if (!rt.ctx.lookup_cache)
		return init_failed(&rt, e.message);
	/* The AWS client now, so that a missing region is an init error. */
	if (!service_aws(&rt.ctx, &e)) {
		err_prefix(&e, "AWS client");
		return init_failed(&rt, e.message);
	}
	/* Which release runs (util/version.h). */
	log_fields_new(LOG_INFO, json_pack("{s:s}", "version", EBSSH_VERSION),
	               "ebssh " EBSSH_VERSION " started");

	while (!f.set) {
		struct invocation inv = {0};
		struct outcome out = {0};

		http_response_init(&inv.next);
		if (next_invocation(&rt, &inv, &f) == 0) {
			if (inv.request_id && *inv.request_id) {
				handle_event(&rt, &inv, &out, &f);
				log_invocation(&inv, &out);
			} else {
				log_msg(LOG_WARN, "/next answered without a request id");
			}
			log_context_clear();
		}
		http_response_free(&inv.next);
	}
	log_msg(f.level, "%s; exiting", f.message);
	runtime_free(&rt);
	http_global_cleanup();
	return 1;
}
