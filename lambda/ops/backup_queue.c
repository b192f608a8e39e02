/* backup_queue: the fan-out through SQS and its consumer; see backup_queue.h. */
#include "backup_queue.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../aws/ec2.h"
#include "../../aws/sqs.h"
#include "../config.h"
#include "../log.h"

/* ---- items ---- */

static int write_time(time_t t, const char *fmt, char *out, size_t size)
{
	struct tm tm;

	return gmtime_r(&t, &tm) && strftime(out, size, fmt, &tm) ? 0 : ERR_INVALID;
}

int backup_item_body(const struct backup_opts *o, const char *instance_id, char **out,
                     struct err *e)
{
	char stamp[32];
	json_t *doc;

	*out = NULL;
	if (!instance_id || !*instance_id)
		return err_set(e, ERR_INVALID, "a work item needs an instance id");
	if (write_time(o->now, "%Y-%m-%dT%H:%M:%SZ", stamp, sizeof(stamp)))
		return err_set(e, ERR_INVALID, "the run's time cannot be written");
	doc = json_pack("{s:i, s:s, s:s, s:b, s:b, s:b}", "v", BACKUP_ITEM_VERSION, "instance_id",
	                instance_id, "time", stamp, "on_demand", o->on_demand, "reboot",
	                o->allow_reboot, "dry_run", o->dry_run);
	*out = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return *out ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

static int valid_instance_id(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 3 || n > 31 || strncmp(s, "i-", 2) != 0)
		return 0;
	for (i = 2; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')))
			return 0;
	return 1;
}

/* "YYYY-MM-DDTHH:MM:SSZ" as a time_t, or -1. */
static time_t parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != 20)
		return (time_t)-1;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end || tm.tm_year < 70)
		return (time_t)-1;
	return timegm(&tm);
}

static int get_flag(json_t *doc, const char *key, int *out, struct err *e)
{
	json_t *v = json_object_get(doc, key);

	if (!v) {
		*out = 0;
		return 0;
	}
	if (!json_is_boolean(v))
		return err_set(e, ERR_INVALID, "the work item's %s is not a boolean", key);
	*out = json_is_true(v);
	return 0;
}

int backup_item_parse(const char *body, struct backup_item *out, struct err *e)
{
	json_error_t jerr;
	json_t *doc = body ? json_loads(body, 0, &jerr) : NULL;
	json_t *v;
	const char *id, *t;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc)) {
		json_decref(doc);
		return err_set(e, ERR_INVALID, "the work item is not a JSON object");
	}
	v = json_object_get(doc, "v");
	id = json_string_value(json_object_get(doc, "instance_id"));
	t = json_string_value(json_object_get(doc, "time"));
	if (!json_is_integer(v) || json_integer_value(v) != BACKUP_ITEM_VERSION)
		rc = err_set(e, ERR_INVALID, "the work item's v is not %d", BACKUP_ITEM_VERSION);
	else if (!id || !valid_instance_id(id))
		rc = err_set(e, ERR_INVALID, "the work item's instance_id is no instance id");
	else if (!t || (out->time = parse_time(t)) == (time_t)-1)
		rc = err_set(e, ERR_INVALID, "the work item's time is not YYYY-MM-DDTHH:MM:SSZ");
	else if (!(rc = get_flag(doc, "on_demand", &out->on_demand, e)) &&
	         !(rc = get_flag(doc, "reboot", &out->reboot, e)))
		rc = get_flag(doc, "dry_run", &out->dry_run, e);
	if (!rc)
		snprintf(out->instance_id, sizeof(out->instance_id), "%s", id);
	json_decref(doc);
	return rc;
}

void backup_item_opts(const struct backup_item *it, struct backup_opts *o)
{
	backup_opts_init(o);
	o->now = it->time;
	o->on_demand = it->on_demand;
	o->allow_reboot = it->reboot;
	o->dry_run = it->dry_run;
}

/* ---- the fan-out ---- */

