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
#include <getopt.h>
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
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../aws/client.h"
#include "../../aws/http.h"
#include "../../util/file.h"
#include "../config.h"
#include "../log.h"
#include "async.h"
#include "connwatch.h"
#include "door.h"
#include "opspool.h"
#include "../router/lookup_cache.h"
#include "../router/router.h"
#include "../../util/monotime.h"

#include "../../util/version.h"

#define PROG                "ebssh-api"
#define DEFAULT_LISTEN      "127.0.0.1:8080"
#define DEFAULT_THREADS     4
#define MAX_THREADS         256
#define DEFAULT_TIMEOUT_S   30
#define DEFAULT_CONNECTIONS 512
#define DEFAULT_HEADER_S    10 /* the complete request headers, from the connection's start */
#define DEFAULT_BODY_S      30 /* the complete body, from the headers */
#define DEFAULT_OPS_THREADS 2
#define MAX_OPS_THREADS     64
#define DEFAULT_OPS_QUEUE   8 /* ops requests waiting for a worker; more get 503 */
#define MAX_OPS_QUEUE       4096
#define REQUEST_ID_BYTES    12
#define REQUEST_ID_HEADER   "x-amzn-RequestId" /* API Gateway's, quoted by ebssh-proxy */
#define MAX_BODY            ((size_t)1 << 20)  /* request bodies; larger ones get 413 */
#define CONNECTION_MEMORY   ((size_t)64 << 10) /* request line and headers per connection */

#define FORBIDDEN_BODY ROUTER_FORBIDDEN_BODY
#define OPS_OFF_BODY                                                                               \
	"{\"message\":\"The ops routes are off: ebssh-api was started without an ops key "         \
	"(--ops-api-key-file or EBSSH_OPS_API_KEY)\",\"code\":\"OpsKeyNotConfigured\"}"
#define MAX_KEY_FILE   4096
#define TOO_LARGE_BODY "{\"message\":\"Request body too large\",\"code\":\"PayloadTooLarge\"}"
#define INTERNAL_BODY  "{\"message\":\"Internal server error\",\"code\":\"InternalError\"}"
#define OPS_BUSY_BODY                                                                              \
	"{\"message\":\"Too many operations in progress, try again later\",\"code\":\"OpsBusy\"}"
#define STOPPING_BODY "{\"message\":\"The server is stopping\",\"code\":\"Stopping\"}"
#define JSON_TYPE     "application/json"

struct options {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	const char *listen;
	unsigned threads;
	unsigned timeout_s;
	unsigned max_connections;
	unsigned header_s, body_s;
	unsigned ops_threads, ops_queue;
	int api_key_set; /* the lookup key */
	unsigned char api_key_sha[SHA256_DIGEST_LENGTH];
	int ops_key_set; /* the ops key */
	unsigned char ops_key_sha[SHA256_DIGEST_LENGTH];
	int no_auth; /* --no-auth: no lookup key, beyond loopback too */
};

/* A pool thread's router context; all of them are in the server's registry. */
struct thread_ctx {
	struct service_context rc;
	struct thread_ctx *next;
};

struct server {
	struct options opt;
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
static enum router_key_match key_match(const struct options *opt, struct MHD_Connection *conn)
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
static const char *refusal(const struct options *opt, const char *method, const char *url,
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

/* "ADDR:PORT" or "[IPv6]:PORT" into opt->addr. */
static int parse_listen(const char *s, struct options *opt)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port_s;
	size_t host_len;
	char *end;
	unsigned long port;

	memset(&opt->addr, 0, sizeof(opt->addr));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -1;
		host_len = (size_t)(close - s - 1);
		if (host_len >= sizeof(host))
			return -1;
		memcpy(host, s + 1, host_len);
		port_s = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		host_len = (size_t)(colon - s);
		if (host_len >= sizeof(host))
			return -1;
		memcpy(host, s, host_len);
		port_s = colon + 1;
	}
	host[host_len] = '\0';
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (!*port_s || *end || errno || port > 65535 || *port_s == '-' || *port_s == '+')
		return -1;
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&opt->addr;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -1;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((unsigned short)port);
		opt->addr_len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&opt->addr;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -1;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((unsigned short)port);
		opt->addr_len = sizeof(*a4);
	}
	return 0;
}

/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: the addresses only this
 * host reaches; 0.0.0.0 and :: (every address) are not. */
static int serve_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)sa;
		return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a6) ||
		       (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
	}
	return 0;
}

/*
 * A key file's first line, without its line end (LF or CRLF), malloc'd;
 * dies naming the option and the path when the file cannot be read, is no
 * regular file, is readable or writable by others, or its first line is
 * empty. A group-readable file is read with a warning.
 */
