/*
 * Unit tests of the credential chain's pure parts: the CLI cache's keys
 * (each want computed by botocore 1.43: sha1(json.dumps(args, sort_keys=True))
 * and the SSO form with separators=(',', ':')), the cache file, the SSO
 * token and GetRoleCredentials answers, SSO OIDC's CreateToken answer, the
 * private file write behind the caches, STS's XML answers, the
 * credential_process JSON and shlex.split. The chain itself runs against
 * botocore in tests/integration/credentials_oracle.py.
 */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/credentials.h"
#include "aws/credentials_cache.h"
#include "aws/credentials_process.h"
#include "aws/credentials_sso.h"
#include "aws/sso_oidc.h"
#include "aws/credentials_sts.h"

TEST_CASE(cache_keys_are_botocores)
{
	char key[41];

	CHECK_INT(credentials_cache_key_role("arn:aws:iam::123456789012:role/r", "s", "e/x:1",
	                                     "arn:aws:iam::1:mfa/m", 900, key, NULL),
	          0);
	CHECK_STR(key, "253a5bd774c88e16d1a998399465bbb36d1cd45f");
	CHECK_INT(credentials_cache_key_role("arn:aws:iam::123456789012:role/r", NULL, NULL, NULL,
	                                     -1, key, NULL),
	          0);
	CHECK_STR(key, "6dc9e6e1e186b9f293814df3266de783142c48a2");
	/* non-ASCII as \u00e9, quotes and backslashes escaped, as Python's json */
	CHECK_INT(credentials_cache_key_role("r", "caf\xc3\xa9\"\\", NULL, NULL, -1, key, NULL), 0);
	CHECK_STR(key, "8cb0d715d2531ccd5a47b3e6da283cc19169a170");
	CHECK_INT(credentials_cache_key_sso("111122223333", "Dev", "corp", NULL, key, NULL), 0);
	CHECK_STR(key, "20985b56d713cfd135648cadc68a6115ca80d9a5");
	CHECK_INT(credentials_cache_key_sso("1", "Ops", NULL, "https://x/start", key, NULL), 0);
	CHECK_STR(key, "2c7d09105f2aa141dcbfb3c22919b3017a1f14fa");
}

TEST_CASE(cache_file_parse)
{
	struct aws_credentials c;
	struct err e;
	const char *cli = "{\"Credentials\": {\"AccessKeyId\": \"ASIA1\", \"SecretAccessKey\": "
	                  "\"s\", \"SessionToken\": \"t\", \"Expiration\": "
	                  "\"2024-05-01T10:00:00UTC\"}, \"AssumedRoleUser\": {}}";

	CHECK_INT(credentials_cache_parse(cli, strlen(cli), &c, &e), 0);
	CHECK_STR(c.access_key_id, "ASIA1");
	CHECK_STR(c.session_token, "t");
	CHECK_INT((long)c.expiration, 1714557600L);
	aws_credentials_clear(&c);
	cli = "{\"Credentials\": {\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\", "
	      "\"SessionToken\": \"t\", \"Expiration\": \"2024-05-01T10:00:00+00:00\"}}";
	CHECK_INT(credentials_cache_parse(cli, strlen(cli), &c, &e), 0);
	CHECK_INT((long)c.expiration, 1714557600L);
	aws_credentials_clear(&c);
	cli = "{\"Credentials\": {\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\"}}";
	CHECK_INT(credentials_cache_parse(cli, strlen(cli), &c, &e), ERR_PARSE);
	CHECK_INT(credentials_cache_parse("{no", 3, &c, &e), ERR_PARSE);
	CHECK(c.access_key_id == NULL);
}

TEST_CASE(sso_token_and_role_answers)
{
	const char *tok =
	    "{\"startUrl\": \"https://x\", \"region\": \"eu-west-1\", \"accessToken\": "
	    "\"abc\", \"expiresAt\": \"2024-05-01T10:00:00Z\"}";
	const char *role = "{\"roleCredentials\": {\"accessKeyId\": \"ASIASSO\", "
	                   "\"secretAccessKey\": \"s\", \"sessionToken\": \"t\", \"expiration\": "
	                   "1714557600000}}";
	struct aws_credentials c;
	char *token = NULL;
	time_t exp = 0;
	struct err e;

	CHECK_INT(credentials_sso_token_parse(tok, strlen(tok), &token, &exp, &e), 0);
	CHECK_STR(token, "abc");
	CHECK_INT((long)exp, 1714557600L);
	free(token);
	CHECK_INT(credentials_sso_token_parse("{\"expiresAt\": \"2024-05-01T10:00:00Z\"}", 37,
	                                      &token, &exp, &e),
	          ERR_PARSE);
	CHECK_STR(e.message, "no accessToken");
	CHECK_INT(credentials_sso_role_parse(role, strlen(role), &c, &e), 0);
	CHECK_STR(c.access_key_id, "ASIASSO");
	CHECK_INT((long)c.expiration, 1714557600L);
	aws_credentials_clear(&c);
	CHECK_INT(credentials_sso_role_parse("{}", 2, &c, &e), ERR_PARSE);
}

