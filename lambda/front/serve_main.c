/*
 * build/ebssh-api: the lookup service's router as a local HTTP server.
 *
 * libmicrohttpd with its own polling threads (a pool of --threads) reads
 * every request and answers it through router_handle, exactly the routes
 * the Lambda side serves. The lookup-class routes (router.h's
 * ROUTER_LOOKUP) are answered on the polling thread; an ops-class request
 * (a backup, a log search) has its connection suspended and runs on a
 * small pool of its own (--ops-threads, opspool.h) that resumes it when
 * done, so that it never holds up the lookups of its polling thread; past
 * --ops-queue waiting ones it is answered 503 OpsBusy with Retry-After.
 * Each thread lazily gets its own service context and AWS client (one
 * libcurl handle per thread); a registry keeps them for the clean stop.
 * Two keys, two caller classes (router.h's route classes): the lookup key
 * (--api-key-file PATH, EBSSH_API_KEY, or --api-key KEY, which is scrubbed
 * from argv at once so that ps and /proc/PID/cmdline do not show it) and
 * the ops key (--ops-api-key-file PATH or EBSSH_OPS_API_KEY). The ops key
 * is a superset: it opens every route. With a lookup key, every route the
 * router's table does not mark open (router_needs_key: all but /health and
 * Slack's signed command) requires x-api-key to match one of the keys; an
 * ops route requires the ops key (the router checks again: the request's
 * caller.key says which key matched). Refusals are API Gateway's 403
 * {"message":"Forbidden"} with x-amzn-ErrorType: ForbiddenException; an ops
 * route when no ops key is configured is 403 OpsKeyNotConfigured, so ops
 * routes are never served without one. Without a lookup key the lookups
 * are open, and then only on a loopback address unless --no-auth says so.
 * Keys are compared by SHA-256 in constant time; the access log names the
 * class that matched ("key": "ops", "lookup" or "none"), never a key. Key
 * files: the first line without its line end; empty, unreadable or
 * world-accessible files refuse to start, group-readable ones warn.
 * Request bodies are capped (413). A request's
 * headers must be complete within --header-timeout of the connection's
 * start (or of its previous request's end) and its body within
 * --body-timeout of the headers, however steadily they trickle in: a
 * janitor closes the connection otherwise (connwatch.h) and logs a JSON
 * line; --timeout is the idle timeout besides, and connections are limited
 * in number. Every answer, the fixed 403/413/500/503 ones too, carries its
 * request id in x-amzn-RequestId (API Gateway's header, which ebssh-proxy
 * quotes in its errors), and the one JSON access-log line per request on
 * stderr names the same id, never a header value. SIGTERM or SIGINT stops
 * the daemon: the waiting ops requests get 503, the running ones finish,
 * then everything is freed and the exit status is 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../aws/client.h"
#include "../../aws/http.h"
#include "../config.h"
#include "../log.h"
#include "async.h"
#include "connwatch.h"
#include "door.h"
#include "opspool.h"
#include "serve_options.h"
#include "../router/lookup_cache.h"
#include "../router/router.h"
#include "../../util/monotime.h"

#include "../../util/version.h"

#define PROG              SERVE_PROG
#define REQUEST_ID_BYTES  12
#define REQUEST_ID_HEADER "x-amzn-RequestId" /* API Gateway's, quoted by ebssh-proxy */
#define MAX_BODY          ((size_t)1 << 20)  /* request bodies; larger ones get 413 */
#define CONNECTION_MEMORY ((size_t)64 << 10) /* request line and headers per connection */

#define FORBIDDEN_BODY ROUTER_FORBIDDEN_BODY
#define OPS_OFF_BODY                                                                               \
	"{\"message\":\"The ops routes are off: ebssh-api was started without an ops key "         \
	"(--ops-api-key-file or EBSSH_OPS_API_KEY)\",\"code\":\"OpsKeyNotConfigured\"}"
#define TOO_LARGE_BODY "{\"message\":\"Request body too large\",\"code\":\"PayloadTooLarge\"}"
#define INTERNAL_BODY  "{\"message\":\"Internal server error\",\"code\":\"InternalError\"}"
#define OPS_BUSY_BODY                                                                              \
	"{\"message\":\"Too many operations in progress, try again later\",\"code\":\"OpsBusy\"}"
