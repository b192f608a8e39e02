/*
 * service: the context every part of the lookup service shares.
 *
 * A front door (lambda/front/) builds one service_context per thread and
 * hands it to the router (lambda/router/) and to the workflows
 * (lambda/ops/); none of them keeps state of its own between requests.
 * It holds the AWS client, made on first use, the invocation's deadline,
 * and the test seams that replace AWS calls in unit tests and fuzz targets.
 * The configuration is lambda/config.h's, the same for every context.
 */
#ifndef EBSSH_LAMBDA_SERVICE_H
#define EBSSH_LAMBDA_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"

struct aws_client;
struct ec2_console;
struct ec2_filter;
struct ec2_instance_list;
struct lookup_cache;

/* Long work stops starting AWS calls this long before the deadline, so that
 * its partial answer still goes out in time. */
#define SERVICE_DEADLINE_MARGIN_MS 3000

struct service_context {
	struct aws_client *aws; /* owned by the front door; NULL until first needed */
	/* The invocation's deadline, ms since the epoch (Lambda's
	 * Lambda-Runtime-Deadline-Ms); 0: none (ebssh-api, tests). */
	int64_t deadline_ms;
	/* The ARN the function was invoked as (Lambda-Runtime-Invoked-Function-Arn:
	 * with its alias or version when it was invoked through one); borrowed,
	 * set by the bootstrap for one invocation, NULL elsewhere. The Slack log
	 * search invokes the function the way it was invoked itself: through the
	 * alias "live", whose invoke config keeps a failed job (never $LATEST). */
	const char *invoked_function_arn;
	/* The lookup routes' instance lists (lambda/router/lookup_cache.h),
	 * owned by the front door and shared by its contexts; NULL: no caching. */
	struct lookup_cache *lookup_cache;
	/* Test seam: now, ms since the epoch; NULL: the real clock. */
	int64_t (*clock_ms)(struct service_context *ctx);
	struct aws_client *(*aws_get)(struct service_context *ctx, struct err *e);
	/* Test seam: when set, routes call it instead of ec2_describe_instances
	 * (and never aws_get); same contract. NULL in production. */
	int (*describe_instances)(struct service_context *ctx, const struct ec2_filter *filters,
	                          size_t n_filters, struct ec2_instance_list *out, struct err *e);
	void *seam_data; /* for the seams' own use */
	/* Test seam: when set, the hostkeys routes call it instead of
	 * ec2_get_console_output (and never aws_get); same contract. */
	int (*console_output)(struct service_context *ctx, const char *instance_id, int latest,
	                      struct ec2_console *out, struct err *e);
	/* Work that must outlive the request (the Slack log search). When set, the
	 * front door runs fn(worker, arg) later on another thread, worker a context
	 * of its own (its own AWS client), then free_arg(arg); 0 once queued, else
	 * a negative code and nothing runs (the caller still owns arg). ebssh-api
	 * sets it (lambda/front/async.h); NULL on Lambda, where such routes invoke
	 * their own function with InvocationType Event instead. */
	int (*run_async)(struct service_context *ctx,
	                 void (*fn)(struct service_context *worker, void *arg), void *arg,
	                 void (*free_arg)(void *arg));
};

/*
 * The context's AWS client, made by aws_get on first use and kept in
 * ctx->aws (the front door frees it). NULL with e set when aws_get fails,
 * ERR_INTERNAL "no AWS client" when there is no aws_get (or it failed
 * without saying why).
 */
struct aws_client *service_aws(struct service_context *ctx, struct err *e);

/* Now, ms since the epoch: ctx->clock_ms's, else the real clock's. */
int64_t service_now_ms(struct service_context *ctx);

/*
 * 1 when long work (a workflow's loop over instances or functions) should
 * stop starting AWS calls: a deadline is set and less than
 * SERVICE_DEADLINE_MARGIN_MS is left. 0 otherwise, and always for a NULL
 * ctx. The work then reports what it did and what it left.
 */
int service_out_of_time(struct service_context *ctx);

#endif
