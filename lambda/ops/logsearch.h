/*
 * logsearch: the log lines of one Lambda request, from curl or from Slack.
 *
 * A search is FilterLogEvents over /aws/lambda/{function} with the quoted
 * request id as the filter pattern, in a time window (default: the 24 h
 * before now), every page, sorted by timestamp (aws/logs.h). Function
 * names follow Lambda's rule and request ids must look like one (8 to 64
 * letters, digits and hyphens, a letter or digit at each end) before any
 * call is made, so neither can reach the filter pattern's syntax.
 *
 * The Slack side answers a slash command at once and runs the search as a
 * job: on ebssh-api through service_context.run_async (logsearch_job_main),
 * on Lambda by invoking its own function with InvocationType Event and a
 * payload shaped as an EventBridge event, which event_parse reads as
 * EVENT_EVENTBRIDGE with source "ebssh" and detail-type "ebssh.logsearch":
 *   {"source": "ebssh", "detail-type": "ebssh.logsearch",
 *    "detail": {"function": "...", "request_id": "...", "response_url": "...",
 *               "start_ms": n, "end_ms": n}}
 * (logsearch_job_event runs it). The job posts the result, or why there
 * is none, to the command's response_url.
 */
#ifndef EBSSH_LAMBDA_LOGSEARCH_H
#define EBSSH_LAMBDA_LOGSEARCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../../aws/logs.h"
#include "../../util/buf.h"
#include "../../util/err.h"
#include "../service.h"

#define LOGSEARCH_MAX_ID         64
#define LOGSEARCH_DEFAULT_WINDOW (24LL * 3600 * 1000) /* ms */
#define LOGSEARCH_MAX_BODY       ((size_t)5 << 20)    /* under Lambda's 6 MB answer */
#define LOGSEARCH_EVENT_SOURCE   "ebssh"
#define LOGSEARCH_EVENT_TYPE     "ebssh.logsearch"

/* 0 when id looks like a request id, else ERR_INVALID saying why. */
int logsearch_check_request_id(const char *id, struct err *e);

/*
 * Parses an ISO 8601 time: "2024-05-01", "2024-05-01T12:00", "...:30",
 * "...:30.123", with "Z", "+02:00", "+0200" or "-05:00" (a space where the
 * '+' was, as a decoded query string leaves it) or no zone (UTC).
 * ERR_INVALID for anything else or an impossible date.
 */
int logsearch_parse_time(const char *s, int64_t *ms, struct err *e);

/* "2024-05-01T12:00:00.123Z" (UTC) into out (at least 32 bytes). */
void logsearch_format_time(int64_t ms, char *out, size_t cap);

/*
 * The window of ?start= and ?end= (either may be NULL): end defaults to
 * now, start to 24 h before end. ERR_INVALID for a bad time or start after
 * end.
 */
int logsearch_window(const char *start, const char *end, time_t now, int64_t *start_ms,
                     int64_t *end_ms, struct err *e);

/* The search itself; *out zeroed. Errors as logs_filter_log_events. With
 * a ctx, a page is asked only while service_out_of_time(ctx) is 0: when the
 * invocation's time runs out, the lines so far with out->truncated, as at
 * a cap. ctx may be NULL. */
int logsearch_run(struct aws_client *aws, struct service_context *ctx, const char *function,
                  const char *request_id, int64_t start_ms, int64_t end_ms,
                  struct logs_event_list *out, struct err *e);

/*
 * The answers over a sorted list. Text: one "timestamp<TAB>stream<TAB>
 * message\n" a line, the message's trailing newline dropped and inner
 * CR/LF written as \r and \n so one event stays one line. JSON:
 * {"function", "request_id", "log_group", "start", "end", "truncated",
 *  "events": [{"timestamp", "timestamp_ms", "stream", "message", "event_id"}]}.
 * Both stop before LOGSEARCH_MAX_BODY bytes and then set *truncated.
 */
int logsearch_format_text(const struct logs_event_list *list, struct buf *out, int *truncated);
int logsearch_format_json(const char *function, const char *request_id, int64_t start_ms,
                          int64_t end_ms, const struct logs_event_list *list, struct buf *out,
                          int *truncated);

/*
 * A slash command's text "<function> <request id>" (blanks around and
 * between): both copied into the caller's buffers (65 and
 * LOGSEARCH_MAX_ID + 1 bytes) once checked. ERR_INVALID otherwise, with a
 * message fit for the user.
 */
int logsearch_parse_command(const char *text, char *function, size_t function_cap, char *request_id,
                            size_t id_cap, struct err *e);

/* One search to run later and post to a response_url. */
struct logsearch_job {
	char *function;
	char *request_id;
	char *response_url;
	int64_t start_ms;
	int64_t end_ms;
};

/* A job with copies of the strings; NULL when out of memory. */
struct logsearch_job *logsearch_job_new(const char *function, const char *request_id,
                                        const char *response_url, int64_t start_ms, int64_t end_ms);
void logsearch_job_free(void *job);

/* The self-invocation payload of a job (caller frees). NULL when out of memory. */
char *logsearch_job_payload(const struct logsearch_job *job);

/*
 * A job from a parsed self-invocation event (ev->json of EVENT_EVENTBRIDGE
 * with source "ebssh" and detail-type "ebssh.logsearch"); everything in it
 * checked as the route checks it. NULL and ERR_INVALID otherwise.
 */
struct logsearch_job *logsearch_job_from_json(const json_t *event, struct err *e);

/*
 * Runs a job: the search, then the result (or the reason there is none) as
 * ephemeral Slack messages to the job's response_url, trimmed with a note
 * past SLACK_MAX_PARTS parts. 0 when the answer reached Slack; else the
 * error of the post (the search's own failure is what was posted).
 */
int logsearch_job_run(struct service_context *ctx, const struct logsearch_job *job, struct err *e);

/* service_context.run_async's fn for a job (arg: struct logsearch_job *). */
void logsearch_job_main(struct service_context *worker, void *arg);

/* For the runtime: runs the job of a self-invocation event (see above). */
int logsearch_job_event(struct service_context *ctx, const json_t *event, struct err *e);

#endif
