/*
 * backup_queue: the AMI backup at fleet scale, through an SQS work queue.
 *
 * The fan-out (backup_queue_fanout: the scheduled run and POST /backup/ami
 * when BACKUP_QUEUE_URL is set) lists the tagged fleet as backup_run does
 * (DescribeInstances: the tag key present, running or stopped; the tag "on"
 * in any case) and sends one work item per instance with SendMessageBatch
 * (aws/sqs.h, 10 a call), checking the invocation's deadline before each
 * call: what it could not send is reported, never silently dropped. An item
 * is the message body
 *
 *   {"v":1,"instance_id":"i-...","time":"2024-05-01T09:30:00Z",
 *    "on_demand":false,"reboot":false,"dry_run":false}
 *
 * whose time is the run's (it names the image: a retried run or a retried
 * item finds its image instead of making a second one, so an item sent
 * twice is harmless). The fan-out's report:
 *
 *   {"queued": n, "instances": [ids queued], "time": "20240501T0930Z",
 *    "tag_key": "backup", "fleet": N, "dry_run": false,
 *    "not_queued": [{"instance_id", "code", "message"}],   only when some failed
 *    "not_started": [ids], "partial": true,                only when the time ran out
 *    "code": "BackupQueueFailed"|"BackupPartial", "message"}  when either
 *
 * The consumer (backup_queue_consume: dispatch's SQS event, workflow
 * "ami-backup-item") runs backup_instance_run (backup.h) for each record
 * in order and answers Lambda's partial batch response
 * {"batchItemFailures": [{"itemIdentifier": messageId}]} naming the
 * records that failed: the instance's backup failed, the run could not
 * start, the deadline came before the record was started (retried later),
 * or the body is no valid item. A bad body is logged (ERROR, with the
 * message id and receive count, never the body) and reported as a failure,
 * not dropped: after the queue's maxReceiveCount it lands in the
 * dead-letter queue, whose alarm makes a person look at it. Each item's
 * report is logged (INFO, or ERROR when it failed).
 */
#ifndef EBSSH_LAMBDA_OPS_BACKUP_QUEUE_H
#define EBSSH_LAMBDA_OPS_BACKUP_QUEUE_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "../../util/err.h"
#include "../front/event.h"
#include "../service.h"
#include "backup.h"

#define BACKUP_QUEUE_WORKFLOW "ami-backup-item"
#define BACKUP_ITEM_VERSION   1
#define BACKUP_WAIT_MAX       20 /* ?wait=true: the largest fleet backed up synchronously */

/* One work item (a message body). */
struct backup_item {
	char instance_id[32];
	time_t time;
	int on_demand;
	int reboot;
	int dry_run;
};

/* The message body of instance_id's item for a run of options o, malloc'd
 * in *out. ERR_INVALID (no id, a time that cannot be written), ERR_NOMEM. */
int backup_item_body(const struct backup_opts *o, const char *instance_id, char **out,
                     struct err *e);

/* Reads a message body. ERR_INVALID naming what is wrong: not JSON, v not
 * 1, instance_id not "i-" and 1 to 29 hex digits' worth of [0-9a-f], time
 * not "YYYY-MM-DDTHH:MM:SSZ", a flag not a boolean. */
int backup_item_parse(const char *body, struct backup_item *out, struct err *e);

/* The options of an item's run: the item's time, on_demand, reboot as
 * allow_reboot, dry_run. */
void backup_item_opts(const struct backup_item *it, struct backup_opts *o);

struct backup_fanout {
	json_t *doc;       /* owned: the report above */
	size_t fleet;      /* instances listed */
	size_t queued;     /* items sent */
	size_t not_queued; /* items SQS refused, or whose call failed */
	int partial;       /* the time ran out before every item was sent */
};

void backup_fanout_free(struct backup_fanout *f);

/*
 * Lists the fleet and sends its items to queue_url. 0 with f->doc the
 * report (some items may have failed: f->not_queued, f->partial); else a
 * negative code and e: nothing was listed (no AWS client, DescribeInstances
 * failed, a bad tag key: ERR_INVALID) or out of memory; f->doc NULL.
 */
int backup_queue_fanout(struct service_context *ctx, const struct backup_opts *o,
                        const char *queue_url, struct backup_fanout *f, struct err *e);

/*
 * Consumes one SQS batch (ev->kind EVENT_SQS): *answer receives the partial
 * batch response (a new reference). 0 when it was produced, whatever the
 * records' outcomes; ERR_NOMEM otherwise (the whole batch is retried).
 * *n_failed counts the records named in it.
 */
int backup_queue_consume(struct service_context *ctx, const struct event *ev, json_t **answer,
                         size_t *n_failed, struct err *e);

#endif
