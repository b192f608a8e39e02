/* config: the environment the service reads, read and checked once; see config.h. */
#include "config.h"

#include <stdint.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "../aws/lambda.h"
#include "../util/decimal.h"
#include "../util/namelist.h"
#include "log.h"

static struct service_config loaded;
static int initialised;

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

void service_config_read(struct service_config *c)
{
	c->slack_webhook_url = env("SLACK_WEBHOOK_URL");
	c->slack_signing_secret = env("SLACK_SIGNING_SECRET");
	c->slack_response_prefix = env("EBSSH_SLACK_RESPONSE_URL_PREFIX");
	c->slack_team_ids = env("SLACK_TEAM_IDS");
	c->slack_channel_ids = env("SLACK_CHANNEL_IDS");
	c->logsearch_functions = env("LOGSEARCH_FUNCTIONS");
	c->notify_tz = env("NOTIFY_TZ");
	c->tz_dir = env("TZDIR");
	c->zone_rules = env("EBSSH_ZONE_RULES");
	c->function_name = env("AWS_LAMBDA_FUNCTION_NAME");
	c->own_log_group = env("AWS_LAMBDA_LOG_GROUP_NAME");
	c->backup_tag_key = env("BACKUP_TAG_KEY");
	c->backup_min_interval = env("BACKUP_MIN_INTERVAL");
	c->stack_name = env("EBSSH_STACK_NAME");
	c->hook_target = env("EBSSH_HOOK_TARGET");
	c->hook_environment = env("EBSSH_HOOK_ENVIRONMENT");
	c->backup_queue_url = env("BACKUP_QUEUE_URL");
	c->ops_api_key_id = env("OPS_API_KEY_ID");
	c->lookup_cache_seconds = env("LOOKUP_CACHE_SECONDS");
	c->gcs_bucket = env("GCS_BUCKET");
	c->gc_credential = env("GC_CREDENTIAL");
	c->skip_key_regex = env("SKIP_KEY_REGEX");
	c->retry_sns_topic_arn = env("RETRY_SNS_TOPIC_ARN");
	c->project_id = env("PROJECT_ID");
}

/* An Elastic Beanstalk environment name, as the router checks it. */
static int check_environment(const char *name, struct err *e)
{
	size_t i, n = strlen(name);

	if (n < 4 || n > 40)
		return err_set(
		    e, ERR_INVALID,
		    "EBSSH_HOOK_ENVIRONMENT is an environment name of 4 to 40 characters");
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return err_set(
			    e, ERR_INVALID,
			    "EBSSH_HOOK_ENVIRONMENT has only letters, digits and hyphens");
	if (name[0] == '-' || name[n - 1] == '-')
		return err_set(e, ERR_INVALID,
		               "EBSSH_HOOK_ENVIRONMENT neither starts nor ends with a hyphen");
	return 0;
}

/* NULL when s is printable ASCII without spaces, else what is wrong. */
static const char *token_problem(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return "holds a space, a control byte or a byte outside ASCII";
	return NULL;
}

static int check_url(const char *name, const char *url, struct err *e)
{
	const char *why = token_problem(url);

	if (why)
		return err_set(e, ERR_INVALID, "%s %s", name, why);
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		return err_set(e, ERR_INVALID, "%s is not an http(s) URL", name);
	return 0;
}

int service_config_check_tag_key(const char *k, struct err *e)
{
	size_t i, n = strlen(k);

	if (n == 0 || n > SERVICE_CONFIG_TAG_KEY_MAX)
		return err_set(e, ERR_INVALID, "BACKUP_TAG_KEY must have 1 to %d characters",
		               SERVICE_CONFIG_TAG_KEY_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f)
			return err_set(e, ERR_INVALID, "BACKUP_TAG_KEY has a control character");
	return 0;
}

