/*
 * Unit tests of lambda/storage: collecting over ListFunctions,
 * ListVersionsByFunction (a function deleted between the calls is left
 * out) and GetAccountSettings against a fake AWS (aws_client_call and
 * aws_client_region as weak symbols, as in test_ec2.c), the order
 * biggest first, the JSON and text forms, the schedule's rule names, the
 * metric's PutMetricData body, and a deadline that runs out mid-way.
 */
#include "test.h"

#include <jansson.h>
#include <stdint.h>

#include "aws/client.h"
#include "lambda/ops/storage.h"
#include "util/buf.h"

static struct {
	size_t calls;
	char paths[32][160];
	char *last_body;
	int fail_settings;
} fake;

__attribute__((weak)) const char *aws_client_region(const struct aws_client *c)
{
	(void)c;
	return "eu-west-1";
}

static const char *answer_for(const char *path, const char *query)
{
	if (strcmp(path, "/2015-03-31/functions/") == 0)
		return query && strstr(query, "Marker=")
		           ? "{\"Functions\":[{\"FunctionName\":\"gone\",\"Version\":\"$LATEST\","
		             "\"CodeSize\":5},{\"FunctionName\":\"b\",\"Version\":\"$LATEST\","
		             "\"CodeSize\":300}]}"
		           : "{\"Functions\":[{\"FunctionName\":\"a\",\"Version\":\"$LATEST\","
		             "\"CodeSize\":100}],\"NextMarker\":\"p2\"}";
	if (strcmp(path, "/2015-03-31/functions/a/versions") == 0)
		return query && strstr(query, "Marker=")
		           ? "{\"Versions\":[{\"FunctionName\":\"a\",\"Version\":\"2\","
		             "\"CodeSize\":"
		             "300}]}"
		           : "{\"Versions\":[{\"FunctionName\":\"a\",\"Version\":\"$LATEST\","
		             "\"CodeSize\":100},{\"FunctionName\":\"a\",\"Version\":\"1\","
		             "\"CodeSize\":"
		             "700}],\"NextMarker\":\"v2\"}";
	if (strcmp(path, "/2015-03-31/functions/b/versions") == 0)
		return "{\"Versions\":[{\"FunctionName\":\"b\",\"Version\":\"$LATEST\","
		       "\"CodeSize\":"
		       "300}]}";
	if (strcmp(path, "/2015-03-31/functions/gone/versions") == 0)
		return NULL;
	if (strcmp(path, "/2016-08-19/account-settings/") == 0)
		return "{\"AccountLimit\":{\"TotalCodeSize\":10000},\"AccountUsage\":{"
		       "\"TotalCodeSize\":1500,\"FunctionCount\":3}}";
	return "";
}

__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	const char *page;

	(void)c;
	if (fake.calls < 32)
		snprintf(fake.paths[fake.calls], sizeof(fake.paths[0]), "%s %s?%s", call->method,
		         call->path, call->query ? call->query : "");
	fake.calls++;
	free(fake.last_body);
	fake.last_body = call->body ? strndup(call->body, call->body_len) : NULL;
	if (strcmp(call->service, "monitoring") == 0) {
		buf_init(body, 0);
		return buf_append_str(body, "<PutMetricDataResponse/>");
	}
	if (fake.fail_settings && strstr(call->path, "account-settings"))
		return err_set_aws(e, ERR_THROTTLED, 429, "TooManyRequestsException", "r", "Rate");
	page = answer_for(call->path, call->query);
	if (!page)
		return err_set_aws(e, ERR_AWS, 404, "ResourceNotFoundException", "r",
		                   "Function not found");
	buf_init(body, 0);
	return buf_append_str(body, page);
}

TEST_CASE(collects_every_version_biggest_first)
{
	struct storage_report r;
	struct err e;

	memset(&fake, 0, sizeof(fake));
	CHECK_INT(storage_collect((struct aws_client *)1, &r, &e), 0);
	CHECK_INT((int)r.n, 4);
	CHECK_INT((int)r.functions, 2);
	CHECK_INT(r.total, 100 + 700 + 300 + 300);
	CHECK_INT(r.limit, 10000);
	CHECK_INT(r.account_usage, 1500);
	CHECK_STR(r.region, "eu-west-1");
	if (r.n == 4) {
		CHECK_STR(r.items[0].function, "a");
		CHECK_STR(r.items[0].version, "1");
		/* Ties: by function, then $LATEST before numbers. */
		CHECK_STR(r.items[1].function, "a");
		CHECK_STR(r.items[1].version, "2");
		CHECK_STR(r.items[2].function, "b");
		CHECK_STR(r.items[2].version, "$LATEST");
		CHECK_STR(r.items[3].version, "$LATEST");
		CHECK_INT(r.items[3].code_size, 100);
	}
	CHECK(storage_percent(&r) > 13.99 && storage_percent(&r) < 14.01);
	CHECK_INT((int)fake.calls, 7);
	CHECK_STR(fake.paths[0], "GET /2015-03-31/functions/?MaxItems=50");
	CHECK_STR(fake.paths[1], "GET /2015-03-31/functions/?Marker=p2&MaxItems=50");
	CHECK_STR(fake.paths[3], "GET /2015-03-31/functions/a/versions?Marker=v2&MaxItems=50");
	CHECK_STR(fake.paths[6], "GET /2016-08-19/account-settings/?");
	storage_report_free(&r);
	free(fake.last_body);
	fake.last_body = NULL;
}

