/*
 * client: one signed AWS API call, with the SDKs' "standard" retries.
 *
 * An aws_client owns the process's HTTP client (one libcurl handle), its
 * credentials provider and its region. aws_client_call resolves the endpoint
 * (AWS_ENDPOINT_URL_<ID>, AWS_ENDPOINT_URL, the regional one), signs with
 * SigV4, sends, and retries up to 3 attempts in all with full-jitter
 * exponential backoff on throttling codes, 5xx and transient network errors,
 * never on other 4xx. An AWS error answer becomes ERR_AWS (or ERR_THROTTLED
 * when still throttled at the end) with AWS's code, message and request id.
 * S3 (service "s3") signs its path as sent (no normalisation) and sends
 * x-amz-content-sha256.
 * Not thread-safe: one client per thread.
 *
 * Tuning for tests, from the environment: EBSSH_AWS_TIMEOUT_MS (per attempt),
 * EBSSH_AWS_CONNECT_TIMEOUT_MS, EBSSH_AWS_RETRY_BASE_MS (backoff base).
 */
#ifndef EBSSH_AWS_CLIENT_H
#define EBSSH_AWS_CLIENT_H

#include <stddef.h>

#include "../util/buf.h"
#include "../util/err.h"
#include "http.h"

enum aws_protocol {
	AWS_PROTOCOL_QUERY,    /* EC2 and Query APIs: form body, XML answers and errors */
	AWS_PROTOCOL_JSON,     /* JSON 1.0/1.1 with X-Amz-Target (CloudWatch Logs) */
	AWS_PROTOCOL_REST_JSON /* REST paths, JSON bodies (Lambda) */
};

struct aws_call {
	const char *service;         /* signing name: "ec2", "logs", "lambda", "monitoring" */
	const char *endpoint_id;     /* AWS_ENDPOINT_URL_<id>: "EC2", "CLOUDWATCH_LOGS", ... */
	const char *endpoint_prefix; /* regional host prefix: "ec2" -> ec2.<region>.amazonaws.com */
	enum aws_protocol protocol;
	const char *method;       /* "POST", "GET", ... */
	const char *path;         /* percent-encoded path, "/" for Query APIs */
	const char *query;        /* percent-encoded query without '?', or NULL */
	const char *content_type; /* or NULL */
	const char *target;       /* X-Amz-Target, or NULL */
	const void *body;
	size_t body_len;
	const struct http_header *extra_headers; /* e.g. X-Amz-Invocation-Type; may be NULL */
	size_t n_extra_headers;
	/* Optional, for one call that must finish before a deadline: the
	 * per-attempt timeout (0: the client's) and the time since the first
	 * attempt past which no retry starts (0: the client's 25 s). */
	long timeout_ms;
	long budget_ms;
	/* Optional: bytes of an answer past which it is ERR_TOO_LARGE (0: aws/http's
	 * default, 8 MiB). */
	size_t max_response;
	/* Optional: a header of the 2xx answer to keep (e.g. X-Amz-Function-Error);
	 * *answer_header_value receives a malloc'd copy, or NULL when the answer
	 * lacks it (set on success only; the caller frees it). */
	const char *answer_header;
	char **answer_header_value;
	/* Optional streaming (S3 GetObject): the 2xx answer's body goes to
	 * body_sink piece by piece (see http_request.body_sink) and body stays
	 * empty. Once the sink has had a byte, a failure is never retried
	 * (the caller's consumer cannot take the bytes twice). */
	int (*body_sink)(void *ctx, const struct http_response *resp, const void *data, size_t len,
	                 struct err *e);
	void *sink_ctx;
	/* Optional: an http_response_init'ed response that receives the 2xx
	 * answer's status and headers (the caller http_response_free's it);
	 * left as it is on failure. */
	struct http_response *answer;
};

struct http_header;
struct aws_client;

/* A client for the region of the environment or profile; NULL and err
 * filled when no region can be found or curl fails to start. */
struct aws_client *aws_client_new(struct err *e);
void aws_client_free(struct aws_client *c);

/* The region calls go to ("eu-west-1"); borrowed. */
const char *aws_client_region(const struct aws_client *c);

/* The client's HTTP client, for unsigned calls (Slack, the Runtime API). */
struct http_client *aws_client_http(struct aws_client *c);

/* One API call; on success body holds the 2xx answer (caller frees it). */
int aws_client_call(struct aws_client *c, const struct aws_call *call, struct buf *body,
                    struct err *e);

#endif
