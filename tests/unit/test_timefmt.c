/*
 * Unit tests of util/timefmt: AWS's strict form, what each flag adds (and
 * only that), the ranges of every field, the calendar against glibc's
 * timegm over three centuries, and every prefix of a good time refused.
 */
#include "test.h"

#include <time.h>

#include "util/timefmt.h"

/* The ms of s under flags, or -7 when refused (with *ms left untouched). */
static long long parse(const char *s, unsigned flags)
{
	int64_t ms = -7;
	struct err e;
	int rc = timefmt_parse_iso8601(s, flags, &ms, &e);

	if (rc != 0 && (rc != ERR_PARSE || ms != -7 || e.code != ERR_PARSE ||
	                strstr(e.message, "ISO 8601") == NULL)) {
		printf("# %s: rc %d, ms %lld, \"%s\"\n", s ? s : "(null)", rc, (long long)ms,
		       e.message);
		test_failed_case = 1;
	}
	return rc == 0 ? (long long)ms : -7;
}

TEST_CASE(aws_form)
{
	CHECK_INT(parse("2012-10-16T20:00:13.000Z", 0), 1350417613000LL);
	CHECK_INT(parse("2012-10-16T20:00:13Z", 0), 1350417613000LL);
	CHECK_INT(parse("2012-10-16T20:00:13.5Z", 0), 1350417613500LL);
	CHECK_INT(parse("2012-10-16T20:00:13.123456789012Z", 0), 1350417613123LL);
	CHECK_INT(parse("2012-10-16T20:00:13.999Z", 0), 1350417613999LL); /* cut, not rounded */
	CHECK_INT(parse("1970-01-01T00:00:00Z", 0), 0);
	CHECK_INT(parse("1969-12-31T23:59:59Z", 0), -1000);
	CHECK_INT(parse("1969-12-31T23:59:59.5Z", 0), -500);
	CHECK_INT(parse("0000-01-01T00:00:00Z", 0), -62167219200000LL);
	CHECK_INT(parse("9999-12-31T23:59:59.999Z", 0), 253402300799999LL);
	CHECK_INT(parse("2000-02-29T23:59:60Z", 0), 951868800000LL); /* the next day's 00:00:00 */
	CHECK_INT(parse("2024-02-29T00:00:00Z", 0), 1709164800000LL);
	CHECK_INT(parse("2038-01-19T03:14:08Z", 0), 2147483648000LL);
}

TEST_CASE(aws_form_refuses)
{
	static const char *const bad[] = {
	    "",
	    "2012-10-16t20:00:13Z",
	    "2012-10-16T20:00:13z",
	    "2012-10-16 20:00:13Z",
	    "2012-10-16T20:00:13+01:00",
	    "2012-10-16T20:00:13",
	    "2012-10-16T20:00Z",
	    "2012-10-16",
	    "2012-10-16T20:00:13,5Z",
	    "2012-10-16T20:00:13.Z",
	    "2012-10-16T20:00:13ZZ",
	    "2012-10-16T20:00:13Z ",
	    " 2012-10-16T20:00:13Z",
	    "+012-10-16T20:00:13Z",
	    "12012-10-16T20:00:13Z",
	    "2012-1-16T20:00:13Z",
	    "2012-10-6T20:00:13Z",
	    "2012-10-16T2:00:13Z",
	    "2012-10-16T20:0:13Z",
	    "2012-10-16T20:00:1Z",
	    "2012-00-16T20:00:13Z",
	    "2012-13-16T20:00:13Z",
	    "2012-10-00T20:00:13Z",
	    "2012-10-32T20:00:13Z",
	    "2012-04-31T20:00:13Z",
	    "2015-02-29T00:00:00Z",
	    "1900-02-29T00:00:00Z",
	    "2012-10-16T24:00:00Z",
	    "2012-10-16T20:60:00Z",
	    "2012-10-16T20:00:61Z",
	    "2012-10-16T20:00:13.1a2Z",
	    "2012-10-16T20:00:13\0Z",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], 0) != -7) {
			printf("# accepted \"%s\"\n", bad[i]);
			test_failed_case = 1;
		}
	}
	CHECK_INT(parse(NULL, 0), -7);
	CHECK_INT(parse(NULL, ~0u), -7);
	CHECK_INT(timefmt_parse_iso8601("x", 0, NULL, NULL), ERR_PARSE); /* e may be NULL */
}