TEST_CASE(errors_leave_nothing)
{
	struct storage_report r;
	struct err e;

	memset(&fake, 0, sizeof(fake));
	fake.fail_settings = 1;
	CHECK_INT(storage_collect((struct aws_client *)1, &r, &e), ERR_THROTTLED);
	CHECK_STR(e.aws_code, "TooManyRequestsException");
	CHECK(r.items == NULL && r.n == 0 && r.region == NULL);
	free(fake.last_body);
	fake.last_body = NULL;
}

/* A clock one second further on for each AWS call made so far. */
#define DEADLINE_BASE_MS 1700000000000LL
static int64_t clock_by_calls(struct service_context *ctx)
{
	(void)ctx;
	return DEADLINE_BASE_MS + (int64_t)fake.calls * 1000;
}

TEST_CASE(deadline_mid_work_reports_partial)
{
	struct service_context ctx = {0};
	struct storage_report r;
	struct buf out;
	struct err e;

	/* Two ListFunctions pages, then function a's two pages of versions:
	 * 4 s gone, and with the margin the next function is past the deadline. */
	memset(&fake, 0, sizeof(fake));
	ctx.deadline_ms = DEADLINE_BASE_MS + SERVICE_DEADLINE_MARGIN_MS + 2500;
	ctx.clock_ms = clock_by_calls;
	CHECK_INT(storage_collect_within((struct aws_client *)1, &ctx, &r, &e), 0);
	CHECK_INT(r.partial, 1);
	CHECK_INT((int)r.functions, 3);
	CHECK_INT((int)r.functions_left, 2);
	CHECK_INT((int)r.n, 3);
	CHECK_INT(r.total, 100 + 700 + 300);
	CHECK_INT(r.limit, 10000);
	CHECK_INT((int)fake.calls, 5);
	CHECK_STR(fake.paths[4], "GET /2016-08-19/account-settings/?");
	buf_init(&out, 0);
	CHECK_INT(storage_format_json(&r, &out), 0);
	CHECK(strstr(buf_str(&out), "\"partial\":true,\"functions_left\":2}") != NULL);
	buf_reset(&out);
	CHECK_INT(storage_format_text(&r, &out), 0);
	CHECK(strstr(buf_str(&out),
	             "(partial: the time ran out before 2 functions could be listed)\n") != NULL);
	buf_free(&out);
	storage_report_free(&r);

	/* The schedule puts no metric from a partial report and says so. */
	memset(&fake, 0, sizeof(fake));
	ctx.aws = (struct aws_client *)1;
	CHECK_INT(storage_scheduled(&ctx, &e), ERR_TIMEOUT);
	CHECK_STR(e.message, "the invocation's time ran out with 2 of 3 functions not listed; "
	                     "no metric put");
	CHECK_INT((int)fake.calls, 5);

	/* No deadline: the whole report, as before. */
	memset(&fake, 0, sizeof(fake));
	ctx.deadline_ms = 0;
	CHECK_INT(storage_collect_within((struct aws_client *)1, &ctx, &r, &e), 0);
	CHECK_INT(r.partial, 0);
	CHECK_INT((int)r.n, 4);
	storage_report_free(&r);
	free(fake.last_body);
	fake.last_body = NULL;
}

static void sample(struct storage_report *r, struct storage_item *items)
{
	memset(r, 0, sizeof(*r));
	items[0] = (struct storage_item){(char *)"big", (char *)"3", 3LL << 30};
	items[1] = (struct storage_item){(char *)"small", (char *)"$LATEST", 1536};
	items[2] = (struct storage_item){(char *)"tiny", (char *)"$LATEST", 10};
	r->items = items;
	r->n = 3;
	r->functions = 3;
	r->total = (3LL << 30) + 1536 + 10;
	r->limit = 80530636800LL;
	r->account_usage = r->total + 5;
	r->region = (char *)"us-east-1";
}

