/* handoff: a bounded ring between the calling thread and one worker (see handoff.h). */
#include "handoff.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct handoff {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* bytes added, bytes taken, closed, failed */
	pthread_t worker;
	int joined;
	unsigned char *ring;
	size_t cap, piece_max;
	size_t head;  /* the next byte for the sink */
	size_t count; /* bytes in the ring, the piece under way included */
	int closed;   /* no more bytes will come: drain, then stop */
	int stop;     /* stop now, drop what is left */
	int done;     /* the worker returned */
	int failed;
	struct err failure; /* the sink's, once failed */
	handoff_sink_fn sink;
	void *ctx;
};

static void *work(void *arg)
{
	struct handoff *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		size_t n, at;
		struct err e;
		int rc;

		while (!h->count && !h->closed && !h->stop)
			pthread_cond_wait(&h->changed, &h->lock);
		if (h->stop || !h->count)
			break;
		at = h->head;
		n = h->count;
		if (n > h->cap - at)
			n = h->cap - at; /* up to the ring's end; the rest next time */
		if (n > h->piece_max)
			n = h->piece_max;
		pthread_mutex_unlock(&h->lock);
		err_clear(&e);
		rc = h->sink(h->ctx, h->ring + at, n, &e);
		pthread_mutex_lock(&h->lock);
		if (rc) {
			h->failed = 1;
			h->failure = e;
			h->failure.code = rc;
			break;
		}
		h->head = (at + n) % h->cap;
		h->count -= n;
		pthread_cond_broadcast(&h->changed);
	}
	h->done = 1;
	pthread_cond_broadcast(&h->changed);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int handoff_start(size_t capacity, size_t piece_max, handoff_sink_fn sink, void *ctx,
                  struct handoff **out, struct err *e)
{
	struct handoff *h;

	*out = NULL;
	if (!capacity || !piece_max || piece_max > capacity || !sink)
		return err_set(e, ERR_INVALID, "handoff: bad sizes");
	h = calloc(1, sizeof(*h));
	if (!h)
		return err_set(e, ERR_NOMEM, "out of memory");
	h->ring = malloc(capacity);
	if (!h->ring) {
		free(h);
		return err_set(e, ERR_NOMEM, "out of memory (a %zu-byte ring)", capacity);
	}
	h->cap = capacity;
	h->piece_max = piece_max;
	h->sink = sink;
	h->ctx = ctx;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->changed, NULL);
	if (pthread_create(&h->worker, NULL, work, h) != 0) {
		pthread_cond_destroy(&h->changed);
		pthread_mutex_destroy(&h->lock);
		free(h->ring);
		free(h);
		return err_set(e, ERR_INTERNAL, "handoff: cannot start a thread");
	}
	*out = h;
	return 0;
}

/* The sink's failure into e (the lock held). */
static int failure(struct handoff *h, struct err *e)
{
	if (e)
		*e = h->failure;
	return h->failure.code;
}

int handoff_write(struct handoff *h, const void *data, size_t len, struct err *e)
{
	const unsigned char *p = data;

	pthread_mutex_lock(&h->lock);
	while (len) {
		size_t tail, n;

		while (h->count == h->cap && !h->failed && !h->done)
			pthread_cond_wait(&h->changed, &h->lock);
		if (h->failed || h->done) {
			int rc = h->failed
			             ? failure(h, e)
			             : err_set(e, ERR_INTERNAL, "handoff: the worker stopped");

			pthread_mutex_unlock(&h->lock);
			return rc;
		}
		tail = (h->head + h->count) % h->cap;
		n = h->cap - h->count; /* free bytes */
		if (n > h->cap - tail)
			n = h->cap - tail; /* up to the ring's end */
		if (n > len)
			n = len;
		/* [tail, tail + n) is free: the worker reads only [head, head + count),
		 * and only this thread adds bytes, so the copy needs no lock. */
		pthread_mutex_unlock(&h->lock);
		memcpy(h->ring + tail, p, n);
		pthread_mutex_lock(&h->lock);
		h->count += n;
		p += n;
		len -= n;
		pthread_cond_broadcast(&h->changed);
	}
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* Joins the worker once (the lock not held). */
static void join(struct handoff *h)
{
	if (!h->joined) {
		pthread_join(h->worker, NULL);
		h->joined = 1;
	}
}

int handoff_finish(struct handoff *h, struct err *e)
{
	int rc = 0;

	pthread_mutex_lock(&h->lock);
	h->closed = 1;
	pthread_cond_broadcast(&h->changed);
	while (!h->done)
		pthread_cond_wait(&h->changed, &h->lock);
	if (h->failed)
		rc = failure(h, e);
	pthread_mutex_unlock(&h->lock);
	join(h);
	return rc;
}

void handoff_free(struct handoff *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = 1;
	pthread_cond_broadcast(&h->changed);
	pthread_mutex_unlock(&h->lock);
	join(h);
	pthread_cond_destroy(&h->changed);
	pthread_mutex_destroy(&h->lock);
	free(h->ring);
	free(h);
}
