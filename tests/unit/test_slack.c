/*
 * Unit tests of lambda/slack: v0 signatures against Slack's own signing
 * example ($EBSSH_VECTORS/events/slack/slash-command-signed.*: secret,
 * timestamp, body and signature from python-slack-sdk's tests), every way
 * a signature is refused (tampered body, wrong secret, old, future,
 * malformed), slash command forms (the signed body and Slack's documented
 * /weather example), UTF-8, escaping, message parts and URL checks.
 */
#include "test.h"

#include <jansson.h>
#include <stdint.h>

#include "lambda/ops/slack.h"
#include "util/buf.h"

#define SLACK_TS 1531420618

struct vector {
	char *secret;
	char *timestamp;
	char *signature;
	char *body;
	size_t len;
	json_t *root;
};

static int load_vector(struct vector *v)
{
	char path[1024];
	char *text;

	memset(v, 0, sizeof(*v));
	snprintf(path, sizeof(path), "%s/events/slack/slash-command-signed.json",
	         test_vectors_dir());
	text = test_read_file(path, NULL);
	if (!text)
		return -1;
	v->root = json_loads(text, 0, NULL);
	free(text);
	v->secret = (char *)json_string_value(json_object_get(v->root, "signing_secret"));
	v->timestamp =
	    (char *)json_string_value(json_object_get(v->root, "X-Slack-Request-Timestamp"));
	v->signature = (char *)json_string_value(json_object_get(v->root, "X-Slack-Signature"));
	snprintf(path, sizeof(path), "%s/events/slack/%s", test_vectors_dir(),
	         json_string_value(json_object_get(v->root, "body_file")));
	v->body = test_read_file(path, &v->len);
	return v->secret && v->timestamp && v->signature && v->body ? 0 : -1;
}

static void free_vector(struct vector *v)
{
	free(v->body);
	json_decref(v->root);
}

TEST_CASE(slacks_own_example_verifies)
{
	struct vector v;
	char sig[68];
	struct err e;

	CHECK_INT(load_vector(&v), 0);
	if (v.body) {
		CHECK_INT(slack_sign(v.secret, v.timestamp, v.body, v.len, sig, &e), 0);
		CHECK_STR(sig, v.signature);
		CHECK_INT(
		    slack_verify(v.secret, v.timestamp, v.signature, v.body, v.len, SLACK_TS, &e),
		    0);
		/* Within the window either way. */
		CHECK_INT(slack_verify(v.secret, v.timestamp, v.signature, v.body, v.len,
		                       SLACK_TS + SLACK_MAX_SKEW, &e),
		          0);
		CHECK_INT(slack_verify(v.secret, v.timestamp, v.signature, v.body, v.len,
		                       SLACK_TS - SLACK_MAX_SKEW, &e),
		          0);
	}
	free_vector(&v);
}

TEST_CASE(refuses_tampering_and_replays)
{
	struct vector v;
	struct err e;
	char sig[68];

	CHECK_INT(load_vector(&v), 0);
	if (!v.body) {
		free_vector(&v);
		return;
	}
	/* One byte of the body changed. */
	v.body[10] ^= 1;
	CHECK_INT(slack_verify(v.secret, v.timestamp, v.signature, v.body, v.len, SLACK_TS, &e),
	          ERR_INVALID);
	CHECK_STR(e.message, "X-Slack-Signature does not match");
	v.body[10] ^= 1;
	/* The body cut short. */
	CHECK_INT(slack_verify(v.secret, v.timestamp, v.signature, v.body, v.len - 1, SLACK_TS, &e),
	          ERR_INVALID);
	/* Another secret. */
	CHECK_INT(slack_verify("8f742231b10e8888abcd99yyyzzz85a6", v.timestamp, v.signature, v.body,
	                       v.len, SLACK_TS, &e),
	          ERR_INVALID);
	/* Another timestamp with the same signature. */
	CHECK_INT(slack_verify(v.secret, "1531420619", v.signature, v.body, v.len, SLACK_TS, &e),
	          ERR_INVALID);
	/* Too old, too far ahead. */
	CHECK_INT(slack_verify(v.secret, v.timestamp, v.signature, v.body, v.len,
	                       SLACK_TS + SLACK_MAX_SKEW + 1, &e),
	          ERR_INVALID);
	CHECK_STR(e.message, "X-Slack-Request-Timestamp is 301 s old");
	CHECK_INT(slack_verify(v.secret, v.timestamp, v.signature, v.body, v.len,
	                       SLACK_TS - SLACK_MAX_SKEW - 1, &e),
	          ERR_INVALID);
	CHECK_STR(e.message, "X-Slack-Request-Timestamp is 301 s in the future");
	/* Upper-case hex is not what Slack sends. */
	snprintf(sig, sizeof(sig), "%s", v.signature);
	sig[5] = (char)(sig[5] == 'a' ? 'A' : sig[5]);
	CHECK_INT(slack_verify(v.secret, v.timestamp, sig, v.body, v.len, SLACK_TS, &e),
	          sig[5] == 'A' ? ERR_INVALID : 0);
	free_vector(&v);
}

