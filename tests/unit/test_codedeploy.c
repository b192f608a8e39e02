/*
 * Unit tests of aws/codedeploy: the PutLifecycleEventHookExecutionStatus
 * body (botocore's shape: deploymentId, lifecycleEventHookExecutionId,
 * status), the answer's check, CodeDeploy's JSON error read by aws/errors,
 * and the call's target, endpoint and time bounds against a fake
 * aws_client_call (a weak symbol, as in test_lambda.c).
 */
#include "test.h"

#include <jansson.h>

#include "aws/client.h"
#include "aws/codedeploy.h"
#include "aws/errors.h"
#include "util/buf.h"

static struct {
	int calls;
	struct aws_call last;
	char *body;
	const char *answer; /* NULL: answer CodeDeploy's error */
} fake;

__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	(void)c;
	fake.calls++;
	fake.last = *call;
	free(fake.body);
	fake.body = strndup(call->body, call->body_len);
	if (!fake.answer)
		return err_set_aws(e, ERR_AWS, 400, "LifecycleEventAlreadyCompletedException",
		                   "rid-1", "already completed");
	buf_init(body, 0);
	return buf_append_str(body, fake.answer);
}

static void fake_reset(const char *answer)
{
	free(fake.body);
	memset(&fake, 0, sizeof(fake));
	fake.answer = answer;
}

TEST_CASE(request_body_has_botocores_members)
{
	struct buf b;
	struct err e;
	json_t *doc;

	buf_init(&b, 0);
	CHECK_INT(
	    codedeploy_hook_status_request("d-ABCDEF123", "exec\"1", CODEDEPLOY_SUCCEEDED, &b, &e),
	    0);
	doc = json_loads(buf_str(&b), 0, NULL);
	CHECK(json_is_object(doc));
	CHECK_INT((int)json_object_size(doc), 3);
	CHECK_STR(json_string_value(json_object_get(doc, "deploymentId")), "d-ABCDEF123");
	CHECK_STR(json_string_value(json_object_get(doc, "lifecycleEventHookExecutionId")),
	          "exec\"1");
	CHECK_STR(json_string_value(json_object_get(doc, "status")), "Succeeded");
	json_decref(doc);
	buf_reset(&b);
	CHECK_INT(codedeploy_hook_status_request("d-1", "x", CODEDEPLOY_FAILED, &b, &e), 0);
	CHECK(strstr(buf_str(&b), "\"status\":\"Failed\"") != NULL);
	buf_free(&b);

	buf_init(&b, 0);
	CHECK_INT(codedeploy_hook_status_request("", "x", CODEDEPLOY_FAILED, &b, &e), ERR_INVALID);
	CHECK(strstr(e.message, "deployment id is empty") != NULL);
	CHECK_INT(codedeploy_hook_status_request("d-1", NULL, CODEDEPLOY_FAILED, &b, &e),
	          ERR_INVALID);
	CHECK_INT(codedeploy_hook_status_request("d-1", "a\nb", CODEDEPLOY_FAILED, &b, &e),
	          ERR_INVALID);
	CHECK_INT(
	    codedeploy_hook_status_request("d-1", "x", (enum codedeploy_hook_status)7, &b, &e),
	    ERR_INVALID);
	CHECK_INT((int)b.len, 0);
	buf_free(&b);
	CHECK_STR(codedeploy_status_name(CODEDEPLOY_SUCCEEDED), "Succeeded");
	CHECK_STR(codedeploy_status_name(CODEDEPLOY_FAILED), "Failed");
	CHECK_STR(codedeploy_status_name((enum codedeploy_hook_status)0), "Unknown");
}

TEST_CASE(answer_is_checked)
{
	struct err e;
	const char *ok = "{\"lifecycleEventHookExecutionId\":\"exec-1\"}";

	CHECK_INT(codedeploy_parse_hook_status_response(ok, strlen(ok), &e), 0);
	CHECK_INT(codedeploy_parse_hook_status_response("{}", 2, &e), 0);
	CHECK_INT(codedeploy_parse_hook_status_response("[]", 2, &e), ERR_PARSE);
	CHECK_INT(
	    codedeploy_parse_hook_status_response("{\"lifecycleEventHookExecutionId\":1}", 35, &e),
	    ERR_PARSE);
	CHECK_INT(codedeploy_parse_hook_status_response("{", 1, &e), ERR_PARSE);
	CHECK_INT(codedeploy_parse_hook_status_response(NULL, 0, &e), ERR_PARSE);
}

/* CodeDeploy's JSON 1.1 error document, as aws/client.c hands it to aws/errors. */
TEST_CASE(codedeploy_errors_are_read)
{
	const char *body = "{\"__type\":\"LifecycleEventAlreadyCompletedException\","
	                   "\"message\":\"The lifecycle event is already completed.\"}";
	struct err e;

	err_clear(&e);
	errors_parse(1, 400, body, strlen(body), NULL, "rid-7", &e);
	CHECK_INT(e.code, ERR_AWS);
	CHECK_STR(e.aws_code, "LifecycleEventAlreadyCompletedException");
	CHECK_STR(e.request_id, "rid-7");
	CHECK(strstr(e.message, "already completed") != NULL);
}

TEST_CASE(call_target_endpoint_and_bounds)
{
	struct err e;

	fake_reset("{\"lifecycleEventHookExecutionId\":\"exec-1\"}");
	CHECK_INT(codedeploy_put_hook_status((struct aws_client *)1, "d-1", "exec-1",
	                                     CODEDEPLOY_FAILED, 6000, &e),
	          0);
	CHECK_INT(fake.calls, 1);
	CHECK_STR(fake.last.service, "codedeploy");
	CHECK_STR(fake.last.endpoint_id, "CODEDEPLOY");
	CHECK_STR(fake.last.endpoint_prefix, "codedeploy");
	CHECK_STR(fake.last.target, "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus");
	CHECK_STR(fake.last.content_type, "application/x-amz-json-1.1");
	CHECK_STR(fake.last.method, "POST");
	CHECK_STR(fake.last.path, "/");
	CHECK_INT(fake.last.protocol, AWS_PROTOCOL_JSON);
	CHECK_INT((int)fake.last.budget_ms, 6000);
	CHECK_INT((int)fake.last.timeout_ms, 3000);
	CHECK_STR(fake.body, "{\"deploymentId\":\"d-1\",\"lifecycleEventHookExecutionId\":"
	                     "\"exec-1\",\"status\":\"Failed\"}");

	fake_reset(NULL);
	CHECK_INT(codedeploy_put_hook_status((struct aws_client *)1, "d-1", "exec-1",
	                                     CODEDEPLOY_SUCCEEDED, 0, &e),
	          ERR_AWS);
	CHECK_STR(e.aws_code, "LifecycleEventAlreadyCompletedException");

	fake_reset("not json");
	CHECK_INT(codedeploy_put_hook_status((struct aws_client *)1, "d-1", "exec-1",
	                                     CODEDEPLOY_SUCCEEDED, 0, &e),
	          ERR_PARSE);
	fake_reset("{}");
	CHECK_INT(codedeploy_put_hook_status((struct aws_client *)1, "", "exec-1",
	                                     CODEDEPLOY_SUCCEEDED, 0, &e),
	          ERR_INVALID);
	CHECK_INT(fake.calls, 0);
	fake_reset(NULL);
}

int main(void)
{
	RUN(request_body_has_botocores_members);
	RUN(answer_is_checked);
	RUN(codedeploy_errors_are_read);
	RUN(call_target_endpoint_and_bounds);
	return TEST_DONE();
}