int service_config_min_interval(const char *s, const char *what, long *out, struct err *e)
{
	int64_t v;

	*out = SERVICE_CONFIG_MIN_INTERVAL_DFLT;
	if (!s)
		return 0;
	if (decimal_parse(s, strlen(s), 8, DECIMAL_NO_LEADING_ZERO, 0,
	                  SERVICE_CONFIG_MIN_INTERVAL_MAX, &v))
		return err_set(e, ERR_INVALID, "%s is a whole number of seconds from 0 to %d", what,
		               SERVICE_CONFIG_MIN_INTERVAL_MAX);
	*out = (long)v;
	return 0;
}

int service_config_lookup_cache_seconds(const char *s, long *out, struct err *e)
{
	int64_t v;

	*out = SERVICE_CONFIG_LOOKUP_CACHE_DFLT;
	if (!s)
		return 0;
	if (decimal_parse(s, strlen(s), 3, DECIMAL_NO_LEADING_ZERO, 0,
	                  SERVICE_CONFIG_LOOKUP_CACHE_MAX, &v))
		return err_set(e, ERR_INVALID,
		               "LOOKUP_CACHE_SECONDS is a whole number of seconds from 0 to %d",
		               SERVICE_CONFIG_LOOKUP_CACHE_MAX);
	*out = (long)v;
	return 0;
}

const char *service_config_logsearch_functions(void)
{
	struct service_config c = service_config_get();

	return c.logsearch_functions ? c.logsearch_functions : c.function_name;
}

/* The Slack and log search allow-lists (namelist.h). */
static int check_allow_lists(const struct service_config *c, struct err *e)
{
	if (c->slack_team_ids &&
	    namelist_check(c->slack_team_ids, "SLACK_TEAM_IDS", "", 32, 0, e) != 0)
		return ERR_INVALID;
	if (c->slack_channel_ids &&
	    namelist_check(c->slack_channel_ids, "SLACK_CHANNEL_IDS", "", 32, 0, e) != 0)
		return ERR_INVALID;
	if (c->logsearch_functions && namelist_check(c->logsearch_functions, "LOGSEARCH_FUNCTIONS",
	                                             "-_", LAMBDA_MAX_NAME, 1, e) != 0)
		return ERR_INVALID;
	return 0;
}

const char *service_config_stack_name(void)
{
	struct service_config c = service_config_get();

	if (c.stack_name)
		return c.stack_name;
	return c.function_name ? c.function_name : "ebssh";
}

