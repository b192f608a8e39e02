/*
 * buf: a growable byte buffer with a size cap.
 *
 * The home of HTTP bodies, XML and generated text. data is always
 * NUL-terminated once anything was appended (so text can be used as a C
 * string); a failed append frees the buffer, so a caller checks once and
 * has nothing to clean up. buf_take hands the bytes to the caller.
 */
#ifndef EBSSH_UTIL_BUF_H
#define EBSSH_UTIL_BUF_H

#include <stddef.h>

#include "err.h"

#define BUF_DEFAULT_MAX ((size_t)16 << 20)

struct buf {
	char *data; /* owned; NULL while empty */
	size_t len; /* bytes used, not counting the terminating NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* len may never exceed this; 0 means BUF_DEFAULT_MAX */
};

/* An empty buffer whose length may never exceed max (0: BUF_DEFAULT_MAX). */
void buf_init(struct buf *b, size_t max);

/* Appends n bytes. ERR_TOO_LARGE past the cap, ERR_NOMEM; on failure b is freed. */
int buf_append(struct buf *b, const void *data, size_t n);

/* Appends a C string. */
int buf_append_str(struct buf *b, const char *s);

/* Appends printf-style text. */
int buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The bytes as a C string ("" when empty); borrowed, valid until b changes. */
const char *buf_str(const struct buf *b);

/* Hands the NUL-terminated bytes to the caller (free() them; never NULL
 * unless out of memory) and leaves b empty with the same cap. */
char *buf_take(struct buf *b);

/* Empties b, keeping its cap bound. */
void buf_reset(struct buf *b);

/* Frees the bytes; b may be reused after buf_init. */
void buf_free(struct buf *b);

#endif
