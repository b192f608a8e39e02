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

#include "../../aws/ec2.h"
#include "../../util/hostkeys.h"
#include "../ops/backup.h"
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
typedef int (*routes_handler)(struct service_context *ctx, const struct router_request *req,
                              const struct route_args *args, struct router_response *resp);

/* GET /health: 200 "ok\n". */
int routes_health(struct service_context *ctx, const struct router_request *req,
                  const struct route_args *args, struct router_response *resp);
/* GET /{eb,asg}/{name}/ip and /{eb,asg}/{name}/ip/{n}; the list through
 * ctx->lookup_cache (lookup_cache.h). */
int routes_ip(struct service_context *ctx, const struct router_request *req,
              const struct route_args *args, struct router_response *resp);
/* GET /{eb,asg}/{name}/instances; the list through ctx->lookup_cache. */
int routes_instances(struct service_context *ctx, const struct router_request *req,
                     const struct route_args *args, struct router_response *resp);

/* GET /{eb,asg}/{name}/hostkeys and /{eb,asg}/{name}/hostkeys/{n}. */
int routes_hostkeys(struct service_context *ctx, const struct router_request *req,
                    const struct route_args *args, struct router_response *resp);

/*
 * What per-instance routes share with /ip/{n}: checks the name
 * (args->param[0]), the index (args->param[1], 1 when absent) and
 * ?address, describes the instances into *list (the caller frees it; never
 * through the lookup cache: the host keys' instance is the current one), and
 * sets *out to the index-th instance of /ip's ordering, *index to n.
 * Returns 0 with *out set, or 0 with *out NULL and resp filled with the
 * error answer (400, 404, AWS errors); a negative code only when out of
 * memory.
 */
int routes_pick_instance(struct service_context *ctx, const struct router_request *req,
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
int routes_logs(struct service_context *ctx, const struct router_request *req,
                const struct route_args *args, struct router_response *resp);
/*
 * POST /slack/logsearch: the /logsearch slash command. 503 NotConfigured
 * without SLACK_SIGNING_SECRET, 401 InvalidSignature, 400 for a body that
 * is no form or a response_url that is not Slack's; else 200 with an
 * ephemeral message (usage help, or "searching") and the search as a job.
 */
int routes_slack_logsearch(struct service_context *ctx, const struct router_request *req,
                           const struct route_args *args, struct router_response *resp);
/* GET /lambda/storage: the code storage report (lambda/storage.h), JSON or
 * text on Accept: text/plain. */
int routes_lambda_storage(struct service_context *ctx, const struct router_request *req,
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
 * POST /backup/ami[?dry_run=&reboot=&wait=true|false] (else 400): the AMI
 * backup (lambda/ops/backup.h) at the clock's time, on demand (reboots only
 * with reboot=true). With BACKUP_QUEUE_URL set and no wait=true: the
 * fan-out (lambda/ops/backup_queue.h), 202 with what it queued, 502 with the
 * same report when an item could not be queued or the time ran out. Without
 * a queue, or with wait=true for a fleet of at most BACKUP_WAIT_MAX (else 400
 * FleetTooLarge): the synchronous run, 200 with its report, 502 with it when
 * an instance failed. 500 ConfigError for a bad tag key; a failed
 * DescribeInstances is the usual AWS error answer.
 */
int routes_backup(struct service_context *ctx, const struct router_request *req,
                  const struct route_args *args, struct router_response *resp);

/* One backup run with o, answered as POST /backup/ami answers it (for
 * tests' drivers). 0, or ERR_NOMEM. */
int routes_backup_run(struct service_context *ctx, const struct backup_opts *o,
                      struct router_response *resp);

/* The scheduled run of backup_opts_scheduled(event_time), answered the same
 * way (for tests' drivers; the runtime's dispatch runs the workflow itself). */
int routes_backup_scheduled(struct service_context *ctx, const char *event_time,
                            struct router_response *resp);

#endif
