/*
 * file: reads a small file whole, with a size cap.
 *
 * The one read loop behind the API key files, the proxy's config file and
 * the AWS shared files. The caller opens the file and checks it by its own
 * rules (type, mode, owner); file_read_capped reads from the current offset
 * to the end into one buffer of cap + 1 bytes that is never reallocated, so
 * a secret read through it leaves no stray copy: the caller wipes *text
 * (explicit_bzero over *len bytes) and frees it. The untouched tail of a
 * large cap costs no memory (malloc maps it lazily).
 */
#ifndef EBSSH_UTIL_FILE_H
#define EBSSH_UTIL_FILE_H

#include <stddef.h>

#include "err.h"

/*
 * Reads fd to its end. On success *text is a NUL-terminated buffer the
 * caller owns and *len the bytes read (a NUL inside is kept; *len says how
 * many). More than cap bytes: ERR_TOO_LARGE, "PATH is larger than CAP
 * bytes"; a read error: ERR_IO, "PATH: strerror"; ERR_NOMEM. path is only
 * for messages. fd stays open.
 */
int file_read_capped(int fd, const char *path, size_t cap, char **text, size_t *len, struct err *e);

#endif
