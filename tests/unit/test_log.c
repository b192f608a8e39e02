/*
 * Unit tests of lambda/log: the fields of a line and their order, the time's
 * form, escaping (control characters, non-ASCII, bytes that are not UTF-8),
 * the caller's fields (reserved names dropped), the per-thread context set,
 * cleared and handed to another thread, and lines written whole to the fd.
 */
#include "test.h"

#include <pthread.h>
#include <unistd.h>

#include "lambda/log.h"

/* 2026-12-07T03:09:54.123Z */
#define WHEN 1796612994123LL

/* The line for message under the current context, as a string to compare. */
static char *line_of(enum log_level level, const char *message, const json_t *fields)
{
	char *text = log_format(level, WHEN, message, fields);

	if (!text) {
		printf("# log_format returned NULL\n");
		test_failed_case = 1;
	}
	return text;
}

#define CHECK_LINE(level, message, fields, want)                                                   \
	do {                                                                                       \
		char *t_ = line_of(level, message, fields);                                        \
		if (t_)                                                                            \
			CHECK_STR(t_, want);                                                       \
		free(t_);                                                                          \
	} while (0)

TEST_CASE(fields_in_order)
{
	log_context_clear();
	CHECK_LINE(
	    LOG_INFO, "hello", NULL,
	    "{\"time\":\"2026-12-07T03:09:54.123Z\",\"level\":\"INFO\",\"message\":\"hello\"}");
	log_context_set("lambda-1", "apigw-1", "Root=1-abc;Sampled=1");
	CHECK_LINE(
	    LOG_ERROR, "boom", NULL,
	    "{\"time\":\"2026-12-07T03:09:54.123Z\",\"level\":\"ERROR\",\"message\":\"boom\","
	    "\"request_id\":\"lambda-1\",\"api_request_id\":\"apigw-1\","
	    "\"trace_id\":\"Root=1-abc;Sampled=1\"}");
	log_context_set("lambda-2", NULL, "");
	CHECK_LINE(LOG_WARN, "w", NULL,
	           "{\"time\":\"2026-12-07T03:09:54.123Z\",\"level\":\"WARN\",\"message\":\"w\","
	           "\"request_id\":\"lambda-2\"}");
	log_context_clear();
}

TEST_CASE(time_form)
{
	char *t = log_format(LOG_INFO, 7, "x", NULL);

	CHECK(t && strstr(t, "\"time\":\"1970-01-01T00:00:00.007Z\""));
	free(t);
	t = log_format(LOG_INFO, 253402300799999LL, "x", NULL);
	CHECK(t && strstr(t, "\"time\":\"9999-12-31T23:59:59.999Z\""));
	free(t);
}

TEST_CASE(escaping)
{
	log_context_clear();
	/* control characters, a quote, a backslash, non-ASCII (é, €, U+1F600) */
	CHECK_LINE(LOG_INFO, "a\nb\t\x01\"\\ \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", NULL,
	           "{\"time\":\"2026-12-07T03:09:54.123Z\",\"level\":\"INFO\",\"message\":"
	           "\"a\\nb\\t\\u0001\\\"\\\\ \\u00E9\\u20AC\\uD83D\\uDE00\"}");
	/* not UTF-8: '?' for every byte outside printable ASCII */
	CHECK_LINE(LOG_INFO, "bad \xff\xfe end\x01", NULL,
	           "{\"time\":\"2026-12-07T03:09:54.123Z\",\"level\":\"INFO\",\"message\":"
	           "\"bad ?? end?\"}");
	/* ids: printable ASCII only */
	log_context_set("id\n\xc3\xa9", NULL, NULL);
	CHECK_LINE(LOG_INFO, "m", NULL,
	           "{\"time\":\"2026-12-07T03:09:54.123Z\",\"level\":\"INFO\",\"message\":\"m\","
	           "\"request_id\":\"id???\"}");
	log_context_clear();
}

TEST_CASE(caller_fields)
{
	json_t *f = json_pack("{s:s, s:i, s:s, s:s, s:s, s:n, s:f}", "route", "/health", "status",
	                      200, "message", "spoof", "request_id", "spoof", "level", "spoof",
	                      "method", "duration_ms", 1.5);

	log_context_set("r", "a", NULL);
	CHECK(f != NULL);
	CHECK_LINE(LOG_INFO, "invocation", f,
	           "{\"time\":\"2026-12-07T03:09:54.123Z\",\"level\":\"INFO\",\"message\":"
	           "\"invocation\",\"request_id\":\"r\",\"api_request_id\":\"a\",\"route\":"
	           "\"/health\",\"status\":200,\"method\":null,\"duration_ms\":1.5}");
	json_decref(f);
	log_context_clear();
}

