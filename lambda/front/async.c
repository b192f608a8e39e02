/* async: detached job threads with a context each; see async.h. */
#include "async.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "../../aws/client.h"
#include "../log.h"
#include "door.h"

struct job {
	void (*fn)(struct service_context *worker, void *arg);
	void *arg;
	void (*free_arg)(void *arg);
	struct log_context log; /* the caller's: the job logs with its ids */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
static int running;

static void *job_main(void *p)
{
	struct job *job = p;
	struct service_context worker = {0};

	worker.aws_get = door_aws_new;
	log_context_put(&job->log);
	job->fn(&worker, job->arg);
	if (job->free_arg)
		job->free_arg(job->arg);
	aws_client_free(worker.aws);
	free(job);
	/* OpenSSL frees a thread's own state when the thread ends, which may be
	 * after async_drain saw it done and the process exited: free it now. */
	OPENSSL_thread_stop();
	pthread_mutex_lock(&lock);
	if (--running == 0)
		pthread_cond_broadcast(&idle);
	pthread_mutex_unlock(&lock);
	return NULL;
}

int async_run(struct service_context *ctx, void (*fn)(struct service_context *worker, void *arg),
              void *arg, void (*free_arg)(void *arg))
{
	struct job *job;
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	(void)ctx;
	if (!fn)
		return ERR_INVALID;
	pthread_mutex_lock(&lock);
	if (running >= ASYNC_MAX_JOBS) {
		pthread_mutex_unlock(&lock);
		return ERR_TOO_LARGE;
	}
	running++;
	pthread_mutex_unlock(&lock);
	job = malloc(sizeof(*job));
	rc = job ? pthread_attr_init(&attr) : ENOMEM;
	if (rc == 0) {
		job->fn = fn;
		job->arg = arg;
		job->free_arg = free_arg;
		log_context_get(&job->log);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&tid, &attr, job_main, job);
		pthread_attr_destroy(&attr);
	}
	if (rc == 0)
		return 0;
	free(job);
	pthread_mutex_lock(&lock);
	if (--running == 0)
		pthread_cond_broadcast(&idle);
	pthread_mutex_unlock(&lock);
	return rc == ENOMEM ? ERR_NOMEM : ERR_INTERNAL;
}

int async_drain(long timeout_ms)
{
	struct timespec until;
	int left;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lock);
	while (running > 0 && pthread_cond_timedwait(&idle, &lock, &until) != ETIMEDOUT)
		;
	left = running;
	pthread_mutex_unlock(&lock);
	return left;
}