TEST_CASE(oidc_create_token_answers)
{
	const char *full =
	    "{\"accessToken\": \"new-access\", \"tokenType\": \"Bearer\", "
	    "\"expiresIn\": 3600, \"refreshToken\": \"new-refresh\", \"idToken\": \"i\"}";
	const char *no_refresh = "{\"accessToken\": \"a\", \"expiresIn\": 28800}";
	const char *no_access = "{\"expiresIn\": 60}";
	const char *text_expiry = "{\"accessToken\": \"a\", \"expiresIn\": \"60\"}";
	const char *zero_expiry = "{\"accessToken\": \"a\", \"expiresIn\": 0}";
	struct sso_oidc_token t;
	struct err e;

	CHECK_INT(sso_oidc_token_parse(full, strlen(full), &t, &e), 0);
	CHECK_STR(t.access_token, "new-access");
	CHECK_STR(t.refresh_token, "new-refresh");
	CHECK_INT(t.expires_in, 3600);
	sso_oidc_token_free(&t);
	CHECK(t.access_token == NULL && t.refresh_token == NULL);
	CHECK_INT(sso_oidc_token_parse(no_refresh, strlen(no_refresh), &t, &e), 0);
	CHECK(t.refresh_token == NULL);
	CHECK_INT(t.expires_in, 28800);
	sso_oidc_token_free(&t);
	CHECK_INT(sso_oidc_token_parse(no_access, strlen(no_access), &t, &e), ERR_PARSE);
	CHECK_STR(e.message, "CreateToken's answer has no accessToken");
	CHECK_INT(sso_oidc_token_parse(text_expiry, strlen(text_expiry), &t, &e), ERR_PARSE);
	CHECK_STR(e.message, "CreateToken's answer has no valid expiresIn");
	CHECK_INT(sso_oidc_token_parse(zero_expiry, strlen(zero_expiry), &t, &e), ERR_PARSE);
	CHECK_INT(sso_oidc_token_parse("[1]", 3, &t, &e), ERR_PARSE);
	CHECK_STR(e.message, "CreateToken's answer is not a JSON object");
	CHECK(t.access_token == NULL);
	sso_oidc_token_free(&t);
}

TEST_CASE(private_write_replaces_whole)
{
	char dir[] = "/tmp/ebssh-test-write-XXXXXX", path[64], *text = NULL;
	struct stat st;
	size_t len = 0;
	struct err e;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/token.json", dir);
	CHECK_INT(credentials_write_private(path, "first", 5, &e), 0);
	CHECK_INT(credentials_write_private(path, "second", 6, &e), 0);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT((long)(st.st_mode & 0777), 0600);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f) {
		text = calloc(1, 16);
		len = fread(text, 1, 15, f);
		fclose(f);
	}
	CHECK_INT((long)len, 6);
	CHECK_STR(text, "second");
	free(text);
	CHECK_INT(credentials_write_private("/nonexistent-ebssh/x", "a", 1, &e), ERR_IO);
	CHECK(strstr(e.message, "cannot write in /nonexistent-ebssh: ") != NULL);
	unlink(path);
	CHECK_INT(rmdir(dir), 0); /* no temporary file left behind */
}

