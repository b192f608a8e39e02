/* client: one signed AWS API call with standard-mode retries; see client.h. */
#include "client.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "credentials.h"
#include "endpoint.h"
#include "errors.h"
#include "http.h"
#include "sigv4.h"
#include "../util/env.h"
#include "../util/monotime.h"
#include "../util/version.h"

#define MAX_ATTEMPTS               3
#define DEFAULT_TIMEOUT_MS         7000L /* per attempt: 3 attempts fit API Gateway's 29 s */
#define DEFAULT_CONNECT_TIMEOUT_MS 2000L
#define DEFAULT_RETRY_BASE_MS      1000L /* botocore: random() * 2^(attempt-1) seconds */
#define MAX_BACKOFF_MS             20000L
#define TOTAL_BUDGET_MS            25000L /* no retry starts past this since the first try */
#define RETRY_QUOTA                500    /* standard mode's token bucket */
#define RETRY_COST                 5
#define TIMEOUT_RETRY_COST         10
#define MAX_EXTRA_HEADERS          8

struct aws_client {
	struct http_client *http;
	struct credentials_provider *creds;
	char *region;
	long timeout_ms;
	long connect_timeout_ms;
	long retry_base_ms;
	int retry_tokens;
	uint64_t rng;
};

struct aws_client *aws_client_new(struct err *e)
{
	struct aws_client *c = calloc(1, sizeof(*c));

	if (!c) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (endpoint_region(&c->region, e) != 0)
		goto fail;
	c->http = http_client_new(e);
	if (!c->http)
		goto fail;
	c->creds = credentials_provider_new(c->http, e);
	if (!c->creds)
		goto fail;
	c->timeout_ms = env_ms("EBSSH_AWS_TIMEOUT_MS", DEFAULT_TIMEOUT_MS);
	c->connect_timeout_ms = env_ms("EBSSH_AWS_CONNECT_TIMEOUT_MS", DEFAULT_CONNECT_TIMEOUT_MS);
	c->retry_base_ms = env_ms("EBSSH_AWS_RETRY_BASE_MS", DEFAULT_RETRY_BASE_MS);
	c->retry_tokens = RETRY_QUOTA;
	if (getrandom(&c->rng, sizeof(c->rng), 0) != (ssize_t)sizeof(c->rng))
		c->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	c->rng |= 1;
	return c;
fail:
	aws_client_free(c);
	return NULL;
}

void aws_client_free(struct aws_client *c)
{
	if (!c)
		return;
	credentials_provider_free(c->creds);
	http_client_free(c->http);
	free(c->region);
	free(c);
}

const char *aws_client_region(const struct aws_client *c)
{
	return c->region;
}

struct http_client *aws_client_http(struct aws_client *c)
{
	return c->http;
}

