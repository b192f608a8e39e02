/*
 * Unit tests of aws/lambda: function names by Lambda's rule, the list
 * parsers against the AWS CLI's documented answers
 * ($EBSSH_VECTORS/awscli-examples/lambda-list-*.rst) and botocore's
 * examples, GetAccountSettings, the real 429 body of Lambda Invoke read by
 * aws/errors, and the paths, queries and headers of each call against a
 * fake aws_client_call (a weak symbol, as in test_ec2.c).
 */
#include "test.h"

#include <jansson.h>
#include <stdint.h>

#include "aws/client.h"
#include "aws/errors.h"
#include "aws/http.h"
#include "aws/lambda.h"
#include "util/buf.h"

#define FAKE_MAX_CALLS 16

static struct {
	const char *const *pages;
	size_t n_pages;
	size_t calls;
	char *paths[FAKE_MAX_CALLS];
	char *queries[FAKE_MAX_CALLS];
	struct aws_call last;
	char *last_body;
	char *invocation_type;
	const char *function_error; /* the answer's X-Amz-Function-Error, or NULL */
} fake;

static void fake_reset(const char *const *pages, size_t n_pages)
{
	size_t i;

	for (i = 0; i < FAKE_MAX_CALLS; i++) {
		free(fake.paths[i]);
		free(fake.queries[i]);
	}
	free(fake.last_body);
	free(fake.invocation_type);
	memset(&fake, 0, sizeof(fake));
	fake.pages = pages;
	fake.n_pages = n_pages;
}

__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	size_t i = fake.calls++, j;
	const char *page;

	(void)c;
	fake.last = *call;
	if (i < FAKE_MAX_CALLS) {
		fake.paths[i] = strdup(call->path);
		fake.queries[i] = call->query ? strdup(call->query) : NULL;
	}
	free(fake.last_body);
	fake.last_body = call->body ? strndup(call->body, call->body_len) : NULL;
	for (j = 0; j < call->n_extra_headers; j++)
		if (strcmp(call->extra_headers[j].name, "X-Amz-Invocation-Type") == 0) {
			free(fake.invocation_type);
			fake.invocation_type = strdup(call->extra_headers[j].value);
		}
	page = fake.n_pages ? fake.pages[i < fake.n_pages ? i : fake.n_pages - 1] : "";
	if (!page)
		return err_set_aws(e, ERR_AWS, 404, "ResourceNotFoundException", "rid-2",
		                   "Function not found");
	if (call->answer_header && call->answer_header_value)
		*call->answer_header_value =
		    fake.function_error ? strdup(fake.function_error) : NULL;
	buf_init(body, 0);
	return buf_append_str(body, page);
}

static char *cli_example_output(const char *name)
{
	char path[1024];
	char *text, *start, *out = NULL;
	json_error_t jerr;
	json_t *root;

	snprintf(path, sizeof(path), "%s/awscli-examples/%s", test_vectors_dir(), name);
	text = test_read_file(path, NULL);
	if (!text)
		return NULL;
	start = strstr(text, "Output::");
	start = start ? strchr(start, '{') : NULL;
	root = start ? json_loads(start, JSON_DISABLE_EOF_CHECK, &jerr) : NULL;
	if (root)
		out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	free(text);
	return out;
}

TEST_CASE(function_names_follow_lambdas_rule)
{
	char longest[LAMBDA_MAX_NAME + 2];
	struct err e;

	memset(longest, 'a', sizeof(longest));
	longest[LAMBDA_MAX_NAME] = '\0';
	CHECK_INT(lambda_check_function_name("my-function_2", &e), 0);
	CHECK_INT(lambda_check_function_name(longest, &e), 0);
	longest[LAMBDA_MAX_NAME] = 'a';
	longest[LAMBDA_MAX_NAME + 1] = '\0';
	CHECK_INT(lambda_check_function_name(longest, &e), ERR_INVALID);
	CHECK_INT(lambda_check_function_name("", &e), ERR_INVALID);
	CHECK_INT(lambda_check_function_name(NULL, &e), ERR_INVALID);
	CHECK_INT(lambda_check_function_name("a.b", &e), ERR_INVALID);
	CHECK_INT(lambda_check_function_name("a/b", &e), ERR_INVALID);
	CHECK_INT(lambda_check_function_name("fn:1", &e), ERR_INVALID);
	CHECK_INT(lambda_check_function_name("a b", &e), ERR_INVALID);
	CHECK_INT(lambda_check_function_name("caf\xc3\xa9", &e), ERR_INVALID);
	CHECK(strstr(e.message, "letters, digits") != NULL);
}

