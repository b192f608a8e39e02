/*
 * Unit tests of aws/errors: the real EC2 and CloudWatch error bodies of
 * $EBSSH_VECTORS, every error case of botocore's protocol tests (ec2, query,
 * json, rest-json), unreadable and hostile bodies, and the throttling codes
 * of botocore's _retry.json.
 */
#include "test.h"

#include <jansson.h>

#include "aws/errors.h"

static char *read_vector(const char *rel, size_t *len)
{
	char path[1024];
	char *data;

	snprintf(path, sizeof(path), "%s/%s", test_vectors_dir(), rel);
	data = test_read_file(path, len);
	if (!data) {
		printf("# cannot read %s\n", path);
		test_failed_case = 1;
	}
	return data;
}

/* errors_parse over a C string. */
static int parse_s(int is_json, long status, const char *body, const char *type_header,
                   const char *rid_header, struct err *e)
{
	return errors_parse(is_json, status, body, strlen(body), type_header, rid_header, e);
}

static void check_xml_vector(const char *rel, long status, const char *code, const char *message,
                             const char *request_id)
{
	size_t len = 0;
	char *body = read_vector(rel, &len);
	struct err e;

	if (!body)
		return;
	CHECK_INT(errors_parse(0, status, body, len, NULL, "header-id", &e), ERR_AWS);
	CHECK_INT(e.code, ERR_AWS);
	CHECK_INT(e.http_status, status);
	CHECK_STR(e.aws_code, code);
	CHECK_STR(e.message, message);
	CHECK_STR(e.request_id, request_id);
	/* the same when the caller believed it JSON: the shape is sniffed */
	CHECK_INT(errors_parse(1, status, body, len, NULL, NULL, &e), ERR_AWS);
	CHECK_STR(e.aws_code, code);
	free(body);
}

TEST_CASE(ec2_error_vectors)
{
	check_xml_vector("ec2/issue-aws-sdk-java-v2-2981-AuthFailure.xml", 401, "AuthFailure",
	                 "AWS was not able to validate the provided access credentials",
	                 "5b48c718-a402-4c2f-b776-8ebea01ae49d");
	check_xml_vector("ec2/issue-haproxy-autoscale-20-AuthFailure-401.xml", 401, "AuthFailure",
	                 "AWS was not able to validate the provided access credentials",
	                 "53deb9bb-b3f5-484c-82aa-a0cb60c2be0a");
	check_xml_vector("ec2/jclouds-aws-ec2-dry_run.xml", 412, "DryRunOperation",
	                 "Request would have succeeded, but DryRun flag is set.",
	                 "344ef005-e34b-42fb-a334-1180fe317e7c");
	check_xml_vector("cloudwatch/jclouds-InvalidFormatResponse.xml", 400, "InvalidFormat",
	                 "Data was not syntactically valid JSON.",
	                 "a9f8f3a3-e40f-11dd-af0f-cf11f65ec49d");
	check_xml_vector("cloudwatch/jclouds-LimitExceededResponse.xml", 400, "LimitExceeded",
	                 "The quota for alarms for this customer has already been reached.",
	                 "a9f8f3a3-e40f-11dd-af0f-cf11f65ec49d");
}

TEST_CASE(botocore_error_vector_matches_expected_json)
{
	json_error_t jerr;
	json_t *want;
	size_t len = 0;
	char *body = read_vector("ec2/botocore-errors-ec2-describe-instances.xml", &len);
	char path[1024];
	struct err e;

	snprintf(path, sizeof(path), "%s/ec2/botocore-errors-ec2-describe-instances.expected.json",
	         test_vectors_dir());
	want = json_load_file(path, 0, &jerr);
	CHECK(want != NULL);
	if (body && want) {
		CHECK_INT(errors_parse(0, 400, body, len, NULL, NULL, &e), ERR_AWS);
		CHECK_STR(e.aws_code, json_string_value(
		                          json_object_get(json_object_get(want, "Error"), "Code")));
		CHECK_STR(e.message, json_string_value(json_object_get(
		                         json_object_get(want, "Error"), "Message")));
		CHECK_STR(e.request_id,
		          json_string_value(json_object_get(
		              json_object_get(want, "ResponseMetadata"), "RequestId")));
		CHECK_STR(e.aws_code, "InvalidInstanceID.Malformed");
	}
	json_decref(want);
	free(body);
}

/* A header of a protocol test case, whatever its case. */
static const char *header(json_t *headers, const char *name)
{
	const char *key;
	json_t *v;

	json_object_foreach(headers, key, v)
	{
		if (strcasecmp(key, name) == 0)
			return json_string_value(v);
	}
	return NULL;
}

