/*
 * message: the HTTP request and answer as the router takes and gives them.
 *
 * Front doors (lambda/front/) fill a router_request from their own shape
 * (an API Gateway event, a libmicrohttpd connection) and send the
 * router_response back in it; the router and its routes read the one and
 * write the other. Plain data and their lists of name/value pairs: nothing
 * here routes, answers or knows a route.
 */
#ifndef EBSSH_LAMBDA_ROUTER_MESSAGE_H
#define EBSSH_LAMBDA_ROUTER_MESSAGE_H

#include <stddef.h>

#include "../../util/buf.h"
#include "../../util/err.h"

struct router_pair {
	char *name;  /* owned */
	char *value; /* owned */
};

/*
 * Which of ebssh-api's keys the request's x-api-key matched (ebssh-api
 * checks the key itself; the Lambda's event leaves it ROUTER_KEY_UNCHECKED
 * and names the key by its id instead).
 */
enum router_key_match {
	ROUTER_KEY_UNCHECKED = 0, /* no local key check: the ids below decide */
	ROUTER_KEY_NONE = 1,      /* no key, or no key configured (open lookups only) */
	ROUTER_KEY_LOOKUP = 2,    /* the lookup key */
	ROUTER_KEY_OPS = 3        /* the ops key: every route */
};

/*
 * Who calls, as the front door knows it. Strings owned, NULL when unknown.
 * API Gateway REST (payload 1.0): requestContext.identity.apiKeyId (the
 * API key that API Gateway checked), userArn and caller (set by AWS_IAM
 * authorization: the signer's ARN and principal id) and sourceIp; HTTP API
 * 2.0: requestContext.authorizer.iam.userArn / callerId and http.sourceIp.
 * Never a key's value.
 */
struct router_caller {
	char *api_key_id;
	char *user_arn;
	char *caller;
	char *source_ip;
	enum router_key_match key; /* ebssh-api's own check */
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
	char *request_id;            /* owned; the id the caller gets in x-amzn-RequestId: API
	                                Gateway's requestContext.requestId (Lambda's when the
	                                event has none) or the local server's; may be NULL */
	struct router_caller caller; /* owned; router_handle authorizes ops routes by it */
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

void router_request_init(struct router_request *r);
void router_request_free(struct router_request *r);
/* Frees the caller's strings and zeroes it (ROUTER_KEY_UNCHECKED). */
void router_caller_free(struct router_caller *c);
void router_response_init(struct router_response *r);
void router_response_free(struct router_response *r);

/* Frees a list of n pairs and their strings; NULL is fine. */
void router_pairs_free(struct router_pair *list, size_t n);

/* Adds a name/value pair (copied) to a list; for front doors and tests. */
int router_pair_add(struct router_pair **list, size_t *n, const char *name, const char *value);

/* First query parameter / header of that name (headers case-insensitive); borrowed. */
const char *router_query(const struct router_request *r, const char *name);
const char *router_header(const struct router_request *r, const char *name);

#define ROUTER_TEXT_PLAIN "text/plain; charset=utf-8"
#define ROUTER_JSON       "application/json"

#endif
