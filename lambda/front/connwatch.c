/* connwatch: per-phase deadlines of ebssh-api's connections; see connwatch.h. */
#include "connwatch.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../util/monotime.h"
#include "../log.h"

enum phase { PHASE_HEADERS, PHASE_BODY, PHASE_BUSY, PHASE_CLOSED };

struct connwatch_conn {
	struct connwatch_conn *prev, *next;
	int fd;
	enum phase phase;
	long long started_ms;   /* the connection's start */
	long long deadline_ms;  /* of the current phase (HEADERS, BODY) */
	unsigned long requests; /* answered on it so far */
	char remote[48];
};

struct connwatch {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t janitor;
	struct connwatch_conn *head;
	long long header_ms, body_ms;
	long long wake_at_ms; /* when the janitor looks next; 0: it waits for a signal */
	unsigned long closed;
	int stopping;
};

/* Under the lock: the janitor wakes for a deadline earlier than its plan. */
static void set_deadline(struct connwatch *w, struct connwatch_conn *c, long long deadline)
{
	c->deadline_ms = deadline;
	if (w->wake_at_ms == 0 || deadline < w->wake_at_ms)
		pthread_cond_signal(&w->wake);
}

static void log_closed(const struct connwatch_conn *c, const char *phase, long long limit_ms,
                       long long now)
{
	char when[32];
	struct timespec ts;
	struct tm tm;
	json_t *line;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	line = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:f}", "time", when, "event",
	                 "slow-client-closed", "remote", c->remote, "phase", phase, "limit_s",
	                 (json_int_t)(limit_ms / 1000), "requests", (json_int_t)c->requests,
	                 "connection_s", (double)(now - c->started_ms) / 1000.0);
	log_json_line(line); /* one write(2): threads do not interleave */
}

static void *janitor_main(void *arg)
{
	struct connwatch *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		long long now = monotime_ms(), next = 0;
		struct connwatch_conn *c;

		for (c = w->head; c; c = c->next) {
			if (c->phase != PHASE_HEADERS && c->phase != PHASE_BODY)
				continue;
			if (c->deadline_ms <= now) {
				int headers = c->phase == PHASE_HEADERS;

				/* The owner sees the end of the stream and closes it. */
				shutdown(c->fd, SHUT_RDWR);
				c->phase = PHASE_CLOSED;
				w->closed++;
				log_closed(c, headers ? "headers" : "body",
				           headers ? w->header_ms : w->body_ms, now);
			} else if (next == 0 || c->deadline_ms < next) {
				next = c->deadline_ms;
			}
		}
		w->wake_at_ms = next;
		if (next == 0) {
			pthread_cond_wait(&w->wake, &w->lock);
		} else {
			struct timespec ts = {(time_t)(next / 1000),
			                      (long)(next % 1000) * 1000000L};

			/* monotime_ms reads CLOCK_MONOTONIC, the condition's clock */
			pthread_cond_timedwait(&w->wake, &w->lock, &ts);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct connwatch *connwatch_new(unsigned header_s, unsigned body_s, struct err *e)
{
	struct connwatch *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	int rc;

	if (!w) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	w->header_ms = (long long)header_s * 1000;
	w->body_ms = (long long)body_s * 1000;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&w->janitor, NULL, janitor_main, w);
	if (rc) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		err_set(e, ERR_INTERNAL, "cannot start the connection janitor: %s", strerror(rc));
		return NULL;
	}
	return w;
}

void connwatch_free(struct connwatch *w)
{
	struct connwatch_conn *c, *next;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->janitor, NULL);
	for (c = w->head; c; c = next) {
		next = c->next;
		free(c);
	}
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

struct connwatch_conn *connwatch_add(struct connwatch *w, int fd, const char *remote)
{
	struct connwatch_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->phase = PHASE_HEADERS;
	snprintf(c->remote, sizeof(c->remote), "%s", remote ? remote : "-");
	c->started_ms = monotime_ms();
	pthread_mutex_lock(&w->lock);
	c->next = w->head;
	if (w->head)
		w->head->prev = c;
	w->head = c;
	set_deadline(w, c, c->started_ms + w->header_ms);
	pthread_mutex_unlock(&w->lock);
	return c;
}

/* Moves c to phase to when it is in phase from (-1: any), never out of CLOSED. */
static void enter(struct connwatch *w, struct connwatch_conn *c, int from, enum phase to,
                  long long limit_ms)
{
	if (!c)
		return;
	pthread_mutex_lock(&w->lock);
	if (c->phase != PHASE_CLOSED && (from < 0 || c->phase == (enum phase)from)) {
		c->phase = to;
		if (to != PHASE_BUSY)
			set_deadline(w, c, monotime_ms() + limit_ms);
	}
	pthread_mutex_unlock(&w->lock);
}

void connwatch_headers_done(struct connwatch *w, struct connwatch_conn *c)
{
	enter(w, c, PHASE_HEADERS, PHASE_BODY, w->body_ms);
}

void connwatch_body_done(struct connwatch *w, struct connwatch_conn *c)
{
	enter(w, c, -1, PHASE_BUSY, 0);
}

void connwatch_request_done(struct connwatch *w, struct connwatch_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&w->lock);
	c->requests++;
	pthread_mutex_unlock(&w->lock);
	/* from any phase: a request may end early (an early answer, an error) */
	enter(w, c, -1, PHASE_HEADERS, w->header_ms);
}

void connwatch_remove(struct connwatch *w, struct connwatch_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&w->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&w->lock);
	free(c);
}

unsigned long connwatch_closed(struct connwatch *w)
{
	unsigned long n;

	pthread_mutex_lock(&w->lock);
	n = w->closed;
	pthread_mutex_unlock(&w->lock);
	return n;
}
