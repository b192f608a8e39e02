/*
 * logsearch: the log lines of one Lambda request, from curl or from Slack.
 *
 * A search is FilterLogEvents over /aws/lambda/{function} with the quoted
 * request id as the filter pattern, in a time window (default: the 24 h
 * before now), every page, sorted by timestamp (aws/logs.h). Function
 * names follow Lambda's rule and request ids must be a Lambda request id
 * (a UUID, 8-4-4-4-12 hex digits, either case) before any call is made, so
 * neither can reach the filter pattern's syntax and a search can never be
 * a grep for a word.
 *
 * Which functions may be searched is the allow-list LOGSEARCH_FUNCTIONS
 * (config.h: names or patterns with *; by default the function itself):
 * logsearch_allowed says whether a function is in it, and the Slack
 * command's one-argument form searches every name it holds.
 *
 * The Slack side answers a slash command at once and runs the search as a
 * job: on ebssh-api through service_context.run_async (logsearch_job_main),
 * on Lambda by invoking its own function with InvocationType Event and a
 * payload shaped as an EventBridge event, which event_parse reads as
 * EVENT_EVENTBRIDGE with source "ebssh" and detail-type "ebssh.logsearch":
 *   {"source": "ebssh", "detail-type": "ebssh.logsearch",
 *    "detail": {"functions": "a,b", "request_id": "...", "response_url": "...",
 *               "start_ms": n, "end_ms": n}}
 * ("function": "a" of earlier releases is read too; logsearch_job_event
 * runs it). The job posts the result, or why there is none, to the
 * command's response_url.
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

#define LOGSEARCH_MAX_ID         64 /* a token the parser copies; a valid id has 36 */
#define LOGSEARCH_ID_LEN         36 /* 8-4-4-4-12 */
#define LOGSEARCH_DEFAULT_WINDOW (24LL * 3600 * 1000) /* ms */
#define LOGSEARCH_MAX_BODY       ((size_t)5 << 20)    /* under Lambda's 6 MB answer */
#define LOGSEARCH_EVENT_SOURCE   "ebssh"
#define LOGSEARCH_EVENT_TYPE     "ebssh.logsearch"

/* 0 when id is a Lambda request id (a UUID: 8-4-4-4-12 hex digits, either
 * case), else ERR_INVALID saying so. */
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
 * 0 when function may be searched: it matches an item of
 * service_config_logsearch_functions(). ERR_NOT_FOUND when there is no
 * allow-list (log search is off), ERR_INVALID when it is not in it; the
 * message says which, fit for the user.
 */
int logsearch_allowed(const char *function, struct err *e);

/*
 * The names (not the patterns) of the allow-list, comma-separated, into
 * out (a new string the caller frees): what the one-argument /logsearch
 * searches. ERR_NOT_FOUND without an allow-list, ERR_INVALID when it holds
 * only patterns (messages fit for the user), ERR_NOMEM.
 */
int logsearch_allowed_names(char **out, struct err *e);

/*
 * A slash command's text "<function> <request id>" or "<request id>"
 * (blanks around and between): copied into the caller's buffers (65 and
 * LOGSEARCH_MAX_ID + 1 bytes) once checked; function is "" for the one-
 * argument form. ERR_INVALID otherwise, with a message fit for the user.
 */
int logsearch_parse_command(const char *text, char *function, size_t function_cap, char *request_id,
                            size_t id_cap, struct err *e);

/* One search to run later and post to a response_url. */
struct logsearch_job {
	char *functions; /* one or more names, comma-separated (no patterns) */
	char *request_id;
	char *response_url;
	int64_t start_ms;
	int64_t end_ms;
};

/* A job with copies of the strings (functions: names, comma-separated);
 * NULL when out of memory. */
struct logsearch_job *logsearch_job_new(const char *functions, const char *request_id,
                                        const char *response_url, int64_t start_ms, int64_t end_ms);
void logsearch_job_free(void *job);

/* The self-invocation payload of a job (caller frees). NULL when out of memory. */
char *logsearch_job_payload(const struct logsearch_job *job);

/*
 * A job from a parsed self-invocation event (ev->json of EVENT_EVENTBRIDGE
 * with source "ebssh" and detail-type "ebssh.logsearch"); everything in it
 * checked as the route checks it, each function against the allow-list.
 * NULL and ERR_INVALID otherwise.
 */
struct logsearch_job *logsearch_job_from_json(const json_t *event, struct err *e);

/*
 * Runs a job: the search of each function, the lines of all of them merged
 * by time, then the result (or the reason there is none) as ephemeral
 * Slack messages to the job's response_url, trimmed with a note
 * past SLACK_MAX_PARTS parts. 0 when the answer reached Slack; else the
 * error of the post (the search's own failure is what was posted).
 */
int logsearch_job_run(struct service_context *ctx, const struct logsearch_job *job, struct err *e);

/* service_context.run_async's fn for a job (arg: struct logsearch_job *). */
void logsearch_job_main(struct service_context *worker, void *arg);

/* For the runtime: runs the job of a self-invocation event (see above). */
int logsearch_job_event(struct service_context *ctx, const json_t *event, struct err *e);

#endif
