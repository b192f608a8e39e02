/* opspool: the worker pool of ebssh-api's ops requests; see opspool.h. */
#include "opspool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct opspool {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a job waits, or the pool stops */
	pthread_t *threads;
	unsigned n_threads, queue;
	struct opspool_job *head, *tail; /* waiting, oldest first */
	unsigned n_waiting, n_running;
	int stopping;
};

static void *worker_main(void *arg)
{
	struct opspool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct opspool_job *job;

		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stopping)
			break; /* waiting jobs are cancelled by opspool_free */
		job = p->head;
		p->head = job->next;
		if (!p->head)
			p->tail = NULL;
		p->n_waiting--;
		p->n_running++;
		pthread_mutex_unlock(&p->lock);
		job->next = NULL;
		job->run(job);
		pthread_mutex_lock(&p->lock);
		p->n_running--;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Stops and joins the first n workers. */
static void stop_workers(struct opspool *p, unsigned n)
{
	unsigned i;

	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n; i++)
		pthread_join(p->threads[i], NULL);
}

struct opspool *opspool_new(unsigned threads, unsigned queue, struct err *e)
{
	struct opspool *p = calloc(1, sizeof(*p));
	unsigned i;
	int rc = 0;

	if (p)
		p->threads = calloc(threads ? threads : 1, sizeof(*p->threads));
	if (!p || !p->threads) {
		free(p);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	p->queue = queue;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	for (i = 0; i < threads; i++) {
		rc = pthread_create(&p->threads[i], NULL, worker_main, p);
		if (rc)
			break;
	}
	p->n_threads = i;
	if (rc || i == 0) {
		stop_workers(p, i);
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->lock);
		free(p->threads);
		free(p);
		err_set(e, ERR_INTERNAL, "cannot start the ops workers: %s",
		        rc ? strerror(rc) : "no threads");
		return NULL;
	}
	return p;
}

int opspool_submit(struct opspool *p, struct opspool_job *job)
{
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	if (p->stopping || p->n_running + p->n_waiting >= p->n_threads + p->queue) {
		rc = ERR_TOO_LARGE;
	} else {
		job->next = NULL;
		if (p->tail)
			p->tail->next = job;
		else
			p->head = job;
		p->tail = job;
		p->n_waiting++;
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void opspool_free(struct opspool *p)
{
	struct opspool_job *job, *next;
	unsigned i;

	if (!p)
		return;
	/* The waiting jobs are cancelled at once; the running ones finish. */
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	job = p->head;
	p->head = p->tail = NULL;
	p->n_waiting = 0;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (; job; job = next) {
		next = job->next;
		job->next = NULL;
		job->cancel(job);
	}
	for (i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}