#define STOPPING_BODY "{\"message\":\"The server is stopping\",\"code\":\"Stopping\"}"
#define JSON_TYPE     "application/json"

/* A pool thread's router context; all of them are in the server's registry. */
struct thread_ctx {
	struct service_context rc;
	struct thread_ctx *next;
};

struct server {
	struct serve_options opt;
	pthread_mutex_t lock; /* guards contexts */
	struct thread_ctx *contexts;
	struct connwatch *watch;      /* the header and body deadlines */
	struct opspool *ops;          /* the workers of the ops routes */
	struct lookup_cache *lookups; /* every thread's, LOOKUP_CACHE_SECONDS */
};

/*
 * An ops request handed to the pool. Its connection is suspended from the
 * submission until run or cancel resumes it (their last touch); MHD then
 * calls on_request again, which answers from state and frees the job.
 */
enum job_state { JOB_QUEUED, JOB_DONE, JOB_FAILED, JOB_REFUSED, JOB_CANCELLED };

struct ops_job {
	struct opspool_job pool; /* first: the pool's link */
	struct server *srv;
	struct MHD_Connection *conn;
	struct router_request req;
	struct router_response resp;
	enum job_state state;
};

/* One request in progress (MHD's per-request pointer). */
struct exchange {
	struct timespec start;
	struct buf body;
	int too_large;
	char request_id[2 * REQUEST_ID_BYTES + 1]; /* every answer's x-amzn-RequestId */
	struct ops_job *job;                       /* an ops request, until answered */
	enum router_key_match key;                 /* which key x-api-key matched */
};

static _Thread_local struct thread_ctx *tls_ctx;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* This thread's context, created and registered on first use; NULL when out of memory. */
static struct service_context *thread_context(struct server *srv)
{
	struct thread_ctx *t = tls_ctx;

	if (t)
		return &t->rc;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->rc.aws_get = door_aws_new;
	t->rc.run_async = async_run; /* the Slack log search's job */
	t->rc.lookup_cache = srv->lookups;
	pthread_mutex_lock(&srv->lock);
	t->next = srv->contexts;
	srv->contexts = t;
	pthread_mutex_unlock(&srv->lock);
	tls_ctx = t;
	return &t->rc;
}

/* After MHD_stop_daemon joined every thread. */
static void free_contexts(struct server *srv)
{
	struct thread_ctx *t = srv->contexts, *next;

	for (; t; t = next) {
		next = t->next;
		aws_client_free(t->rc.aws);
		free(t);
	}
	srv->contexts = NULL;
}

static void client_address(struct MHD_Connection *conn, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, n, "-");
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		          (socklen_t)n);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		          out, (socklen_t)n);
}

/* The decoded path may hold any byte: the log keeps printable ASCII. */
static void printable(char *dst, size_t n, const char *src)
{
	size_t i;

	for (i = 0; i < n - 1 && src[i]; i++)
		dst[i] = (char)(src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?');
	dst[i] = '\0';
}

/* One access-log line, written with one write(2) so that threads do not interleave. */
static const char *key_name(enum router_key_match k)
{
	return k == ROUTER_KEY_OPS ? "ops" : k == ROUTER_KEY_LOOKUP ? "lookup" : "none";
}

static void access_log(struct MHD_Connection *conn, const char *method, const char *path,
                       int status, size_t bytes, const struct exchange *x, const char *route)
{
	char remote[INET6_ADDRSTRLEN] = "-";
	char clean_path[512], clean_method[32];
	char when[32];
	struct timespec now;
	struct tm tm;
	json_t *line;

	printable(clean_path, sizeof(clean_path), path);
	printable(clean_method, sizeof(clean_method), method);
	client_address(conn, remote, sizeof(remote));
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	line = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:f, s:s?, s:s?, s:s}", "time", when,
	                 "remote", remote, "method", clean_method, "path", clean_path, "status",
	                 status, "bytes", (json_int_t)bytes, "duration_ms",
	                 monotime_elapsed_ms(&x->start), "route", route, "request_id",
	                 x->request_id, "key", key_name(x->key));
	log_json_line(line); /* one write(2): threads do not interleave */
}

