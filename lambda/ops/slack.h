/*
 * slack: what ebssh needs of Slack, and nothing of routes or AWS.
 *
 * - Request signatures (v0): X-Slack-Signature is "v0=" and the hex
 *   HMAC-SHA256, keyed with the app's signing secret, of
 *   "v0:{X-Slack-Request-Timestamp}:{raw body}"; compared in constant time;
 *   a timestamp more than SLACK_MAX_SKEW seconds from now (either way) is
 *   refused, so a captured request cannot be replayed later.
 * - A replay cache: a verified signature seen once is refused again while
 *   its timestamp is within SLACK_MAX_SKEW. A bounded table per process,
 *   behind a mutex (ebssh-api's threads share it); each Lambda container
 *   has its own, so a replay that reaches another container is not caught.
 * - Slash command bodies (application/x-www-form-urlencoded) parsed into
 *   name/value pairs: command, text, response_url, user_id, ...
 * - Messages: text made safe for Slack (&, <, > escaped, so a log line can
 *   never mention a user or a channel; ``` broken up inside code blocks),
 *   cut into parts under a per-message limit, with a note when lines had
 *   to be left out.
 * - Posting JSON to an incoming webhook or a response_url, retrying on 429
 *   (waiting what Retry-After says, up to a bound) and on 5xx and
 *   transient network errors. No URL ever reaches an error message: a
 *   webhook URL is a secret.
 */
#ifndef EBSSH_LAMBDA_SLACK_H
#define EBSSH_LAMBDA_SLACK_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "../../util/buf.h"
#include "../../util/err.h"

#define SLACK_MAX_SKEW                300 /* seconds a request timestamp may be off */
#define SLACK_MAX_FORM                ((size_t)64 << 10) /* bytes of a slash command body */
#define SLACK_MAX_FIELDS              64
#define SLACK_TEXT_LIMIT              40000 /* Slack's own limit on a message's text */
#define SLACK_PART_LIMIT              3000  /* what ebssh puts in one message (a code block) */
#define SLACK_MAX_PARTS               4     /* messages one notification may take */
#define SLACK_MAX_ATTEMPTS            3
#define SLACK_MAX_RETRY_WAIT          10000 /* ms: a longer Retry-After is not waited for */
#define SLACK_DEFAULT_RESPONSE_PREFIX "https://hooks.slack.com/"
#define SLACK_REPLAY_MAX              1024 /* signatures a replay cache holds */

struct http_client;

/*
 * 0 when signature is the v0 signature of body at timestamp under secret
 * and timestamp is within SLACK_MAX_SKEW of now; else ERR_INVALID with a
 * message that says which check failed (never the expected signature).
 * ERR_INVALID too for a missing or empty secret, header or malformed one.
 */
int slack_verify(const char *secret, const char *timestamp, const char *signature, const void *body,
                 size_t len, time_t now, struct err *e);

/* The "v0=<hex>" signature of body at timestamp (for tests and tools);
 * out holds 68 bytes. 0, or ERR_INVALID / ERR_INTERNAL. */
int slack_sign(const char *secret, const char *timestamp, const void *body, size_t len,
               char out[68], struct err *e);

/* Signatures seen within their window. Set up with slack_replay_init (or
 * use slack_replay_shared()); no allocation, nothing to free. */
struct slack_replay_entry {
	long long timestamp;
	char signature[68];
};

struct slack_replay {
	pthread_mutex_t lock;
	size_t cap; /* at most SLACK_REPLAY_MAX */
	size_t n;
	struct slack_replay_entry items[SLACK_REPLAY_MAX];
};

/* An empty cache of cap entries (1 to SLACK_REPLAY_MAX; clamped). */
void slack_replay_init(struct slack_replay *r, size_t cap);
void slack_replay_destroy(struct slack_replay *r);

/* The process's cache (SLACK_REPLAY_MAX entries), for the route. */
struct slack_replay *slack_replay_shared(void);

/*
 * Records a verified request (its timestamp header and signature) at now:
 * 0 when it was not seen, and it is now; ERR_INVALID when it was (a
 * replay); ERR_TOO_LARGE when the table is full of signatures still within
 * their window (failing closed: the request is refused, never a replay let
 * through). Entries whose timestamp is over SLACK_MAX_SKEW old are dropped
 * first.
 */
int slack_replay_check(struct slack_replay *r, const char *timestamp, const char *signature,
                       time_t now, struct err *e);

struct slack_field {
	char *name;  /* owned, decoded */
	char *value; /* owned, decoded; valid UTF-8 without NUL */
};

struct slack_form {
	struct slack_field *fields; /* owned, in body order */
	size_t n;
};

/*
 * Parses an application/x-www-form-urlencoded body ('+' is a space, %XX
 * escapes). ERR_INVALID for a body over SLACK_MAX_FORM, more than
 * SLACK_MAX_FIELDS pairs, a malformed escape, a NUL or invalid UTF-8 in a
 * name or value; *out is then empty. A pair without '=' has value "".
 */
int slack_form_parse(const char *body, size_t len, struct slack_form *out, struct err *e);

/* The first value of name, or NULL; borrowed. */
const char *slack_form_get(const struct slack_form *form, const char *name);

void slack_form_free(struct slack_form *form);

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int slack_utf8_valid(const char *s, size_t n);

/* Appends s with &, < and > escaped as Slack asks; in code, runs of three
 * backticks are broken so a line cannot close the block. */
int slack_escape(struct buf *out, const char *s, int in_code);

/*
 * Cuts a titled list of lines into at most max_parts message texts of at
 * most limit bytes each: the title (mrkdwn, already escaped) leads the
 * first, the lines (escaped here) go in ``` code blocks, a line too long
 * for one message is cut at a character boundary with "…". Lines that do
 * not fit are left out and the last text ends with "_… N more lines not
 * shown_". No lines gives the title and "_(no lines)_". The texts are
 * NUL-terminated, owned by *parts (slack_parts_free).
 */
struct slack_parts {
	char **texts;
	size_t n;
	size_t lines_left_out; /* 0 when every line is in */
};

int slack_chunk_lines(const char *title, const char *const *lines, size_t n_lines, size_t limit,
                      size_t max_parts, struct slack_parts *parts);
void slack_parts_free(struct slack_parts *parts);

/*
 * 0 when url may receive a post: an incoming webhook (SLACK_WEBHOOK_URL,
 * trusted as configured: http or https) or, with is_response_url, a slash
 * command's response_url, which must start with SLACK_DEFAULT_RESPONSE_PREFIX
 * (or $EBSSH_SLACK_RESPONSE_URL_PREFIX, for tests). ERR_INVALID otherwise,
 * the URL not in the message.
 */
int slack_check_url(const char *url, int is_response_url, struct err *e);

/*
 * POSTs json (Content-Type: application/json) to url: up to
 * SLACK_MAX_ATTEMPTS, again after a 429 (Retry-After seconds, at most
 * SLACK_MAX_RETRY_WAIT ms or $EBSSH_SLACK_MAX_RETRY_WAIT_MS; a longer
 * one is not waited for), a 5xx or a network error (backoff from 500 ms
 * or $EBSSH_SLACK_RETRY_BASE_MS, doubling). 0 on a 2xx. Else
 * ERR_THROTTLED when still (or too long) rate limited, ERR_NETWORK after a
 * last 5xx or network error, ERR_TIMEOUT, ERR_INVALID for another 4xx
 * (not retried; Slack's error word, like "no_service", in the message).
 * e->http_status is the last status. Never the URL in e.
 */
int slack_post(struct http_client *http, const char *url, const char *json, size_t len,
               struct err *e);

#endif
