/*
 * sigv4: AWS Signature Version 4 over OpenSSL's SHA-256 and HMAC.
 *
 * Builds the canonical request (normalised path, sorted and re-encoded query,
 * lowercased trimmed headers, hashed payload), the string to sign, the
 * signing key and the Authorization value, exactly as botocore does.
 */
#ifndef EBSSH_AWS_SIGV4_H
#define EBSSH_AWS_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "../util/err.h"
#include "credentials.h"

struct sigv4_header {
	const char *name;
	const char *value;
};

struct sigv4_request {
	const char *method;
	const char *path;   /* as sent on the wire, percent-encoded, e.g. "/" */
	const char *query;  /* as sent, without '?'; NULL or "" when none */
	const struct sigv4_header *headers; /* as sent; must include Host */
	size_t n_headers;
	const void *body;
	size_t body_len;
	const char *region;
	const char *service;
	time_t now;          /* the signing time (a test fixes it) */
	int no_normalize;    /* 1 to sign the path as is (S3); 0 for every other service */
};

struct sigv4_result {
	char amz_date[17];     /* "20150830T123600Z": send as X-Amz-Date */
	char *authorization;   /* owned: send as Authorization */
};

/*
 * Signs req with creds. Headers named X-Amz-Date or Authorization in req are
 * ignored; X-Amz-Date, and X-Amz-Security-Token when creds carry a session
 * token, are signed as the caller must send them.
 */
int sigv4_sign(const struct sigv4_request *req, const struct aws_credentials *creds,
	       struct sigv4_result *out, struct err *e);
void sigv4_result_free(struct sigv4_result *r);

/* The intermediate texts, for tests and debugging; owned by the caller. */
char *sigv4_canonical_request(const struct sigv4_request *req, const struct aws_credentials *creds);
char *sigv4_string_to_sign(const struct sigv4_request *req, const struct aws_credentials *creds);

#endif
