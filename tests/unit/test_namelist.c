/*
 * Unit tests of util/namelist: the allow-list rules (items, characters,
 * patterns, empty items, the count), the glob matcher and iteration.
 */
#include "test.h"

#include "util/namelist.h"

TEST_CASE(checks)
{
	static const char *const bad[] = {
	    "", ",", "a,", ",a", "a,,b", "a b", "a, b", "a.b", "a/b", "*", "a*", "\xc3\xa9",
	};
	char many[200];
	struct err e;
	size_t i;

	CHECK_INT(namelist_check("my-fn", "L", "-_", 64, 1, &e), 0);
	CHECK_INT(namelist_check("my-fn,app-*,*_x,*", "L", "-_", 64, 1, &e), 0);
	CHECK_INT(namelist_check("T0123ABC,T2", "TEAMS", "", 32, 0, &e), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* "*" and "a*" only bad without patterns; the others always. */
		int want_ok_with_patterns = i == 9 || i == 10;
		if (namelist_check(bad[i], "L", "", 64, 0, &e) != ERR_INVALID)
			printf("# accepted '%s'\n", bad[i]);
		CHECK_INT(namelist_check(bad[i], "L", "", 64, 0, &e), ERR_INVALID);
		CHECK(strncmp(e.message, "L ", 2) == 0);
		CHECK_INT(namelist_check(bad[i], "L", "-_", 64, 1, &e),
		          want_ok_with_patterns ? 0 : ERR_INVALID);
	}
	CHECK_INT(namelist_check("abcd", "L", "", 3, 0, &e), ERR_INVALID);
	CHECK(strstr(e.message, "1 to 3 characters") != NULL);
	CHECK_INT(namelist_check("a-b", "L", "", 3, 0, &e), ERR_INVALID);
	CHECK(strstr(e.message, "abcd") == NULL);
	/* 32 items pass, 33 do not. */
	many[0] = '\0';
	for (i = 0; i < NAMELIST_MAX_ITEMS; i++)
		strcat(many, i ? ",a" : "a");
	CHECK_INT(namelist_check(many, "L", "", 8, 0, &e), 0);
	strcat(many, ",a");
	CHECK_INT(namelist_check(many, "L", "", 8, 0, &e), ERR_INVALID);
	CHECK(strstr(e.message, "more than 32") != NULL);
	CHECK_INT(namelist_check(NULL, "L", "", 8, 0, &e), ERR_INVALID);
}

TEST_CASE(globs)
{
	CHECK(namelist_glob("abc", 3, "abc"));
	CHECK(!namelist_glob("abc", 3, "abcd"));
	CHECK(!namelist_glob("abc", 3, "ab"));
	CHECK(namelist_glob("abc", 2, "ab")); /* n bytes only */
	CHECK(namelist_glob("*", 1, ""));
	CHECK(namelist_glob("*", 1, "anything"));
	CHECK(namelist_glob("app-*", 5, "app-"));
	CHECK(namelist_glob("app-*", 5, "app-web"));
	CHECK(!namelist_glob("app-*", 5, "ap-web"));
	CHECK(namelist_glob("*-worker", 8, "a-b-worker"));
	CHECK(!namelist_glob("*-worker", 8, "a-worker-2"));
	CHECK(namelist_glob("a*b*c", 5, "a-x-b-y-b-c"));
	CHECK(!namelist_glob("a*b*c", 5, "a-x-c-y-b"));
	CHECK(namelist_glob("**a", 3, "bba"));
	CHECK(!namelist_glob("a", 1, "A")); /* names are case-sensitive */
}

TEST_CASE(matches)
{
	CHECK(namelist_match("my-fn,app-*", "my-fn"));
	CHECK(namelist_match("my-fn,app-*", "app-web"));
	CHECK(!namelist_match("my-fn,app-*", "my-fn2"));
	CHECK(!namelist_match("my-fn,app-*", "my"));
	CHECK(!namelist_match("my-fn,app-*", ""));
	CHECK(!namelist_match("my-fn,app-*", NULL));
	CHECK(!namelist_match(NULL, "my-fn"));
	CHECK(namelist_match("T1,T2", "T2"));
	CHECK(!namelist_match("T1,T2", "T"));
	CHECK(!namelist_match("T1,T2", "T1,T2"));
}

TEST_CASE(iterates)
{
	const char *p = "ab,c*,d", *item;
	size_t len, n = 0;
	const char *want[] = {"ab", "c*", "d"};

	while (namelist_next(&p, &item, &len)) {
		CHECK(n < 3);
		if (n < 3) {
			CHECK_INT((int)len, (int)strlen(want[n]));
			CHECK(strncmp(item, want[n], len) == 0);
			CHECK_INT(namelist_is_pattern(item, len), n == 1);
		}
		n++;
	}
	CHECK_INT((int)n, 3);
}

int main(void)
{
	RUN(checks);
	RUN(globs);
	RUN(matches);
	RUN(iterates);
	return TEST_DONE();
}