TEST_CASE(sts_answers)
{
	const char *ok = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
	                 "<AssumeRoleResult><AssumedRoleUser><Arn>arn:x</Arn></AssumedRoleUser>"
	                 "<Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>s"
	                 "</SecretAccessKey><SessionToken>t</SessionToken><Expiration>"
	                 "2024-05-01T10:00:00Z</Expiration></Credentials></AssumeRoleResult>"
	                 "</AssumeRoleResponse>";
	const char *wi = "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
	                 "<Credentials><AccessKeyId>ASIAW</AccessKeyId><SecretAccessKey>s"
	                 "</SecretAccessKey><SessionToken>t</SessionToken><Expiration>"
	                 "2024-05-01T10:00:00.123Z</Expiration></Credentials>"
	                 "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
	const char *partial =
	    "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A"
	    "</AccessKeyId></Credentials></AssumeRoleResult></AssumeRoleResponse>";
	struct aws_credentials c;
	struct err e;

	CHECK_INT(credentials_sts_parse(ok, strlen(ok), &c, &e), 0);
	CHECK_STR(c.access_key_id, "ASIAX");
	CHECK_STR(c.session_token, "t");
	CHECK_INT((long)c.expiration, 1714557600L);
	aws_credentials_clear(&c);
	CHECK_INT(credentials_sts_parse(wi, strlen(wi), &c, &e), 0);
	CHECK_STR(c.access_key_id, "ASIAW");
	aws_credentials_clear(&c);
	CHECK_INT(credentials_sts_parse(partial, strlen(partial), &c, &e), ERR_PARSE);
	CHECK_STR(e.message, "STS answer has no Credentials/SecretAccessKey");
	CHECK_INT(credentials_sts_parse("<ErrorResponse/>", 16, &c, &e), ERR_PARSE);
}

TEST_CASE(process_json)
{
	const char *ok = "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\", "
	                 "\"SessionToken\": \"t\", \"Expiration\": \"2024-05-01T10:00:00Z\"}";
	struct aws_credentials c;
	struct err e;

	CHECK_INT(credentials_process_parse(ok, strlen(ok), &c, &e), 0);
	CHECK_STR(c.access_key_id, "A");
	CHECK_INT((long)c.expiration, 1714557600L);
	aws_credentials_clear(&c);
	ok = "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\"}";
	CHECK_INT(credentials_process_parse(ok, strlen(ok), &c, &e), 0);
	CHECK(c.session_token == NULL && c.expiration == 0);
	aws_credentials_clear(&c);
	ok = "{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\"}";
	CHECK_INT(credentials_process_parse(ok, strlen(ok), &c, &e), ERR_PARSE);
	ok = "{\"Version\": 1, \"AccessKeyId\": \"A\"}";
	CHECK_INT(credentials_process_parse(ok, strlen(ok), &c, &e), ERR_PARSE);
	CHECK_STR(e.message, "Missing required key in response: 'SecretAccessKey'");
	ok = "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\", \"Expiration\": "
	     "5}";
	CHECK_INT(credentials_process_parse(ok, strlen(ok), &c, &e), ERR_PARSE);
}

TEST_CASE(shell_split_is_shlex)
{
	char **argv = NULL;
	struct err e;

	/* shlex.split('a\\ b "c \\" \\x" \'d \\e\' ""') == ['a b', 'c " \\x', 'd \\e', ''] */
	CHECK_INT(credentials_shell_split("a\\ b \"c \\\" \\x\" 'd \\e' \"\"", &argv, &e), 0);
	CHECK_STR(argv[0], "a b");
	CHECK_STR(argv[1], "c \" \\x");
	CHECK_STR(argv[2], "d \\e");
	CHECK_STR(argv[3], "");
	CHECK(argv[4] == NULL);
	credentials_argv_free(argv);
	CHECK_INT(credentials_shell_split("  /bin/x\t--a=\"b c\"d  ", &argv, &e), 0);
	CHECK_STR(argv[0], "/bin/x");
	CHECK_STR(argv[1], "--a=b cd");
	CHECK(argv[2] == NULL);
	credentials_argv_free(argv);
	CHECK_INT(credentials_shell_split("x 'open", &argv, &e), ERR_PARSE);
	CHECK_STR(e.message, "No closing quotation");
	CHECK_INT(credentials_shell_split("x \\", &argv, &e), ERR_PARSE);
	CHECK_STR(e.message, "No escaped character");
	CHECK_INT(credentials_shell_split("   ", &argv, &e), ERR_PARSE);
	CHECK(argv == NULL);
}

int main(void)
{
	RUN(cache_keys_are_botocores);
	RUN(cache_file_parse);
	RUN(sso_token_and_role_answers);
	RUN(oidc_create_token_answers);
	RUN(private_write_replaces_whole);
	RUN(sts_answers);
	RUN(process_json);
	RUN(shell_split_is_shlex);
	return TEST_DONE();
}
