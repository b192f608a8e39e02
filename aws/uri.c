/* uri: AWS-style percent-encoding and form bodies; see uri.h. */
#include "uri.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

int uri_encode(struct buf *out, const char *s, size_t n, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c) || (keep_slash && c == '/')) {
			rc = buf_append(out, &s[i], 1);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
			rc = buf_append(out, esc, 3);
		}
	}
	if (!rc && !out->data)
		rc = buf_append(out, "", 0);
	return rc;
}

int uri_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int uri_decode(struct buf *out, const char *s, size_t n, int plus_is_space)
{
	size_t i;
	int rc = buf_append(out, "", 0);

	for (i = 0; i < n && !rc; i++) {
		char c = s[i];

		if (c == '%') {
			int hi = i + 2 < n ? uri_hex_value(s[i + 1]) : -1;
			int lo = i + 2 < n ? uri_hex_value(s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				buf_free(out);
				return ERR_INVALID;
			}
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		rc = buf_append(out, &c, 1);
	}
	return rc;
}

int uri_form_add(struct buf *form, const char *key, const char *value)
{
	int rc = 0;

	if (form->len)
		rc = buf_append(form, "&", 1);
	if (!rc)
		rc = uri_encode(form, key, strlen(key), 0);
	if (!rc)
		rc = buf_append(form, "=", 1);
	if (!rc)
		rc = uri_encode(form, value, strlen(value), 0);
	return rc;
}

int uri_form_addf(struct buf *form, const char *value, const char *key_fmt, ...)
{
	char key[256];
	va_list ap;
	int n;

	va_start(ap, key_fmt);
	n = vsnprintf(key, sizeof(key), key_fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(key)) {
		buf_free(form);
		return ERR_INVALID;
	}
	return uri_form_add(form, key, value);
}
