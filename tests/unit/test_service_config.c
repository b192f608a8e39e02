/*
 * Unit tests of lambda/config: every variable read in one place, empty as
 * unset, each rule checked with a message that names the variable and
 * never echoes its value, and service_config_init's reading kept after
 * the environment changes.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "lambda/config.h"

static const char *const names[] = {
    "SLACK_WEBHOOK_URL",
    "SLACK_SIGNING_SECRET",
    "EBSSH_SLACK_RESPONSE_URL_PREFIX",
    "NOTIFY_TZ",
    "TZDIR",
    "AWS_LAMBDA_FUNCTION_NAME",
    "BACKUP_TAG_KEY",
    "EBSSH_HOOK_TARGET",
    "EBSSH_HOOK_ENVIRONMENT",
    "BACKUP_QUEUE_URL",
    "LOOKUP_CACHE_SECONDS",
};

static void clear_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
}

TEST_CASE(reads_every_variable)
{
	struct service_config c;
	struct err e;

	clear_env();
	setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/x", 1);
	setenv("SLACK_SIGNING_SECRET", "s3cret", 1);
	setenv("EBSSH_SLACK_RESPONSE_URL_PREFIX", "http://127.0.0.1:", 1);
	setenv("NOTIFY_TZ", "Europe/Paris", 1);
	setenv("TZDIR", "/usr/share/zoneinfo", 1);
	setenv("AWS_LAMBDA_FUNCTION_NAME", "ebssh-lookup", 1);
	setenv("BACKUP_TAG_KEY", "backup", 1);
	setenv("EBSSH_HOOK_TARGET", "arn:aws:lambda:eu-west-1:123456789012:function:s-lookup:7", 1);
	setenv("EBSSH_HOOK_ENVIRONMENT", "my-env", 1);
	setenv("BACKUP_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/q", 1);
	service_config_read(&c);
	CHECK_STR(c.slack_webhook_url, "https://hooks.slack.com/services/T/B/x");
	CHECK_STR(c.slack_signing_secret, "s3cret");
	CHECK_STR(c.slack_response_prefix, "http://127.0.0.1:");
	CHECK_STR(c.notify_tz, "Europe/Paris");
	CHECK_STR(c.tz_dir, "/usr/share/zoneinfo");
	CHECK_STR(c.function_name, "ebssh-lookup");
	CHECK_STR(c.backup_tag_key, "backup");
	CHECK_STR(c.hook_target, "arn:aws:lambda:eu-west-1:123456789012:function:s-lookup:7");
	CHECK_STR(c.hook_environment, "my-env");
	CHECK_STR(c.backup_queue_url, "https://sqs.eu-west-1.amazonaws.com/123456789012/q");
	CHECK_INT(service_config_check(&c, &e), 0);
	clear_env();
}

TEST_CASE(empty_is_unset)
{
	struct service_config c;
	struct err e;
	size_t i;

	clear_env();
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		setenv(names[i], "", 1);
	service_config_read(&c);
	CHECK(c.slack_webhook_url == NULL);
	CHECK(c.slack_signing_secret == NULL);
	CHECK(c.slack_response_prefix == NULL);
	CHECK(c.notify_tz == NULL);
	CHECK(c.tz_dir == NULL);
	CHECK(c.function_name == NULL);
	CHECK(c.backup_tag_key == NULL);
	CHECK_INT(service_config_check(&c, &e), 0);
	clear_env();
}

TEST_CASE(bad_values_name_the_variable)
{
	static const struct {
		const char *name, *value, *message;
	} bad[] = {
	    {"SLACK_WEBHOOK_URL", "ftp://hooks.slack.com/x",
	     "SLACK_WEBHOOK_URL is not an http(s) URL"},
	    {"SLACK_WEBHOOK_URL", "https://hooks.slack.com/a b",
	     "SLACK_WEBHOOK_URL holds a space, a control byte or a byte outside ASCII"},
	    {"EBSSH_SLACK_RESPONSE_URL_PREFIX",
	     "127.0.0.1:", "EBSSH_SLACK_RESPONSE_URL_PREFIX is not an http(s) URL"},
	    {"NOTIFY_TZ", "Europe/Paris\n",
	     "NOTIFY_TZ holds a space, a control byte or a byte outside ASCII"},
	    {"TZDIR", "zoneinfo", "TZDIR is not an absolute path"},
	    {"AWS_LAMBDA_FUNCTION_NAME", "my function",
	     "AWS_LAMBDA_FUNCTION_NAME holds a space, a control byte or a byte outside ASCII"},
	    {"BACKUP_TAG_KEY", "back\tup", "BACKUP_TAG_KEY has a control character"},
	    {"EBSSH_HOOK_TARGET", "arn:aws:s3:::bucket",
	     "EBSSH_HOOK_TARGET: a function to invoke is a name (letters, digits, '-', '_', '.'), "
	     "ACCOUNT:function:NAME or arn:aws:lambda:REGION:ACCOUNT:function:NAME, with an "
	     "optional :VERSION or :ALIAS"},
	    {"EBSSH_HOOK_TARGET", "my function",
	     "EBSSH_HOOK_TARGET: a function to invoke is a name (letters, digits, '-', '_', '.'), "
	     "ACCOUNT:function:NAME or arn:aws:lambda:REGION:ACCOUNT:function:NAME, with an "
	     "optional :VERSION or :ALIAS"},
	    {"EBSSH_HOOK_ENVIRONMENT", "env",
	     "EBSSH_HOOK_ENVIRONMENT is an environment name of 4 to 40 characters"},
	    {"EBSSH_HOOK_ENVIRONMENT", "my_env",
	     "EBSSH_HOOK_ENVIRONMENT has only letters, digits and hyphens"},
	    {"EBSSH_HOOK_ENVIRONMENT", "-env",
	     "EBSSH_HOOK_ENVIRONMENT neither starts nor ends with a hyphen"},
	    {"LOOKUP_CACHE_SECONDS", "-1",
	     "LOOKUP_CACHE_SECONDS is a whole number of seconds from 0 to 300"},
	    {"LOOKUP_CACHE_SECONDS", "301",
	     "LOOKUP_CACHE_SECONDS is a whole number of seconds from 0 to 300"},
	    {"LOOKUP_CACHE_SECONDS", "05",
	     "LOOKUP_CACHE_SECONDS is a whole number of seconds from 0 to 300"},
	    {"LOOKUP_CACHE_SECONDS", "5s",
	     "LOOKUP_CACHE_SECONDS is a whole number of seconds from 0 to 300"},
	};
	char long_key[SERVICE_CONFIG_TAG_KEY_MAX + 2];
	struct service_config c;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_env();
		setenv(bad[i].name, bad[i].value, 1);
		service_config_read(&c);
		CHECK_INT(service_config_check(&c, &e), ERR_INVALID);
		CHECK_STR(e.message, bad[i].message);
	}
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	clear_env();
	setenv("BACKUP_TAG_KEY", long_key, 1);
	service_config_read(&c);
	CHECK_INT(service_config_check(&c, &e), ERR_INVALID);
	CHECK_STR(e.message, "BACKUP_TAG_KEY must have 1 to 128 characters");
	long_key[SERVICE_CONFIG_TAG_KEY_MAX] = '\0';
	CHECK_INT(service_config_check_tag_key(long_key, &e), 0);
	clear_env();
}

TEST_CASE(init_refuses_then_keeps_its_reading)
{
	struct service_config c;
	struct err e;

	clear_env();
	setenv("TZDIR", "relative", 1);
	CHECK_INT(service_config_init(&e), ERR_INVALID);
	CHECK_STR(e.message, "TZDIR is not an absolute path");
	/* Not initialised: each call reads the environment again. */
	setenv("TZDIR", "/opt/zones", 1);
	CHECK_STR(service_config_get().tz_dir, "/opt/zones");
	setenv("BACKUP_TAG_KEY", "nightly", 1);
	CHECK_INT(service_config_init(&e), 0);
	setenv("BACKUP_TAG_KEY", "other", 1);
	unsetenv("TZDIR");
	c = service_config_get();
	CHECK_STR(c.backup_tag_key, "nightly");
	CHECK_STR(c.tz_dir, "/opt/zones");
}

