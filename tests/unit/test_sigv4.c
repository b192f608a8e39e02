/*
 * Unit tests of aws/sigv4: AWS's Signature Version 4 suite as botocore ships
 * it (one case per directory, walked at run time), the AWS docs' IAM
 * ListUsers example, an EC2-style form POST with a session token (expected
 * values from botocore 1.29's SigV4Auth), and the edge and error paths.
 */
#include "test.h"

#include <dirent.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "aws/sigv4.h"
#include "aws/uri.h"
#include "util/buf.h"
#include "util/version.h"

#define SUITE_DIR    "sigv4/botocore/tests/unit/auth/aws4_testsuite"
#define SUITE_AKID   "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_TIME   1440938160 /* 20150830T123600Z */
#define MAX_HEADERS  32
#define MAX_CASES    128

/* What botocore's own test_sigv4.py leaves out, and why. */
static const struct {
	const char *name;
	const char *reason;
} suite_skips[] = {
    {"normalize-path/get-space", "botocore skips: its HTTP parser rejects the request line"},
    {"get-vanilla-query-order-key-case", "botocore skips: repeated query keys"},
    {"get-vanilla-query-order-key", "botocore skips: repeated query keys"},
    {"get-vanilla-query-order-value", "botocore skips: repeated query keys"},
};

static char secret_buf[] = SUITE_SECRET;
static char akid_buf[] = SUITE_AKID;

static struct aws_credentials suite_creds(char *token)
{
	struct aws_credentials c = {akid_buf, secret_buf, token, 0};
	return c;
}

/* A .req file split in place: request line, headers (continuation lines
 * joined with '\n'), body. Pointers borrow from text. */
struct raw_request {
	char *method;
	char *path;
	char *query;
	struct sigv4_header headers[MAX_HEADERS];
	size_t n_headers;
	const char *body;
	size_t body_len;
};

/* The next line of *p (CRLF or LF), NUL-terminated in place; NULL at end. */
static char *next_line(char **p, char *end)
{
	char *line = *p, *nl;

	if (line >= end)
		return NULL;
	nl = memchr(line, '\n', (size_t)(end - line));
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = end;
	}
	if (nl && nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	return line;
}

static int parse_req(char *text, size_t len, struct raw_request *r)
{
	char *p = text, *end = text + len, *line, *sp1, *sp2, *q;
	char *last_value_end = NULL;

	memset(r, 0, sizeof(*r));
	line = next_line(&p, end);
	if (!line)
		return -1;
	/* "METHOD target HTTP/1.1": the target runs to the last space. */
	sp1 = strchr(line, ' ');
	sp2 = strrchr(line, ' ');
	if (!sp1 || sp2 == sp1)
		return -1;
	*sp1 = '\0';
	*sp2 = '\0';
	r->method = line;
	r->path = sp1 + 1;
	q = strchr(r->path, '?');
	if (q) {
		*q = '\0';
		r->query = q + 1;
	}
	while ((line = next_line(&p, end)) != NULL && *line) {
		if ((*line == ' ' || *line == '\t') && r->n_headers && last_value_end) {
			/* A folded line: join it to the previous value, in place. */
			size_t n = strlen(line);

			*last_value_end = '\n';
			memmove(last_value_end + 1, line, n + 1);
			last_value_end += n + 1;
			continue;
		}
		char *colon = strchr(line, ':');

		if (!colon || r->n_headers == MAX_HEADERS)
			return -1;
		*colon = '\0';
		r->headers[r->n_headers].name = line;
		r->headers[r->n_headers].value = colon + 1;
		r->n_headers++;
		last_value_end = colon + 1 + strlen(colon + 1);
	}
	r->body = p;
	r->body_len = (size_t)(end - p);
	return 0;
}

