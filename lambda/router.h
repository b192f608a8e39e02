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

struct router_pair {
	char *name;  /* owned */
	char *value; /* owned */
};

struct router_request {
	char *method;                /* owned; "GET" */
	char *path;                  /* owned; decoded path without stage prefix or query: "/eb/x/ip" */
	struct router_pair *query;   /* owned; decoded query parameters in order */
	size_t n_query;
	struct router_pair *headers; /* owned; names as received (compare case-insensitively) */
	size_t n_headers;
	char *body;                  /* owned; decoded (not base64) bytes, NUL-terminated; may be NULL */
	size_t body_len;
	char *request_id;            /* owned; Lambda's or the local server's; may be NULL */
};

struct router_response {
	int status;                  /* 200, 404, ... */
	char *content_type;          /* owned; "text/plain; charset=utf-8" */
	struct router_pair *headers; /* owned; extra headers, may be NULL */
	size_t n_headers;
	struct buf body;             /* owned */
	const char *route;           /* static name of the route that answered, for the log */
};

/* What a route may use: the per-thread AWS client (created lazily). */
struct router_context {
	struct aws_client *aws;      /* borrowed; NULL until first needed */
	struct aws_client *(*aws_get)(struct router_context *ctx, struct err *e);
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

/*
 * Answers one request. Always fills resp (an error becomes a JSON error
 * body with its status); returns 0, or a negative code only when even
 * that could not be built (out of memory).
 */
int router_handle(struct router_context *ctx, const struct router_request *req,
		  struct router_response *resp);

#endif
