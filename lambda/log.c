/* log: JSON log lines with the thread's invocation context; see log.h. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Thread_local struct log_context current;
static int out_fd = 2;

static const char *const reserved[] = {"time",           "level",    "message", "request_id",
                                       "api_request_id", "trace_id", NULL};

/* Copies src into dst (cap bytes, NUL included), '?' for bytes outside printable ASCII. */
static void copy_id(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < cap; i++)
		dst[i] = (char)(src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?');
	dst[i] = '\0';
}

void log_context_set(const char *request_id, const char *api_request_id, const char *trace_id)
{
	copy_id(current.request_id, sizeof(current.request_id), request_id);
	copy_id(current.api_request_id, sizeof(current.api_request_id), api_request_id);
	copy_id(current.trace_id, sizeof(current.trace_id), trace_id);
}

void log_context_set_api_request_id(const char *api_request_id)
{
	copy_id(current.api_request_id, sizeof(current.api_request_id), api_request_id);
}

void log_context_clear(void)
{
	memset(&current, 0, sizeof(current));
}

void log_context_get(struct log_context *out)
{
	*out = current;
}

void log_context_put(const struct log_context *c)
{
	log_context_set(c->request_id, c->api_request_id, c->trace_id);
}

const char *log_level_name(enum log_level level)
{
	switch (level) {
	case LOG_WARN:
		return "WARN";
	case LOG_ERROR:
		return "ERROR";
	default:
		return "INFO";
	}
}

int log_set_fd(int fd)
{
	int old = out_fd;

	out_fd = fd;
	return old;
}

/* A JSON string of s: as it is when UTF-8, else printable ASCII with '?' for the rest. */
static json_t *text_value(const char *s)
{
	json_t *v = json_string(s);
	char *clean;
	size_t i, n;

	if (v)
		return v;
	n = strlen(s);
	clean = malloc(n + 1);
	if (!clean)
		return NULL;
	for (i = 0; i < n; i++)
		clean[i] = (char)(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
	clean[n] = '\0';
	v = json_string(clean);
	free(clean);
	return v;
}

static int is_reserved(const char *key)
{
	size_t i;

	for (i = 0; reserved[i]; i++)
		if (strcmp(key, reserved[i]) == 0)
			return 1;
	return 0;
}

/* Adds key: s unless s is empty; 0 or -1. */
static int set_id(json_t *line, const char *key, const char *s)
{
	return s[0] ? json_object_set_new(line, key, text_value(s)) : 0;
}

char *log_format(enum log_level level, int64_t now_ms, const char *message, const json_t *fields)
{
	char when[40];
	time_t secs = (time_t)(now_ms / 1000);
	struct tm tm;
	json_t *line;
	const char *key;
	json_t *value;
	char *text = NULL;
	int rc;

	if (!gmtime_r(&secs, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(when, sizeof(when), "1970-01-01T00:00:00");
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03dZ",
	         (int)(now_ms % 1000 + (now_ms % 1000 < 0 ? 1000 : 0)));
	line = json_object();
	if (!line)
		return NULL;
	rc = json_object_set_new(line, "time", json_string(when));
	rc |= json_object_set_new(line, "level", json_string(log_level_name(level)));
	rc |= json_object_set_new(line, "message", text_value(message ? message : ""));
	rc |= set_id(line, "request_id", current.request_id);
	rc |= set_id(line, "api_request_id", current.api_request_id);
	rc |= set_id(line, "trace_id", current.trace_id);
	if (json_is_object(fields)) {
		/* jansson's iteration macro takes a non-const object; nothing is changed */
		json_object_foreach((json_t *)fields, key, value)
		{
			if (!is_reserved(key))
				rc |= json_object_set(line, key, value);
		}
	}
	if (rc == 0)
		text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6));
	json_decref(line);
	return text;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Cuts message at LOG_MESSAGE_MAX bytes, before a UTF-8 sequence rather than in it. */
static void cut_message(char *message, size_t n)
{
	if (n < LOG_MESSAGE_MAX)
		return;
	n = LOG_MESSAGE_MAX - 1;
	while (n > 0 && ((unsigned char)message[n] & 0xc0) == 0x80)
		n--;
	message[n] = '\0';
}

/* Writes text (taken; NULL: nothing) and a newline with one write(2). */
static void write_text(char *text)
{
	size_t len, off = 0;

	if (!text)
		return;
	len = strlen(text);
	text[len++] = '\n'; /* over the NUL: written by length below */
	while (off < len) {
		ssize_t w = write(out_fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(text);
}

static void write_line(enum log_level level, const json_t *fields, const char *fmt, va_list ap)
{
	char message[LOG_MESSAGE_MAX + 4];
	int n = vsnprintf(message, sizeof(message), fmt, ap);

	if (n < 0)
		snprintf(message, sizeof(message), "(unprintable message)");
	cut_message(message, strlen(message));
	write_text(log_format(level, now_ms(), message, fields));
}

void log_json_line(json_t *obj)
{
	if (obj)
		write_text(
		    json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6)));
	json_decref(obj);
}

void log_fields_new(enum log_level level, json_t *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_line(level, fields, fmt, ap);
	va_end(ap);
	json_decref(fields);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_line(level, NULL, fmt, ap);
	va_end(ap);
}
