/*
 * routes: the handlers behind the router's table, and the pure steps they
 * are made of (name and index checks, Accept negotiation, ordering and
 * formatting of an instance list) so that tests can drive them without AWS.
 *
 * Instance lookups:
 *   /eb/{env}/ip[/{n}], /eb/{env}/instances   tag elasticbeanstalk:environment-name
 *   /asg/{group}/ip[/{n}], /asg/{group}/instances   tag aws:autoscaling:groupName
 * Names and indexes are checked before any AWS call. The list is the
 * running instances carrying that exact tag value, oldest launchTime first
 * (instances without one last), ties by instance id; the ip routes leave out
 * instances that lack the asked kind of address (?address=public, the
 * default, or ?address=private).
 *
 * Names: an Elastic Beanstalk environment is 4 to 40 ASCII letters, digits
 * and hyphens, neither first nor last a hyphen. An Auto Scaling group is 1
 * to 255 bytes of ASCII 33..126 without ':' (Auto Scaling's documented
 * rule); as a path segment it can never hold '/'. EC2 filter wildcards in a
 * group name ('*', '?', '\') are escaped, and every instance's tag is
 * compared exactly again after the call.
 *
 * Answers: text/plain, one address and "\n" per instance; JSON on
 * Accept: application/json (ranked against text by q-value, ties to JSON):
 *   {"environment"|"group": NAME, "address": "public"|"private",
 *    "instances": [{"index": 1, "instance_id": "...", "ip": "...",
 *                   "private_ip": "..."|null, "public_ip": "..."|null,
 *                   "launch_time": "..."|null, "availability_zone": "..."|null}]}
 * /instances is always that JSON without "address" and "ip", over every
 * running instance. 404 NotFound when no running instance has the tag, when
 * none of them has the asked address, or n is past the end. 400 InvalidName,
 * InvalidIndex, InvalidParameter for bad input.
 *
 * Host keys (routes/hostkeys.c):
 *   /eb/{env}/hostkeys[/{n}], /asg/{group}/hostkeys[/{n}]
 * The n-th instance (default 1) is picked exactly as /ip/{n} picks it,
 * ?address included: the address kind does not change an instance's keys,
 * but it changes which instances are counted, so hostkeys/{n}?address=X is
 * always the instance behind ip/{n}?address=X (what ebssh-proxy connects
 * to). Its console (GetConsoleOutput, Latest first; the boot snapshot when
 * the instance cannot give its latest output or the latest shows no complete
 * key block) is read by util/hostkeys: the last complete cloud-init block,
 * well-formed keys only. Answers: text/plain "<type> <base64>\n" per key;
 * JSON on Accept: application/json:
 *   {"environment"|"group": NAME, "index": n, "instance_id": "i-...",
 *    "console_timestamp": "..."|null, "keys": [{"type": "...", "key": "..."}]}
 * 404 NoHostKeys when the console has no complete block (not booted yet,
 * or an AMI without cloud-init) or a block without a well-formed key; the
 * lookup's own 400 and 404 answers as /ip/{n}.
 */
#ifndef EBSSH_LAMBDA_ROUTES_H
#define EBSSH_LAMBDA_ROUTES_H

#include <stddef.h>
#include <time.h>

#include "../aws/ec2.h"
#include "../util/hostkeys.h"
#include "router.h"

#define ROUTES_MAX_PARAMS 4
#define ROUTES_MAX_INDEX  1000

/* Which tag a lookup route reads (route_args.variant). */
enum routes_target {
	ROUTES_EB = 0, /* elasticbeanstalk:environment-name, JSON key "environment" */
	ROUTES_ASG = 1 /* aws:autoscaling:groupName, JSON key "group" */
};

enum routes_address { ROUTES_ADDRESS_PUBLIC = 0, ROUTES_ADDRESS_PRIVATE = 1 };

/* What the router hands a handler: the path's {params} in order (borrowed). */
struct route_args {
	const char *param[ROUTES_MAX_PARAMS];
	size_t n_params;
	int variant; /* per route entry: enum routes_target for the lookups */
};

/*
 * A handler fills resp, success or error answer (router_error*), and
 * returns 0; a negative code only when out of memory.
 */
typedef int (*routes_handler)(struct router_context *ctx, const struct router_request *req,
                              const struct route_args *args, struct router_response *resp);

/* GET /health: 200 "ok\n". */
int routes_health(struct router_context *ctx, const struct router_request *req,
                  const struct route_args *args, struct router_response *resp);
/* GET /{eb,asg}/{name}/ip and /{eb,asg}/{name}/ip/{n}. */
int routes_ip(struct router_context *ctx, const struct router_request *req,
              const struct route_args *args, struct router_response *resp);
/* GET /{eb,asg}/{name}/instances. */
int routes_instances(struct router_context *ctx, const struct router_request *req,
                     const struct route_args *args, struct router_response *resp);

/* GET /{eb,asg}/{name}/hostkeys and /{eb,asg}/{name}/hostkeys/{n}. */
int routes_hostkeys(struct router_context *ctx, const struct router_request *req,
                    const struct route_args *args, struct router_response *resp);

/*
 * What per-instance routes share with /ip/{n}: checks the name
 * (args->param[0]), the index (args->param[1], 1 when absent) and
 * ?address, describes the instances into *list (the caller frees it), and
 * sets *out to the index-th instance of /ip's ordering, *index to n.
 * Returns 0 with *out set, or 0 with *out NULL and resp filled with the
 * error answer (400, 404, AWS errors); a negative code only when out of
 * memory.
 */
int routes_pick_instance(struct router_context *ctx, const struct router_request *req,
                         const struct route_args *args, struct ec2_instance_list *list,
                         const struct ec2_instance **out, long *index,
                         struct router_response *resp);

