/*
 * lookup: one question to the lookup service, "which IP is instance N of
 * this environment?", and the sorting of its answer.
 *
 * The request is GET {endpoint}/eb/{name}/ip/{n} (/asg/ for an Auto Scaling
 * group; ?address=private for private IPs; the host keys of known_hosts.c
 * are the route hostkeys instead of ip) with `Accept: text/plain`,
 * `x-api-key` when there is a key, and a User-Agent, signed with SigV4 for
 * execute-api when the query carries an iam (--auth iam; iam.h); one attempt through
 * aws/http (a ProxyCommand must answer fast or fail fast; the stale cache is
 * the fallback, not retries). The answer is classified:
 *
 *   200, body one IP literal (addr)     0, the address
 *   200, anything else                  ERR_PARSE: refused, never used
 *   404                                 ERR_NOT_FOUND (no such environment or instance)
 *   400                                 ERR_INVALID
 *   401, 403                            ERR_CREDENTIALS (API key missing or refused;
 *                                       with iam: not authorized, and a hint)
 *   429                                 ERR_THROTTLED            } "service unavailable":
 *   5xx                                 ERR_SERVICE, http_status } the stale cache may
 *   timeout, network failure            ERR_TIMEOUT, ERR_NETWORK } answer instead
 *   any other status                    ERR_INVALID
 *
 * Error messages carry the service's own JSON `message` (printable ASCII
 * only, at most LOOKUP_MESSAGE_MAX bytes of it) and its request id when
 * the answer had one (x-amzn-RequestId, as API Gateway sends). API Gateway's
 * IAM refusals spell the key `Message`; it is read too.
 */
#ifndef EBSSH_PROXY_LOOKUP_H
#define EBSSH_PROXY_LOOKUP_H

#include <stddef.h>

#include "../aws/http.h"
#include "../util/buf.h"
#include "../util/err.h"
#include "addr.h"
#include "alias.h"
#include "iam.h"

#define LOOKUP_MESSAGE_MAX  300
#define LOOKUP_RESPONSE_MAX ((size_t)64 * 1024)

/* The routes of an instance: {endpoint}/{eb|asg}/{name}/{route}/{n}. */
#define LOOKUP_ROUTE_IP       "ip"
#define LOOKUP_ROUTE_HOSTKEYS "hostkeys"

enum lookup_address { LOOKUP_PUBLIC = 0, LOOKUP_PRIVATE = 1 };

struct lookup_query {
	const char *endpoint;        /* checked by config: http(s), no trailing '/' */
	const char *api_key;         /* NULL: no x-api-key header */
	const struct alias *alias;   /* kind, name and index */
	enum lookup_address address; /* public or private IP */
	long timeout_ms;             /* connect and whole exchange; 0: aws/http's defaults */
	const char *user_agent;      /* NULL: none */
	struct iam *iam;             /* NULL: unsigned (--auth api-key) */
};

/* "public" or "private". */
const char *lookup_address_name(enum lookup_address a);

/* "eb" or "asg": the route's first segment. */
const char *lookup_kind_name(enum alias_kind k);

/* Appends the URL of q's route (LOOKUP_ROUTE_*) to out (which is freed on
 * failure). */
int lookup_route_url(const struct lookup_query *q, const char *route, struct buf *out,
                     struct err *e);

/* lookup_route_url of the IP route. */
int lookup_url(const struct lookup_query *q, struct buf *out, struct err *e);

/* lookup_classify_error, worded for the authorization in use: iam 1 for
 * --auth iam (a 401/403 says "not authorized" and points to the IAM
 * policy of docs/iam.md). */
int lookup_classify_error_auth(long status, const char *body, size_t len, const char *request_id,
                               int iam, struct err *e);

/* Classifies one answer (see the table above) into out. request_id may be
 * NULL. Pure. */
int lookup_classify(long status, const char *body, size_t len, const char *request_id,
                    struct addr *out, struct err *e);

/* The error of an answer that is not a 200, as in the table above (never
 * 0). Pure. */
int lookup_classify_error(long status, const char *body, size_t len, const char *request_id,
                          struct err *e);

/* Sends the GET of q's route with c, the headers above, and at most
 * max_response bytes of answer: 0 with resp (http_response_init'ed by the
 * caller, who frees it) holding the answer whatever its status; ERR_PARSE
 * for a longer answer; a transport error as "unreachable". */
int lookup_get(struct http_client *c, const struct lookup_query *q, const char *route,
               size_t max_response, struct http_response *resp, struct err *e);

/* Sends the request with c and classifies the answer. */
int lookup_fetch(struct http_client *c, const struct lookup_query *q, struct addr *out,
                 struct err *e);

/* 1 when code means the service could not answer (network, timeout, 429,
 * 5xx): the cases where a stale cached answer may be used. */
int lookup_service_unavailable(int code);

#endif
