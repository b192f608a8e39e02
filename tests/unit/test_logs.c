/*
 * Unit tests of aws/logs: the FilterLogEvents request body, the answer
 * parser against the AWS CLI's documented answer
 * ($EBSSH_VECTORS/awscli-examples/logs-filter-log-events.rst) and crafted
 * bad ones, the error body LocalStack recorded against real AWS read by
 * aws/errors, sorting, and the nextToken loop with its caps, against a fake
 * aws_client_call (a weak symbol, as in test_ec2.c).
 */
#include "test.h"

#include <jansson.h>
#include <stdint.h>

#include "aws/client.h"
#include "aws/errors.h"
#include "aws/logs.h"
#include "util/buf.h"

#define FAKE_MAX_CALLS 300

static struct {
	const char *const *pages; /* answer of call i (the last repeats); NULL: fail */
	size_t n_pages;
	int endless; /* every answer carries a fresh nextToken */
	size_t calls;
	char *bodies[FAKE_MAX_CALLS];
	struct aws_call last;
} fake;

static void fake_reset(const char *const *pages, size_t n_pages)
{
	size_t i;

	for (i = 0; i < FAKE_MAX_CALLS; i++)
		free(fake.bodies[i]);
	memset(&fake, 0, sizeof(fake));
	fake.pages = pages;
	fake.n_pages = n_pages;
}

__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	size_t i = fake.calls++;
	const char *page;
	char endless[128];

	(void)c;
	fake.last = *call;
	if (i < FAKE_MAX_CALLS) {
		fake.bodies[i] = strndup(call->body, call->body_len);
	}
	if (fake.endless) {
		snprintf(endless, sizeof(endless),
		         "{\"events\":[{\"timestamp\":%zu,\"eventId\":\"e%zu\"}],\"nextToken\":\"t%"
		         "zu\"}",
		         i, i, i);
		page = endless;
	} else {
		page = fake.pages[i < fake.n_pages ? i : fake.n_pages - 1];
	}
	if (!page)
		return err_set_aws(e, ERR_AWS, 400, "ResourceNotFoundException", "rid-1",
		                   "The specified log group does not exist.");
	buf_init(body, 0);
	return buf_append_str(body, page);
}

/* The JSON of the first "Output::" block of an AWS CLI example, compact. */
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

TEST_CASE(request_body_has_what_is_set)
{
	struct logs_filter f = {"/aws/lambda/my-fn", "\"c0ffee-1\"", 1000, 2000, 0, 0};
	struct buf b;
	struct err e;

	buf_init(&b, 0);
	CHECK_INT(logs_filter_request(&f, NULL, &b, &e), 0);
	CHECK_STR(buf_str(&b), "{\"logGroupName\":\"/aws/lambda/my-fn\",\"filterPattern\":"
	                       "\"\\\"c0ffee-1\\\"\",\"startTime\":1000,\"endTime\":2000}");
	buf_free(&b);

	f.filter_pattern = NULL;
	f.start_ms = f.end_ms = 0;
	buf_init(&b, 0);
	CHECK_INT(logs_filter_request(&f, "tok/+=", &b, &e), 0);
	CHECK_STR(buf_str(&b), "{\"logGroupName\":\"/aws/lambda/my-fn\",\"nextToken\":\"tok/+=\"}");
	buf_free(&b);
}

TEST_CASE(request_body_refuses_bad_filters)
{
	struct logs_filter f = {NULL, NULL, 0, 0, 0, 0};
	struct buf b;
	struct err e;

	buf_init(&b, 0);
	CHECK_INT(logs_filter_request(&f, NULL, &b, &e), ERR_INVALID);
	f.log_group = "g";
	f.start_ms = 5;
	f.end_ms = 4;
	CHECK_INT(logs_filter_request(&f, NULL, &b, &e), ERR_INVALID);
	CHECK(strstr(e.message, "start is after the end") != NULL);
	CHECK_INT((int)b.len, 0);
	buf_free(&b);
}

