/* Unit tests of proxy/alias: the table of aliases ssh may pass as %h. */
#include "test.h"

#include "proxy/alias.h"

struct alias_case {
	const char *host;
	const char *name; /* NULL: an error is expected */
	unsigned index;
	const char *msg; /* for errors: a substring of the message */
};

static const struct alias_case eb_cases[] = {
    /* the forms docs/ebssh-proxy.1 describes (Aliases) */
    {"my-env-production", "my-env-production", 1, NULL},
    {"my-env-production2", "my-env-production", 2, NULL},
    {"my-env-production.2", "my-env-production", 2, NULL},
    {"my-env-production.1000", "my-env-production", 1000, NULL},
    {"my-env-production1000", "my-env-production", 1000, NULL},
    {"env-v2", "env-v", 2, NULL},
    {"env-v2.3", "env-v2", 3, NULL},
    {"env-v2.1", "env-v2", 1, NULL},
    {"1234.5", "1234", 5, NULL},
    {"Prod", "Prod", 1, NULL},
    {"abcd", "abcd", 1, NULL},
    {"a-b-c-d12", "a-b-c-d", 12, NULL},
    {"abcdefghijabcdefghijabcdefghijabcdefghij", "abcdefghijabcdefghijabcdefghijabcdefghij", 1,
     NULL},
    {"abcdefghijabcdefghijabcdefghijabcdefghij.7", "abcdefghijabcdefghijabcdefghijabcdefghij", 7,
     NULL},
    {"abcdefghijabcdefghijabcdefghijabcdefghij7", "abcdefghijabcdefghijabcdefghijabcdefghij", 7,
     NULL},
    /* the edge cases of issue 4 */
    {"env", NULL, 0, "alias \"env\": an environment name has 4 to 40 characters, not 3"},
    {"env2", NULL, 0, "alias \"env2\": an environment name has 4 to 40 characters, not 3"},
    {"env.2", NULL, 0, "alias \"env.2\": an environment name has 4 to 40 characters, not 3"},
    {"env.0", NULL, 0, "instance indexes start at 1, not 0"},
    {"envx.0", NULL, 0, "alias \"envx.0\": instance indexes start at 1, not 0"},
    {"envx0", NULL, 0,
     "instance indexes start at 1, not 0; for the environment envx0 write "
     "envx0.1"},
    {"envx.01", NULL, 0, "the instance index 01 has a leading zero"},
    {"web-01", NULL, 0, "leading zero; for the environment web-01 write web-01.1"},
    {"envx.1001", NULL, 0, "the instance index 1001 is past the maximum 1000"},
    {"envx.99999999999999999999", NULL, 0, "past the maximum 1000"},
    {"envx.-1", NULL, 0, "the instance index must be a number"},
    {"envx.+1", NULL, 0, "'+' is not allowed"},
    {".2", NULL, 0, "alias \".2\": no name before the dot"},
    {".", NULL, 0, "ends with a dot"},
    {"my-env.", NULL, 0, "alias \"my-env.\": ends with a dot"},
    {"my-env.2.", NULL, 0, "ends with a dot"},
    {"my.env.2", NULL, 0, "only one dot is allowed"},
    {"my-env.x", NULL, 0, "the instance index must be a number"},
    {"12345", NULL, 0, "no name before the index; for the environment 12345 write 12345.1"},
    {"web-2", NULL, 0,
     "an environment name may not end with a hyphen; for the environment "
     "web-2 write web-2.1"},
    {"my-env-.2", NULL, 0, "may not end with a hyphen"},
    {"-env", NULL, 0, "alias \"-env\": an alias may not start with a hyphen"},
    {"-oProxyCommand=sh", NULL, 0, "may not start with a hyphen"},
    {"", NULL, 0, "the alias is empty"},
    {"abcdefghijabcdefghijabcdefghijabcdefghijk", NULL, 0, "4 to 40 characters, not 41"},
    {"abcdefghijabcdefghijabcdefghijabcdefghijk.2", NULL, 0, "4 to 40 characters, not 41"},
    {"my-env;rm -rf", NULL, 0,
     "';' is not allowed: only letters, digits and hyphens, and a dot before the index"},
    {"my-env$(id)", NULL, 0, "'$' is not allowed"},
    {"my-env`id`", NULL, 0, "'`' is not allowed"},
    {"my env", NULL, 0, "\\x20 is not allowed"},
    {"my-env|cat", NULL, 0, "'|' is not allowed"},
    {"my-env&", NULL, 0, "'&' is not allowed"},
    {"my-env'", NULL, 0, "\\x27 is not allowed"},
    {"my-env\n", NULL, 0, "alias \"my-env\\x0a\": \\x0a is not allowed"},
    {"my_env", NULL, 0, "'_' is not allowed"},
    {"my/env", NULL, 0, "'/' is not allowed"},
    {"[my-env]:2222", NULL, 0, "'[' is not allowed"},
    {"envé", NULL, 0, "alias \"env\\xc3\\xa9\": non-ASCII byte \\xc3"},
    {"\xe2\x80\x8b"
     "envx",
     NULL, 0, "non-ASCII byte \\xe2"},
};

