/*
 * Unit tests of lambda/logsearch: request ids, ISO 8601 times and windows,
 * the text and JSON answers (one event one line, escapes, the size cap),
 * the slash command's text, and the self-invocation payload read back by
 * event_parse as the runtime will see it.
 */
#include "test.h"

#include <jansson.h>
#include <stdint.h>

#include "lambda/front/event.h"
#include "lambda/ops/logsearch.h"
#include "util/buf.h"

TEST_CASE(request_ids)
{
	static const char *const bad[] = {
	    "",
	    "abcdefgh",
	    "1-AB-cd9",
	    "c0ffee00-1111-2222-3333-44445555666",   /* one digit short */
	    "c0ffee00-1111-2222-3333-4444555566667", /* one digit long */
	    "c0ffee0-01111-2222-3333-444455556666",  /* a hyphen misplaced */
	    "c0ffee00_1111-2222-3333-444455556666",
	    "g0ffee00-1111-2222-3333-444455556666", /* not hex */
	    "c0ffee00-1111-2222-3333-44445555666\"",
	    "c0ffee00-1111-2222-3333-444455556666 ",
	    " c0ffee00-1111-2222-3333-444455556666",
	    "c0ffee00111122223333444455556666",
	    "ERROR",
	    "*",
	};
	struct err e;
	size_t i;

	CHECK_INT(logsearch_check_request_id("c0ffee00-1111-2222-3333-444455556666", &e), 0);
	CHECK_INT(logsearch_check_request_id("C0FFEE00-AbCd-2222-3333-444455556666", &e), 0);
	CHECK_INT(logsearch_check_request_id("00000000-0000-0000-0000-000000000000", &e), 0);
	CHECK_INT(logsearch_check_request_id(NULL, &e), ERR_INVALID);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (logsearch_check_request_id(bad[i], &e) != ERR_INVALID)
			printf("# accepted '%s'\n", bad[i]);
		CHECK_INT(logsearch_check_request_id(bad[i], &e), ERR_INVALID);
	}
	CHECK(strstr(e.message, "UUID") != NULL);
}

TEST_CASE(allow_list)
{
	char *names = NULL;
	struct err e;

	unsetenv("LOGSEARCH_FUNCTIONS");
	unsetenv("AWS_LAMBDA_FUNCTION_NAME");
	CHECK_INT(logsearch_allowed("my-fn", &e), ERR_NOT_FOUND);
	CHECK(strstr(e.message, "LOGSEARCH_FUNCTIONS is not set") != NULL);
	CHECK_INT(logsearch_allowed_names(&names, &e), ERR_NOT_FOUND);
	/* By default the function itself, and only it. */
	setenv("AWS_LAMBDA_FUNCTION_NAME", "s-lookup", 1);
	CHECK_INT(logsearch_allowed("s-lookup", &e), 0);
	CHECK_INT(logsearch_allowed("s-lookup2", &e), ERR_INVALID);
	CHECK_INT(logsearch_allowed_names(&names, &e), 0);
	CHECK_STR(names, "s-lookup");
	free(names);
	setenv("LOGSEARCH_FUNCTIONS", "my-fn,app-*,other", 1);
	CHECK_INT(logsearch_allowed("s-lookup", &e), ERR_INVALID);
	CHECK(strstr(e.message, "'s-lookup' is not one LOGSEARCH_FUNCTIONS allows") != NULL);
	CHECK_INT(logsearch_allowed("my-fn", &e), 0);
	CHECK_INT(logsearch_allowed("app-web", &e), 0);
	CHECK_INT(logsearch_allowed("app", &e), ERR_INVALID);
	CHECK_INT(logsearch_allowed_names(&names, &e), 0);
	CHECK_STR(names, "my-fn,other");
	free(names);
	setenv("LOGSEARCH_FUNCTIONS", "app-*,*-worker", 1);
	names = NULL;
	CHECK_INT(logsearch_allowed_names(&names, &e), ERR_INVALID);
	CHECK(names == NULL);
	CHECK(strstr(e.message, "only patterns") != NULL);
	unsetenv("LOGSEARCH_FUNCTIONS");
	unsetenv("AWS_LAMBDA_FUNCTION_NAME");
}

