/*
 * opspool: ebssh-api's small pool of worker threads for ops-class requests
 * (router.h's ROUTER_OPS: a backup, a wide log search), so that they never
 * run on, and hold up, the threads that serve the lookups.
 *
 * A job is embedded in its owner's memory (no allocation per job): the
 * owner sets run and cancel and submits it. At most `threads` jobs run at
 * once and at most `queue` more wait, in order; beyond that opspool_submit
 * refuses the job, so that a burst is answered (503) instead of piling up.
 * Exactly one of run(job) (on a worker) or cancel(job) (on the thread
 * calling opspool_free, for a job still waiting then) is called per
 * submitted job; after it returns the pool never touches the job again.
 *
 * opspool_free stops the pool: it refuses new jobs, cancels the waiting
 * ones at once, waits for the running ones to finish and joins the workers.
 */
#ifndef EBSSH_LAMBDA_OPSPOOL_H
#define EBSSH_LAMBDA_OPSPOOL_H

#include "../../util/err.h"

struct opspool;

struct opspool_job {
	void (*run)(struct opspool_job *job);
	void (*cancel)(struct opspool_job *job);
	struct opspool_job *next; /* the pool's */
};

/* threads >= 1 workers, queue >= 0 waiting jobs. NULL with *e set when
 * out of memory or a thread could not start (nothing left running). */
struct opspool *opspool_new(unsigned threads, unsigned queue, struct err *e);

/* 0 once the pool owns the job, ERR_TOO_LARGE when `queue` jobs already
 * wait or the pool is stopping (the job is still the caller's). */
int opspool_submit(struct opspool *p, struct opspool_job *job);

/* Stops and frees the pool as above. NULL is fine. */
void opspool_free(struct opspool *p);

#endif