static void run_case(const struct alias_case *c, enum alias_kind kind)
{
	struct alias a;
	struct err e;
	int rc;

	err_clear(&e);
	memset(&a, 0x55, sizeof(a));
	rc = alias_parse_kind(c->host, kind, &a, &e);
	if (c->name) {
		CHECK_INT(rc, 0);
		CHECK_STR(a.name, c->name);
		CHECK_INT(a.index, c->index);
		CHECK_INT(a.kind, kind);
		if (rc)
			printf("# %s: %s\n", c->host, e.message);
	} else {
		CHECK_INT(rc, ERR_INVALID);
		CHECK_INT(e.code, ERR_INVALID);
		CHECK_STR(a.name, "");
		CHECK_INT(a.index, 0);
		if (!strstr(e.message, c->msg)) {
			printf("# %s: message \"%s\" lacks \"%s\"\n", c->host, e.message, c->msg);
			test_failed_case = 1;
		}
	}
}

TEST_CASE(eb_alias_table)
{
	size_t i;

	for (i = 0; i < sizeof(eb_cases) / sizeof(eb_cases[0]); i++)
		run_case(&eb_cases[i], ALIAS_EB);
}

static const struct alias_case asg_cases[] = {
    {"web", "web", 1, NULL},
    {"w", "w", 1, NULL},
    {"web_asg-", "web_asg-", 1, NULL},
    {"web_asg-3", "web_asg-", 3, NULL},
    {"web-asg2", "web-asg", 2, NULL},
    {"web-asg2.4", "web-asg2", 4, NULL},
    {"awseb-e-abc123-stack-AWSEBAutoScalingGroup-1ABCDEF2GHIJ",
     "awseb-e-abc123-stack-AWSEBAutoScalingGroup-1ABCDEF2GHIJ", 1, NULL},
    {"_x.2", "_x", 2, NULL},
    {"9", NULL, 0, "no name before the index; for the Auto Scaling group 9 write 9.1"},
    {"-web", NULL, 0, "may not start with a hyphen"},
    {"web asg", NULL, 0, "\\x20 is not allowed: only letters, digits, hyphens and underscores"},
    {"web/asg", NULL, 0, "'/' is not allowed"},
    {"web.0", NULL, 0, "start at 1"},
};

TEST_CASE(asg_alias_table)
{
	size_t i;

	for (i = 0; i < sizeof(asg_cases) / sizeof(asg_cases[0]); i++)
		run_case(&asg_cases[i], ALIAS_ASG);
}

TEST_CASE(overlong_and_null)
{
	char host[400];
	struct alias a;
	struct err e;

	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	CHECK_INT(alias_parse(host, &a, &e), ERR_INVALID);
	CHECK(strstr(e.message, "longer than 255 characters") != NULL);
	CHECK(strstr(e.message, "...\"") != NULL); /* the quoted alias is cut */
	CHECK(strlen(e.message) < 200);
	CHECK_INT(alias_parse_kind(host, ALIAS_ASG, &a, &e), ERR_INVALID);
	host[255] = '\0'; /* exactly 255: fine as a group, too long for EB */
	CHECK_INT(alias_parse_kind(host, ALIAS_ASG, &a, &e), 0);
	CHECK_INT(strlen(a.name), 255);
	CHECK_INT(alias_parse(host, &a, &e), ERR_INVALID);
	CHECK(strstr(e.message, "4 to 40 characters, not 255") != NULL);
	CHECK_INT(alias_parse(NULL, &a, &e), ERR_INVALID);
	CHECK_STR(e.message, "alias \"\": the alias is empty");
	CHECK_INT(alias_parse("my-env", &a, NULL), 0); /* e may be NULL */
	CHECK_INT(alias_parse("env", &a, NULL), ERR_INVALID);
}

TEST_CASE(parse_name_takes_host_whole)
{
	struct alias a;
	struct err e;

	CHECK_INT(alias_parse_name("app-v2", ALIAS_EB, 3, &a, &e), 0);
	CHECK_STR(a.name, "app-v2");
	CHECK_INT(a.index, 3);
	CHECK_INT(alias_parse_name("my-env-production", ALIAS_EB, 1, &a, &e), 0);
	CHECK_STR(a.name, "my-env-production");
	CHECK_INT(alias_parse_name("web-2", ALIAS_EB, 1, &a, &e), 0);
	CHECK_STR(a.name, "web-2");
	CHECK_INT(alias_parse_name("app.2", ALIAS_EB, 1, &a, &e), ERR_INVALID);
	CHECK(strstr(e.message, "'.' is not allowed") != NULL);
	CHECK_INT(alias_parse_name("web-", ALIAS_EB, 1, &a, &e), ERR_INVALID);
	CHECK_INT(alias_parse_name("web-", ALIAS_ASG, 1, &a, &e), 0);
	CHECK_INT(alias_parse_name("my-env", ALIAS_EB, 0, &a, &e), ERR_INVALID);
	CHECK(strstr(e.message, "must be 1 to 1000") != NULL);
	CHECK_INT(alias_parse_name("my-env", ALIAS_EB, 1001, &a, &e), ERR_INVALID);
}

