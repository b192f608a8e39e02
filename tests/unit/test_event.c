/* Unit tests of lambda/event over the sample events of the test vectors
 * (tests/vectors/events) and made-up variations. */
#include "test.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <jansson.h>

#include "lambda/front/event.h"
#include "lambda/ops/backup_queue.h"
#include "lambda/log.h"
#include "lambda/service.h"
#include "lambda/router/router.h"

static char *vector(const char *rel, size_t *len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/events/%s", test_vectors_dir(), rel);
	return test_read_file(path, len);
}

/* Parses a vector file; checks it parsed (rc 0) unless want_rc says otherwise. */
static int parse_vector(const char *rel, struct event *ev, int want_rc)
{
	struct err e;
	size_t len = 0;
	char *data = vector(rel, &len);
	int rc;

	CHECK(data != NULL);
	if (!data) {
		event_init(ev);
		return -1;
	}
	err_clear(&e);
	rc = event_parse(data, len, ev, &e);
	CHECK_INT(rc, want_rc);
	if (rc != want_rc)
		printf("# %s: %s\n", rel, e.message);
	free(data);
	return rc;
}

static int parse_str(const char *json, struct event *ev, struct err *e)
{
	err_clear(e);
	return event_parse(json, strlen(json), ev, e);
}

static const char *pair_at(const struct router_pair *p, size_t n, size_t i, int value)
{
	if (i >= n)
		return "(none)";
	return value ? p[i].value : p[i].name;
}

#define CHECK_PAIR(list, n, i, name, value)                                                        \
	do {                                                                                       \
		CHECK_STR(pair_at((list), (n), (i), 0), (name));                                   \
		CHECK_STR(pair_at((list), (n), (i), 1), (value));                                  \
	} while (0)

TEST_CASE(rest_v1_sample)
{
	struct event ev;
	struct router_request *r = &ev.request;

	parse_vector("powertools-python/apiGatewayProxyEvent.json", &ev, 0);
	CHECK_INT(ev.kind, EVENT_HTTP);
	CHECK_INT(ev.format, EVENT_FORMAT_V1);
	CHECK_STR(r->method, "GET");
	CHECK_STR(r->path, "/my/path");
	CHECK_INT(r->n_headers, 4);
	CHECK_PAIR(r->headers, r->n_headers, 0, "Header1", "value1");
	CHECK_PAIR(r->headers, r->n_headers, 1, "Origin", "https://aws.amazon.com");
	CHECK_PAIR(r->headers, r->n_headers, 2, "Header2", "value1");
	CHECK_PAIR(r->headers, r->n_headers, 3, "Header2", "value2");
	CHECK_INT(r->n_query, 3);
	CHECK_PAIR(r->query, r->n_query, 0, "parameter1", "value1");
	CHECK_PAIR(r->query, r->n_query, 1, "parameter1", "value2");
	CHECK_PAIR(r->query, r->n_query, 2, "parameter2", "value");
	CHECK_STR(r->body, "Hello from Lambda!");
	CHECK_INT(r->body_len, 18);
	CHECK_STR(r->request_id, "id=");
	CHECK(ev.json == NULL);
	event_free(&ev);
	CHECK(ev.request.path == NULL);
}

TEST_CASE(http_api_v2_samples)
{
	struct event ev;
	struct router_request *r = &ev.request;

	parse_vector("powertools-python/apiGatewayProxyV2Event.json", &ev, 0);
	CHECK_INT(ev.kind, EVENT_HTTP);
	CHECK_INT(ev.format, EVENT_FORMAT_V2);
	CHECK_STR(r->method, "POST");
	CHECK_STR(r->path, "/my/path");
	CHECK_INT(r->n_query, 3);
	CHECK_PAIR(r->query, r->n_query, 0, "parameter1", "value1");
	CHECK_PAIR(r->query, r->n_query, 1, "parameter1", "value2");
	CHECK_PAIR(r->query, r->n_query, 2, "parameter2", "value");
	CHECK_INT(r->n_headers, 3);
	CHECK_STR(router_header(r, "header2"), "value1,value2");
	CHECK_STR(router_header(r, "HEADER1"), "value1");
	CHECK_STR(router_header(r, "Cookie"), "cookie1; cookie2");
	CHECK_STR(r->body, "{\"message\": \"hello world\", \"username\": \"tom\"}");
	CHECK_STR(r->request_id, "id");
	event_free(&ev);

	parse_vector("powertools-python/apiGatewayProxyV2Event_GET.json", &ev, 0);
	CHECK_STR(r->method, "GET");
	CHECK_STR(r->path, "/my/path");
	CHECK(r->body == NULL);
	CHECK_INT(r->body_len, 0);
	event_free(&ev);
}

TEST_CASE(function_url_sample)
{
	struct event ev;
	struct router_request *r = &ev.request;

	parse_vector("powertools-python/lambdaFunctionUrlEvent.json", &ev, 0);
	CHECK_INT(ev.kind, EVENT_HTTP);
	CHECK_INT(ev.format, EVENT_FORMAT_V2);
	CHECK_STR(r->method, "GET");
	CHECK_STR(r->path, "/");
	CHECK_INT(r->n_query, 0);
	CHECK_INT(r->n_headers, 20);
	CHECK_STR(router_header(r, "Accept-Language"), "pt-BR,pt;q=0.9");
	CHECK_STR(router_header(r, "x-forwarded-for"), "123.123.123.123");
	CHECK(r->body == NULL);
	event_free(&ev);
}

