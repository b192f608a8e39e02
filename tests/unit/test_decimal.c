/* Unit tests of util/decimal: digits only, the digit cap, leading zeros, the range. */
#include "test.h"

#include <stdint.h>
#include <string.h>

#include "util/decimal.h"

static int parse(const char *s, size_t max_digits, unsigned flags, int64_t lo, int64_t hi,
                 int64_t *out)
{
	return decimal_parse(s, s ? strlen(s) : 0, max_digits, flags, lo, hi, out);
}

TEST_CASE(reads_digits_within_bounds)
{
	int64_t v = -7;

	CHECK_INT(parse("0", 0, 0, 0, 10, &v), 0);
	CHECK_INT(v, 0);
	CHECK_INT(parse("1000", 4, DECIMAL_NO_LEADING_ZERO, 1, 1000, &v), 0);
	CHECK_INT(v, 1000);
	CHECK_INT(parse("007", 3, 0, 0, 10, &v), 0);
	CHECK_INT(v, 7);
	CHECK_INT(parse("999999999999999999", 0, 0, 0, INT64_MAX, &v), 0);
	CHECK_INT(v, 999999999999999999LL);
	CHECK_INT(decimal_parse("12x", 2, 0, 0, 0, 99, &v), 0); /* only len bytes are read */
	CHECK_INT(v, 12);
}

TEST_CASE(refuses_everything_else)
{
	static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "0x10", "1.0", "١"};
	int64_t v = 42;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(parse(bad[i], 0, 0, 0, INT64_MAX, &v), -1);
	CHECK_INT(parse(NULL, 0, 0, 0, INT64_MAX, &v), -1);
	CHECK_INT(parse("1001", 4, 0, 1, 1000, &v), -1);
	CHECK_INT(parse("0", 4, 0, 1, 1000, &v), -1);
	CHECK_INT(parse("01", 4, DECIMAL_NO_LEADING_ZERO, 0, 1000, &v), -1);
	CHECK_INT(parse("12345", 4, 0, 0, INT64_MAX, &v), -1);
	CHECK_INT(parse("9999999999999999999", 0, 0, 0, INT64_MAX, &v), -1); /* 19 digits */
	CHECK_INT(parse("9999999999999999999", 30, 0, 0, INT64_MAX, &v), -1);
	CHECK_INT(v, 42);
}

int main(void)
{
	RUN(reads_digits_within_bounds);
	RUN(refuses_everything_else);
	return TEST_DONE();
}
