/* b64: strict base64 checks in front of OpenSSL's decoder; see b64.h. */
#include "b64.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* The value of a base64 letter, or -1. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Number of pad characters of a strict text, or -1 when it is not strict. */
static int strict_pads(const char *in, size_t len)
{
	size_t i, pads = 0;
	int last;

	if (len % 4 != 0)
		return -1;
	if (len == 0)
		return 0;
	while (pads < 2 && in[len - 1 - pads] == '=')
		pads++;
	for (i = 0; i < len - pads; i++)
		if (b64_value((unsigned char)in[i]) < 0)
			return -1;
	/* The last letter's unused low bits must be zero: 4 bits with two pads,
	 * 2 bits with one. */
	last = b64_value((unsigned char)in[len - 1 - pads]);
	if ((pads == 2 && (last & 0x0f)) || (pads == 1 && (last & 0x03)))
		return -1;
	return (int)pads;
}

int b64_is_strict(const char *in, size_t len)
{
	return in && strict_pads(in, len) >= 0;
}

int b64_decode(const char *in, size_t len, unsigned flags, size_t max, unsigned char **out,
               size_t *out_len, struct err *e)
{
	char *clean = NULL;
	const char *text = in;
	unsigned char *bytes = NULL;
	size_t n = len, i, decoded;
	int pads, got, rc;

	*out = NULL;
	*out_len = 0;
	if (!in && len)
		return err_set(e, ERR_INVALID, "base64: no text");
	if (flags & B64_SKIP_SPACE) {
		clean = malloc(len + 1);
		if (!clean)
			return err_set(e, ERR_NOMEM, "out of memory");
		for (i = 0, n = 0; i < len; i++)
			if (!is_space(in[i]))
				clean[n++] = in[i];
		text = clean;
	}
	pads = strict_pads(text ? text : "", n);
	if (pads < 0) {
		rc = err_set(e, ERR_INVALID, "not strict base64");
		goto out;
	}
	if (n > (size_t)INT_MAX) {
		rc = err_set(e, ERR_TOO_LARGE, "base64: %zu characters", n);
		goto out;
	}
	decoded = n / 4 * 3 - (size_t)pads;
	if (decoded > max) {
		rc = err_set(e, ERR_TOO_LARGE, "base64: %zu bytes, more than %zu", decoded, max);
		goto out;
	}
	/* EVP_DecodeBlock writes n/4*3 bytes (pads count as zeros) and a NUL
	 * goes after the real ones. */
	bytes = malloc(n / 4 * 3 + 1);
	if (!bytes) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	got = n ? EVP_DecodeBlock(bytes, (const unsigned char *)text, (int)n) : 0;
	if (got < 0 || (size_t)got != n / 4 * 3) {
		rc = err_set(e, ERR_INVALID, "not strict base64");
		goto out;
	}
	bytes[decoded] = '\0';
	*out = bytes;
	*out_len = decoded;
	bytes = NULL;
	rc = 0;
out:
	free(bytes);
	free(clean);
	return rc;
}