TEST_CASE(other_event_kinds)
{
	struct event ev;
	char *gz = NULL;
	size_t gz_len = 0;

	parse_vector("powertools-python/cloudWatchLogEvent.json", &ev, 0);
	CHECK_INT(ev.kind, EVENT_LOGS);
	CHECK(ev.logs_data && strncmp(ev.logs_data, "H4sIAAAAAAAAAHWPwQqCQBCG", 24) == 0);
	CHECK(ev.json != NULL);
	CHECK_INT(event_base64_decode(ev.logs_data, strlen(ev.logs_data), &gz, &gz_len, NULL), 0);
	CHECK(gz_len > 10 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
	free(gz);
	event_free(&ev);

	parse_vector("powertools-python/codePipelineEvent.json", &ev, 0);
	CHECK_INT(ev.kind, EVENT_CODEPIPELINE_JOB);
	CHECK(json_is_object(json_object_get(ev.json, "CodePipeline.job")));
	event_free(&ev);

	parse_vector("powertools-python/eventBridgeEvent.json", &ev, 0);
	CHECK_INT(ev.kind, EVENT_EVENTBRIDGE);
	CHECK_STR(ev.source, "aws.ec2");
	CHECK_STR(ev.detail_type, "EC2 Instance State-change Notification");
	CHECK(ev.rule_name == NULL);
	event_free(&ev);

	parse_vector("eventbridge/scheduled-event-docs.json", &ev, 0);
	CHECK_INT(ev.kind, EVENT_SCHEDULED);
	CHECK_STR(ev.rule_name, "my-scheduled-rule");
	CHECK_STR(ev.source, "aws.events");
	CHECK_STR(ev.detail_type, "Scheduled Event");
	CHECK(ev.json != NULL);
	event_free(&ev);
}

TEST_CASE(codepipeline_state_change)
{
	struct event ev;
	struct err e;

	CHECK_INT(
	    parse_str("{\"version\":\"0\",\"detail-type\":\"CodePipeline Pipeline Execution "
	              "State Change\",\"source\":\"aws.codepipeline\",\"resources\":[\"arn:aws:"
	              "codepipeline:us-east-1:123456789012:pipeline/p\"],\"detail\":{"
	              "\"pipeline\":\"p\",\"state\":\"FAILED\"}}",
	              &ev, &e),
	    0);
	CHECK_INT(ev.kind, EVENT_CODEPIPELINE);
	CHECK_STR(ev.source, "aws.codepipeline");
	CHECK_STR(ev.detail_type, "CodePipeline Pipeline Execution State Change");
	CHECK_STR(json_string_value(json_object_get(json_object_get(ev.json, "detail"), "state")),
	          "FAILED");
	event_free(&ev);

	/* a scheduled event of a rule with an ARN without '/' */
	CHECK_INT(parse_str("{\"detail-type\":\"Scheduled Event\",\"source\":\"aws.events\","
	                    "\"resources\":[\"x-ami-backup\"]}",
	                    &ev, &e),
	          0);
	CHECK_INT(ev.kind, EVENT_SCHEDULED);
	CHECK_STR(ev.rule_name, "x-ami-backup");
	event_free(&ev);
	CHECK_INT(
	    parse_str("{\"detail-type\":\"Scheduled Event\",\"source\":\"aws.events\"}", &ev, &e),
	    0);
	CHECK(ev.rule_name == NULL);
	event_free(&ev);
}

/* Every file of the events folders: the AWS ones parse, the Slack metadata does not. */
static void every_vector_in(const char *dir, int want_rc)
{
	char path[1024], rel[512];
	struct dirent *d;
	DIR *dh;
	int n = 0;

	snprintf(path, sizeof(path), "%s/events/%s", test_vectors_dir(), dir);
	dh = opendir(path);
	CHECK(dh != NULL);
	while (dh && (d = readdir(dh)) != NULL) {
		struct event ev;
		size_t l = strlen(d->d_name);
		if (l < 6 || strcmp(d->d_name + l - 5, ".json") != 0)
			continue;
		snprintf(rel, sizeof(rel), "%s/%s", dir, d->d_name);
		parse_vector(rel, &ev, want_rc);
		CHECK(want_rc < 0 || ev.kind != 0);
		event_free(&ev);
		n++;
	}
	if (dh)
		closedir(dh);
	CHECK(n > 0);
}

TEST_CASE(every_sample_event)
{
	every_vector_in("powertools-python", 0);
	every_vector_in("eventbridge", 0);
	every_vector_in("slack", ERR_INVALID);
}

static void expect_path(const char *event, const char *want)
{
	struct event ev;
	struct err e;

	CHECK_INT(parse_str(event, &ev, &e), 0);
	CHECK_STR(ev.request.path, want);
	if (e.code)
		printf("# %s\n", e.message);
	event_free(&ev);
}

#define V2(path, stage)                                                                            \
	"{\"version\":\"2.0\",\"rawPath\":\"" path "\",\"requestContext\":{\"stage\":\"" stage     \
	"\",\"http\":{\"method\":\"GET\"}}}"
#define V1(version, path, stage)                                                                   \
	"{" version "\"httpMethod\":\"GET\",\"path\":\"" path                                      \
	"\",\"requestContext\":{\"stage\":\"" stage "\"}}"

TEST_CASE(named_stages_are_stripped)
{
	expect_path(V2("/prod/eb/my-env/ip", "prod"), "/eb/my-env/ip");
	expect_path(V2("/prod", "prod"), "/");
	expect_path(V2("/prod/", "prod"), "/");
	expect_path(V2("/production/x", "prod"), "/production/x");
	expect_path(V2("/eb/my-env/ip", "prod"), "/eb/my-env/ip");
	expect_path(V2("/eb/my-env/ip", "$default"), "/eb/my-env/ip");
	expect_path(V2("/$default/health", "$default"), "/$default/health");
	/* HTTP API payload 1.0 also carries the stage; a REST API's path never does */
	expect_path(V1("\"version\":\"1.0\",", "/dev/health", "dev"), "/health");
	expect_path(V1("", "/dev/health", "dev"), "/dev/health");
	expect_path(V1("", "/health", "dev"), "/health");
}

TEST_CASE(paths_are_percent_decoded_once)
{
	expect_path(V2("/eb/my%2Denv/ip", "$default"), "/eb/my-env/ip");
	expect_path(V2("/eb/a%2Fb/ip", "$default"), "/eb/a/b/ip");
	expect_path(V2("/eb/a%252Fb/ip", "$default"), "/eb/a%2Fb/ip");
	expect_path(V2("/x%zz%4", "$default"), "/x%zz%4");
	expect_path(V2("/x%00y%", "$default"), "/x%00y%");
	expect_path(V2("/a+b%20c", "$default"), "/a+b c");
	expect_path(V1("", "/eb/%6d%79-env/ip", "prod"), "/eb/my-env/ip");
}

TEST_CASE(queries)
{
	struct event ev;
	struct err e;
	struct router_request *r = &ev.request;

	CHECK_INT(parse_str("{\"version\":\"2.0\",\"rawPath\":\"/\",\"rawQueryString\":"
	                    "\"address=private&x=a%20b+c&flag&=v&&y=%zz&address=public\","
	                    "\"queryStringParameters\":{\"ignored\":\"yes\"},"
	                    "\"requestContext\":{\"http\":{\"method\":\"GET\"}}}",
	                    &ev, &e),
	          0);
	CHECK_INT(r->n_query, 6);
	CHECK_PAIR(r->query, r->n_query, 0, "address", "private");
	CHECK_PAIR(r->query, r->n_query, 1, "x", "a b c");
	CHECK_PAIR(r->query, r->n_query, 2, "flag", "");
	CHECK_PAIR(r->query, r->n_query, 3, "", "v");
	CHECK_PAIR(r->query, r->n_query, 4, "y", "%zz");
	CHECK_PAIR(r->query, r->n_query, 5, "address", "public");
	CHECK_STR(router_query(r, "address"), "private");
	event_free(&ev);

	/* without rawQueryString, queryStringParameters */
	CHECK_INT(parse_str("{\"version\":\"2.0\",\"rawPath\":\"/\",\"queryStringParameters\":"
	                    "{\"address\":\"private\"},\"requestContext\":{\"http\":{\"method\":"
	                    "\"GET\"}},\"cookies\":null,\"headers\":null}",
	                    &ev, &e),
	          0);
	CHECK_INT(r->n_query, 1);
	CHECK_STR(router_query(r, "address"), "private");
	event_free(&ev);

	/* 1.0: single-value maps when there are no multi-value ones; nulls skipped */
	CHECK_INT(
	    parse_str("{\"httpMethod\":\"GET\",\"path\":\"/\",\"queryStringParameters\":"
	              "{\"a\":\"1\",\"b\":null},\"multiValueQueryStringParameters\":null,"
	              "\"headers\":{\"Accept\":\"application/json\"},\"multiValueHeaders\":{}}",
	              &ev, &e),
	    0);
	CHECK_INT(r->n_query, 1);
	CHECK_STR(router_query(r, "a"), "1");
	CHECK_INT(r->n_headers, 1);
	CHECK_STR(router_header(r, "accept"), "application/json");
	CHECK(r->request_id == NULL);
	event_free(&ev);
}

TEST_CASE(base64_bodies)
{
	struct event ev;
	struct err e;
	char *slack, *b64ev;
	size_t slack_len = 0;
	unsigned char *enc;
	static const char bin[] = "\x00\x01\xff\xfe"
	                          "a";

	CHECK_INT(parse_str("{\"version\":\"2.0\",\"rawPath\":\"/\",\"body\":\"aGVsbG8gd29ybGQ=\","
	                    "\"isBase64Encoded\":true,\"requestContext\":{\"http\":{\"method\":"
	                    "\"POST\"}}}",
	                    &ev, &e),
	          0);
	CHECK_STR(ev.request.body, "hello world");
	CHECK_INT(ev.request.body_len, 11);
	event_free(&ev);

	CHECK_INT(parse_str("{\"httpMethod\":\"POST\",\"path\":\"/\",\"body\":\"AAH//mE=\","
	                    "\"isBase64Encoded\":true}",
	                    &ev, &e),
	          0);
	CHECK_INT(ev.request.body_len, 5);
	CHECK(ev.request.body && memcmp(ev.request.body, bin, 5) == 0);
	event_free(&ev);

	/* not base64 when isBase64Encoded is false */
	CHECK_INT(parse_str("{\"httpMethod\":\"POST\",\"path\":\"/\",\"body\":\"AAH//mE=\","
	                    "\"isBase64Encoded\":false}",
	                    &ev, &e),
	          0);
	CHECK_STR(ev.request.body, "AAH//mE=");
	event_free(&ev);

	CHECK_INT(parse_str("{\"httpMethod\":\"POST\",\"path\":\"/\",\"body\":\"AAH/-mE=\","
	                    "\"isBase64Encoded\":true}",
	                    &ev, &e),
	          ERR_INVALID);
	CHECK(strstr(e.message, "body") != NULL);
	event_free(&ev);

	/* Slack's form body, sent base64 by API Gateway */
	slack = vector("slack/slash-command-signed.body", &slack_len);
	CHECK(slack != NULL);
	if (slack) {
		enc = malloc(4 * (slack_len / 3 + 1) + 1);
		EVP_EncodeBlock(enc, (unsigned char *)slack, (int)slack_len);
		b64ev = malloc(strlen((char *)enc) + 200);
		sprintf(b64ev,
		        "{\"httpMethod\":\"POST\",\"path\":\"/slack/logsearch\",\"body\":\"%s\","
		        "\"isBase64Encoded\":true}",
		        (char *)enc);
		CHECK_INT(parse_str(b64ev, &ev, &e), 0);
		CHECK_INT(ev.request.body_len, slack_len);
		CHECK(ev.request.body && memcmp(ev.request.body, slack, slack_len) == 0);
		event_free(&ev);
		free(b64ev);
		free(enc);
		free(slack);
	}
}

static void b64(const char *in, int want_rc, const char *want)
{
	char *out = NULL;
	size_t len = 0;

	CHECK_INT(event_base64_decode(in, strlen(in), &out, &len, NULL), want_rc);
	if (want) {
		CHECK_STR(out, want);
		CHECK_INT(len, strlen(want));
	} else {
		CHECK(out == NULL);
	}
	free(out);
}

TEST_CASE(base64_decoding)
{
	b64("", 0, "");
	b64("QQ==", 0, "A");
	b64("QUI=", 0, "AB");
	b64("QUJD", 0, "ABC");
	b64(" QUJDRA==\r\n", 0, "ABCD");
	b64("QQ=A", ERR_INVALID, NULL);
	b64("Q===", ERR_INVALID, NULL);
	b64("QUJ", ERR_INVALID, NULL);
	b64("QU=D", ERR_INVALID, NULL);
	b64("QU JD", ERR_INVALID, NULL);
	b64("QUJD\x01", ERR_INVALID, NULL);
	b64("====", ERR_INVALID, NULL);
	b64("QUJD-_==", ERR_INVALID, NULL);
}

static void expect_bad(const char *json, int want_rc, const char *in_message)
{
	struct event ev;
	struct err e;

	CHECK_INT(parse_str(json, &ev, &e), want_rc);
	CHECK_INT(e.code, want_rc);
	if (in_message && !strstr(e.message, in_message)) {
		printf("# message \"%s\" lacks \"%s\"\n", e.message, in_message);
		test_failed_case = 1;
	}
	event_free(&ev);
}

TEST_CASE(malformed_events)
{
	char *big;
	size_t i, n;

	expect_bad("", ERR_INVALID, "not JSON");
	expect_bad("{\"httpMethod\":\"GET\",\"path\":\"/x-api-key-secret", ERR_INVALID, "not JSON");
	expect_bad("[1,2]", ERR_INVALID, "not a JSON object");
	expect_bad("\"x\"", ERR_INVALID, "not JSON");
	expect_bad("{}", ERR_INVALID, "unknown event");
	expect_bad("{\"version\":\"1.0\"}", ERR_INVALID, "unknown event");
	expect_bad("{\"version\":2}", ERR_INVALID, "\"version\" is not a string");
	expect_bad("{\"httpMethod\":1,\"path\":\"/\"}", ERR_INVALID, "\"httpMethod\"");
	expect_bad("{\"httpMethod\":\"GET\"}", ERR_INVALID, "no \"path\"");
	expect_bad("{\"httpMethod\":\"GET\",\"path\":null}", ERR_INVALID, "no \"path\"");
	expect_bad("{\"httpMethod\":\"GET\",\"path\":\"health\"}", ERR_INVALID, "'/'");
	expect_bad("{\"httpMethod\":\"\",\"path\":\"/\"}", ERR_INVALID, "method");
	expect_bad("{\"httpMethod\":\"G T\",\"path\":\"/\"}", ERR_INVALID, "method");
	expect_bad("{\"httpMethod\":\"GETGETGETGETGETGET\",\"path\":\"/\"}", ERR_INVALID, "method");
	/* jansson refuses \u0000 (no JSON_ALLOW_NUL) */
	expect_bad("{\"httpMethod\":\"GET\",\"path\":\"/a\\u0000b\"}", ERR_INVALID, "not JSON");
	expect_bad("{\"httpMethod\":\"GET\",\"path\":\"/\",\"headers\":{\"a\":1}}", ERR_INVALID,
	           "\"headers\"");
	expect_bad("{\"httpMethod\":\"GET\",\"path\":\"/\",\"headers\":[]}", ERR_INVALID,
	           "\"headers\"");
	expect_bad("{\"httpMethod\":\"GET\",\"path\":\"/\",\"headers\":{\"a\":\"x\\u0000\"}}",
	           ERR_INVALID, "not JSON");
	expect_bad("{\"httpMethod\":\"GET\",\"path\":\"/\",\"multiValueHeaders\":{\"a\":\"x\"}}",
	           ERR_INVALID, "not a list");
	expect_bad("{\"httpMethod\":\"GET\",\"path\":\"/\",\"multiValueHeaders\":{\"a\":[1]}}",
	           ERR_INVALID, "multiValueHeaders");
	expect_bad("{\"httpMethod\":\"GET\",\"path\":\"/\",\"body\":5}", ERR_INVALID, "\"body\"");
	expect_bad("{\"version\":\"2.0\",\"rawPath\":\"/\"}", ERR_INVALID, "requestContext.http");
	expect_bad("{\"version\":\"2.0\",\"rawPath\":\"/\",\"requestContext\":{\"http\":{}}}",
	           ERR_INVALID, "\"method\"");
	expect_bad("{\"version\":\"2.0\",\"requestContext\":{\"http\":{\"method\":\"GET\"}}}",
	           ERR_INVALID, "\"rawPath\"");
	expect_bad("{\"version\":\"2.0\",\"rawPath\":\"/\",\"cookies\":[1],\"requestContext\":{"
	           "\"http\":{\"method\":\"GET\"}}}",
	           ERR_INVALID, "cookies");
	expect_bad("{\"version\":\"2.0\",\"rawPath\":\"/\",\"cookies\":\"a\",\"requestContext\":{"
	           "\"http\":{\"method\":\"GET\"}}}",
	           ERR_INVALID, "cookies");
	expect_bad("{\"version\":\"2.0\",\"rawPath\":\"/\",\"rawQueryString\":7,"
	           "\"requestContext\":{\"http\":{\"method\":\"GET\"}}}",
	           ERR_INVALID, "rawQueryString");
	expect_bad("{\"awslogs\":{}}", ERR_INVALID, "\"data\"");
	expect_bad("{\"awslogs\":{\"data\":3}}", ERR_INVALID, "\"data\"");
	expect_bad("{\"detail-type\":1,\"source\":\"x\"}", ERR_INVALID, "detail-type");

	/* a JSON error message never repeats the event's text */
	{
		struct event ev;
		struct err e;
		CHECK_INT(parse_str("{\"headers\":{\"x-api-key\":\"SEKRIT\"", &ev, &e),
		          ERR_INVALID);
		CHECK(strstr(e.message, "SEKRIT") == NULL);
		event_free(&ev);
	}

	/* bounds */
	big = malloc(EVENT_MAX_BYTES + 2);
	memset(big, ' ', EVENT_MAX_BYTES + 1);
	big[0] = '{';
	big[EVENT_MAX_BYTES] = '}';
	big[EVENT_MAX_BYTES + 1] = '\0';
	expect_bad(big, ERR_TOO_LARGE, "larger");
	free(big);

	big = malloc(EVENT_MAX_PATH + 100);
	n = (size_t)sprintf(big, "{\"httpMethod\":\"GET\",\"path\":\"/");
	for (i = 0; i < EVENT_MAX_PATH; i++)
		big[n++] = 'a';
	strcpy(big + n, "\"}");
	expect_bad(big, ERR_TOO_LARGE, "path");
	free(big);

	big = malloc(64 * (EVENT_MAX_PAIRS + 2));
	n = (size_t)sprintf(big, "{\"httpMethod\":\"GET\",\"path\":\"/\",\"headers\":{");
	for (i = 0; i <= EVENT_MAX_PAIRS; i++)
		n += (size_t)sprintf(big + n, "%s\"h%zu\":\"v\"", i ? "," : "", i);
	strcpy(big + n, "}}");
	expect_bad(big, ERR_TOO_LARGE, "more than");
	free(big);
}

static json_t *format(enum event_format f, const struct router_response *resp)
{
	struct buf out;
	struct err e;
	json_t *j;

	buf_init(&out, 0);
	CHECK_INT(event_format_response(f, resp, &out, &e), 0);
	j = json_loadb(out.data, out.len, 0, NULL);
	CHECK(j != NULL);
	buf_free(&out);
	return j;
}

static const char *jget(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	return json_string_value(b ? json_object_get(v, b) : v);
}

TEST_CASE(response_formats)
{
	struct router_response resp;
	json_t *j, *arr;
	char *dec = NULL;
	size_t dec_len = 0;

	router_response_init(&resp);
	resp.status = 404;
	resp.content_type = strdup("application/json");
	router_pair_add(&resp.headers, &resp.n_headers, "Cache-Control", "no-store");
	router_pair_add(&resp.headers, &resp.n_headers, "Set-Cookie", "a=1");
	router_pair_add(&resp.headers, &resp.n_headers, "set-cookie", "b=2");
	router_pair_add(&resp.headers, &resp.n_headers, "Vary", "Accept");
	router_pair_add(&resp.headers, &resp.n_headers, "vary", "Origin");
	buf_append_str(&resp.body, "{\"message\":\"caf\xc3\xa9\",\"code\":\"NotFound\"}\n");

	j = format(EVENT_FORMAT_V1, &resp);
	CHECK_INT(json_integer_value(json_object_get(j, "statusCode")), 404);
	CHECK_STR(jget(j, "headers", "Content-Type"), "application/json");
	CHECK_STR(jget(j, "headers", "Cache-Control"), "no-store");
	CHECK(json_object_get(json_object_get(j, "headers"), "Set-Cookie") == NULL);
	arr = json_object_get(json_object_get(j, "multiValueHeaders"), "Set-Cookie");
	CHECK_INT(json_array_size(arr), 2);
	CHECK_STR(json_string_value(json_array_get(arr, 0)), "a=1");
	CHECK_STR(json_string_value(json_array_get(arr, 1)), "b=2");
	arr = json_object_get(json_object_get(j, "multiValueHeaders"), "Vary");
	CHECK_INT(json_array_size(arr), 2);
	CHECK_INT(json_object_size(json_object_get(j, "multiValueHeaders")), 2);
	CHECK_STR(jget(j, "body", NULL), "{\"message\":\"caf\xc3\xa9\",\"code\":\"NotFound\"}\n");
	CHECK(json_is_false(json_object_get(j, "isBase64Encoded")));
	CHECK(json_object_get(j, "cookies") == NULL);
	CHECK_INT(json_object_size(j), 5);
	json_decref(j);

	j = format(EVENT_FORMAT_V2, &resp);
	CHECK_INT(json_integer_value(json_object_get(j, "statusCode")), 404);
	CHECK_STR(jget(j, "headers", "Content-Type"), "application/json");
	CHECK_STR(jget(j, "headers", "Vary"), "Accept, Origin");
	CHECK_INT(json_object_size(json_object_get(j, "headers")), 3);
	arr = json_object_get(j, "cookies");
	CHECK_INT(json_array_size(arr), 2);
	CHECK_STR(json_string_value(json_array_get(arr, 1)), "b=2");
	CHECK(json_object_get(j, "multiValueHeaders") == NULL);
	CHECK(json_is_false(json_object_get(j, "isBase64Encoded")));
	CHECK_INT(json_object_size(j), 5);
	json_decref(j);

	/* a body that is not UTF-8 goes in base64 */
	buf_reset(&resp.body);
	buf_append(&resp.body, "\xff\x00\x01ok", 5);
	j = format(EVENT_FORMAT_V2, &resp);
	CHECK(json_is_true(json_object_get(j, "isBase64Encoded")));
	CHECK_STR(jget(j, "body", NULL), "/wABb2s=");
	CHECK_INT(event_base64_decode(jget(j, "body", NULL), 8, &dec, &dec_len, NULL), 0);
	CHECK_INT(dec_len, 5);
	CHECK(dec && memcmp(dec, "\xff\x00\x01ok", 5) == 0);
	free(dec);
	json_decref(j);
	router_response_free(&resp);

	/* an empty answer without a content type */
	router_response_init(&resp);
	resp.status = 204;
	j = format(EVENT_FORMAT_V1, &resp);
	CHECK_STR(jget(j, "body", NULL), "");
	CHECK_INT(json_object_size(json_object_get(j, "headers")), 0);
	CHECK(json_object_get(j, "multiValueHeaders") == NULL);
	json_decref(j);
	router_response_free(&resp);
}

/* An event through the router and back, as the runtime will do it. */
static json_t *round_trip(const char *event)
{
	struct service_context ctx;
	struct router_response resp;
	struct event ev;
	struct err e;
	json_t *j = NULL;

	memset(&ctx, 0, sizeof(ctx));
	router_response_init(&resp);
	CHECK_INT(parse_str(event, &ev, &e), 0);
	if (ev.kind == EVENT_HTTP) {
		CHECK_INT(router_handle(&ctx, &ev.request, &resp), 0);
		j = format(ev.format, &resp);
	}
	router_response_free(&resp);
	event_free(&ev);
	return j;
}

TEST_CASE(events_through_the_router)
{
	json_t *j;

	j = round_trip(V2("/prod/health", "prod"));
	CHECK_INT(json_integer_value(json_object_get(j, "statusCode")), 200);
	CHECK_STR(jget(j, "body", NULL), "ok\n");
	CHECK_STR(jget(j, "headers", "Content-Type"), "text/plain; charset=utf-8");
	CHECK_STR(jget(j, "headers", "Cache-Control"), "no-store");
	json_decref(j);

	j = round_trip(V1("", "/eb/bad_name/ip", "prod"));
	CHECK_INT(json_integer_value(json_object_get(j, "statusCode")), 400);
	CHECK(strstr(jget(j, "body", NULL), "\"InvalidName\"") != NULL);
	json_decref(j);

	j = round_trip("{\"httpMethod\":\"POST\",\"path\":\"/health\"}");
	CHECK_INT(json_integer_value(json_object_get(j, "statusCode")), 405);
	CHECK_STR(jget(j, "headers", "Allow"), "GET");
	json_decref(j);
}

/* The caller: REST's identity, HTTP API 2.0's authorizer.iam; absent, null,
 * empty or non-string fields stay NULL; the key match stays unchecked. */
TEST_CASE(caller_identity)
{
	struct event ev;
	struct err e;
	struct router_caller *c = &ev.request.caller;

	parse_vector("powertools-python/apiGatewayProxyEvent.json", &ev, 0);
	CHECK(c->api_key_id == NULL);
	CHECK(c->user_arn == NULL); /* null in the sample */
	CHECK(c->caller == NULL);
	CHECK_STR(c->source_ip, "192.168.0.1/32");
	CHECK_INT(c->key, ROUTER_KEY_UNCHECKED);
	event_free(&ev);

	CHECK_INT(parse_str("{\"httpMethod\":\"GET\",\"path\":\"/backup/ami\",\"requestContext\":"
	                    "{\"identity\":{\"apiKeyId\":\"abc123defg\",\"userArn\":"
	                    "\"arn:aws:iam::123456789012:user/alice\",\"caller\":\"AIDAEXAMPLE\","
	                    "\"sourceIp\":\"203.0.113.9\"}}}",
	                    &ev, &e),
	          0);
	CHECK_STR(c->api_key_id, "abc123defg");
	CHECK_STR(c->user_arn, "arn:aws:iam::123456789012:user/alice");
	CHECK_STR(c->caller, "AIDAEXAMPLE");
	CHECK_STR(c->source_ip, "203.0.113.9");
	event_free(&ev);

	/* empty, wrong types, no identity object: nothing, and no error */
	CHECK_INT(parse_str("{\"httpMethod\":\"GET\",\"path\":\"/x\",\"requestContext\":"
	                    "{\"identity\":{\"apiKeyId\":\"\",\"userArn\":7,\"caller\":[]}}}",
	                    &ev, &e),
	          0);
	CHECK(c->api_key_id == NULL && c->user_arn == NULL && c->caller == NULL);
	event_free(&ev);
	CHECK_INT(parse_str("{\"httpMethod\":\"GET\",\"path\":\"/x\",\"requestContext\":"
	                    "{\"identity\":\"alice\"}}",
	                    &ev, &e),
	          0);
	CHECK(c->api_key_id == NULL && c->user_arn == NULL);
	event_free(&ev);
	/* the request's own headers never make a caller */
	CHECK_INT(parse_str("{\"httpMethod\":\"GET\",\"path\":\"/x\",\"headers\":"
	                    "{\"apiKeyId\":\"abc\",\"userArn\":\"arn:x\"}}",
	                    &ev, &e),
	          0);
	CHECK(c->api_key_id == NULL && c->user_arn == NULL);
	event_free(&ev);

	/* HTTP API 2.0 with IAM authorization */
	CHECK_INT(parse_str("{\"version\":\"2.0\",\"rawPath\":\"/logs/f/abcdefgh\","
	                    "\"requestContext\":{\"http\":{\"method\":\"GET\",\"sourceIp\":"
	                    "\"198.51.100.7\"},\"authorizer\":{\"iam\":{\"userArn\":"
	                    "\"arn:aws:sts::123456789012:assumed-role/ops/bob\",\"callerId\":"
	                    "\"AROAEXAMPLE:bob\"}}}}",
	                    &ev, &e),
	          0);
	CHECK_STR(c->user_arn, "arn:aws:sts::123456789012:assumed-role/ops/bob");
	CHECK_STR(c->caller, "AROAEXAMPLE:bob");
	CHECK_STR(c->source_ip, "198.51.100.7");
	CHECK(c->api_key_id == NULL);
	event_free(&ev);

	parse_vector("powertools-python/apiGatewayProxyV2Event.json", &ev, 0);
	CHECK(c->user_arn == NULL); /* a JWT authorizer is no IAM caller */
	CHECK_STR(c->source_ip, "192.168.0.1/32");
	event_free(&ev);
}

TEST_CASE(kind_names)
{
	CHECK_STR(event_kind_name(EVENT_HTTP), "http");
	CHECK_STR(event_kind_name(EVENT_SCHEDULED), "scheduled");
	CHECK_STR(event_kind_name(EVENT_CODEPIPELINE), "codepipeline");
	CHECK_STR(event_kind_name(EVENT_EVENTBRIDGE), "eventbridge");
	CHECK_STR(event_kind_name(EVENT_LOGS), "logs");
	CHECK_STR(event_kind_name(EVENT_CODEPIPELINE_JOB), "codepipeline-job");
	CHECK_STR(event_kind_name(EVENT_CODEDEPLOY_HOOK), "codedeploy-hook");
	CHECK_STR(event_kind_name((enum event_kind)0), "unknown");
	CHECK_STR(event_kind_name((enum event_kind)99), "unknown");
}

/* The event CodeDeploy sends a Lambda deployment's lifecycle hook (its
 * shape in the CodeDeploy user guide's AppSpec "hooks" section). */
TEST_CASE(codedeploy_hook_event)
{
	struct event ev;
	struct err e;

	CHECK_INT(parse_str("{\"DeploymentId\":\"d-ABCDEF123\","
	                    "\"LifecycleEventHookExecutionId\":\"eyJlbmNyeXB0ZWREYXRhIjoi\"}",
	                    &ev, &e),
	          0);
	CHECK_INT(ev.kind, EVENT_CODEDEPLOY_HOOK);
	CHECK_STR(ev.deployment_id, "d-ABCDEF123");
	CHECK_STR(ev.hook_execution_id, "eyJlbmNyeXB0ZWREYXRhIjoi");
	CHECK(ev.json != NULL);
	CHECK(ev.request.path == NULL);
	event_free(&ev);

	expect_bad("{\"DeploymentId\":\"d-1\",\"LifecycleEventHookExecutionId\":7}", ERR_INVALID,
	           "LifecycleEventHookExecutionId");
	expect_bad("{\"DeploymentId\":null,\"LifecycleEventHookExecutionId\":\"x\"}", ERR_INVALID,
	           "no \"DeploymentId\"");
	expect_bad("{\"DeploymentId\":\"\",\"LifecycleEventHookExecutionId\":\"x\"}", ERR_INVALID,
	           "empty");
	/* One of the two is no CodeDeploy event. */
	expect_bad("{\"DeploymentId\":\"d-1\"}", ERR_INVALID, "CodeDeploy hook");
}

/* An event source mapping's SQS batch, as in Lambda's "Using Lambda with Amazon SQS". */
static const char sqs_batch[] =
    "{\"Records\":[{\"messageId\":\"059f36b4-87a3-44ab-83d2-661975830a7d\","
    "\"receiptHandle\":\"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a\",\"body\":"
    "\"{\\\"v\\\":1,\\\"instance_id\\\":\\\"i-0123456789abcdef0\\\",\\\"time\\\":"
    "\\\"2024-05-01T09:30:00Z\\\",\\\"on_demand\\\":false,\\\"reboot\\\":false,"
    "\\\"dry_run\\\":false}\",\"attributes\":{\"ApproximateReceiveCount\":\"2\","
    "\"SentTimestamp\":\"1545082649183\"},\"messageAttributes\":{},\"md5OfBody\":"
    "\"e4e68fb7bd0e697a0ae8f1bb342846b3\",\"eventSource\":\"aws:sqs\",\"eventSourceARN\":"
    "\"arn:aws:sqs:us-east-2:123456789012:my-queue\",\"awsRegion\":\"us-east-2\"},"
    "{\"messageId\":\"2e1424d4-f796-459a-8184-9c92662be6da\",\"body\":\"not an item\","
    "\"attributes\":{},\"eventSource\":\"aws:sqs\"},"
    "{\"messageId\":\"3\",\"body\":7,\"eventSource\":\"aws:sqs\"}]}";

TEST_CASE(sqs_batches)
{
	struct event ev;
	struct err e;

	CHECK_INT(parse_str(sqs_batch, &ev, &e), 0);
	CHECK_INT(ev.kind, EVENT_SQS);
	CHECK_STR(event_kind_name(ev.kind), "sqs");
	CHECK_INT((int)ev.n_sqs_records, 3);
	CHECK_STR(ev.sqs_records[0].message_id, "059f36b4-87a3-44ab-83d2-661975830a7d");
	CHECK_INT((int)ev.sqs_records[0].receive_count, 2);
	CHECK(strstr(ev.sqs_records[0].body, "i-0123456789abcdef0") != NULL);
	CHECK_STR(ev.sqs_records[1].body, "not an item");
	CHECK_INT((int)ev.sqs_records[1].receive_count, 0);
	CHECK(ev.sqs_records[2].body == NULL);
	event_free(&ev);

	expect_bad("{\"Records\":[{\"body\":\"x\",\"eventSource\":\"aws:sqs\"}]}", ERR_INVALID,
	           "no messageId");
	expect_bad("{\"Records\":[{\"messageId\":\"a\",\"eventSource\":\"aws:sqs\"},"
	           "{\"messageId\":\"b\",\"eventSource\":\"aws:sns\"}]}",
	           ERR_INVALID, "not aws:sqs");
	/* S3's Records are no SQS batch */
	expect_bad("{\"Records\":[{\"eventSource\":\"aws:s3\"}]}", ERR_INVALID, "S3 record");
}

TEST_CASE(backup_items)
{
	struct backup_opts o;
	struct backup_item it;
	struct err e;
	char *body = NULL;
	static const char *const bad[] = {
	    "[]",
	    "{}",
	    "{\"v\":2,\"instance_id\":\"i-1\",\"time\":\"2024-05-01T09:30:00Z\"}",
	    "{\"v\":1,\"instance_id\":\"vol-1\",\"time\":\"2024-05-01T09:30:00Z\"}",
	    "{\"v\":1,\"instance_id\":\"i-1\",\"time\":\"2024-05-01 09:30\"}",
	    "{\"v\":1,\"instance_id\":\"i-1\",\"time\":\"2024-05-01T09:30:00Z\",\"reboot\":1}",
	};
	size_t i;

	backup_opts_init(&o);
	o.now = 1714555800; /* 2024-05-01T09:30:00Z */
	o.on_demand = 1;
	o.allow_reboot = 1;
	CHECK_INT(backup_item_body(&o, "i-0123456789abcdef0", &body, &e), 0);
	CHECK_STR(body, "{\"v\":1,\"instance_id\":\"i-0123456789abcdef0\",\"time\":"
	                "\"2024-05-01T09:30:00Z\",\"on_demand\":true,\"reboot\":true,"
	                "\"dry_run\":false}");
	CHECK_INT(backup_item_parse(body, &it, &e), 0);
	CHECK_STR(it.instance_id, "i-0123456789abcdef0");
	CHECK_INT((int)(it.time - o.now), 0);
	CHECK(it.on_demand && it.reboot && !it.dry_run);
	backup_item_opts(&it, &o);
	CHECK(o.on_demand && o.allow_reboot && !o.dry_run && o.now == 1714555800);
	free(body);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(backup_item_parse(bad[i], &it, &e), ERR_INVALID);
	CHECK_INT(backup_item_parse(NULL, &it, &e), ERR_INVALID);
}

static int64_t late_clock(struct service_context *ctx)
{
	(void)ctx;
	return 1000000;
}

/* The partial batch response: the bad bodies and the records that cannot
 * start (no AWS client here; then no time left) are named, by messageId. */
TEST_CASE(sqs_partial_batch_response)
{
	struct service_context ctx;
	struct event ev;
	struct err e;
	json_t *answer = NULL, *list;
	size_t n_failed = 0;
	int fd = log_set_fd(-1);

	memset(&ctx, 0, sizeof(ctx));
	CHECK_INT(parse_str(sqs_batch, &ev, &e), 0);
	CHECK_INT(backup_queue_consume(&ctx, &ev, &answer, &n_failed, &e), 0);
	list = json_object_get(answer, "batchItemFailures");
	CHECK_INT((int)json_array_size(list), 3);
	CHECK_INT((int)n_failed, 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(list, 1), "itemIdentifier")),
	          "2e1424d4-f796-459a-8184-9c92662be6da");
	json_decref(answer);
	/* out of time: none is started, all fail (retried later) */
	ctx.clock_ms = late_clock;
	ctx.deadline_ms = 1000000 + SERVICE_DEADLINE_MARGIN_MS - 1;
	CHECK_INT(backup_queue_consume(&ctx, &ev, &answer, &n_failed, &e), 0);
	CHECK_INT((int)json_array_size(json_object_get(answer, "batchItemFailures")), 3);
	json_decref(answer);
	event_free(&ev);
	/* a body that is no item (v only) fails */
	CHECK_INT(parse_str("{\"Records\":[{\"messageId\":\"a\",\"eventSource\":\"aws:sqs\","
	                    "\"body\":\"{\\\"v\\\":1}\"}]}",
	                    &ev, &e),
	          0);
	CHECK_INT(backup_queue_consume(&ctx, &ev, &answer, &n_failed, &e), 0);
	CHECK_INT((int)n_failed, 1);
	json_decref(answer);
	event_free(&ev);
	log_set_fd(fd);
}

