/*
 * door: what the front doors (bootstrap, ebssh-api, ebssh-api's job
 * threads) share when they build a service context.
 *
 * Kept apart from lambda/service.c on purpose: the router and the
 * workflows reach the AWS client only through service_aws, so a unit test
 * can link them against a fake aws/ without pulling in the real client.
 */
#ifndef EBSSH_LAMBDA_FRONT_DOOR_H
#define EBSSH_LAMBDA_FRONT_DOOR_H

#include "../../util/err.h"
#include "../service.h"

/* The service context's aws_get: a new client from the environment
 * (aws_client_new); the front door frees ctx->aws when the context ends. */
struct aws_client *door_aws_new(struct service_context *ctx, struct err *e);

/* The front door's lookup cache (lambda/router/lookup_cache.h), kept
 * LOOKUP_CACHE_SECONDS as service_config_get says (after
 * service_config_init), for LOOKUP_CACHE_MAX_KEYS keys; NULL with e set. */
struct lookup_cache *door_lookup_cache_new(struct err *e);

#endif
