/*
 * timefmt: ISO 8601 times read into ms since the epoch, the one parser of
 * EC2's timestamps, credential expirations and the times a person types.
 *
 * The form always read is AWS's own, 2012-10-16T20:00:13.000Z: four-digit
 * year, two-digit fields, a fraction of any length after '.' (kept to the
 * ms, never rounded), 'Z'. Flags widen it for where a time comes from.
 * Dates are proleptic Gregorian, years 0000 to 9999 (before 1970 gives a
 * negative count); second 60 (a leap second) reads as the next minute's 00
 * unless TIMEFMT_NO_LEAP.
 */
#ifndef EBSSH_UTIL_TIMEFMT_H
#define EBSSH_UTIL_TIMEFMT_H

#include <stdint.h>

#include "err.h"

#define TIMEFMT_LOWER      0x01u /* 't' and 'z' as well as 'T' and 'Z' */
#define TIMEFMT_SPACE_SEP  0x02u /* ' ' for the 'T' between date and time */
#define TIMEFMT_OFFSET     0x04u /* a zone +hh:mm, -hh:mm, +hhmm or -hhmm (hh < 24, mm < 60) */
#define TIMEFMT_SPACE_PLUS 0x08u /* with TIMEFMT_OFFSET: ' ' for '+' (a form-decoded '+') */
#define TIMEFMT_REDUCED    0x10u /* a date alone (its midnight), hh:mm, no zone (UTC), ',' */
#define TIMEFMT_NO_LEAP    0x20u /* second 60 is refused */

/* RFC 3339's date-time, with its section 5.6 note ('t', 'z', ' ' for 'T'). */
#define TIMEFMT_RFC3339 (TIMEFMT_LOWER | TIMEFMT_SPACE_SEP | TIMEFMT_OFFSET)

/*
 * Reads s (the whole string) as a time in the form flags allow; *ms receives
 * ms since 1970-01-01T00:00:00Z. ERR_PARSE for anything else (*ms untouched),
 * NULL included.
 */
int timefmt_parse_iso8601(const char *s, unsigned flags, int64_t *ms, struct err *e);

#endif
