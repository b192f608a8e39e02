/* Unit tests of util/buf and util/err. */
#include "test.h"

#include "util/buf.h"
#include "util/err.h"

TEST_CASE(append_grows_and_terminates)
{
	struct buf b;
	int i;

	buf_init(&b, 0);
	CHECK_STR(buf_str(&b), "");
	for (i = 0; i < 1000; i++)
		CHECK_INT(buf_append(&b, "ab", 2), 0);
	CHECK_INT(b.len, 2000);
	CHECK_INT(b.data[2000], '\0');
	CHECK_INT(buf_appendf(&b, "%d-%s", 42, "x"), 0);
	CHECK_STR(b.data + 2000, "42-x");
	buf_free(&b);
}

TEST_CASE(cap_is_enforced_and_frees)
{
	struct buf b;

	buf_init(&b, 8);
	CHECK_INT(buf_append_str(&b, "12345678"), 0);
	CHECK_INT(buf_append_str(&b, "9"), ERR_TOO_LARGE);
	CHECK(b.data == NULL);
	CHECK_INT(b.len, 0);
	buf_init(&b, 4);
	CHECK_INT(buf_appendf(&b, "%s", "toolong"), ERR_TOO_LARGE);
	CHECK(b.data == NULL);
}

TEST_CASE(take_hands_over_bytes)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	s = buf_take(&b);
	CHECK_STR(s, "");
	free(s);
	CHECK_INT(buf_append_str(&b, "hello"), 0);
	s = buf_take(&b);
	CHECK_STR(s, "hello");
	CHECK(b.data == NULL);
	free(s);
}

TEST_CASE(err_set_and_prefix)
{
	struct err e;

	err_clear(&e);
	CHECK_INT(err_set(&e, ERR_INVALID, "bad %s", "name"), ERR_INVALID);
	err_prefix(&e, "alias %d", 2);
	CHECK_STR(e.message, "alias 2: bad name");
	CHECK_INT(err_set_aws(&e, ERR_AWS, 401, "AuthFailure", "req-1", "denied"), ERR_AWS);
	CHECK_STR(e.aws_code, "AuthFailure");
	CHECK_INT(e.http_status, 401);
	CHECK_STR(err_code_name(ERR_THROTTLED), "throttled");
	CHECK_INT(err_set(NULL, ERR_IO, "ignored"), ERR_IO);
}

int main(void)
{
	RUN(append_grows_and_terminates);
	RUN(cap_is_enforced_and_frees);
	RUN(take_hands_over_bytes);
	RUN(err_set_and_prefix);
	return TEST_DONE();
}
