/* slack: signatures, slash command forms, message parts and posting; see slack.h. */
#include "slack.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../aws/http.h"
#include "../../aws/uri.h"
#include "../../util/env.h"
#include "../../util/decimal.h"
#include "../../util/monotime.h"
#include "../../util/version.h"
#include "../config.h"

#define SLACK_BASE_BACKOFF_MS 500L
#define SLACK_POST_TIMEOUT_MS 5000L
#define SLACK_ELLIPSIS        "\xe2\x80\xa6" /* … */

/* ---- signatures ---- */

static int parse_timestamp(const char *ts, long long *out)
{
	int64_t v;

	if (decimal_parse(ts, ts ? strlen(ts) : 0, 12, 0, 0, INT64_MAX, &v))
		return -1;
	*out = v;
	return 0;
}

static int hmac_v0(const char *secret, const char *timestamp, const void *body, size_t len,
                   unsigned char mac[32])
{
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	OSSL_PARAM params[2];
	size_t mac_len = 0;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = ctx && EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params) &&
	     EVP_MAC_update(ctx, (const unsigned char *)"v0:", 3) &&
	     EVP_MAC_update(ctx, (const unsigned char *)timestamp, strlen(timestamp)) &&
	     EVP_MAC_update(ctx, (const unsigned char *)":", 1) &&
	     (len == 0 || EVP_MAC_update(ctx, body, len)) &&
	     EVP_MAC_final(ctx, mac, &mac_len, 32) && mac_len == 32;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	return ok ? 0 : ERR_INTERNAL;
}

int slack_sign(const char *secret, const char *timestamp, const void *body, size_t len,
               char out[68], struct err *e)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[32];
	long long ts;
	size_t i;

	if (!secret || !*secret)
		return err_set(e, ERR_INVALID, "no Slack signing secret");
	if (parse_timestamp(timestamp, &ts) != 0)
		return err_set(e, ERR_INVALID, "malformed X-Slack-Request-Timestamp");
	if (hmac_v0(secret, timestamp, body, len, mac) != 0)
		return err_set(e, ERR_INTERNAL, "HMAC-SHA256 failed");
	memcpy(out, "v0=", 3);
	for (i = 0; i < 32; i++) {
		out[3 + 2 * i] = hex[mac[i] >> 4];
		out[4 + 2 * i] = hex[mac[i] & 15];
	}
	out[67] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

int slack_verify(const char *secret, const char *timestamp, const char *signature, const void *body,
                 size_t len, time_t now, struct err *e)
{
	char want[68];
	long long ts, skew;
	int rc, same;

	if (!secret || !*secret)
		return err_set(e, ERR_INVALID, "no Slack signing secret is configured");
	if (!timestamp || !*timestamp)
		return err_set(e, ERR_INVALID, "no X-Slack-Request-Timestamp");
	if (!signature || !*signature)
		return err_set(e, ERR_INVALID, "no X-Slack-Signature");
	if (parse_timestamp(timestamp, &ts) != 0)
		return err_set(e, ERR_INVALID, "malformed X-Slack-Request-Timestamp");
	skew = (long long)now - ts;
	if (skew > SLACK_MAX_SKEW || skew < -SLACK_MAX_SKEW)
		return err_set(e, ERR_INVALID, "X-Slack-Request-Timestamp is %lld s %s",
		               skew < 0 ? -skew : skew, skew < 0 ? "in the future" : "old");
	if (strlen(signature) != 67 || strncmp(signature, "v0=", 3) != 0)
		return err_set(e, ERR_INVALID, "X-Slack-Signature is not v0=<64 hex digits>");
	rc = slack_sign(secret, timestamp, body, len, want, e);
	if (rc)
		return rc;
	same = CRYPTO_memcmp(want, signature, 67) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	if (!same)
		return err_set(e, ERR_INVALID, "X-Slack-Signature does not match");
	return 0;
}

/* ---- the replay cache ---- */

void slack_replay_init(struct slack_replay *r, size_t cap)
{
	pthread_mutex_init(&r->lock, NULL);
	r->cap = cap == 0 ? 1 : cap > SLACK_REPLAY_MAX ? SLACK_REPLAY_MAX : cap;
	r->n = 0;
}

void slack_replay_destroy(struct slack_replay *r)
{
	pthread_mutex_destroy(&r->lock);
	r->n = 0;
}

static struct slack_replay shared_replay = {PTHREAD_MUTEX_INITIALIZER, SLACK_REPLAY_MAX, 0, {{0}}};

struct slack_replay *slack_replay_shared(void)
{
	return &shared_replay;
}