/* Every case of one botocore output protocol test file that expects an error. */
static void check_protocol_file(const char *file, int is_json)
{
	json_error_t jerr;
	json_t *root, *suite, *c, *resp;
	size_t i, j, cases = 0;
	char path[1024];
	const char *body, *want_msg;
	struct err e;

	snprintf(path, sizeof(path), "%s/protocol-tests/%s", test_vectors_dir(), file);
	root = json_load_file(path, 0, &jerr);
	CHECK(root != NULL);
	json_array_foreach(root, i, suite)
	{
		json_array_foreach(json_object_get(suite, "cases"), j, c)
		{
			if (!json_object_get(c, "errorCode"))
				continue;
			cases++;
			resp = json_object_get(c, "response");
			body = json_string_value(json_object_get(resp, "body"));
			CHECK_INT(
			    errors_parse(
			        is_json,
			        (long)json_integer_value(json_object_get(resp, "status_code")),
			        body, body ? strlen(body) : 0,
			        header(json_object_get(resp, "headers"), "x-amzn-errortype"),
			        header(json_object_get(resp, "headers"), "x-amzn-requestid"), &e),
			    ERR_AWS);
			if (strcmp(e.aws_code, json_string_value(json_object_get(c, "errorCode"))))
				printf("# case %s\n", json_string_value(json_object_get(c, "id")));
			CHECK_STR(e.aws_code, json_string_value(json_object_get(c, "errorCode")));
			want_msg = json_string_value(json_object_get(c, "errorMessage"));
			if (want_msg)
				CHECK_STR(e.message, want_msg);
			if (body && strstr(body, "foo-id"))
				CHECK_STR(e.request_id, "foo-id");
		}
	}
	printf("# %s: %zu error cases\n", file, cases);
	CHECK(cases >= 2);
	json_decref(root);
}

TEST_CASE(protocol_tests_ec2)
{
	check_protocol_file("output-ec2.json", 0);
}

TEST_CASE(protocol_tests_query)
{
	check_protocol_file("output-query.json", 0);
}

TEST_CASE(protocol_tests_json)
{
	check_protocol_file("output-json.json", 1);
}

TEST_CASE(protocol_tests_rest_json)
{
	check_protocol_file("output-rest-json.json", 1);
}

TEST_CASE(json_errors)
{
	size_t len = 0;
	char *body = read_vector("logs-lambda/issue-ShadowClone-46-lambda-429-body.json", &len);
	struct err e;

	if (body) {
		/* Lambda's 429: the type only in the header */
		CHECK_INT(errors_parse(1, 429, body, len, "TooManyRequestsException", "rid-9", &e),
		          ERR_AWS);
		CHECK_STR(e.aws_code, "TooManyRequestsException");
		CHECK_STR(e.message, "Rate exceeded");
		CHECK_STR(e.request_id, "rid-9");
		CHECK(errors_is_throttling(e.aws_code, e.http_status));
		/* and without the header: the message, no code */
		CHECK_INT(errors_parse(1, 429, body, len, NULL, NULL, &e), ERR_AWS);
		CHECK_STR(e.aws_code, "");
		CHECK_STR(e.message, "Rate exceeded");
		CHECK_STR(e.request_id, "");
		free(body);
	}
	parse_s(1, 400,
	        "{\"__type\":\"com.amazonaws.logs#ThrottlingException\","
	        "\"message\":\"Rate exceeded\"}",
	        NULL, "  7a8b-1  ", &e);
	CHECK_STR(e.aws_code, "ThrottlingException");
	CHECK_STR(e.request_id, "7a8b-1");
	parse_s(1, 400, "{\"__type\":\"A\",\"Message\":\"big M\"}", NULL, NULL, &e);
	CHECK_STR(e.aws_code, "A");
	CHECK_STR(e.message, "big M");
	/* the header first, with its URL suffix */
	parse_s(1, 400, "{\"__type\":\"FromBody\"}",
	        "ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/",
	        NULL, &e);
	CHECK_STR(e.aws_code, "ValidationException");
	CHECK_STR(e.message, "HTTP 400 ValidationException");
	/* SSO OIDC (CreateToken): OAuth 2.0's error_description is the message */
	parse_s(1, 400,
	        "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid refresh token "
	        "provided\"}",
	        "InvalidGrantException", NULL, &e);
	CHECK_STR(e.aws_code, "InvalidGrantException");
	CHECK_STR(e.message, "Invalid refresh token provided");
	/* non-string members are ignored */
	parse_s(1, 500, "{\"__type\":7,\"message\":null}", NULL, NULL, &e);
	CHECK_STR(e.aws_code, "");
	CHECK_STR(e.message, "HTTP 500 with an unreadable body");
	/* an array is no error object */
	parse_s(1, 500, "[\"Throttling\"]", NULL, NULL, &e);
	CHECK_STR(e.aws_code, "");
}

