/*
 * Unit tests of aws/ec2_console: GetConsoleOutput answers in EC2's shape
 * (base64 wrapped at 76 columns as in AWS's own sample, unwrapped, absent
 * or empty output), malformed answers (other root, DOCTYPE, entities,
 * truncation, bad base64, oversized output), the request form, and the
 * Latest fallback rule. aws_client_call is faked (weak symbol, as in
 * test_ec2.c).
 */
#include "test.h"

#include <openssl/evp.h>

#include "aws/client.h"
#include "aws/ec2_console.h"
#include "util/buf.h"

static struct {
	const char *answer; /* NULL: fail with fail_rc */
	int fail_rc;
	char *form;
	int calls;
} fake;

__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	(void)c;
	fake.calls++;
	free(fake.form);
	fake.form = strndup(call->body, call->body_len);
	if (strcmp(call->service, "ec2") != 0 || strcmp(call->method, "POST") != 0)
		return err_set(e, ERR_INTERNAL, "fake: unexpected call");
	if (!fake.answer)
		return err_set_aws(e, fake.fail_rc, 400, "UnsupportedOperation", "rid", "nope");
	return buf_append_str(body, fake.answer);
}

/* The AWS sample's shape around base64 of text, wrapped every `wrap` columns (0: not). */
static char *answer_for(const char *text, size_t len, size_t wrap)
{
	char *b64 = malloc(4 * ((len + 2) / 3) + 1);
	struct buf a;
	size_t i, n;

	if (!b64)
		return NULL;
	n = (size_t)EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)text, (int)len);
	buf_init(&a, 0);
	buf_append_str(&a, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                   "<GetConsoleOutputResponse "
	                   "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
	                   "  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>\n"
	                   "  <instanceId>i-1234567890abcdef0</instanceId>\n"
	                   "  <timestamp>2022-10-14T01:12:41.000Z</timestamp>\n"
	                   "  <output>");
	for (i = 0; i < n; i += wrap ? wrap : n) {
		size_t take = wrap && n - i > wrap ? wrap : n - i;
		buf_append(&a, b64 + i, take);
		if (wrap && i + take < n)
			buf_append(&a, "\n", 1);
	}
	buf_append_str(&a, "</output>\n</GetConsoleOutputResponse>\n");
	free(b64);
	return buf_take(&a);
}

TEST_CASE(sample_wrapped)
{
	static const char text[] =
	    "Linux version 2.6.16-xenU (builder@patchbat.amazonsa) (gcc version 4.0.1 "
	    "20050727 (Red Hat 4.0.1-5)) #1 SMP Thu Oct 26 08:41:26 SAST 2006\r\n"
	    "BIOS-provided physical RAM map:\r\nXen: 0000000000000000 - 000000006a400000 "
	    "(usable)\r\n980MB HIGHMEM available.\r\n";
	struct ec2_console c;
	size_t wraps[] = {76, 0, 4, 1};
	size_t i;

	for (i = 0; i < 4; i++) {
		char *xml = answer_for(text, strlen(text), wraps[i]);
		CHECK_INT(ec2_parse_console_output(xml, strlen(xml), &c, NULL), 0);
		CHECK_STR(c.instance_id, "i-1234567890abcdef0");
		CHECK_STR(c.timestamp, "2022-10-14T01:12:41.000Z");
		CHECK_INT(c.output_len, strlen(text));
		CHECK_STR((char *)c.output, text);
		ec2_console_free(&c);
		CHECK(c.output == NULL && c.instance_id == NULL);
		free(xml);
	}
}

TEST_CASE(binary_console)
{
	static const char bytes[] = "a\0b\x1b[0m\xff\xfe\r\n";
	struct ec2_console c;
	char *xml = answer_for(bytes, sizeof(bytes) - 1, 76);

	CHECK_INT(ec2_parse_console_output(xml, strlen(xml), &c, NULL), 0);
	CHECK_INT(c.output_len, sizeof(bytes) - 1);
	CHECK(c.output && memcmp(c.output, bytes, sizeof(bytes) - 1) == 0);
	CHECK(c.output && c.output[c.output_len] == '\0');
	ec2_console_free(&c);
	free(xml);
}