TEST_CASE(parses_the_cli_example)
{
	struct logs_event_list list = {NULL, 0, 0};
	char *json = cli_example_output("logs-filter-log-events.rst");
	char *next = (char *)"x";
	struct err e;

	CHECK(json != NULL);
	if (!json)
		return;
	CHECK_INT(logs_parse_filter_response(json, strlen(json), &list, &next, &e), 0);
	CHECK(next == NULL);
	CHECK_INT((int)list.n, 2);
	if (list.n == 2) {
		CHECK_INT(list.items[0].timestamp, 1712567843827LL);
		CHECK_STR(list.items[0].log_stream, "teststream");
		CHECK_STR(list.items[0].message, "Test MESSAGE1");
		CHECK_STR(list.items[0].event_id,
		          "00091539120382912324200901570000096855579456010247667712");
		CHECK_INT(list.items[1].timestamp, 1712568068991LL);
		CHECK_STR(list.items[1].log_stream, "2024/05/09/[$LATEST]abc1024");
	}
	logs_event_list_free(&list);
	free(json);
}

TEST_CASE(parses_next_token_and_appends)
{
	struct logs_event_list list = {NULL, 0, 0};
	const char *p1 = "{\"events\":[{\"timestamp\":3,\"message\":\"a\"}],\"nextToken\":\"N1\","
	                 "\"searchedLogStreams\":[]}";
	const char *p2 = "{\"events\":[],\"nextToken\":\"\"}";
	char *next = NULL;
	struct err e;

	CHECK_INT(logs_parse_filter_response(p1, strlen(p1), &list, &next, &e), 0);
	CHECK_STR(next, "N1");
	free(next);
	CHECK_INT(logs_parse_filter_response(p2, strlen(p2), &list, &next, &e), 0);
	CHECK(next == NULL); /* an empty token ends the pages */
	CHECK_INT((int)list.n, 1);
	CHECK_STR(list.items[0].log_stream, "");
	CHECK_STR(list.items[0].event_id, "");
	logs_event_list_free(&list);
}

TEST_CASE(refuses_malformed_answers)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"events\":{}}",
	    "{\"events\":[1]}",
	    "{\"events\":[{\"timestamp\":\"12\"}]}",
	    "{\"events\":[{\"timestamp\":1.5}]}",
	    "{\"events\":[{\"message\":7}]}",
	    "{\"events\":[],\"nextToken\":5}",
	    "{\"events\":[{\"timestamp\":1}]",
	    "{\"events\":[],\"events\":[]}",
	};
	struct logs_event_list list = {NULL, 0, 0};
	const char *keep = "{\"events\":[{\"timestamp\":1,\"message\":\"kept\"}]}";
	char *next = NULL;
	struct err e;
	size_t i;

	CHECK_INT(logs_parse_filter_response(keep, strlen(keep), &list, &next, &e), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = logs_parse_filter_response(bad[i], strlen(bad[i]), &list, &next, &e);
		if (rc != ERR_PARSE)
			printf("# case %zu: %s\n", i, bad[i]);
		CHECK_INT(rc, ERR_PARSE);
		CHECK(next == NULL);
	}
	/* A bad page leaves earlier pages as they were. */
	CHECK_INT((int)list.n, 1);
	CHECK_STR(list.items[0].message, "kept");
	logs_event_list_free(&list);
}

