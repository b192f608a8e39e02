/* door: what the front doors share; see door.h. */
#include "door.h"

#include "../../aws/client.h"

struct aws_client *door_aws_new(struct service_context *ctx, struct err *e)
{
	(void)ctx;
	return aws_client_new(e);
}