static const char *run_tag_key(const struct backup_opts *o)
{
	const char *k = o->tag_key ? o->tag_key : service_config_get().backup_tag_key;

	return k && *k ? k : BACKUP_DEFAULT_TAG;
}

void backup_fanout_free(struct backup_fanout *f)
{
	if (!f)
		return;
	json_decref(f->doc);
	memset(f, 0, sizeof(*f));
}

/* Sends ids[0..n-1] (n <= SQS_BATCH_MAX) as one batch; appends to the report. */
static int send_batch(struct aws_client *aws, const struct backup_opts *o, const char *queue_url,
                      char *const *ids, size_t n, struct backup_fanout *f, json_t *queued,
                      json_t *refused)
{
	char *bodies[SQS_BATCH_MAX] = {NULL};
	struct sqs_entry_result res[SQS_BATCH_MAX];
	struct err call_err;
	size_t i;
	int rc = 0, call_rc;

	err_clear(&call_err);
	for (i = 0; !rc && i < n; i++)
		rc = backup_item_body(o, ids[i], &bodies[i], &call_err);
	if (rc)
		goto out;
	call_rc =
	    sqs_send_message_batch(aws, queue_url, (const char *const *)bodies, n, res, &call_err);
	for (i = 0; !rc && i < n; i++) {
		if (!call_rc && res[i].sent) {
			f->queued++;
			rc = json_array_append_new(queued, json_string(ids[i])) ? ERR_NOMEM : 0;
			continue;
		}
		f->not_queued++;
		rc =
		    json_array_append_new(
		        refused, json_pack("{s:s, s:s, s:s}", "instance_id", ids[i], "code",
		                           call_rc ? (call_err.aws_code[0] ? call_err.aws_code
		                                                           : err_code_name(call_rc))
		                                   : res[i].code,
		                           "message", call_rc ? call_err.message : res[i].message))
		        ? ERR_NOMEM
		        : 0;
	}
	if (call_rc)
		log_msg(LOG_ERROR, "AMI backup queue: SendMessageBatch failed: %s",
		        call_err.message);
out:
	for (i = 0; i < n; i++)
		free(bodies[i]);
	return rc;
}