TEST_CASE(parses_the_cli_list_functions)
{
	struct lambda_function_list list = {NULL, 0};
	char *json = cli_example_output("lambda-list-functions.rst");
	char *next = NULL;
	struct err e;

	CHECK(json != NULL);
	if (!json)
		return;
	CHECK_INT(lambda_parse_function_list(json, strlen(json), "Functions", &list, &next, &e), 0);
	CHECK(next == NULL);
	CHECK_INT((int)list.n, 3);
	if (list.n == 3) {
		CHECK_STR(list.items[0].name, "helloworld");
		CHECK_STR(list.items[0].version, "$LATEST");
		CHECK_INT(list.items[0].code_size, 294);
		CHECK_STR(list.items[0].arn,
		          "arn:aws:lambda:us-west-2:123456789012:function:helloworld");
		CHECK_STR(list.items[1].name, "my-function");
		CHECK_INT(list.items[1].code_size, 266);
		/* Layers' CodeSize is not the function's. */
		CHECK_STR(list.items[2].name, "my-python-function");
		CHECK_INT(list.items[2].code_size, 299);
	}
	lambda_function_list_free(&list);
	free(json);
}

TEST_CASE(parses_the_cli_list_versions)
{
	struct lambda_function_list list = {NULL, 0};
	char *json = cli_example_output("lambda-list-versions-by-function.rst");
	char *next = NULL;
	struct err e;

	CHECK(json != NULL);
	if (!json)
		return;
	CHECK_INT(lambda_parse_function_list(json, strlen(json), "Versions", &list, &next, &e), 0);
	CHECK_INT((int)list.n, 3);
	if (list.n == 3) {
		CHECK_STR(list.items[0].version, "$LATEST");
		CHECK_STR(list.items[1].version, "1");
		CHECK_INT(list.items[1].code_size, 304);
		CHECK_STR(list.items[2].version, "2");
		CHECK_INT(list.items[2].code_size, 266);
	}
	lambda_function_list_free(&list);
	free(json);
}

TEST_CASE(parses_botocores_examples)
{
	char path[1024];
	char *text, *out;
	json_t *root, *examples, *ex;
	struct lambda_function_list list = {NULL, 0};
	char *next = NULL;
	struct err e;
	size_t i;

	snprintf(path, sizeof(path), "%s/service-models/lambda-examples-1.SUBSET.json",
	         test_vectors_dir());
	text = test_read_file(path, NULL);
	CHECK(text != NULL);
	if (!text)
		return;
	root = json_loads(text, 0, NULL);
	examples = json_object_get(root, "ListVersionsByFunction");
	CHECK(json_array_size(examples) > 0);
	json_array_foreach(examples, i, ex)
	{
		out = json_dumps(json_object_get(ex, "output"), JSON_COMPACT);
		CHECK_INT(
		    lambda_parse_function_list(out, strlen(out), "Versions", &list, &next, &e), 0);
		free(next);
		next = NULL;
		free(out);
	}
	examples = json_object_get(root, "ListFunctions");
	CHECK(json_array_size(examples) > 0);
	json_array_foreach(examples, i, ex)
	{
		out = json_dumps(json_object_get(ex, "output"), JSON_COMPACT);
		CHECK_INT(
		    lambda_parse_function_list(out, strlen(out), "Functions", &list, &next, &e), 0);
		free(next);
		next = NULL;
		free(out);
	}
	CHECK(list.n >= 4);
	for (i = 0; i < list.n; i++)
		CHECK(list.items[i].code_size > 0);
	lambda_function_list_free(&list);
	json_decref(root);
	free(text);
}

TEST_CASE(refuses_malformed_lists)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"Functions\":{}}",
	    "{\"Functions\":[7]}",
	    "{\"Functions\":[{\"FunctionName\":\"f\"}]}",
	    "{\"Functions\":[{\"Version\":\"1\"}]}",
	    "{\"Functions\":[{\"FunctionName\":\"f\",\"Version\":\"1\",\"CodeSize\":-1}]}",
	    "{\"Functions\":[{\"FunctionName\":\"f\",\"Version\":\"1\",\"CodeSize\":\"9\"}]}",
	    "{\"Functions\":[{\"FunctionName\":\"f\",\"Version\":1}]}",
	    "{\"Functions\":[],\"NextMarker\":3}",
	};
	struct lambda_function_list list = {NULL, 0};
	const char *good = "{\"Functions\":[{\"FunctionName\":\"f\",\"Version\":\"$LATEST\","
	                   "\"CodeSize\":10}],\"NextMarker\":\"m/2+\"}";
	char *next = NULL;
	struct err e;
	size_t i;

	CHECK_INT(lambda_parse_function_list(good, strlen(good), "Functions", &list, &next, &e), 0);
	CHECK_STR(next, "m/2+");
	free(next);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = lambda_parse_function_list(bad[i], strlen(bad[i]), "Functions", &list,
		                                    &next, &e);
		if (rc != ERR_PARSE)
			printf("# case %zu: %s\n", i, bad[i]);
		CHECK_INT(rc, ERR_PARSE);
		CHECK(next == NULL);
	}
	CHECK_INT((int)list.n, 1);
	lambda_function_list_free(&list);
}

