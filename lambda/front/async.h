/*
 * async: service_context.run_async for a long-running front door (ebssh-api
 * and the test drivers): each job gets a detached thread and a router
 * context of its own whose AWS client is made on first use (aws_client_new)
 * and freed when the job ends, and the caller's log context (lambda/log.h),
 * so that its lines carry the request's ids. At most ASYNC_MAX_JOBS run at
 * once; more are refused (ERR_TOO_LARGE) rather than queued, so a burst
 * cannot pile up threads. async_drain lets a clean stop wait for the jobs in
 * flight.
 */
#ifndef EBSSH_LAMBDA_ASYNC_H
#define EBSSH_LAMBDA_ASYNC_H

#include "../service.h"

#define ASYNC_MAX_JOBS 16

/* Matches service_context.run_async; ctx is not used by the job. 0 once the
 * thread runs (it then owns arg), ERR_TOO_LARGE when ASYNC_MAX_JOBS run,
 * ERR_NOMEM / ERR_INTERNAL when no thread could start (arg still the caller's). */
int async_run(struct service_context *ctx, void (*fn)(struct service_context *worker, void *arg),
              void *arg, void (*free_arg)(void *arg));

/* Waits until no job runs or timeout_ms passed; returns the jobs still running. */
int async_drain(long timeout_ms);

#endif