TEST_CASE(iso_times)
{
	static const struct {
		const char *text;
		long long ms;
	} good[] = {
	    {"2024-05-01", 1714521600000LL},
	    {"2024-05-01T12:00", 1714564800000LL},
	    {"2024-05-01T12:00:30Z", 1714564830000LL},
	    {"2024-05-01t12:00:30z", 1714564830000LL},
	    {"2024-05-01T12:00:30.5Z", 1714564830500LL},
	    {"2024-05-01T12:00:30.123456789Z", 1714564830123LL},
	    {"2024-05-01T14:00:30+02:00", 1714564830000LL},
	    {"2024-05-01T14:00:30 02:00", 1714564830000LL}, /* '+' decoded as a space */
	    {"2024-05-01T07:00:30-0500", 1714564830000LL},
	    {"2024-02-29T00:00:00Z", 1709164800000LL},
	    {"1970-01-01T00:00:00Z", 0},
	};
	static const char *const bad[] = {
	    "",
	    "2024-5-01",
	    "2024-05-01T12",
	    "2024-05-01T12:00:60Z",
	    "2023-02-29",
	    "2024-13-01",
	    "2024-04-31",
	    "2024-05-01T24:00",
	    "2024-05-01T12:00:30.Z",
	    "2024-05-01T12:00:30+2",
	    "2024-05-01T12:00:30+24:00",
	    "2024-05-01T12:00:30Zjunk",
	    "2024-05-01 12:00:00",
	    "1969-12-31T23:59:59Z",
	    "1714564830000",
	    "1970-01-01T00:00:00+01:00",
	};
	int64_t ms;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = -1;
		if (logsearch_parse_time(good[i].text, &ms, &e) != 0 || ms != good[i].ms)
			printf("# %s -> %lld\n", good[i].text, (long long)ms);
		CHECK_INT(ms, good[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = logsearch_parse_time(bad[i], &ms, &e);
		if (rc != ERR_INVALID)
			printf("# accepted %s\n", bad[i]);
		CHECK_INT(rc, ERR_INVALID);
	}
	CHECK(strstr(e.message, "ISO 8601") != NULL);
}

TEST_CASE(time_format)
{
	char out[40];

	logsearch_format_time(1714564830123LL, out, sizeof(out));
	CHECK_STR(out, "2024-05-01T12:00:30.123Z");
	logsearch_format_time(0, out, sizeof(out));
	CHECK_STR(out, "1970-01-01T00:00:00.000Z");
	logsearch_format_time(1440442987001LL, out, sizeof(out));
	CHECK_STR(out, "2015-08-24T19:03:07.001Z");
}

TEST_CASE(windows)
{
	const time_t now = 1714564830;
	int64_t s, t;
	struct err e;

	CHECK_INT(logsearch_window(NULL, NULL, now, &s, &t, &e), 0);
	CHECK_INT(t, 1714564830000LL);
	CHECK_INT(s, 1714564830000LL - 86400000LL);
	CHECK_INT(logsearch_window("", "", now, &s, &t, &e), 0);
	CHECK_INT(t - s, 86400000LL);
	CHECK_INT(logsearch_window("2024-04-01", NULL, now, &s, &t, &e), 0);
	CHECK_INT(s, 1711929600000LL);
	CHECK_INT(t, 1714564830000LL);
	CHECK_INT(logsearch_window(NULL, "2024-04-02", now, &s, &t, &e), 0);
	CHECK_INT(s, 1711929600000LL);
	CHECK_INT(t, 1712016000000LL);
	CHECK_INT(logsearch_window("2024-04-02", "2024-04-01", now, &s, &t, &e), ERR_INVALID);
	CHECK_STR(e.message, "the start is after the end");
	CHECK_INT(logsearch_window("yesterday", NULL, now, &s, &t, &e), ERR_INVALID);
	CHECK(strncmp(e.message, "start: ", 7) == 0);
	CHECK_INT(logsearch_window(NULL, "soon", now, &s, &t, &e), ERR_INVALID);
	CHECK(strncmp(e.message, "end: ", 5) == 0);
}

static struct logs_event ev_of(int64_t ts, const char *stream, const char *msg, const char *id)
{
	struct logs_event ev = {ts, (char *)stream, (char *)msg, (char *)id};
	return ev;
}

TEST_CASE(text_answer)
{
	struct logs_event evs[3];
	struct logs_event_list list = {evs, 3, 0};
	struct buf b;
	int truncated = -1;

	evs[0] = ev_of(1714564830123LL, "2024/05/01/[$LATEST]abc",
	               "START RequestId: r1 Version: $LATEST\n", "1");
	evs[1] = ev_of(1714564830200LL, "s\tx", "line one\nline two\r\n", "2");
	evs[2] = ev_of(1714564830300LL, "s", "a\ttab", "3");
	buf_init(&b, 0);
	CHECK_INT(logsearch_format_text(&list, &b, &truncated), 0);
	CHECK_INT(truncated, 0);
	CHECK_STR(buf_str(&b), "2024-05-01T12:00:30.123Z\t2024/05/01/[$LATEST]abc\t"
	                       "START RequestId: r1 Version: $LATEST\n"
	                       "2024-05-01T12:00:30.200Z\ts\\tx\tline one\\nline two\n"
	                       "2024-05-01T12:00:30.300Z\ts\ta\ttab\n");
	buf_free(&b);
	list.truncated = 1;
	buf_init(&b, 0);
	CHECK_INT(logsearch_format_text(&list, &b, &truncated), 0);
	CHECK_INT(truncated, 1);
	buf_free(&b);
}

TEST_CASE(text_answer_stops_at_the_cap)
{
	struct logs_event *evs = calloc(6000, sizeof(*evs));
	struct logs_event_list list = {evs, 6000, 0};
	char *big = malloc(1001);
	struct buf b;
	int truncated = 0;
	size_t i;

	memset(big, 'x', 1000);
	big[1000] = '\0';
	for (i = 0; i < 6000; i++)
		evs[i] = ev_of((int64_t)i, "s", big, "i");
	buf_init(&b, 0);
	CHECK_INT(logsearch_format_text(&list, &b, &truncated), 0);
	CHECK_INT(truncated, 1);
	CHECK(b.len <= LOGSEARCH_MAX_BODY);
	CHECK(b.len > LOGSEARCH_MAX_BODY - 2000);
	CHECK(b.data[b.len - 1] == '\n');
	buf_free(&b);
	free(big);
	free(evs);
}

TEST_CASE(json_answer)
{
	struct logs_event evs[2];
	struct logs_event_list list = {evs, 2, 0};
	json_t *root, *events;
	struct buf b;
	int truncated = -1;

	evs[0] = ev_of(1714564830123LL, "st", "m\n", "e1");
	evs[1] = ev_of(1714564830200LL, "st", "bad \xff utf-8", "e2");
	buf_init(&b, 0);
	CHECK_INT(logsearch_format_json("fn", "abcdefgh", 1000, 2000, &list, &b, &truncated), 0);
	CHECK_INT(truncated, 0);
	root = json_loads(buf_str(&b), 0, NULL);
	CHECK(root != NULL);
	CHECK_STR(json_string_value(json_object_get(root, "function")), "fn");
	CHECK_STR(json_string_value(json_object_get(root, "request_id")), "abcdefgh");
	CHECK_STR(json_string_value(json_object_get(root, "log_group")), "/aws/lambda/fn");
	CHECK_STR(json_string_value(json_object_get(root, "start")), "1970-01-01T00:00:01.000Z");
	CHECK_STR(json_string_value(json_object_get(root, "end")), "1970-01-01T00:00:02.000Z");
	CHECK(json_is_false(json_object_get(root, "truncated")));
	events = json_object_get(root, "events");
	CHECK_INT((int)json_array_size(events), 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(events, 0), "timestamp")),
	          "2024-05-01T12:00:30.123Z");
	CHECK_INT(json_integer_value(json_object_get(json_array_get(events, 0), "timestamp_ms")),
	          1714564830123LL);
	CHECK_STR(json_string_value(json_object_get(json_array_get(events, 0), "message")), "m\n");
	CHECK_STR(json_string_value(json_object_get(json_array_get(events, 0), "event_id")), "e1");
	CHECK_STR(json_string_value(json_object_get(json_array_get(events, 1), "message")),
	          "(not UTF-8)");
	json_decref(root);
	buf_free(&b);
}