TEST_CASE(unreadable_bodies)
{
	static const char html[] = "<html><body><h1>503 Service Unavailable</h1>";
	char *big;
	struct err e;
	size_t i;

	CHECK_INT(errors_parse(0, 503, html, strlen(html), NULL, NULL, &e), ERR_AWS);
	CHECK_STR(e.aws_code, "");
	CHECK_STR(e.message, "HTTP 503 with an unreadable body");
	CHECK_INT(e.http_status, 503);
	errors_parse(0, 502, "", 0, NULL, NULL, &e);
	CHECK_STR(e.message, "HTTP 502 with an empty body");
	errors_parse(1, 502, NULL, 0, NULL, NULL, &e);
	CHECK_STR(e.message, "HTTP 502 with an empty body");
	errors_parse(0, 500, " \r\n", 3, NULL, NULL, &e);
	CHECK_STR(e.message, "HTTP 500 with an empty body");
	parse_s(1, 500, "{\"message\": \"cut", NULL, NULL, &e);
	CHECK_STR(e.message, "HTTP 500 with an unreadable body");
	/* an empty body, the code in the header */
	errors_parse(1, 500, "", 0, "FooError", "r-1", &e);
	CHECK_STR(e.aws_code, "FooError");
	CHECK_STR(e.message, "HTTP 500 FooError");
	CHECK_STR(e.request_id, "r-1");
	/* a truncated EC2 error: nothing of it is trusted */
	parse_s(0, 503,
	        "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request "
	        "limit",
	        NULL, NULL, &e);
	CHECK_STR(e.aws_code, "");
	CHECK_STR(e.message, "HTTP 503 with an unreadable body");
	/* megabytes of junk are never echoed */
	big = malloc(1 << 20);
	if (big) {
		for (i = 0; i < 1 << 20; i++)
			big[i] = (char)('A' + i % 26);
		errors_parse(0, 500, big, 1 << 20, NULL, NULL, &e);
		CHECK_STR(e.message, "HTTP 500 with an unreadable body");
		big[0] = '{';
		errors_parse(1, 500, big, 1 << 20, NULL, NULL, &e);
		CHECK_STR(e.message, "HTTP 500 with an unreadable body");
		free(big);
	}
	/* e may be NULL */
	CHECK_INT(errors_parse(0, 400, html, strlen(html), NULL, NULL, NULL), ERR_AWS);
}

TEST_CASE(hostile_xml_is_unreadable)
{
	static const char *const bad[] = {
	    "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
	    "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
	    "<Response><Errors><Error><Code>&lol2;</Code></Error></Errors></Response>",
	    "<!DOCTYPE Response [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	    "<Response><Errors><Error><Code>X</Code><Message>&x;</Message></Error></Errors>"
	    "</Response>",
	    "<!DOCTYPE Response><Response><Errors><Error><Code>X</Code></Error></Errors>"
	    "</Response>",
	    "<Response><Errors><Error><Code>&undefined;</Code></Error></Errors></Response>",
	};
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(errors_parse(0, 400, bad[i], strlen(bad[i]), NULL, NULL, &e), ERR_AWS);
		CHECK_STR(e.aws_code, "");
		CHECK_STR(e.message, "HTTP 400 with an unreadable body");
	}
}

static int valid_utf8(const char *s)
{
	json_t *j = json_string(s); /* jansson refuses invalid UTF-8 */
	int ok = j != NULL;

	json_decref(j);
	return ok;
}