TEST_CASE(json_form)
{
	struct storage_item items[3];
	struct storage_report r;
	json_t *root, *v;
	struct buf b;

	sample(&r, items);
	buf_init(&b, 0);
	CHECK_INT(storage_format_json(&r, &b), 0);
	root = json_loads(buf_str(&b), 0, NULL);
	CHECK(root != NULL);
	CHECK_STR(json_string_value(json_object_get(root, "region")), "us-east-1");
	CHECK_INT(json_integer_value(json_object_get(root, "total_bytes")), r.total);
	CHECK_INT(json_integer_value(json_object_get(root, "limit_bytes")), 80530636800LL);
	CHECK_INT(json_integer_value(json_object_get(root, "account_usage_bytes")), r.total + 5);
	CHECK_INT(json_integer_value(json_object_get(root, "functions")), 3);
	CHECK(json_real_value(json_object_get(root, "percent_of_limit")) == 4.0);
	v = json_object_get(root, "versions");
	CHECK_INT((int)json_array_size(v), 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(v, 1), "function")), "small");
	CHECK_STR(json_string_value(json_object_get(json_array_get(v, 1), "version")), "$LATEST");
	CHECK_INT(json_integer_value(json_object_get(json_array_get(v, 1), "code_size")), 1536);
	json_decref(root);
	buf_free(&b);
}

TEST_CASE(text_form)
{
	struct storage_item items[3], many[STORAGE_TEXT_ROWS + 3];
	struct storage_report r;
	struct buf b;
	size_t i;

	sample(&r, items);
	buf_init(&b, 0);
	CHECK_INT(storage_format_text(&r, &b), 0);
	CHECK_STR(buf_str(&b), "Lambda code storage in us-east-1: 3.0 GiB of 75.0 GiB (4.0 %), "
	                       "3 functions, 3 versions\n"
	                       "   3.0 GiB  big:3\n"
	                       "   1.5 KiB  small:$LATEST\n"
	                       "      10 B  tiny:$LATEST\n");
	buf_free(&b);

	for (i = 0; i < STORAGE_TEXT_ROWS + 3; i++)
		many[i] = (struct storage_item){(char *)"f", (char *)"1", 1024};
	r.items = many;
	r.n = STORAGE_TEXT_ROWS + 3;
	r.limit = 0;
	r.region = NULL;
	r.functions = 1;
	r.total = 1024 * (STORAGE_TEXT_ROWS + 3);
	buf_init(&b, 0);
	CHECK_INT(storage_format_text(&r, &b), 0);
	CHECK(strncmp(buf_str(&b), "Lambda code storage: 23.0 KiB (limit unknown), 1 function\n",
	              58) == 0);
	CHECK(strstr(buf_str(&b), "   3.0 KiB  (3 more versions)\n") != NULL);
	buf_free(&b);
}

TEST_CASE(rule_names)
{
	CHECK_INT(storage_is_rule("ebssh-lambda-storage"), 1);
	CHECK_INT(storage_is_rule("lambda-storage"), 1);
	CHECK_INT(storage_is_rule("ebssh-ami-backup"), 0);
	CHECK_INT(storage_is_rule("lambda-storage-old"), 0);
	CHECK_INT(storage_is_rule(""), 0);
	CHECK_INT(storage_is_rule(NULL), 0);
}

TEST_CASE(metric_body)
{
	struct storage_item items[3];
	struct storage_report r;
	struct err e;

	sample(&r, items);
	memset(&fake, 0, sizeof(fake));
	CHECK_INT(storage_put_metrics((struct aws_client *)1, &r, &e), 0);
	CHECK_STR(fake.last_body, "Action=PutMetricData&Version=2010-08-01&Namespace=ebssh"
	                          "&MetricData.member.1.MetricName=LambdaCodeStorageBytes"
	                          "&MetricData.member.1.Value=3221227018"
	                          "&MetricData.member.1.Unit=Bytes"
	                          "&MetricData.member.2.MetricName=LambdaCodeStorageLimitPercent"
	                          "&MetricData.member.2.Value=4.000001919766267"
	                          "&MetricData.member.2.Unit=Percent");
	r.limit = 0;
	CHECK_INT(storage_put_metrics((struct aws_client *)1, &r, &e), 0);
	CHECK(strstr(fake.last_body, "member.2") == NULL);
	free(fake.last_body);
	fake.last_body = NULL;
}

int main(void)
{
	RUN(collects_every_version_biggest_first);
	RUN(errors_leave_nothing);
	RUN(deadline_mid_work_reports_partial);
	RUN(json_form);
	RUN(text_form);
	RUN(rule_names);
	RUN(metric_body);
	return TEST_DONE();
}