TEST_CASE(refuses_malformed_headers)
{
	static const char *const bad_ts[] = {
	    "", "-1531420618", "1531420618.5", " 1531420618", "99999999999999", "0x5b"};
	static const char *const bad_sig[] = {
	    "", "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
	    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50",
	    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b5033",
	    "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"};
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(bad_ts) / sizeof(bad_ts[0]); i++)
		CHECK_INT(slack_verify("s", bad_ts[i], bad_sig[1], "x", 1, SLACK_TS, &e),
		          ERR_INVALID);
	for (i = 0; i < sizeof(bad_sig) / sizeof(bad_sig[0]); i++)
		CHECK_INT(slack_verify("s", "1531420618", bad_sig[i], "x", 1, SLACK_TS, &e),
		          ERR_INVALID);
	CHECK_INT(slack_verify(NULL, "1531420618", bad_sig[1], "x", 1, SLACK_TS, &e), ERR_INVALID);
	CHECK_STR(e.message, "no Slack signing secret is configured");
	CHECK_INT(slack_verify("", "1531420618", bad_sig[1], "x", 1, SLACK_TS, &e), ERR_INVALID);
	CHECK_INT(slack_verify("s", NULL, bad_sig[1], "x", 1, SLACK_TS, &e), ERR_INVALID);
	CHECK_INT(slack_verify("s", "1531420618", NULL, "x", 1, SLACK_TS, &e), ERR_INVALID);
}

TEST_CASE(empty_body_signs)
{
	char sig[68];
	struct err e;

	CHECK_INT(slack_sign("secret", "1", NULL, 0, sig, &e), 0);
	CHECK_INT(slack_verify("secret", "1", sig, NULL, 0, 1, &e), 0);
	CHECK_INT(slack_verify("secret", "1", sig, "", 0, 1, &e), 0);
}

TEST_CASE(parses_the_signed_form)
{
	struct vector v;
	struct slack_form f;
	struct err e;

	CHECK_INT(load_vector(&v), 0);
	if (!v.body) {
		free_vector(&v);
		return;
	}
	CHECK_INT(slack_form_parse(v.body, v.len, &f, &e), 0);
	CHECK_INT((int)f.n, 11);
	CHECK_STR(slack_form_get(&f, "command"), "/webhook-collect");
	CHECK_STR(slack_form_get(&f, "text"), "");
	CHECK_STR(slack_form_get(&f, "user_id"), "U2CERLKJA");
	CHECK_STR(
	    slack_form_get(&f, "response_url"),
	    "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN");
	CHECK(slack_form_get(&f, "nope") == NULL);
	slack_form_free(&f);
	free_vector(&v);
}

TEST_CASE(parses_the_documented_weather_form)
{
	char path[1024];
	struct slack_form f;
	struct err e;
	size_t len = 0;
	char *body;

	snprintf(path, sizeof(path), "%s/events/slack/slash-command-weather-docs.body",
	         test_vectors_dir());
	body = test_read_file(path, &len);
	CHECK(body != NULL);
	if (!body)
		return;
	while (len && (body[len - 1] == '\n' || body[len - 1] == '\r'))
		len--;
	CHECK_INT(slack_form_parse(body, len, &f, &e), 0);
	CHECK_STR(slack_form_get(&f, "command"), "/weather");
	CHECK_STR(slack_form_get(&f, "text"), "94070");
	CHECK_STR(slack_form_get(&f, "enterprise_name"), "Globular Construct Inc");
	CHECK_STR(slack_form_get(&f, "response_url"), "https://hooks.slack.com/commands/1234/5678");
	CHECK_STR(slack_form_get(&f, "api_app_id"), "A123456");
	slack_form_free(&f);
	free(body);
}

