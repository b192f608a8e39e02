/*
 * Unit tests of lambda/notify: pipeline state colours; the CodePipeline
 * message from an EventBridge "Pipeline Execution State Change" event (the
 * shape AWS documents; the vectors' powertools codePipelineEvent.json is a
 * CodePipeline *job*, which must not be announced); the CloudWatch Logs
 * subscription sample ($EBSSH_VECTORS/events/powertools-python/
 * cloudWatchLogEvent.json) unpacked and its times in UTC, Europe/Paris,
 * America/New_York and an unknown zone; bad and oversized gzip.
 */
#include "test.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "lambda/front/event.h"
#include "lambda/ops/notify.h"
#include "util/buf.h"

/* AWS's documented example of the event (CodePipeline User Guide,
 * "Monitoring CodePipeline events"), with its execution id. */
static const char *const pipeline_event =
    "{\"version\":\"0\",\"id\":\"01234567-EXAMPLE\",\"detail-type\":\"CodePipeline Pipeline "
    "Execution State Change\",\"source\":\"aws.codepipeline\",\"account\":\"123456789012\","
    "\"time\":\"2020-01-24T22:03:07Z\",\"region\":\"us-east-1\",\"resources\":["
    "\"arn:aws:codepipeline:us-east-1:123456789012:myPipeline\"],\"detail\":{\"pipeline\":"
    "\"myPipeline\",\"execution-id\":\"12345678-1234-5678-abcd-12345678abcd\",\"execution-trigger"
    "\":{\"trigger-type\":\"StartPipelineExecution\",\"trigger-detail\":\"arn:aws:sts::"
    "123456789012:assumed-role/Admin/my-user\"},\"state\":\"FAILED\",\"version\":1}}";

static char *vector(const char *rel, size_t *len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", test_vectors_dir(), rel);
	return test_read_file(path, len);
}

TEST_CASE(colours_by_state)
{
	CHECK_STR(notify_state_color("SUCCEEDED"), "good");
	CHECK_STR(notify_state_color("STARTED"), "good");
	CHECK_STR(notify_state_color("FAILED"), "danger");
	CHECK_STR(notify_state_color("CANCELED"), "warning");
	CHECK_STR(notify_state_color("SUPERSEDED"), "warning");
	CHECK_STR(notify_state_color("RESUMED"), "warning");
	CHECK_STR(notify_state_color("STOPPED"), "warning");
	CHECK_STR(notify_state_color("succeeded"), "#439FE0");
	CHECK_STR(notify_state_color(NULL), "#439FE0");
}

TEST_CASE(pipeline_message)
{
	struct event ev;
	struct buf b;
	struct err e;
	json_t *msg, *att, *fields;

	CHECK_INT(event_parse(pipeline_event, strlen(pipeline_event), &ev, &e), 0);
	CHECK_INT(ev.kind, EVENT_CODEPIPELINE);
	buf_init(&b, 0);
	CHECK_INT(notify_codepipeline_message(ev.json, &b, &e), 0);
	msg = json_loads(buf_str(&b), 0, NULL);
	CHECK(msg != NULL);
	CHECK_STR(json_string_value(json_object_get(msg, "text")), "Pipeline *myPipeline*: FAILED");
	att = json_array_get(json_object_get(msg, "attachments"), 0);
	CHECK_STR(json_string_value(json_object_get(att, "color")), "danger");
	CHECK_STR(json_string_value(json_object_get(att, "title")), "myPipeline");
	CHECK_STR(json_string_value(json_object_get(att, "fallback")),
	          "myPipeline FAILED (12345678-1234-5678-abcd-12345678abcd)");
	CHECK_STR(
	    json_string_value(json_object_get(att, "title_link")),
	    "https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/"
	    "myPipeline/executions/12345678-1234-5678-abcd-12345678abcd/timeline?region=us-east-1");
	CHECK_INT(json_integer_value(json_object_get(att, "ts")), 1579903387);
	fields = json_object_get(att, "fields");
	CHECK_INT((int)json_array_size(fields), 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(fields, 0), "value")),
	          "myPipeline");
	CHECK_STR(json_string_value(json_object_get(json_array_get(fields, 1), "value")), "FAILED");
	CHECK_STR(json_string_value(json_object_get(json_array_get(fields, 2), "title")),
	          "Execution id");
	CHECK_STR(json_string_value(json_object_get(json_array_get(fields, 2), "value")),
	          "12345678-1234-5678-abcd-12345678abcd");
	json_decref(msg);
	buf_free(&b);
	event_free(&ev);
}

