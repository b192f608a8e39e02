/* logsearch: one request's log lines, its answers and its Slack job; see logsearch.h. */
#include "logsearch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/client.h"
#include "../../aws/lambda.h"
#include "../../util/timefmt.h"
#include "../log.h"
#include "slack.h"

#define LOG_GROUP_PREFIX "/aws/lambda/"

/* ---- names and times ---- */

static int is_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int logsearch_check_request_id(const char *id, struct err *e)
{
	size_t i, n = id ? strlen(id) : 0;

	if (n < 8 || n > LOGSEARCH_MAX_ID)
		return err_set(e, ERR_INVALID, "a request id is 8 to %d characters",
		               LOGSEARCH_MAX_ID);
	for (i = 0; i < n; i++)
		if (!is_alnum(id[i]) && id[i] != '-')
			return err_set(e, ERR_INVALID,
			               "a request id holds only letters, digits and hyphens");
	if (!is_alnum(id[0]) || !is_alnum(id[n - 1]))
		return err_set(e, ERR_INVALID,
		               "a request id starts and ends with a letter or digit");
	return 0;
}

int logsearch_parse_time(const char *s, int64_t *ms, struct err *e)
{
	const unsigned flags =
	    TIMEFMT_LOWER | TIMEFMT_OFFSET | TIMEFMT_SPACE_PLUS | TIMEFMT_REDUCED | TIMEFMT_NO_LEAP;
	int64_t t;

	if (timefmt_parse_iso8601(s, flags, &t, NULL) != 0 || t < 0)
		return err_set(e, ERR_INVALID,
		               "times are ISO 8601, like 2024-05-01T12:00:00Z or "
		               "2024-05-01T14:00+02:00");
	*ms = t;
	return 0;
}

