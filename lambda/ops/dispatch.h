/*
 * dispatch: what the function does with the events that are not HTTP
 * requests — the one table from an event to its workflow.
 *
 *   EventBridge "Scheduled Event", rule name ending in ami-backup   the AMI backup:
 *                                    with BACKUP_QUEUE_URL its fan-out (one work
 *                                    item per instance, backup_queue.h), else the
 *                                    whole run (backup_run)
 *   SQS batch (event source mapping) the work items, "ami-backup-item": Lambda's
 *                                    partial batch response {"batchItemFailures"}
 *   EventBridge "Scheduled Event", rule name ending in lambda-storage
 *                                                    the storage report's metric
 *   CodePipeline execution state change              a Slack notification
 *   CloudWatch Logs subscription                     a Slack notification
 *   EventBridge source "ebssh", "ebssh.logsearch"    the Slack log search job
 *                                                    (the function invoking itself)
 *   CodeDeploy lifecycle hook event                  the pre-traffic hook
 *                                                    (deploy_hook.h: "pre-traffic")
 *
 * Front doors (bootstrap, tests' drivers) call dispatch_event and turn its
 * outcome into Lambda's /response or /error.
 */
#ifndef EBSSH_LAMBDA_DISPATCH_H
#define EBSSH_LAMBDA_DISPATCH_H

#include "../../util/buf.h"
#include "../../util/err.h"
#include "../front/event.h"
#include "../service.h"

struct dispatch_outcome {
	const char *workflow;   /* static: "ami-backup", "lambda-storage", ... or NULL */
	const char *error_type; /* static Lambda error type when it failed, else NULL */
	struct buf answer;      /* owned: the JSON document answered on success */
};

void dispatch_outcome_init(struct dispatch_outcome *o);
void dispatch_outcome_free(struct dispatch_outcome *o);

/*
 * Runs the workflow of a non-HTTP event. 0: it succeeded and o->answer holds
 * a small JSON summary. Otherwise a negative code, e->message says why and
 * o->error_type is the Lambda error type to report: Function.UnsupportedEvent
 * (no workflow for this event), Function.BackupFailed,
 * Function.StorageReportFailed, Function.NotifyFailed,
 * Function.LogSearchFailed, Function.PreTrafficHookFailed (the status could
 * not be reported, or the hook has no target), Runtime.OutOfMemory.
 */
int dispatch_event(struct service_context *ctx, const struct event *ev, struct dispatch_outcome *o,
                   struct err *e);

#endif
