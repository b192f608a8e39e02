/* Unit tests of aws/endpoint: region and endpoint resolution as the AWS CLI does it. */
#include "test.h"

#include <stdio.h>
#include <unistd.h>

#include "aws/endpoint.h"

static char tmpdir[] = "/tmp/ebssh-endpoint-XXXXXX";
static char config_path[256];

static void clean_env(void)
{
	static const char *const vars[] = {
	    "AWS_REGION",
	    "AWS_DEFAULT_REGION",
	    "AWS_PROFILE",
	    "AWS_CONFIG_FILE",
	    "AWS_ENDPOINT_URL",
	    "AWS_ENDPOINT_URL_EC2",
	    "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
	    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("HOME", tmpdir, 1); /* no ~/.aws/config there */
}

static void config(const char *text)
{
	FILE *f = fopen(config_path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	setenv("AWS_CONFIG_FILE", config_path, 1);
}

TEST_CASE(region_names)
{
	char long63[64], long64[65];

	memset(long63, 'a', 63);
	long63[63] = '\0';
	memset(long64, 'a', 64);
	long64[64] = '\0';
	CHECK_INT(endpoint_region_is_valid("us-east-1"), 1);
	CHECK_INT(endpoint_region_is_valid("cn-northwest-1"), 1);
	CHECK_INT(endpoint_region_is_valid("US-EAST-1"), 1);
	CHECK_INT(endpoint_region_is_valid("x"), 1);
	CHECK_INT(endpoint_region_is_valid(long63), 1);
	CHECK_INT(endpoint_region_is_valid(long64), 0);
	CHECK_INT(endpoint_region_is_valid(""), 0);
	CHECK_INT(endpoint_region_is_valid("-us"), 0);
	CHECK_INT(endpoint_region_is_valid("us-"), 0);
	CHECK_INT(endpoint_region_is_valid("123"), 0);
	CHECK_INT(endpoint_region_is_valid("us_east_1"), 0);
	CHECK_INT(endpoint_region_is_valid("us east"), 0);
	CHECK_INT(endpoint_region_is_valid("us-east-1.evil.com/"), 0);
}

TEST_CASE(region_precedence)
{
	char *r = NULL;

	clean_env();
	config("[default]\nregion = eu-west-1\n[profile dev]\nregion = ap-south-1\n");
	CHECK_INT(endpoint_region(&r, NULL), 0);
	CHECK_STR(r, "eu-west-1");
	free(r);
	setenv("AWS_PROFILE", "dev", 1);
	CHECK_INT(endpoint_region(&r, NULL), 0);
	CHECK_STR(r, "ap-south-1");
	free(r);
	setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
	CHECK_INT(endpoint_region(&r, NULL), 0);
	CHECK_STR(r, "us-west-2");
	free(r);
	setenv("AWS_REGION", "us-east-2", 1);
	CHECK_INT(endpoint_region(&r, NULL), 0);
	CHECK_STR(r, "us-east-2");
	free(r);
	setenv("AWS_REGION", "", 1); /* empty is unset */
	CHECK_INT(endpoint_region(&r, NULL), 0);
	CHECK_STR(r, "us-west-2");
	free(r);
}

TEST_CASE(region_errors)
{
	struct err e;
	char *r = NULL, want[512];

	clean_env();
	CHECK_INT(endpoint_region(&r, &e), ERR_NOT_FOUND);
	snprintf(want, sizeof(want),
	         "no AWS region: set AWS_REGION, or region in [default] of %s/.aws/config", tmpdir);
	CHECK_STR(e.message, want);
	CHECK(r == NULL);

	config("[default]\noutput = json\n");
	setenv("AWS_PROFILE", "dev", 1);
	CHECK_INT(endpoint_region(&r, &e), ERR_NOT_FOUND);
	snprintf(want, sizeof(want),
	         "no AWS region: set AWS_REGION, or region in [profile dev] of %s", config_path);
	CHECK_STR(e.message, want);

	config("[profile dev]\nregion = us-east-1 # comment\n");
	CHECK_INT(endpoint_region(&r, &e), ERR_INVALID);
	snprintf(want, sizeof(want),
	         "region \"us-east-1 # comment\" of profile dev in %s is not valid", config_path);
	CHECK_STR(e.message, want);

	config("[profile dev]\nregion\n");
	CHECK_INT(endpoint_region(&r, &e), ERR_PARSE);
	snprintf(want, sizeof(want), "%s: line 2: expected \"key = value\"", config_path);
	CHECK_STR(e.message, want);

	setenv("AWS_DEFAULT_REGION", "bad/region", 1);
	CHECK_INT(endpoint_region(&r, &e), ERR_INVALID);
	CHECK_STR(e.message, "AWS_DEFAULT_REGION=\"bad/region\" is not a valid region name");
	setenv("AWS_REGION", "x..y", 1);
	CHECK_INT(endpoint_region(&r, &e), ERR_INVALID);
	CHECK_STR(e.message, "AWS_REGION=\"x..y\" is not a valid region name");
	CHECK(r == NULL);
}

static char *url(const char *id, const char *prefix, const char *region, int *rc, struct err *e)
{
	char *out = NULL;

	*rc = endpoint_url(id, prefix, region, &out, e);
	return out;
}

TEST_CASE(default_endpoints)
{
	struct err e;
	int rc;
	char *u;

	clean_env();
	u = url("EC2", "ec2", "us-east-1", &rc, &e);
	CHECK_INT(rc, 0);
	CHECK_STR(u, "https://ec2.us-east-1.amazonaws.com");
	free(u);
	u = url("CLOUDWATCH_LOGS", "logs", "eu-central-1", &rc, &e);
	CHECK_STR(u, "https://logs.eu-central-1.amazonaws.com");
	free(u);
	u = url("CLOUDWATCH", "monitoring", "cn-north-1", &rc, &e);
	CHECK_STR(u, "https://monitoring.cn-north-1.amazonaws.com.cn");
	free(u);
	u = url("LAMBDA", "lambda", NULL, &rc, &e);
	CHECK_INT(rc, ERR_INVALID);
	CHECK_STR(e.message, "no valid region for the lambda endpoint");
	CHECK(u == NULL);
	u = url("LAMBDA", "lambda", "bad/region", &rc, &e);
	CHECK_INT(rc, ERR_INVALID);
	u = url("ec2", "ec2", "us-east-1", &rc, &e);
	CHECK_INT(rc, ERR_INVALID);
	CHECK_STR(e.message, "bad service id \"ec2\"");
	u = url("", "ec2", "us-east-1", &rc, &e);
	CHECK_INT(rc, ERR_INVALID);
}

TEST_CASE(environment_endpoints)
{
	struct err e;
	int rc;
	char *u;

	clean_env();
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/", 1);
	u = url("EC2", "ec2", "us-east-1", &rc, &e);
	CHECK_INT(rc, 0);
	CHECK_STR(u, "http://127.0.0.1:4566");
	free(u);
	setenv("AWS_ENDPOINT_URL_EC2", "http://localhost:9000/ec2//", 1);
	u = url("EC2", "ec2", NULL, &rc, &e); /* no region needed */
	CHECK_INT(rc, 0);
	CHECK_STR(u, "http://localhost:9000/ec2");
	free(u);
	u = url("CLOUDWATCH_LOGS", "logs", "us-east-1", &rc, &e);
	CHECK_STR(u, "http://127.0.0.1:4566");
	free(u);
	setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "https://logs.example", 1);
	u = url("CLOUDWATCH_LOGS", "logs", "us-east-1", &rc, &e);
	CHECK_STR(u, "https://logs.example");
	free(u);
	setenv("AWS_ENDPOINT_URL_EC2", "", 1); /* empty is unset */
	u = url("EC2", "ec2", "us-east-1", &rc, &e);
	CHECK_STR(u, "http://127.0.0.1:4566");
	free(u);
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE", 1);
	u = url("EC2", "ec2", "us-east-1", &rc, &e);
	CHECK_STR(u, "https://ec2.us-east-1.amazonaws.com");
	free(u);
}

TEST_CASE(bad_environment_endpoints)
{
	static const struct {
		const char *value;
		const char *message;
	} cases[] = {
	    {"ftp://h", "AWS_ENDPOINT_URL_EC2: \"ftp://h\" is not an http:// or https:// URL"},
	    {"localhost:4566", "AWS_ENDPOINT_URL_EC2: \"localhost:4566\" is not an http:// or "
	                       "https:// URL"},
	    {"http://", "AWS_ENDPOINT_URL_EC2: \"http://\" is not an http:// or https:// URL"},
	    {"http://h x",
	     "AWS_ENDPOINT_URL_EC2: \"http://h x\" is not an http:// or https:// URL"},
	    {"http://h/?a=b", "AWS_ENDPOINT_URL_EC2: endpoint URL \"http://h/?a=b\" may not have a "
	                      "query, fragment or user"},
	    {"http://u:p@h", "AWS_ENDPOINT_URL_EC2: endpoint URL \"http://u:p@h\" may not have a "
	                     "query, fragment or user"},
	    {"http://h#f", "AWS_ENDPOINT_URL_EC2: endpoint URL \"http://h#f\" may not have a "
	                   "query, fragment or user"},
	};
	struct err e;
	int rc;
	char *u;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		clean_env();
		setenv("AWS_ENDPOINT_URL_EC2", cases[i].value, 1);
		u = url("EC2", "ec2", "us-east-1", &rc, &e);
		CHECK_INT(rc, ERR_INVALID);
		CHECK(u == NULL);
		CHECK_STR(e.message, cases[i].message);
	}
	clean_env();
	setenv("AWS_ENDPOINT_URL", "nope", 1);
	u = url("EC2", "ec2", "us-east-1", &rc, &e);
	CHECK_INT(rc, ERR_INVALID);
	CHECK_STR(e.message, "AWS_ENDPOINT_URL: \"nope\" is not an http:// or https:// URL");
}