/* Every proper prefix of a good time is refused, with every flag. */
TEST_CASE(every_prefix_refused)
{
	static const char good[] = "2024-05-01T14:00:30.25+02:00";
	char cut[sizeof(good)];
	size_t n;

	CHECK_INT(parse(good, TIMEFMT_OFFSET), 1714564830250LL);
	for (n = 0; n < sizeof(good) - 1; n++) {
		memcpy(cut, good, n);
		cut[n] = '\0';
		if (parse(cut, TIMEFMT_RFC3339) != -7) {
			printf("# accepted the prefix \"%s\"\n", cut);
			test_failed_case = 1;
		}
	}
	/* With TIMEFMT_REDUCED, only the prefixes that are whole reduced forms. */
	for (n = 0; n < sizeof(good) - 1; n++) {
		long long got;

		memcpy(cut, good, n);
		cut[n] = '\0';
		got = parse(cut, TIMEFMT_OFFSET | TIMEFMT_REDUCED);
		if (n == 10)
			CHECK_INT(got, 1714521600000LL);
		else if (n == 16)
			CHECK_INT(got, 1714572000000LL);
		else if (n == 19)
			CHECK_INT(got, 1714572030000LL);
		else if (n >= 21 && n <= 22)
			CHECK_INT(got, n == 21 ? 1714572030200LL : 1714572030250LL);
		else if (got != -7) {
			printf("# accepted the prefix \"%s\"\n", cut);
			test_failed_case = 1;
		}
	}
}

TEST_CASE(each_flag_adds_its_form)
{
	/* TIMEFMT_LOWER */
	CHECK_INT(parse("2024-05-01t12:00:00z", TIMEFMT_LOWER), 1714564800000LL);
	CHECK_INT(parse("2024-05-01t12:00:00Z", TIMEFMT_LOWER), 1714564800000LL);
	CHECK_INT(parse("2024-05-01 12:00:00Z", TIMEFMT_LOWER), -7);
	/* TIMEFMT_SPACE_SEP */
	CHECK_INT(parse("2024-05-01 12:00:00Z", TIMEFMT_SPACE_SEP), 1714564800000LL);
	CHECK_INT(parse("2024-05-01 12:00:00z", TIMEFMT_SPACE_SEP), -7);
	CHECK_INT(parse("2024-05-01  12:00:00Z", TIMEFMT_SPACE_SEP), -7);
	/* TIMEFMT_OFFSET */
	CHECK_INT(parse("2024-05-01T14:00:00+02:00", TIMEFMT_OFFSET), 1714564800000LL);
	CHECK_INT(parse("2024-05-01T06:30:00-0530", TIMEFMT_OFFSET), 1714564800000LL);
	CHECK_INT(parse("2024-05-01T12:00:00+00:00", TIMEFMT_OFFSET), 1714564800000LL);
	CHECK_INT(parse("2024-05-01T12:00:00-00:00", TIMEFMT_OFFSET), 1714564800000LL);
	CHECK_INT(parse("2024-05-02T11:59:00+23:59", TIMEFMT_OFFSET), 1714564800000LL);
	CHECK_INT(parse("2024-05-01T12:00:00+24:00", TIMEFMT_OFFSET), -7);
	CHECK_INT(parse("2024-05-01T12:00:00+02:60", TIMEFMT_OFFSET), -7);
	CHECK_INT(parse("2024-05-01T12:00:00+2:00", TIMEFMT_OFFSET), -7);
	CHECK_INT(parse("2024-05-01T12:00:00+02", TIMEFMT_OFFSET), -7);
	CHECK_INT(parse("2024-05-01T12:00:00+02:0", TIMEFMT_OFFSET), -7);
	CHECK_INT(parse("2024-05-01T12:00:00+02::00", TIMEFMT_OFFSET), -7);
	CHECK_INT(parse("2024-05-01T12:00:00Z+02:00", TIMEFMT_OFFSET), -7);
	CHECK_INT(parse("2024-05-01T14:00:00 02:00", TIMEFMT_OFFSET), -7);
	CHECK_INT(parse("1970-01-01T00:00:00+01:00", TIMEFMT_OFFSET), -3600000LL);
	/* TIMEFMT_SPACE_PLUS, only with TIMEFMT_OFFSET */
	CHECK_INT(parse("2024-05-01T14:00:00 02:00", TIMEFMT_OFFSET | TIMEFMT_SPACE_PLUS),
	          1714564800000LL);
	CHECK_INT(parse("2024-05-01T14:00:00 02:00", TIMEFMT_SPACE_PLUS), -7);
	/* TIMEFMT_REDUCED */
	CHECK_INT(parse("2024-05-01", TIMEFMT_REDUCED), 1714521600000LL);
	CHECK_INT(parse("2024-05-01T12:00", TIMEFMT_REDUCED), 1714564800000LL);
	CHECK_INT(parse("2024-05-01T12:00Z", TIMEFMT_REDUCED), 1714564800000LL);
	CHECK_INT(parse("2024-05-01T12:00:30", TIMEFMT_REDUCED), 1714564830000LL);
	CHECK_INT(parse("2024-05-01T12:00:30,5", TIMEFMT_REDUCED), 1714564830500LL);
	CHECK_INT(parse("2024-05-01T12:00:30,", TIMEFMT_REDUCED), -7);
	CHECK_INT(parse("2024-05-01T12", TIMEFMT_REDUCED), -7);
	CHECK_INT(parse("2024-05-01T", TIMEFMT_REDUCED), -7);
	CHECK_INT(parse("2024-05-01Z", TIMEFMT_REDUCED), -7);
	CHECK_INT(parse("2024-05", TIMEFMT_REDUCED), -7);
	CHECK_INT(parse("2024-05-01T12:00.5", TIMEFMT_REDUCED), -7);
	CHECK_INT(parse("2024-02-30", TIMEFMT_REDUCED), -7);
	CHECK_INT(parse("2024-05-01T12:00+02:00", TIMEFMT_REDUCED), -7);
	CHECK_INT(parse("2024-05-01T14:00+02:00", TIMEFMT_REDUCED | TIMEFMT_OFFSET),
	          1714564800000LL);
	/* TIMEFMT_NO_LEAP */
	CHECK_INT(parse("2024-05-01T12:00:60Z", 0), 1714564860000LL);
	CHECK_INT(parse("2024-05-01T12:00:60Z", TIMEFMT_NO_LEAP), -7);
	CHECK_INT(parse("2024-05-01T12:00:59Z", TIMEFMT_NO_LEAP), 1714564859000LL);
}