/*
 * The pure hostkeys answer for the index-th instance of target name:
 * found is 0 when its console had no complete key block. Fills resp (200
 * or 404 NoHostKeys) and returns 0, or ERR_NOMEM.
 */
int routes_hostkeys_answer(enum routes_target target, const char *name, long index,
                           const char *instance_id, const char *console_timestamp, int found,
                           const struct hostkey_list *keys, int json, struct router_response *resp);

/*
 * GET /logs/{function}/{request_id}[?start=&end=]: the request's log lines
 * (lambda/logsearch.h), text "timestamp<TAB>stream<TAB>message" lines or
 * JSON on Accept; 400 InvalidName / InvalidRequestId / InvalidParameter
 * before any AWS call, 404 NotFound for no such log group or no lines,
 * X-Ebssh-Truncated: true when the search or the answer stopped at a cap.
 */
int routes_logs(struct router_context *ctx, const struct router_request *req,
                const struct route_args *args, struct router_response *resp);
/*
 * POST /slack/logsearch: the /logsearch slash command. 503 NotConfigured
 * without SLACK_SIGNING_SECRET, 401 InvalidSignature, 400 for a body that
 * is no form or a response_url that is not Slack's; else 200 with an
 * ephemeral message (usage help, or "searching") and the search as a job.
 */
int routes_slack_logsearch(struct router_context *ctx, const struct router_request *req,
                           const struct route_args *args, struct router_response *resp);
/* GET /lambda/storage: the code storage report (lambda/storage.h), JSON or
 * text on Accept: text/plain. */
int routes_lambda_storage(struct router_context *ctx, const struct router_request *req,
                          const struct route_args *args, struct router_response *resp);

/* The target's JSON key ("environment", "group") and its name in messages
 * ("Elastic Beanstalk environment", "Auto Scaling group"). */
const char *routes_target_key(enum routes_target t);
const char *routes_target_noun(enum routes_target t);

/* 0 when name is a valid environment / group name, else ERR_INVALID. */
int routes_check_eb_name(const char *name, struct err *e);
int routes_check_asg_name(const char *name, struct err *e);

/* Parses a 1-based index: decimal 1..ROUTES_MAX_INDEX, no sign, no leading
 * zero, nothing else. ERR_INVALID otherwise. */
int routes_parse_index(const char *s, long *out, struct err *e);

/* 1 when the request's Accept headers prefer application/json to text. */
int routes_wants_json(const struct router_request *req);

/*
 * The pure answers over an instance list as DescribeInstances gave it
 * (unfiltered, unordered; only read). index 0 means every instance.
 * Fill resp (success or 404) and return 0, or ERR_NOMEM.
 */
int routes_ip_answer(enum routes_target target, const char *name, long index,
                     enum routes_address address, int json, const struct ec2_instance_list *list,
                     struct router_response *resp);
int routes_instances_answer(enum routes_target target, const char *name,
                            const struct ec2_instance_list *list, struct router_response *resp);

/*
 * AMI backup (routes/backup.c): POST /backup/ami[?dry_run=true], and the
 * same on an EventBridge schedule whose rule name ends in "ami-backup".
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
 * The answer, application/json:
 *   {"dry_run": false, "time": "20240501T0930Z", "tag_key": "backup", "failed": 0,
 *    "instances": [{"instance_id", "image_name", "image_created": "ami-..."|null,
 *       "already_existed", "generation", "no_reboot", "kept": [ids],
 *       "deregistered": [ids], "snapshots_deleted": [ids],
 *       "snapshots_in_use": [{"snapshot_id", "used_by"}],
 *       "errors": [{"step", "resource", "code", "message"}]}]}
 * 200 when every instance succeeded; 502 with the same body plus "code":
 * "BackupFailed" and "message" when any failed (so a scheduled run counts
 * as a function error). A dry run changes nothing: image_created is the
 * existing image of this run's name or null, and the lists say what a run
 * would do. DescribeInstances failing is the usual AWS error answer.
 */
#define ROUTES_BACKUP_DEFAULT_TAG        "backup"
#define ROUTES_BACKUP_DEFAULT_GENERATION 3

struct routes_backup_opts {
	time_t now;          /* the run's time: it names the images (default: now) */
	int dry_run;         /* plan only */
	const char *tag_key; /* NULL: $BACKUP_TAG_KEY, else "backup" */
	long inuse_retry_ms; /* first wait after InvalidSnapshot.InUse, doubling; 0: 1000 */
	int inuse_attempts;  /* DeleteSnapshot attempts while InUse; 0: 5 */
};

/* Defaults, with now = time(NULL). */
void routes_backup_opts_init(struct routes_backup_opts *o);

/* One backup run; fills resp as above. 0, or ERR_NOMEM. */
int routes_backup_run(struct router_context *ctx, const struct routes_backup_opts *o,
                      struct router_response *resp);

/* POST /backup/ami: dry_run=true|false (else 400), the clock's time. */
int routes_backup(struct router_context *ctx, const struct router_request *req,
                  const struct route_args *args, struct router_response *resp);

/* 1 when an EventBridge rule name (resources[0] after its last '/') ends in
 * "ami-backup", else 0. */
int routes_backup_rule_matches(const char *rule_name);

/*
 * The scheduled run: the run's time is the event's "time"
 * ("2024-05-01T09:30:00Z"), the same on Lambda's retries of the event, so a
 * retried event makes no second image; the clock when it is NULL or
 * malformed. resp as routes_backup_run; a non-2xx status should become the
 * invocation's error so that the function's Errors alarm fires.
 */
int routes_backup_scheduled(struct router_context *ctx, const char *event_time,
                            struct router_response *resp);

#endif
