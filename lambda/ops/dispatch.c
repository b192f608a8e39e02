/* dispatch: the non-HTTP events' workflows; see dispatch.h. */
#include "dispatch.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "backup_queue.h"
#include "../config.h"
#include "deploy_hook.h"
#include "logsearch.h"
#include "notify.h"
#include "s3_backup.h"
#include "storage.h"

void dispatch_outcome_init(struct dispatch_outcome *o)
{
	o->workflow = NULL;
	o->error_type = NULL;
	buf_init(&o->answer, 0);
}

void dispatch_outcome_free(struct dispatch_outcome *o)
{
	buf_free(&o->answer);
}

/* Fails the outcome with type; returns the code. */
static int fail(struct dispatch_outcome *o, const char *type, int rc)
{
	o->error_type = rc == ERR_NOMEM ? "Runtime.OutOfMemory" : type;
	return rc;
}

/* The summary answer: {"workflow": ..., key: n}. */
static int summary(struct dispatch_outcome *o, const char *key, json_int_t n, struct err *e)
{
	json_t *doc = key ? json_pack("{s:s, s:I}", "workflow", o->workflow, key, n)
	                  : json_pack("{s:s, s:b}", "workflow", o->workflow, "ok", 1);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int rc = text ? buf_append_str(&o->answer, text) : ERR_NOMEM;

	free(text);
	json_decref(doc);
	if (rc)
		return fail(o, NULL, err_set(e, ERR_NOMEM, "out of memory"));
	return 0;
}

/* The answer (or the error) of a report document. */
static int report(struct dispatch_outcome *o, json_t *doc, int failed, struct err *e)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	int rc = 0;

	if (text && failed)
		rc = fail(o, "Function.BackupFailed", err_set(e, ERR_AWS, "%s", text));
	else if (!text || buf_append_str(&o->answer, text) || buf_append_str(&o->answer, "\n"))
		rc = fail(o, NULL, err_set(e, ERR_NOMEM, "out of memory"));
	free(text);
	return rc;
}

/* The scheduled run with a queue: one work item per instance. It fails when
 * an item could not be queued or the time ran out (Lambda retries the event:
 * the items of the same run's time are idempotent). */
static int fan_out(struct service_context *ctx, const struct backup_opts *opts,
                   struct dispatch_outcome *o, struct err *e)
{
	struct backup_fanout f;
	int rc;

	rc = backup_queue_fanout(ctx, opts, service_config_get().backup_queue_url, &f, e);
	if (rc)
		return fail(o, "Function.BackupFailed", rc);
	rc = report(o, f.doc, f.not_queued || f.partial, e);
	backup_fanout_free(&f);
	return rc;
}

/* One SQS batch of work items: Lambda's partial batch response; the
 * invocation succeeds once it is produced. */
static int consume(struct service_context *ctx, const struct event *ev, struct dispatch_outcome *o,
                   struct err *e)
{
	json_t *answer = NULL;
	size_t n_failed;
	int rc;

	rc = backup_queue_consume(ctx, ev, &answer, &n_failed, e);
	if (rc)
		return fail(o, "Function.BackupFailed", rc);
	rc = report(o, answer, 0, e);
	json_decref(answer);
	return rc;
}

/* The scheduled AMI backup: it fails when the run did not start or any
 * instance failed; the report then becomes the error message (Lambda keeps
 * it with the failed event) so that the function's Errors alarm fires. */
static int run_backup(struct service_context *ctx, const struct event *ev,
                      struct dispatch_outcome *o, struct err *e)
{
	const char *time = json_string_value(json_object_get(ev->json, "time"));
	struct backup_opts opts;
	struct backup_report rep;
	char *text = NULL;
	int rc;

	backup_opts_scheduled(&opts, time);
	if (service_config_get().backup_queue_url)
		return fan_out(ctx, &opts, o, e);
	rc = backup_run(ctx, &opts, &rep, e);
	if (rc)
		return fail(o, "Function.BackupFailed", rc);
	text = json_dumps(rep.doc, JSON_COMPACT);
	if (text && (rep.failed || rep.partial))
		rc = fail(o, "Function.BackupFailed", err_set(e, ERR_AWS, "%s", text));
	else if (!text || buf_append_str(&o->answer, text) || buf_append_str(&o->answer, "\n"))
		rc = fail(o, NULL, err_set(e, ERR_NOMEM, "out of memory"));
	free(text);
	backup_report_free(&rep);
	return rc;
}

