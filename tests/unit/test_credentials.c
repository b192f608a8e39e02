/*
 * Unit tests of aws/credentials: the environment and profile sources, their
 * precedence and every error they report, and the pure JSON and time parsers.
 * The container and IMDS sources are covered by tests/integration/credentials.sh.
 */
#include "test.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/credentials.h"

static char tmpdir[] = "/tmp/ebssh-creds-XXXXXX";
static char cred_path[64], conf_path[64];

static void clean_env(void)
{
	static const char *const vars[] = {
	    "AWS_ACCESS_KEY_ID",
	    "AWS_SECRET_ACCESS_KEY",
	    "AWS_SESSION_TOKEN",
	    "AWS_PROFILE",
	    "AWS_CONFIG_FILE",
	    "AWS_SHARED_CREDENTIALS_FILE",
	    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	    "AWS_EC2_METADATA_DISABLED",
	    "AWS_WEB_IDENTITY_TOKEN_FILE",
	    "AWS_ROLE_ARN",
	    "AWS_ROLE_SESSION_NAME",
	};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("HOME", tmpdir, 1);
	unlink(cred_path);
	unlink(conf_path);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void files(const char *credentials, const char *config)
{
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
	setenv("AWS_CONFIG_FILE", conf_path, 1);
	if (credentials)
		write_file(cred_path, credentials);
	if (config)
		write_file(conf_path, config);
}

/* One credentials_get with a fresh provider; *key is "" on failure. */
struct got {
	int rc;
	char key[64], secret[64], token[64], source[16];
	time_t expiration;
	struct err e;
};

static struct got get(void)
{
	struct credentials_provider *p = credentials_provider_new(NULL, NULL);
	const struct aws_credentials *c = NULL;
	struct got g;

	memset(&g, 0, sizeof(g));
	g.rc = credentials_get(p, &c, &g.e);
	if (g.rc == 0 && c) {
		snprintf(g.key, sizeof(g.key), "%s", c->access_key_id);
		snprintf(g.secret, sizeof(g.secret), "%s", c->secret_access_key);
		snprintf(g.token, sizeof(g.token), "%s", c->session_token ? c->session_token : "-");
		g.expiration = c->expiration;
	}
	snprintf(g.source, sizeof(g.source), "%s", credentials_source(p));
	credentials_provider_free(p);
	return g;
}

TEST_CASE(environment_keys)
{
	struct got g;

	clean_env();
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	g = get();
	CHECK_INT(g.rc, 0);
	CHECK_STR(g.key, "AKIDENV");
	CHECK_STR(g.secret, "secretenv");
	CHECK_STR(g.token, "-");
	CHECK_STR(g.source, "environment");
	CHECK_INT(g.expiration, 0);
	setenv("AWS_SESSION_TOKEN", "tokenenv", 1);
	g = get();
	CHECK_STR(g.token, "tokenenv");
	setenv("AWS_SESSION_TOKEN", "", 1);
	g = get();
	CHECK_STR(g.token, "-");
}

TEST_CASE(environment_half_keys_are_errors)
{
	struct got g;

	clean_env();
	files("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n", NULL);
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	g = get();
	CHECK_INT(g.rc, ERR_CREDENTIALS);
	CHECK_STR(g.e.message, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
	CHECK_STR(g.source, "none");
	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	g = get();
	CHECK_INT(g.rc, ERR_CREDENTIALS);
	CHECK_STR(g.e.message, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
	setenv("AWS_ACCESS_KEY_ID", "", 1); /* empty means unset: both empty, to the profile */
	setenv("AWS_SECRET_ACCESS_KEY", "", 1);
	g = get();
	CHECK_INT(g.rc, 0);
	CHECK_STR(g.key, "AKIDFILE");
	CHECK_STR(g.source, "profile");
}

TEST_CASE(environment_before_profile)
{
	struct got g;

	clean_env();
	files("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n", NULL);
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	g = get();
	CHECK_STR(g.key, "AKIDENV");
}

TEST_CASE(credentials_file_default_profile)
{
	struct got g;

	clean_env();
	files("[default]\n"
	      "AWS_ACCESS_KEY_ID = AKIDFILE\n"
	      "aws_secret_access_key = secret/with+chars=\n"
	      "aws_session_token = tok==\n"
	      "[other]\n"
	      "aws_access_key_id = AKIDOTHER\n",
	      NULL);
	g = get();
	CHECK_INT(g.rc, 0);
	CHECK_STR(g.key, "AKIDFILE");
	CHECK_STR(g.secret, "secret/with+chars=");
	CHECK_STR(g.token, "tok==");
	CHECK_STR(g.source, "profile");
	CHECK_INT(g.expiration, 0);

	files("[default]\naws_access_key_id = A\naws_secret_access_key = s\n"
	      "aws_security_token = legacy\n",
	      NULL);
	g = get();
	CHECK_STR(g.token, "legacy");
}

TEST_CASE(home_aws_files_are_the_default)
{
	char dir[300], path[320];
	struct got g;

	clean_env();
	snprintf(dir, sizeof(dir), "%s/.aws", tmpdir);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/credentials", dir);
	write_file(path, "[default]\naws_access_key_id = AKIDHOME\naws_secret_access_key = s\n");
	g = get();
	CHECK_INT(g.rc, 0);
	CHECK_STR(g.key, "AKIDHOME");
	unlink(path);
	snprintf(path, sizeof(path), "%s/config", dir);
	write_file(path,
	           "[default]\naws_access_key_id = AKIDHOMECONF\naws_secret_access_key = s\n");
	g = get();
	CHECK_STR(g.key, "AKIDHOMECONF");
	unlink(path);
	rmdir(dir);
}

TEST_CASE(named_profile_in_both_files)
{
	struct got g;

	clean_env();
	files("[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s\n"
	      "[dev]\naws_access_key_id = AKIDDEVCRED\naws_secret_access_key = s\n",
	      "[profile dev]\naws_access_key_id = AKIDDEVCONF\naws_secret_access_key = s\n"
	      "[profile qa]\naws_access_key_id = AKIDQACONF\naws_secret_access_key = s\n"
	      "[qa]\naws_access_key_id = NOTAPROFILE\naws_secret_access_key = s\n");
	setenv("AWS_PROFILE", "dev", 1);
	g = get();
	CHECK_STR(g.key, "AKIDDEVCRED"); /* the credentials file first */
	setenv("AWS_PROFILE", "qa", 1);
	g = get();
	CHECK_STR(g.key, "AKIDQACONF"); /* "[profile qa]", not "[qa]", in the config file */
	unsetenv("AWS_PROFILE");
	g = get();
	CHECK_STR(g.key, "AKIDDEFAULT");
	files("[dev]\nregion = x\n", "[default]\naws_access_key_id = AKIDCONFDEFAULT\n"
	                             "aws_secret_access_key = s\n");
	g = get();
	CHECK_STR(g.key, "AKIDCONFDEFAULT");
}

TEST_CASE(partial_profiles_are_errors)
{
	char want[1024];
	struct got g;

	clean_env();
	files("[default]\naws_access_key_id = AKID\n", "[default]\naws_access_key_id = A\n"
	                                               "aws_secret_access_key = s\n");
	g = get();
	CHECK_INT(g.rc, ERR_CREDENTIALS);
	snprintf(want, sizeof(want),
	         "profile default in %s has aws_access_key_id but no aws_secret_access_key",
	         cred_path);
	CHECK_STR(g.e.message, want);

	files("[default]\n", "[profile dev]\naws_secret_access_key = s\n");
	setenv("AWS_PROFILE", "dev", 1);
	g = get();
	CHECK_INT(g.rc, ERR_CREDENTIALS);
	snprintf(want, sizeof(want),
	         "profile dev in %s has aws_secret_access_key but no aws_access_key_id", conf_path);
	CHECK_STR(g.e.message, want);
}

TEST_CASE(profile_configuration_errors)
{
	static const struct {
		const char *credentials, *config, *want;
	} cases[] = {
	    {"", "[default]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\n",
	     "profile default: its source_profile base does not exist"},
	    {"", "[default]\nrole_arn = arn:aws:iam::1:role/x\n",
	     "profile default has role_arn but neither source_profile nor credential_source"},
	    {"",
	     "[default]\nrole_arn = r\nsource_profile = default\ncredential_source = Environment\n",
	     "profile default has both source_profile and credential_source"},
	    {"", "[default]\nrole_arn = r\ncredential_source = environment\n",
	     "profile default: credential_source \"environment\" is not valid (Environment, "
	     "EcsContainer or Ec2InstanceMetadata)"},
	    {"", "[default]\nrole_arn = r\ncredential_source = Environment\n",
	     "profile default: credential_source Environment found no credentials"},
	    {"",
	     "[default]\nrole_arn = r\nsource_profile = a\n[profile a]\nrole_arn = r2\n"
	     "source_profile = default\n",
	     "source_profile loop: default -> a -> default"},
	    {"", "[default]\nrole_arn = r\nsource_profile = default\n",
	     "source_profile loop: default -> default"},
	    {"",
	     "[default]\nrole_arn = r\nsource_profile = a\nmfa_serial = arn:aws:iam::1:mfa/me\n"
	     "[profile a]\naws_access_key_id = A\naws_secret_access_key = s\n",
	     "profile default uses mfa_serial arn:aws:iam::1:mfa/me: ebssh cannot ask for an MFA "
	     "code; run an AWS CLI command with --profile default (it asks and caches the role's "
	     "credentials, which ebssh then uses until they expire)"},
	    {"", "[default]\nrole_arn = r\nsource_profile = a\n[profile a]\nregion = x\n",
	     "the source profile a (of profile default) must have credentials"},
	    {"", "[default]\nweb_identity_token_file = /t\n",
	     "profile default: web identity token file /t is configured but no role ARN: set "
	     "AWS_ROLE_ARN or the profile's role_arn"},
	    {"", "[default]\nsso_account_id = 1\n",
	     "profile default is configured to use SSO but is missing sso_role_name, "
	     "sso_start_url, sso_region"},
	    {"",
	     "[default]\nsso_account_id = 1\nsso_role_name = r\nsso_region = eu-west-1\n"
	     "sso_start_url = https://b\nsso_session = s\n[sso-session s]\n"
	     "sso_start_url = https://a\n",
	     "profile default: sso_start_url is \"https://b\" in the profile but \"https://a\" in "
	     "sso-session s"},
	    {"", "[default]\ncredential_process = /bin/true\n",
	     "profile default: credential_process: its output is not a JSON object"},
	    {"", "[default]\ncredential_process = /bin/false\n",
	     "profile default: credential_process exited with status 1"},
	    {"", "[default]\ncredential_process = /nonexistent/helper\n",
	     "profile default: credential_process /nonexistent/helper: No such file or directory"},
	    {"", "[default]\ncredential_process = \"unclosed\n",
	     "profile default: credential_process: No closing quotation"},
	};
	char want[1024];
	struct got g;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		clean_env();
		files(cases[i].credentials, cases[i].config);
		g = get();
		CHECK_INT(g.rc, ERR_CREDENTIALS);
		CHECK_STR(g.e.message, cases[i].want);
	}
	/* an sso_session without its section names the file */
	clean_env();
	files("", "[default]\nsso_account_id = 1\nsso_session = s\n");
	g = get();
	CHECK_INT(g.rc, ERR_CREDENTIALS);
	snprintf(want, sizeof(want),
	         "profile default: the sso_session \"s\" has no [sso-session s] section in %s",
	         conf_path);
	CHECK_STR(g.e.message, want);
	/* settings that configure nothing by themselves, as botocore ignores them */
	clean_env();
	files("[default]\nsource_profile = base\n",
	      "[default]\nsso_start_url = https://x\nsso_session = s\ncredential_source = "
	      "Environment\n");
	g = get();
	CHECK_INT(g.rc, ERR_CREDENTIALS);
	CHECK(strstr(g.e.message, "no AWS credentials found") != NULL);
	/* botocore's order: keys of the credentials file before credential_process */
	clean_env();
	files("[default]\naws_access_key_id = AKIDKEYS\naws_secret_access_key = s\n",
	      "[default]\ncredential_process = /bin/true\n");
	g = get();
	CHECK_INT(g.rc, 0);
	CHECK_STR(g.key, "AKIDKEYS");
}

TEST_CASE(missing_named_profile_is_an_error)
{
	char want[1024];
	struct got g;

	clean_env();
	files("[default]\naws_access_key_id = A\naws_secret_access_key = s\n", "[default]\n");
	setenv("AWS_PROFILE", "nosuch", 1);
	g = get();
	CHECK_INT(g.rc, ERR_CREDENTIALS);
	snprintf(want, sizeof(want), "profile nosuch (AWS_PROFILE) not found in %s or %s",
	         cred_path, conf_path);
	CHECK_STR(g.e.message, want);
}

TEST_CASE(broken_files_are_errors)
{
	char want[1024];
	struct got g;

	clean_env();
	files("aws_access_key_id = A\n", NULL);
	g = get();
	CHECK_INT(g.rc, ERR_CREDENTIALS);
	snprintf(want, sizeof(want), "%s: line 1: text before the first [section]", cred_path);
	CHECK_STR(g.e.message, want);
	files("[default]\n", "[default]\nno equals sign\n");
	g = get();
	CHECK_INT(g.rc, ERR_CREDENTIALS);
	snprintf(want, sizeof(want), "%s: line 2: expected \"key = value\"", conf_path);
	CHECK_STR(g.e.message, want);
	setenv("AWS_SHARED_CREDENTIALS_FILE", tmpdir, 1); /* a directory */
	g = get();
	CHECK_INT(g.rc, ERR_CREDENTIALS);
	snprintf(want, sizeof(want), "%s is not a regular file", tmpdir);
	CHECK_STR(g.e.message, want);
}

TEST_CASE(nothing_found_names_what_was_tried)
{
	char want[1024];
	struct got g;

	clean_env();
	g = get();
	CHECK_INT(g.rc, ERR_CREDENTIALS);
	snprintf(
	    want, sizeof(want),
	    "no AWS credentials found (environment: not set; profile default: no credentials in no "
	    "credentials file, no config file; container: not configured; IMDS: no HTTP "
	    "client)");
	CHECK_STR(g.e.message, want);
	CHECK_STR(g.source, "none");

	files("[default]\nregion = us-east-1\n", "[default]\nregion = us-east-1\n");
	setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x", 1);
	g = get();
	CHECK_INT(g.rc, ERR_CREDENTIALS);
	snprintf(want, sizeof(want),
	         "no AWS credentials found (environment: not set; profile default: no credentials "
	         "in %s, "
	         "%s; container: no HTTP client; IMDS: disabled by AWS_EC2_METADATA_DISABLED)",
	         cred_path, conf_path);
	CHECK_STR(g.e.message, want);
}

TEST_CASE(static_credentials_are_cached)
{
	struct credentials_provider *p;
	const struct aws_credentials *a = NULL, *b = NULL;
	struct err e;

	clean_env();
	setenv("AWS_ACCESS_KEY_ID", "AKIDONE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
	p = credentials_provider_new(NULL, &e);
	CHECK(p != NULL);
	CHECK_STR(credentials_source(p), "none");
	CHECK_INT(credentials_get(p, &a, &e), 0);
	setenv("AWS_ACCESS_KEY_ID", "AKIDTWO", 1);
	CHECK_INT(credentials_get(p, &b, &e), 0);
	CHECK(a == b);
	CHECK_STR(b->access_key_id, "AKIDONE");
	credentials_provider_free(p);
	credentials_provider_free(NULL);
}

TEST_CASE(clear_wipes_and_zeroes)
{
	struct aws_credentials c;

	c.access_key_id = strdup("A");
	c.secret_access_key = strdup("S");
	c.session_token = NULL;
	c.expiration = 5;
	aws_credentials_clear(&c);
	CHECK(c.access_key_id == NULL);
	CHECK(c.secret_access_key == NULL);
	CHECK_INT(c.expiration, 0);
	aws_credentials_clear(NULL);
}

TEST_CASE(iso8601_times)
{
	static const struct {
		const char *s;
		long long t;
	} good[] = {
	    {"2024-05-01T12:00:00Z", 1714564800LL},
	    {"2024-05-01T12:00:00.123456Z", 1714564800LL},
	    {"2024-05-01t12:00:00z", 1714564800LL},
	    {"2024-05-01T14:00:00+02:00", 1714564800LL},
	    {"2024-05-01T06:30:00-0530", 1714564800LL},
	    {"1970-01-01T00:00:00Z", 0},
	    {"2024-02-29T00:00:00Z", 1709164800LL},
	    {"2000-02-29T23:59:60Z", 951868800LL},
	};
	static const char *const bad[] = {
	    "2024-05-01T12:00:00",
	    "2024-05-01 12:00",
	    "2024-5-01T12:00:00Z",
	    "2024-02-30T00:00:00Z",
	    "2023-02-29T00:00:00Z",
	    "2024-13-01T00:00:00Z",
	    "2024-00-01T00:00:00Z",
	    "2024-05-01T24:00:00Z",
	    "2024-05-01T12:60:00Z",
	    "2024-05-01T12:00:00ZZ",
	    "2024-05-01T12:00:00.Z",
	    "2024-05-01T12:00:00+2:00",
	    "",
	    "2024-05-01X12:00:00Z",
	    "2024-05-01T12:00:00+24:00",
	};
	time_t t;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t = -5;
		CHECK_INT(credentials_parse_time(good[i].s, &t), 0);
		CHECK_INT(t, good[i].t);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (credentials_parse_time(bad[i], &t) != ERR_PARSE) {
			printf("# accepted \"%s\"\n", bad[i]);
			test_failed_case = 1;
		}
	}
	CHECK_INT(credentials_parse_time(NULL, &t), ERR_PARSE);
}

static int parse(const char *json, int require_code, struct aws_credentials *c, struct err *e)
{
	memset(c, 0, sizeof(*c));
	return credentials_parse_json(json, strlen(json), require_code, c, e);
}

TEST_CASE(credentials_json)
{
	struct aws_credentials c;
	struct err e;

	CHECK_INT(parse("{\"Code\":\"Success\",\"LastUpdated\":\"2024-05-01T11:00:00Z\","
	                "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS\","
	                "\"SecretAccessKey\":\"sec\",\"Token\":\"tok\","
	                "\"Expiration\":\"2024-05-01T12:00:00Z\"}",
	                1, &c, &e),
	          0);
	CHECK_STR(c.access_key_id, "ASIAIMDS");
	CHECK_STR(c.secret_access_key, "sec");
	CHECK_STR(c.session_token, "tok");
	CHECK_INT(c.expiration, 1714564800LL);
	aws_credentials_clear(&c);

	CHECK_INT(parse("{\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":\"s\",\"Token\":null,"
	                "\"RoleArn\":\"arn\"}",
	                0, &c, &e),
	          0);
	CHECK_STR(c.access_key_id, "ASIAECS");
	CHECK(c.session_token == NULL);
	CHECK_INT(c.expiration, 0);
	aws_credentials_clear(&c);
}

TEST_CASE(credentials_json_errors)
{
	static const struct {
		const char *json;
		int require_code, rc;
		const char *message;
	} cases[] = {
	    {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\"}", 1, ERR_PARSE,
	     "credentials answer has no Code"},
	    {"{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"no\\nway\"}", 1,
	     ERR_CREDENTIALS,
	     "credentials answer has Code \"AssumeRoleUnauthorizedAccess\": no?way"},
	    {"{\"Code\":7}", 0, ERR_PARSE, "credentials answer has a Code that is not a string"},
	    {"{\"SecretAccessKey\":\"s\"}", 0, ERR_PARSE, "credentials answer lacks AccessKeyId"},
	    {"{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"s\"}", 0, ERR_PARSE,
	     "credentials answer lacks AccessKeyId"},
	    {"{\"AccessKeyId\":\"A\"}", 0, ERR_PARSE, "credentials answer lacks SecretAccessKey"},
	    {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":5}", 0, ERR_PARSE,
	     "credentials answer has a Token that is not a string"},
	    {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Expiration\":\"soon\"}", 0,
	     ERR_PARSE, "credentials answer has a bad Expiration \"soon\""},
	    {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Expiration\":1}", 0, ERR_PARSE,
	     "credentials answer has a bad Expiration \"\""},
	    {"[1]", 0, ERR_PARSE, "credentials answer is not a JSON object"},
	    {"{\"SecretAccessKey\":\"TOPSECRET", 0, ERR_PARSE,
	     "credentials answer is not JSON (line 1, column 29)"},
	    {"", 0, ERR_PARSE, "credentials answer is not JSON (line 1, column 0)"},
	};
	struct aws_credentials c;
	struct err e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(parse(cases[i].json, cases[i].require_code, &c, &e), cases[i].rc);
		CHECK_STR(e.message, cases[i].message);
		CHECK(c.access_key_id == NULL);
	}
}

int main(void)
{
	char cmd[80];

	if (!mkdtemp(tmpdir))
		return 1;
	snprintf(cred_path, sizeof(cred_path), "%s/credentials", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/config", tmpdir);
	RUN(environment_keys);
	RUN(environment_half_keys_are_errors);
	RUN(environment_before_profile);
	RUN(credentials_file_default_profile);
	RUN(home_aws_files_are_the_default);
	RUN(named_profile_in_both_files);
	RUN(partial_profiles_are_errors);
	RUN(profile_configuration_errors);
	RUN(missing_named_profile_is_an_error);
	RUN(broken_files_are_errors);
	RUN(nothing_found_names_what_was_tried);
	RUN(static_credentials_are_cached);
	RUN(clear_wipes_and_zeroes);
	RUN(iso8601_times);
	RUN(credentials_json);
	RUN(credentials_json_errors);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return TEST_DONE();
}
