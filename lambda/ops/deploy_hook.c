/* deploy_hook: the CodeDeploy pre-traffic hook; see deploy_hook.h. */
#include "deploy_hook.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../aws/codedeploy.h"
#include "../../aws/lambda.h"
#include "../../util/b64.h"
#include "../config.h"
#include "../log.h"

#define MIN_REPORT_MS 1000L /* the report's floor, even past the deadline's margin */

int deploy_hook_event(const char *path, const char *resource, const char *env,
                      const char *request_id, struct buf *out, struct err *e)
{
	json_t *doc, *params = env ? json_pack("{s:s}", "env", env) : json_null();
	char *text = NULL;
	int rc = ERR_NOMEM;

	doc = params ? json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:[s], s:[s]}, s:n, s:n, s:O, "
	                         "s:n, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}, "
	                         "s:n, s:b}",
	                         "resource", resource, "path", path, "httpMethod", "GET", "headers",
	                         "Accept", "*/*", "User-Agent", "ebssh-pre-traffic",
	                         "multiValueHeaders", "Accept", "*/*", "User-Agent",
	                         "ebssh-pre-traffic", "queryStringParameters",
	                         "multiValueQueryStringParameters", "pathParameters", params,
	                         "stageVariables", "requestContext", "resourcePath", resource,
	                         "httpMethod", "GET", "path", path, "stage", DEPLOY_HOOK_STAGE,
	                         "requestId", request_id, "protocol", "HTTP/1.1", "resourceId",
	                         "pre-traffic", "identity", "sourceIp", "127.0.0.1", "userAgent",
	                         "ebssh-pre-traffic", "body", "isBase64Encoded", 0)
	             : NULL;
	json_decref(params);
	if (doc)
		text = json_dumps(doc, JSON_COMPACT);
	if (text)
		rc = buf_append_str(out, text);
	free(text);
	json_decref(doc);
	return rc ? err_set(e, rc, "out of memory") : 0;
}

/* The start of s, printable ASCII only, quoted into out. */
static void shown(const char *s, size_t len, char *out, size_t size)
{
	size_t i, n = len < DEPLOY_HOOK_SHOWN_BODY ? len : DEPLOY_HOOK_SHOWN_BODY;
	size_t j = 0;

	for (i = 0; i < n && j + 1 < size; i++)
		out[j++] = (char)(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : (s[i] == '\n' ? '|' : '?'));
	if (i < len && j + 4 < size) {
		memcpy(out + j, "...", 3);
		j += 3;
	}
	out[j] = '\0';
}

/* Every line of body an IP address, at least one; the count, or -1. */
static long count_ips(const char *body, size_t len)
{
	char line[64];
	unsigned char addr[16];
	size_t i = 0, start;
	long n = 0;

	while (i < len) {
		start = i;
		while (i < len && body[i] != '\n')
			i++;
		if (i - start >= sizeof(line))
			return -1;
		memcpy(line, body + start, i - start);
		line[i - start] = '\0';
		if (i - start && line[i - start - 1] == '\r')
			line[i - start - 1] = '\0';
		i++;
		if (!line[0])
			continue;
		if (inet_pton(AF_INET, line, addr) != 1 && inet_pton(AF_INET6, line, addr) != 1)
			return -1;
		n++;
	}
	return n ? n : -1;
}

