/*
 * ops_driver: drives the log search, Slack, storage and notification
 * workflows as the front doors do, for the integration tests.
 *
 *   ops_driver route METHOD PATH [-H 'Name: value']... [-q name=value]...
 *              [-d BODY | -f BODY_FILE] [--async] [--repeat N]
 *       One router_handle with a context whose AWS client is made on first
 *       use; --async gives it run_async (lambda/front/async.h, as ebssh-api would)
 *       and waits for the jobs before exiting. Prints one JSON object:
 *       {"status", "content_type", "route", "headers": {...}, "body"}.
 *       --repeat N: the same request N times in this one process (what a
 *       replay meets), one JSON object a line.
 *
 *   ops_driver event FILE
 *       The invocation payload in FILE ("-": stdin) through event_parse and
 *       the dispatch the runtime makes for the kinds of issues 7 and 8:
 *         EVENT_SCHEDULED, rule storage_is_rule()     storage_scheduled
 *         EVENT_CODEPIPELINE                          notify_codepipeline_event
 *         EVENT_LOGS                                  notify_logs_event
 *         EVENT_EVENTBRIDGE, source "ebssh",
 *           detail-type "ebssh.logsearch"             logsearch_job_event
 *       Prints {"kind", "handled": bool, "rc", "error": {...}|null}.
 *
 * Exit 0 when the call ran (whatever it answered), 1 when an event handler
 * failed, 2 on bad usage.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/http.h"
#include "lambda/front/async.h"
#include "lambda/ops/dispatch.h"
#include "lambda/front/event.h"
#include "lambda/ops/logsearch.h"
#include "lambda/ops/notify.h"
#include "lambda/router/router.h"
#include "lambda/ops/storage.h"

static struct aws_client *lazy_aws(struct service_context *ctx, struct err *e)
{
	if (!ctx->aws)
		ctx->aws = aws_client_new(e);
	return ctx->aws;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	struct buf b;
	char chunk[65536];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n) != 0)
			break;
	if (f != stdin)
		fclose(f);
	*len = b.len;
	return buf_take(&b);
}

static json_t *error_json(const struct err *e)
{
	if (!e->code)
		return json_null();
	return json_pack("{s:s, s:s, s:I, s:s}", "code", err_code_name(e->code), "aws_code",
	                 e->aws_code, "http_status", (json_int_t)e->http_status, "message",
	                 e->message);
}

static int usage(void)
{
	fputs("usage: ops_driver route METHOD PATH [-H 'N: v']... [-q n=v]... [-d BODY | -f FILE]"
	      " [--async] [--repeat N]\n       ops_driver event FILE\n",
	      stderr);
	return 2;
}

static int run_route(int argc, char **argv)
{
	struct service_context ctx = {0};
	struct router_request req;
	struct router_response resp;
	json_t *out, *headers;
	int i, async = 0, rc = 0, repeat = 1, round;
	size_t k;

	if (argc < 4)
		return usage();
	router_request_init(&req);
	router_response_init(&resp);
	req.method = strdup(argv[2]);
	req.path = strdup(argv[3]);
	req.request_id = strdup("ops-driver-request");
	req.caller.key = ROUTER_KEY_OPS; /* an operator holding the ops key */
	for (i = 4; i < argc && rc == 0; i++) {
		if (strcmp(argv[i], "--async") == 0) {
			async = 1;
		} else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
			repeat = atoi(argv[++i]);
			if (repeat < 1 || repeat > 100)
				rc = usage();
		} else if (strcmp(argv[i], "-H") == 0 && i + 1 < argc) {
			char *colon = strchr(argv[++i], ':');
			if (!colon) {
				rc = usage();
				break;
			}
			*colon = '\0';
			router_pair_add(&req.headers, &req.n_headers, argv[i],
			                colon[1] == ' ' ? colon + 2 : colon + 1);
		} else if (strcmp(argv[i], "-q") == 0 && i + 1 < argc) {
			char *eq = strchr(argv[++i], '=');
			if (!eq) {
				rc = usage();
				break;
			}
			*eq = '\0';
			router_pair_add(&req.query, &req.n_query, argv[i], eq + 1);
		} else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			free(req.body);
			req.body = strdup(argv[++i]);
			req.body_len = req.body ? strlen(req.body) : 0;
		} else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
			free(req.body);
			req.body = read_all(argv[++i], &req.body_len);
			if (!req.body)
				rc = usage();
		} else {
			rc = usage();
		}
	}
	if (rc)
		goto out;
	ctx.aws_get = lazy_aws;
	if (async)
		ctx.run_async = async_run;
	for (round = 0; round < repeat; round++) {
		if (round) {
			router_response_free(&resp);
			router_response_init(&resp);
		}
		rc = router_handle(&ctx, &req, &resp);
		headers = json_object();
		for (k = 0; k < resp.n_headers; k++)
			json_object_set_new(headers, resp.headers[k].name,
			                    json_string(resp.headers[k].value));
		out = json_pack("{s:i, s:s?, s:s?, s:o, s:o, s:o}", "status", resp.status,
		                "content_type", resp.content_type, "route", resp.route, "headers",
		                headers, "body",
		                json_stringn(resp.body.data ? resp.body.data : "", resp.body.len),
		                "error", error_json(&resp.error));
		if (out) {
			json_dumpf(out, stdout, JSON_COMPACT);
			putchar('\n');
			fflush(stdout);
		}
		json_decref(out);
	}
	if (async && async_drain(60000) != 0)
		fputs("ops_driver: jobs still running after 60 s\n", stderr);
	rc = rc == 0 ? 0 : 1;