/* The vector's S3 event with two records more: an encoded key and a removal. */
static char *s3_event_text(void)
{
	char *data = vector("powertools-python/s3Event.json", NULL);
	json_t *root = data ? json_loads(data, 0, NULL) : NULL;
	json_t *records = json_object_get(root, "Records");
	json_t *second = json_deep_copy(json_array_get(records, 0));
	json_t *removed = json_deep_copy(second);
	json_t *obj = json_object_get(json_object_get(second, "s3"), "object");
	char *text;

	json_object_set_new(obj, "key", json_string("photos/a+b%2Bc/%C3%A9t%C3%A9+1.jpg"));
	json_object_set_new(obj, "versionId", json_string("v1"));
	json_array_append_new(records, second);
	json_object_set_new(removed, "eventName", json_string("ObjectRemoved:Delete"));
	json_array_append_new(records, removed);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	free(data);
	return text;
}

static char *sns_event_text(const char *message)
{
	json_t *root = json_pack("{s:[{s:s, s:{s:s, s:s, s:s}}]}", "Records", "EventSource",
	                         "aws:sns", "Sns", "Type", "Notification", "TopicArn",
	                         "arn:aws:sns:us-east-1:123456789012:uploads", "Message", message);
	char *text = json_dumps(root, JSON_COMPACT);

	json_decref(root);
	return text;
}