int deploy_hook_check_answer(const char *payload, size_t len, const char *function_error,
                             int want_ips, long *status, size_t *n_ips, char *why, size_t why_size)
{
	char seen[DEPLOY_HOOK_SHOWN_BODY + 8];
	json_t *root, *code, *body;
	unsigned char *decoded = NULL;
	const char *text = "";
	size_t text_len = 0;
	long ips;
	int ok = 0;

	*status = 0;
	if (n_ips)
		*n_ips = 0;
	shown(payload ? payload : "", payload ? len : 0, seen, sizeof(seen));
	if (function_error) {
		snprintf(why, why_size, "the function failed (FunctionError %s): %s",
		         function_error, seen);
		return 0;
	}
	root = json_loadb(payload ? payload : "", payload ? len : 0, 0, NULL);
	code = json_object_get(root, "statusCode");
	if (!json_is_object(root) || !json_is_integer(code)) {
		snprintf(why, why_size, "the answer is not an API Gateway proxy answer: %s", seen);
		goto out;
	}
	*status = (long)json_integer_value(code);
	body = json_object_get(root, "body");
	if (json_is_string(body)) {
		text = json_string_value(body);
		text_len = json_string_length(body);
		if (json_is_true(json_object_get(root, "isBase64Encoded"))) {
			if (b64_decode(text, text_len, 0, (size_t)6 << 20, &decoded, &text_len,
			               NULL)) {
				snprintf(why, why_size, "status %ld with a body that is not base64",
				         *status);
				goto out;
			}
			text = (const char *)decoded;
		}
	}
	shown(text, text_len, seen, sizeof(seen));
	if (*status != 200) {
		snprintf(why, why_size, "status %ld, body: %s", *status, seen);
		goto out;
	}
	if (want_ips) {
		ips = count_ips(text, text_len);
		if (ips < 0) {
			snprintf(why, why_size, "status 200 but the body is not IP addresses: %s",
			         seen);
			goto out;
		}
		if (n_ips)
			*n_ips = (size_t)ips;
	}
	snprintf(why, why_size, "status 200");
	ok = 1;
out:
	free(decoded);
	json_decref(root);
	return ok;
}