TEST_CASE(config_endpoints)
{
	struct err e;
	int rc;
	char *u;

	clean_env();
	config("[default]\n"
	       "endpoint_url = http://127.0.0.1:8000/\n"
	       "services = local\n"
	       "[services local]\n"
	       "ec2 =\n"
	       "  endpoint_url = http://127.0.0.1:8001\n"
	       "cloudwatch_logs =\n"
	       "  endpoint_url = http://127.0.0.1:8002\n"
	       "[profile other]\n"
	       "region = us-east-1\n");
	u = url("EC2", "ec2", "us-east-1", &rc, &e);
	CHECK_INT(rc, 0);
	CHECK_STR(u, "http://127.0.0.1:8001");
	free(u);
	u = url("CLOUDWATCH_LOGS", "logs", "us-east-1", &rc, &e);
	CHECK_STR(u, "http://127.0.0.1:8002");
	free(u);
	u = url("LAMBDA", "lambda", "us-east-1", &rc, &e);
	CHECK_STR(u, "http://127.0.0.1:8000");
	free(u);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9999", 1); /* environment first */
	u = url("EC2", "ec2", "us-east-1", &rc, &e);
	CHECK_STR(u, "http://127.0.0.1:9999");
	free(u);
	unsetenv("AWS_ENDPOINT_URL");
	setenv("AWS_PROFILE", "other", 1);
	u = url("EC2", "ec2", "us-east-1", &rc, &e);
	CHECK_STR(u, "https://ec2.us-east-1.amazonaws.com");
	free(u);
	unsetenv("AWS_PROFILE");
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	u = url("EC2", "ec2", "us-east-1", &rc, &e);
	CHECK_STR(u, "https://ec2.us-east-1.amazonaws.com");
	free(u);

	clean_env();
	config("[default]\nendpoint_url = file:///etc/passwd\n");
	u = url("EC2", "ec2", "us-east-1", &rc, &e);
	CHECK_INT(rc, ERR_INVALID);
	CHECK_STR(e.message, "endpoint_url of profile default: \"file:///etc/passwd\" is not an "
	                     "http:// or https:// URL");
	config("[default]\n=x\n");
	u = url("EC2", "ec2", "us-east-1", &rc, &e);
	CHECK_INT(rc, ERR_PARSE);
	CHECK(strstr(e.message, "line 2: no key before '='") != NULL);
}