static char *sqs_event_text(const char *body1, const char *body2)
{
	json_t *root = json_pack("{s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}", "Records", "eventSource",
	                         "aws:sqs", "messageId", "m-1", "body", body1, "eventSource",
	                         "aws:sqs", "messageId", "m-2", "body", body2);
	char *text = json_dumps(root, JSON_COMPACT);

	json_decref(root);
	return text;
}

/* Checks the two ObjectCreated records of s3_event_text. */
static void check_s3_records(const char *text, const char *msg_id)
{
	struct event ev;
	struct err e;

	CHECK(text != NULL);
	if (!text)
		return;
	CHECK_INT(event_parse(text, strlen(text), &ev, &e), 0);
	CHECK_INT(ev.kind, EVENT_S3);
	CHECK_STR(event_kind_name(ev.kind), "s3");
	CHECK_INT((long long)ev.n_s3_records, 2);
	if (ev.n_s3_records == 2) {
		CHECK_STR(ev.s3_records[0].bucket, "lambda-artifacts-deafc19498e3f2df");
		CHECK_STR(ev.s3_records[0].key, "b21b84d653bb07b05b1e6b33684dc11b");
		CHECK_STR(ev.s3_records[0].event_name, "ObjectCreated:Put");
		CHECK_STR(ev.s3_records[0].etag, "b21b84d653bb07b05b1e6b33684dc11b");
		CHECK_INT(ev.s3_records[0].size, 1305107);
		CHECK(ev.s3_records[0].version_id == NULL);
		CHECK_STR(ev.s3_records[1].key, "photos/a b+c/\xc3\xa9t\xc3\xa9 1.jpg");
		CHECK_STR(ev.s3_records[1].version_id, "v1");
		if (msg_id)
			CHECK_STR(ev.s3_records[1].sqs_message_id, msg_id);
		else
			CHECK(ev.s3_records[1].sqs_message_id == NULL);
	}
	event_free(&ev);
}