/* Issue 15: the Slack and log search allow-lists, and the default list. */
TEST_CASE(lookup_cache_seconds)
{
	struct err e;
	long v = -1;

	err_clear(&e);
	CHECK_INT(service_config_lookup_cache_seconds(NULL, &v, &e), 0);
	CHECK_INT((int)v, 5);
	CHECK_INT(service_config_lookup_cache_seconds("0", &v, &e), 0);
	CHECK_INT((int)v, 0);
	CHECK_INT(service_config_lookup_cache_seconds("300", &v, &e), 0);
	CHECK_INT((int)v, 300);
	CHECK_INT(service_config_lookup_cache_seconds("3000", &v, &e), ERR_INVALID);
}

TEST_CASE(allow_lists)
{
	static const struct {
		const char *name, *value, *message;
	} bad[] = {
	    {"SLACK_TEAM_IDS", "T1, T2", "SLACK_TEAM_IDS items hold only letters, digits"},
	    {"SLACK_TEAM_IDS", "T*", "SLACK_TEAM_IDS items hold only letters, digits"},
	    {"SLACK_CHANNEL_IDS", "C1,", "SLACK_CHANNEL_IDS ends with a comma"},
	    {"LOGSEARCH_FUNCTIONS", "a/b",
	     "LOGSEARCH_FUNCTIONS items hold only letters, digits and -_ and *"},
	    {"LOGSEARCH_FUNCTIONS", "a,,b",
	     "LOGSEARCH_FUNCTIONS is a comma-separated list of items of 1 to 64 characters"},
	};
	static const char *const mine[] = {"SLACK_TEAM_IDS", "SLACK_CHANNEL_IDS",
	                                   "LOGSEARCH_FUNCTIONS"};
	struct service_config c;
	struct err e;
	size_t i, k;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_env();
		for (k = 0; k < 3; k++)
			unsetenv(mine[k]);
		setenv(bad[i].name, bad[i].value, 1);
		service_config_read(&c);
		CHECK_INT(service_config_check(&c, &e), ERR_INVALID);
		CHECK_STR(e.message, bad[i].message);
	}
	clear_env();
	setenv("SLACK_TEAM_IDS", "T0001,T0002", 1);
	setenv("SLACK_CHANNEL_IDS", "C1", 1);
	setenv("LOGSEARCH_FUNCTIONS", "s-lookup,app-*", 1);
	service_config_read(&c);
	CHECK_INT(service_config_check(&c, &e), 0);
	CHECK_STR(c.slack_team_ids, "T0001,T0002");
	CHECK_STR(c.slack_channel_ids, "C1");
	CHECK_STR(service_config_logsearch_functions(), "s-lookup,app-*");
	unsetenv("LOGSEARCH_FUNCTIONS");
	CHECK(service_config_logsearch_functions() == NULL);
	setenv("AWS_LAMBDA_FUNCTION_NAME", "s-lookup", 1);
	CHECK_STR(service_config_logsearch_functions(), "s-lookup");
	for (k = 0; k < 3; k++)
		unsetenv(mine[k]);
	clear_env();
}

int main(void)
{
	RUN(reads_every_variable);
	RUN(empty_is_unset);
	RUN(bad_values_name_the_variable);
	RUN(lookup_cache_seconds);
	RUN(allow_lists);
	RUN(init_refuses_then_keeps_its_reading);
	return TEST_DONE();
}
