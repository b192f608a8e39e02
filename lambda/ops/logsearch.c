/* logsearch: one request's log lines, its answers and its Slack job; see logsearch.h. */
#include "logsearch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/client.h"
#include "../../aws/lambda.h"
#include "../../util/namelist.h"
#include "../../util/timefmt.h"
#include "../config.h"
#include "../log.h"
#include "slack.h"

#define LOG_GROUP_PREFIX "/aws/lambda/"

/* ---- names and times ---- */

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int logsearch_check_request_id(const char *id, struct err *e)
{
	size_t i;

	for (i = 0; id && i < LOGSEARCH_ID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? id[i] != '-' : !is_hex(id[i]))
			break;
	}
	if (!id || i < LOGSEARCH_ID_LEN || id[LOGSEARCH_ID_LEN] != '\0')
		return err_set(e, ERR_INVALID,
		               "a request id is a Lambda request id: a UUID like "
		               "c0ffee00-1111-2222-3333-444455556666");
	return 0;
}

int logsearch_allowed(const char *function, struct err *e)
{
	const char *list = service_config_logsearch_functions();

	if (!list)
		return err_set(e, ERR_NOT_FOUND,
		               "LOGSEARCH_FUNCTIONS is not set: log search is off");
	if (!namelist_match(list, function))
		return err_set(e, ERR_INVALID,
		               "function '%.64s' is not one LOGSEARCH_FUNCTIONS allows to search",
		               function ? function : "");
	return 0;
}

int logsearch_allowed_names(char **out, struct err *e)
{
	const char *list = service_config_logsearch_functions(), *p = list, *item;
	struct buf b;
	size_t len;

	*out = NULL;
	if (!list)
		return err_set(e, ERR_NOT_FOUND,
		               "LOGSEARCH_FUNCTIONS is not set: log search is off");
	buf_init(&b, 0);
	while (namelist_next(&p, &item, &len)) {
		if (namelist_is_pattern(item, len))
			continue;
		if ((b.len && buf_append(&b, ",", 1) != 0) || buf_append(&b, item, len) != 0) {
			buf_free(&b);
			return err_set(e, ERR_NOMEM, "out of memory");
		}
	}
	if (b.len == 0) {
		buf_free(&b);
		return err_set(e, ERR_INVALID,
		               "LOGSEARCH_FUNCTIONS holds only patterns: name the function, "
		               "/logsearch <function> <request id>");
	}
	*out = buf_take(&b);
	buf_free(&b);
	return *out ? 0 : err_set(e, ERR_NOMEM, "out of memory");
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
	/* Lambda writes its ids in lower case; filter patterns are case-sensitive. */
	for (size_t i = 0; pattern[i]; i++)
		if (pattern[i] >= 'A' && pattern[i] <= 'F')
			pattern[i] = (char)(pattern[i] - 'A' + 'a');
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
	if (n != 1 && n != 2)
		return err_set(
		    e, ERR_INVALID,
		    "usage: /logsearch <request id> or /logsearch <function> <request id>");
	if (n == 1) {
		tok[1] = tok[0];
		len[1] = len[0];
		len[0] = 0;
	}
	if (len[0] >= function_cap || len[1] >= id_cap)
		return err_set(e, ERR_INVALID, "the function name or request id is too long");
	memcpy(function, tok[0], len[0]);
	function[len[0]] = '\0';
	memcpy(request_id, tok[1], len[1]);
	request_id[len[1]] = '\0';
	if ((n == 2 && lambda_check_function_name(function, e) != 0) ||
	    logsearch_check_request_id(request_id, e) != 0)
		return ERR_INVALID;
	return 0;
}

/* ---- the Slack job ---- */

struct logsearch_job *logsearch_job_new(const char *functions, const char *request_id,
                                        const char *response_url, int64_t start_ms, int64_t end_ms)
{
	struct logsearch_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->functions = strdup(functions);
	job->request_id = strdup(request_id);
	job->response_url = strdup(response_url);
	job->start_ms = start_ms;
	job->end_ms = end_ms;
	if (!job->functions || !job->request_id || !job->response_url) {
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
	free(job->functions);
	free(job->request_id);
	free(job->response_url);
	free(job);
}

char *logsearch_job_payload(const struct logsearch_job *job)
{
	json_t *root =
	    json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:I, s:I}}", "source", LOGSEARCH_EVENT_SOURCE,
	              "detail-type", LOGSEARCH_EVENT_TYPE, "detail", "functions", job->functions,
	              "request_id", job->request_id, "response_url", job->response_url, "start_ms",
	              (json_int_t)job->start_ms, "end_ms", (json_int_t)job->end_ms);
	char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	return text;
}

