/* GET /lambda/storage: code storage per function and version (lambda/storage.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "routes.h"
#include "../ops/storage.h"

/* Text only when an Accept header names text and prefers it to JSON. */
static int wants_text(const struct router_request *req)
{
	size_t i;

	if (routes_wants_json(req))
		return 0;
	for (i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->headers[i].name, "Accept") == 0 &&
		    strstr(req->headers[i].value, "text/"))
			return 1;
	return 0;
}

int routes_lambda_storage(struct service_context *ctx, const struct router_request *req,
                          const struct route_args *args, struct router_response *resp)
{
	struct storage_report report;
	struct err e;
	int text = wants_text(req), rc;

	(void)args;
	err_clear(&e);
	if (!service_aws(ctx, &e))
		return router_error_from(resp, &e);
	rc = storage_collect_within(ctx->aws, ctx, &report, &e);
	if (rc)
		return router_error_from(resp, &e);
	rc = text ? storage_format_text(&report, &resp->body)
	          : storage_format_json(&report, &resp->body);
	storage_report_free(&report);
	if (rc)
		return rc;
	return router_answer(resp, 200, text ? ROUTER_TEXT_PLAIN : ROUTER_JSON);
}