/* A tag value we write: 1 to 256 bytes, no control byte. */
static int check_tag_value(const char *name, const char *v, struct err *e)
{
	size_t i, n = strlen(v);

	if (n > SERVICE_CONFIG_TAG_VALUE_MAX)
		return err_set(e, ERR_INVALID, "%s has more than %d characters", name,
		               SERVICE_CONFIG_TAG_VALUE_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return err_set(e, ERR_INVALID, "%s has a control character", name);
	return 0;
}

int service_config_check(const struct service_config *c, struct err *e)
{
	long interval;
	const char *why;

	if (c->slack_webhook_url && check_url("SLACK_WEBHOOK_URL", c->slack_webhook_url, e))
		return ERR_INVALID;
	if (c->slack_response_prefix &&
	    check_url("EBSSH_SLACK_RESPONSE_URL_PREFIX", c->slack_response_prefix, e))
		return ERR_INVALID;
	if (c->notify_tz && (why = token_problem(c->notify_tz)) != NULL)
		return err_set(e, ERR_INVALID, "NOTIFY_TZ %s", why);
	if (c->zone_rules && c->zone_rules[0] != '/')
		return err_set(e, ERR_INVALID, "EBSSH_ZONE_RULES is not an absolute path");
	if (c->tz_dir && c->tz_dir[0] != '/')
		return err_set(e, ERR_INVALID, "TZDIR is not an absolute path");
	if (c->ops_api_key_id && (why = token_problem(c->ops_api_key_id)) != NULL)
		return err_set(e, ERR_INVALID, "OPS_API_KEY_ID %s", why);
	if (c->function_name && (why = token_problem(c->function_name)) != NULL)
		return err_set(e, ERR_INVALID, "AWS_LAMBDA_FUNCTION_NAME %s", why);
	if (c->backup_tag_key && service_config_check_tag_key(c->backup_tag_key, e))
		return ERR_INVALID;
	if (service_config_min_interval(c->backup_min_interval, "BACKUP_MIN_INTERVAL", &interval,
	                                e))
		return ERR_INVALID;
	if (service_config_lookup_cache_seconds(c->lookup_cache_seconds, &interval, e))
		return ERR_INVALID;
	if (c->stack_name && check_tag_value("EBSSH_STACK_NAME", c->stack_name, e))
		return ERR_INVALID;
	if (c->hook_target && lambda_check_invoke_target(c->hook_target, e)) {
		err_prefix(e, "EBSSH_HOOK_TARGET");
		return ERR_INVALID;
	}
	if (c->hook_environment && check_environment(c->hook_environment, e))
		return ERR_INVALID;
	if (c->skip_key_regex) {
		regex_t re;

		if (regcomp(&re, c->skip_key_regex, REG_EXTENDED | REG_NOSUB) != 0)
			return err_set(e, ERR_INVALID,
			               "SKIP_KEY_REGEX is not a POSIX extended regex");
		regfree(&re);
	}
	if (c->backup_queue_url && check_url("BACKUP_QUEUE_URL", c->backup_queue_url, e))
		return ERR_INVALID;
	if (check_allow_lists(c, e))
		return ERR_INVALID;
	return 0;
}

/* *dst = a copy of src (NULL stays NULL); ERR_NOMEM. */
static int keep(const char **dst, const char *src)
{
	char *copy = src ? strdup(src) : NULL;

	if (src && !copy)
		return ERR_NOMEM;
	*dst = copy;
	return 0;
}

int service_config_init(struct err *e)
{
	struct service_config c;
	int rc;

	service_config_read(&c);
	rc = service_config_check(&c, e);
	if (rc)
		return rc;
	/* Copies, kept for the process's life: the environment may change. */
	if (keep(&loaded.slack_webhook_url, c.slack_webhook_url) ||
	    keep(&loaded.slack_signing_secret, c.slack_signing_secret) ||
	    keep(&loaded.slack_response_prefix, c.slack_response_prefix) ||
	    keep(&loaded.slack_team_ids, c.slack_team_ids) ||
	    keep(&loaded.slack_channel_ids, c.slack_channel_ids) ||
	    keep(&loaded.logsearch_functions, c.logsearch_functions) ||
	    keep(&loaded.notify_tz, c.notify_tz) || keep(&loaded.tz_dir, c.tz_dir) ||
	    keep(&loaded.zone_rules, c.zone_rules) ||
	    keep(&loaded.function_name, c.function_name) ||
	    keep(&loaded.own_log_group, c.own_log_group) ||
	    keep(&loaded.backup_tag_key, c.backup_tag_key) ||
	    keep(&loaded.backup_min_interval, c.backup_min_interval) ||
	    keep(&loaded.stack_name, c.stack_name) || keep(&loaded.hook_target, c.hook_target) ||
	    keep(&loaded.hook_environment, c.hook_environment) ||
	    keep(&loaded.backup_queue_url, c.backup_queue_url) ||
	    keep(&loaded.ops_api_key_id, c.ops_api_key_id) ||
	    keep(&loaded.lookup_cache_seconds, c.lookup_cache_seconds) ||
	    keep(&loaded.gcs_bucket, c.gcs_bucket) ||
	    keep(&loaded.gc_credential, c.gc_credential) ||
	    keep(&loaded.skip_key_regex, c.skip_key_regex) ||
	    keep(&loaded.retry_sns_topic_arn, c.retry_sns_topic_arn) ||
	    keep(&loaded.project_id, c.project_id))
		return err_set(e, ERR_NOMEM, "out of memory");
	initialised = 1;
	/* Failing closed, but starting: the lookups do not depend on Slack. */
	if (c.slack_signing_secret && !c.slack_team_ids)
		log_msg(LOG_WARN, "SLACK_SIGNING_SECRET is set but SLACK_TEAM_IDS is not: "
		                  "every Slack request will be refused");
	return 0;
}

struct service_config service_config_get(void)
{
	struct service_config c;

	if (initialised)
		return loaded;
	service_config_read(&c);
	return c;
}