TEST_CASE(form_edge_cases)
{
	static const char *const bad[] = {"a=%",   "a=%4",     "a=%zz",      "a=%00",
	                                  "a=%ff", "%c3%28=1", "a=%ed%a0%80"};
	struct slack_form f;
	struct err e;
	struct buf big;
	size_t i;

	CHECK_INT(slack_form_parse("", 0, &f, &e), 0);
	CHECK_INT((int)f.n, 0);
	slack_form_free(&f);
	CHECK_INT(slack_form_parse("&&a&b=&=c&text=fn+req%2D1&a=2", 29, &f, &e), 0);
	CHECK_INT((int)f.n, 5);
	CHECK_STR(slack_form_get(&f, "a"), ""); /* the first of two */
	CHECK_STR(slack_form_get(&f, "b"), "");
	CHECK_STR(slack_form_get(&f, ""), "c");
	CHECK_STR(slack_form_get(&f, "text"), "fn req-1");
	slack_form_free(&f);
	CHECK_INT(slack_form_parse("t=caf%C3%A9+%F0%9F%98%80", 24, &f, &e), 0);
	CHECK_STR(slack_form_get(&f, "t"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
	slack_form_free(&f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(slack_form_parse(bad[i], strlen(bad[i]), &f, &e), ERR_INVALID);
		CHECK(f.fields == NULL && f.n == 0);
	}
	buf_init(&big, 0);
	for (i = 0; i <= SLACK_MAX_FIELDS; i++)
		buf_appendf(&big, "k%zu=v&", i);
	CHECK_INT(slack_form_parse(big.data, big.len, &f, &e), ERR_INVALID);
	buf_free(&big);
	CHECK_INT(slack_form_parse("x", SLACK_MAX_FORM + 1, &f, &e), ERR_INVALID);
}

TEST_CASE(utf8_validity)
{
	CHECK_INT(slack_utf8_valid("", 0), 1);
	CHECK_INT(slack_utf8_valid("abc \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 15), 1);
	CHECK_INT(slack_utf8_valid("\xc0\xaf", 2), 0);         /* overlong '/' */
	CHECK_INT(slack_utf8_valid("\xe0\x80\xaf", 3), 0);     /* overlong */
	CHECK_INT(slack_utf8_valid("\xed\xa0\x80", 3), 0);     /* surrogate */
	CHECK_INT(slack_utf8_valid("\xf4\x90\x80\x80", 4), 0); /* past U+10FFFF */
	CHECK_INT(slack_utf8_valid("\xe2\x82", 2), 0);         /* cut short */
	CHECK_INT(slack_utf8_valid("\x80", 1), 0);
}

TEST_CASE(escapes_what_slack_reads)
{
	struct buf b;

	buf_init(&b, 0);
	CHECK_INT(slack_escape(&b, "<@U123> & <!channel> a>b", 0), 0);
	CHECK_STR(buf_str(&b), "&lt;@U123&gt; &amp; &lt;!channel&gt; a&gt;b");
	buf_reset(&b);
	CHECK_INT(slack_escape(&b, "x```y`` \x01\xff", 1), 0);
	CHECK_STR(buf_str(&b), "x`\xe2\x80\x8b`\xe2\x80\x8b`y``  \xef\xbf\xbd");
	buf_reset(&b);
	CHECK_INT(slack_escape(&b, "```", 0), 0);
	CHECK_STR(buf_str(&b), "```");
	buf_free(&b);
}

static size_t total_lines(const struct slack_parts *p)
{
	size_t i, n = 0;
	const char *s;

	/* The newlines between a part's opening and closing fence. */
	for (i = 0; i < p->n; i++) {
		s = strstr(p->texts[i], "```\n");
		for (s = s ? s + 4 : NULL; s && *s && strncmp(s, "```", 3) != 0; s++)
			if (*s == '\n')
				n++;
	}
	return n;
}

TEST_CASE(chunks_fit_and_note_what_is_left_out)
{
	char line[200];
	const char *lines[100];
	char storage[100][64];
	struct slack_parts p;
	size_t i;

	for (i = 0; i < 100; i++) {
		snprintf(storage[i], sizeof(storage[i]), "2024-05-01T12:00:%02zu.000Z\ts\tline %zu",
		         i % 60, i);
		lines[i] = storage[i];
	}
	/* Everything fits in one part. */
	CHECK_INT(slack_chunk_lines("*title*", lines, 3, SLACK_PART_LIMIT, 4, &p), 0);
	CHECK_INT((int)p.n, 1);
	CHECK_INT((int)p.lines_left_out, 0);
	CHECK(strncmp(p.texts[0], "*title*\n```\n2024-05-01T12:00:00.000Z\ts\tline 0\n", 45) == 0);
	CHECK(strstr(p.texts[0], "line 2\n```") != NULL);
	slack_parts_free(&p);

	/* 100 lines of about 40 bytes in 3 parts of 1000: some are left out. */
	CHECK_INT(slack_chunk_lines("*t*", lines, 100, 1000, 3, &p), 0);
	CHECK_INT((int)p.n, 3);
	for (i = 0; i < p.n; i++) {
		CHECK(strlen(p.texts[i]) <= 1000);
		CHECK(strncmp(p.texts[i] + (i == 0 ? 4 : 0), "```\n", 4) == 0);
	}
	CHECK(p.lines_left_out > 0);
	CHECK_INT((int)(total_lines(&p) + p.lines_left_out), 100);
	snprintf(line, sizeof(line), "\n_\xe2\x80\xa6 %zu more lines not shown_", p.lines_left_out);
	CHECK(strstr(p.texts[2], line) != NULL);
	slack_parts_free(&p);

	/* Enough parts: nothing left out, every line once. */
	CHECK_INT(slack_chunk_lines(NULL, lines, 100, 1000, 10, &p), 0);
	CHECK_INT((int)p.lines_left_out, 0);
	CHECK_INT((int)total_lines(&p), 100);
	slack_parts_free(&p);

	/* No lines. */
	CHECK_INT(slack_chunk_lines("*t*", lines, 0, 1000, 1, &p), 0);
	CHECK_STR(p.texts[0], "*t*\n_(no lines)_");
	slack_parts_free(&p);
	CHECK_INT(slack_chunk_lines("*t*", lines, 1, 100, 1, &p), ERR_INVALID);
}

TEST_CASE(a_long_line_is_cut_at_a_character)
{
	struct slack_parts p;
	const char *lines[2];
	char *longline = malloc(5001);
	size_t i, len;

	for (i = 0; i + 2 <= 5000; i += 2)
		memcpy(longline + i, "\xc3\xa9", 2);
	longline[5000] = '\0';
	lines[0] = longline;
	lines[1] = "short & <sweet>";
	CHECK_INT(slack_chunk_lines("*t*", lines, 2, 1000, 1, &p), 0);
	CHECK_INT((int)p.n, 1);
	len = strlen(p.texts[0]);
	CHECK(len <= 1000);
	CHECK(slack_utf8_valid(p.texts[0], len));
	CHECK(strstr(p.texts[0], "\xe2\x80\xa6\n```") != NULL);
	CHECK_INT((int)p.lines_left_out, 1);
	slack_parts_free(&p);

	CHECK_INT(slack_chunk_lines("*t*", lines, 2, 1000, 2, &p), 0);
	CHECK_INT((int)p.n, 2);
	CHECK_STR(p.texts[1], "```\nshort &amp; &lt;sweet&gt;\n```");
	slack_parts_free(&p);
	free(longline);
}

TEST_CASE(urls_are_checked_and_never_echoed)
{
	struct err e;

	unsetenv("EBSSH_SLACK_RESPONSE_URL_PREFIX");
	CHECK_INT(slack_check_url("https://hooks.slack.com/services/T/B/secret", 0, &e), 0);
	CHECK_INT(slack_check_url("http://127.0.0.1:9/hook", 0, &e), 0);
	CHECK_INT(slack_check_url("https://hooks.slack.com/commands/1/2", 1, &e), 0);
	CHECK_INT(slack_check_url("https://evil.example/hooks.slack.com/", 1, &e), ERR_INVALID);
	CHECK(strstr(e.message, "evil") == NULL);
	CHECK_INT(slack_check_url("http://127.0.0.1:9/commands/1", 1, &e), ERR_INVALID);
	CHECK_INT(slack_check_url("file:///etc/passwd", 0, &e), ERR_INVALID);
	CHECK_INT(slack_check_url("https://hooks.slack.com/a b", 0, &e), ERR_INVALID);
	CHECK_INT(slack_check_url("", 0, &e), ERR_INVALID);
	CHECK_INT(slack_check_url(NULL, 0, &e), ERR_INVALID);
	setenv("EBSSH_SLACK_RESPONSE_URL_PREFIX", "http://127.0.0.1:", 1);
	CHECK_INT(slack_check_url("http://127.0.0.1:9/commands/1", 1, &e), 0);
	unsetenv("EBSSH_SLACK_RESPONSE_URL_PREFIX");
}

/* A signature-shaped string: "v0=" and 64 hex digits from n. */
static void fake_sig(char out[68], unsigned n)
{
	snprintf(out, 68, "v0=%064x", n);
}

TEST_CASE(replay_cache_refuses_a_second_time)
{
	struct slack_replay r;
	char sig[68], other[68];
	struct err e;

	slack_replay_init(&r, 8);
	fake_sig(sig, 1);
	fake_sig(other, 2);
	CHECK_INT(slack_replay_check(&r, "1000", sig, 1000, &e), 0);
	CHECK_INT(slack_replay_check(&r, "1000", sig, 1001, &e), ERR_INVALID);
	CHECK(strstr(e.message, "replay") != NULL);
	/* Another signature, or the same one at another timestamp, is another request. */
	CHECK_INT(slack_replay_check(&r, "1000", other, 1001, &e), 0);
	CHECK_INT(slack_replay_check(&r, "1001", sig, 1001, &e), 0);
	/* Still refused at the window's last second... */
	CHECK_INT(slack_replay_check(&r, "1000", sig, 1000 + SLACK_MAX_SKEW, &e), ERR_INVALID);
	/* ...and forgotten once slack_verify refuses its timestamp anyway. */
	CHECK_INT((int)r.n, 3);
	CHECK_INT(slack_replay_check(&r, "1001", other, 1000 + SLACK_MAX_SKEW + 1, &e), 0);
	CHECK_INT((int)r.n, 2); /* the two of 1000 dropped, 1001's two kept */
	CHECK_INT(slack_replay_check(&r, "1001", sig, 1000 + SLACK_MAX_SKEW + 1, &e), ERR_INVALID);
	/* A timestamp in the future (within the skew) is kept until it is old. */
	CHECK_INT(slack_replay_check(&r, "5200", sig, 5000, &e), 0);
	CHECK_INT(slack_replay_check(&r, "5200", sig, 5450, &e), ERR_INVALID);
	CHECK_INT(slack_replay_check(&r, "x", sig, 5000, &e), ERR_INVALID);
	CHECK_INT(slack_replay_check(&r, "5000", "v0=short", 5000, &e), ERR_INVALID);
	CHECK_INT(slack_replay_check(&r, "5000", NULL, 5000, &e), ERR_INVALID);
	slack_replay_destroy(&r);
}

TEST_CASE(replay_cache_is_bounded_and_fails_closed)
{
	struct slack_replay r;
	char sig[68];
	struct err e;
	unsigned i;

	slack_replay_init(&r, 4);
	for (i = 0; i < 4; i++) {
		fake_sig(sig, i);
		CHECK_INT(slack_replay_check(&r, "2000", sig, 2000, &e), 0);
	}
	CHECK_INT((int)r.n, 4);
	/* Full of live entries: a new request is refused, never let through unrecorded. */
	fake_sig(sig, 99);
	CHECK_INT(slack_replay_check(&r, "2000", sig, 2100, &e), ERR_TOO_LARGE);
	/* The old ones still are replays. */
	fake_sig(sig, 0);
	CHECK_INT(slack_replay_check(&r, "2000", sig, 2100, &e), ERR_INVALID);
	/* Once their window has passed, they make room. */
	fake_sig(sig, 99);
	CHECK_INT(slack_replay_check(&r, "2301", sig, 2301, &e), 0);
	CHECK_INT((int)r.n, 1);
	slack_replay_destroy(&r);
	/* The bound itself. */
	slack_replay_init(&r, 100000);
	CHECK_INT((int)r.cap, SLACK_REPLAY_MAX);
	slack_replay_destroy(&r);
	CHECK_INT((int)slack_replay_shared()->cap, SLACK_REPLAY_MAX);
}

int main(void)
{
	RUN(slacks_own_example_verifies);
	RUN(refuses_tampering_and_replays);
	RUN(refuses_malformed_headers);
	RUN(empty_body_signs);
	RUN(parses_the_signed_form);
	RUN(parses_the_documented_weather_form);
	RUN(form_edge_cases);
	RUN(utf8_validity);
	RUN(escapes_what_slack_reads);
	RUN(chunks_fit_and_note_what_is_left_out);
	RUN(a_long_line_is_cut_at_a_character);
	RUN(urls_are_checked_and_never_echoed);
	RUN(replay_cache_refuses_a_second_time);
	RUN(replay_cache_is_bounded_and_fails_closed);
	return TEST_DONE();
}
