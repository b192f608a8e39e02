/* Unit tests of lambda/router/lookup_cache: expiry on the clock it is
 * given, one fetch in flight per key with threads, the size bound, 0 = off,
 * failed fetches not kept; and the routes through the context's cache. */
#include "test.h"

#include <pthread.h>
#include <sched.h>

#include "aws/ec2.h"
#include "lambda/router/lookup_cache.h"
#include "lambda/router/router.h"
#include "lambda/service.h"

struct fake {
	pthread_mutex_t lock;
	int calls;
	int fail;                   /* the fetch fails with ERR_AWS */
	struct lookup_cache *cache; /* single flight: wait for waiters */
	size_t wait_for;            /* ... this many of them */
	const char *ip;             /* the instance's address */
};

static int fake_fetch(void *arg, struct ec2_instance_list *out, struct err *e)
{
	struct fake *f = arg;

	pthread_mutex_lock(&f->lock);
	f->calls++;
	pthread_mutex_unlock(&f->lock);
	if (f->cache)
		while (lookup_cache_waiting(f->cache, 0, "env-a") < f->wait_for)
			sched_yield();
	if (f->fail)
		return err_set(e, ERR_AWS, "RequestLimitExceeded");
	out->items = calloc(1, sizeof(struct ec2_instance));
	if (!out->items)
		return err_set(e, ERR_NOMEM, "out of memory");
	out->n = 1;
	out->items[0].instance_id = strdup("i-0123456789abcdef0");
	out->items[0].public_ip = strdup(f->ip ? f->ip : "203.0.113.1");
	return 0;
}

static int get(struct lookup_cache *c, struct fake *f, const char *name, int64_t now)
{
	struct lookup_list *l = NULL;
	struct err e;
	int rc;

	err_clear(&e);
	rc = lookup_cache_get(c, 0, name, now, fake_fetch, f, &l, &e);
	if (rc == 0)
		CHECK(l && lookup_list_items(l)->n == 1);
	else
		CHECK(!l && e.code == rc);
	lookup_list_release(l);
	return rc;
}

#define FAKE_INIT                                                                                  \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, 0, 0, NULL, 0, NULL                                     \
	}

TEST_CASE(kept_until_the_ttl)
{
	struct fake f = FAKE_INIT;
	struct lookup_cache *c = lookup_cache_new(5000, 8, NULL);

	CHECK_INT(get(c, &f, "env-a", 1000), 0);
	CHECK_INT(get(c, &f, "env-a", 1000), 0);
	CHECK_INT(get(c, &f, "env-a", 5999), 0);
	CHECK_INT(f.calls, 1);
	CHECK_INT(get(c, &f, "env-a", 6000), 0); /* 5 s after the fetch started */
	CHECK_INT(f.calls, 2);
	CHECK_INT(get(c, &f, "env-a", 10999), 0);
	CHECK_INT(f.calls, 2);
	CHECK_INT(get(c, &f, "env-b", 10999), 0); /* another key, another fetch */
	CHECK_INT(f.calls, 3);
	CHECK_INT(get(c, &f, "env-a", 500), 0); /* the clock went back: refetch */
	CHECK_INT(f.calls, 4);
	lookup_cache_free(c);
}

TEST_CASE(zero_is_off)
{
	struct fake f = FAKE_INIT;
	struct lookup_cache *c = lookup_cache_new(0, 8, NULL);
	int i;

	for (i = 0; i < 5; i++)
		CHECK_INT(get(c, &f, "env-a", 1000), 0);
	CHECK_INT(f.calls, 5);
	CHECK_INT((int)lookup_cache_size(c), 0);
	lookup_cache_free(c);
	for (i = 0; i < 3; i++)
		CHECK_INT(get(NULL, &f, "env-a", 1000), 0); /* no cache at all */
	CHECK_INT(f.calls, 8);
}