out:
	router_response_free(&resp);
	router_request_free(&req);
	aws_client_free(ctx.aws);
	return rc;
}

/* The "posted" count of a workflow's answer, 0 when it has none. */
static int posted(const struct dispatch_outcome *o)
{
	json_t *doc = json_loads(buf_str(&o->answer), 0, NULL);
	int n = (int)json_integer_value(json_object_get(doc, "posted"));

	json_decref(doc);
	return n;
}

static int run_event(const char *path)
{
	struct service_context ctx = {0};
	struct dispatch_outcome o;
	struct event ev;
	struct err e;
	size_t len = 0;
	char *text = read_all(path, &len);
	int rc = 0, handled = 1;
	json_t *out;

	if (!text)
		return usage();
	err_clear(&e);
	ctx.aws_get = lazy_aws;
	dispatch_outcome_init(&o);
	rc = event_parse(text, len, &ev, &e);
	if (rc == 0 && ev.kind != EVENT_HTTP) {
		rc = dispatch_event(&ctx, &ev, &o, &e);
		handled = !o.error_type || strcmp(o.error_type, "Function.UnsupportedEvent") != 0;
		if (!handled)
			rc = 0;
		else if (rc == 0)
			rc = posted(&o); /* a notification's answer counts its messages */
	} else if (rc == 0) {
		handled = 0;
	}
	dispatch_outcome_free(&o);
	out = json_pack("{s:s, s:b, s:i, s:o}", "kind",
	                rc == 0 || ev.kind ? event_kind_name(ev.kind) : "", "handled", handled,
	                "rc", rc, "error", error_json(&e));
	if (out) {
		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
	}
	json_decref(out);
	event_free(&ev);
	aws_client_free(ctx.aws);
	free(text);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct err e;
	int rc;

	if (argc < 3)
		return usage();
	if (http_global_init(&e) != 0) {
		fprintf(stderr, "ops_driver: %s\n", e.message);
		return 2;
	}
	if (strcmp(argv[1], "route") == 0)
		rc = run_route(argc, argv);
	else if (strcmp(argv[1], "event") == 0 && argc == 3)
		rc = run_event(argv[2]);
	else
		rc = usage();
	http_global_cleanup();
	return rc;
}