TEST_CASE(parses_account_settings)
{
	const char *json = "{\"AccountLimit\":{\"TotalCodeSize\":80530636800,\"CodeSizeUnzipped\":"
	                   "262144000,\"CodeSizeZipped\":52428800,\"ConcurrentExecutions\":1000,"
	                   "\"UnreservedConcurrentExecutions\":1000},\"AccountUsage\":{"
	                   "\"TotalCodeSize\":1234567,\"FunctionCount\":12}}";
	struct lambda_account_settings s;
	struct err e;

	CHECK_INT(lambda_parse_account_settings(json, strlen(json), &s, &e), 0);
	CHECK_INT(s.total_code_size_limit, 80530636800LL);
	CHECK_INT(s.total_code_size_used, 1234567);
	CHECK_INT(s.function_count, 12);
	CHECK_INT(lambda_parse_account_settings("{}", 2, &s, &e), 0);
	CHECK_INT(s.total_code_size_limit, 0);
	CHECK_INT(lambda_parse_account_settings("{\"AccountLimit\":[]}", 19, &s, &e), ERR_PARSE);
	CHECK_INT(lambda_parse_account_settings("{\"AccountLimit\":{\"TotalCodeSize\":true}}", 39,
	                                        &s, &e),
	          ERR_PARSE);
	CHECK_INT(lambda_parse_account_settings("nope", 4, &s, &e), ERR_PARSE);
}

TEST_CASE(invoke_throttle_body_is_throttling)
{
	char path[1024];
	char *body;
	size_t len = 0;
	struct err e;

	/* A real Lambda 429 body: no code in it, the type in x-amzn-ErrorType. */
	snprintf(path, sizeof(path), "%s/logs-lambda/issue-ShadowClone-46-lambda-429-body.json",
	         test_vectors_dir());
	body = test_read_file(path, &len);
	CHECK(body != NULL);
	if (!body)
		return;
	CHECK_INT(errors_parse(1, 429, body, len, "TooManyRequestsException", "rid-3", &e),
	          ERR_AWS);
	CHECK_STR(e.aws_code, "TooManyRequestsException");
	CHECK_STR(e.message, "Rate exceeded");
	CHECK_INT(errors_is_throttling(e.aws_code, 429), 1);
	free(body);
}

TEST_CASE(list_functions_pages_with_sorted_queries)
{
	static const char *const pages[] = {
	    "{\"Functions\":[{\"FunctionName\":\"a\",\"Version\":\"$LATEST\",\"CodeSize\":1}],"
	    "\"NextMarker\":\"next/page+1=\"}",
	    "{\"Functions\":[{\"FunctionName\":\"b\",\"Version\":\"$LATEST\",\"CodeSize\":2}]}",
	};
	struct lambda_function_list out = {NULL, 0};
	struct err e;

	fake_reset(pages, 2);
	CHECK_INT(lambda_list_functions((struct aws_client *)1, &out, &e), 0);
	CHECK_INT((int)out.n, 2);
	CHECK_INT((int)fake.calls, 2);
	CHECK_STR(fake.paths[0], "/2015-03-31/functions/");
	CHECK_STR(fake.queries[0], "MaxItems=50");
	CHECK_STR(fake.queries[1], "Marker=next%2Fpage%2B1%3D&MaxItems=50");
	CHECK_STR(fake.last.method, "GET");
	CHECK_STR(fake.last.service, "lambda");
	CHECK_STR(fake.last.endpoint_id, "LAMBDA");
	CHECK_INT(fake.last.protocol, AWS_PROTOCOL_REST_JSON);
	lambda_function_list_free(&out);
	fake_reset(NULL, 0);
}

