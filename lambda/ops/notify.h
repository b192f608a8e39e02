/*
 * notify: events that become Slack messages on SLACK_WEBHOOK_URL.
 *
 * - CodePipeline "CodePipeline Pipeline Execution State Change" events
 *   (EventBridge): one message naming the pipeline, the state and the
 *   execution id, coloured by state: SUCCEEDED and STARTED "good", FAILED
 *   "danger", CANCELED, SUPERSEDED, RESUMED, STOPPING and STOPPED
 *   "warning". Other CodePipeline events (stage and action changes) are
 *   not announced.
 * - CloudWatch Logs subscription events (awslogs.data: base64 of gzip of
 *   JSON): the log group and stream named, and each line with its time in
 *   NOTIFY_TZ; split over at most SLACK_MAX_PARTS messages, with a note
 *   when lines had to be left out. CONTROL_MESSAGE events (sent when a
 *   subscription is made) are not announced.
 *
 * Time zones: NOTIFY_TZ is an IANA name ("Europe/Paris"; default UTC). It
 * is checked against the zone files ($TZDIR, else /usr/share/zoneinfo: a
 * regular file starting "TZif"); glibc then converts with TZ set to it
 * around localtime_r, under a lock, and TZ is put back. That briefly
 * changes the process's TZ, which is safe on Lambda (one thread); no other
 * code of ebssh reads local time. An unknown zone gives UTC with a note.
 */
#ifndef EBSSH_LAMBDA_NOTIFY_H
#define EBSSH_LAMBDA_NOTIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../../util/buf.h"
#include "../../util/err.h"
#include "../front/event.h"
#include "../service.h"
#include "slack.h"

#define NOTIFY_TIME_LEN     48
#define NOTIFY_MAX_INFLATED ((size_t)8 << 20) /* a subscription event, unpacked */
#define NOTIFY_CODEPIPELINE "CodePipeline Pipeline Execution State Change"

/* The Slack colour of a pipeline state ("good", "danger", "warning", or
 * "#439FE0" for a state not listed above). */
const char *notify_state_color(const char *state);

/*
 * The Slack message (JSON, appended to out) for an EventBridge CodePipeline
 * event. ERR_NOT_FOUND when it is not a pipeline execution state change
 * (nothing to announce); ERR_INVALID when its detail lacks the pipeline,
 * the state or the execution id.
 */
int notify_codepipeline_message(const json_t *event, struct buf *out, struct err *e);

/*
 * awslogs.data to its JSON: base64, then gzip (zlib, 16 + MAX_WBITS),
 * at most NOTIFY_MAX_INFLATED bytes out (ERR_TOO_LARGE past it); a
 * malloc'd NUL-terminated buffer. ERR_INVALID for bad base64 or gzip.
 */
/* 1 when the inflated subscription message (json) is of log group group
 * (NULL or "": never); 0 otherwise, also when it is no JSON. */
int notify_logs_from_group(const char *json, size_t len, const char *group);

int notify_logs_inflate(const char *data, size_t len, char **out, size_t *out_len, struct err *e);

/*
 * Formats each of ms[0..n) in zone tz (NULL or "" is UTC) as
 * "2015-08-24 21:03:07.000 CEST". 0, or ERR_NOT_FOUND when tz is not a
 * known zone name (the times are then in UTC).
 */
int notify_format_times(const char *tz, const int64_t *ms, size_t n, char (*out)[NOTIFY_TIME_LEN]);

/*
 * The message texts for a CloudWatch Logs subscription's JSON, times in
 * tz. ERR_NOT_FOUND for a CONTROL_MESSAGE, ERR_INVALID for JSON that is
 * not a DATA_MESSAGE with logGroup, logStream and logEvents.
 */
int notify_logs_messages(const char *json, size_t len, const char *tz, struct slack_parts *parts,
                         struct err *e);

/*
 * For the runtime. Each posts to SLACK_WEBHOOK_URL and returns the number
 * of messages posted (0: nothing to announce), or a negative code:
 * ERR_INVALID without SLACK_WEBHOOK_URL or for a malformed event, or what
 * slack_post gave. The webhook URL never reaches e. notify_logs_event posts
 * nothing (0) for lines of the function's own log group
 * (AWS_LAMBDA_LOG_GROUP_NAME).
 */
int notify_codepipeline_event(struct service_context *ctx, const struct event *ev, struct err *e);
int notify_logs_event(struct service_context *ctx, const struct event *ev, struct err *e);

#endif
