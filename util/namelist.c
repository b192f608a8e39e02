/* namelist: comma-separated allow-lists of names and patterns; see namelist.h. */
#include "namelist.h"

#include <string.h>

static int is_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int namelist_next(const char **cursor, const char **item, size_t *len)
{
	const char *p = *cursor, *comma;

	if (!p || !*p)
		return 0;
	comma = strchr(p, ',');
	*item = p;
	*len = comma ? (size_t)(comma - p) : strlen(p);
	*cursor = comma ? comma + 1 : p + *len;
	return 1;
}

int namelist_check(const char *list, const char *what, const char *extra, size_t max_len,
                   int patterns, struct err *e)
{
	size_t i, n = 0, len;
	const char *p = list, *item;

	if (!list || !*list)
		return err_set(e, ERR_INVALID, "%s is empty", what);
	if (list[strlen(list) - 1] == ',')
		return err_set(e, ERR_INVALID, "%s ends with a comma", what);
	while (namelist_next(&p, &item, &len)) {
		if (++n > NAMELIST_MAX_ITEMS)
			return err_set(e, ERR_INVALID, "%s has more than %d items", what,
			               NAMELIST_MAX_ITEMS);
		if (len == 0 || len > max_len)
			return err_set(
			    e, ERR_INVALID,
			    "%s is a comma-separated list of items of 1 to %zu characters", what,
			    max_len);
		for (i = 0; i < len; i++) {
			char c = item[i];
			if (is_alnum(c) || (c != '\0' && extra && strchr(extra, c)) ||
			    (patterns && c == '*'))
				continue;
			return err_set(e, ERR_INVALID, "%s items hold only letters, digits%s%s%s",
			               what, extra && *extra ? " and " : "",
			               extra && *extra ? extra : "", patterns ? " and *" : "");
		}
	}
	return 0;
}

int namelist_glob(const char *pat, size_t n, const char *name)
{
	size_t p = 0, s = 0, star = (size_t)-1, mark = 0, len = strlen(name);

	while (s < len) {
		if (p < n && pat[p] == '*') {
			star = p++;
			mark = s;
		} else if (p < n && pat[p] == name[s]) {
			p++;
			s++;
		} else if (star != (size_t)-1) {
			p = star + 1;
			s = ++mark;
		} else {
			return 0;
		}
	}
	while (p < n && pat[p] == '*')
		p++;
	return p == n;
}

int namelist_is_pattern(const char *item, size_t n)
{
	return memchr(item, '*', n) != NULL;
}

int namelist_match(const char *list, const char *name)
{
	const char *p = list, *item;
	size_t len;

	if (!list || !name || !*name)
		return 0;
	while (namelist_next(&p, &item, &len))
		if (namelist_glob(item, len, name))
			return 1;
	return 0;
}
