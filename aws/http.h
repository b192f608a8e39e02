/*
 * http: one HTTP exchange over a reused libcurl handle.
 *
 * An http_client owns one CURL easy handle (connections and TLS sessions are
 * reused across calls) and is not thread-safe: one per thread. http_send
 * makes exactly one attempt; retrying is the caller's policy (aws/client.c).
 * CA roots: AWS_CA_BUNDLE, else SSL_CERT_FILE, else the first existing of
 * Amazon Linux's /etc/pki/tls/certs/ca-bundle.crt and Debian's
 * /etc/ssl/certs/ca-certificates.crt.
 */
#ifndef EBSSH_AWS_HTTP_H
#define EBSSH_AWS_HTTP_H

#include <stddef.h>
#include <stdio.h>

#include "../util/buf.h"
#include "../util/err.h"

#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 3000L
#define HTTP_DEFAULT_TIMEOUT_MS         8000L
#define HTTP_DEFAULT_MAX_RESPONSE       ((size_t)8 << 20)

struct http_header {
	const char *name;
	const char *value;
};

struct http_response;

struct http_request {
	const char *method;                /* "GET", "POST", "PUT" */
	const char *url;                   /* absolute http:// or https:// URL */
	const struct http_header *headers; /* sent as given; may be NULL */
	size_t n_headers;
	const void *body; /* may be NULL */
	size_t body_len;
	long connect_timeout_ms; /* 0: HTTP_DEFAULT_CONNECT_TIMEOUT_MS */
	long timeout_ms;         /* whole exchange; 0: HTTP_DEFAULT_TIMEOUT_MS; <0: none */
	size_t max_response;     /* body cap; 0: HTTP_DEFAULT_MAX_RESPONSE */
	/* Optional streaming: when body_sink is set, a 2xx answer's body goes
	 * to it piece by piece as curl reads it (at most CURL_MAX_WRITE_SIZE,
	 * 16 KiB, a piece; never held whole; max_response does not apply),
	 * with resp's status and headers already filled. A non-zero return
	 * (a negative error code, e filled) stops the exchange and http_send
	 * returns it. Other statuses' bodies are kept in resp->body as usual. */
	int (*body_sink)(void *ctx, const struct http_response *resp, const void *data, size_t len,
	                 struct err *e);
	void *sink_ctx;
};

struct http_response {
	long status;                 /* HTTP status; 0 until an answer arrived */
	struct buf body;             /* owned */
	struct http_header *headers; /* owned copies, in arrival order */
	size_t n_headers;
};

struct http_client;

/* A new client with its own curl handle; NULL (err filled) on failure.
 * curl_global_init must have run (http_global_init does it once). */
struct http_client *http_client_new(struct err *e);
void http_client_free(struct http_client *c);

/* curl_global_init, once per process, before any thread starts. */
int http_global_init(struct err *e);
void http_global_cleanup(void);

/* Writes which libcurl this build links, for --version: the lean static
 * build's "libcurl <version> (Debian <package version>)" line and its
 * configure line (the Makefile's ebssh_curl_build.h, from
 * scripts/curl-lean.sh), else "libcurl <version> (system)". Then, with
 * lean_openssl (a program the Makefile links with the lean OpenSSL when it
 * builds one: bootstrap, ebssh-api), the lean OpenSSL's "OpenSSL <version>
 * (Debian <package version>...)" line and its Configure line
 * (scripts/openssl-lean.sh); nothing for Debian's OpenSSL. */
void http_version_print(FILE *out, int lean_openssl);

/* Prepares an empty response for http_send. */
void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);

/* The value of the last header of that name (case-insensitive), or NULL. */
const char *http_response_header(const struct http_response *r, const char *name);

/*
 * One attempt. Returns 0 when an HTTP answer arrived, whatever its status
 * (the response is then filled); otherwise ERR_TIMEOUT, ERR_NETWORK (refused,
 * reset, DNS, TLS: transient), ERR_TOO_LARGE (body over the cap), ERR_INVALID
 * (bad URL) or ERR_NOMEM. The response is reset at entry.
 */
int http_send(struct http_client *c, const struct http_request *req, struct http_response *resp,
              struct err *e);

#endif
