/* codedeploy: PutLifecycleEventHookExecutionStatus; see codedeploy.h. */
#include "codedeploy.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define CODEDEPLOY_TARGET       "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus"
#define CODEDEPLOY_CONTENT_TYPE "application/x-amz-json-1.1"
#define CODEDEPLOY_MAX_ANSWER   ((size_t)64 << 10)

const char *codedeploy_status_name(enum codedeploy_hook_status status)
{
	switch (status) {
	case CODEDEPLOY_SUCCEEDED:
		return "Succeeded";
	case CODEDEPLOY_FAILED:
		return "Failed";
	}
	return "Unknown";
}

/* 0 when id is 1 to CODEDEPLOY_MAX_ID printable ASCII bytes. */
static int check_id(const char *what, const char *id, struct err *e)
{
	size_t i, n = id ? strlen(id) : 0;

	if (n == 0 || n > CODEDEPLOY_MAX_ID)
		return err_set(e, ERR_INVALID, "PutLifecycleEventHookExecutionStatus: the %s is %s",
		               what, n ? "too long" : "empty");
	for (i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20 || (unsigned char)id[i] >= 0x7f)
			return err_set(e, ERR_INVALID,
			               "PutLifecycleEventHookExecutionStatus: the %s has a byte "
			               "outside printable ASCII",
			               what);
	return 0;
}

int codedeploy_hook_status_request(const char *deployment_id, const char *execution_id,
                                   enum codedeploy_hook_status status, struct buf *out,
                                   struct err *e)
{
	json_t *root;
	char *text;
	int rc;

	if ((rc = check_id("deployment id", deployment_id, e)) != 0 ||
	    (rc = check_id("lifecycle event hook execution id", execution_id, e)) != 0)
		return rc;
	if (status != CODEDEPLOY_SUCCEEDED && status != CODEDEPLOY_FAILED)
		return err_set(e, ERR_INVALID,
		               "PutLifecycleEventHookExecutionStatus: a hook reports Succeeded or "
		               "Failed");
	root = json_pack("{s:s, s:s, s:s}", "deploymentId", deployment_id,
	                 "lifecycleEventHookExecutionId", execution_id, "status",
	                 codedeploy_status_name(status));
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	rc = text ? buf_append_str(out, text) : ERR_NOMEM;
	free(text);
	json_decref(root);
	if (rc)
		return err_set(e, rc,
		               "PutLifecycleEventHookExecutionStatus: cannot build the "
		               "request (%s)",
		               err_code_name(rc));
	return 0;
}

int codedeploy_parse_hook_status_response(const char *json, size_t len, struct err *e)
{
	json_error_t jerr;
	json_t *root, *id;
	int rc = 0;

	root = json_loadb(json ? json : "", json ? len : 0, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(
		    e, ERR_PARSE,
		    "PutLifecycleEventHookExecutionStatus: the answer is not JSON (line %d)",
		    jerr.line);
	if (!json_is_object(root)) {
		rc = err_set(e, ERR_PARSE,
		             "PutLifecycleEventHookExecutionStatus: the answer is not an object");
	} else {
		id = json_object_get(root, "lifecycleEventHookExecutionId");
		if (id && !json_is_null(id) && !json_is_string(id))
			rc = err_set(e, ERR_PARSE,
			             "PutLifecycleEventHookExecutionStatus: "
			             "\"lifecycleEventHookExecutionId\" is not a string");
	}
	json_decref(root);
	return rc;
}

int codedeploy_put_hook_status(struct aws_client *c, const char *deployment_id,
                               const char *execution_id, enum codedeploy_hook_status status,
                               long timeout_ms, struct err *e)
{
	struct aws_call call;
	struct buf req, body;
	int rc;

	buf_init(&req, 0);
	rc = codedeploy_hook_status_request(deployment_id, execution_id, status, &req, e);
	if (rc)
		return rc;
	memset(&call, 0, sizeof(call));
	call.service = "codedeploy";
	call.endpoint_id = "CODEDEPLOY";
	call.endpoint_prefix = "codedeploy";
	call.protocol = AWS_PROTOCOL_JSON;
	call.method = "POST";
	call.path = "/";
	call.content_type = CODEDEPLOY_CONTENT_TYPE;
	call.target = CODEDEPLOY_TARGET;
	call.body = req.data;
	call.body_len = req.len;
	/* Half the time per attempt: a fast 5xx leaves room for one retry. */
	call.timeout_ms = timeout_ms >= 2000 ? timeout_ms / 2 : timeout_ms;
	call.budget_ms = timeout_ms;
	buf_init(&body, CODEDEPLOY_MAX_ANSWER);
	rc = aws_client_call(c, &call, &body, e);
	buf_free(&req);
	if (!rc)
		rc = codedeploy_parse_hook_status_response(body.data, body.len, e);
	buf_free(&body);
	return rc;
}
