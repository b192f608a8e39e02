/*
 * GET /logs/{function}/{request_id}: one request's log lines
 * (lambda/ops/logsearch.h). Before any AWS call: the name (400
 * InvalidName), the request id, a UUID (400 InvalidRequestId), the
 * allow-list LOGSEARCH_FUNCTIONS (403 Forbidden; 503 NotConfigured without
 * one) and the window (400 InvalidParameter).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../aws/lambda.h"
#include "../ops/logsearch.h"
#include "routes.h"

int routes_logs(struct service_context *ctx, const struct router_request *req,
                const struct route_args *args, struct router_response *resp)
{
	struct logs_event_list list = {NULL, 0, 0};
	const char *function = args->param[0], *rid = args->param[1];
	int64_t start_ms, end_ms;
	struct aws_client *aws;
	struct err e;
	int json, truncated = 0, rc;

	err_clear(&e);
	if (lambda_check_function_name(function, &e) != 0)
		return router_error(resp, 400, "InvalidName",
		                    "'%.64s%s' is not a function name: %s", function,
		                    strlen(function) > 64 ? "..." : "", e.message);
	if (logsearch_check_request_id(rid, &e) != 0)
		return router_error(resp, 400, "InvalidRequestId",
		                    "'%.64s%s' is not a request id: %s", rid,
		                    strlen(rid) > 64 ? "..." : "", e.message);
	rc = logsearch_allowed(function, &e);
	if (rc == ERR_NOT_FOUND)
		return router_error(resp, 503, "NotConfigured", "%s", e.message);
	if (rc)
		return router_error(resp, 403, "Forbidden", "%s", e.message);
	if (logsearch_window(router_query(req, "start"), router_query(req, "end"), time(NULL),
	                     &start_ms, &end_ms, &e) != 0)
		return router_error(resp, 400, "InvalidParameter", "%s", e.message);
	aws = service_aws(ctx, &e);
	if (!aws)
		return router_error_from(resp, &e);
	rc = logsearch_run(aws, ctx, function, rid, start_ms, end_ms, &list, &e);
	if (rc == ERR_AWS && strcmp(e.aws_code, "ResourceNotFoundException") == 0) {
		logs_event_list_free(&list);
		rc = router_error(resp, 404, "NotFound",
		                  "no log group /aws/lambda/%s: no such function in this region, "
		                  "or it never logged",
		                  function);
		resp->error = e;
		return rc;
	}
	if (rc)
		return router_error_from(resp, &e);
	if (list.n == 0) {
		char from[40], to[40];
		logsearch_format_time(start_ms, from, sizeof(from));
		logsearch_format_time(end_ms, to, sizeof(to));
		return router_error(
		    resp, 404, "NotFound",
		    "no log lines of request %s in /aws/lambda/%s between %s and %s", rid, function,
		    from, to);
	}
	json = routes_wants_json(req);
	if (json)
		rc = logsearch_format_json(function, rid, start_ms, end_ms, &list, &resp->body,
		                           &truncated);
	else
		rc = logsearch_format_text(&list, &resp->body, &truncated);
	logs_event_list_free(&list);
	if (rc)
		return rc;
	rc = router_answer(resp, 200, json ? ROUTER_JSON : ROUTER_TEXT_PLAIN);
	if (rc == 0 && truncated)
		rc = router_pair_add(&resp->headers, &resp->n_headers, "X-Ebssh-Truncated", "true");
	return rc;
}