TEST_CASE(error_bodies_from_real_aws)
{
	char path[1024];
	char *snap, *body;
	json_t *root, *err, *wire;
	struct err e;

	/* LocalStack's snapshot, recorded against AWS, in boto3's parsed form;
	 * on the wire the JSON protocol sends {"__type", "message"}. */
	snprintf(path, sizeof(path),
	         "%s/logs-lambda/localstack-test_logs_filter_events.snapshot.json",
	         test_vectors_dir());
	snap = test_read_file(path, NULL);
	CHECK(snap != NULL);
	if (!snap)
		return;
	root = json_loads(snap, 0, NULL);
	err = json_object_get(
	    json_object_get(
	        json_object_get(json_object_get(root,
	                                        "tests/aws/services/logs/"
	                                        "test_logs_filter_events.py::TestFilterLogEvents:"
	                                        ":test_filter_log_events_unknown_token"),
	                        "recorded-content"),
	        "invalid-token"),
	    "Error");
	CHECK(err != NULL);
	wire = json_pack("{s:s, s:O}", "__type", "com.amazonaws.logs#InvalidParameterException",
	                 "message", json_object_get(err, "Message"));
	body = json_dumps(wire, JSON_COMPACT);
	json_decref(wire);
	CHECK(body != NULL);
	if (!body)
		return;
	CHECK_INT(errors_parse(1, 400, body, strlen(body), NULL, "rid-9", &e), ERR_AWS);
	CHECK_STR(e.aws_code, "InvalidParameterException");
	CHECK_STR(e.message, "The specified nextToken is invalid.");
	CHECK_STR(e.request_id, "rid-9");
	CHECK_INT(errors_is_throttling(e.aws_code, 400), 0);
	CHECK_INT(errors_is_throttling("ThrottlingException", 400), 1);
	free(body);
	json_decref(root);
	free(snap);
}

TEST_CASE(sorts_by_time_then_id_stably)
{
	struct logs_event ev[5] = {
	    {30, "s", (char *)"c", (char *)"b"},      {10, "s", (char *)"a", (char *)"z"},
	    {30, "s", (char *)"d", (char *)"a"},      {20, "s", (char *)"first", (char *)"x"},
	    {20, "s", (char *)"second", (char *)"x"},
	};
	struct logs_event_list list = {ev, 5, 0};

	logs_sort(&list);
	CHECK_STR(ev[0].message, "a");
	CHECK_STR(ev[1].message, "first");
	CHECK_STR(ev[2].message, "second");
	CHECK_STR(ev[3].message, "d");
	CHECK_STR(ev[4].message, "c");
}

TEST_CASE(pager_follows_tokens_and_sorts)
{
	static const char *const pages[] = {
	    "{\"events\":[{\"timestamp\":50,\"message\":\"late\",\"eventId\":\"5\"}],"
	    "\"nextToken\":\"A\"}",
	    "{\"events\":[],\"nextToken\":\"B\"}",
	    "{\"events\":[{\"timestamp\":10,\"message\":\"early\",\"eventId\":\"1\"}]}",
	};
	struct logs_filter f = {"/aws/lambda/fn", "\"rid\"", 0, 0, 0, 0};
	struct logs_event_list out = {NULL, 0, 0};
	struct err e;

	fake_reset(pages, 3);
	CHECK_INT(logs_filter_log_events((struct aws_client *)1, &f, &out, &e), 0);
	CHECK_INT((int)fake.calls, 3);
	CHECK_INT((int)out.n, 2);
	CHECK_INT(out.truncated, 0);
	if (out.n == 2) {
		CHECK_STR(out.items[0].message, "early");
		CHECK_STR(out.items[1].message, "late");
	}
	CHECK_STR(fake.bodies[0],
	          "{\"logGroupName\":\"/aws/lambda/fn\",\"filterPattern\":\"\\\"rid\\\"\"}");
	CHECK(strstr(fake.bodies[1], "\"nextToken\":\"A\"") != NULL);
	CHECK(strstr(fake.bodies[2], "\"nextToken\":\"B\"") != NULL);
	CHECK_STR(fake.last.target, "Logs_20140328.FilterLogEvents");
	CHECK_STR(fake.last.content_type, "application/x-amz-json-1.1");
	CHECK_STR(fake.last.service, "logs");
	CHECK_STR(fake.last.endpoint_id, "CLOUDWATCH_LOGS");
	CHECK_STR(fake.last.endpoint_prefix, "logs");
	CHECK_INT(fake.last.protocol, AWS_PROTOCOL_JSON);
	logs_event_list_free(&out);
	fake_reset(NULL, 0);
}