/* A uniform double in [0, 1) from xorshift64*. */
static double next_random(struct aws_client *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return (double)((c->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static long backoff_ms(struct aws_client *c, int attempt)
{
	double cap = (double)c->retry_base_ms * (double)(1L << (attempt - 1));

	if (cap > MAX_BACKOFF_MS)
		cap = MAX_BACKOFF_MS;
	return (long)(next_random(c) * cap);
}

/* The URL and signed headers of one attempt. */
struct prepared {
	char *base; /* endpoint without trailing slash */
	char *host; /* Host header value */
	struct buf url;
};

static void prepared_free(struct prepared *p)
{
	free(p->base);
	free(p->host);
	buf_free(&p->url);
}

static int prepare(struct aws_client *c, const struct aws_call *call, struct prepared *p,
                   struct err *e)
{
	int rc;

	rc = endpoint_url(call->endpoint_id, call->endpoint_prefix, c->region, &p->base, e);
	if (!rc)
		rc = endpoint_host_header(p->base, &p->host, e);
	if (rc)
		return rc;
	buf_init(&p->url, (size_t)16 << 10);
	rc = buf_appendf(&p->url, "%s%s", p->base, call->path ? call->path : "/");
	if (!rc && call->query && *call->query)
		rc = buf_appendf(&p->url, "?%s", call->query);
	if (rc)
		return err_set(e, rc, "request URL too long");
	return 0;
}

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The caller's sink, and whether it has had a byte (then no retry). */
struct sink_guard {
	const struct aws_call *call;
	int fed;
};

static int guarded_sink(void *ctx, const struct http_response *resp, const void *data, size_t len,
                        struct err *e)
{
	struct sink_guard *g = ctx;

	g->fed = 1;
	return g->call->body_sink(g->call->sink_ctx, resp, data, len, e);
}

/* Signs and sends one attempt. Returns http_send's result; resp filled on 0. */
static int attempt_once(struct aws_client *c, const struct aws_call *call, const struct prepared *p,
                        struct http_response *resp, struct sink_guard *guard, struct err *e)
{
	struct sigv4_header sh[5 + MAX_EXTRA_HEADERS];
	struct http_header hh[9 + MAX_EXTRA_HEADERS];
	int is_s3 = strcmp(call->service, "s3") == 0;
	const char *trace_id = getenv("_X_AMZN_TRACE_ID"); /* set by the Lambda runtime */
	const struct aws_credentials *creds;
	struct sigv4_result sig = {{0}, NULL};
	struct sigv4_request sreq;
	struct http_request req;
	size_t ns = 0, nh = 0, i;
	int rc;

	rc = credentials_get(c->creds, &creds, e);
	if (rc)
		return rc;
	sh[ns++] = (struct sigv4_header){"Host", p->host};
	if (call->content_type)
		sh[ns++] = (struct sigv4_header){"Content-Type", call->content_type};
	if (call->target)
		sh[ns++] = (struct sigv4_header){"X-Amz-Target", call->target};
	if (is_s3 && call->body_len == 0)
		sh[ns++] = (struct sigv4_header){"x-amz-content-sha256", EMPTY_SHA256};
	for (i = 0; i < call->n_extra_headers && i < MAX_EXTRA_HEADERS; i++)
		sh[ns++] = (struct sigv4_header){call->extra_headers[i].name,
		                                 call->extra_headers[i].value};
	sreq = (struct sigv4_request){
	    .method = call->method,
	    .path = call->path ? call->path : "/",
	    .query = call->query,
	    .headers = sh,
	    .n_headers = ns,
	    .body = call->body,
	    .body_len = call->body_len,
	    .region = c->region,
	    .service = call->service,
	    .now = time(NULL),
	    .no_normalize = is_s3,
	};
	rc = sigv4_sign(&sreq, creds, &sig, e);
	if (rc)
		return rc;
	for (i = 0; i < ns; i++)
		hh[nh++] = (struct http_header){sh[i].name, sh[i].value};
	hh[nh++] = (struct http_header){"X-Amz-Date", sig.amz_date};
	if (creds->session_token)
		hh[nh++] = (struct http_header){"X-Amz-Security-Token", creds->session_token};
	hh[nh++] = (struct http_header){"Authorization", sig.authorization};
	hh[nh++] = (struct http_header){"User-Agent", "ebssh/" EBSSH_VERSION};
	if (trace_id)
		hh[nh++] = (struct http_header){"X-Amzn-Trace-Id", trace_id};
	req = (struct http_request){
	    .method = call->method,
	    .url = p->url.data,
	    .headers = hh,
	    .n_headers = nh,
	    .body = call->body,
	    .body_len = call->body_len,
	    .connect_timeout_ms = c->connect_timeout_ms,
	    .timeout_ms = call->timeout_ms > 0 ? call->timeout_ms : c->timeout_ms,
	    .max_response = call->max_response,
	    .body_sink = call->body_sink ? guarded_sink : NULL,
	    .sink_ctx = guard,
	};
	rc = http_send(c->http, &req, resp, e);
	sigv4_result_free(&sig);
	return rc;
}

/* Turns a non-2xx answer into err; returns 1 when it may be retried. */
static int classify_answer(const struct aws_call *call, const struct http_response *resp,
                           struct err *e)
{
	int is_json = call->protocol != AWS_PROTOCOL_QUERY;

	errors_parse(is_json, resp->status, resp->body.data, resp->body.len,
	             http_response_header(resp, "x-amzn-ErrorType"),
	             http_response_header(resp, "x-amzn-RequestId"), e);
	if (errors_is_throttling(e->aws_code, resp->status)) {
		e->code = ERR_THROTTLED;
		return 1;
	}
	return resp->status >= 500;
}

int aws_client_call(struct aws_client *c, const struct aws_call *call, struct buf *body,
                    struct err *e)
{
	struct prepared p = {NULL, NULL, {NULL, 0, 0, 0}};
	struct http_response resp;
	struct err attempt_err;
	long long started = monotime_ms();
	long attempt_ms = call->timeout_ms > 0 ? call->timeout_ms : c->timeout_ms;
	long budget_ms = call->budget_ms > 0 ? call->budget_ms : TOTAL_BUDGET_MS;
	struct sink_guard guard = {call, 0};
	int attempt, rc, retryable, cost;

	if (call->n_extra_headers > MAX_EXTRA_HEADERS)
		return err_set(e, ERR_INTERNAL, "too many extra headers");
	rc = prepare(c, call, &p, e);
	if (rc) {
		prepared_free(&p);
		return rc;
	}
	http_response_init(&resp);
	for (attempt = 1;; attempt++) {
		err_clear(&attempt_err);
		rc = attempt_once(c, call, &p, &resp, &guard, &attempt_err);
		if (rc == 0 && resp.status >= 200 && resp.status < 300) {
			if (attempt > 1)
				c->retry_tokens += RETRY_COST;
			else if (c->retry_tokens < RETRY_QUOTA)
				c->retry_tokens++;
			if (c->retry_tokens > RETRY_QUOTA)
				c->retry_tokens = RETRY_QUOTA;
			if (call->answer_header && call->answer_header_value) {
				const char *v = http_response_header(&resp, call->answer_header);

				*call->answer_header_value = v ? strdup(v) : NULL;
				if (v && !*call->answer_header_value) {
					rc = err_set(e, ERR_NOMEM, "out of memory");
					break;
				}
			}
			*body = resp.body;
			buf_init(&resp.body, 0);
			if (call->answer) {
				http_response_free(call->answer);
				*call->answer = resp;
				http_response_init(&resp);
			}
			break;
		}
		if (rc == 0) {
			retryable = classify_answer(call, &resp, &attempt_err);
			rc = attempt_err.code;
		} else {
			retryable = rc == ERR_NETWORK || rc == ERR_TIMEOUT;
		}
		if (guard.fed)
			retryable = 0;
		cost = rc == ERR_TIMEOUT ? TIMEOUT_RETRY_COST : RETRY_COST;
		if (!retryable || attempt >= MAX_ATTEMPTS || c->retry_tokens < cost) {
			if (e)
				*e = attempt_err;
			if (retryable && attempt > 1)
				err_prefix(e, "after %d attempts", attempt);
			break;
		}
		c->retry_tokens -= cost;
		{
			long delay = backoff_ms(c, attempt);

			if (monotime_ms() - started + delay + attempt_ms > budget_ms) {
				if (e)
					*e = attempt_err;
				err_prefix(e, "after %d attempts (time budget spent)", attempt);
				break;
			}
			monotime_sleep_ms(delay);
		}
	}
	http_response_free(&resp);
	prepared_free(&p);
	return rc;
}