TEST_CASE(slash_command_text)
{
	char fn[65], rid[LOGSEARCH_MAX_ID + 1];
	struct err e;

	CHECK_INT(logsearch_parse_command("my-fn c0ffee00-1111-2222-3333-444455556666", fn,
	                                  sizeof(fn), rid, sizeof(rid), &e),
	          0);
	CHECK_STR(fn, "my-fn");
	CHECK_STR(rid, "c0ffee00-1111-2222-3333-444455556666");
	CHECK_INT(logsearch_parse_command("  \tfn_2   C0FFEE00-1111-2222-3333-444455556666\t ", fn,
	                                  sizeof(fn), rid, sizeof(rid), &e),
	          0);
	CHECK_STR(fn, "fn_2");
	CHECK_STR(rid, "C0FFEE00-1111-2222-3333-444455556666");
	/* The seed's one-argument form: the function left empty. */
	CHECK_INT(logsearch_parse_command(" c0ffee00-1111-2222-3333-444455556666 ", fn, sizeof(fn),
	                                  rid, sizeof(rid), &e),
	          0);
	CHECK_STR(fn, "");
	CHECK_STR(rid, "c0ffee00-1111-2222-3333-444455556666");
	CHECK_INT(logsearch_parse_command("", fn, sizeof(fn), rid, sizeof(rid), &e), ERR_INVALID);
	CHECK_STR(e.message,
	          "usage: /logsearch <request id> or /logsearch <function> <request id>");
	CHECK_INT(logsearch_parse_command(NULL, fn, sizeof(fn), rid, sizeof(rid), &e), ERR_INVALID);
	CHECK_INT(logsearch_parse_command("fn", fn, sizeof(fn), rid, sizeof(rid), &e), ERR_INVALID);
	CHECK(strstr(e.message, "UUID") != NULL);
	CHECK_INT(logsearch_parse_command("ERROR", fn, sizeof(fn), rid, sizeof(rid), &e),
	          ERR_INVALID);
	CHECK_INT(logsearch_parse_command("fn c0ffee00-1111-2222-3333-444455556666 extra", fn,
	                                  sizeof(fn), rid, sizeof(rid), &e),
	          ERR_INVALID);
	CHECK_INT(logsearch_parse_command("f.n c0ffee00-1111-2222-3333-444455556666", fn,
	                                  sizeof(fn), rid, sizeof(rid), &e),
	          ERR_INVALID);
	CHECK(strstr(e.message, "function name") != NULL);
	CHECK_INT(logsearch_parse_command("fn abcdefgh", fn, sizeof(fn), rid, sizeof(rid), &e),
	          ERR_INVALID);
	CHECK(strstr(e.message, "request id") != NULL);
}