struct logsearch_job *logsearch_job_from_json(const json_t *event, struct err *e)
{
	const char *source, *type, *functions, *rid, *url, *p, *item;
	char name[LAMBDA_MAX_NAME + 1];
	size_t len;
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
	functions = json_string_value(json_object_get(detail, "functions"));
	if (!functions) /* an earlier release's one function */
		functions = json_string_value(json_object_get(detail, "function"));
	rid = json_string_value(json_object_get(detail, "request_id"));
	url = json_string_value(json_object_get(detail, "response_url"));
	s = json_object_get(detail, "start_ms");
	t = json_object_get(detail, "end_ms");
	if (namelist_check(functions, "the event's functions", "-_", LAMBDA_MAX_NAME, 0, e) != 0 ||
	    logsearch_check_request_id(rid, e) != 0 || slack_check_url(url, 1, e) != 0)
		return NULL;
	for (p = functions; namelist_next(&p, &item, &len);) {
		memcpy(name, item, len);
		name[len] = '\0';
		if (lambda_check_function_name(name, e) != 0 || logsearch_allowed(name, e) != 0) {
			if (e)
				e->code = ERR_INVALID;
			return NULL;
		}
	}
	if (!json_is_integer(s) || !json_is_integer(t) || json_integer_value(s) < 0 ||
	    json_integer_value(s) > json_integer_value(t)) {
		err_set(e, ERR_INVALID, "the log search event has no valid window");
		return NULL;
	}
	job = logsearch_job_new(functions, rid, url, (int64_t)json_integer_value(s),
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

/* What to tell the user when the search of function failed. */
static void failure_text(const char *function, const struct err *se, char *out, size_t cap)
{
	if (se->code == ERR_AWS && strcmp(se->aws_code, "ResourceNotFoundException") == 0)
		snprintf(out, cap,
		         "No log group `" LOG_GROUP_PREFIX "%s`: no such function in this region, "
		         "or it never logged.",
		         function);
	else if (se->code == ERR_THROTTLED)
		snprintf(out, cap,
		         "CloudWatch Logs is throttling the search; try again in a minute.");
	else if (se->code == ERR_AWS)
		snprintf(out, cap, "The log search failed: AWS answered %s (HTTP %ld).",
		         se->aws_code[0] ? se->aws_code : "an error", se->http_status);
	else
		snprintf(out, cap, "The log search failed (%s).", err_code_name(se->code));
}

/* One line of the merged answer: which function, which event. */
struct job_line {
	size_t fn;   /* index in the job's names */
	size_t rank; /* position in that function's sorted list */
	const struct logs_event *ev;
};

static int by_time(const void *pa, const void *pb)
{
	const struct job_line *a = pa, *b = pb;

	if (a->ev->timestamp != b->ev->timestamp)
		return a->ev->timestamp < b->ev->timestamp ? -1 : 1;
	if (a->fn != b->fn)
		return a->fn < b->fn ? -1 : 1;
	return a->rank < b->rank ? -1 : a->rank > b->rank;
}

/* The names of a job, split (at most NAMELIST_MAX_ITEMS). */
struct job_names {
	char name[NAMELIST_MAX_ITEMS][LAMBDA_MAX_NAME + 1];
	size_t n;
};

static void split_names(const char *functions, struct job_names *names)
{
	const char *p = functions, *item;
	size_t len;

	names->n = 0;
	while (names->n < NAMELIST_MAX_ITEMS && namelist_next(&p, &item, &len)) {
		if (len > LAMBDA_MAX_NAME)
			len = LAMBDA_MAX_NAME;
		memcpy(names->name[names->n], item, len);
		names->name[names->n][len] = '\0';
		names->n++;
	}
}

/* The answer's title: what was searched, how many lines, what went wrong. */
static int job_title(struct buf *t, const struct logsearch_job *job, const struct job_names *names,
                     size_t n_lines, int truncated, const char *missing, const char *failed)
{
	size_t i;
	int rc;

	if (names->n == 1)
		rc = buf_appendf(t, "*Request `%s` in `" LOG_GROUP_PREFIX "%s`*", job->request_id,
		                 names->name[0]);
	else
		rc = buf_appendf(t, "*Request `%s` in %zu functions*", job->request_id, names->n);
	if (!rc)
		rc = buf_appendf(t, ": %zu line%s%s", n_lines, n_lines == 1 ? "" : "s",
		                 truncated ? " (the search stopped there)" : "");
	if (!rc && names->n > 1) {
		rc = buf_append_str(t, "\nSearched:");
		for (i = 0; i < names->n && !rc; i++)
			rc = buf_appendf(t, " `%s`", names->name[i]);
	}
	if (!rc && missing && *missing)
		rc = buf_appendf(t, "\nNo log group (never logged):%s", missing);
	if (!rc && failed && *failed)
		rc = buf_appendf(t, "\n%s", failed);
	return rc;
}

int logsearch_job_run(struct service_context *ctx, const struct logsearch_job *job, struct err *e)
{
	struct logs_event_list lists[NAMELIST_MAX_ITEMS];
	struct slack_parts parts = {NULL, 0, 0};
	struct job_names names;
	struct job_line *merged = NULL;
	struct aws_client *aws;
	struct http_client *http;
	char from[40], to[40], text[600], when[40];
	char **lines = NULL;
	struct buf title, line, missing, failed;
	size_t i, k, total = 0;
	int rc = 0, truncated = 0, searched = 0;

	aws = service_aws(ctx, e);
	if (!aws)
		return e && e->code < 0 ? e->code : ERR_INTERNAL;
	http = aws_client_http(aws);
	split_names(job->functions, &names);
	memset(lists, 0, sizeof(lists));
	buf_init(&title, 0);
	buf_init(&line, 0);
	buf_init(&missing, 0);
	buf_init(&failed, 0);
	logsearch_format_time(job->start_ms, from, sizeof(from));
	logsearch_format_time(job->end_ms, to, sizeof(to));
	for (k = 0; k < names.n; k++) {
		struct err se;

		err_clear(&se);
		if (logsearch_run(aws, ctx, names.name[k], job->request_id, job->start_ms,
		                  job->end_ms, &lists[k], &se) == 0) {
			searched++;
			total += lists[k].n;
			truncated |= lists[k].truncated;
			continue;
		}
		logs_event_list_free(&lists[k]);
		failure_text(names.name[k], &se, text, sizeof(text));
		if (names.n == 1) {
			rc = post_text(http, job->response_url, text, e);
			goto out;
		}
		if (se.code == ERR_AWS && strcmp(se.aws_code, "ResourceNotFoundException") == 0)
			rc = buf_appendf(&missing, " `%s`", names.name[k]);
		else if (failed.len == 0)
			rc = buf_appendf(&failed, "`%s`: %s", names.name[k], text);
		if (rc)
			goto nomem;
	}
	if (total == 0) {
		if (names.n == 1)
			snprintf(text, sizeof(text),
			         "No log lines of request `%s` in `" LOG_GROUP_PREFIX
			         "%s` between %s and %s.",
			         job->request_id, names.name[0], from, to);
		else
			snprintf(text, sizeof(text),
			         "No log lines of request `%s` in %d of the %zu allowed functions "
			         "between %s and %s.%s%s%s%s",
			         job->request_id, searched, names.n, from, to,
			         missing.len ? "\nNo log group (never logged):" : "",
			         missing.len ? missing.data : "", failed.len ? "\n" : "",
			         failed.len ? failed.data : "");
		rc = post_text(http, job->response_url, text, e);
		goto out;
	}
	merged = calloc(total, sizeof(*merged));
	lines = calloc(total, sizeof(*lines));
	if (!merged || !lines)
		goto nomem;
	for (k = 0, i = 0; k < names.n; k++)
		for (size_t r = 0; r < lists[k].n; r++, i++) {
			merged[i].fn = k;
			merged[i].rank = r;
			merged[i].ev = &lists[k].items[r];
		}
	qsort(merged, total, sizeof(*merged), by_time);
	if (job_title(&title, job, &names, total, truncated, missing.data, failed.data) != 0)
		goto nomem;
	for (i = 0; i < total; i++) {
		const struct logs_event *ev = merged[i].ev;

		buf_reset(&line);
		logsearch_format_time(ev->timestamp, when, sizeof(when));
		if (buf_appendf(&line, "%s  ", when) != 0 ||
		    (names.n > 1 && buf_appendf(&line, "%s  ", names.name[merged[i].fn]) != 0) ||
		    buf_appendf(&line, "%s  ", ev->log_stream) != 0 ||
		    append_one_line(&line, ev->message, 0) != 0)
			goto nomem;
		lines[i] = buf_take(&line);
		if (!lines[i])
			goto nomem;
	}
	if (slack_chunk_lines(title.data, (const char *const *)lines, total, SLACK_PART_LIMIT,
	                      SLACK_MAX_PARTS, &parts) != 0)
		goto nomem;
	for (i = 0; i < parts.n && !rc; i++)
		rc = post_text(http, job->response_url, parts.texts[i], e);
	goto out;
nomem:
	rc = err_set(e, ERR_NOMEM, "out of memory");
out:
	for (i = 0; lines && i < total; i++)
		free(lines[i]);
	free(lines);
	free(merged);
	for (k = 0; k < names.n; k++)
		logs_event_list_free(&lists[k]);
	slack_parts_free(&parts);
	buf_free(&title);
	buf_free(&line);
	buf_free(&missing);
	buf_free(&failed);
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
