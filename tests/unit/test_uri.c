/* Unit tests of aws/uri: AWS-style percent-encoding and form bodies. */
#include "test.h"

#include "aws/uri.h"

TEST_CASE(encode_keeps_only_unreserved)
{
	struct buf b;
	const char *s = "a-Z_0.~ /+=&é";

	buf_init(&b, 0);
	CHECK_INT(uri_encode(&b, s, strlen(s), 0), 0);
	CHECK_STR(buf_str(&b), "a-Z_0.~%20%2F%2B%3D%26%C3%A9");
	buf_reset(&b);
	CHECK_INT(uri_encode(&b, "/a b/c", 6, 1), 0);
	CHECK_STR(buf_str(&b), "/a%20b/c");
	buf_reset(&b);
	CHECK_INT(uri_encode(&b, "", 0, 0), 0);
	CHECK_STR(buf_str(&b), "");
	CHECK(b.data != NULL);
	buf_free(&b);
}

TEST_CASE(decode_and_reject_bad_escapes)
{
	struct buf b;

	buf_init(&b, 0);
	CHECK_INT(uri_decode(&b, "a%2Fb+c%7e", 10, 1), 0);
	CHECK_STR(buf_str(&b), "a/b c~");
	buf_reset(&b);
	CHECK_INT(uri_decode(&b, "a+b", 3, 0), 0);
	CHECK_STR(buf_str(&b), "a+b");
	CHECK_INT(uri_decode(&b, "%4", 2, 0), ERR_INVALID);
	CHECK(b.data == NULL);
	CHECK_INT(uri_decode(&b, "%zz", 3, 0), ERR_INVALID);
	CHECK_INT(uri_decode(&b, "ab%", 3, 0), ERR_INVALID);
	buf_free(&b);
}

TEST_CASE(form_body_in_order)
{
	struct buf b;

	buf_init(&b, 0);
	CHECK_INT(uri_form_add(&b, "Action", "DescribeInstances"), 0);
	CHECK_INT(uri_form_addf(&b, "tag:elasticbeanstalk:environment-name", "Filter.%d.Name", 1),
	          0);
	CHECK_INT(uri_form_addf(&b, "my env", "Filter.%d.Value.%d", 1, 1), 0);
	CHECK_STR(buf_str(&b), "Action=DescribeInstances&Filter.1.Name=tag%3Aelasticbeanstalk%3A"
	                       "environment-name&Filter.1.Value.1=my%20env");
	buf_free(&b);
}

int main(void)
{
	RUN(encode_keeps_only_unreserved);
	RUN(decode_and_reject_bad_escapes);
	RUN(form_body_in_order);
	return TEST_DONE();
}