TEST_CASE(index_parser)
{
	unsigned v = 0;
	struct err e;

	CHECK_INT(alias_parse_index("1", &v, &e), 0);
	CHECK_INT(v, 1);
	CHECK_INT(alias_parse_index("1000", &v, &e), 0);
	CHECK_INT(v, 1000);
	CHECK_INT(alias_parse_index("999", &v, &e), 0);
	CHECK_INT(v, 999);
	CHECK_INT(alias_parse_index("0", &v, &e), ERR_INVALID);
	CHECK_INT(alias_parse_index("01", &v, &e), ERR_INVALID);
	CHECK_INT(alias_parse_index("1001", &v, &e), ERR_INVALID);
	CHECK_INT(alias_parse_index("", &v, &e), ERR_INVALID);
	CHECK_INT(alias_parse_index(" 1", &v, &e), ERR_INVALID);
	CHECK_INT(alias_parse_index("1 ", &v, &e), ERR_INVALID);
	CHECK_INT(alias_parse_index("+1", &v, &e), ERR_INVALID);
	CHECK_INT(alias_parse_index("-1", &v, &e), ERR_INVALID);
	CHECK_INT(alias_parse_index("0x10", &v, &e), ERR_INVALID);
	CHECK_INT(alias_parse_index("4294967297", &v, &e), ERR_INVALID);
	CHECK_INT(alias_parse_index(NULL, &v, &e), ERR_INVALID);
	CHECK_INT(v, 999);
}

TEST_CASE(known_hosts_form)
{
	char out[64];
	struct err e;

	CHECK_INT(alias_strip_known_hosts_form("[my-env2]:2222", out, sizeof(out), &e), 0);
	CHECK_STR(out, "my-env2");
	CHECK_INT(alias_strip_known_hosts_form("my-env2", out, sizeof(out), &e), 0);
	CHECK_STR(out, "my-env2");
	CHECK_INT(alias_strip_known_hosts_form("[my-env2]:65535", out, sizeof(out), &e), 0);
	CHECK_STR(out, "my-env2");
	CHECK_INT(alias_strip_known_hosts_form("[my-env2]", out, sizeof(out), &e), ERR_INVALID);
	CHECK_INT(alias_strip_known_hosts_form("[my-env2]:", out, sizeof(out), &e), ERR_INVALID);
	CHECK_INT(alias_strip_known_hosts_form("[my-env2]:0", out, sizeof(out), &e), ERR_INVALID);
	CHECK_INT(alias_strip_known_hosts_form("[my-env2]:022", out, sizeof(out), &e), ERR_INVALID);
	CHECK_INT(alias_strip_known_hosts_form("[my-env2]:65536", out, sizeof(out), &e),
	          ERR_INVALID);
	CHECK_INT(
	    alias_strip_known_hosts_form("[my-env2]:99999999999999999999", out, sizeof(out), &e),
	    ERR_INVALID);
	CHECK_INT(alias_strip_known_hosts_form("[my-env2:22", out, sizeof(out), &e), ERR_INVALID);
	CHECK_INT(alias_strip_known_hosts_form("[my-env2]:22", out, 8, &e), 0);
	CHECK_STR(out, "my-env2");
	CHECK_INT(alias_strip_known_hosts_form("[my-env2]:22", out, 7, &e), ERR_TOO_LARGE);
}

TEST_CASE(quote_is_printable_and_bounded)
{
	char out[16];

	alias_quote("a\"b\\c\x01", out, sizeof(out));
	CHECK_STR(out, "\"a\\x22b\\x5c...\"");
	alias_quote("abc", out, sizeof(out));
	CHECK_STR(out, "\"abc\"");
	alias_quote(NULL, out, sizeof(out));
	CHECK_STR(out, "\"\"");
	alias_quote("abcdefghijklmnop", out, sizeof(out));
	CHECK_STR(out, "\"abcdefghij...\"");
	CHECK_INT(strlen(out), 15);
}

int main(void)
{
	RUN(eb_alias_table);
	RUN(asg_alias_table);
	RUN(overlong_and_null);
	RUN(parse_name_takes_host_whole);
	RUN(index_parser);
	RUN(known_hosts_form);
	RUN(quote_is_printable_and_bounded);
	return TEST_DONE();
}
