/* http: one HTTP exchange over a reused libcurl handle; see http.h. */
#include "http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* EBSSH_CURL_BUILD: the lean libcurl's version and configure line, which the
 * Makefile generates into the build directory; absent for the system's
 * libcurl (and for builds that do not generate it: fuzz, lint).
 * EBSSH_OPENSSL_BUILD: the same for the lean OpenSSL, when bootstrap and
 * ebssh-api link it (ebssh-proxy links Debian's whatever the build). */
#if defined(__has_include)
#if __has_include("ebssh_curl_build.h")
#include "ebssh_curl_build.h"
#endif
#endif

struct http_client {
	CURL *curl;
	const char *ca_file; /* borrowed: a getenv string or a literal */
};

/* What the curl callbacks write into during one exchange. */
struct exchange {
	struct http_response *resp;
	size_t max;
	int too_large;
	int oom;
	const struct http_request *req;
	CURL *curl;
	struct err *e;
	int sink_rc;   /* the body sink's error, 0 when none */
	int streaming; /* -1 undecided, 0 buffer the body, 1 stream it to the sink */
};

static const char *const ca_candidates[] = {
    "/etc/pki/tls/certs/ca-bundle.crt",   /* Amazon Linux (the Lambda runtime) */
    "/etc/ssl/certs/ca-certificates.crt", /* Debian */
};

/* AWS_CA_BUNDLE first (the AWS CLI's and SDKs' own variable), then
 * OpenSSL's SSL_CERT_FILE, then the distributions' bundles. */
static const char *find_ca_file(void)
{
	static const char *const vars[] = {"AWS_CA_BUNDLE", "SSL_CERT_FILE"};
	const char *env;
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		env = getenv(vars[i]);
		if (env && *env)
			return env;
	}
	for (i = 0; i < sizeof(ca_candidates) / sizeof(ca_candidates[0]); i++)
		if (access(ca_candidates[i], R_OK) == 0)
			return ca_candidates[i];
	return NULL;
}

int http_global_init(struct err *e)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(e, ERR_INTERNAL, "curl_global_init failed");
	return 0;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

void http_version_print(FILE *out, int lean_openssl)
{
#ifdef EBSSH_CURL_BUILD
	fputs(EBSSH_CURL_BUILD, out);
#else
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	fprintf(out, "libcurl %s (system)\n", v && v->version ? v->version : "unknown");
#endif
#ifdef EBSSH_OPENSSL_BUILD
	if (lean_openssl)
		fputs(EBSSH_OPENSSL_BUILD, out);
#else
	(void)lean_openssl;
#endif
}

struct http_client *http_client_new(struct err *e)
{
	struct http_client *c = calloc(1, sizeof(*c));

