/*
 * logs: CloudWatch Logs FilterLogEvents (JSON 1.1 protocol, X-Amz-Target
 * Logs_20140328.FilterLogEvents, signing name "logs", endpoint id
 * CLOUDWATCH_LOGS), its answer read by jansson into plain structs, and the
 * pager that follows nextToken to the end.
 *
 * FilterLogEvents may answer empty pages with a nextToken while it still
 * searches streams, so the pager goes on through them; it stops at a page
 * or event cap and says so (truncated) instead of failing, since what was
 * found by then is still the answer's best part.
 */
#ifndef EBSSH_AWS_LOGS_H
#define EBSSH_AWS_LOGS_H

#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"
#include "../util/err.h"

#define LOGS_DEFAULT_MAX_PAGES  100
#define LOGS_DEFAULT_MAX_EVENTS 10000

struct aws_client;

struct logs_event {
	int64_t timestamp; /* ms since the epoch */
	char *log_stream;  /* owned; "" when the answer had none */
	char *message;     /* owned; "" when the answer had none */
	char *event_id;    /* owned; "" when the answer had none */
};

struct logs_event_list {
	struct logs_event *items; /* owned */
	size_t n;
	int truncated; /* 1 when the pager stopped at a cap with more to read */
};

struct logs_filter {
	const char *log_group;      /* "/aws/lambda/my-function"; required */
	const char *filter_pattern; /* CloudWatch filter syntax, e.g. "\"<request id>\""; or NULL */
	int64_t start_ms;           /* ms since the epoch; 0: not sent */
	int64_t end_ms;             /* ms since the epoch; 0: not sent */
	int max_pages;              /* 0: LOGS_DEFAULT_MAX_PAGES */
	size_t max_events;          /* 0: LOGS_DEFAULT_MAX_EVENTS */
};

/* Frees every event and empties the list. */
void logs_event_list_free(struct logs_event_list *list);

/*
 * The JSON request body of one FilterLogEvents page into out (appended):
 * {"logGroupName", "filterPattern", "startTime", "endTime", "nextToken"},
 * the optional ones only when set. ERR_INVALID without a log group or with
 * start after end; ERR_NOMEM.
 */
int logs_filter_request(const struct logs_filter *f, const char *next_token, struct buf *out,
                        struct err *e);

/*
 * Parses one FilterLogEvents answer and appends its events to *out (zeroed
 * or holding earlier pages). *next_token receives the page's nextToken
 * (owned) or NULL. ERR_PARSE on malformed JSON, a non-object, "events" not
 * an array of objects, or a field of the wrong type.
 */
int logs_parse_filter_response(const char *json, size_t len, struct logs_event_list *out,
                               char **next_token, struct err *e);

/* Sorts by timestamp, ties by event id, then by the order received. */
void logs_sort(struct logs_event_list *list);

/*
 * FilterLogEvents from page one to the end (or a cap: out->truncated),
 * the events sorted with logs_sort. *out must be zeroed; on failure it is
 * left empty. Errors as aws_client_call gives them (ResourceNotFoundException
 * for an unknown group is ERR_AWS with http_status 400), ERR_PARSE when
 * CloudWatch Logs repeats a nextToken.
 */
int logs_filter_log_events(struct aws_client *c, const struct logs_filter *f,
                           struct logs_event_list *out, struct err *e);

/* The same, asking stop(stop_arg) before each page after the first:
 * nonzero stops the pager as a cap does (out->truncated). For a caller's
 * deadline; stop may be NULL. */
int logs_filter_log_events_until(struct aws_client *c, const struct logs_filter *f,
                                 int (*stop)(void *arg), void *stop_arg,
                                 struct logs_event_list *out, struct err *e);

#endif