TEST_CASE(a_failed_fetch_is_not_kept)
{
	struct fake f = FAKE_INIT;
	struct lookup_cache *c = lookup_cache_new(5000, 8, NULL);

	f.fail = 1;
	CHECK_INT(get(c, &f, "env-a", 1000), ERR_AWS);
	CHECK_INT(get(c, &f, "env-a", 1001), ERR_AWS);
	CHECK_INT(f.calls, 2);
	f.fail = 0;
	CHECK_INT(get(c, &f, "env-a", 1002), 0);
	CHECK_INT(get(c, &f, "env-a", 1003), 0);
	CHECK_INT(f.calls, 3);
	/* An expired list is not answered when its refetch fails. */
	f.fail = 1;
	CHECK_INT(get(c, &f, "env-a", 9000), ERR_AWS);
	CHECK_INT(f.calls, 4);
	lookup_cache_free(c);
}

TEST_CASE(bounded_least_recently_used_out)
{
	struct fake f = FAKE_INIT;
	struct lookup_cache *c = lookup_cache_new(60000, 3, NULL);
	struct lookup_list *held = NULL;
	struct err e;

	err_clear(&e);
	CHECK_INT(lookup_cache_get(c, 0, "env-a", 1000, fake_fetch, &f, &held, &e), 0);
	CHECK_INT(get(c, &f, "env-b", 1000), 0);
	CHECK_INT(get(c, &f, "env-c", 1000), 0);
	CHECK_INT(get(c, &f, "env-a", 1001), 0); /* a is the most recent now */
	CHECK_INT(f.calls, 3);
	CHECK_INT(get(c, &f, "env-d", 1002), 0); /* pushes b out */
	CHECK_INT((int)lookup_cache_size(c), 3);
	CHECK_INT(f.calls, 4);
	CHECK_INT(get(c, &f, "env-a", 1003), 0);
	CHECK_INT(get(c, &f, "env-c", 1003), 0);
	CHECK_INT(get(c, &f, "env-d", 1003), 0);
	CHECK_INT(f.calls, 4);
	CHECK_INT(get(c, &f, "env-b", 1004), 0); /* b was gone: fetched again, a goes */
	CHECK_INT(f.calls, 5);
	CHECK_INT(get(c, &f, "env-a", 1005), 0);
	CHECK_INT(f.calls, 6);
	lookup_cache_free(c);
	/* A list handed out outlives the cache. */
	CHECK_STR(lookup_list_items(held)->items[0].public_ip, "203.0.113.1");
	lookup_list_release(held);
}

struct worker {
	pthread_t t;
	struct lookup_cache *c;
	struct fake *f;
	struct lookup_list *got;
	int rc;
	struct err e;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	err_clear(&w->e);
	w->rc = lookup_cache_get(w->c, 0, "env-a", 1000, fake_fetch, w->f, &w->got, &w->e);
	return NULL;
}

#define N_THREADS 8

/* N threads ask at once; the fetch ends only once the others wait for it. */
static void single_flight(int fail)
{
	struct fake f = FAKE_INIT;
	struct lookup_cache *c = lookup_cache_new(5000, 8, NULL);
	struct worker w[N_THREADS];
	int i;

	f.cache = c;
	f.wait_for = N_THREADS - 1;
	f.fail = fail;
	for (i = 0; i < N_THREADS; i++) {
		w[i].c = c;
		w[i].f = &f;
		w[i].got = NULL;
		CHECK_INT(pthread_create(&w[i].t, NULL, work, &w[i]), 0);
	}
	for (i = 0; i < N_THREADS; i++)
		pthread_join(w[i].t, NULL);
	CHECK_INT(f.calls, 1);
	for (i = 0; i < N_THREADS; i++) {
		CHECK_INT(w[i].rc, fail ? ERR_AWS : 0);
		if (fail) {
			CHECK(w[i].got == NULL);
			CHECK_STR(w[i].e.message, "RequestLimitExceeded");
		} else {
			CHECK(w[i].got == w[0].got); /* the one list, shared */
		}
		lookup_list_release(w[i].got);
	}
	f.cache = NULL;
	CHECK_INT(get(c, &f, "env-a", 1001), fail ? ERR_AWS : 0);
	CHECK_INT(f.calls, fail ? 2 : 1);
	lookup_cache_free(c);
}

