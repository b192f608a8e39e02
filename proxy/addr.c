/* addr: IP literal checks; see addr.h. */
#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Up to 40 bytes of s[0..n) as a printable quoted string. */
static void quote(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0, i;

	out[o++] = '"';
	for (i = 0; i < n && o + 10 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}

static int refuse(const char *s, size_t n, struct addr *out, struct err *e, const char *why)
{
	char q[64];

	memset(out, 0, sizeof(*out));
	quote(s, n, q, sizeof(q));
	return err_set(e, ERR_PARSE, "%s %s", q, why);
}

/* Why the IPv4 address b[0..4) cannot be an instance, or NULL. */
static const char *v4_unusable(const unsigned char *b)
{
	if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0)
		return "is the unspecified address";
	if (b[0] >= 224 && b[0] <= 239)
		return "is a multicast address";
	if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)
		return "is the broadcast address";
	return NULL;
}

int addr_parse_literal(const char *s, size_t n, struct addr *out, struct err *e)
{
	static const unsigned char zero[16];
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const unsigned char *b = out->bytes;
	const char *why = NULL;
	char text[ADDR_TEXT_MAX];

	memset(out, 0, sizeof(*out));
	if (!s || n == 0)
		return err_set(e, ERR_PARSE, "empty answer where an IP address was expected");
	if (n >= sizeof(text) || memchr(s, '\0', n))
		return refuse(s, n, out, e, "is not an IP address");
	memcpy(text, s, n);
	text[n] = '\0';
	if (inet_pton(AF_INET, text, out->bytes) == 1) {
		out->family = AF_INET;
		why = v4_unusable(b);
	} else if (memchr(text, ':', n) && inet_pton(AF_INET6, text, out->bytes) == 1) {
		out->family = AF_INET6;
		if (memcmp(b, zero, 16) == 0)
			why = "is the unspecified address";
		else if (b[0] == 0xff)
			why = "is a multicast address";
		else if (memcmp(b, v4mapped, 12) == 0)
			why = v4_unusable(b + 12);
	} else {
		why = "is not an IP address";
	}
	if (why)
		return refuse(s, n, out, e, why);
	if (!inet_ntop(out->family, out->bytes, out->text, sizeof(out->text)))
		return refuse(s, n, out, e, "is not an IP address");
	return 0;
}

int addr_parse_answer(const char *body, size_t len, struct addr *out, struct err *e)
{
	if (!body)
		len = 0;
	if (len && body[len - 1] == '\n')
		len--;
	return addr_parse_literal(body, len, out, e);
}
