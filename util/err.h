/*
 * err: the one error type of ebssh.
 *
 * Every fallible function returns 0 or a negative enum err_code, and fills a
 * caller-supplied struct err (which may be NULL) with a human message and,
 * when AWS answered the error, AWS's error code, request id and HTTP status.
 * A later err_set overwrites an earlier one: the callee that fails last knows
 * best what went wrong; err_prefix adds the caller's context in front.
 */
#ifndef EBSSH_UTIL_ERR_H
#define EBSSH_UTIL_ERR_H

#include <stddef.h>

enum err_code {
	ERR_OK = 0,
	ERR_NOMEM = -1,       /* an allocation failed */
	ERR_INVALID = -2,     /* malformed input from a caller or a user */
	ERR_NOT_FOUND = -3,   /* the thing asked for does not exist */
	ERR_NETWORK = -4,     /* connect refused, reset, DNS: transient transport failure */
	ERR_TIMEOUT = -5,     /* a connect or a whole exchange took too long */
	ERR_AWS = -6,         /* AWS answered an error: aws_code, request_id, http_status set */
	ERR_THROTTLED = -7,   /* AWS still throttled after every retry */
	ERR_PARSE = -8,       /* an answer that does not parse (truncated XML, bad JSON) */
	ERR_CREDENTIALS = -9, /* no credentials, or a provider failed */
	ERR_TOO_LARGE = -10,  /* a size bound was hit */
	ERR_IO = -11,         /* a local system call failed (errno in the message) */
	ERR_INTERNAL = -12,   /* a bug: a state that should not happen */
	ERR_SERVICE = -13     /* a service that is not AWS (ebssh's own lookup service) answered
	                         a server error (5xx): http_status set */
};

struct err {
	int code;            /* enum err_code; 0 when nothing failed */
	long http_status;    /* HTTP status of AWS's answer, 0 when none */
	char aws_code[64];   /* AWS's error code ("RequestLimitExceeded"), "" when none */
	char request_id[80]; /* AWS's request id of the failed call, "" when none */
	char message[512];   /* one line for humans, never a credential */
};

/* Resets e to "no error". e may be NULL. */
void err_clear(struct err *e);

/* Sets code and a printf-style message (aws fields cleared); returns code so
 * that `return err_set(e, ERR_INVALID, "...")` reads naturally. e may be NULL. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets an AWS service error: code ERR_AWS or ERR_THROTTLED, plus the fields. */
int err_set_aws(struct err *e, int code, long http_status, const char *aws_code,
                const char *request_id, const char *message);

/* Puts "context: " in front of the message already there. */
void err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A stable lowercase name for a code ("throttled"), never NULL. */
const char *err_code_name(int code);

#endif
