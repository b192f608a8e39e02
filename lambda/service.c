/* service: the shared context's accessors; see service.h. */
#include "service.h"

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