void logsearch_format_time(int64_t ms, char *out, size_t cap)
{
	int64_t secs = ms / 1000, rest = ms % 1000;
	time_t t;
	struct tm tm;
	size_t n;

	if (rest < 0) {
		rest += 1000;
		secs--;
	}
	t = (time_t)secs;
	if (!gmtime_r(&t, &tm) || (n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		snprintf(out, cap, "%lld", (long long)ms);
		return;
	}
	snprintf(out + n, cap - n, ".%03dZ", (int)rest);
}

int logsearch_window(const char *start, const char *end, time_t now, int64_t *start_ms,
                     int64_t *end_ms, struct err *e)
{
	int64_t s = 0, t = 0;

	if (end && *end) {
		if (logsearch_parse_time(end, &t, e) != 0) {
			err_prefix(e, "end");
			return ERR_INVALID;
		}
	} else {
		t = (int64_t)now * 1000;
	}
	if (start && *start) {
		if (logsearch_parse_time(start, &s, e) != 0) {
			err_prefix(e, "start");
			return ERR_INVALID;
		}
	} else {
		s = t > LOGSEARCH_DEFAULT_WINDOW ? t - LOGSEARCH_DEFAULT_WINDOW : 0;
	}
	if (s > t)
		return err_set(e, ERR_INVALID, "the start is after the end");
	*start_ms = s;
	*end_ms = t;
	return 0;
}

/* The pager's stop: the invocation's time is nearly up. */
static int out_of_time(void *ctx)
{
	return service_out_of_time(ctx);
}

int logsearch_run(struct aws_client *aws, struct service_context *ctx, const char *function,
                  const char *request_id, int64_t start_ms, int64_t end_ms,
                  struct logs_event_list *out, struct err *e)
{
	char group[sizeof(LOG_GROUP_PREFIX) + LAMBDA_MAX_NAME];
	char pattern[LOGSEARCH_MAX_ID + 3];
	struct logs_filter f;
	int rc;

	rc = lambda_check_function_name(function, e);
	if (!rc)
		rc = logsearch_check_request_id(request_id, e);
	if (rc)
		return rc;
	snprintf(group, sizeof(group), LOG_GROUP_PREFIX "%s", function);
	snprintf(pattern, sizeof(pattern), "\"%s\"", request_id);
	memset(&f, 0, sizeof(f));
	f.log_group = group;
	f.filter_pattern = pattern;
	f.start_ms = start_ms;
	f.end_ms = end_ms;
	return logs_filter_log_events_until(aws, &f, ctx ? out_of_time : NULL, ctx, out, e);
}

/* ---- answers ---- */

/* Appends s with CR, LF (and TAB when tabs) written as \r, \n, \t; a final LF dropped. */
static int append_one_line(struct buf *b, const char *s, int tabs)
{
	size_t n = strlen(s), i, from = 0;
	int rc = 0;

	if (n && s[n - 1] == '\n')
		n--;
	if (n && s[n - 1] == '\r')
		n--;
	for (i = 0; i < n && !rc; i++) {
		const char *esc = s[i] == '\n'           ? "\\n"
		                  : s[i] == '\r'         ? "\\r"
		                  : tabs && s[i] == '\t' ? "\\t"
		                                         : NULL;
		if (!esc)
			continue;
		rc = buf_append(b, s + from, i - from);
		if (!rc)
			rc = buf_append_str(b, esc);
		from = i + 1;
	}
	if (!rc)
		rc = buf_append(b, s + from, n - from);
	return rc;
}

int logsearch_format_text(const struct logs_event_list *list, struct buf *out, int *truncated)
{
	char when[40];
	struct buf line;
	size_t i;
	int rc = buf_append(out, "", 0);

	*truncated = list->truncated;
	buf_init(&line, 0);
	for (i = 0; i < list->n && !rc; i++) {
		const struct logs_event *ev = &list->items[i];

		buf_reset(&line);
		logsearch_format_time(ev->timestamp, when, sizeof(when));
		rc = buf_appendf(&line, "%s\t", when);
		if (!rc)
			rc = append_one_line(&line, ev->log_stream, 1);
		if (!rc)
			rc = buf_append(&line, "\t", 1);
		if (!rc)
			rc = append_one_line(&line, ev->message, 0);
		if (!rc)
			rc = buf_append(&line, "\n", 1);
		if (rc)
			break;
		if (out->len + line.len > LOGSEARCH_MAX_BODY) {
			*truncated = 1;
			break;
		}
		rc = buf_append(out, line.data, line.len);
	}
	buf_free(&line);
	return rc;
}

int logsearch_format_json(const char *function, const char *request_id, int64_t start_ms,
                          int64_t end_ms, const struct logs_event_list *list, struct buf *out,
                          int *truncated)
{
	char when[40], from[40], to[40], group[sizeof(LOG_GROUP_PREFIX) + LAMBDA_MAX_NAME];
	json_t *root = NULL, *events = json_array();
	char *text = NULL;
	size_t i, size = 512;
	int rc = ERR_NOMEM;

	*truncated = list->truncated;
	if (!events)
		goto out;
	for (i = 0; i < list->n; i++) {
		const struct logs_event *ev = &list->items[i];
		json_t *item;

		logsearch_format_time(ev->timestamp, when, sizeof(when));
		item = json_pack("{s:s, s:I, s:s, s:s, s:s}", "timestamp", when, "timestamp_ms",
		                 (json_int_t)ev->timestamp, "stream", ev->log_stream, "message",
		                 ev->message, "event_id", ev->event_id);
		if (!item) {
			/* Not UTF-8: jansson refuses it; say so rather than drop the line. */
			item = json_pack("{s:s, s:I, s:s, s:s, s:s}", "timestamp", when,
			                 "timestamp_ms", (json_int_t)ev->timestamp, "stream", "?",
			                 "message", "(not UTF-8)", "event_id", "?");
			if (!item)
				goto out;
		}
		/* What the item will take once dumped, escapes included. */
		size +=
		    128 + 2 * (strlen(ev->log_stream) + strlen(ev->message) + strlen(ev->event_id));
		if (size > LOGSEARCH_MAX_BODY) {
			json_decref(item);
			*truncated = 1;
			break;
		}
		if (json_array_append_new(events, item) != 0)
			goto out;
	}
	logsearch_format_time(start_ms, from, sizeof(from));
	logsearch_format_time(end_ms, to, sizeof(to));
	snprintf(group, sizeof(group), LOG_GROUP_PREFIX "%s", function);
	root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:O}", "function", function, "request_id",
	                 request_id, "log_group", group, "start", from, "end", to, "truncated",
	                 *truncated, "events", events);
	if (!root)
		goto out;
	text = json_dumps(root, JSON_COMPACT);
	if (!text)
		goto out;
	rc = buf_append_str(out, text);
	if (!rc)
		rc = buf_append(out, "\n", 1);
out:
	free(text);
	json_decref(root);
	json_decref(events);
	return rc;
}

