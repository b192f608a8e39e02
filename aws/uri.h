/*
 * uri: percent-encoding as AWS canonicalises it (RFC 3986: only
 * A-Z a-z 0-9 - _ . ~ stay as they are; everything else is %XX, uppercase),
 * and application/x-www-form-urlencoded bodies built from it (EC2 and the
 * other Query APIs).
 */
#ifndef EBSSH_AWS_URI_H
#define EBSSH_AWS_URI_H

#include <stddef.h>

#include "../util/buf.h"

/* Appends s[0..n) percent-encoded; '/' kept as is when keep_slash. */
int uri_encode(struct buf *out, const char *s, size_t n, int keep_slash);

/* The value of one hex digit (either case), or -1. */
int uri_hex_value(char c);

/* Decodes %XX in s[0..n) (and '+' as space when plus_is_space) into out.
 * ERR_INVALID on a malformed escape. */
int uri_decode(struct buf *out, const char *s, size_t n, int plus_is_space);

/* Appends "key=value" to a form body, with '&' before it unless empty. */
int uri_form_add(struct buf *form, const char *key, const char *value);

/* Same with a printf-style key, for "Filter.1.Value.2". */
int uri_form_addf(struct buf *form, const char *value, const char *key_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