/* Queues a fixed answer (403, 413, 500, 503); retry_after: with Retry-After: 1. */
static enum MHD_Result answer_static(struct MHD_Connection *conn, const char *method,
                                     const char *path, const struct exchange *x, int status,
                                     const char *body, const char *error_type, int retry_after)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ok;

	if (!r)
		return MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE) != MHD_YES ||
	    MHD_add_response_header(r, REQUEST_ID_HEADER, x->request_id) != MHD_YES ||
	    (error_type && MHD_add_response_header(r, "x-amzn-ErrorType", error_type) != MHD_YES) ||
	    (retry_after &&
	     MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1") != MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ok = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	access_log(conn, method, path, status, strlen(body), x, NULL);
	return ok;
}

static enum MHD_Result add_pair(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
	struct router_request *req = cls;
	int rc;

	if (kind == MHD_GET_ARGUMENT_KIND)
		rc = router_pair_add(&req->query, &req->n_query, key, value ? value : "");
	else
		rc = router_pair_add(&req->headers, &req->n_headers, key, value ? value : "");
	return rc ? MHD_NO : MHD_YES;
}

/* A fresh request id: 24 hex digits of OpenSSL's generator. */
static void new_request_id(char id[2 * REQUEST_ID_BYTES + 1])
{
	unsigned char raw[REQUEST_ID_BYTES];
	size_t i;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		memset(raw, 0, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
}

static int fill_request(struct MHD_Connection *conn, const char *method, const char *url,
                        struct exchange *x, struct router_request *req)
{
	int n;

	char remote[INET6_ADDRSTRLEN] = "-";

	req->method = strdup(method);
	req->path = strdup(url);
	req->request_id = strdup(x->request_id);
	req->caller.key = x->key; /* the router authorizes ops routes by it */
	client_address(conn, remote, sizeof(remote));
	req->caller.source_ip = strdup(remote);
	if (!req->method || !req->path || !req->request_id || !req->caller.source_ip)
		return ERR_NOMEM;
	n = MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_pair, req);
	if (n < 0 || (size_t)n != req->n_query)
		return ERR_NOMEM;
	n = MHD_get_connection_values(conn, MHD_HEADER_KIND, add_pair, req);
	if (n < 0 || (size_t)n != req->n_headers)
		return ERR_NOMEM;
	if (x->body.len) {
		req->body_len = x->body.len;
		req->body = buf_take(&x->body);
		if (!req->body)
			return ERR_NOMEM;
	}
	return 0;
}

/* Queues the router's answer resp (its body taken) with the request id. */
static enum MHD_Result send_routed(struct MHD_Connection *conn, const char *method, const char *url,
                                   const struct exchange *x, struct router_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ok;
	size_t len = resp->body.len, i;
	char *data = NULL;

	if (len) {
		data = buf_take(&resp->body);
		if (!data)
			return answer_static(conn, method, url, x, MHD_HTTP_INTERNAL_SERVER_ERROR,
			                     INTERNAL_BODY, NULL, 0);
	}
	r = MHD_create_response_from_buffer(len, data,
	                                    data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(data);
		return MHD_NO;
	}
	ok = MHD_add_response_header(r, REQUEST_ID_HEADER, x->request_id);
	if (ok == MHD_YES && resp->content_type)
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	for (i = 0; ok == MHD_YES && i < resp->n_headers; i++)
		ok = MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
	if (ok == MHD_YES)
		ok = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	if (ok == MHD_YES)
		access_log(conn, method, url, resp->status, len, x, resp->route);
	return ok;
}

/* router_handle with the request's id in this thread's log context, so that
 * the lines the routes and workflows write (lambda/log.h) carry the id the
 * client got in x-amzn-RequestId; a Slack job inherits it (async.c). */
static int route_logged(struct service_context *ctx, const struct router_request *req,
                        struct router_response *resp)
{
	int rc;

	log_context_set(req->request_id, NULL, NULL);
	rc = router_handle(ctx, req, resp);
	log_context_clear();
	return rc;
}