int logsearch_parse_command(const char *text, char *function, size_t function_cap, char *request_id,
                            size_t id_cap, struct err *e)
{
	const char *tok[3];
	size_t len[3], n = 0;
	const char *p = text ? text : "";

	while (*p && n < 3) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		tok[n] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		len[n] = (size_t)(p - tok[n]);
		n++;
	}
	if (n != 2)
		return err_set(e, ERR_INVALID, "usage: /logsearch <function> <request id>");
	if (len[0] >= function_cap || len[1] >= id_cap)
		return err_set(e, ERR_INVALID, "the function name or request id is too long");
	memcpy(function, tok[0], len[0]);
	function[len[0]] = '\0';
	memcpy(request_id, tok[1], len[1]);
	request_id[len[1]] = '\0';
	if (lambda_check_function_name(function, e) != 0 ||
	    logsearch_check_request_id(request_id, e) != 0)
		return ERR_INVALID;
	return 0;
}

/* ---- the Slack job ---- */

struct logsearch_job *logsearch_job_new(const char *function, const char *request_id,
                                        const char *response_url, int64_t start_ms, int64_t end_ms)
{
	struct logsearch_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->function = strdup(function);
	job->request_id = strdup(request_id);
	job->response_url = strdup(response_url);
	job->start_ms = start_ms;
	job->end_ms = end_ms;
	if (!job->function || !job->request_id || !job->response_url) {
		logsearch_job_free(job);
		return NULL;
	}
	return job;
}

void logsearch_job_free(void *p)
{
	struct logsearch_job *job = p;

	if (!job)
		return;
	free(job->function);
	free(job->request_id);
	free(job->response_url);
	free(job);
}

char *logsearch_job_payload(const struct logsearch_job *job)
{
	json_t *root =
	    json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:I, s:I}}", "source", LOGSEARCH_EVENT_SOURCE,
	              "detail-type", LOGSEARCH_EVENT_TYPE, "detail", "function", job->function,
	              "request_id", job->request_id, "response_url", job->response_url, "start_ms",
	              (json_int_t)job->start_ms, "end_ms", (json_int_t)job->end_ms);
	char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	return text;
}

struct logsearch_job *logsearch_job_from_json(const json_t *event, struct err *e)
{
	const char *source, *type, *function, *rid, *url;
	json_t *detail, *s, *t;
	struct logsearch_job *job;

	source = json_string_value(json_object_get(event, "source"));
	type = json_string_value(json_object_get(event, "detail-type"));
	detail = json_object_get(event, "detail");
	if (!source || strcmp(source, LOGSEARCH_EVENT_SOURCE) != 0 || !type ||
	    strcmp(type, LOGSEARCH_EVENT_TYPE) != 0 || !json_is_object(detail)) {
		err_set(e, ERR_INVALID, "not an ebssh log search event");
		return NULL;
	}
	function = json_string_value(json_object_get(detail, "function"));
	rid = json_string_value(json_object_get(detail, "request_id"));
	url = json_string_value(json_object_get(detail, "response_url"));
	s = json_object_get(detail, "start_ms");
	t = json_object_get(detail, "end_ms");
	if (lambda_check_function_name(function, e) != 0 ||
	    logsearch_check_request_id(rid, e) != 0 || slack_check_url(url, 1, e) != 0)
		return NULL;
	if (!json_is_integer(s) || !json_is_integer(t) || json_integer_value(s) < 0 ||
	    json_integer_value(s) > json_integer_value(t)) {
		err_set(e, ERR_INVALID, "the log search event has no valid window");
		return NULL;
	}
	job = logsearch_job_new(function, rid, url, (int64_t)json_integer_value(s),
	                        (int64_t)json_integer_value(t));
	if (!job)
		err_set(e, ERR_NOMEM, "out of memory");
	return job;
}

/* Posts one ephemeral message with text. */
static int post_text(struct http_client *http, const char *url, const char *text, struct err *e)
{
	json_t *msg = json_pack("{s:s, s:b, s:s}", "response_type", "ephemeral", "replace_original",
	                        0, "text", text);
	char *body = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	int rc;

	json_decref(msg);
	if (!body)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = slack_post(http, url, body, strlen(body), e);
	free(body);
	return rc;
}