TEST_CASE(long_ids_and_messages_cut)
{
	char id[400], msg[LOG_MESSAGE_MAX * 2];
	char *t;
	json_t *doc;

	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	log_context_set(id, id, id);
	t = log_format(LOG_INFO, WHEN, "m", NULL);
	doc = t ? json_loads(t, 0, NULL) : NULL;
	CHECK(doc != NULL);
	CHECK_INT(strlen(json_string_value(json_object_get(doc, "request_id"))), LOG_ID_MAX - 1);
	CHECK_INT(strlen(json_string_value(json_object_get(doc, "trace_id"))), LOG_TRACE_MAX - 1);
	json_decref(doc);
	free(t);
	log_context_clear();

	/* a written message over LOG_MESSAGE_MAX is cut before a UTF-8 sequence, not in it */
	{
		int p[2];
		char buf[LOG_MESSAGE_MAX * 4];
		ssize_t n;
		size_t i;
		int old;

		for (i = 0; i + 2 < sizeof(msg); i += 2) {
			msg[i] = (char)0xc3;
			msg[i + 1] = (char)0xa9;
		}
		msg[i] = '\0';
		CHECK(pipe(p) == 0);
		old = log_set_fd(p[1]);
		log_msg(LOG_INFO, "x%s", msg);
		log_set_fd(old);
		close(p[1]);
		n = read(p[0], buf, sizeof(buf) - 1);
		close(p[0]);
		CHECK(n > 0);
		buf[n > 0 ? n : 0] = '\0';
		doc = json_loads(buf, 0, NULL);
		CHECK(doc != NULL);
		if (doc) {
			const char *m = json_string_value(json_object_get(doc, "message"));
			size_t len = m ? strlen(m) : 0;

			CHECK(len > 0 && len < LOG_MESSAGE_MAX);
			CHECK(m && m[0] == 'x' && strstr(m, "\xc3\xa9\xc3\xa9"));
		}
		json_decref(doc);
	}
}

static void *other_thread(void *arg)
{
	struct log_context *seen = arg;

	log_context_get(&seen[0]);
	log_context_set("thread-req", NULL, NULL);
	log_context_get(&seen[1]);
	return NULL;
}

TEST_CASE(context_per_thread)
{
	struct log_context seen[2], mine, handed;
	pthread_t t;

	log_context_set("main-req", "main-api", "main-trace");
	memset(seen, 0x55, sizeof(seen));
	CHECK(pthread_create(&t, NULL, other_thread, seen) == 0);
	pthread_join(t, NULL);
	CHECK_STR(seen[0].request_id, ""); /* a new thread starts with none */
	CHECK_STR(seen[0].api_request_id, "");
	CHECK_STR(seen[0].trace_id, "");
	CHECK_STR(seen[1].request_id, "thread-req");
	log_context_get(&mine); /* the other thread's set did not touch this one's */
	CHECK_STR(mine.request_id, "main-req");
	CHECK_STR(mine.api_request_id, "main-api");
	CHECK_STR(mine.trace_id, "main-trace");

	log_context_set_api_request_id("api-2");
	log_context_get(&handed);
	CHECK_STR(handed.request_id, "main-req");
	CHECK_STR(handed.api_request_id, "api-2");
	log_context_clear();
	log_context_get(&mine);
	CHECK_STR(mine.request_id, "");
	CHECK_STR(mine.api_request_id, "");
	CHECK_STR(mine.trace_id, "");
	log_context_put(&handed);
	log_context_get(&mine);
	CHECK_STR(mine.request_id, "main-req");
	CHECK_STR(mine.api_request_id, "api-2");
	CHECK_STR(mine.trace_id, "main-trace");
	log_context_clear();
}

TEST_CASE(written_whole_with_newline)
{
	int p[2], old;
	char buf[1024];
	ssize_t n;
	json_t *doc;

	CHECK(pipe(p) == 0);
	old = log_set_fd(p[1]);
	log_context_set("w-1", NULL, NULL);
	log_fields_new(LOG_WARN, json_pack("{s:s}", "workflow", "ami-backup"), "%s failed: %d",
	               "ami-backup", 3);
	log_fields_new(LOG_INFO, NULL, "no fields");
	log_context_clear();
	log_set_fd(old);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	{
		char *nl = strchr(buf, '\n');

		CHECK(nl != NULL && nl[1] != '\0' && buf[n - 1] == '\n');
		if (nl) {
			*nl = '\0';
			doc = json_loads(buf, 0, NULL);
			CHECK(doc != NULL);
			CHECK_STR(json_string_value(json_object_get(doc, "level")), "WARN");
			CHECK_STR(json_string_value(json_object_get(doc, "message")),
			          "ami-backup failed: 3");
			CHECK_STR(json_string_value(json_object_get(doc, "workflow")),
			          "ami-backup");
			CHECK_STR(json_string_value(json_object_get(doc, "request_id")), "w-1");
			json_decref(doc);
			doc = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, NULL);
			CHECK(doc != NULL);
			CHECK_STR(json_string_value(json_object_get(doc, "message")), "no fields");
			json_decref(doc);
		}
	}
}

TEST_CASE(json_line_as_it_is)
{
	int p[2], old;
	char buf[512];
	ssize_t n;

	CHECK(pipe(p) == 0);
	old = log_set_fd(p[1]);
	log_context_set("ctx-1", NULL, NULL);
	log_json_line(json_pack("{s:s, s:i}", "path", "/eb/\xc3\xa9/ip", "status", 200));
	log_json_line(NULL);
	log_context_clear();
	log_set_fd(old);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	buf[n > 0 ? n : 0] = '\0';
	/* the object alone (no time, level or context), ASCII, one line */
	CHECK_STR(buf, "{\"path\":\"/eb/\\u00E9/ip\",\"status\":200}\n");
}

TEST_CASE(level_names)
{
	CHECK_STR(log_level_name(LOG_INFO), "INFO");
	CHECK_STR(log_level_name(LOG_WARN), "WARN");
	CHECK_STR(log_level_name(LOG_ERROR), "ERROR");
}

int main(void)
{
	RUN(fields_in_order);
	RUN(time_form);
	RUN(escaping);
	RUN(caller_fields);
	RUN(long_ids_and_messages_cut);
	RUN(context_per_thread);
	RUN(written_whole_with_newline);
	RUN(json_line_as_it_is);
	RUN(level_names);
	return TEST_DONE();
}