TEST_CASE(shapes_and_cleaning)
{
	static const char s3[] = "<Error><Code>SlowDown</Code><Message>Please reduce your "
	                         "request rate.</Message><RequestId>S3RID</RequestId>"
	                         "<HostId>h</HostId></Error>";
	static const char two[] =
	    "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
	    "<Error><Type>Sender</Type><Code>First</Code><Message>one\n\t  two\r\n</Message>"
	    "<Detail><Code>Nested</Code></Detail></Error>"
	    "<Error><Code>Second</Code></Error>"
	    "<ResponseMetadata><RequestId>meta-id</RequestId></ResponseMetadata>"
	    "</ErrorResponse>";
	static const char nested_rid[] = "<Response><Errors><Error><Code>C</Code><RequestID>no"
	                                 "</RequestID></Error></Errors><X><RequestID>no</RequestID>"
	                                 "</X></Response>";
	struct err e;
	char *long_msg;
	size_t i;

	errors_parse(0, 503, s3, strlen(s3), NULL, NULL, &e);
	CHECK_STR(e.aws_code, "SlowDown");
	CHECK_STR(e.message, "Please reduce your request rate.");
	CHECK_STR(e.request_id, "S3RID");
	errors_parse(0, 400, two, strlen(two), NULL, NULL, &e);
	CHECK_STR(e.aws_code, "First");
	CHECK_STR(e.message, "one two");
	CHECK_STR(e.request_id, "meta-id");
	/* request ids only where AWS puts them; the header otherwise */
	errors_parse(0, 400, nested_rid, strlen(nested_rid), NULL, "hdr", &e);
	CHECK_STR(e.aws_code, "C");
	CHECK_STR(e.request_id, "hdr");
	/* a long non-ASCII message is cut at a character boundary */
	long_msg = malloc(4000);
	if (long_msg) {
		strcpy(long_msg, "{\"__type\":\"X\",\"message\":\"");
		for (i = strlen(long_msg); i < 3000; i += 2)
			memcpy(long_msg + i, "\xc3\xa9", 2);
		strcpy(long_msg + i, "\"}");
		errors_parse(1, 400, long_msg, strlen(long_msg), NULL, NULL, &e);
		CHECK_INT(strlen(e.message), 510);
		CHECK(valid_utf8(e.message));
		free(long_msg);
	}
	/* a code of controls and spaces is cleaned */
	parse_s(1, 400, "{\"code\":\" Bad\\nCode \"}", NULL, NULL, &e);
	CHECK_STR(e.aws_code, "BadCode");
	parse_s(1, 400, "{\"code\":\"\\u00e9\"}", "\xff\xfe", "\x01\xff", &e);
	CHECK_STR(e.aws_code, "");
	CHECK_STR(e.request_id, "");
	CHECK(valid_utf8(e.message));
}

static void collect_codes(json_t *v, json_t *codes, json_t *statuses)
{
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, key, child)
		{
			if (strcmp(key, "service_error_code") == 0)
				json_array_append(codes, child);
			else if (strcmp(key, "http_status_code") == 0 &&
			         !json_object_get(v, "service_error_code"))
				json_array_append(statuses, child);
			else
				collect_codes(child, codes, statuses);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child)
		{
			collect_codes(child, codes, statuses);
		}
	}
}

TEST_CASE(throttling_codes_of_botocore_retry_json)
{
	/* the codes _retry.json retries that are not about throttling */
	static const char *const not_throttling[] = {
	    "ReplicatedWriteConflictException", "RequestTimeout",        "BadDigest",
	    "RequestTimeoutException",          "IDPCommunicationError",
	};
	json_error_t jerr;
	char path[1024];
	json_t *root, *codes = json_array(), *statuses = json_array(), *v;
	size_t i, k, n_throttling = 0;
	int expect;
	const char *code;

	snprintf(path, sizeof(path), "%s/ec2/botocore-_retry.json", test_vectors_dir());
	root = json_load_file(path, 0, &jerr);
	CHECK(root != NULL);
	collect_codes(root, codes, statuses);
	json_array_foreach(codes, i, v)
	{
		code = json_string_value(v);
		expect = 1;
		for (k = 0; k < sizeof(not_throttling) / sizeof(not_throttling[0]); k++)
			if (strcmp(code, not_throttling[k]) == 0)
				expect = 0;
		n_throttling += (size_t)expect;
		if (errors_is_throttling(code, 400) != expect)
			printf("# %s\n", code);
		CHECK_INT(errors_is_throttling(code, 400), expect);
	}
	CHECK(n_throttling >= 12);
	/* of the statuses alone, only 429 is throttling (5xx is retried as such) */
	json_array_foreach(statuses, i, v)
	{
		CHECK_INT(errors_is_throttling(NULL, (long)json_integer_value(v)),
		          json_integer_value(v) == 429);
	}
	/* botocore's standard mode adds these */
	CHECK(errors_is_throttling("SlowDown", 503));
	CHECK(errors_is_throttling("PriorRequestNotComplete", 400));
	CHECK(errors_is_throttling("", 429));
	CHECK(!errors_is_throttling("LimitExceeded", 400)); /* CloudWatch's quota */
	CHECK(!errors_is_throttling("AuthFailure", 401));
	CHECK(!errors_is_throttling("throttling", 400));
	CHECK(!errors_is_throttling("", 503));
	CHECK(!errors_is_throttling(NULL, 400));
	json_decref(codes);
	json_decref(statuses);
	json_decref(root);
}

int main(void)
{
	RUN(ec2_error_vectors);
	RUN(botocore_error_vector_matches_expected_json);
	RUN(protocol_tests_ec2);
	RUN(protocol_tests_query);
	RUN(protocol_tests_json);
	RUN(protocol_tests_rest_json);
	RUN(json_errors);
	RUN(unreadable_bodies);
	RUN(hostile_xml_is_unreadable);
	RUN(shapes_and_cleaning);
	RUN(throttling_codes_of_botocore_retry_json);
	return TEST_DONE();
}
