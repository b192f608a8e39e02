/* file: reads a small file whole, with a size cap (see file.h). */
#include "file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int file_read_capped(int fd, const char *path, size_t cap, char **text, size_t *len, struct err *e)
{
	size_t got = 0;
	char *data;

	*text = NULL;
	*len = 0;
	if (cap == (size_t)-1)
		return err_set(e, ERR_INVALID, "%s: no size cap", path);
	data = malloc(cap + 1);
	if (!data)
		return err_set(e, ERR_NOMEM, "out of memory reading %s", path);
	/* One byte more than the cap: reading it is how "too large" shows. */
	while (got <= cap) {
		ssize_t n = read(fd, data + got, cap + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = err_set(e, ERR_IO, "%s: %s", path, strerror(errno));

			explicit_bzero(data, got);
			free(data);
			return rc;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > cap) {
		explicit_bzero(data, got);
		free(data);
		return err_set(e, ERR_TOO_LARGE, "%s is larger than %zu bytes", path, cap);
	}
	data[got] = '\0';
	*text = data;
	*len = got;
	return 0;
}
