/* decimal: bounded decimal numbers; see decimal.h. */
#include "decimal.h"

int decimal_parse(const char *s, size_t len, size_t max_digits, unsigned flags, int64_t lo,
                  int64_t hi, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (max_digits == 0 || max_digits > DECIMAL_MAX_DIGITS)
		max_digits = DECIMAL_MAX_DIGITS;
	if (!s || len == 0 || len > max_digits)
		return -1;
	if ((flags & DECIMAL_NO_LEADING_ZERO) && s[0] == '0' && len > 1)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}
