/*
 * log: the function's log lines on stderr, one JSON object per line.
 *
 * Every line holds "time" (UTC, ms: "2026-12-07T03:09:54.123Z"), "level"
 * ("INFO", "WARN" or "ERROR"), "message", then the calling thread's
 * invocation context -- "request_id" (Lambda's), "api_request_id" (API
 * Gateway's requestContext.requestId, HTTP events only), "trace_id"
 * (Lambda-Runtime-Trace-Id) -- each left out when unset, then the caller's
 * fields (a field named like one of those is dropped). docs/logging.md
 * describes the lines and how to find them.
 *
 * The context is per thread (_Thread_local): a front door sets it when an
 * invocation starts and clears it when it ends, so the workflows of
 * lambda/ops/ log with the ids without being passed them; a job thread takes
 * its caller's with log_context_get / log_context_put (lambda/front/async.c).
 *
 * Strings are escaped by jansson with JSON_ENSURE_ASCII (control characters
 * and non-ASCII as \uXXXX); a string that is not UTF-8 is written with '?'
 * for every byte outside printable ASCII. A message is cut at
 * LOG_MESSAGE_MAX bytes. A line is written with one write(2), so lines of
 * different threads do not interleave. Callers never log headers, bodies,
 * credentials or API keys: only ids, names, codes and error messages.
 */
#ifndef EBSSH_LAMBDA_LOG_H
#define EBSSH_LAMBDA_LOG_H

#include <jansson.h>
#include <stdint.h>

#define LOG_ID_MAX      128  /* an id's bytes kept, NUL included */
#define LOG_TRACE_MAX   256  /* the trace id's bytes kept, NUL included */
#define LOG_MESSAGE_MAX 8192 /* a message's bytes kept */

enum log_level {
	LOG_INFO = 0,
	LOG_WARN,
	LOG_ERROR,
};

/* One thread's invocation context; "" is unset. */
struct log_context {
	char request_id[LOG_ID_MAX];
	char api_request_id[LOG_ID_MAX];
	char trace_id[LOG_TRACE_MAX];
};

/* Sets the calling thread's context (copied; NULL or "" unsets a field).
 * Bytes outside printable ASCII become '?'; longer ids are cut. */
void log_context_set(const char *request_id, const char *api_request_id, const char *trace_id);

/* Sets only API Gateway's id of the calling thread's context (NULL unsets it). */
void log_context_set_api_request_id(const char *api_request_id);

/* Unsets every field of the calling thread's context. */
void log_context_clear(void);

/* Copies the calling thread's context into *out / makes *c the calling thread's. */
void log_context_get(struct log_context *out);
void log_context_put(const struct log_context *c);

/* "INFO", "WARN", "ERROR". */
const char *log_level_name(enum log_level level);

/*
 * The line for level, message and fields (an object, borrowed, may be NULL)
 * with the calling thread's context, at time now_ms (ms since the epoch),
 * without the newline; NULL when out of memory. The caller frees it.
 */
char *log_format(enum log_level level, int64_t now_ms, const char *message, const json_t *fields);

/* Writes one line now; fields is taken (decref'd) even on failure; NULL is fine. */
void log_fields_new(enum log_level level, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes one line now, with no fields of the caller's. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes obj (taken, even on failure; NULL is fine) as one compact ASCII
 * line with one write(2), as it is: no time, level, message or context
 * added. For lines of their own shape (ebssh-api's access log). */
void log_json_line(json_t *obj);

/* Test seam: where lines go (default 2, stderr); returns the previous fd. */
int log_set_fd(int fd);

#endif
