/*
 * backup: the AMI backup with rotation, HTTP-free. POST /backup/ami
 * (lambda/router/backup.c) and the EventBridge schedule whose rule name ends
 * in "ami-backup" (lambda/ops/dispatch.c) both run it and render its report.
 *
 * Every running or stopped instance whose tag BACKUP_TAG_KEY (environment;
 * default "backup"; the key exact, EC2's tag keys are case-sensitive) is
 * "on" in any case gets CreateImage, NoReboot unless its tag backup-reboot
 * is "true" (any case), named "<Name tag or instance id>-<yyyymmddTHHMMZ of
 * the run's time, UTC>" made a valid AMI name (ec2_ami_name), the image and
 * its snapshots tagged ebssh:backup-of = instance id and ebssh:managed =
 * true. InvalidAMIName.Duplicate means an earlier attempt of the same run
 * made it: that image (same name, our tags) is this run's.
 *
 * Then, only when this run's image exists, rotation: among the instance's
 * backups (owner self, both tags, checked on each image), this run's image
 * and the newest generation-1 other available or pending ones are kept
 * (generation: the instance's tag "generation", 1..100, default 3; a bad
 * value is an error and nothing is rotated). Every other one is
 * deregistered, oldest first, then each snapshot of its block device
 * mappings that no other live image maps is deleted; InvalidSnapshot.InUse
 * is retried with backoff, InvalidAMIID.NotFound/.Unavailable and
 * InvalidSnapshot.NotFound mean already gone. A failed deregistration keeps
 * its snapshots. Last, snapshots an earlier run left behind (tagged ours,
 * "Created by CreateImage(<instance>) for <ami>" of an AMI that is gone,
 * mapped by no image, older than an hour before the run's time) are deleted.
 *
 * The report, a JSON document:
 *   {"dry_run": false, "time": "20240501T0930Z", "tag_key": "backup", "failed": 0,
 *    "instances": [{"instance_id", "image_name", "image_created": "ami-..."|null,
 *       "already_existed", "generation", "no_reboot", "kept": [ids],
 *       "deregistered": [ids], "snapshots_deleted": [ids],
 *       "snapshots_in_use": [{"snapshot_id", "used_by"}],
 *       "errors": [{"step", "resource", "code", "message"}]}]}
 * plus "code": "BackupFailed" and "message" when any instance failed (the
 * route answers it with 502, the schedule fails the invocation, so that the
 * function's Errors alarm fires). Before each instance the run checks the
 * invocation's deadline (service_out_of_time): when the time has run out it
 * starts no more, and the report adds "partial": true and "not_started":
 * [instance ids], and "code": "BackupPartial" unless one failed; it counts
 * as failed too. A dry run changes nothing: image_created
 * is the existing image of this run's name or null, and the lists say what
 * a run would do.
 */
#ifndef EBSSH_LAMBDA_OPS_BACKUP_H
#define EBSSH_LAMBDA_OPS_BACKUP_H

#include <jansson.h>
#include <time.h>

#include "../../util/err.h"
#include "../service.h"

#define BACKUP_DEFAULT_TAG        "backup"
#define BACKUP_DEFAULT_GENERATION 3
#define BACKUP_RULE_SUFFIX        "ami-backup"

struct backup_opts {
	time_t now;          /* the run's time: it names the images (default: now) */
	int dry_run;         /* plan only */
	const char *tag_key; /* NULL: $BACKUP_TAG_KEY, else "backup" */
	long inuse_retry_ms; /* first wait after InvalidSnapshot.InUse, doubling; 0: 1000 */
	int inuse_attempts;  /* DeleteSnapshot attempts while InUse; 0: 5 */
	int on_demand;       /* POST /backup/ami: the minimum interval applies, and reboots
	                      * only with allow_reboot (backup_opts_init sets it; a scheduled
	                      * run, backup_opts_scheduled, clears it) */
	int allow_reboot;    /* on demand: the request asked for reboots explicitly
	                      * (?reboot=true); the backup-reboot tag still decides */
	long image_wait_ms;  /* how long to wait for this run's image to be available
	                      * (bounded by the deadline too); 0: 5000, < 0: not at all */
};

/* Why a run did not start (backup_report.stop). */
enum backup_stop {
	BACKUP_STOP_NONE = 0, /* it ran: doc is the report */
	BACKUP_STOP_CONFIG,   /* the tag key is no valid tag key */
	BACKUP_STOP_CLOCK,    /* the run's time cannot be written */
	BACKUP_STOP_AWS       /* no AWS client, or DescribeInstances failed */
};

struct backup_report {
	json_t *doc;           /* owned: the report above; NULL when the run did not start */
	int failed;            /* instances whose backup failed */
	int partial;           /* the invocation's time ran out: some were not started */
	enum backup_stop stop; /* why the run did not start */
};

/* Defaults, with now = time(NULL): an on-demand run (on_demand = 1, the
 * safer default: the interval applies, no reboot). */
void backup_opts_init(struct backup_opts *o);

/*
 * The scheduled run's options: the run's time is the event's "time"
 * ("2024-05-01T09:30:00Z"), the same on Lambda's retries of the event, so a
 * retried event makes no second image; the clock when it is NULL or
 * malformed.
 */
void backup_opts_scheduled(struct backup_opts *o, const char *event_time);

void backup_report_init(struct backup_report *rep);
void backup_report_free(struct backup_report *rep);

/*
 * One backup run. 0: it ran, rep->doc is its report, rep->failed counts
 * the instances that failed (each one's errors are in the report) and
 * rep->partial says the deadline stopped it. Else a
 * negative code, e says why and rep->stop which step stopped it (ERR_NOMEM
 * at any point, with no report).
 */
int backup_run(struct service_context *ctx, const struct backup_opts *o, struct backup_report *rep,
               struct err *e);

/*
 * The fleet of a run of options o: the ids of the instances it would back
 * up (tag BACKUP_TAG_KEY "on" in any case, running or stopped), sorted, in a
 * malloc'd array of malloc'd strings (backup_fleet_free). Uses
 * ctx->describe_instances when set. ERR_INVALID (a bad tag key), the AWS
 * call's error, ERR_NOMEM. The one listing of the sequential run
 * (backup_run) and of the fan-out (backup_queue.h).
 */
int backup_fleet(struct service_context *ctx, const struct backup_opts *o, char ***ids, size_t *n,
                 struct err *e);
void backup_fleet_free(char **ids, size_t n);

/*
 * One instance's backup, independent and idempotent: describes the instance
 * by id (its tags now: still tagged BACKUP_TAG_KEY=on? Name, generation,
 * backup-reboot, backup-min-interval), finds this run's image or makes it,
 * then rotates. *item: the instance's report object (the shape of one
 * "instances" entry of the report, owned by the caller; an instance that is
 * gone, no longer tagged or neither running nor stopped gives
 * {"instance_id", "skipped": "not-found"|"not-tagged"|"state", "message"},
 * not a failure); *failed set to 1 when the instance's backup failed (its
 * errors in *item; a failed DescribeInstances too). 0, or a negative code
 * with e when nothing could start (no AWS client, out of memory, a bad tag
 * key: ERR_INVALID, the invocation's time ran out: ERR_TIMEOUT), and then
 * *item is NULL. Checks the deadline (service_out_of_time) before starting.
 */
int backup_instance_run(struct service_context *ctx, const struct backup_opts *o,
                        const char *instance_id, json_t **item, int *failed, struct err *e);

/* 1 when an EventBridge rule name (resources[0] after its last '/') ends in
 * BACKUP_RULE_SUFFIX, else 0. */
int backup_rule_matches(const char *rule_name);

#endif
