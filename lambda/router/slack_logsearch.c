/*
 * POST /slack/logsearch: the /logsearch slash command. In order, before
 * any AWS call: the signature (401 InvalidSignature), the replay cache
 * (401 Replayed; 503 Busy when full), the form (400), the team and the
 * channel against SLACK_TEAM_IDS and SLACK_CHANNEL_IDS, the command's text
 * and the function against LOGSEARCH_FUNCTIONS (the last three refused
 * with an ephemeral message saying which rule). The answer is at once an
 * ephemeral "searching" message, and the search runs as a job
 * (lambda/ops/logsearch.h) that posts to the command's response_url.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../aws/lambda.h"
#include "../ops/logsearch.h"
#include "routes.h"
#include "../ops/slack.h"
#include "../../util/namelist.h"
#include "../config.h"
#include "../log.h"

/* 200 with an ephemeral message: how Slack shows the user a problem too. */
static int ephemeral(struct router_response *resp, const char *text)
{
	json_t *msg = json_pack("{s:s, s:s}", "response_type", "ephemeral", "text", text);
	char *body = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	int rc = ERR_NOMEM;

	json_decref(msg);
	if (body)
		rc = buf_append_str(&resp->body, body);
	free(body);
	return rc ? ERR_NOMEM : router_answer(resp, 200, ROUTER_JSON);
}

/* On Lambda: the job as an asynchronous invocation of this very function,
 * by the ARN it was invoked as (so through the alias "live" and its invoke
 * config), else by its name. */
static int invoke_self(struct service_context *ctx, const struct logsearch_job *job, struct err *e)
{
	const char *self = ctx->invoked_function_arn && *ctx->invoked_function_arn
	                       ? ctx->invoked_function_arn
	                       : service_config_get().function_name;
	char *payload;
	int rc;

	if (!self || !*self)
		return err_set(e, ERR_INVALID, "no AWS_LAMBDA_FUNCTION_NAME and no worker threads");
	if (!service_aws(ctx, e))
		return e->code;
	payload = logsearch_job_payload(job);
	if (!payload)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = lambda_invoke_event(ctx->aws, self, payload, strlen(payload), e);
	free(payload);
	return rc;
}

/* NULL when the team and channel of the form may use the command, else the
 * ephemeral text that says why not (and a warning line in the log). */
static const char *refused_by_allow_list(const struct slack_form *form)
{
	const struct service_config c = service_config_get();
	const char *team = slack_form_get(form, "team_id");
	const char *channel = slack_form_get(form, "channel_id");
	const char *why = NULL;

	if (!c.slack_team_ids)
		why = "This ebssh answers no Slack workspace: SLACK_TEAM_IDS is not set.";
	else if (!namelist_match(c.slack_team_ids, team))
		why = "This Slack workspace is not one SLACK_TEAM_IDS allows.";
	else if (c.slack_channel_ids && !namelist_match(c.slack_channel_ids, channel))
		why = "/logsearch is not allowed in this channel (SLACK_CHANNEL_IDS).";
	if (why)
		log_fields_new(LOG_WARN,
		               json_pack("{s:s?, s:s?}", "team_id", team, "channel_id", channel),
		               "Slack command refused: %s", why);
	return why;
}

int routes_slack_logsearch(struct service_context *ctx, const struct router_request *req,
                           const struct route_args *args, struct router_response *resp)
{
	char function[LAMBDA_MAX_NAME + 1], rid[LOGSEARCH_MAX_ID + 1], text[700];
	const char *secret = service_config_get().slack_signing_secret, *url, *why;
	char *functions = NULL;
	struct slack_form form = {NULL, 0};
	struct logsearch_job *job = NULL;
	int64_t start_ms, end_ms;
	struct err e;
	int rc;

	(void)args;
	err_clear(&e);
	if (!secret || !*secret)
		return router_error(resp, 503, "NotConfigured",
		                    "SLACK_SIGNING_SECRET is not set: Slack commands are off");
	if (slack_verify(secret, router_header(req, "X-Slack-Request-Timestamp"),
	                 router_header(req, "X-Slack-Signature"), req->body, req->body_len,
	                 time(NULL), &e) != 0) {
		rc = router_error(resp, 401, "InvalidSignature", "%s", e.message);
		resp->error = e;
		return rc;
	}
	/* Only verified signatures are recorded: a forger cannot fill the table. */
	rc = slack_replay_check(slack_replay_shared(),
	                        router_header(req, "X-Slack-Request-Timestamp"),
	                        router_header(req, "X-Slack-Signature"), time(NULL), &e);
	if (rc == ERR_TOO_LARGE)
		return router_error(resp, 503, "Busy", "%s", e.message);
	if (rc) {
		rc = router_error(resp, 401, "Replayed", "%s", e.message);
		resp->error = e;
		return rc;
	}
	if (slack_form_parse(req->body, req->body_len, &form, &e) != 0)
		return router_error(resp, 400, "InvalidRequest", "%s", e.message);
	why = refused_by_allow_list(&form);
	if (why) {
		slack_form_free(&form);
		return ephemeral(resp, why);
	}
	url = slack_form_get(&form, "response_url");
	if (slack_check_url(url, 1, &e) != 0) {
		slack_form_free(&form);
		return router_error(resp, 400, "InvalidRequest", "%s", e.message);
	}
	if (logsearch_parse_command(slack_form_get(&form, "text"), function, sizeof(function), rid,
	                            sizeof(rid), &e) != 0) {
		slack_form_free(&form);
		snprintf(text, sizeof(text),
		         "%s\nUsage: `/logsearch <request id>` (every function this stack allows) "
		         "or `/logsearch <function> <request id>`",
		         e.message);
		return ephemeral(resp, text);
	}
	if (*function)
		rc = logsearch_allowed(function, &e);
	else
		rc = logsearch_allowed_names(&functions, &e);
	if (rc == ERR_NOMEM) {
		slack_form_free(&form);
		return rc;
	}
	if (rc) {
		slack_form_free(&form);
		return ephemeral(resp, e.message);
	}
	logsearch_window(NULL, NULL, time(NULL), &start_ms, &end_ms, &e);
	job = logsearch_job_new(*function ? function : functions, rid, url, start_ms, end_ms);
	slack_form_free(&form);
	if (!job) {
		free(functions);
		return ERR_NOMEM;
	}
	if (ctx->run_async) {
		rc = ctx->run_async(ctx, logsearch_job_main, job, logsearch_job_free);
		if (rc) {
			logsearch_job_free(job);
			free(functions);
			return router_error(resp, 503, "Busy",
			                    "too many searches are running; try again shortly");
		}
	} else {
		rc = invoke_self(ctx, job, &e);
		logsearch_job_free(job);
		if (rc)
			free(functions);
		if (rc == ERR_INVALID)
			return router_error(resp, 503, "NotConfigured", "%s", e.message);
		if (rc)
			return router_error_from(resp, &e);
	}
	if (*function)
		snprintf(text, sizeof(text),
		         "Searching the last 24 h of `/aws/lambda/%s` for request `%s`\xe2\x80\xa6",
		         function, rid);
	else
		snprintf(text, sizeof(text),
		         "Searching the last 24 h of the functions this stack allows (%.500s) for "
		         "request `%s`\xe2\x80\xa6",
		         functions, rid);
	free(functions);
	return ephemeral(resp, text);
}
