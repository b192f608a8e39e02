/* logs: CloudWatch Logs FilterLogEvents and its pager; see logs.h. */
#include "logs.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define LOGS_TARGET       "Logs_20140328.FilterLogEvents"
#define LOGS_CONTENT_TYPE "application/x-amz-json-1.1"
#define LOGS_MAX_ANSWER   ((size_t)16 << 20)

void logs_event_list_free(struct logs_event_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->n; i++) {
		free(list->items[i].log_stream);
		free(list->items[i].message);
		free(list->items[i].event_id);
	}
	free(list->items);
	list->items = NULL;
	list->n = 0;
	list->truncated = 0;
}

int logs_filter_request(const struct logs_filter *f, const char *next_token, struct buf *out,
                        struct err *e)
{
	json_t *root;
	char *text = NULL;
	int rc = ERR_NOMEM;

	if (!f || !f->log_group || !*f->log_group)
		return err_set(e, ERR_INVALID, "FilterLogEvents: no log group");
	if (f->start_ms < 0 || f->end_ms < 0 ||
	    (f->start_ms && f->end_ms && f->start_ms > f->end_ms))
		return err_set(e, ERR_INVALID, "FilterLogEvents: the start is after the end");
	root = json_pack("{s:s}", "logGroupName", f->log_group);
	if (!root)
		goto out;
	if (f->filter_pattern &&
	    json_object_set_new(root, "filterPattern", json_string(f->filter_pattern)) != 0)
		goto out;
	if (f->start_ms &&
	    json_object_set_new(root, "startTime", json_integer((json_int_t)f->start_ms)) != 0)
		goto out;
	if (f->end_ms &&
	    json_object_set_new(root, "endTime", json_integer((json_int_t)f->end_ms)) != 0)
		goto out;
	if (next_token && json_object_set_new(root, "nextToken", json_string(next_token)) != 0)
		goto out;
	text = json_dumps(root, JSON_COMPACT);
	if (!text)
		goto out;
	rc = buf_append_str(out, text);
out:
	free(text);
	json_decref(root);
	if (rc)
		err_set(e, rc, "FilterLogEvents: cannot build the request (%s)", err_code_name(rc));
	return rc;
}

/* A string member as a new copy: "" when absent or null; ERR_PARSE when another type. */
static int dup_member(json_t *obj, const char *key, char **out)
{
	json_t *v = json_object_get(obj, key);
	const char *s = "";

	*out = NULL;
	if (v && !json_is_null(v)) {
		if (!json_is_string(v))
			return ERR_PARSE;
		s = json_string_value(v);
	}
	*out = strdup(s);
	return *out ? 0 : ERR_NOMEM;
}

