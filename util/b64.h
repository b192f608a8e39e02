/*
 * b64: strict standard base64 (RFC 4648 section 4) decoding, over OpenSSL.
 *
 * OpenSSL's EVP_DecodeBlock is lax: it takes '=' in the middle ("QU=I"),
 * text after padding ("QUJDRA==QUJD") and trailing garbage, and counts pad
 * bytes as data. b64_decode checks first: only the 64 letters, a length
 * that is a multiple of 4, at most two '=' and only at the end, and pad
 * bits that are zero (so the text is the one canonical encoding of its
 * bytes; two different texts never decode to the same key). Only then does
 * OpenSSL decode. With B64_SKIP_SPACE, spaces, tabs, CR and LF anywhere are
 * dropped first (EC2 wraps its base64 at 76 columns).
 */
#ifndef EBSSH_UTIL_B64_H
#define EBSSH_UTIL_B64_H

#include <stddef.h>

#include "err.h"

#define B64_SKIP_SPACE 1u /* ignore ' ', '\t', '\r', '\n' anywhere */

/*
 * Decodes len bytes of in. *out receives a new buffer of *out_len bytes
 * plus a NUL (so text can be used as a C string; it may hold NULs too);
 * "" decodes to an empty buffer. ERR_INVALID for text that is not strict
 * base64 (nothing allocated), ERR_TOO_LARGE when the bytes would exceed
 * max, ERR_NOMEM.
 */
int b64_decode(const char *in, size_t len, unsigned flags, size_t max, unsigned char **out,
               size_t *out_len, struct err *e);

/* 1 when in[0..len) is strict base64 (B64_SKIP_SPACE not allowed); no allocation. */
int b64_is_strict(const char *in, size_t len);

#endif