TEST_CASE(pipeline_names_are_escaped)
{
	const char *ev_text =
	    "{\"detail-type\":\"CodePipeline Pipeline Execution State Change\",\"source\":"
	    "\"aws.codepipeline\",\"detail\":{\"pipeline\":\"a<@U1>&b\",\"execution-id\":\"x\","
	    "\"state\":\"SUCCEEDED\"}}";
	json_t *ev = json_loads(ev_text, 0, NULL), *msg;
	struct buf b;
	struct err e;

	buf_init(&b, 0);
	CHECK_INT(notify_codepipeline_message(ev, &b, &e), 0);
	msg = json_loads(buf_str(&b), 0, NULL);
	CHECK_STR(json_string_value(json_object_get(msg, "text")),
	          "Pipeline *a&lt;@U1&gt;&amp;b*: SUCCEEDED");
	CHECK_STR(json_string_value(json_object_get(
	              json_array_get(json_object_get(msg, "attachments"), 0), "color")),
	          "good");
	CHECK(json_object_get(json_array_get(json_object_get(msg, "attachments"), 0),
	                      "title_link") == NULL);
	json_decref(msg);
	json_decref(ev);
	buf_free(&b);
}

TEST_CASE(other_codepipeline_events_are_not_announced)
{
	const char *stage = "{\"detail-type\":\"CodePipeline Stage Execution State Change\","
	                    "\"source\":\"aws.codepipeline\",\"detail\":{\"pipeline\":\"p\","
	                    "\"execution-id\":\"x\",\"state\":\"STARTED\",\"stage\":\"Build\"}}";
	const char *lacking = "{\"detail-type\":\"CodePipeline Pipeline Execution State Change\","
	                      "\"source\":\"aws.codepipeline\",\"detail\":{\"pipeline\":\"p\"}}";
	char *job;
	size_t len = 0;
	json_t *ev;
	struct event parsed;
	struct buf b;
	struct err e;

	buf_init(&b, 0);
	ev = json_loads(stage, 0, NULL);
	CHECK_INT(notify_codepipeline_message(ev, &b, &e), ERR_NOT_FOUND);
	json_decref(ev);
	ev = json_loads(lacking, 0, NULL);
	CHECK_INT(notify_codepipeline_message(ev, &b, &e), ERR_INVALID);
	json_decref(ev);
	/* The vectors' CodePipeline sample is a job for a Lambda action. */
	job = vector("events/powertools-python/codePipelineEvent.json", &len);
	CHECK(job != NULL);
	if (job) {
		CHECK_INT(event_parse(job, len, &parsed, &e), 0);
		CHECK_INT(parsed.kind, EVENT_CODEPIPELINE_JOB);
		CHECK_INT(notify_codepipeline_message(parsed.json, &b, &e), ERR_NOT_FOUND);
		event_free(&parsed);
	}
	CHECK_INT((int)b.len, 0);
	free(job);
	buf_free(&b);
}

static char *sample_logs(size_t *len)
{
	char *text, *json = NULL;
	size_t n = 0;
	struct event ev;
	struct err e;

	text = vector("events/powertools-python/cloudWatchLogEvent.json", &n);
	if (!text)
		return NULL;
	if (event_parse(text, n, &ev, &e) == 0 && ev.kind == EVENT_LOGS)
		notify_logs_inflate(ev.logs_data, strlen(ev.logs_data), &json, len, &e);
	event_free(&ev);
	free(text);
	return json;
}

TEST_CASE(logs_sample_unpacks)
{
	size_t len = 0;
	char *json = sample_logs(&len);
	json_t *root;

	CHECK(json != NULL);
	if (!json)
		return;
	CHECK_INT((int)strlen(json), (int)len);
	root = json_loads(json, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(root, "logGroup")), "testLogGroup");
	CHECK_INT((int)json_array_size(json_object_get(root, "logEvents")), 2);
	json_decref(root);
	free(json);
}