TEST_CASE(list_versions_path_and_errors)
{
	static const char *const pages[] = {"{\"Versions\":[]}"};
	static const char *const missing[] = {NULL};
	struct lambda_function_list out = {NULL, 0};
	struct err e;

	fake_reset(pages, 1);
	CHECK_INT(lambda_list_versions((struct aws_client *)1, "my-fn", &out, &e), 0);
	CHECK_STR(fake.paths[0], "/2015-03-31/functions/my-fn/versions");
	fake_reset(pages, 1);
	CHECK_INT(lambda_list_versions((struct aws_client *)1,
	                               "arn:aws:lambda:us-east-1:123456789012:function:f", &out,
	                               &e),
	          0);
	CHECK_STR(fake.paths[0],
	          "/2015-03-31/functions/"
	          "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/versions");
	fake_reset(pages, 1);
	CHECK_INT(lambda_list_versions((struct aws_client *)1, "a/../b", &out, &e), ERR_INVALID);
	CHECK_INT((int)fake.calls, 0);
	fake_reset(missing, 1);
	CHECK_INT(lambda_list_versions((struct aws_client *)1, "gone", &out, &e), ERR_AWS);
	CHECK_STR(e.aws_code, "ResourceNotFoundException");
	CHECK(out.items == NULL);
	fake_reset(NULL, 0);
}

TEST_CASE(account_settings_call)
{
	static const char *const pages[] = {"{\"AccountLimit\":{\"TotalCodeSize\":100}}"};
	struct lambda_account_settings s;
	struct err e;

	fake_reset(pages, 1);
	CHECK_INT(lambda_get_account_settings((struct aws_client *)1, &s, &e), 0);
	CHECK_INT(s.total_code_size_limit, 100);
	CHECK_STR(fake.paths[0], "/2016-08-19/account-settings/");
	CHECK(fake.queries[0] == NULL);
	fake_reset(NULL, 0);
}

TEST_CASE(invoke_event_sends_the_payload)
{
	static const char *const pages[] = {""};
	const char *payload = "{\"ebssh\":\"logsearch\"}";
	struct err e;
	char *big;

	fake_reset(pages, 1);
	CHECK_INT(
	    lambda_invoke_event((struct aws_client *)1, "ebssh-api", payload, strlen(payload), &e),
	    0);
	CHECK_STR(fake.paths[0], "/2015-03-31/functions/ebssh-api/invocations");
	CHECK_STR(fake.last.method, "POST");
	CHECK_STR(fake.last_body, payload);
	CHECK_STR(fake.invocation_type, "Event");
	CHECK_STR(fake.last.content_type, "application/json");

	fake_reset(pages, 1);
	CHECK_INT(lambda_invoke_event((struct aws_client *)1, "", payload, 1, &e), ERR_INVALID);
	CHECK_INT(lambda_invoke_event((struct aws_client *)1, "a b", payload, 1, &e), ERR_INVALID);
	big = calloc(1, ((size_t)256 << 10) + 2);
	CHECK_INT(
	    lambda_invoke_event((struct aws_client *)1, "f", big, ((size_t)256 << 10) + 1, &e),
	    ERR_INVALID);
	free(big);
	CHECK_INT((int)fake.calls, 0);
	fake_reset(NULL, 0);
}

/* Invoke's FunctionName pattern of botocore's model, whole. */
TEST_CASE(invoke_targets_follow_botocores_pattern)
{
	static const char *const good[] = {
	    "f",
	    "my-function_1.v2",
	    "my-function:7",
	    "my-function:$LATEST",
	    "my-function:live",
	    "123456789012:function:my-function",
	    "arn:aws:lambda:eu-west-1:123456789012:function:stack-lookup",
	    "arn:aws:lambda:eu-west-1:123456789012:function:stack-lookup:12",
	    "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:live",
	    "arn:aws-cn:lambda:cn-north-1:123456789012:function:f",
	};
	static const char *const bad[] = {
	    "",
	    "my function",
	    "f:1:2",
	    "f:",
	    "arn:aws:s3:::bucket",
	    "arn:aws:lambda:eu-west-1:123456789012:stack-lookup",
	    "arn:aws:lambda:eu-west-1:12345:function:f",
	    "arn:aws:lambda:EU-WEST-1:123456789012:function:f",
	    "f:ver.1",
	    "12345678901:function:f",
	};
	char long_name[LAMBDA_MAX_QUALIFIED + 2];
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (lambda_check_invoke_target(good[i], &e) != 0)
			printf("# refused: %s (%s)\n", good[i], e.message);
		CHECK_INT(lambda_check_invoke_target(good[i], &e), 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (lambda_check_invoke_target(bad[i], &e) != ERR_INVALID)
			printf("# accepted: %s\n", bad[i]);
		CHECK_INT(lambda_check_invoke_target(bad[i], &e), ERR_INVALID);
	}
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CHECK_INT(lambda_check_invoke_target(long_name, &e), ERR_INVALID);
	long_name[65] = '\0';
	CHECK_INT(lambda_check_invoke_target(long_name, &e), ERR_INVALID); /* a name is <= 64 */
	long_name[64] = '\0';
	CHECK_INT(lambda_check_invoke_target(long_name, &e), 0);
}

