/* xdg: the XDG base directories of ebssh-proxy's files; see xdg.h. */
#include "xdg.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

char *xdg_path(const char *var, const char *home_dir, const char *leaf, struct err *e)
{
	const char *base = getenv(var), *home = getenv("HOME");
	struct passwd *pw;
	char *path = NULL;
	int n;

	if (base && base[0] == '/') {
		n = asprintf(&path, "%s/%s", base, leaf);
	} else {
		if (!home || home[0] != '/') {
			pw = getpwuid(getuid());
			home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
		}
		if (!home) {
			err_set(e, ERR_INVALID, "no home directory (HOME is unset)");
			return NULL;
		}
		n = asprintf(&path, "%s/%s/%s", home, home_dir, leaf);
	}
	if (n < 0) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	return path;
}