TEST_CASE(logs_messages_in_zones)
{
	size_t len = 0;
	char *json = sample_logs(&len);
	struct slack_parts p;
	struct err e;

	CHECK(json != NULL);
	if (!json)
		return;
	CHECK_INT(notify_logs_messages(json, len, NULL, &p, &e), 0);
	CHECK_INT((int)p.n, 1);
	CHECK_STR(p.texts[0], "*CloudWatch Logs* `testLogGroup` / `testLogStream`: 2 events\n```\n"
	                      "2015-08-24 19:03:07.000 UTC  [ERROR] First test message\n"
	                      "2015-08-24 19:03:07.001 UTC  [ERROR] Second test message\n```");
	slack_parts_free(&p);

	CHECK_INT(notify_logs_messages(json, len, "Europe/Paris", &p, &e), 0);
	CHECK(strstr(p.texts[0], "2015-08-24 21:03:07.000 CEST  [ERROR] First") != NULL);
	slack_parts_free(&p);

	CHECK_INT(notify_logs_messages(json, len, "America/New_York", &p, &e), 0);
	CHECK(strstr(p.texts[0], "2015-08-24 15:03:07.001 EDT  [ERROR] Second") != NULL);
	slack_parts_free(&p);

	CHECK_INT(notify_logs_messages(json, len, "Mars/Olympus_Mons", &p, &e), 0);
	CHECK(strstr(p.texts[0],
	             "(NOTIFY_TZ `Mars/Olympus_Mons` is not a known zone: times in UTC)") != NULL);
	CHECK(strstr(p.texts[0], "2015-08-24 19:03:07.000 UTC") != NULL);
	slack_parts_free(&p);

	/* A path is not a zone. */
	CHECK_INT(notify_logs_messages(json, len, "../../../etc/passwd", &p, &e), 0);
	CHECK(strstr(p.texts[0], "not a known zone") != NULL);
	slack_parts_free(&p);
	free(json);
	/* TZ is as it was. */
	CHECK(getenv("TZ") == NULL || strcmp(getenv("TZ"), "Europe/Paris") != 0);
}