TEST_CASE(rfc3339)
{
	CHECK_INT(parse("2024-05-01T12:00:00Z", TIMEFMT_RFC3339), 1714564800000LL);
	CHECK_INT(parse("2024-05-01t12:00:00z", TIMEFMT_RFC3339), 1714564800000LL);
	CHECK_INT(parse("2024-05-01 12:00:00.1-00:00", TIMEFMT_RFC3339), 1714564800100LL);
	CHECK_INT(parse("2024-05-01T12:00:00", TIMEFMT_RFC3339), -7);
	CHECK_INT(parse("2024-05-01 12:00", TIMEFMT_RFC3339), -7);
	CHECK_INT(parse("2024-05-01", TIMEFMT_RFC3339), -7);
}

/* The calendar against glibc's timegm, a day at a time from 1890 to 2110
 * (1900 and 2100 are no leap years, 2000 is). */
TEST_CASE(calendar_matches_timegm)
{
	struct tm tm;
	time_t t;
	char s[32];
	long mismatches = 0, days = 0;

	for (t = -2524521600; t < 4417977600; t += 86400) {
		if (!gmtime_r(&t, &tm))
			break;
		strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (parse(s, 0) != (long long)t * 1000 && mismatches++ < 3)
			printf("# %s: %lld, timegm %lld\n", s, parse(s, 0), (long long)t);
		days++;
	}
	CHECK_INT(mismatches, 0);
	CHECK_INT(days, 80353);
}

int main(void)
{
	RUN(aws_form);
	RUN(aws_form_refuses);
	RUN(every_prefix_refused);
	RUN(each_flag_adds_its_form);
	RUN(rfc3339);
	RUN(calendar_matches_timegm);
	return TEST_DONE();
}
