/*
 * oauth: Google service-account credentials and the access tokens they buy.
 *
 * gcp_credentials is the parsed service-account key (the JSON file Google
 * hands out): client_email, the RSA private key PEM, token_uri (the token
 * endpoint, also the JWT's "aud"), project_id. It lives in memory only and
 * is never logged; gcp_credentials_free wipes the key.
 *
 * A gcp_token_source turns the credentials into OAuth 2.0 access tokens with
 * the JWT-bearer grant (RFC 7523): an RS256 JWT {iss: client_email, scope,
 * aud: token_uri, iat, exp: iat + 3600} signed with OpenSSL, POSTed as
 * grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt> to
 * token_uri. The token is cached and reused until 60 s before expires_in
 * runs out; gcp_token_invalidate drops it (a 401 from the service). A token
 * source is thread-safe (a mutex; one fetch at a time). Errors name the step
 * that failed, never the key, the assertion or the token.
 */
#ifndef EBSSH_GCP_OAUTH_H
#define EBSSH_GCP_OAUTH_H

#include <stddef.h>

#include "../aws/http.h"
#include "../util/err.h"

#define GCP_SCOPE_READ_WRITE "https://www.googleapis.com/auth/devstorage.read_write"
#define GCP_TOKEN_EARLY_S    60 /* a token is renewed this long before it expires */

struct gcp_credentials {
	char *client_email;   /* owned */
	char *private_key;    /* owned: PEM ("-----BEGIN PRIVATE KEY-----...") */
	char *private_key_id; /* owned; NULL when absent (then no "kid" in the JWT) */
	char *token_uri;      /* owned; "https://oauth2.googleapis.com/token" when absent */
	char *project_id;     /* owned; NULL when absent */
};

/* Parses a service-account key (json[0..len)). ERR_INVALID when it is not
 * JSON, not "type": "service_account" (when type is present), or lacks
 * client_email or private_key; out is then left zeroed. */
int gcp_credentials_parse(const char *json, size_t len, struct gcp_credentials *out, struct err *e);

/* Deep copy of src into out (out zeroed on failure). */
int gcp_credentials_copy(const struct gcp_credentials *src, struct gcp_credentials *out,
                         struct err *e);

/* Wipes the private key and frees every field; c may be NULL. */
void gcp_credentials_free(struct gcp_credentials *c);

/* The signed JWT (header.claims.signature, base64url) for iat = now, with
 * scope; *jwt_out is malloc'd. ERR_CREDENTIALS when the PEM is not an RSA
 * private key or signing fails. Exposed for the unit tests. */
int gcp_jwt_assertion(const struct gcp_credentials *c, const char *scope, long long now,
                      char **jwt_out, struct err *e);

/* The token source's seams (tests): how an HTTP request is sent and what
 * time it is (seconds since the epoch). */
typedef int (*gcp_send_fn)(void *ctx, const struct http_request *req, struct http_response *resp,
                           struct err *e);
typedef long long (*gcp_clock_fn)(void *ctx);

struct gcp_token_source;

/* A token source for c (copied: c may be freed after) and the read-write
 * storage scope. NULL (e filled) on failure. */
struct gcp_token_source *gcp_token_source_new(const struct gcp_credentials *c, struct err *e);

/* Replaces the transport and the clock (NULL: the real one); for tests. */
void gcp_token_source_set_seams(struct gcp_token_source *ts, gcp_send_fn send, gcp_clock_fn clock,
                                void *ctx);

/* A valid access token (*token_out malloc'd; the caller frees it): the
 * cached one, else a new one from token_uri. ERR_CREDENTIALS when the token
 * endpoint refused the grant (its HTTP status in e->http_status), ERR_PARSE
 * when its answer has no access_token, transport errors as http_send's. */
int gcp_token_get(struct gcp_token_source *ts, char **token_out, struct err *e);

/* Forgets the cached token: the next gcp_token_get fetches a new one. */
void gcp_token_invalidate(struct gcp_token_source *ts);

/* How many tokens were fetched from token_uri so far (tests, logs). */
unsigned gcp_token_fetches(const struct gcp_token_source *ts);

void gcp_token_source_free(struct gcp_token_source *ts);

#endif