/* A lookup-class request, answered on this polling thread. */
static enum MHD_Result answer_router(struct server *srv, struct MHD_Connection *conn,
                                     const char *method, const char *url, struct exchange *x)
{
	struct router_request req;
	struct router_response resp;
	struct service_context *ctx = thread_context(srv);
	enum MHD_Result ok;

	router_request_init(&req);
	router_response_init(&resp);
	if (!ctx || fill_request(conn, method, url, x, &req) || route_logged(ctx, &req, &resp))
		ok = answer_static(conn, method, url, x, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                   INTERNAL_BODY, NULL, 0);
	else
		ok = send_routed(conn, method, url, x, &resp);
	router_response_free(&resp);
	router_request_free(&req);
	return ok;
}

static void job_free(struct ops_job *job)
{
	if (!job)
		return;
	router_response_free(&job->resp);
	router_request_free(&job->req);
	free(job);
}

/* On an ops worker: the route, then the connection back to its polling thread. */
static void job_run(struct opspool_job *pj)
{
	struct ops_job *job = (struct ops_job *)(void *)pj;
	struct service_context *ctx = thread_context(job->srv);

	job->state = ctx && route_logged(ctx, &job->req, &job->resp) == 0 ? JOB_DONE : JOB_FAILED;
	MHD_resume_connection(job->conn); /* the last touch: on_request answers and frees */
}

/* A job still waiting when the server stops. */
static void job_cancel(struct opspool_job *pj)
{
	struct ops_job *job = (struct ops_job *)(void *)pj;

	job->state = JOB_CANCELLED;
	MHD_resume_connection(job->conn);
}

/* An ops-class request: suspends the connection and hands the request to
 * the pool; its answer comes in answer_job once the job resumes it. */
static enum MHD_Result start_job(struct server *srv, struct MHD_Connection *conn,
                                 const char *method, const char *url, struct exchange *x)
{
	struct ops_job *job = calloc(1, sizeof(*job));

	if (!job)
		return answer_static(conn, method, url, x, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                     INTERNAL_BODY, NULL, 0);
	router_request_init(&job->req);
	router_response_init(&job->resp);
	if (fill_request(conn, method, url, x, &job->req)) {
		job_free(job);
		return answer_static(conn, method, url, x, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                     INTERNAL_BODY, NULL, 0);
	}
	job->srv = srv;
	job->conn = conn;
	job->state = JOB_QUEUED;
	job->pool.run = job_run;
	job->pool.cancel = job_cancel;
	x->job = job;
	/* Suspended before the pool may resume it; a refusal resumes it at once. */
	MHD_suspend_connection(conn);
	if (opspool_submit(srv->ops, &job->pool) != 0) {
		job->state = JOB_REFUSED;
		MHD_resume_connection(conn);
	}
	return MHD_YES;
}

/* The call after a job resumed the connection: its answer. */
static enum MHD_Result answer_job(struct MHD_Connection *conn, const char *method, const char *url,
                                  struct exchange *x)
{
	struct ops_job *job = x->job;
	enum MHD_Result ok;

	switch (job->state) {
	case JOB_DONE:
		ok = send_routed(conn, method, url, x, &job->resp);
		break;
	case JOB_REFUSED:
		ok = answer_static(conn, method, url, x, MHD_HTTP_SERVICE_UNAVAILABLE,
		                   OPS_BUSY_BODY, NULL, 1);
		break;
	case JOB_CANCELLED:
		ok = answer_static(conn, method, url, x, MHD_HTTP_SERVICE_UNAVAILABLE,
		                   STOPPING_BODY, NULL, 1);
		break;
	default:
		ok = answer_static(conn, method, url, x, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                   INTERNAL_BODY, NULL, 0);
		break;
	}
	x->job = NULL;
	job_free(job);
	return ok;
}