/* With no zone files, EBSSH_ZONE_RULES's POSIX rules (the zip's zone-rules.txt). */
TEST_CASE(zone_rules_table_without_zone_files)
{
	const int64_t ms[2] = {1719835200000LL,
	                       1733011200000LL}; /* 2024-07-01 12:00Z, 2024-12-01 00:00Z */
	char out[2][NOTIFY_TIME_LEN];
	char dir[] = "/tmp/ebssh-zones-XXXXXX", table[600];
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(table, sizeof(table), "%s/zone-rules.txt", dir);
	f = fopen(table, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("America/New_York\tEST5EDT,M3.2.0,M11.1.0\n"
	      "Asia/Kolkata\tIST-5:30\n"
	      "Europe/Paris\tCET-1CEST,M3.5.0,M10.5.0/3\n"
	      "Europe/Paris2\tWRONG0\n"
	      "Bad/Empty\t\n",
	      f);
	fclose(f);
	setenv("TZDIR", dir, 1); /* a zone directory without zone files */
	unsetenv("EBSSH_ZONE_RULES");
	CHECK_INT(notify_format_times("Europe/Paris", ms, 1, out), ERR_NOT_FOUND);
	setenv("EBSSH_ZONE_RULES", table, 1);
	CHECK_INT(notify_format_times("Europe/Paris", ms, 2, out), 0);
	CHECK_STR(out[0], "2024-07-01 14:00:00.000 CEST");
	CHECK_STR(out[1], "2024-12-01 01:00:00.000 CET");
	CHECK_INT(notify_format_times("America/New_York", ms, 2, out), 0);
	CHECK_STR(out[0], "2024-07-01 08:00:00.000 EDT");
	CHECK_STR(out[1], "2024-11-30 19:00:00.000 EST");
	CHECK_INT(notify_format_times("Asia/Kolkata", ms, 1, out), 0);
	CHECK_STR(out[0], "2024-07-01 17:30:00.000 IST");
	/* a prefix of a name is not the name; an empty rule is no rule */
	CHECK_INT(notify_format_times("Europe/Par", ms, 1, out), ERR_NOT_FOUND);
	CHECK_INT(notify_format_times("Bad/Empty", ms, 1, out), ERR_NOT_FOUND);
	CHECK_STR(out[0], "2024-07-01 12:00:00.000 UTC");
	/* a zone file, where there is one, wins over the table */
	unsetenv("TZDIR");
	setenv("EBSSH_ZONE_RULES", table, 1);
	CHECK_INT(notify_format_times("Europe/London", ms, 1, out), 0);
	CHECK_STR(out[0], "2024-07-01 13:00:00.000 BST");
	unsetenv("EBSSH_ZONE_RULES");
	CHECK(getenv("TZ") == NULL);
	unlink(table);
	rmdir(dir);
}

TEST_CASE(format_times_keeps_tz)
{
	const int64_t ms[2] = {0, 1719835200000LL};
	char out[2][NOTIFY_TIME_LEN];

	setenv("TZ", "Asia/Tokyo", 1);
	CHECK_INT(notify_format_times("Europe/London", ms, 2, out), 0);
	CHECK_STR(out[0], "1970-01-01 01:00:00.000 BST");
	CHECK_STR(out[1], "2024-07-01 13:00:00.000 BST");
	CHECK_STR(getenv("TZ"), "Asia/Tokyo");
	unsetenv("TZ");
	CHECK_INT(notify_format_times("Europe/London", ms, 1, out), 0);
	CHECK(getenv("TZ") == NULL);
	CHECK_INT(notify_format_times("UTC", ms, 1, out), 0);
	CHECK_STR(out[0], "1970-01-01 00:00:00.000 UTC");
	CHECK_INT(notify_format_times("Nowhere", ms, 1, out), ERR_NOT_FOUND);
	CHECK_STR(out[0], "1970-01-01 00:00:00.000 UTC");
}

TEST_CASE(control_and_bad_messages)
{
	const char *control = "{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\","
	                      "\"logGroup\":\"\",\"logStream\":\"\",\"logEvents\":[{\"id\":\"\","
	                      "\"timestamp\":1440442987000,\"message\":\"CWL CONTROL MESSAGE\"}]}";
	const char *not_a_list = "{\"messageType\":\"DATA_MESSAGE\",\"logGroup\":\"g\","
	                         "\"logStream\":\"s\",\"logEvents\":{}}";
	struct slack_parts p;
	struct err e;

	CHECK_INT(notify_logs_messages(control, strlen(control), NULL, &p, &e), ERR_NOT_FOUND);
	CHECK_INT(notify_logs_messages("{}", 2, NULL, &p, &e), ERR_INVALID);
	CHECK_INT(notify_logs_messages("nope", 4, NULL, &p, &e), ERR_INVALID);
	CHECK_INT(notify_logs_messages(not_a_list, strlen(not_a_list), NULL, &p, &e), ERR_INVALID);
}

/* base64 of gzip of data, by zlib and OpenSSL-free code here. */
static char *pack(const void *data, size_t len)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t cap = compressBound((uLong)len) + 64, glen, i, o = 0;
	unsigned char *gz = malloc(cap);
	char *out;
	z_stream z;

	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)len;
	z.next_out = gz;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	glen = cap - z.avail_out;
	deflateEnd(&z);
	out = malloc(glen * 4 / 3 + 8);
	for (i = 0; i + 2 < glen; i += 3) {
		out[o++] = tbl[gz[i] >> 2];
		out[o++] = tbl[((gz[i] & 3) << 4) | (gz[i + 1] >> 4)];
		out[o++] = tbl[((gz[i + 1] & 15) << 2) | (gz[i + 2] >> 6)];
		out[o++] = tbl[gz[i + 2] & 63];
	}
	if (glen - i == 1) {
		out[o++] = tbl[gz[i] >> 2];
		out[o++] = tbl[(gz[i] & 3) << 4];
		out[o++] = '=';
		out[o++] = '=';
	} else if (glen - i == 2) {
		out[o++] = tbl[gz[i] >> 2];
		out[o++] = tbl[((gz[i] & 3) << 4) | (gz[i + 1] >> 4)];
		out[o++] = tbl[(gz[i + 1] & 15) << 2];
		out[o++] = '=';
	}
	out[o] = '\0';
	free(gz);
	return out;
}

