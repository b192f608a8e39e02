/*
 * decimal: the one reader of bounded decimal numbers (indexes, ports,
 * counts, sizes, epoch seconds) from text: ASCII digits only, no sign, no
 * space, no base prefix, a cap on the digits so that nothing overflows.
 */
#ifndef EBSSH_UTIL_DECIMAL_H
#define EBSSH_UTIL_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#define DECIMAL_MAX_DIGITS      18   /* always fits an int64_t */
#define DECIMAL_NO_LEADING_ZERO 0x1u /* "0" is fine, "01" is not */

/*
 * Reads s[0..len) (len digits, 1 to max_digits; 0 means
 * DECIMAL_MAX_DIGITS) as a number from lo to hi into *out. 0, or -1 for
 * anything else (*out untouched).
 */
int decimal_parse(const char *s, size_t len, size_t max_digits, unsigned flags, int64_t lo,
                  int64_t hi, int64_t *out);

#endif
