/* lookup_cache: instance lists kept a few seconds, one fetch per key in flight; see lookup_cache.h.
 */
#include "lookup_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/ec2.h"

struct lookup_list {
	atomic_int refs;
	struct ec2_instance_list list;
};

/* One fetch in progress; its callers and waiters hold a reference each. */
struct flight {
	int refs;
	int done;
	int rc;
	struct err err;
	struct lookup_list *result; /* a reference; NULL when the fetch failed */
};

struct slot {
	int used;
	int kind;
	char *name;
	struct lookup_list *list; /* a reference; NULL until a fetch succeeded */
	int64_t fetched_ms;       /* when the fetch of list started */
	uint64_t last_use;
	struct flight *flight; /* the key's fetch in flight, or NULL */
};

struct lookup_cache {
	pthread_mutex_t lock;
	pthread_cond_t done; /* broadcast when a flight ends */
	int64_t ttl_ms;
	size_t max_keys;
	uint64_t tick;
	struct slot *slots;
};

static struct lookup_list *list_ref(struct lookup_list *l)
{
	atomic_fetch_add(&l->refs, 1);
	return l;
}

void lookup_list_release(struct lookup_list *l)
{
	if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	ec2_instance_list_free(&l->list);
	free(l);
}

const struct ec2_instance_list *lookup_list_items(const struct lookup_list *l)
{
	return &l->list;
}

struct lookup_cache *lookup_cache_new(int64_t ttl_ms, size_t max_keys, struct err *e)
{
	struct lookup_cache *c = calloc(1, sizeof(*c));

	if (c && max_keys)
		c->slots = calloc(max_keys, sizeof(struct slot));
	if (!c || !c->slots) {
		free(c);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	c->ttl_ms = ttl_ms < 0 ? 0 : ttl_ms;
	c->max_keys = max_keys;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->done, NULL);
	return c;
}

static void slot_clear(struct slot *s)
{
	free(s->name);
	lookup_list_release(s->list);
	memset(s, 0, sizeof(*s));
}

void lookup_cache_free(struct lookup_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->max_keys; i++)
		slot_clear(&c->slots[i]);
	free(c->slots);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

size_t lookup_cache_size(struct lookup_cache *c)
{
	size_t i, n = 0;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->max_keys; i++)
		n += c->slots[i].used != 0;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static struct slot *find(struct lookup_cache *c, int kind, const char *name)
{
	size_t i;

	for (i = 0; i < c->max_keys; i++)
		if (c->slots[i].used && c->slots[i].kind == kind &&
		    strcmp(c->slots[i].name, name) == 0)
			return &c->slots[i];
	return NULL;
}

size_t lookup_cache_waiting(struct lookup_cache *c, int kind, const char *name)
{
	struct slot *s;
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	s = find(c, kind, name);
	if (s && s->flight)
		n = (size_t)s->flight->refs - 1;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Runs fetch into a new list of one reference: 0, or its code with e set. */
static int fetch_list(lookup_cache_fetch_fn fetch, void *arg, struct lookup_list **out,
                      struct err *e)
{
	struct lookup_list *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (!l)
		return err_set(e, ERR_NOMEM, "out of memory");
	atomic_init(&l->refs, 1);
	rc = fetch(arg, &l->list, e);
	if (rc < 0) {
		ec2_instance_list_free(&l->list);
		free(l);
		if (e->code >= 0)
			err_set(e, rc, "the instance list's fetch failed");
		return rc;
	}
	*out = l;
	return 0;
}

/* A free slot, else the least recently used one with no flight, emptied;
 * NULL when every slot has a fetch in flight. */
static struct slot *claim(struct lookup_cache *c)
{
	struct slot *oldest = NULL;
	size_t i;

	for (i = 0; i < c->max_keys; i++) {
		struct slot *s = &c->slots[i];
		if (!s->used)
			return s;
		if (!s->flight && (!oldest || s->last_use < oldest->last_use))
			oldest = s;
	}
	if (oldest)
		slot_clear(oldest);
	return oldest;
}

static void flight_drop(struct flight *f)
{
	if (--f->refs > 0)
		return;
	lookup_list_release(f->result);
	free(f);
}

/* Waits for f's end (the lock held) and takes its result. */
static int wait_flight(struct lookup_cache *c, struct flight *f, struct lookup_list **out,
                       struct err *e)
{
	int rc;

	f->refs++;
	while (!f->done)
		pthread_cond_wait(&c->done, &c->lock);
	rc = f->rc;
	if (rc == 0)
		*out = list_ref(f->result);
	else if (e)
		*e = f->err;
	flight_drop(f);
	return rc;
}

int lookup_cache_get(struct lookup_cache *c, int kind, const char *name, int64_t now_ms,
                     lookup_cache_fetch_fn fetch, void *arg, struct lookup_list **out,
                     struct err *e)
{
	struct lookup_list *fresh;
	struct flight *f;
	struct slot *s;
	int rc;

	*out = NULL;
	if (!c || c->ttl_ms == 0)
		return fetch_list(fetch, arg, out, e);
	pthread_mutex_lock(&c->lock);
	s = find(c, kind, name);
	if (s) {
		int64_t age = now_ms - s->fetched_ms;
		s->last_use = ++c->tick;
		if (s->list && age >= 0 && age < c->ttl_ms) {
			*out = list_ref(s->list);
			pthread_mutex_unlock(&c->lock);
			return 0;
		}
		if (s->flight) {
			rc = wait_flight(c, s->flight, out, e);
			pthread_mutex_unlock(&c->lock);
			return rc;
		}
	} else {
		char *copy = strdup(name);
		s = copy ? claim(c) : NULL;
		if (!s) { /* out of memory, or every key is being fetched */
			pthread_mutex_unlock(&c->lock);
			free(copy);
			return fetch_list(fetch, arg, out, e);
		}
		s->used = 1;
		s->kind = kind;
		s->name = copy;
		s->last_use = ++c->tick;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		pthread_mutex_unlock(&c->lock);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	f->refs = 1;
	s->flight = f;
	pthread_mutex_unlock(&c->lock);

	err_clear(&f->err);
	rc = fetch_list(fetch, arg, &fresh, &f->err);

	pthread_mutex_lock(&c->lock);
	f->done = 1;
	f->rc = rc;
	f->result = fresh;
	s->flight = NULL;
	if (rc == 0) {
		lookup_list_release(s->list); /* stale */
		s->list = list_ref(fresh);
		s->fetched_ms = now_ms;
	} else {
		slot_clear(s); /* a failed fetch is not kept, nor the stale list */
	}
	pthread_cond_broadcast(&c->done);
	if (rc == 0)
		*out = list_ref(fresh);
	else if (e)
		*e = f->err;
	flight_drop(f);
	pthread_mutex_unlock(&c->lock);
	return rc;
}