TEST_CASE(job_payload_reads_back_through_event_parse)
{
	struct logsearch_job *job =
	    logsearch_job_new("my-fn,other", "c0ffee00-1111-2222-3333-444455556666",
	                      "https://hooks.slack.com/commands/1/2", 1000, 2000);
	struct logsearch_job *back;
	struct event ev;
	struct err e;
	char *payload;

	CHECK(job != NULL);
	if (!job)
		return;
	unsetenv("EBSSH_SLACK_RESPONSE_URL_PREFIX");
	setenv("LOGSEARCH_FUNCTIONS", "my-fn,oth*", 1);
	payload = logsearch_job_payload(job);
	CHECK(payload != NULL);
	CHECK_INT(event_parse(payload, strlen(payload), &ev, &e), 0);
	CHECK_INT(ev.kind, EVENT_EVENTBRIDGE);
	CHECK_STR(ev.source, LOGSEARCH_EVENT_SOURCE);
	CHECK_STR(ev.detail_type, LOGSEARCH_EVENT_TYPE);
	back = logsearch_job_from_json(ev.json, &e);
	CHECK(back != NULL);
	if (back) {
		CHECK_STR(back->functions, "my-fn,other");
		CHECK_STR(back->request_id, "c0ffee00-1111-2222-3333-444455556666");
		CHECK_STR(back->response_url, "https://hooks.slack.com/commands/1/2");
		CHECK_INT(back->start_ms, 1000);
		CHECK_INT(back->end_ms, 2000);
	}
	logsearch_job_free(back);
	event_free(&ev);
	/* Read back under a narrower allow-list: refused. */
	setenv("LOGSEARCH_FUNCTIONS", "my-fn", 1);
	CHECK_INT(event_parse(payload, strlen(payload), &ev, &e), 0);
	back = logsearch_job_from_json(ev.json, &e);
	CHECK(back == NULL);
	CHECK_INT(e.code, ERR_INVALID);
	logsearch_job_free(back);
	event_free(&ev);
	unsetenv("LOGSEARCH_FUNCTIONS");
	free(payload);
	logsearch_job_free(job);
}

