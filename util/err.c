/* err: setting and naming errors; see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_clear(struct err *e)
{
	if (!e)
		return;
	memset(e, 0, sizeof(*e));
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	err_clear(e);
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return code;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

int err_set_aws(struct err *e, int code, long http_status, const char *aws_code,
                const char *request_id, const char *message)
{
	if (!e)
		return code;
	err_clear(e);
	e->code = code;
	e->http_status = http_status;
	copy_field(e->aws_code, sizeof(e->aws_code), aws_code);
	copy_field(e->request_id, sizeof(e->request_id), request_id);
	copy_field(e->message, sizeof(e->message), message);
	return code;
}

void err_prefix(struct err *e, const char *fmt, ...)
{
	char prefix[256];
	size_t plen, mlen, cap;
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	cap = sizeof(e->message) - 1;
	plen = strlen(prefix);
	if (plen + 2 > cap)
		plen = cap - 2;
	mlen = strlen(e->message);
	if (plen + 2 + mlen > cap)
		mlen = cap - plen - 2;
	memmove(e->message + plen + 2, e->message, mlen);
	memcpy(e->message, prefix, plen);
	e->message[plen] = ':';
	e->message[plen + 1] = ' ';
	e->message[plen + 2 + mlen] = '\0';
}

const char *err_code_name(int code)
{
	switch (code) {
	case ERR_OK:
		return "ok";
	case ERR_NOMEM:
		return "out_of_memory";
	case ERR_INVALID:
		return "invalid";
	case ERR_NOT_FOUND:
		return "not_found";
	case ERR_NETWORK:
		return "network";
	case ERR_TIMEOUT:
		return "timeout";
	case ERR_AWS:
		return "aws_error";
	case ERR_THROTTLED:
		return "throttled";
	case ERR_PARSE:
		return "parse";
	case ERR_CREDENTIALS:
		return "credentials";
	case ERR_TOO_LARGE:
		return "too_large";
	case ERR_IO:
		return "io";
	case ERR_SERVICE:
		return "service_error";
	default:
		return "internal";
	}
}
