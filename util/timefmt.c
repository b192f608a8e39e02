/* timefmt: ISO 8601 times into ms since the epoch; see timefmt.h. */
#include "timefmt.h"

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Exactly n digits at *p, which moves past them. */
static int take_digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!is_digit((*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, with
 * years counted from March so that the leap day ends a year. */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;                                  /* [0, 399] */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */

	return era * 146097 + doe - 719468;
}

int timefmt_parse_iso8601(const char *s, unsigned flags, int64_t *ms, struct err *e)
{
	const int reduced = (flags & TIMEFMT_REDUCED) != 0, lower = (flags & TIMEFMT_LOWER) != 0;
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, scale = 100, oh = 0, om = 0, sign = 0;
	int64_t secs;

	if (!s || take_digits(&p, 4, &y) || *p++ != '-' || take_digits(&p, 2, &mo) || *p++ != '-' ||
	    take_digits(&p, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		goto bad;
	if (*p == '\0' && reduced)
		goto done; /* a date alone: its midnight UTC */
	if (*p != 'T' && !(lower && *p == 't') && !((flags & TIMEFMT_SPACE_SEP) && *p == ' '))
		goto bad;
	p++;
	if (take_digits(&p, 2, &h) || *p++ != ':' || take_digits(&p, 2, &mi))
		goto bad;
	if (*p == ':') {
		p++;
		if (take_digits(&p, 2, &sec))
			goto bad;
		if (*p == '.' || (reduced && *p == ',')) {
			if (!is_digit(*++p))
				goto bad;
			for (; is_digit(*p); p++) {
				frac += (*p - '0') * scale; /* digits past the ms add 0 */
				scale /= 10;
			}
		}
	} else if (!reduced) {
		goto bad;
	}
	if (*p == 'Z' || (lower && *p == 'z')) {
		p++;
	} else if ((flags & TIMEFMT_OFFSET) &&
	           (*p == '+' || *p == '-' || ((flags & TIMEFMT_SPACE_PLUS) && *p == ' '))) {
		sign = *p++ == '-' ? -1 : 1;
		if (take_digits(&p, 2, &oh))
			goto bad;
		if (*p == ':')
			p++;
		if (take_digits(&p, 2, &om))
			goto bad;
	} else if (!reduced) {
		goto bad; /* a time without a zone is ambiguous */
	}
	if (*p || h > 23 || mi > 59 || sec > ((flags & TIMEFMT_NO_LEAP) ? 59 : 60) || oh > 23 ||
	    om > 59)
		goto bad;
done:
	secs = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
	*ms = (secs - (int64_t)sign * (oh * 3600 + om * 60)) * 1000 + frac;
	return 0;
bad:
	return err_set(e, ERR_PARSE, "not an ISO 8601 time");
}