TEST_CASE(pager_stops_at_the_caps)
{
	struct logs_filter f = {"/aws/lambda/fn", NULL, 0, 0, 7, 0};
	struct logs_event_list out = {NULL, 0, 0};
	struct err e;

	fake_reset(NULL, 0);
	fake.endless = 1;
	CHECK_INT(logs_filter_log_events((struct aws_client *)1, &f, &out, &e), 0);
	CHECK_INT((int)fake.calls, 7);
	CHECK_INT((int)out.n, 7);
	CHECK_INT(out.truncated, 1);
	logs_event_list_free(&out);

	f.max_pages = 0;
	f.max_events = 3;
	fake_reset(NULL, 0);
	fake.endless = 1;
	CHECK_INT(logs_filter_log_events((struct aws_client *)1, &f, &out, &e), 0);
	CHECK_INT((int)fake.calls, 3);
	CHECK_INT((int)out.n, 3);
	CHECK_INT(out.truncated, 1);
	logs_event_list_free(&out);
	fake_reset(NULL, 0);
}

/* A deadline that runs out once two pages were read. */
static int after_two_pages(void *arg)
{
	(void)arg;
	return fake.calls >= 2;
}

TEST_CASE(pager_stops_when_asked)
{
	struct logs_filter f = {"/aws/lambda/fn", NULL, 0, 0, 0, 0};
	struct logs_event_list out = {NULL, 0, 0};
	struct err e;

	fake_reset(NULL, 0);
	fake.endless = 1;
	CHECK_INT(logs_filter_log_events_until((struct aws_client *)1, &f, after_two_pages, NULL,
	                                       &out, &e),
	          0);
	CHECK_INT((int)fake.calls, 2);
	CHECK_INT((int)out.n, 2);
	CHECK_INT(out.truncated, 1);
	logs_event_list_free(&out);
	fake_reset(NULL, 0);
}

TEST_CASE(pager_refuses_a_repeated_token_and_keeps_errors)
{
	static const char *const same[] = {"{\"events\":[],\"nextToken\":\"A\"}"};
	static const char *const fails[] = {"{\"events\":[{\"timestamp\":1}],\"nextToken\":\"A\"}",
	                                    NULL};
	struct logs_filter f = {"/aws/lambda/fn", NULL, 0, 0, 0, 0};
	struct logs_event_list out = {NULL, 0, 0};
	struct err e;

	fake_reset(same, 1);
	CHECK_INT(logs_filter_log_events((struct aws_client *)1, &f, &out, &e), ERR_PARSE);
	CHECK_INT((int)fake.calls, 2);
	CHECK_INT((int)out.n, 0);

	fake_reset(fails, 2);
	CHECK_INT(logs_filter_log_events((struct aws_client *)1, &f, &out, &e), ERR_AWS);
	CHECK_STR(e.aws_code, "ResourceNotFoundException");
	CHECK(out.items == NULL);
	CHECK_INT((int)out.n, 0);
	fake_reset(NULL, 0);
}

int main(void)
{
	RUN(request_body_has_what_is_set);
	RUN(request_body_refuses_bad_filters);
	RUN(parses_the_cli_example);
	RUN(parses_next_token_and_appends);
	RUN(refuses_malformed_answers);
	RUN(error_bodies_from_real_aws);
	RUN(sorts_by_time_then_id_stably);
	RUN(pager_follows_tokens_and_sorts);
	RUN(pager_stops_at_the_caps);
	RUN(pager_stops_when_asked);
	RUN(pager_refuses_a_repeated_token_and_keeps_errors);
	return TEST_DONE();
}
