/* door: what the front doors share; see door.h. */
#include "door.h"

#include "../../aws/client.h"
#include "../config.h"
#include "../router/lookup_cache.h"

struct aws_client *door_aws_new(struct service_context *ctx, struct err *e)
{
	(void)ctx;
	return aws_client_new(e);
}

struct lookup_cache *door_lookup_cache_new(struct err *e)
{
	long seconds;

	if (service_config_lookup_cache_seconds(service_config_get().lookup_cache_seconds, &seconds,
	                                        e))
		return NULL;
	return lookup_cache_new((int64_t)seconds * 1000, LOOKUP_CACHE_MAX_KEYS, e);
}