/* snprintf into a path buffer; -1 (and "") when it does not fit. */
static int path_fmt(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int path_fmt(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= n) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

static char *read_case_file(const char *dir, const char *base, const char *ext)
{
	char path[1024];

	path_fmt(path, sizeof(path), "%s/%s%s", dir, base, ext);
	return test_read_file(path, NULL);
}

/* Like botocore's harness: the creds carry a token when the .creq signs one. */
static char *token_from_creq(const char *creq)
{
	static const char key[] = "\nx-amz-security-token:";
	const char *t = strstr(creq, key), *eol;

	if (!t)
		return NULL;
	t += sizeof(key) - 1;
	eol = strchr(t, '\n');
	return strndup(t, eol ? (size_t)(eol - t) : strlen(t));
}

static void run_suite_case(const char *dir)
{
	const char *base = strrchr(dir, '/') + 1;
	char *req_text = NULL, *creq = NULL, *sts = NULL, *authz = NULL, *token = NULL;
	char *got_creq = NULL, *got_sts = NULL;
	struct raw_request raw;
	struct sigv4_request req;
	struct aws_credentials creds;
	struct sigv4_result res = {{0}, NULL};
	struct err e;
	size_t req_len = 0;
	char path[1024];

	path_fmt(path, sizeof(path), "%s/%s.req", dir, base);
	req_text = test_read_file(path, &req_len);
	creq = read_case_file(dir, base, ".creq");
	sts = read_case_file(dir, base, ".sts");
	authz = read_case_file(dir, base, ".authz");
	CHECK(req_text && creq && sts && authz);
	if (!req_text || !creq || !sts || !authz)
		goto out;
	CHECK_INT(parse_req(req_text, req_len, &raw), 0);
	token = token_from_creq(creq);
	creds = suite_creds(token);
	req = (struct sigv4_request){
	    .method = raw.method,
	    .path = raw.path,
	    .query = raw.query,
	    .headers = raw.headers,
	    .n_headers = raw.n_headers,
	    .body = raw.body,
	    .body_len = raw.body_len,
	    .region = "us-east-1",
	    .service = "service",
	    .now = SUITE_TIME,
	};
	got_creq = sigv4_canonical_request(&req, &creds);
	CHECK_STR(got_creq, creq);
	got_sts = sigv4_string_to_sign(&req, &creds);
	CHECK_STR(got_sts, sts);
	CHECK_INT(sigv4_sign(&req, &creds, &res, &e), 0);
	CHECK_STR(res.authorization, authz);
	CHECK_STR(res.amz_date, "20150830T123600Z");
	sigv4_result_free(&res);
out:
	free(got_creq);
	free(got_sts);
	free(token);
	free(req_text);
	free(creq);
	free(sts);
	free(authz);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every directory under root (relative names in rel) holding <name>.req. */
static int collect_cases(const char *root, const char *rel, char **names, size_t *n)
{
	char dir[1024], sub[1024], req[1200];
	struct dirent *d;
	struct stat st;
	DIR *dh;

	path_fmt(dir, sizeof(dir), "%s%s%s", root, *rel ? "/" : "", rel);
	dh = opendir(dir);
	if (!dh)
		return -1;
	while ((d = readdir(dh)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		path_fmt(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", d->d_name);
		path_fmt(req, sizeof(req), "%s/%s", dir, d->d_name);
		if (stat(req, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		path_fmt(req, sizeof(req), "%s/%s/%s.req", dir, d->d_name, d->d_name);
		if (access(req, R_OK) == 0 && *n < MAX_CASES)
			names[(*n)++] = strdup(sub);
		collect_cases(root, sub, names, n);
	}
	closedir(dh);
	return 0;
}

static void run_suite(void)
{
	char root[1024], dir[1200], label[256];
	char *names[MAX_CASES];
	size_t n = 0, i, k;
	int passed = 0, skipped = 0;

	path_fmt(root, sizeof(root), "%s/%s", test_vectors_dir(), SUITE_DIR);
	if (collect_cases(root, "", names, &n) != 0 || n == 0) {
		RUN_NAMED("aws4_testsuite found", CHECK(!"no suite at $EBSSH_VECTORS/" SUITE_DIR));
		return;
	}
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (i = 0; i < n; i++) {
		const char *reason = NULL;

		for (k = 0; k < sizeof(suite_skips) / sizeof(suite_skips[0]); k++)
			if (!strcmp(names[i], suite_skips[k].name))
				reason = suite_skips[k].reason;
		if (reason) {
			path_fmt(label, sizeof(label), "%s # SKIP %s", names[i], reason);
			RUN_NAMED(label, (void)0);
			skipped++;
		} else {
			path_fmt(dir, sizeof(dir), "%s/%s", root, names[i]);
			RUN_NAMED(names[i], run_suite_case(dir));
			passed += !test_failed_case;
		}
		free(names[i]);
	}
	printf("# aws4_testsuite: %d passed, %d skipped, %zu cases\n", passed, skipped, n);
	/* Every skip must name a case that exists, or the list has gone stale. */
	RUN_NAMED("aws4_testsuite has every skipped case and 30+ cases",
	          CHECK_INT(skipped, (int)(sizeof(suite_skips) / sizeof(suite_skips[0])));
	          CHECK(n >= 30));
}

/* The AWS General Reference's IAM ListUsers example. */
TEST_CASE(aws_docs_iam_listusers)
{
	char path[1024], key_hex[65];
	json_t *j;
	json_error_t jerr;
	unsigned char key[32];
	struct sigv4_header hs[] = {
	    {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
	    {"Host", "iam.amazonaws.com"},
	    {"X-Amz-Date", "20150830T123600Z"},
	};
	struct sigv4_request req = {
	    .method = "GET",
	    .path = "/",
	    .query = "Action=ListUsers&Version=2010-05-08",
	    .headers = hs,
	    .n_headers = 3,
	    .region = "us-east-1",
	    .service = "iam",
	    .now = SUITE_TIME,
	};
	struct aws_credentials creds = suite_creds(NULL);
	struct sigv4_result res;
	char *s;
	int i;

	path_fmt(path, sizeof(path), "%s/sigv4/aws-docs-iam-listusers.json", test_vectors_dir());
	j = json_load_file(path, 0, &jerr);
	CHECK(j != NULL);
	if (!j)
		return;
	CHECK_STR(json_string_value(json_object_get(j, "access_key_id")), SUITE_AKID);
	CHECK_STR(json_string_value(json_object_get(j, "secret_access_key")), SUITE_SECRET);
	s = sigv4_canonical_request(&req, &creds);
	CHECK_STR(s, json_string_value(json_object_get(j, "canonical_request")));
	free(s);
	s = sigv4_string_to_sign(&req, &creds);
	CHECK_STR(s, json_string_value(json_object_get(j, "string_to_sign")));
	free(s);
	CHECK_INT(sigv4_signing_key(SUITE_SECRET, "20150830", "us-east-1", "iam", key, NULL), 0);
	for (i = 0; i < 32; i++)
		snprintf(key_hex + 2 * i, 3, "%02x", key[i]);
	CHECK_STR(key_hex, json_string_value(json_object_get(j, "signing_key_hex")));
	CHECK_INT(sigv4_sign(&req, &creds, &res, NULL), 0);
	CHECK_STR(res.authorization, json_string_value(json_object_get(j, "authorization")));
	CHECK_STR(res.amz_date, json_string_value(json_object_get(j, "amz_date")));
	sigv4_result_free(&res);
	json_decref(j);
}

#define TEST_TOKEN                                                                                 \
	"IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexample+token/with=chars"

/*
 * An EC2 DescribeInstances form POST with a session token, as a retry would
 * send it: a stale X-Amz-Date, Authorization and token are in the headers
 * and must be ignored; User-Agent is not signed. Expected values from
 * botocore 1.29's SigV4Auth.add_auth at 20150830T123600Z.
 */
TEST_CASE(ec2_form_post_with_token)
{
	char token[] = TEST_TOKEN;
	struct aws_credentials creds = suite_creds(token);
	struct buf body;
	struct sigv4_header hs[] = {
	    {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
	    {"Host", "ec2.eu-west-1.amazonaws.com"},
	    {"User-Agent", "ebssh/" EBSSH_VERSION},
	    {"X-Amz-Date", "20000101T000000Z"},
	    {"X-Amz-Security-Token", "stale"},
	    {"Authorization", "AWS4-HMAC-SHA256 stale"},
	};
	struct sigv4_request req = {
	    .method = "POST",
	    .path = "/",
	    .headers = hs,
	    .n_headers = 6,
	    .region = "eu-west-1",
	    .service = "ec2",
	    .now = SUITE_TIME,
	};
	struct sigv4_result res;
	struct err e;
	char *s;

	buf_init(&body, 0);
	CHECK_INT(uri_form_add(&body, "Action", "DescribeInstances"), 0);
	CHECK_INT(uri_form_add(&body, "Filter.1.Name", "tag:elasticbeanstalk:environment-name"), 0);
	CHECK_INT(uri_form_add(&body, "Filter.1.Value.1", "my-env"), 0);
	CHECK_INT(uri_form_add(&body, "Version", "2016-11-15"), 0);
	CHECK_STR(buf_str(&body), "Action=DescribeInstances&Filter.1.Name=tag%3Aelasticbeanstalk%"
	                          "3Aenvironment-name&Filter.1.Value.1=my-env&Version=2016-11-15");
	req.body = body.data;
	req.body_len = body.len;
	s = sigv4_canonical_request(&req, &creds);
	CHECK_STR(s, "POST\n/\n\n"
	             "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
	             "host:ec2.eu-west-1.amazonaws.com\n"
	             "x-amz-date:20150830T123600Z\n"
	             "x-amz-security-token:" TEST_TOKEN "\n\n"
	             "content-type;host;x-amz-date;x-amz-security-token\n"
	             "4dd501756a52709d5a1af9d5367ffcee2a5900b563f44d4fecf7fc31f4eae850");
	free(s);
	s = sigv4_string_to_sign(&req, &creds);
	CHECK_STR(s, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/eu-west-1/ec2/aws4_request\n"
	             "046d92dfe371a5dfd274bbf724ed061b8f27165bd6fd15a8c5e8d31a33cd78fc");
	free(s);
	CHECK_INT(sigv4_sign(&req, &creds, &res, &e), 0);
	CHECK_STR(res.authorization,
	          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/ec2/aws4_request, "
	          "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
	          "Signature=2f33d6afc1c52565a2c2cc0b9f05c34705d46843b3764a7ac6c75273118a2765");
	CHECK_STR(res.amz_date, "20150830T123600Z");
	CHECK(!strstr(res.authorization, SUITE_SECRET));
	sigv4_result_free(&res);
	CHECK(res.authorization == NULL);
	sigv4_result_free(&res);
	buf_free(&body);
}

/* The suite's post-x-www-form-urlencoded, signed with a session token
 * (expected values from botocore 1.29). */
TEST_CASE(suite_form_post_with_token)
{
	char token[] = TEST_TOKEN;
	struct aws_credentials creds = suite_creds(token);
	struct sigv4_header hs[] = {
	    {"Content-Type", "application/x-www-form-urlencoded"},
	    {"Host", "example.amazonaws.com"},
	};
	struct sigv4_request req = {
	    .method = "POST",
	    .path = "/",
	    .headers = hs,
	    .n_headers = 2,
	    .body = "Param1=value1",
	    .body_len = 13,
	    .region = "us-east-1",
	    .service = "service",
	    .now = SUITE_TIME,
	};
	struct sigv4_result res;
	char *s;

	s = sigv4_string_to_sign(&req, &creds);
	CHECK_STR(s, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
	             "b402a90a61434812f01c424f146ed7896edd4d6921496e3a34a1c7bcf01ad535");
	free(s);
	CHECK_INT(sigv4_sign(&req, &creds, &res, NULL), 0);
	CHECK_STR(
	    res.authorization,
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
	    "Signature=63ab271f5f6637038bfcdc10fd3b7d307feecaefa29f69a2d910e9a4cc6a9cac");
	sigv4_result_free(&res);
}

static char *creq_line(const struct sigv4_request *req, int line)
{
	struct aws_credentials creds = suite_creds(NULL);
	char *s = sigv4_canonical_request(req, &creds), *p = s, *nl;

	while (p && line-- > 0)
		p = (nl = strchr(p, '\n')) ? nl + 1 : NULL;
	if (p) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl = '\0';
		memmove(s, p, strlen(p) + 1);
	} else {
		free(s);
		s = NULL;
	}
	return s;
}

#define CHECK_CREQ_LINE(req, line, want)                                                           \
	do {                                                                                       \
		char *got_ = creq_line((req), (line));                                             \
		CHECK_STR(got_, (want));                                                           \
		free(got_);                                                                        \
	} while (0)

TEST_CASE(path_normalised_and_encoded_again)
{
	struct sigv4_header hs[] = {{"Host", "h"}};
	struct sigv4_request req = {.method = "GET",
	                            .headers = hs,
	                            .n_headers = 1,
	                            .region = "us-east-1",
	                            .service = "service",
	                            .now = SUITE_TIME};

	req.path = "/a%20b//./c/../d/";
	CHECK_CREQ_LINE(&req, 1, "/a%2520b/d/");
	req.path = "/../..";
	CHECK_CREQ_LINE(&req, 1, "/");
	req.path = "";
	CHECK_CREQ_LINE(&req, 1, "/");
	req.path = NULL;
	CHECK_CREQ_LINE(&req, 1, "/");
	req.path = "/example space/$x=~";
	CHECK_CREQ_LINE(&req, 1, "/example%20space/%24x%3D~");
	/* S3 signs the wire path as it is. */
	req.no_normalize = 1;
	req.path = "/my-object//example//photo.user%20x";
	CHECK_CREQ_LINE(&req, 1, "/my-object//example//photo.user%20x");
}

TEST_CASE(query_decoded_encoded_and_sorted)
{
	struct sigv4_header hs[] = {{"Host", "h"}};
	struct sigv4_request req = {.method = "GET",
	                            .path = "/",
	                            .headers = hs,
	                            .n_headers = 1,
	                            .region = "us-east-1",
	                            .service = "service",
	                            .now = SUITE_TIME};

	req.query = "b=2&a&c=x+y&&a=%7e&z=%E1%88%B4";
	CHECK_CREQ_LINE(&req, 2, "a=&a=~&b=2&c=x%20y&z=%E1%88%B4");
	/* The repeated-key cases botocore skips: sorted by key, then value. */
	req.query = "Param1=value2&Param1=Value1";
	CHECK_CREQ_LINE(&req, 2, "Param1=Value1&Param1=value2");
	req.query = "Param2=value2&Param1=value1";
	CHECK_CREQ_LINE(&req, 2, "Param1=value1&Param2=value2");
	req.query = "a=";
	CHECK_CREQ_LINE(&req, 2, "a=");
	req.query = "";
	CHECK_CREQ_LINE(&req, 2, "");
	req.query = "k=%2F%2b/";
	CHECK_CREQ_LINE(&req, 2, "k=%2F%2B%2F");
}

TEST_CASE(headers_trimmed_joined_and_filtered)
{
	struct sigv4_header hs[] = {
	    {"X-B", "  two\t\twords  "},   {"host", "h"},      {"x-b", "\n second\n  line "},
	    {"Expect", "100-continue"},    {"X-Empty", "   "}, {"X-Amzn-Trace-Id", "Root=1"},
	    {"X-Amz-Security-Token", "t"},
	};
	struct sigv4_request req = {.method = "PUT",
	                            .path = "/",
	                            .headers = hs,
	                            .n_headers = 7,
	                            .region = "us-east-1",
	                            .service = "service",
	                            .now = SUITE_TIME};
	struct aws_credentials creds = suite_creds(NULL);
	char *s = sigv4_canonical_request(&req, &creds);

	/* Without a token in creds, a caller's token header is signed as given. */
	CHECK_STR(s, "PUT\n/\n\nhost:h\nx-amz-date:20150830T123600Z\nx-amz-security-token:t\n"
	             "x-b:two words,second line\nx-empty:\n\n"
	             "host;x-amz-date;x-amz-security-token;x-b;x-empty\n"
	             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	free(s);
}

TEST_CASE(errors_leave_result_empty)
{
	struct sigv4_header no_host[] = {{"X-A", "1"}};
	struct sigv4_header bad_name[] = {{"Host", "h"}, {"Bad Name", "1"}};
	struct sigv4_header ok[] = {{"Host", "h"}};
	struct sigv4_request req = {.method = "GET",
	                            .path = "/",
	                            .headers = no_host,
	                            .n_headers = 1,
	                            .region = "us-east-1",
	                            .service = "service",
	                            .now = SUITE_TIME};
	struct aws_credentials creds = suite_creds(NULL);
	struct aws_credentials no_key = {NULL, secret_buf, NULL, 0};
	struct sigv4_result res;
	struct err e;

	CHECK_INT(sigv4_sign(&req, &creds, &res, &e), ERR_INVALID);
	CHECK(res.authorization == NULL);
	CHECK_STR(e.message, "sigv4: the request has no Host header");
	CHECK(sigv4_canonical_request(&req, &creds) == NULL);
	CHECK(sigv4_string_to_sign(&req, &creds) == NULL);

	req.headers = bad_name;
	req.n_headers = 2;
	CHECK_INT(sigv4_sign(&req, &creds, &res, &e), ERR_INVALID);
	CHECK(res.authorization == NULL);

	req.headers = ok;
	req.n_headers = 1;
	req.query = "a=%zz";
	CHECK_INT(sigv4_sign(&req, &creds, &res, &e), ERR_INVALID);
	CHECK_STR(e.message, "sigv4: malformed %-escape in the query string");
	req.query = "a=%4";
	CHECK_INT(sigv4_sign(&req, &creds, &res, NULL), ERR_INVALID);
	req.query = NULL;

	req.region = "us/east";
	CHECK_INT(sigv4_sign(&req, &creds, &res, &e), ERR_INVALID);
	req.region = "us-east-1";
	req.service = NULL;
	CHECK_INT(sigv4_sign(&req, &creds, &res, &e), ERR_INVALID);
	req.service = "service";
	CHECK_INT(sigv4_sign(&req, &no_key, &res, &e), ERR_INVALID);
	CHECK_INT(sigv4_sign(&req, NULL, &res, &e), ERR_INVALID);
	CHECK_INT(sigv4_sign(NULL, &creds, &res, &e), ERR_INVALID);
	CHECK(strstr(e.message, SUITE_SECRET) == NULL);
	CHECK_INT(sigv4_sign(&req, &creds, NULL, &e), ERR_INVALID);
	sigv4_result_free(NULL);

	/* And it signs once the request is whole. */
	CHECK_INT(sigv4_sign(&req, &creds, &res, &e), 0);
	CHECK(res.authorization != NULL);
	sigv4_result_free(&res);
}

TEST_CASE(signing_time_is_utc)
{
	struct sigv4_header hs[] = {{"Host", "h"}};
	struct sigv4_request req = {.method = "GET",
	                            .path = "/",
	                            .headers = hs,
	                            .n_headers = 1,
	                            .region = "eu-central-1",
	                            .service = "ec2",
	                            .now = 0};
	struct aws_credentials creds = suite_creds(NULL);
	struct sigv4_result res;
	char *s;

	CHECK_INT(sigv4_sign(&req, &creds, &res, NULL), 0);
	CHECK_STR(res.amz_date, "19700101T000000Z");
	CHECK(strstr(res.authorization, "Credential=AKIDEXAMPLE/19700101/eu-central-1/ec2/"
	                                "aws4_request, SignedHeaders=host;x-amz-date, "
	                                "Signature=") != NULL);
	sigv4_result_free(&res);
	req.now = 1700000000 + 86399; /* 2023-11-15T22:13:19Z */
	s = sigv4_string_to_sign(&req, &creds);
	CHECK(s && !strncmp(s,
	                    "AWS4-HMAC-SHA256\n20231115T221319Z\n20231115/eu-central-1/ec2/"
	                    "aws4_request\n",
	                    strlen("AWS4-HMAC-SHA256\n20231115T221319Z\n20231115/eu-central-1/"
	                           "ec2/aws4_request\n")));
	free(s);
}

int main(void)
{
	run_suite();
	RUN(aws_docs_iam_listusers);
	RUN(ec2_form_post_with_token);
	RUN(suite_form_post_with_token);
	RUN(path_normalised_and_encoded_again);
	RUN(query_decoded_encoded_and_sorted);
	RUN(headers_trimmed_joined_and_filtered);
	RUN(errors_leave_result_empty);
	RUN(signing_time_is_utc);
	return TEST_DONE();
}