TEST_CASE(s3_direct_and_via_sns)
{
	char *s3 = s3_event_text();
	char *sns = s3 ? sns_event_text(s3) : NULL;

	check_s3_records(s3, NULL);
	check_s3_records(sns, NULL);
	free(sns);
	free(s3);
}

TEST_CASE(s3_via_sqs_envelope_or_bare)
{
	char *s3 = s3_event_text();
	json_t *env = json_pack("{s:s, s:s}", "Type", "Notification", "Message", s3 ? s3 : "");
	char *envelope = json_dumps(env, JSON_COMPACT);
	char *sqs = sqs_event_text(envelope, "{\"Event\":\"s3:TestEvent\"}");
	char *sqs2 = sqs_event_text(s3, envelope);
	struct event ev;
	struct err e;

	check_s3_records(sqs, "m-1");
	CHECK_INT(event_parse(sqs2, strlen(sqs2), &ev, &e), 0);
	CHECK_INT(ev.kind, EVENT_S3);
	CHECK_INT((long long)ev.n_s3_records, 4); /* every record of every message */
	if (ev.n_s3_records == 4) {
		CHECK_STR(ev.s3_records[0].sqs_message_id, "m-1");
		CHECK_STR(ev.s3_records[3].sqs_message_id, "m-2");
	}
	event_free(&ev);
	json_decref(env);
	free(envelope);
	free(sqs);
	free(sqs2);
	free(s3);
}