static char *host(const char *u, int *rc, struct err *e)
{
	char *out = NULL;

	*rc = endpoint_host_header(u, &out, e);
	return out;
}

TEST_CASE(host_headers)
{
	static const struct {
		const char *url, *host;
	} cases[] = {
	    {"https://ec2.us-east-1.amazonaws.com", "ec2.us-east-1.amazonaws.com"},
	    {"https://ec2.us-east-1.amazonaws.com/", "ec2.us-east-1.amazonaws.com"},
	    {"http://127.0.0.1:4566/path", "127.0.0.1:4566"},
	    {"http://h:80", "h"},
	    {"https://h:443/x", "h"},
	    {"https://h:80", "h:80"},
	    {"http://h:443", "h:443"},
	    {"http://[::1]:8080/", "[::1]:8080"},
	    {"http://[::1]/", "[::1]"},
	    {"HTTP://Example.COM:8443", "example.com:8443"},
	};
	struct err e;
	int rc;
	char *h;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h = host(cases[i].url, &rc, &e);
		CHECK_INT(rc, 0);
		CHECK_STR(h, cases[i].host);
		free(h);
	}
	h = host("not a url", &rc, &e);
	CHECK_INT(rc, ERR_INVALID);
	CHECK(h == NULL);
	CHECK_STR(e.message, "\"not a url\" is not a URL with a host");
	h = host("http://h:99999", &rc, &e);
	CHECK_INT(rc, ERR_INVALID);
}

TEST_CASE(normalize_strips_slashes_only)
{
	char *out = NULL;

	CHECK_INT(endpoint_normalize("https://h/a/b/", &out, NULL), 0);
	CHECK_STR(out, "https://h/a/b");
	free(out);
	CHECK_INT(endpoint_normalize("http://h", &out, NULL), 0);
	CHECK_STR(out, "http://h");
	free(out);
	CHECK_INT(endpoint_normalize("https:///", &out, NULL), ERR_INVALID);
	CHECK(out == NULL);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	snprintf(config_path, sizeof(config_path), "%s/config", tmpdir);
	RUN(region_names);
	RUN(region_precedence);
	RUN(region_errors);
	RUN(default_endpoints);
	RUN(environment_endpoints);
	RUN(bad_environment_endpoints);
	RUN(config_endpoints);
	RUN(host_headers);
	RUN(normalize_strips_slashes_only);
	unlink(config_path);
	rmdir(tmpdir);
	return TEST_DONE();
}