TEST_CASE(invoke_sync_path_query_header_and_function_error)
{
	static const char *const ok_page[] = {"{\"statusCode\":200,\"body\":\"ok\\n\"}"};
	static const char *const missing[] = {NULL};
	const char *payload = "{\"httpMethod\":\"GET\",\"path\":\"/health\"}";
	const char *arn = "arn:aws:lambda:eu-west-1:123456789012:function:s-lookup:7";
	struct lambda_invoke_result r;
	struct err e;

	fake_reset(ok_page, 1);
	CHECK_INT(lambda_invoke_sync((struct aws_client *)1, arn, NULL, payload, strlen(payload),
	                             10000, &r, &e),
	          0);
	/* The ARN encoded once: ':' is %3A. */
	CHECK_STR(fake.paths[0],
	          "/2015-03-31/functions/"
	          "arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3As-lookup%3A7"
	          "/invocations");
	CHECK(fake.queries[0] == NULL);
	CHECK_STR(fake.invocation_type, "RequestResponse");
	CHECK_STR(fake.last_body, payload);
	CHECK_STR(fake.last.answer_header, "X-Amz-Function-Error");
	CHECK_INT((int)fake.last.budget_ms, 10000);
	CHECK_INT((int)fake.last.timeout_ms, 5000);
	CHECK(r.function_error == NULL);
	CHECK_STR(buf_str(&r.payload), "{\"statusCode\":200,\"body\":\"ok\\n\"}");
	lambda_invoke_result_free(&r);

	fake_reset(ok_page, 1);
	fake.function_error = "Unhandled";
	CHECK_INT(
	    lambda_invoke_sync((struct aws_client *)1, "s-lookup", "live", "{}", 2, 0, &r, &e), 0);
	CHECK_STR(fake.paths[0], "/2015-03-31/functions/s-lookup/invocations");
	CHECK_STR(fake.queries[0], "Qualifier=live");
	CHECK_INT((int)fake.last.timeout_ms, 0);
	CHECK_STR(r.function_error, "Unhandled");
	lambda_invoke_result_free(&r);

	fake_reset(missing, 1);
	CHECK_INT(
	    lambda_invoke_sync((struct aws_client *)1, "s-lookup:9", NULL, "{}", 2, 0, &r, &e),
	    ERR_AWS);
	CHECK_STR(e.aws_code, "ResourceNotFoundException");
	CHECK(r.function_error == NULL && r.payload.len == 0);
	lambda_invoke_result_free(&r);

	fake_reset(ok_page, 1);
	CHECK_INT(lambda_invoke_sync((struct aws_client *)1, "a b", NULL, "{}", 2, 0, &r, &e),
	          ERR_INVALID);
	CHECK_INT(lambda_invoke_sync((struct aws_client *)1, "f", "v 1", "{}", 2, 0, &r, &e),
	          ERR_INVALID);
	CHECK_INT(lambda_invoke_sync((struct aws_client *)1, "f", NULL, NULL, 0, 0, &r, &e),
	          ERR_INVALID);
	CHECK_INT((int)fake.calls, 0);
	lambda_invoke_result_free(&r);
	fake_reset(NULL, 0);
}

int main(void)
{
	RUN(invoke_targets_follow_botocores_pattern);
	RUN(invoke_sync_path_query_header_and_function_error);
	RUN(function_names_follow_lambdas_rule);
	RUN(parses_the_cli_list_functions);
	RUN(parses_the_cli_list_versions);
	RUN(parses_botocores_examples);
	RUN(refuses_malformed_lists);
	RUN(parses_account_settings);
	RUN(invoke_throttle_body_is_throttling);
	RUN(list_functions_pages_with_sorted_queries);
	RUN(list_versions_path_and_errors);
	RUN(account_settings_call);
	RUN(invoke_event_sends_the_payload);
	return TEST_DONE();
}