/* The connection's watch (connwatch), NULL when it has none. */
static struct connwatch_conn *watched(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Which key x-api-key matches: SHA-256 of both sides, compared in constant
 * time, both keys compared whatever the first answered. */
static enum router_key_match key_match(const struct serve_options *opt, struct MHD_Connection *conn)
{
	const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-key");
	unsigned char sha[SHA256_DIGEST_LENGTH];
	int ops, lookup;

	if (!key)
		return ROUTER_KEY_NONE;
	SHA256((const unsigned char *)key, strlen(key), sha);
	ops = CRYPTO_memcmp(sha, opt->ops_key_sha, sizeof(sha)) == 0;
	lookup = CRYPTO_memcmp(sha, opt->api_key_sha, sizeof(sha)) == 0;
	if (opt->ops_key_set && ops)
		return ROUTER_KEY_OPS;
	if (opt->api_key_set && lookup)
		return ROUTER_KEY_LOOKUP;
	return ROUTER_KEY_NONE;
}

/*
 * The door's check on the headers: NULL when the request may go on, else
 * the 403 body to answer. Open paths pass; an ops route needs the ops key
 * (or, with none configured, is off); any other keyed path needs a key
 * when a lookup key is configured.
 */
static const char *refusal(const struct serve_options *opt, const char *method, const char *url,
                           enum router_key_match key)
{
	if (!router_needs_key(url))
		return NULL;
	if (router_class_of(method, url) == ROUTER_OPS) {
		if (!opt->ops_key_set)
			return OPS_OFF_BODY;
		return key == ROUTER_KEY_OPS ? NULL : FORBIDDEN_BODY;
	}
	if (opt->api_key_set && key == ROUTER_KEY_NONE)
		return FORBIDDEN_BODY;
	return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct server *srv = cls;
	struct exchange *x = *con_cls;
	const char *length, *forbidden;

	(void)version;
	if (!x) {
		/* First call: only the headers have arrived. */
		x = calloc(1, sizeof(*x));
		if (!x)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &x->start);
		buf_init(&x->body, MAX_BODY);
		new_request_id(x->request_id);
		*con_cls = x;
		connwatch_headers_done(srv->watch, watched(conn));
		/* The route table says which paths are open (/health, and Slack's
		 * command, which Slack signs instead) and which are ops routes. */
		x->key = key_match(&srv->opt, conn);
		if ((forbidden = refusal(&srv->opt, method, url, x->key)) != NULL) {
			connwatch_body_done(srv->watch, watched(conn));
			return answer_static(conn, method, url, x, MHD_HTTP_FORBIDDEN, forbidden,
			                     "ForbiddenException", 0);
		}
		length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (length && strtoull(length, NULL, 10) > MAX_BODY) {
			connwatch_body_done(srv->watch, watched(conn));
			return answer_static(conn, method, url, x, MHD_HTTP_CONTENT_TOO_LARGE,
			                     TOO_LARGE_BODY, NULL, 0);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* A chunked body past the cap: read on, answer 413 at the end. */
		if (!x->too_large && buf_append(&x->body, upload_data, *upload_data_size))
			x->too_large = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (x->job) /* resumed by the ops pool */
		return answer_job(conn, method, url, x);
	/* The whole request is in: no more deadline but the idle timeout. */
	connwatch_body_done(srv->watch, watched(conn));
	if (x->too_large)
		return answer_static(conn, method, url, x, MHD_HTTP_CONTENT_TOO_LARGE,
		                     TOO_LARGE_BODY, NULL, 0);
	if (router_class_of(method, url) == ROUTER_OPS)
		return start_job(srv, conn, method, url, x);
	return answer_router(srv, conn, method, url, x);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
	struct server *srv = cls;
	struct exchange *x = *con_cls;

	(void)why;
	connwatch_request_done(srv->watch, watched(conn));
	if (!x)
		return;
	job_free(x->job); /* an ops answer that could not be sent */
	buf_free(&x->body);
	free(x);
	*con_cls = NULL;
}

/* Every connection is watched from its start (connwatch); one that cannot
 * be (out of memory) is refused: shut down, so that MHD closes it. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	struct server *srv = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		char remote[INET6_ADDRSTRLEN] = "-";

		if (!ci)
			return;
		client_address(conn, remote, sizeof(remote));
		*socket_context = connwatch_add(srv->watch, ci->connect_fd, remote);
		if (!*socket_context)
			shutdown(ci->connect_fd, SHUT_RDWR);
		return;
	}
	/* MHD_CONNECTION_NOTIFY_CLOSED, before MHD closes the socket */
	connwatch_remove(srv->watch, *socket_context);
	*socket_context = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	fprintf(stderr, PROG ": libmicrohttpd: %s\n", line);
}

int main(int argc, char **argv)
{
	struct server srv;
	struct MHD_Daemon *d;
	struct aws_client *probe;
	const union MHD_DaemonInfo *info;
	unsigned flags;
	sigset_t stop;
	struct err e;
	int sig = 0, rc;
	char host[INET6_ADDRSTRLEN] = "?";

	memset(&srv, 0, sizeof(srv));
	err_clear(&e);
	rc = serve_options_parse(argc, argv, &srv.opt, &e);
	if (rc == SERVE_OPTIONS_DONE)
		return 0;
	if (rc)
		die("%s", e.message);
	pthread_mutex_init(&srv.lock, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The daemon's threads inherit this mask: only sigwait below sees the signals. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	err_clear(&e);
	/* The configuration once, checked, before any thread starts. */
	if (service_config_init(&e))
		die("%s", e.message);
	if (http_global_init(&e))
		die("%s", e.message);
	/* A missing region is a start-up error, not a failure of every request. */
	probe = aws_client_new(&e);
	if (!probe) {
		http_global_cleanup();
		die("%s", e.message);
	}
	aws_client_free(probe);
	srv.lookups = door_lookup_cache_new(&e);
	if (!srv.lookups) {
		http_global_cleanup();
		die("%s", e.message);
	}
	srv.watch = connwatch_new(srv.opt.header_s, srv.opt.body_s, &e);
	if (srv.watch)
		srv.ops = opspool_new(srv.opt.ops_threads, srv.opt.ops_queue, &e);
	if (!srv.ops) {
		connwatch_free(srv.watch);
		lookup_cache_free(srv.lookups);
		http_global_cleanup();
		die("%s", e.message);
	}

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
	        MHD_ALLOW_SUSPEND_RESUME;
	if (srv.opt.addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &srv, MHD_OPTION_EXTERNAL_LOGGER,
	                     on_mhd_log, NULL, /* must come first */
	                     MHD_OPTION_SOCK_ADDR, &srv.opt.addr, MHD_OPTION_THREAD_POOL_SIZE,
	                     srv.opt.threads, MHD_OPTION_CONNECTION_TIMEOUT, srv.opt.timeout_s,
	                     MHD_OPTION_CONNECTION_LIMIT, srv.opt.max_connections,
	                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
	                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
	                     MHD_OPTION_NOTIFY_CONNECTION, on_connection, &srv, MHD_OPTION_END);
	if (!d) {
		opspool_free(srv.ops);
		connwatch_free(srv.watch);
		lookup_cache_free(srv.lookups);
		http_global_cleanup();
		die("cannot listen on %s: %s", srv.opt.listen,
		    errno ? strerror(errno) : "libmicrohttpd failed to start");
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (srv.opt.addr.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&srv.opt.addr)->sin6_addr, host,
		          sizeof(host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&srv.opt.addr)->sin_addr, host,
		          sizeof(host));
	fprintf(stderr, PROG ": listening on %s%s%s:%u with %u threads and %u ops threads%s%s\n",
	        srv.opt.addr.ss_family == AF_INET6 ? "[" : "", host,
	        srv.opt.addr.ss_family == AF_INET6 ? "]" : "", info ? (unsigned)info->port : 0u,
	        srv.opt.threads, srv.opt.ops_threads,
	        srv.opt.api_key_set ? ", lookup key required"
	        : srv.opt.no_auth   ? ", lookups open (--no-auth)"
	                            : ", lookups open (loopback)",
	        srv.opt.ops_key_set ? ", ops key required" : ", ops routes off (no ops key)");

	while (sigwait(&stop, &sig) != 0)
		;
	fprintf(stderr, PROG ": %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	/* The ops requests that run finish and every suspended connection is
	 * resumed (MHD must have none at its stop); lookups go on meanwhile. */
	opspool_free(srv.ops);
	MHD_stop_daemon(d);
	connwatch_free(srv.watch); /* after MHD's last NOTIFY_CLOSED */
	if (async_drain(30000) > 0)
		fprintf(stderr, PROG ": stopping with jobs still running\n");
	free_contexts(&srv);
	lookup_cache_free(srv.lookups);
	pthread_mutex_destroy(&srv.lock);
	http_global_cleanup();
	return 0;
}
