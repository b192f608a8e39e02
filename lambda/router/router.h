/*
 * router: the lookup service's one table of routes.
 *
 * A front door (the Lambda runtime's event parser, or ebssh-api's
 * libmicrohttpd handler) fills a router_request (message.h), calls
 * router_handle and sends the router_response back in its own shape. The
 * router knows nothing of events, sockets or Lambda; its routes reach AWS
 * only through aws/ and the workflows of lambda/ops/.
 */
#ifndef EBSSH_LAMBDA_ROUTER_H
#define EBSSH_LAMBDA_ROUTER_H

#include <stddef.h>

#include "../../util/err.h"
#include "../service.h"
#include "message.h"

struct json_t;

/*
 * Success answers, for routes. router_answer finishes an answer whose body
 * the route wrote into resp->body: status, and Content-Type (a copy,
 * replacing any). router_answer_json first makes the body root as one line
 * of compact JSON ("...\n"); it takes root over (decrefs it), and NULL means
 * out of memory. Headers already in resp stay. Return 0, or ERR_NOMEM.
 */
int router_answer(struct router_response *resp, int status, const char *content_type);
int router_answer_json(struct router_response *resp, int status, struct json_t *root);

/*
 * Error answers, for routes. Both replace whatever resp held (but route)
 * with a JSON body {"message": "...", "code": "..."}, its status and
 * Content-Type application/json; bytes of the message outside printable
 * ASCII become '?'. Return 0, or ERR_NOMEM.
 *
 * router_error_from maps an error of the AWS layer to an answer that leaks
 * no internals, and keeps *e in resp->error for the log:
 *   ERR_INVALID      400 InvalidRequest    ERR_NOT_FOUND    404 NotFound
 *   ERR_AWS          502 AwsError          AWS's code, HTTP status and request id in the
 *                                          message; never AWS's free text (it may echo a header)
 *   ERR_THROTTLED    503 Throttled         the same, plus Retry-After: 1
 *   ERR_NETWORK      502 AwsUnreachable    ERR_TIMEOUT      504 AwsTimeout
 *   ERR_CREDENTIALS  502 CredentialsError  ERR_PARSE, ERR_TOO_LARGE  502 AwsBadAnswer
 *   ERR_NOMEM and anything else  500 InternalError ("out of memory" or "internal error")
 */
int router_error(struct router_response *resp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int router_error_from(struct router_response *resp, const struct err *e);

/*
 * Answers one request. Always fills resp (an error becomes a JSON error
 * body with its status); returns 0, or a negative code only when even
 * that could not be built (out of memory).
 *
 * Unknown paths answer 404 NotFound; a known path asked with another method
 * 405 MethodNotAllowed with an Allow header; a path over 8 KiB 414. Every
 * answer carries Cache-Control: no-store.
 *
 * The one authorization of the two caller classes: a keyed ops route
 * (ROUTER_KEY and ROUTER_OPS) runs only when router_caller_may_ops grants
 * req->caller with the configured OPS_API_KEY_ID (lambda/config.h); else
 * the answer is router_forbidden's. Lookups are the front door's own check
 * (API Gateway's key or IAM, ebssh-api's key).
 */
int router_handle(struct service_context *ctx, const struct router_request *req,
                  struct router_response *resp);

/* API Gateway's own 403 body (and ebssh-api's), with x-amzn-ErrorType: ForbiddenException. */
#define ROUTER_FORBIDDEN_BODY "{\"message\":\"Forbidden\"}"

/*
 * 1 when caller may call ops routes:
 *   - ebssh-api matched its ops key (ROUTER_KEY_OPS); ebssh-api's lookup key
 *     or no key (ROUTER_KEY_LOOKUP, ROUTER_KEY_NONE) never may, whatever the
 *     other fields say;
 *   - otherwise (ROUTER_KEY_UNCHECKED: the Lambda's event) a non-empty
 *     user_arn (API Gateway authorized the request with AWS_IAM: the IAM
 *     policy chose), or an api_key_id equal to a non-empty ops_api_key_id.
 * 0 otherwise: a lookup key, no key, no OPS_API_KEY_ID configured.
 */
int router_caller_may_ops(const struct router_caller *caller, const char *ops_api_key_id);

/* Replaces resp with 403 ROUTER_FORBIDDEN_BODY (application/json) and
 * x-amzn-ErrorType: ForbiddenException. 0, or ERR_NOMEM. */
int router_forbidden(struct router_response *resp);

/* Who may call a route when the front door has an API key. */
enum router_access {
	ROUTER_KEY = 0, /* the caller sends the key (x-api-key) */
	ROUTER_OPEN = 1 /* anyone: /health, and Slack's command, which Slack signs */
};

/*
 * What a route is for. A front door may treat the classes differently:
 * ebssh-api runs ops routes on their own small worker pool so that they
 * never hold up a lookup; the keyed ops routes need the ops caller class
 * (router_caller_may_ops): the ops key, or IAM.
 */
enum router_class {
	ROUTER_LOOKUP = 0, /* the user's lookups: ip, instances, hostkeys, health */
	ROUTER_OPS = 1     /* operations: backup, logs, lambda/storage, Slack's logsearch */
};

/*
 * The route table, the one list of routes: ebssh-api's --help and its API
 * key check, and the tests that enumerate routes, read it. A route added to
 * the table appears everywhere.
 */
struct router_route {
	const char *method;  /* "GET" */
	const char *pattern; /* "/eb/{env}/ip/{n}": literal segments and {params}; also
	                        the name in the access log (router_response.route) */
	const char *name;    /* short and stable: "eb-ip-n" */
	enum router_access access;
	enum router_class route_class;
};

/* How many routes; the i-th (0-based, table order), NULL past the end. */
size_t router_route_count(void);
const struct router_route *router_route_at(size_t i);

/*
 * 1 when a request for path needs the API key: every path does but those
 * whose every matching route is ROUTER_OPEN (any method: a wrong method on
 * an open path answers 405 without the key). Unknown and malformed paths
 * need it, so that nothing about them leaks without the key.
 */
int router_needs_key(const char *path);

/*
 * The class of the route that answers method on path (path without its
 * query). A request no route answers (an unknown or malformed path, a
 * method the path does not take: the router's own 404, 405, 414) is
 * ROUTER_LOOKUP: its answer costs no AWS call.
 */
enum router_class router_class_of(const char *method, const char *path);

#endif
