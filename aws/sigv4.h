/*
 * sigv4: AWS Signature Version 4 over OpenSSL's SHA-256 and HMAC.
 *
 * Builds the canonical request (normalised path, sorted and re-encoded query,
 * lowercased trimmed headers, hashed payload), the string to sign, the
 * signing key and the Authorization value, exactly as botocore's SigV4Auth:
 * - path: dot segments and repeated slashes removed, then percent-encoded
 *   once more (so "%20" on the wire signs as "%2520"); S3 (no_normalize)
 *   signs the wire path as it is;
 * - query: each key and value decoded ('+' is a space) and encoded again,
 *   sorted by key then value; "a" and "a=" both sign as "a=";
 * - headers: names lowercased, values trimmed with inner runs of white space
 *   (folded lines too) made one space, repeated names joined with ',' in
 *   the order given; User-Agent, Expect and X-Amzn-Trace-Id are not signed
 *   (proxies rewrite them), as botocore leaves them out.
 * Secrets never appear in any output or message; derived keys are wiped.
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
	const char *path;                   /* as sent on the wire, percent-encoded, e.g. "/" */
	const char *query;                  /* as sent, without '?'; NULL or "" when none */
	const struct sigv4_header *headers; /* as sent; must include Host */
	size_t n_headers;
	const void *body;
	size_t body_len;
	const char *region;
	const char *service;
	time_t now;       /* the signing time (a test fixes it) */
	int no_normalize; /* 1 to sign the path as is (S3); 0 for every other service */
};

struct sigv4_result {
	char amz_date[17];   /* "20150830T123600Z": send as X-Amz-Date */
	char *authorization; /* owned: send as Authorization */
};

/*
 * Signs req with creds. Headers named X-Amz-Date or Authorization in req are
 * ignored, and so is X-Amz-Security-Token when creds carry a session token;
 * X-Amz-Date (out->amz_date), and X-Amz-Security-Token (creds->session_token)
 * when there is one, are signed as the caller must send them, replacing any
 * copy in req->headers. ERR_INVALID for a request that cannot be signed
 * (no Host, a malformed %-escape in the query, missing fields); out is then
 * empty. Free out with sigv4_result_free, which tolerates an empty result.
 */
int sigv4_sign(const struct sigv4_request *req, const struct aws_credentials *creds,
               struct sigv4_result *out, struct err *e);
void sigv4_result_free(struct sigv4_result *r);

/* The intermediate texts, for tests and debugging; owned by the caller
 * (free()); NULL when sigv4_sign would fail. */
char *sigv4_canonical_request(const struct sigv4_request *req, const struct aws_credentials *creds);
char *sigv4_string_to_sign(const struct sigv4_request *req, const struct aws_credentials *creds);

/* The signing key of secret for date ("20150830"), region and service:
 * HMAC-SHA256 chained over "AWS4" secret, date, region, service and
 * "aws4_request". The caller wipes key (OPENSSL_cleanse). */
int sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
                      unsigned char key[32], struct err *e);

#endif