TEST_CASE(job_events_are_checked)
{
	static const char *const bad[] = {
	    "{\"source\":\"ebssh\",\"detail-type\":\"other\",\"detail\":{}}",
	    "{\"source\":\"x\",\"detail-type\":\"ebssh.logsearch\",\"detail\":{}}",
	    "{\"source\":\"ebssh\",\"detail-type\":\"ebssh.logsearch\",\"detail\":[]}",
	    "{\"source\":\"ebssh\",\"detail-type\":\"ebssh.logsearch\",\"detail\":{\"function\":"
	    "\"a/"
	    "b\",\"request_id\":\"c0ffee00-1111-2222-3333-444455556666\",\"response_url\":\"https:/"
	    "/hooks.slack.com/c\","
	    "\"start_ms\":1,\"end_ms\":2}}",
	    "{\"source\":\"ebssh\",\"detail-type\":\"ebssh.logsearch\",\"detail\":{\"function\":"
	    "\"fn\",\"request_id\":\"ab\",\"response_url\":\"https://hooks.slack.com/c\","
	    "\"start_ms\":1,\"end_ms\":2}}",
	    "{\"source\":\"ebssh\",\"detail-type\":\"ebssh.logsearch\",\"detail\":{\"function\":"
	    "\"fn\",\"request_id\":\"c0ffee00-1111-2222-3333-444455556666\",\"response_url\":"
	    "\"https://evil.example/c\","
	    "\"start_ms\":1,\"end_ms\":2}}",
	    "{\"source\":\"ebssh\",\"detail-type\":\"ebssh.logsearch\",\"detail\":{\"function\":"
	    "\"fn\",\"request_id\":\"c0ffee00-1111-2222-3333-444455556666\",\"response_url\":"
	    "\"https://hooks.slack.com/c\","
	    "\"start_ms\":3,\"end_ms\":2}}",
	    "{\"source\":\"ebssh\",\"detail-type\":\"ebssh.logsearch\",\"detail\":{\"function\":"
	    "\"fn\",\"request_id\":\"c0ffee00-1111-2222-3333-444455556666\",\"response_url\":"
	    "\"https://hooks.slack.com/c\"}}",
	    /* a UUID but not one, the function outside the allow-list, a pattern, a list's hole */
	    "{\"source\":\"ebssh\",\"detail-type\":\"ebssh.logsearch\",\"detail\":{\"function\":"
	    "\"fn\",\"request_id\":\"abcdefgh\",\"response_url\":\"https://hooks.slack.com/c\","
	    "\"start_ms\":1,\"end_ms\":2}}",
	    "{\"source\":\"ebssh\",\"detail-type\":\"ebssh.logsearch\",\"detail\":{\"functions\":"
	    "\"fn,secret\",\"request_id\":\"c0ffee00-1111-2222-3333-444455556666\",\"response_"
	    "url\":\"https://hooks.slack.com/c\","
	    "\"start_ms\":1,\"end_ms\":2}}",
	    "{\"source\":\"ebssh\",\"detail-type\":\"ebssh.logsearch\",\"detail\":{\"functions\":"
	    "\"x-*\",\"request_id\":\"c0ffee00-1111-2222-3333-444455556666\",\"response_url\":"
	    "\"https://hooks.slack.com/c\","
	    "\"start_ms\":1,\"end_ms\":2}}",
	    "{\"source\":\"ebssh\",\"detail-type\":\"ebssh.logsearch\",\"detail\":{\"functions\":"
	    "\"fn,,a\",\"request_id\":\"c0ffee00-1111-2222-3333-444455556666\",\"response_url\":"
	    "\"https://hooks.slack.com/c\","
	    "\"start_ms\":1,\"end_ms\":2}}",
	};
	struct err e;
	size_t i;

	unsetenv("EBSSH_SLACK_RESPONSE_URL_PREFIX");
	setenv("LOGSEARCH_FUNCTIONS", "fn,a,x-*", 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *root = json_loads(bad[i], 0, NULL);
		struct logsearch_job *job = logsearch_job_from_json(root, &e);
		if (job)
			printf("# accepted case %zu\n", i);
		CHECK(job == NULL);
		CHECK_INT(e.code, ERR_INVALID);
		logsearch_job_free(job);
		json_decref(root);
	}
	{
		/* The same shape, every field right: accepted (an earlier release's "function"). */
		json_t *root = json_loads(
		    "{\"source\":\"ebssh\",\"detail-type\":\"ebssh.logsearch\",\"detail\":{"
		    "\"function\":\"x-web\",\"request_id\":\"c0ffee00-1111-2222-3333-"
		    "444455556666\","
		    "\"response_url\":\"https://hooks.slack.com/c\",\"start_ms\":1,\"end_ms\":2}}",
		    0, NULL);
		struct logsearch_job *job = logsearch_job_from_json(root, &e);
		CHECK(job != NULL);
		if (job)
			CHECK_STR(job->functions, "x-web");
		logsearch_job_free(job);
		json_decref(root);
	}
	unsetenv("LOGSEARCH_FUNCTIONS");
}

int main(void)
{
	RUN(request_ids);
	RUN(allow_list);
	RUN(iso_times);
	RUN(time_format);
	RUN(windows);
	RUN(text_answer);
	RUN(text_answer_stops_at_the_cap);
	RUN(json_answer);
	RUN(slash_command_text);
	RUN(job_payload_reads_back_through_event_parse);
	RUN(job_events_are_checked);
	return TEST_DONE();
}