/* Drops the entries whose window has passed (order is not kept). */
static void replay_expire(struct slack_replay *r, long long now)
{
	size_t i = 0;

	while (i < r->n) {
		if (now - r->items[i].timestamp > SLACK_MAX_SKEW)
			r->items[i] = r->items[--r->n];
		else
			i++;
	}
}

int slack_replay_check(struct slack_replay *r, const char *timestamp, const char *signature,
                       time_t now, struct err *e)
{
	long long ts;
	size_t i;
	int rc = 0;

	if (parse_timestamp(timestamp, &ts) != 0 || !signature || strlen(signature) != 67)
		return err_set(e, ERR_INVALID, "malformed Slack signature headers");
	pthread_mutex_lock(&r->lock);
	replay_expire(r, (long long)now);
	for (i = 0; i < r->n; i++)
		if (r->items[i].timestamp == ts && strcmp(r->items[i].signature, signature) == 0)
			break;
	if (i < r->n) {
		rc = err_set(e, ERR_INVALID, "this signed request was already received (a replay)");
	} else if (r->n == r->cap) {
		rc = err_set(e, ERR_TOO_LARGE,
		             "too many Slack requests within %d s: try again shortly",
		             SLACK_MAX_SKEW);
	} else {
		r->items[r->n].timestamp = ts;
		memcpy(r->items[r->n].signature, signature, 68);
		r->n++;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* ---- UTF-8 and escaping ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (s[0] == 0xe0 && s[1] < 0xa0)
			return 0; /* overlong */
		if (s[0] == 0xed && s[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

int slack_utf8_valid(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = utf8_len((const unsigned char *)s + i, n - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

int slack_escape(struct buf *out, const char *s, int in_code)
{
	int rc = buf_append(out, "", 0);
	size_t i, n = strlen(s), k;

	for (i = 0; i < n && !rc; i += k) {
		const unsigned char *p = (const unsigned char *)s + i;
		k = utf8_len(p, n - i);
		if (k == 0) {
			/* Not UTF-8: Slack would refuse the whole message. */
			rc = buf_append_str(out, "\xef\xbf\xbd");
			k = 1;
		} else if (*p == '&') {
			rc = buf_append_str(out, "&amp;");
		} else if (*p == '<') {
			rc = buf_append_str(out, "&lt;");
		} else if (*p == '>') {
			rc = buf_append_str(out, "&gt;");
		} else if (in_code && *p == '`' && i + 2 < n && p[1] == '`' && p[2] == '`') {
			rc = buf_append_str(out,
			                    "`\xe2\x80\x8b`\xe2\x80\x8b`"); /* zero-width spaces */
			k = 3;
		} else if (*p < 0x20 && *p != '\t' && *p != '\n') {
			rc = buf_append(out, " ", 1);
		} else {
			rc = buf_append(out, p, k);
		}
	}
	return rc;
}

/* ---- forms ---- */

static int decode_part(const char *s, size_t n, char **out, struct err *e)
{
	struct buf b;

	*out = NULL;
	buf_init(&b, SLACK_MAX_FORM);
	if (uri_decode(&b, s, n, 1) != 0)
		return err_set(e, ERR_INVALID, "malformed %%-escape in the form body");
	if (memchr(b.data, '\0', b.len) || !slack_utf8_valid(b.data, b.len)) {
		buf_free(&b);
		return err_set(e, ERR_INVALID, "the form body holds a NUL or invalid UTF-8");
	}
	*out = buf_take(&b);
	buf_free(&b);
	return *out ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

void slack_form_free(struct slack_form *form)
{
	size_t i;

	if (!form)
		return;
	for (i = 0; i < form->n; i++) {
		free(form->fields[i].name);
		free(form->fields[i].value);
	}
	free(form->fields);
	form->fields = NULL;
	form->n = 0;
}

int slack_form_parse(const char *body, size_t len, struct slack_form *out, struct err *e)
{
	struct slack_form form = {NULL, 0};
	size_t i = 0;
	int rc = 0;

	out->fields = NULL;
	out->n = 0;
	if (len > SLACK_MAX_FORM)
		return err_set(e, ERR_INVALID, "the form body is over %zu bytes", SLACK_MAX_FORM);
	if (len && !body)
		return err_set(e, ERR_INVALID, "no form body");
	form.fields = calloc(SLACK_MAX_FIELDS, sizeof(*form.fields));
	if (!form.fields)
		return err_set(e, ERR_NOMEM, "out of memory");
	while (i < len && !rc) {
		const char *pair = body + i;
		const char *amp = memchr(pair, '&', len - i);
		size_t plen = amp ? (size_t)(amp - pair) : len - i;
		const char *eq = memchr(pair, '=', plen);
		size_t nlen = eq ? (size_t)(eq - pair) : plen;

		i += plen + 1;
		if (plen == 0)
			continue;
		if (form.n == SLACK_MAX_FIELDS) {
			rc = err_set(e, ERR_INVALID, "the form body has over %d fields",
			             SLACK_MAX_FIELDS);
			break;
		}
		rc = decode_part(pair, nlen, &form.fields[form.n].name, e);
		if (!rc)
			rc = decode_part(eq ? eq + 1 : "", eq ? plen - nlen - 1 : 0,
			                 &form.fields[form.n].value, e);
		if (form.fields[form.n].name || form.fields[form.n].value)
			form.n++;
	}
	if (rc) {
		slack_form_free(&form);
		return rc;
	}
	*out = form;
	return 0;
}

const char *slack_form_get(const struct slack_form *form, const char *name)
{
	size_t i;

	for (i = 0; i < form->n; i++)
		if (form->fields[i].name && strcmp(form->fields[i].name, name) == 0)
			return form->fields[i].value;
	return NULL;
}

/* ---- message parts ---- */

void slack_parts_free(struct slack_parts *parts)
{
	size_t i;

	if (!parts)
		return;
	for (i = 0; i < parts->n; i++)
		free(parts->texts[i]);
	free(parts->texts);
	parts->texts = NULL;
	parts->n = 0;
	parts->lines_left_out = 0;
}

/* Cuts b to at most max bytes at a character boundary, adding "…" within max. */
static void cut_utf8(struct buf *b, size_t max)
{
	size_t keep;

	if (b->len <= max)
		return;
	keep = max > 3 ? max - 3 : 0;
	while (keep > 0 && ((unsigned char)b->data[keep] & 0xc0) == 0x80)
		keep--;
	b->len = keep;
	b->data[keep] = '\0';
	if (max >= 3)
		buf_append_str(b, SLACK_ELLIPSIS);
}

static int push_part(struct slack_parts *parts, struct buf *b)
{
	char **grown = realloc(parts->texts, (parts->n + 1) * sizeof(*grown));
	char *text;

	if (!grown)
		return ERR_NOMEM;
	parts->texts = grown;
	text = buf_take(b);
	if (!text)
		return ERR_NOMEM;
	parts->texts[parts->n++] = text;
	return 0;
}

#define FENCE_OPEN  "```\n"
#define FENCE_CLOSE "```"
#define NOTE_ROOM   64 /* bytes kept free in the last part for the note */

int slack_chunk_lines(const char *title, const char *const *lines, size_t n_lines, size_t limit,
                      size_t max_parts, struct slack_parts *parts)
{
	struct buf cur, line;
	size_t i = 0;
	int rc = 0;

	memset(parts, 0, sizeof(*parts));
	if (limit < 256 || max_parts == 0)
		return ERR_INVALID;
	buf_init(&cur, limit + 1);
	buf_init(&line, 0);
	if (title && *title) {
		rc = buf_append_str(&cur, title);
		if (!rc && cur.len > limit / 2)
			cut_utf8(&cur, limit / 2);
		if (!rc)
			rc = buf_append_str(&cur, "\n");
	}
	if (!rc && n_lines == 0)
		rc = buf_append_str(&cur, "_(no lines)_");
	while (!rc && i < n_lines) {
		int last = parts->n + 1 == max_parts;
		size_t reserve = strlen(FENCE_CLOSE) + (last ? NOTE_ROOM : 0);
		size_t added = 0;

		rc = buf_append_str(&cur, FENCE_OPEN);
		while (!rc && i < n_lines) {
			buf_reset(&line);
			rc = slack_escape(&line, lines[i] ? lines[i] : "", 1);
			if (!rc)
				rc = buf_append(&line, "\n", 1);
			if (rc)
				break;
			if (cur.len + line.len + reserve > limit) {
				if (added > 0)
					break; /* the next part takes it */
				/* One line alone is too long for a message: cut it. */
				cut_utf8(&line, limit - reserve - cur.len - 1);
				rc = buf_append(&line, "\n", 1);
				if (rc)
					break;
			}
			rc = buf_append(&cur, line.data, line.len);
			added++;
			i++;
		}
		if (!rc)
			rc = buf_append_str(&cur, FENCE_CLOSE);
		if (!rc && last && i < n_lines) {
			parts->lines_left_out = n_lines - i;
			rc = buf_appendf(&cur, "\n_" SLACK_ELLIPSIS " %zu more line%s not shown_",
			                 parts->lines_left_out,
			                 parts->lines_left_out == 1 ? "" : "s");
			i = n_lines;
		}
		if (!rc && i < n_lines) {
			rc = push_part(parts, &cur);
			buf_init(&cur, limit + 1);
		}
	}
	if (!rc)
		rc = push_part(parts, &cur);
	buf_free(&cur);
	buf_free(&line);
	if (rc) {
		slack_parts_free(parts);
		return ERR_NOMEM;
	}
	return 0;
}

/* ---- posting ---- */

int slack_check_url(const char *url, int is_response_url, struct err *e)
{
	const char *prefix = service_config_get().slack_response_prefix;
	size_t i;

	if (!url || !*url)
		return err_set(e, ERR_INVALID, "no Slack URL");
	for (i = 0; url[i]; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return err_set(e, ERR_INVALID,
			               "the Slack URL holds a space or control byte");
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		return err_set(e, ERR_INVALID, "the Slack URL is not http(s)");
	if (is_response_url) {
		if (!prefix || !*prefix)
			prefix = SLACK_DEFAULT_RESPONSE_PREFIX;
		if (strncmp(url, prefix, strlen(prefix)) != 0)
			return err_set(e, ERR_INVALID, "the response_url is not Slack's");
	}
	return 0;
}

/* Retry-After as whole seconds in ms, or -1 when absent or not a number. */
static long retry_after_ms(const struct http_response *resp)
{
	const char *v = http_response_header(resp, "Retry-After");
	long long secs;

	if (!v || parse_timestamp(v, &secs) != 0 || secs > 86400)
		return -1;
	return (long)secs * 1000L;
}

/* Slack's error word ("no_service") from a body, for the message. */
static void error_word(const struct http_response *resp, char *out, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < resp->body.len && n + 1 < cap && n < 40; i++) {
		char c = resp->body.data[i];
		if (!(isalnum((unsigned char)c) || c == '_'))
			break;
		out[n++] = c;
	}
	out[n] = '\0';
}

int slack_post(struct http_client *http, const char *url, const char *json, size_t len,
               struct err *e)
{
	static const struct http_header headers[] = {
	    {"Content-Type", "application/json; charset=utf-8"},
	    {"User-Agent", "ebssh/" EBSSH_VERSION},
	};
	long base = env_ms("EBSSH_SLACK_RETRY_BASE_MS", SLACK_BASE_BACKOFF_MS);
	long max_wait = env_ms("EBSSH_SLACK_MAX_RETRY_WAIT_MS", SLACK_MAX_RETRY_WAIT);
	struct http_response resp;
	struct http_request req;
	struct err attempt;
	char word[48];
	int i, rc = 0;

	if (!http || !json)
		return err_set(e, ERR_INVALID, "Slack post: missing arguments");
	rc = slack_check_url(url, 0, e);
	if (rc)
		return rc;
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.n_headers = 2;
	req.body = json;
	req.body_len = len;
	req.timeout_ms = SLACK_POST_TIMEOUT_MS;
	req.max_response = (size_t)64 << 10;
	http_response_init(&resp);
	for (i = 1;; i++) {
		long wait = base << (i - 1);
		int retry = 1;

		err_clear(&attempt);
		rc = http_send(http, &req, &resp, &attempt);
		if (rc == 0 && resp.status >= 200 && resp.status < 300)
			break;
		if (rc == 0 && resp.status == 429) {
			long ra = retry_after_ms(&resp);
			rc = err_set(e, ERR_THROTTLED, "Slack answered 429 (rate limited)");
			if (ra > max_wait) {
				err_prefix(e, "Retry-After %ld s is over the wait bound",
				           ra / 1000);
				retry = 0;
			} else if (ra >= 0) {
				wait = ra;
			}
		} else if (rc == 0 && resp.status >= 500) {
			rc = err_set(e, ERR_NETWORK, "Slack answered HTTP %ld", resp.status);
		} else if (rc == 0) {
			error_word(&resp, word, sizeof(word));
			rc = err_set(e, ERR_INVALID, "Slack answered HTTP %ld%s%s%s", resp.status,
			             word[0] ? " (" : "", word, word[0] ? ")" : "");
			retry = 0;
		} else if (rc == ERR_NETWORK || rc == ERR_TIMEOUT) {
			/* curl's text may name the host: say only what kind of failure. */
			rc = err_set(e, rc, "Slack could not be reached (%s)", err_code_name(rc));
		} else {
			rc = err_set(e, rc, "Slack post failed (%s)", err_code_name(rc));
			retry = 0;
		}
		if (e && resp.status)
			e->http_status = resp.status;
		if (!retry)
			break;
		if (i >= SLACK_MAX_ATTEMPTS) {
			err_prefix(e, "after %d attempts", i);
			break;
		}
		monotime_sleep_ms(wait);
	}
	http_response_free(&resp);
	return rc;
}
