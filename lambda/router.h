/*
 * router: the lookup service's one table of routes.
 *
 * A front door (the Lambda runtime's event parser, or ebssh-api's
 * libmicrohttpd handler) fills a router_request, calls router_handle and
 * sends the router_response back in its own shape. The router knows nothing
 * of events, sockets or Lambda; its routes reach AWS only through aws/.
 */
#ifndef EBSSH_LAMBDA_ROUTER_H
#define EBSSH_LAMBDA_ROUTER_H

#include <stddef.h>

#include "../util/buf.h"
#include "../util/err.h"

struct aws_client;
struct json_t;
struct ec2_console;
struct ec2_filter;
struct ec2_instance_list;

struct router_pair {
	char *name;  /* owned */
	char *value; /* owned */
};

struct router_request {
	char *method; /* owned; "GET" */
	char *path;   /* owned; decoded path without stage prefix or query: "/eb/x/ip" */
	struct router_pair *query; /* owned; decoded query parameters in order */
	size_t n_query;
	struct router_pair *headers; /* owned; names as received (compare case-insensitively) */
	size_t n_headers;
	char *body; /* owned; decoded (not base64) bytes, NUL-terminated; may be NULL */
	size_t body_len;
	char *request_id; /* owned; Lambda's or the local server's; may be NULL */
};

struct router_response {
	int status;                  /* 200, 404, ... */
	char *content_type;          /* owned; "text/plain; charset=utf-8" */
	struct router_pair *headers; /* owned; extra headers, may be NULL */
	size_t n_headers;
	struct buf body;   /* owned */
	const char *route; /* static name of the route that answered, for the log */
	struct err error;  /* behind an error answer, what failed: for the front
	                      door's log only, never sent; code 0 otherwise */
};

/* What a route may use: the per-thread AWS client (created lazily). */
struct router_context {
	struct aws_client *aws; /* borrowed; NULL until first needed */
	struct aws_client *(*aws_get)(struct router_context *ctx, struct err *e);
	/* Test seam: when set, routes call it instead of ec2_describe_instances
	 * (and never aws_get); same contract. NULL in production. */
	int (*describe_instances)(struct router_context *ctx, const struct ec2_filter *filters,
	                          size_t n_filters, struct ec2_instance_list *out, struct err *e);
	void *seam_data; /* for the seams' own use */
	/* Test seam: when set, the hostkeys routes call it instead of
	 * ec2_get_console_output (and never aws_get); same contract. */
	int (*console_output)(struct router_context *ctx, const char *instance_id, int latest,
	                      struct ec2_console *out, struct err *e);
	/* Work that must outlive the request (the Slack log search). When set, the
	 * front door runs fn(worker, arg) later on another thread, worker a context
	 * of its own (its own AWS client), then free_arg(arg); 0 once queued, else
	 * a negative code and nothing runs (the caller still owns arg). ebssh-api
	 * sets it (lambda/async.h); NULL on Lambda, where such routes invoke their
	 * own function with InvocationType Event instead. */
	int (*run_async)(struct router_context *ctx,
	                 void (*fn)(struct router_context *worker, void *arg), void *arg,
	                 void (*free_arg)(void *arg));
};

void router_request_init(struct router_request *r);
void router_request_free(struct router_request *r);
void router_response_init(struct router_response *r);
void router_response_free(struct router_response *r);

/* Adds a name/value pair (copied) to a list; for front doors and tests. */
int router_pair_add(struct router_pair **list, size_t *n, const char *name, const char *value);

/* First query parameter / header of that name (headers case-insensitive); borrowed. */
const char *router_query(const struct router_request *r, const char *name);
const char *router_header(const struct router_request *r, const char *name);

#define ROUTER_TEXT_PLAIN "text/plain; charset=utf-8"
#define ROUTER_JSON       "application/json"

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
 */
int router_handle(struct router_context *ctx, const struct router_request *req,
                  struct router_response *resp);

#endif