static char *read_key_file(const char *path, const char *option)
{
	struct err e = {0};
	struct stat st;
	size_t len = 0, line;
	char *data = NULL, *key;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		die("%s %s: %s", option, path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		die("%s %s: not a regular file", option, path);
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		close(fd);
		die("%s %s: readable or writable by others (mode %03o): chmod 600 it", option, path,
		    (unsigned)(st.st_mode & 0777));
	}
	if (st.st_mode & (S_IRGRP | S_IWGRP))
		fprintf(stderr, PROG ": warning: %s %s is group-accessible (mode %03o)\n", option,
		        path, (unsigned)(st.st_mode & 0777));
	if (file_read_capped(fd, path, MAX_KEY_FILE, &data, &len, &e) != 0) {
		close(fd);
		die("%s %s", option, e.message);
	}
	close(fd);
	line = strcspn(data, "\n");
	if (line && data[line - 1] == '\r')
		line--;
	if (line == 0 || memchr(data, '\0', line)) {
		explicit_bzero(data, len);
		free(data);
		die("%s %s: the first line is empty (or holds a NUL)", option, path);
	}
	key = strndup(data, line);
	explicit_bzero(data, len);
	free(data);
	if (!key)
		die("out of memory");
	return key;
}

static unsigned parse_count(const char *s, const char *what, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || *s == '-' || *s == '+' || v < lo || v > hi)
		die("%s must be a number from %u to %u: '%s'", what, lo, hi, s);
	return (unsigned)v;
}

/* The routes, from the router's table: "  GET  /eb/{env}/ip" a line, '*'
 * after the ones that need no API key. */
static void usage_routes(FILE *f)
{
	size_t i;

	for (i = 0; i < router_route_count(); i++) {
		const struct router_route *r = router_route_at(i);
		fprintf(f, "  %-5s %s%s%s\n", r->method, r->pattern,
		        r->access == ROUTER_OPEN ? "  *" : "",
		        r->route_class == ROUTER_OPS ? "  (ops)" : "");
	}
}

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [--listen ADDR:PORT] [--threads N] [--ops-threads N]\n"
	      "                 [--ops-queue N] [--api-key-file PATH | --no-auth]\n"
	      "                 [--ops-api-key-file PATH] [--timeout SECONDS]\n"
	      "                 [--header-timeout SECONDS] [--body-timeout SECONDS]\n"
	      "                 [--max-connections N]\n"
	      "\n"
	      "Serves the ebssh lookup routes over HTTP, with the AWS credentials and\n"
	      "region of the environment, the same way the Lambda function does\n"
	      "(* needs no key; (ops): needs the ops key, run by the ops workers):\n",
	      f);
	usage_routes(f);
	fputs("\n"
	      "  -l, --listen ADDR:PORT    address to listen on; IPv6 as [ADDR]:PORT\n"
	      "                            (default " DEFAULT_LISTEN "; port 0 picks one)\n"
	      "  -t, --threads N           threads reading requests and answering the\n"
	      "                            lookups (default 4)\n"
	      "      --ops-threads N       threads running the ops routes (default 2), so\n"
	      "                            that a backup or a log search never holds up a\n"
	      "                            lookup\n"
	      "      --ops-queue N         ops requests that may wait for an ops thread\n"
	      "                            (default 8); more get 503 OpsBusy with\n"
	      "                            Retry-After\n"
	      "      --api-key-file PATH   the lookup key: x-api-key must carry it (or the\n"
	      "                            ops key) on every route but the ones marked *;\n"
	      "                            the file's first line (default $EBSSH_API_KEY)\n"
	      "  -k, --api-key KEY         the lookup key on the command line (scrubbed\n"
	      "                            from the process's arguments at start; prefer\n"
	      "                            the file or the environment)\n"
	      "      --ops-api-key-file PATH\n"
	      "                            the ops key: the routes marked (ops) answer only\n"
	      "                            to it (403 otherwise), and it opens the lookups\n"
	      "                            too (default $EBSSH_OPS_API_KEY); without one\n"
	      "                            the ops routes are off (403)\n"
	      "      --no-auth             serve the lookups without a key on an address\n"
	      "                            beyond loopback (without it, no lookup key\n"
	      "                            means loopback only)\n"
	      "      --header-timeout SECONDS\n"
	      "                            a request's headers must be complete this long\n"
	      "                            after the connection opened or its previous\n"
	      "                            request ended, however steadily they trickle in\n"
	      "                            (default 10)\n"
	      "      --body-timeout SECONDS\n"
	      "                            and its body this long after its headers\n"
	      "                            (default 30); a connection past either is\n"
	      "                            closed\n"
	      "      --timeout SECONDS     idle connection timeout (default 30)\n"
	      "      --max-connections N   concurrent connections (default 512)\n"
	      "  -h, --help                this help\n"
	      "  -V, --version             the version\n"
	      "\n"
	      "Stops cleanly on SIGTERM or SIGINT, after the ops requests that run (waiting\n"
	      "ones get 503). One JSON access-log line per request goes to stderr, with the\n"
	      "request id every answer carries in x-amzn-RequestId; one JSON line too per\n"
	      "connection closed for being slow. The log names the key class that\n"
	      "matched (\"key\": \"ops\", \"lookup\" or \"none\"), never a key. A key on the\n"
	      "command line shows in ps until the scrub at start: use a file (mode 600)\n"
	      "or the environment.\n",
	      f);
}