TEST_CASE(one_fetch_in_flight_per_key)
{
	single_flight(0);
}

TEST_CASE(waiters_share_a_failure)
{
	single_flight(1);
}

/* ---- the routes through service_context.lookup_cache ---- */

static int64_t now_ms;
static struct fake route_fake = FAKE_INIT;

static int64_t fake_clock(struct service_context *ctx)
{
	(void)ctx;
	return now_ms;
}

static int seam_describe(struct service_context *ctx, const struct ec2_filter *filters,
                         size_t n_filters, struct ec2_instance_list *out, struct err *e)
{
	int rc;

	(void)ctx;
	(void)filters;
	(void)n_filters;
	rc = fake_fetch(&route_fake, out, e);
	if (rc == 0) {
		out->items[0].state = strdup("running");
		out->items[0].tags = calloc(1, sizeof(struct ec2_tag));
		out->items[0].n_tags = 1;
		out->items[0].tags[0].key = strdup("elasticbeanstalk:environment-name");
		out->items[0].tags[0].value = strdup("env-a");
	}
	return rc;
}

/* GET path through the router; the status, and the body's start in body. */
static int route_get(struct service_context *ctx, const char *path, char *body, size_t cap)
{
	struct router_request req;
	struct router_response resp;
	size_t n;
	int status;

	router_request_init(&req);
	router_response_init(&resp);
	req.method = strdup("GET");
	req.path = strdup(path);
	CHECK_INT(router_handle(ctx, &req, &resp), 0);
	status = resp.status;
	n = resp.body.len < cap - 1 ? resp.body.len : cap - 1;
	memcpy(body, resp.body.data, n);
	body[n] = 0;
	router_request_free(&req);
	router_response_free(&resp);
	return status;
}

TEST_CASE(routes_use_the_context_cache)
{
	struct service_context ctx;
	char body[512];

	memset(&ctx, 0, sizeof(ctx));
	ctx.describe_instances = seam_describe;
	ctx.clock_ms = fake_clock;
	ctx.lookup_cache = lookup_cache_new(5000, 8, NULL);
	now_ms = 1000;
	route_fake.ip = "203.0.113.1";
	CHECK_INT(route_get(&ctx, "/eb/env-a/ip", body, sizeof(body)), 200);
	route_fake.ip = "203.0.113.2"; /* EC2 changed; the kept list answers */
	CHECK_INT(route_get(&ctx, "/eb/env-a/ip/1", body, sizeof(body)), 200);
	CHECK_STR(body, "203.0.113.1\n");
	CHECK_INT(route_get(&ctx, "/eb/env-a/instances", body, sizeof(body)), 200);
	CHECK_INT(route_fake.calls, 1);
	now_ms = 6000; /* 5 s later: fetched again */
	CHECK_INT(route_get(&ctx, "/eb/env-a/ip", body, sizeof(body)), 200);
	CHECK_INT(route_fake.calls, 2);
	CHECK_STR(body, "203.0.113.2\n");
	lookup_cache_free(ctx.lookup_cache);
	ctx.lookup_cache = NULL; /* none: every lookup fetches */
	CHECK_INT(route_get(&ctx, "/eb/env-a/ip", body, sizeof(body)), 200);
	CHECK_INT(route_get(&ctx, "/eb/env-a/ip", body, sizeof(body)), 200);
	CHECK_INT(route_fake.calls, 4);
}

int main(void)
{
	RUN(kept_until_the_ttl);
	RUN(zero_is_off);
	RUN(a_failed_fetch_is_not_kept);
	RUN(bounded_least_recently_used_out);
	RUN(one_fetch_in_flight_per_key);
	RUN(waiters_share_a_failure);
	RUN(routes_use_the_context_cache);
	return TEST_DONE();
}
