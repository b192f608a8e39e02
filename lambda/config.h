/*
 * config: the service's configuration, every environment variable the
 * router and the workflows read, in one place.
 *
 * A front door calls service_config_init once at start: it reads the environment,
 * checks every value and refuses to start with a message naming the
 * variable. From then on service_config_get answers that reading. Without
 * service_config_init (unit tests, tests' drivers) service_config_get reads the
 * environment at each call, unchecked, so that a test may change a
 * variable between two calls.
 *
 *   SLACK_WEBHOOK_URL                notify's Slack webhook; unset: notifications off
 *   SLACK_SIGNING_SECRET             the /logsearch command's secret; unset: 503
 *   EBSSH_SLACK_RESPONSE_URL_PREFIX  (tests) response_url prefix instead of Slack's
 *   SLACK_TEAM_IDS                   the Slack workspaces (team ids, comma-separated)
 *                                    /logsearch answers; unset while
 *                                    SLACK_SIGNING_SECRET is set: every Slack
 *                                    request is refused (a warning at start)
 *   SLACK_CHANNEL_IDS                the channels (ids, comma-separated) it answers
 *                                    in; unset: any channel of those teams
 *   LOGSEARCH_FUNCTIONS              the functions whose logs GET /logs and
 *                                    /logsearch may read: names or patterns with
 *                                    *, comma-separated; unset:
 *                                    AWS_LAMBDA_FUNCTION_NAME alone, else none
 *                                    (log search off)
 *   NOTIFY_TZ                        the zone of notify's times; unset: UTC
 *   TZDIR                            where zone files are; unset: /usr/share/zoneinfo
 *   EBSSH_ZONE_RULES                 a table of zone name and POSIX TZ rule (tab
 *                                    between), for zones with no zone file;
 *                                    bootstrap sets it to the zip's
 *                                    zone-rules.txt when the system has no zone
 *                                    files (scripts/package.sh makes it)
 *   AWS_LAMBDA_FUNCTION_NAME         the function itself (Lambda sets it)
 *   AWS_LAMBDA_LOG_GROUP_NAME        the function's own log group (Lambda sets
 *                                    it): notify never posts its lines (a loop)
 *   BACKUP_TAG_KEY                   the AMI backup's tag key; unset: "backup"
 *   BACKUP_MIN_INTERVAL              seconds between two on-demand backups of an
 *                                    instance, 0 to SERVICE_CONFIG_MIN_INTERVAL_MAX;
 *                                    unset: 3600
 *   EBSSH_STACK_NAME                 the owner the backup tags its images with
 *                                    (ebssh:stack; the template sets the stack's
 *                                    name); unset: AWS_LAMBDA_FUNCTION_NAME, else
 *                                    "ebssh"
 *   EBSSH_HOOK_TARGET                the pre-traffic hook's function to test: a
 *                                    Lambda function name or ARN, usually a
 *                                    version's ARN; unset: a CodeDeploy hook
 *                                    event fails (and reports Failed)
 *   OPS_API_KEY_ID                   the id of the API Gateway key that opens the
 *                                    ops routes (the template's OpsApiKey);
 *                                    unset: only IAM callers may call them
 *                                    (router_caller_may_ops)
 *   EBSSH_HOOK_ENVIRONMENT           the EB environment of the hook's real lookup
 *                                    (4 to 40 letters, digits, hyphens); unset:
 *                                    the hook checks /health only
 *   BACKUP_QUEUE_URL                 the AMI backup's work queue (an SQS queue URL,
 *                                    http(s)); unset: no fan-out, the backup
 *                                    runs synchronously (lambda/ops/backup_queue.h)
 *   LOOKUP_CACHE_SECONDS             how long the lookup routes keep an instance
 *                                    list (lambda/router/lookup_cache.h), 0 to
 *                                    SERVICE_CONFIG_LOOKUP_CACHE_MAX; 0: not
 *                                    at all; unset: 5
 *   GCS_BUCKET                       s3-gcs-backup's target bucket (lambda/ops/s3_backup.h)
 *   GC_CREDENTIAL                    the GCP service-account key, KMS-encrypted, base64
 *                                    (never logged; the check names it only)
 *   SKIP_KEY_REGEX                   keys s3-gcs-backup skips: a POSIX ERE
 *   RETRY_SNS_TOPIC_ARN              the retry stage's topic (logged; the template's)
 *   PROJECT_ID                       the GCP project (logged)
 *
 * (TZ is no setting of ours: notify sets it for a moment to format times.)
 */