int backup_queue_fanout(struct service_context *ctx, const struct backup_opts *o,
                        const char *queue_url, struct backup_fanout *f, struct err *e)
{
	struct aws_client *aws;
	json_t *queued, *refused, *left = NULL;
	char **ids = NULL, stamp[32];
	size_t n = 0, i, k;
	int rc;

	memset(f, 0, sizeof(*f));
	err_clear(e);
	if (write_time(o->now, "%Y%m%dT%H%MZ", stamp, sizeof(stamp)))
		return err_set(e, ERR_INVALID, "the run's time cannot be written");
	rc = backup_fleet(ctx, o, &ids, &n, e);
	if (rc)
		return rc;
	aws = service_aws(ctx, e);
	if (!aws) {
		backup_fleet_free(ids, n);
		return e && e->code < 0 ? e->code : ERR_INTERNAL;
	}
	f->fleet = n;
	f->doc =
	    json_pack("{s:i, s:[], s:s, s:s, s:I, s:b}", "queued", 0, "instances", "time", stamp,
	              "tag_key", run_tag_key(o), "fleet", (json_int_t)n, "dry_run", o->dry_run);
	queued = json_object_get(f->doc, "instances");
	refused = json_array();
	rc = f->doc && refused ? 0 : ERR_NOMEM;
	for (i = 0; !rc && i < n; i += k) {
		k = n - i < SQS_BATCH_MAX ? n - i : SQS_BATCH_MAX;
		if (service_out_of_time(ctx)) {
			f->partial = 1;
			left = json_array();
			for (k = i; left && k < n; k++)
				if (json_array_append_new(left, json_string(ids[k])))
					rc = ERR_NOMEM;
			if (!left)
				rc = ERR_NOMEM;
			break;
		}
		rc = send_batch(aws, o, queue_url, ids + i, k, f, queued, refused);
	}
	if (!rc && json_object_set_new(f->doc, "queued", json_integer((json_int_t)f->queued)))
		rc = ERR_NOMEM;
	if (!rc && f->not_queued && json_object_set(f->doc, "not_queued", refused))
		rc = ERR_NOMEM;
	if (!rc && f->partial &&
	    (json_object_set_new(f->doc, "not_started", json_incref(left)) ||
	     json_object_set_new(f->doc, "partial", json_true())))
		rc = ERR_NOMEM;
	if (!rc && f->not_queued &&
	    json_object_set_new(f->doc, "code", json_string("BackupQueueFailed")) == 0)
		rc = json_object_set_new(f->doc, "message",
		                         json_string("some work items could not be queued; see "
		                                     "not_queued"))
		         ? ERR_NOMEM
		         : 0;
	else if (!rc && f->partial &&
	         json_object_set_new(f->doc, "code", json_string("BackupPartial")) == 0)
		rc = json_object_set_new(f->doc, "message",
		                         json_string("the invocation's time ran out before every "
		                                     "work item was queued; see not_started"))
		         ? ERR_NOMEM
		         : 0;
	json_decref(refused);
	json_decref(left);
	backup_fleet_free(ids, n);
	if (rc) {
		backup_fanout_free(f);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* ---- the consumer ---- */

/* One record: 1 when it failed (it goes into batchItemFailures), 0 when done,
 * ERR_NOMEM. */
static int consume_one(struct service_context *ctx, const struct event_sqs_record *r)
{
	struct backup_item it;
	struct backup_opts o;
	json_t *item = NULL, *fields;
	struct err e;
	int failed = 0, rc;

	err_clear(&e);
	if (backup_item_parse(r->body, &it, &e)) {
		log_fields_new(
		    LOG_ERROR,
		    json_pack("{s:s, s:s, s:I}", "workflow", BACKUP_QUEUE_WORKFLOW, "message_id",
		              r->message_id, "receive_count", (json_int_t)r->receive_count),
		    "AMI backup item refused (it goes to the dead-letter queue after the "
		    "queue's maxReceiveCount): %s",
		    e.message);
		return 1;
	}
	backup_item_opts(&it, &o);
	rc = backup_instance_run(ctx, &o, it.instance_id, &item, &failed, &e);
	if (rc == ERR_NOMEM) {
		json_decref(item);
		return ERR_NOMEM;
	}
	fields = json_pack("{s:s, s:s, s:s, s:I}", "workflow", BACKUP_QUEUE_WORKFLOW, "message_id",
	                   r->message_id, "instance_id", it.instance_id, "receive_count",
	                   (json_int_t)r->receive_count);
	if (fields && item)
		json_object_set(fields, "report", item);
	if (rc)
		log_fields_new(LOG_ERROR, fields, "AMI backup item not started: %s", e.message);
	else
		log_fields_new(failed ? LOG_ERROR : LOG_INFO, fields, "AMI backup item %s",
		               failed ? "failed" : "done");
	json_decref(item);
	return rc || failed ? 1 : 0;
}

int backup_queue_consume(struct service_context *ctx, const struct event *ev, json_t **answer,
                         size_t *n_failed, struct err *e)
{
	json_t *doc = json_pack("{s:[]}", "batchItemFailures"), *list;
	size_t i;
	int rc = doc ? 0 : ERR_NOMEM, failed;

	*answer = NULL;
	*n_failed = 0;
	list = json_object_get(doc, "batchItemFailures");
	for (i = 0; !rc && i < ev->n_sqs_records; i++) {
		const struct event_sqs_record *r = &ev->sqs_records[i];

		/* the time has come: this record and the rest are left to a later delivery */
		failed = service_out_of_time(ctx) ? 1 : consume_one(ctx, r);
		if (failed < 0)
			rc = failed;
		else if (failed && json_array_append_new(
		                       list, json_pack("{s:s}", "itemIdentifier", r->message_id)))
			rc = ERR_NOMEM;
		else
			*n_failed += (size_t)failed;
	}
	if (rc) {
		json_decref(doc);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	*answer = doc;
	return 0;
}