/* What to tell the user when the search failed. */
static void failure_text(const struct logsearch_job *job, const struct err *se, char *out,
                         size_t cap)
{
	if (se->code == ERR_AWS && strcmp(se->aws_code, "ResourceNotFoundException") == 0)
		snprintf(out, cap,
		         "No log group `" LOG_GROUP_PREFIX "%s`: no such function in this region, "
		         "or it never logged.",
		         job->function);
	else if (se->code == ERR_THROTTLED)
		snprintf(out, cap,
		         "CloudWatch Logs is throttling the search; try again in a minute.");
	else if (se->code == ERR_AWS)
		snprintf(out, cap, "The log search failed: AWS answered %s (HTTP %ld).",
		         se->aws_code[0] ? se->aws_code : "an error", se->http_status);
	else
		snprintf(out, cap, "The log search failed (%s).", err_code_name(se->code));
}

int logsearch_job_run(struct service_context *ctx, const struct logsearch_job *job, struct err *e)
{
	struct logs_event_list list = {NULL, 0, 0};
	struct slack_parts parts = {NULL, 0, 0};
	struct aws_client *aws;
	struct http_client *http;
	char from[40], to[40], text[600], when[40];
	char **lines = NULL;
	struct buf title, line;
	struct err se;
	size_t i;
	int rc;

	aws = service_aws(ctx, e);
	if (!aws)
		return e && e->code < 0 ? e->code : ERR_INTERNAL;
	http = aws_client_http(aws);
	err_clear(&se);
	rc = logsearch_run(aws, ctx, job->function, job->request_id, job->start_ms, job->end_ms,
	                   &list, &se);
	logsearch_format_time(job->start_ms, from, sizeof(from));
	logsearch_format_time(job->end_ms, to, sizeof(to));
	if (rc) {
		failure_text(job, &se, text, sizeof(text));
		return post_text(http, job->response_url, text, e);
	}
	if (list.n == 0) {
		snprintf(text, sizeof(text),
		         "No log lines of request `%s` in `" LOG_GROUP_PREFIX
		         "%s` between %s and %s.",
		         job->request_id, job->function, from, to);
		return post_text(http, job->response_url, text, e);
	}
	buf_init(&title, 0);
	buf_init(&line, 0);
	rc = buf_appendf(&title, "*Request `%s` in `" LOG_GROUP_PREFIX "%s`*: %zu line%s%s",
	                 job->request_id, job->function, list.n, list.n == 1 ? "" : "s",
	                 list.truncated ? " (the search stopped there)" : "");
	lines = rc ? NULL : calloc(list.n, sizeof(*lines));
	for (i = 0; lines && i < list.n; i++) {
		buf_reset(&line);
		logsearch_format_time(list.items[i].timestamp, when, sizeof(when));
		if (buf_appendf(&line, "%s  %s  ", when, list.items[i].log_stream) != 0 ||
		    append_one_line(&line, list.items[i].message, 0) != 0)
			break;
		lines[i] = buf_take(&line);
		if (!lines[i])
			break;
	}
	if (!lines || i < list.n ||
	    slack_chunk_lines(title.data, (const char *const *)lines, list.n, SLACK_PART_LIMIT,
	                      SLACK_MAX_PARTS, &parts) != 0) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < parts.n && !rc; i++)
		rc = post_text(http, job->response_url, parts.texts[i], e);
out:
	for (i = 0; lines && i < list.n; i++)
		free(lines[i]);
	free(lines);
	slack_parts_free(&parts);
	buf_free(&title);
	buf_free(&line);
	logs_event_list_free(&list);
	return rc;
}

void logsearch_job_main(struct service_context *worker, void *arg)
{
	const struct logsearch_job *job = arg;
	struct err e;

	err_clear(&e);
	if (logsearch_job_run(worker, job, &e) != 0)
		/* the code and AWS's HTTP status, never the message (it may quote an answer) */
		log_fields_new(LOG_ERROR,
		               json_pack("{s:s, s:s, s:I}", "job", "logsearch", "error",
		                         err_code_name(e.code), "status",
		                         (json_int_t)e.http_status),
		               "log search job failed");
}

int logsearch_job_event(struct service_context *ctx, const json_t *event, struct err *e)
{
	struct logsearch_job *job = logsearch_job_from_json(event, e);
	int rc;

	if (!job)
		return e && e->code < 0 ? e->code : ERR_INVALID;
	rc = logsearch_job_run(ctx, job, e);
	logsearch_job_free(job);
	return rc;
}