#ifndef EBSSH_LAMBDA_CONFIG_H
#define EBSSH_LAMBDA_CONFIG_H

#include "../util/err.h"

#define SERVICE_CONFIG_TAG_KEY_MAX       128      /* EC2's limit on a tag key */
#define SERVICE_CONFIG_TAG_VALUE_MAX     256      /* EC2's limit on a tag value */
#define SERVICE_CONFIG_MIN_INTERVAL_MAX  31622400 /* 366 days, in seconds */
#define SERVICE_CONFIG_MIN_INTERVAL_DFLT 3600
#define SERVICE_CONFIG_LOOKUP_CACHE_MAX  300 /* seconds */
#define SERVICE_CONFIG_LOOKUP_CACHE_DFLT 5

/* Borrowed strings (the environment's, or service_config_init's copies,
 * kept for the process's life); NULL when unset or empty. */
struct service_config {
	const char *slack_webhook_url;
	const char *slack_signing_secret;
	const char *slack_response_prefix;
	const char *slack_team_ids;
	const char *slack_channel_ids;
	const char *logsearch_functions;
	const char *notify_tz;
	const char *tz_dir;
	const char *zone_rules;
	const char *function_name;
	const char *own_log_group;
	const char *backup_tag_key;
	const char *backup_min_interval;
	const char *stack_name;
	const char *hook_target;
	const char *hook_environment;
	const char *backup_queue_url;
	const char *ops_api_key_id;
	const char *lookup_cache_seconds;
	const char *gcs_bucket;
	const char *gc_credential;
	const char *skip_key_regex;
	const char *retry_sns_topic_arn;
	const char *project_id;
};

/* Reads the environment into *c, unchecked. */
void service_config_read(struct service_config *c);

/*
 * Checks *c: 0, or ERR_INVALID with a message naming the variable and the
 * rule it breaks (never its value: a URL or a secret).
 */
int service_config_check(const struct service_config *c, struct err *e);

/* At start, before any thread: reads and checks the environment, and
 * service_config_get answers that reading (copies) from then on. 0,
 * ERR_INVALID or ERR_NOMEM. */
int service_config_init(struct err *e);

/* The configuration (see above). */
struct service_config service_config_get(void);

/* 0 when k is a valid tag key (1 to SERVICE_CONFIG_TAG_KEY_MAX characters, no
 * control character), else ERR_INVALID naming BACKUP_TAG_KEY. */
int service_config_check_tag_key(const char *k, struct err *e);

/* *out = the seconds of a BACKUP_MIN_INTERVAL value (s NULL: the default):
 * a plain decimal 0 to SERVICE_CONFIG_MIN_INTERVAL_MAX, else ERR_INVALID
 * naming `what` (the variable or the tag). */
int service_config_min_interval(const char *s, const char *what, long *out, struct err *e);

/* *out = the seconds of a LOOKUP_CACHE_SECONDS value (s NULL: the default,
 * SERVICE_CONFIG_LOOKUP_CACHE_DFLT): a plain decimal 0 to
 * SERVICE_CONFIG_LOOKUP_CACHE_MAX, else ERR_INVALID naming the variable. */
int service_config_lookup_cache_seconds(const char *s, long *out, struct err *e);

/* The functions log search may read (see LOGSEARCH_FUNCTIONS above): the
 * list, else the function's own name, else NULL (log search is off). */
const char *service_config_logsearch_functions(void);

/* The owner name of the backups (ebssh:stack): EBSSH_STACK_NAME, else
 * AWS_LAMBDA_FUNCTION_NAME, else "ebssh". */
const char *service_config_stack_name(void);

#endif
