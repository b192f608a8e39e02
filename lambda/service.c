/* service: the shared context's accessors; see service.h. */
#include "service.h"

#include <time.h>

struct aws_client *service_aws(struct service_context *ctx, struct err *e)
{
	if (ctx->aws)
		return ctx->aws;
	if (ctx->aws_get)
		ctx->aws = ctx->aws_get(ctx, e);
	if (!ctx->aws && (!e || e->code >= 0))
		err_set(e, ERR_INTERNAL, "no AWS client");
	return ctx->aws;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t service_now_ms(struct service_context *ctx)
{
	return ctx && ctx->clock_ms ? ctx->clock_ms(ctx) : wall_ms();
}

int service_out_of_time(struct service_context *ctx)
{
	int64_t now;

	if (!ctx || ctx->deadline_ms <= 0)
		return 0;
	now = service_now_ms(ctx);
	return now + SERVICE_DEADLINE_MARGIN_MS >= ctx->deadline_ms;
}