/* S3 notifications: the streamed copies to GCS. A failed record fails the
 * invocation (Lambda retries, then the retry topic); an SQS batch answers
 * Lambda's partial batch response instead. */
static int s3_gcs(struct service_context *ctx, const struct event *ev, struct dispatch_outcome *o,
                  struct err *e)
{
	json_t *doc = NULL;
	size_t failed = 0;
	int rc, via_sqs;

	rc = s3_backup_run(ctx, ev, &doc, &failed, e);
	if (rc)
		return fail(o, "Function.S3BackupFailed", rc);
	via_sqs = json_object_get(doc, "batchItemFailures") != NULL;
	rc = report(o, doc, failed && !via_sqs, e);
	if (rc && o->error_type && strcmp(o->error_type, "Function.BackupFailed") == 0)
		o->error_type = "Function.S3BackupFailed";
	json_decref(doc);
	return rc;
}

static int is_logsearch_job(const struct event *ev)
{
	return ev->source && strcmp(ev->source, LOGSEARCH_EVENT_SOURCE) == 0 && ev->detail_type &&
	       strcmp(ev->detail_type, LOGSEARCH_EVENT_TYPE) == 0;
}

int dispatch_event(struct service_context *ctx, const struct event *ev, struct dispatch_outcome *o,
                   struct err *e)
{
	int rc;

	switch (ev->kind) {
	case EVENT_SCHEDULED:
		if (backup_rule_matches(ev->rule_name)) {
			o->workflow = "ami-backup";
			return run_backup(ctx, ev, o, e);
		}
		if (storage_is_rule(ev->rule_name)) {
			o->workflow = "lambda-storage";
			rc = storage_scheduled(ctx, e);
			return rc ? fail(o, "Function.StorageReportFailed", rc)
			          : summary(o, NULL, 0, e);
		}
		return fail(o, "Function.UnsupportedEvent",
		            err_set(e, ERR_INVALID,
		                    "no workflow for the scheduled rule '%s': a rule name "
		                    "ends in ami-backup or lambda-storage",
		                    ev->rule_name ? ev->rule_name : "(none)"));
	case EVENT_CODEPIPELINE:
	case EVENT_LOGS:
		o->workflow = ev->kind == EVENT_LOGS ? "logs-notify" : "codepipeline-notify";
		rc = ev->kind == EVENT_LOGS ? notify_logs_event(ctx, ev, e)
		                            : notify_codepipeline_event(ctx, ev, e);
		return rc < 0 ? fail(o, "Function.NotifyFailed", rc) : summary(o, "posted", rc, e);
	case EVENT_EVENTBRIDGE:
		if (is_logsearch_job(ev)) {
			o->workflow = "logsearch";
			rc = logsearch_job_event(ctx, ev->json, e);
			return rc ? fail(o, "Function.LogSearchFailed", rc)
			          : summary(o, NULL, 0, e);
		}
		return fail(o, "Function.UnsupportedEvent",
		            err_set(e, ERR_INVALID,
		                    "no workflow for EventBridge events of source '%s'",
		                    ev->source ? ev->source : "(none)"));
	case EVENT_SQS:
		o->workflow = BACKUP_QUEUE_WORKFLOW;
		return consume(ctx, ev, o, e);
	case EVENT_S3:
		o->workflow = S3_BACKUP_WORKFLOW;
		return s3_gcs(ctx, ev, o, e);
	case EVENT_CODEDEPLOY_HOOK:
		o->workflow = "pre-traffic";
		rc = deploy_hook_run(ctx, ev->deployment_id, ev->hook_execution_id, &o->answer, e);
		return rc ? fail(o, "Function.PreTrafficHookFailed", rc) : 0;
	default:
		return fail(o, "Function.UnsupportedEvent",
		            err_set(e, ERR_INVALID, "no workflow for this kind of event"));
	}
}