TEST_CASE(inflate_is_bounded_and_strict)
{
	size_t big = NOTIFY_MAX_INFLATED + 1, len;
	char *zeros = calloc(1, big), *packed, *out = NULL;
	struct err e;

	/* A bomb: 8 MiB + 1 of zeros packs into a few KiB. */
	packed = pack(zeros, big);
	CHECK_INT(notify_logs_inflate(packed, strlen(packed), &out, &len, &e), ERR_TOO_LARGE);
	CHECK(out == NULL);
	free(packed);
	/* Exactly the bound is fine. */
	packed = pack(zeros, big - 1);
	CHECK_INT(notify_logs_inflate(packed, strlen(packed), &out, &len, &e), 0);
	CHECK_INT((long long)len, (long long)(big - 1));
	free(out);
	out = NULL;
	/* Cut short. */
	packed[strlen(packed) / 2 & ~(size_t)3] = '\0';
	CHECK_INT(notify_logs_inflate(packed, strlen(packed), &out, &len, &e), ERR_INVALID);
	free(packed);
	/* Not gzip, not base64. */
	CHECK_INT(notify_logs_inflate("aGVsbG8=", 8, &out, &len, &e), ERR_INVALID);
	CHECK_INT(notify_logs_inflate("@@@@", 4, &out, &len, &e), ERR_INVALID);
	CHECK_INT(notify_logs_inflate("", 0, &out, &len, &e), ERR_INVALID);
	CHECK(out == NULL);
	free(zeros);
}

TEST_CASE(long_subscriptions_are_split_with_a_note)
{
	struct buf json;
	struct slack_parts p;
	struct err e;
	size_t i;

	buf_init(&json, 0);
	buf_append_str(&json, "{\"messageType\":\"DATA_MESSAGE\",\"logGroup\":\"/aws/lambda/x\","
	                      "\"logStream\":\"s\",\"logEvents\":[");
	for (i = 0; i < 1000; i++)
		buf_appendf(&json,
		            "%s{\"id\":\"%zu\",\"timestamp\":%zu,\"message\":\"line %zu of many "
		            "words to make it longer\\n\"}",
		            i ? "," : "", i, 1440442987000 + i, i);
	buf_append_str(&json, "]}");
	CHECK_INT(notify_logs_messages(json.data, json.len, NULL, &p, &e), 0);
	CHECK_INT((int)p.n, SLACK_MAX_PARTS);
	for (i = 0; i < p.n; i++)
		CHECK(strlen(p.texts[i]) <= SLACK_PART_LIMIT);
	CHECK(p.lines_left_out > 0);
	CHECK(strstr(p.texts[p.n - 1], "more lines not shown_") != NULL);
	CHECK(strstr(p.texts[0], "1000 events") != NULL);
	slack_parts_free(&p);
	buf_free(&json);
}

TEST_CASE(own_log_group_is_told_apart)
{
	static const char msg[] = "{\"messageType\":\"DATA_MESSAGE\",\"logGroup\":"
	                          "\"/aws/lambda/ebssh-lookup\",\"logStream\":\"s\","
	                          "\"logEvents\":[]}";

	CHECK_INT(notify_logs_from_group(msg, strlen(msg), "/aws/lambda/ebssh-lookup"), 1);
	CHECK_INT(notify_logs_from_group(msg, strlen(msg), "/aws/lambda/ebssh-lookup2"), 0);
	CHECK_INT(notify_logs_from_group(msg, strlen(msg), "/aws/lambda/ebssh-looku"), 0);
	CHECK_INT(notify_logs_from_group(msg, strlen(msg), NULL), 0);
	CHECK_INT(notify_logs_from_group(msg, strlen(msg), ""), 0);
	CHECK_INT(notify_logs_from_group("not json", 8, "/aws/lambda/ebssh-lookup"), 0);
	CHECK_INT(notify_logs_from_group("{\"logGroup\":7}", 14, "7"), 0);
}

int main(void)
{
	RUN(colours_by_state);
	RUN(pipeline_message);
	RUN(pipeline_names_are_escaped);
	RUN(other_codepipeline_events_are_not_announced);
	RUN(logs_sample_unpacks);
	RUN(logs_messages_in_zones);
	RUN(zone_rules_table_without_zone_files);
	RUN(format_times_keeps_tz);
	RUN(control_and_bad_messages);
	RUN(inflate_is_bounded_and_strict);
	RUN(long_subscriptions_are_split_with_a_note);
	RUN(own_log_group_is_told_apart);
	return TEST_DONE();
}