TEST_CASE(s3_via_the_retry_topic_doubly_wrapped)
{
	char *s3 = s3_event_text();
	char *first = sns_event_text(s3);
	json_t *dest = json_pack("{s:s, s:{s:s, s:i}, s:o}", "version", "1.0", "requestContext",
	                         "condition", "RetriesExhausted", "approximateInvokeCount", 3,
	                         "requestPayload", json_loads(first, 0, NULL));
	char *dest_text = json_dumps(dest, JSON_COMPACT);
	char *retry = sns_event_text(dest_text);

	check_s3_records(retry, NULL);
	json_decref(dest);
	free(dest_text);
	free(retry);
	free(first);
	free(s3);
}

TEST_CASE(s3_shapes_that_carry_nothing_or_too_much)
{
	const char *sns_text = "{\"Records\":[{\"EventSource\":\"aws:sns\",\"Sns\":{"
	                       "\"Message\":\"Hello from SNS!\"}}]}";
	const char *no_key = "{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":"
	                     "\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},"
	                     "\"object\":{}}}]}";
	char *deep = strdup(sns_text), *next;
	struct event ev;
	struct err e;
	int i;

	CHECK_INT(event_parse(sns_text, strlen(sns_text), &ev, &e), 0);
	CHECK_INT(ev.kind, EVENT_S3);
	CHECK_INT((long long)ev.n_s3_records, 0);
	event_free(&ev);
	CHECK_INT(event_parse(no_key, strlen(no_key), &ev, &e), ERR_INVALID);
	event_free(&ev);
	for (i = 0; i < 6 && deep; i++) {
		next = sns_event_text(deep);
		free(deep);
		deep = next;
	}
	CHECK(deep != NULL);
	CHECK_INT(event_parse(deep, strlen(deep), &ev, &e), ERR_INVALID);
	CHECK(strstr(e.message, "deep") != NULL);
	event_free(&ev);
	free(deep);
}

int main(void)
{
	RUN(codedeploy_hook_event);
	RUN(sqs_batches);
	RUN(backup_items);
	RUN(sqs_partial_batch_response);
	RUN(rest_v1_sample);
	RUN(http_api_v2_samples);
	RUN(function_url_sample);
	RUN(other_event_kinds);
	RUN(codepipeline_state_change);
	RUN(every_sample_event);
	RUN(named_stages_are_stripped);
	RUN(paths_are_percent_decoded_once);
	RUN(queries);
	RUN(base64_bodies);
	RUN(base64_decoding);
	RUN(malformed_events);
	RUN(response_formats);
	RUN(events_through_the_router);
	RUN(kind_names);
	RUN(caller_identity);
	RUN(s3_direct_and_via_sns);
	RUN(s3_via_sqs_envelope_or_bare);
	RUN(s3_via_the_retry_topic_doubly_wrapped);
	RUN(s3_shapes_that_carry_nothing_or_too_much);
	return TEST_DONE();
}