static int64_t now_ms(struct service_context *ctx)
{
	struct timespec ts;

	if (ctx->clock_ms)
		return ctx->clock_ms(ctx);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What one check may spend: the time to the deadline less the report's margin. */
static long check_budget_ms(struct service_context *ctx)
{
	int64_t left;

	if (ctx->deadline_ms <= 0)
		return DEPLOY_HOOK_INVOKE_MS;
	left = ctx->deadline_ms - now_ms(ctx) - SERVICE_DEADLINE_MARGIN_MS;
	if (left <= 0)
		return 0;
	return left < DEPLOY_HOOK_INVOKE_MS ? (long)left : DEPLOY_HOOK_INVOKE_MS;
}

static long report_budget_ms(struct service_context *ctx)
{
	int64_t left;

	if (ctx->deadline_ms <= 0)
		return 0; /* the client's own bounds */
	left = ctx->deadline_ms - now_ms(ctx) - 200;
	return left > MIN_REPORT_MS ? (long)(left < 10000 ? left : 10000) : MIN_REPORT_MS;
}

/* One check: invokes the target with GET path and judges the answer. Adds
 * {"check", "path", "status", "ok", ...} to checks; 1 passed, 0 failed, <0
 * out of memory. why gets a sentence on failure. */
static int run_check(struct service_context *ctx, struct aws_client *aws, const char *target,
                     const char *name, const char *path, const char *resource, const char *env,
                     const char *request_id, json_t *checks, char *why, size_t why_size)
{
	struct lambda_invoke_result r;
	struct buf event;
	struct err e;
	long status = 0, budget = check_budget_ms(ctx);
	size_t n_ips = 0;
	json_t *item;
	int ok = 0, rc;

	err_clear(&e);
	buf_init(&event, 0);
	lambda_invoke_result_init(&r);
	rc = deploy_hook_event(path, resource, env, request_id, &event, &e);
	if (rc)
		goto out;
	if (budget <= 0) {
		snprintf(why, why_size, "no time left before the invocation's deadline");
	} else {
		rc = lambda_invoke_sync(aws, target, NULL, event.data, event.len, budget, &r, &e);
		if (rc == ERR_NOMEM)
			goto out;
		if (rc)
			snprintf(why, why_size, "Invoke failed: %.400s", e.message);
		else
			ok = deploy_hook_check_answer(r.payload.data, r.payload.len,
			                              r.function_error, env != NULL, &status,
			                              &n_ips, why, why_size);
		rc = 0;
	}
	item = json_pack("{s:s, s:s, s:i, s:b}", "check", name, "path", path, "status", (int)status,
	                 "ok", ok);
	if (item && r.function_error)
		json_object_set_new(item, "function_error", json_string(r.function_error));
	if (item && env && ok)
		json_object_set_new(item, "addresses", json_integer((json_int_t)n_ips));
	if (item && !ok)
		json_object_set_new(item, "error", json_string(why));
	if (!item || json_array_append_new(checks, item))
		rc = ERR_NOMEM;
out:
	lambda_invoke_result_free(&r);
	buf_free(&event);
	return rc ? rc : ok;
}

int deploy_hook_run(struct service_context *ctx, const char *deployment_id,
                    const char *execution_id, struct buf *answer, struct err *e)
{
	struct service_config cfg = service_config_get();
	enum codedeploy_hook_status verdict = CODEDEPLOY_FAILED;
	char why[512], path[64], request_id[CODEDEPLOY_MAX_ID + 32];
	struct aws_client *aws;
	struct err report_err;
	json_t *doc = NULL, *checks = json_array();
	char *text = NULL;
	int rc = 0, ok;

	snprintf(why, sizeof(why), "not run");
	snprintf(request_id, sizeof(request_id), DEPLOY_HOOK_REQUEST_PREFIX "%s", execution_id);
	aws = service_aws(ctx, e);
	if (!aws) {
		json_decref(checks);
		err_prefix(e, "pre-traffic: cannot report to CodeDeploy");
		return e && e->code < 0 ? e->code : ERR_INTERNAL;
	}
	if (!checks)
		goto nomem;
	if (!cfg.hook_target) {
		snprintf(why, sizeof(why),
		         "EBSSH_HOOK_TARGET is not set: the hook has no version "
		         "to test");
	} else {
		ok = run_check(ctx, aws, cfg.hook_target, "health", "/health", "/health", NULL,
		               request_id, checks, why, sizeof(why));
		if (ok < 0)
			goto nomem;
		if (ok && cfg.hook_environment) {
			snprintf(path, sizeof(path), "/eb/%s/ip", cfg.hook_environment);
			ok = run_check(ctx, aws, cfg.hook_target, "lookup", path, "/eb/{env}/ip",
			               cfg.hook_environment, request_id, checks, why, sizeof(why));
			if (ok < 0)
				goto nomem;
		} else if (ok) {
			json_t *skip = json_pack("{s:s, s:s}", "check", "lookup", "skipped",
			                         "EBSSH_HOOK_ENVIRONMENT is not set");
			if (!skip || json_array_append_new(checks, skip))
				goto nomem;
		}
		if (ok)
			verdict = CODEDEPLOY_SUCCEEDED;
	}
	doc = json_pack("{s:s, s:s, s:s, s:s?, s:O}", "workflow", "pre-traffic", "deployment_id",
	                deployment_id, "status", codedeploy_status_name(verdict), "target",
	                cfg.hook_target, "checks", checks);
	if (!doc)
		goto nomem;
	if (verdict == CODEDEPLOY_FAILED &&
	    json_object_set_new(doc, "reason", json_string(why)) != 0)
		goto nomem;
	err_clear(&report_err);
	rc = codedeploy_put_hook_status(aws, deployment_id, execution_id, verdict,
	                                report_budget_ms(ctx), &report_err);
	if (rc) {
		if (e)
			*e = report_err;
		err_prefix(e, "pre-traffic: the verdict %s%s%s could not be reported to CodeDeploy",
		           codedeploy_status_name(verdict),
		           verdict == CODEDEPLOY_FAILED ? " - " : "",
		           verdict == CODEDEPLOY_FAILED ? why : "");
		goto done;
	}
	text = json_dumps(doc, JSON_COMPACT);
	if (!text || buf_append_str(answer, text))
		goto nomem;
	/* The answer of a hook invoked asynchronously is kept nowhere: log it. */
	log_fields_new(verdict == CODEDEPLOY_SUCCEEDED ? LOG_INFO : LOG_ERROR, json_incref(doc),
	               "pre-traffic verdict %s", codedeploy_status_name(verdict));
	if (!cfg.hook_target)
		rc = err_set(e, ERR_INVALID,
		             "pre-traffic: EBSSH_HOOK_TARGET is not set: the hook has no version "
		             "to test (Failed was reported to CodeDeploy)");
	goto done;
nomem:
	rc = err_set(e, ERR_NOMEM, "out of memory");
done:
	free(text);
	json_decref(doc);
	json_decref(checks);
	return rc;
}
