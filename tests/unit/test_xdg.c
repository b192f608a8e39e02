/* Unit tests of proxy/xdg: the variable when absolute, else HOME, else the
 * password database. */
#include "test.h"

#include <pwd.h>
#include <unistd.h>

#include "proxy/xdg.h"

TEST_CASE(absolute_variable_wins)
{
	struct err e;
	char *p;

	setenv("XDG_DATA_HOME", "/x/data", 1);
	setenv("HOME", "/home/u", 1);
	p = xdg_path("XDG_DATA_HOME", ".local/share", "ebssh/f", &e);
	CHECK_STR(p, "/x/data/ebssh/f");
	free(p);
}

TEST_CASE(unset_empty_or_relative_variable_means_home)
{
	static const char *values[] = {NULL, "", "relative/data", "~/data"};
	struct err e;
	size_t i;
	char *p;

	setenv("HOME", "/home/u", 1);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		if (values[i])
			setenv("XDG_DATA_HOME", values[i], 1);
		else
			unsetenv("XDG_DATA_HOME");
		p = xdg_path("XDG_DATA_HOME", ".local/share", "ebssh", &e);
		CHECK_STR(p, "/home/u/.local/share/ebssh");
		free(p);
	}
}

TEST_CASE(no_usable_home_means_password_database)
{
	struct passwd *pw = getpwuid(getuid());
	char want[512];
	struct err e;
	char *p;

	unsetenv("XDG_DATA_HOME");
	setenv("HOME", "not/absolute", 1);
	p = xdg_path("XDG_DATA_HOME", ".cache", "ebssh", &e);
	if (pw && pw->pw_dir && pw->pw_dir[0] == '/') {
		snprintf(want, sizeof(want), "%s/.cache/ebssh", pw->pw_dir);
		CHECK_STR(p, want);
	} else {
		CHECK(p == NULL);
		CHECK_INT(e.code, ERR_INVALID);
	}
	free(p);
	unsetenv("HOME");
	p = xdg_path("XDG_DATA_HOME", ".cache", "ebssh", &e);
	if (pw && pw->pw_dir && pw->pw_dir[0] == '/')
		CHECK_STR(p, want);
	free(p);
}

int main(void)
{
	RUN(absolute_variable_wins);
	RUN(unset_empty_or_relative_variable_means_home);
	RUN(no_usable_home_means_password_database);
	return TEST_DONE();
}