	if (!c) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	c->curl = curl_easy_init();
	if (!c->curl) {
		free(c);
		err_set(e, ERR_INTERNAL, "curl_easy_init failed");
		return NULL;
	}
	c->ca_file = find_ca_file();
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

void http_response_init(struct http_response *r)
{
	r->status = 0;
	buf_init(&r->body, 0);
	r->headers = NULL;
	r->n_headers = 0;
}

static void free_headers(struct http_response *r)
{
	size_t i;

	for (i = 0; i < r->n_headers; i++) {
		free((char *)r->headers[i].name);
		free((char *)r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->n_headers = 0;
}

void http_response_free(struct http_response *r)
{
	buf_free(&r->body);
	free_headers(r);
	r->status = 0;
}

const char *http_response_header(const struct http_response *r, const char *name)
{
	size_t i = r->n_headers;

	while (i-- > 0)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct exchange *x = userp;
	size_t n = size * nmemb;
	int rc;

	if (x->streaming < 0) {
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->resp->status);
		x->streaming = x->req->body_sink && x->resp->status >= 200 && x->resp->status < 300;
	}
	if (x->streaming) {
		rc = x->req->body_sink(x->req->sink_ctx, x->resp, data, n, x->e);
		if (rc) {
			x->sink_rc = rc;
			return 0;
		}
		return n;
	}
	if (n > x->max - x->resp->body.len) {
		x->too_large = 1;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	rc = buf_append(&x->resp->body, data, n);
	if (rc) {
		x->oom = rc == ERR_NOMEM;
		x->too_large = rc == ERR_TOO_LARGE;
		return 0;
	}
	return n;
}

static char *trimmed_copy(const char *s, size_t n)
{
	char *p;

	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	struct exchange *x = userp;
	struct http_response *r = x->resp;
	size_t n = size * nmemb;
	const char *colon = memchr(data, ':', n);
	struct http_header *grown;
	char *name, *value;

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		free_headers(r); /* a new status line: forget a 100 Continue's headers */
		return n;
	}
	if (!colon || r->n_headers >= 200)
		return n;
	name = trimmed_copy(data, (size_t)(colon - data));
	value = trimmed_copy(colon + 1, n - (size_t)(colon - data) - 1);
	grown = realloc(r->headers, (r->n_headers + 1) * sizeof(*grown));
	if (!name || !value || !grown) {
		free(name);
		free(value);
		if (grown)
			r->headers = grown;
		x->oom = 1;
		return 0;
	}
	r->headers = grown;
	r->headers[r->n_headers].name = name;
	r->headers[r->n_headers].value = value;
	r->n_headers++;
	return n;
}

static int map_curl_error(CURLcode rc, const struct exchange *x, const char *detail, struct err *e)
{
	const char *why = detail && *detail ? detail : curl_easy_strerror(rc);

	if (x->oom)
		return err_set(e, ERR_NOMEM, "out of memory reading the answer");
	if (x->too_large)
		return err_set(e, ERR_TOO_LARGE, "answer larger than %zu bytes", x->max);
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return err_set(e, ERR_TIMEOUT, "timed out: %s", why);
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return err_set(e, ERR_INVALID, "bad URL: %s", why);
	case CURLE_OUT_OF_MEMORY:
		return err_set(e, ERR_NOMEM, "out of memory");
	default:
		return err_set(e, ERR_NETWORK, "%s", why);
	}
}

static struct curl_slist *build_headers(const struct http_request *req, int *oom)
{
	struct curl_slist *list = NULL, *next;
	struct buf line;
	size_t i;

	*oom = 0;
	buf_init(&line, (size_t)64 << 10);
	for (i = 0; i < req->n_headers; i++) {
		buf_reset(&line);
		if (buf_appendf(&line, "%s: %s", req->headers[i].name, req->headers[i].value)) {
			*oom = 1;
			break;
		}
		next = curl_slist_append(list, line.data);
		if (!next) {
			*oom = 1;
			break;
		}
		list = next;
	}
	/* curl would add "Expect: 100-continue" to big POSTs and "Accept: * / *". */
	if (!*oom) {
		next = curl_slist_append(list, "Expect:");
		if (next)
			list = next;
		else
			*oom = 1;
	}
	buf_free(&line);
	if (*oom) {
		curl_slist_free_all(list);
		list = NULL;
	}
	return list;
}

int http_send(struct http_client *c, const struct http_request *req, struct http_response *resp,
              struct err *e)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct exchange x = {
	    resp, req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE,
	    0,    0,
	    req,  c->curl,
	    e,    0,
	    -1};
	struct curl_slist *headers;
	CURL *h = c->curl;
	CURLcode rc;
	int oom;
	long timeout = req->timeout_ms ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;

	http_response_free(resp);
	http_response_init(resp);
	headers = build_headers(req, &oom);
	if (oom)
		return err_set(e, ERR_NOMEM, "out of memory");

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                 req->connect_timeout_ms ? req->connect_timeout_ms
	                                         : HTTP_DEFAULT_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout > 0 ? timeout : 0L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (!req->body_sink)
		curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x.max);
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}

	rc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	if (rc == CURLE_FILESIZE_EXCEEDED)
		x.too_large = 1;
	if (rc != CURLE_OK) {
		int code = x.sink_rc ? x.sink_rc : map_curl_error(rc, &x, errbuf, e);

		http_response_free(resp);
		http_response_init(resp);
		return code;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!resp->body.data && buf_append(&resp->body, "", 0))
		return err_set(e, ERR_NOMEM, "out of memory");
	return 0;
}