static int append_event(struct logs_event_list *out, json_t *ev, struct err *e)
{
	struct logs_event item = {0, NULL, NULL, NULL};
	struct logs_event *grown;
	json_t *ts;
	int rc;

	if (!json_is_object(ev))
		return err_set(e, ERR_PARSE, "FilterLogEvents: an event is not an object");
	ts = json_object_get(ev, "timestamp");
	if (ts && !json_is_null(ts)) {
		if (!json_is_integer(ts))
			return err_set(e, ERR_PARSE,
			               "FilterLogEvents: a timestamp is not an integer");
		item.timestamp = (int64_t)json_integer_value(ts);
	}
	rc = dup_member(ev, "logStreamName", &item.log_stream);
	if (!rc)
		rc = dup_member(ev, "message", &item.message);
	if (!rc)
		rc = dup_member(ev, "eventId", &item.event_id);
	grown = NULL;
	if (!rc && out->n < ((size_t)-1) / sizeof(*grown) - 1)
		grown = realloc(out->items, (out->n + 1) * sizeof(*grown));
	if (!grown) {
		free(item.log_stream);
		free(item.message);
		free(item.event_id);
		if (rc == ERR_PARSE)
			return err_set(e, rc, "FilterLogEvents: an event field is not a string");
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	grown[out->n++] = item;
	out->items = grown;
	return 0;
}

int logs_parse_filter_response(const char *json, size_t len, struct logs_event_list *out,
                               char **next_token, struct err *e)
{
	json_error_t jerr;
	json_t *root, *events, *tok;
	size_t i, before = out->n;
	int rc = 0;

	*next_token = NULL;
	root = json_loadb(json ? json : "", json ? len : 0, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(e, ERR_PARSE, "FilterLogEvents: the answer is not JSON (line %d)",
		               jerr.line);
	if (!json_is_object(root)) {
		rc = err_set(e, ERR_PARSE, "FilterLogEvents: the answer is not an object");
		goto out;
	}
	events = json_object_get(root, "events");
	if (events && !json_is_null(events) && !json_is_array(events)) {
		rc = err_set(e, ERR_PARSE, "FilterLogEvents: \"events\" is not an array");
		goto out;
	}
	for (i = 0; events && i < json_array_size(events) && !rc; i++)
		rc = append_event(out, json_array_get(events, i), e);
	if (rc)
		goto out;
	tok = json_object_get(root, "nextToken");
	if (tok && !json_is_null(tok)) {
		if (!json_is_string(tok)) {
			rc =
			    err_set(e, ERR_PARSE, "FilterLogEvents: \"nextToken\" is not a string");
			goto out;
		}
		if (json_string_length(tok) > 0) {
			*next_token = strdup(json_string_value(tok));
			if (!*next_token)
				rc = err_set(e, ERR_NOMEM, "out of memory");
		}
	}
out:
	if (rc) {
		/* Drop this page's events: the list is as before the call. */
		while (out->n > before) {
			struct logs_event *ev = &out->items[--out->n];
			free(ev->log_stream);
			free(ev->message);
			free(ev->event_id);
		}
	}
	json_decref(root);
	return rc;
}

/* qsort is not stable: the index breaks the last tie. */
struct ordered {
	struct logs_event ev;
	size_t index;
};

static int compare_events(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;
	int c;

	if (x->ev.timestamp != y->ev.timestamp)
		return x->ev.timestamp < y->ev.timestamp ? -1 : 1;
	c = strcmp(x->ev.event_id, y->ev.event_id);
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

void logs_sort(struct logs_event_list *list)
{
	struct ordered *tmp;
	size_t i;

	if (!list || list->n < 2)
		return;
	tmp = calloc(list->n, sizeof(*tmp));
	if (!tmp) {
		/* Out of memory: insertion sort in place, stable, no allocation. */
		for (i = 1; i < list->n; i++) {
			struct logs_event cur = list->items[i];
			size_t j = i;
			while (j > 0 && (list->items[j - 1].timestamp > cur.timestamp ||
			                 (list->items[j - 1].timestamp == cur.timestamp &&
			                  strcmp(list->items[j - 1].event_id, cur.event_id) > 0))) {
				list->items[j] = list->items[j - 1];
				j--;
			}
			list->items[j] = cur;
		}
		return;
	}
	for (i = 0; i < list->n; i++) {
		tmp[i].ev = list->items[i];
		tmp[i].index = i;
	}
	qsort(tmp, list->n, sizeof(*tmp), compare_events);
	for (i = 0; i < list->n; i++)
		list->items[i] = tmp[i].ev;
	free(tmp);
}

static int one_page(struct aws_client *c, const struct logs_filter *f, const char *token,
                    struct logs_event_list *all, char **next, struct err *e)
{
	struct aws_call call;
	struct buf req, body;
	int rc;

	buf_init(&req, 0);
	rc = logs_filter_request(f, token, &req, e);
	if (rc)
		return rc;
	memset(&call, 0, sizeof(call));
	call.service = "logs";
	call.endpoint_id = "CLOUDWATCH_LOGS";
	call.endpoint_prefix = "logs";
	call.protocol = AWS_PROTOCOL_JSON;
	call.method = "POST";
	call.path = "/";
	call.content_type = LOGS_CONTENT_TYPE;
	call.target = LOGS_TARGET;
	call.body = req.data;
	call.body_len = req.len;
	buf_init(&body, LOGS_MAX_ANSWER);
	rc = aws_client_call(c, &call, &body, e);
	buf_free(&req);
	if (!rc)
		rc = logs_parse_filter_response(body.data, body.len, all, next, e);
	buf_free(&body);
	return rc;
}

int logs_filter_log_events(struct aws_client *c, const struct logs_filter *f,
                           struct logs_event_list *out, struct err *e)
{
	return logs_filter_log_events_until(c, f, NULL, NULL, out, e);
}

int logs_filter_log_events_until(struct aws_client *c, const struct logs_filter *f,
                                 int (*stop)(void *arg), void *stop_arg,
                                 struct logs_event_list *out, struct err *e)
{
	struct logs_event_list all = {NULL, 0, 0};
	char *token = NULL, *next = NULL;
	int max_pages = f && f->max_pages > 0 ? f->max_pages : LOGS_DEFAULT_MAX_PAGES;
	size_t max_events = f && f->max_events ? f->max_events : LOGS_DEFAULT_MAX_EVENTS;
	int pages, rc = 0;

	if (!c || !f || !out)
		return err_set(e, ERR_INVALID, "FilterLogEvents: missing arguments");
	for (pages = 0;; pages++) {
		if (pages == max_pages || all.n >= max_events ||
		    (pages > 0 && stop && stop(stop_arg))) {
			all.truncated = 1;
			break;
		}
		rc = one_page(c, f, token, &all, &next, e);
		if (rc)
			goto out;
		if (!next)
			break;
		if (token && strcmp(token, next) == 0) {
			rc =
			    err_set(e, ERR_PARSE, "FilterLogEvents: the same nextToken came twice");
			goto out;
		}
		free(token);
		token = next;
		next = NULL;
	}
	if (all.n > max_events) {
		size_t i;
		/* Keep the first max_events received; the rest are dropped. */
		for (i = max_events; i < all.n; i++) {
			free(all.items[i].log_stream);
			free(all.items[i].message);
			free(all.items[i].event_id);
		}
		all.n = max_events;
		all.truncated = 1;
	}
	logs_sort(&all);
	*out = all;
	all.items = NULL;
	all.n = 0;
out:
	free(token);
	free(next);
	logs_event_list_free(&all);
	return rc;
}
