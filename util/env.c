/* env: numeric settings from the environment; see env.h. */
#include "env.h"

#include <errno.h>
#include <stdlib.h>

long env_ms(const char *name, long fallback)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return fallback;
	errno = 0;
	n = strtol(v, &end, 10);
	return *end || n < 0 || errno ? fallback : n;
}