static void parse_args(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"threads", required_argument, NULL, 't'},
	    {"api-key", required_argument, NULL, 'k'},
	    {"api-key-file", required_argument, NULL, 'K'},
	    {"ops-api-key-file", required_argument, NULL, 'P'},
	    {"no-auth", no_argument, NULL, 'N'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"max-connections", required_argument, NULL, 'C'},
	    {"header-timeout", required_argument, NULL, 'H'},
	    {"body-timeout", required_argument, NULL, 'B'},
	    {"ops-threads", required_argument, NULL, 'O'},
	    {"ops-queue", required_argument, NULL, 'Q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *api_key = getenv("EBSSH_API_KEY"), *ops_key = getenv("EBSSH_OPS_API_KEY");
	const char *key_file = NULL, *ops_key_file = NULL;
	char *key_arg = NULL; /* --api-key's value, a copy: argv's is scrubbed */
	char *file_key = NULL, *file_ops_key = NULL;
	int c;

	opt->listen = DEFAULT_LISTEN;
	opt->threads = DEFAULT_THREADS;
	opt->timeout_s = DEFAULT_TIMEOUT_S;
	opt->max_connections = DEFAULT_CONNECTIONS;
	opt->header_s = DEFAULT_HEADER_S;
	opt->body_s = DEFAULT_BODY_S;
	opt->ops_threads = DEFAULT_OPS_THREADS;
	opt->ops_queue = DEFAULT_OPS_QUEUE;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:t:k:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			opt->listen = optarg;
			break;
		case 't':
			opt->threads = parse_count(optarg, "--threads", 1, MAX_THREADS);
			break;
		case 'k':
			free(key_arg);
			key_arg = strdup(optarg);
			if (!key_arg)
				die("out of memory");
			/* Out of ps and /proc/PID/cmdline from now on. */
			memset(optarg, 0, strlen(optarg));
			break;
		case 'K':
			key_file = optarg;
			break;
		case 'P':
			ops_key_file = optarg;
			break;
		case 'N':
			opt->no_auth = 1;
			break;
		case 'T':
			opt->timeout_s = parse_count(optarg, "--timeout", 1, 3600);
			break;
		case 'C':
			opt->max_connections = parse_count(optarg, "--max-connections", 1, 65536);
			break;
		case 'H':
			opt->header_s = parse_count(optarg, "--header-timeout", 1, 3600);
			break;
		case 'B':
			opt->body_s = parse_count(optarg, "--body-timeout", 1, 3600);
			break;
		case 'O':
			opt->ops_threads = parse_count(optarg, "--ops-threads", 1, MAX_OPS_THREADS);
			break;
		case 'Q':
			opt->ops_queue = parse_count(optarg, "--ops-queue", 0, MAX_OPS_QUEUE);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			puts(PROG " " EBSSH_VERSION);
			http_version_print(stdout, 1);
			exit(0);
		case ':':
			die("%s needs a value (see --help)", argv[optind - 1]);
		default:
			die("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (see --help)", argv[optind]);
	if (parse_listen(opt->listen, opt))
		die("--listen wants ADDR:PORT or [IPv6]:PORT, not '%s'", opt->listen);
	if (key_arg && key_file)
		die("--api-key and --api-key-file: give the lookup key once");
	if (key_file)
		api_key = file_key = read_key_file(key_file, "--api-key-file");
	else if (key_arg)
		api_key = key_arg;
	if (ops_key_file)
		ops_key = file_ops_key = read_key_file(ops_key_file, "--ops-api-key-file");
	if (api_key && *api_key) {
		opt->api_key_set = 1;
		SHA256((const unsigned char *)api_key, strlen(api_key), opt->api_key_sha);
	}
	if (ops_key && *ops_key) {
		opt->ops_key_set = 1;
		SHA256((const unsigned char *)ops_key, strlen(ops_key), opt->ops_key_sha);
	}
	if (opt->api_key_set && opt->ops_key_set &&
	    CRYPTO_memcmp(opt->api_key_sha, opt->ops_key_sha, sizeof(opt->api_key_sha)) == 0)
		die("the lookup key and the ops key are the same: give the ops routes their own");
	if (opt->no_auth && opt->api_key_set)
		die("--no-auth and a lookup key (--api-key-file, --api-key or EBSSH_API_KEY) "
		    "contradict each other");
	if (!opt->api_key_set && !opt->no_auth &&
	    !serve_is_loopback((const struct sockaddr *)&opt->addr))
		die("refusing to listen on %s without a lookup key: give --api-key-file PATH (or "
		    "EBSSH_API_KEY), or --no-auth to serve the lookups to anyone who can reach it",
		    opt->listen);
	if (key_arg)
		OPENSSL_cleanse(key_arg, strlen(key_arg));
	if (file_key)
		OPENSSL_cleanse(file_key, strlen(file_key));
	if (file_ops_key)
		OPENSSL_cleanse(file_ops_key, strlen(file_ops_key));
	free(key_arg);
	free(file_key);
	free(file_ops_key);
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
	int sig = 0;
	char host[INET6_ADDRSTRLEN] = "?";

	memset(&srv, 0, sizeof(srv));
	parse_args(argc, argv, &srv.opt);
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