TEST_CASE(no_output_yet)
{
	static const char *const answers[] = {
	    "<GetConsoleOutputResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
	    "<requestId>r</requestId><instanceId>i-0abcdef12</instanceId>"
	    "<timestamp>2024-05-01T09:31:02.000Z</timestamp></GetConsoleOutputResponse>",
	    "<GetConsoleOutputResponse><instanceId>i-0abcdef12</instanceId><output/>"
	    "</GetConsoleOutputResponse>",
	    "<GetConsoleOutputResponse><instanceId>i-0abcdef12</instanceId><output>\n  \n"
	    "</output></GetConsoleOutputResponse>",
	};
	struct ec2_console c;
	size_t i;

	for (i = 0; i < 3; i++) {
		CHECK_INT(ec2_parse_console_output(answers[i], strlen(answers[i]), &c, NULL), 0);
		CHECK_STR(c.instance_id, "i-0abcdef12");
		CHECK(c.output == NULL);
		CHECK_INT(c.output_len, 0);
		ec2_console_free(&c);
	}
}

TEST_CASE(nested_and_prefixed)
{
	/* Only the response's own children count; a prefixed name is tolerated. */
	static const char xml[] =
	    "<ec2:GetConsoleOutputResponse xmlns:ec2=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
	    "<ec2:instanceId>i-0abcdef12</ec2:instanceId>"
	    "<other><output>bm90IHRoaXM=</output><instanceId>i-99999999</instanceId></other>"
	    "<ec2:output>aGVsbG8=</ec2:output></ec2:GetConsoleOutputResponse>";
	struct ec2_console c;

	CHECK_INT(ec2_parse_console_output(xml, strlen(xml), &c, NULL), 0);
	CHECK_STR(c.instance_id, "i-0abcdef12");
	CHECK_STR((char *)c.output, "hello");
	ec2_console_free(&c);
}

TEST_CASE(malformed_answers)
{
	static const struct {
		const char *xml;
		int rc;
		const char *msg;
	} cases[] = {
	    {"<DescribeInstancesResponse/>", ERR_PARSE, "not a GetConsoleOutputResponse"},
	    {"<GetConsoleOutputResponse><output>aGVsbG8=</output>", ERR_PARSE, "malformed XML"},
	    {"<GetConsoleOutputResponse><output>aGVsbG8</output></GetConsoleOutputResponse>",
	     ERR_PARSE, "not base64"},
	    {"<GetConsoleOutputResponse><output>aGV$bG8=</output></GetConsoleOutputResponse>",
	     ERR_PARSE, "not base64"},
	    {"<!DOCTYPE x [<!ENTITY a \"b\">]><GetConsoleOutputResponse/>", ERR_PARSE, "DOCTYPE"},
	    {"", ERR_PARSE, "malformed XML"},
	    {"<Response><Errors><Error><Code>X</Code></Error></Errors></Response>", ERR_PARSE,
	     "not a GetConsoleOutputResponse"},
	};
	struct ec2_console c;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(ec2_parse_console_output(cases[i].xml, strlen(cases[i].xml), &c, &e),
		          cases[i].rc);
		if (!strstr(e.message, cases[i].msg))
			printf("# case %zu: %s\n", i, e.message);
		CHECK(strstr(e.message, cases[i].msg) != NULL);
		CHECK(c.output == NULL && c.instance_id == NULL && c.timestamp == NULL);
	}
	CHECK_INT(ec2_parse_console_output(NULL, 3, &c, NULL), ERR_INVALID);
}

TEST_CASE(bounds)
{
	size_t n = EC2_CONSOLE_OUTPUT_MAX + 3, i;
	char *big = malloc(n), *xml, *xml_long;
	struct ec2_console c;
	struct err e;
	struct buf a;

	CHECK(big != NULL);
	if (!big)
		return;
	for (i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	xml = answer_for(big, n, 76);
	CHECK_INT(ec2_parse_console_output(xml, strlen(xml), &c, &e), ERR_TOO_LARGE);
	free(xml);
	xml = answer_for(big, EC2_CONSOLE_OUTPUT_MAX, 76);
	CHECK_INT(ec2_parse_console_output(xml, strlen(xml), &c, &e), 0);
	CHECK_INT(c.output_len, EC2_CONSOLE_OUTPUT_MAX);
	ec2_console_free(&c);
	free(xml);
	/* A long instanceId is refused, not truncated. */
	buf_init(&a, 0);
	buf_append_str(&a, "<GetConsoleOutputResponse><instanceId>");
	for (i = 0; i < 300; i++)
		buf_append_str(&a, "x");
	buf_append_str(&a, "</instanceId></GetConsoleOutputResponse>");
	xml_long = buf_take(&a);
	CHECK_INT(ec2_parse_console_output(xml_long, strlen(xml_long), &c, &e), ERR_TOO_LARGE);
	free(xml_long);
	buf_free(&a);
	free(big);
}

TEST_CASE(request_form)
{
	struct ec2_console c;
	struct err e;
	char *xml = answer_for("hi", 2, 76);

	fake.answer = xml;
	fake.calls = 0;
	CHECK_INT(ec2_get_console_output(NULL, "i-1234567890abcdef0", 1, &c, &e), 0);
	CHECK_STR(fake.form, "Action=GetConsoleOutput&Version=2016-11-15&InstanceId=i-"
	                     "1234567890abcdef0&Latest=true");
	CHECK_STR((char *)c.output, "hi");
	ec2_console_free(&c);
	CHECK_INT(ec2_get_console_output(NULL, "i-0abcdef1", 0, &c, &e), 0);
	CHECK_STR(fake.form, "Action=GetConsoleOutput&Version=2016-11-15&InstanceId=i-0abcdef1");
	ec2_console_free(&c);
	CHECK_INT(fake.calls, 2);
	/* Malformed ids never reach EC2. */
	CHECK_INT(ec2_get_console_output(NULL, "i-0ABCDEF1", 0, &c, &e), ERR_INVALID);
	CHECK_INT(ec2_get_console_output(NULL, "i-0abcdef", 0, &c, &e), ERR_INVALID);
	CHECK_INT(ec2_get_console_output(NULL, "i-0abcdef1&Latest=x", 0, &c, &e), ERR_INVALID);
	CHECK_INT(ec2_get_console_output(NULL, NULL, 0, &c, &e), ERR_INVALID);
	CHECK_INT(fake.calls, 2);
	/* An AWS error comes back as it is. */
	fake.answer = NULL;
	fake.fail_rc = ERR_AWS;
	CHECK_INT(ec2_get_console_output(NULL, "i-0abcdef1", 1, &c, &e), ERR_AWS);
	CHECK_INT(ec2_console_latest_unsupported(&e), 1);
	free(xml);
	free(fake.form);
	fake.form = NULL;
}

TEST_CASE(latest_fallback_rule)
{
	struct err e;

	err_set_aws(&e, ERR_AWS, 400, "UnsupportedOperation", "r", "m");
	CHECK_INT(ec2_console_latest_unsupported(&e), 1);
	err_set_aws(&e, ERR_AWS, 400, "InvalidParameterValue", "r", "m");
	CHECK_INT(ec2_console_latest_unsupported(&e), 1);
	err_set_aws(&e, ERR_AWS, 400, "InvalidInstanceID.NotFound", "r", "m");
	CHECK_INT(ec2_console_latest_unsupported(&e), 0);
	err_set_aws(&e, ERR_AWS, 403, "UnauthorizedOperation", "r", "m");
	CHECK_INT(ec2_console_latest_unsupported(&e), 0);
	err_set_aws(&e, ERR_THROTTLED, 503, "RequestLimitExceeded", "r", "m");
	CHECK_INT(ec2_console_latest_unsupported(&e), 0);
	err_set(&e, ERR_NETWORK, "down");
	CHECK_INT(ec2_console_latest_unsupported(&e), 0);
	CHECK_INT(ec2_console_latest_unsupported(NULL), 0);
	CHECK_INT(ec2_console_valid_instance_id("i-0123456789abcdef0"), 1);
	CHECK_INT(ec2_console_valid_instance_id("i-01234567"), 1);
	CHECK_INT(ec2_console_valid_instance_id("i-012345678"), 0);
	CHECK_INT(ec2_console_valid_instance_id("x-01234567"), 0);
}

int main(void)
{
	RUN(sample_wrapped);
	RUN(binary_console);
	RUN(no_output_yet);
	RUN(nested_and_prefixed);
	RUN(malformed_answers);
	RUN(bounds);
	RUN(request_form);
	RUN(latest_fallback_rule);
	return TEST_DONE();
}
