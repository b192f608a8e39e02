/* notify: CodePipeline and CloudWatch Logs events to Slack; see notify.h. */
#include "notify.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "../../aws/client.h"
#include "../../aws/uri.h"
#include "../../util/file.h"
#include "../config.h"
#include "logsearch.h"

#define NEUTRAL_COLOR  "#439FE0"
#define MAX_TZ_NAME    64
#define ZONE_VALUE_MAX 128                 /* a zone name or its POSIX rule */
#define ZONE_RULES_MAX ((size_t)256 << 10) /* EBSSH_ZONE_RULES: about 20 KB today */

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- CodePipeline ---- */

const char *notify_state_color(const char *state)
{
	static const struct {
		const char *state, *color;
	} colors[] = {
	    {"SUCCEEDED", "good"},   {"STARTED", "good"},       {"FAILED", "danger"},
	    {"CANCELED", "warning"}, {"SUPERSEDED", "warning"}, {"RESUMED", "warning"},
	    {"STOPPING", "warning"}, {"STOPPED", "warning"},
	};
	size_t i;

	for (i = 0; state && i < sizeof(colors) / sizeof(colors[0]); i++)
		if (strcmp(state, colors[i].state) == 0)
			return colors[i].color;
	return NEUTRAL_COLOR;
}

static const char *str_of(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : NULL;
}

/* s escaped for Slack; "" when out of memory. Caller frees. */
static char *escaped(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	if (slack_escape(&b, s ? s : "", 0) != 0)
		return strdup("");
	return buf_take(&b);
}

int notify_codepipeline_message(const json_t *event, struct buf *out, struct err *e)
{
	const char *type = str_of(event, "detail-type"), *source = str_of(event, "source");
	const char *pipeline, *state, *execution, *region, *when;
	char *p_esc = NULL, *s_esc = NULL, *x_esc = NULL, *text = NULL;
	json_t *detail = json_object_get(event, "detail"), *att = NULL, *msg = NULL;
	struct buf link;
	int64_t ms = 0;
	int rc = ERR_NOMEM;

	if (!source || strcmp(source, "aws.codepipeline") != 0 || !type ||
	    strcmp(type, NOTIFY_CODEPIPELINE) != 0)
		return err_set(e, ERR_NOT_FOUND, "not a pipeline execution state change");
	pipeline = str_of(detail, "pipeline");
	state = str_of(detail, "state");
	execution = str_of(detail, "execution-id");
	if (!pipeline || !state || !execution)
		return err_set(e, ERR_INVALID,
		               "the CodePipeline event lacks the pipeline, state or execution-id");
	region = str_of(event, "region");
	when = str_of(event, "time");
	if (when && logsearch_parse_time(when, &ms, NULL) != 0)
		ms = 0;
	buf_init(&link, 4096);
	if (region) {
		/* The execution's page in the console. */
		rc = buf_appendf(&link,
		                 "https://%s.console.aws.amazon.com/codesuite/codepipeline/"
		                 "pipelines/",
		                 region);
		if (!rc)
			rc = uri_encode(&link, pipeline, strlen(pipeline), 0);
		if (!rc)
			rc = buf_append_str(&link, "/executions/");
		if (!rc)
			rc = uri_encode(&link, execution, strlen(execution), 0);
		if (!rc)
			rc = buf_append_str(&link, "/timeline?region=");
		if (!rc)
			rc = uri_encode(&link, region, strlen(region), 0);
		if (rc)
			goto out;
	}
	p_esc = escaped(pipeline);
	s_esc = escaped(state);
	x_esc = escaped(execution);
	if (!p_esc || !s_esc || !x_esc)
		goto out;
	att = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:b}, {s:s, s:s, s:b}, {s:s, s:s, s:b}]}",
	                "color", notify_state_color(state), "fallback", pipeline, "title", p_esc,
	                "fields", "title", "Pipeline", "value", p_esc, "short", 1, "title", "State",
	                "value", s_esc, "short", 1, "title", "Execution id", "value", x_esc,
	                "short", 0);
	if (!att)
		goto out;
	if (json_object_set_new(att, "fallback",
	                        json_sprintf("%s %s (%s)", pipeline, state, execution)) != 0)
		goto out;
	if (link.len && json_object_set_new(att, "title_link", json_string(link.data)) != 0)
		goto out;
	if (region && json_object_set_new(att, "footer", json_sprintf("CodePipeline, %s", region)))
		goto out;
	if (ms > 0 && json_object_set_new(att, "ts", json_integer((json_int_t)(ms / 1000))) != 0)
		goto out;
	msg = json_pack("{s:s, s:[O]}", "text", "", "attachments", att);
	if (!msg ||
	    json_object_set_new(msg, "text", json_sprintf("Pipeline *%s*: %s", p_esc, s_esc)) != 0)
		goto out;
	text = json_dumps(msg, JSON_COMPACT);
	if (text)
		rc = buf_append_str(out, text);
out:
	if (rc)
		err_set(e, rc, "cannot build the CodePipeline message");
	free(text);
	json_decref(msg);
	json_decref(att);
	free(p_esc);
	free(s_esc);
	free(x_esc);
	buf_free(&link);
	return rc;
}

/* ---- CloudWatch Logs ---- */

int notify_logs_inflate(const char *data, size_t len, char **out, size_t *out_len, struct err *e)
{
	char *packed = NULL, *text = NULL;
	size_t packed_len = 0, cap = (size_t)64 << 10, used = 0;
	z_stream z;
	int rc, zrc;

	*out = NULL;
	*out_len = 0;
	rc = event_base64_decode(data, len, &packed, &packed_len, e);
	if (rc)
		return rc;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		free(packed);
		return err_set(e, ERR_NOMEM, "zlib could not start");
	}
	z.next_in = (unsigned char *)packed;
	z.avail_in = (uInt)packed_len;
	text = malloc(cap);
	if (!text)
		rc = err_set(e, ERR_NOMEM, "out of memory");
	while (!rc) {
		if (used == cap - 1) {
			char *grown;
			if (used >= NOTIFY_MAX_INFLATED) {
				rc = err_set(e, ERR_TOO_LARGE,
				             "the log event unpacks to over %zu bytes",
				             NOTIFY_MAX_INFLATED);
				break;
			}
			cap = cap * 2 > NOTIFY_MAX_INFLATED + 1 ? NOTIFY_MAX_INFLATED + 1 : cap * 2;
			grown = realloc(text, cap);
			if (!grown) {
				rc = err_set(e, ERR_NOMEM, "out of memory");
				break;
			}
			text = grown;
		}
		z.next_out = (unsigned char *)text + used;
		z.avail_out = (uInt)(cap - 1 - used);
		zrc = inflate(&z, Z_NO_FLUSH);
		used = cap - 1 - z.avail_out;
		if (zrc == Z_STREAM_END)
			break;
		if (zrc == Z_OK && (z.avail_out == 0 || z.avail_in > 0))
			continue;
		if (zrc == Z_MEM_ERROR)
			rc = err_set(e, ERR_NOMEM, "out of memory");
		else if (zrc == Z_OK || zrc == Z_BUF_ERROR)
			rc = err_set(e, ERR_INVALID, "awslogs.data is cut short");
		else
			rc = err_set(e, ERR_INVALID, "awslogs.data is not gzip");
	}
	inflateEnd(&z);
	free(packed);
	if (rc || !text) {
		free(text);
		return rc ? rc : ERR_NOMEM;
	}
	text[used] = '\0';
	*out = text;
	*out_len = used;
	return 0;
}

/* 1 when tz has a zone file (a regular file starting "TZif") under dir. */
static int zone_file(const char *dir, const char *tz)
{
	char path[512], magic[4];
	struct stat st;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	f = fopen(path, "rb");
	if (!f)
		return 0;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

/* tz's POSIX rule from the table at path ("name<TAB>rule" lines) into out. */
static int zone_rule(const char *path, const char *tz, char *out, size_t cap)
{
	struct err e;
	char *text = NULL, *line, *next;
	size_t len = 0, n = strlen(tz);
	int found = 0, fd;

	if (!path || !*path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0;
	err_clear(&e);
	if (file_read_capped(fd, path, ZONE_RULES_MAX, &text, &len, &e) != 0) {
		close(fd);
		return 0;
	}
	close(fd);
	for (line = text; !found && line < text + len; line = next) {
		size_t rule_len;

		next = memchr(line, '\n', (size_t)(text + len - line));
		next = next ? next + 1 : text + len;
		if (strncmp(line, tz, n) != 0 || line[n] != '\t')
			continue;
		rule_len = (size_t)(next - line) - n - 1;
		if (rule_len && line[n + 1 + rule_len - 1] == '\n')
			rule_len--;
		if (rule_len == 0 || rule_len >= cap)
			break;
		memcpy(out, line + n + 1, rule_len);
		out[rule_len] = '\0';
		found = 1;
	}
	free(text);
	return found;
}

/*
 * What TZ must be for zone tz (a name as IANA writes them): the name itself
 * when its zone file is in the zone directory, else its POSIX rule from
 * EBSSH_ZONE_RULES (today's offsets and daylight-saving rule: right for
 * recent times, which is all notify formats). 0 when unknown.
 */
static int zone_value(const char *tz, char *out, size_t cap)
{
	struct service_config cfg = service_config_get();
	size_t i, n = strlen(tz);

	if (n == 0 || n > MAX_TZ_NAME || n >= cap || tz[0] == '/' || tz[n - 1] == '/' ||
	    strstr(tz, "..") || strstr(tz, "//"))
		return 0;
	for (i = 0; i < n; i++) {
		char c = tz[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '-' || c == '+'))
			return 0;
	}
	if (zone_file(cfg.tz_dir, tz)) {
		memcpy(out, tz, n + 1);
		return 1;
	}
	return zone_rule(cfg.zone_rules, tz, out, cap);
}

static void format_one(int64_t ms, int utc, char *out)
{
	int64_t secs = ms / 1000, rest = ms % 1000;
	struct tm tm;
	time_t t;
	size_t n;

	if (rest < 0) {
		rest += 1000;
		secs--;
	}
	t = (time_t)secs;
	if (!(utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) ||
	    (n = strftime(out, NOTIFY_TIME_LEN, "%Y-%m-%d %H:%M:%S", &tm)) == 0) {
		snprintf(out, NOTIFY_TIME_LEN, "%lld", (long long)ms);
		return;
	}
	snprintf(out + n, NOTIFY_TIME_LEN - n, ".%03d ", (int)rest);
	n = strlen(out);
	if (utc || strftime(out + n, NOTIFY_TIME_LEN - n, "%Z", &tm) == 0)
		snprintf(out + n, NOTIFY_TIME_LEN - n, "UTC");
}

int notify_format_times(const char *tz, const int64_t *ms, size_t n, char (*out)[NOTIFY_TIME_LEN])
{
	char *saved = NULL, value[ZONE_VALUE_MAX];
	const char *old;
	size_t i;

	if (!tz || !*tz || strcmp(tz, "UTC") == 0 || !zone_value(tz, value, sizeof(value))) {
		for (i = 0; i < n; i++)
			format_one(ms[i], 1, out[i]);
		return tz && *tz && strcmp(tz, "UTC") != 0 ? ERR_NOT_FOUND : 0;
	}
	pthread_mutex_lock(&tz_lock);
	old = getenv("TZ");
	if (old)
		saved = strdup(old);
	if ((old && !saved) || setenv("TZ", value, 1) != 0) {
		pthread_mutex_unlock(&tz_lock);
		free(saved);
		for (i = 0; i < n; i++)
			format_one(ms[i], 1, out[i]);
		return ERR_NOT_FOUND;
	}
	tzset();
	for (i = 0; i < n; i++)
		format_one(ms[i], 0, out[i]);
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	pthread_mutex_unlock(&tz_lock);
	free(saved);
	return 0;
}

int notify_logs_messages(const char *json, size_t len, const char *tz, struct slack_parts *parts,
                         struct err *e)
{
	json_t *root, *events;
	const char *type, *group, *stream;
	char(*times)[NOTIFY_TIME_LEN] = NULL;
	int64_t *stamps = NULL;
	char **lines = NULL;
	char *g_esc = NULL, *s_esc = NULL, *tz_esc = NULL;
	struct buf title, line;
	size_t i, n = 0;
	int rc, zone_rc;

	memset(parts, 0, sizeof(*parts));
	root = json_loadb(json, len, 0, NULL);
	type = str_of(root, "messageType");
	if (type && strcmp(type, "CONTROL_MESSAGE") == 0) {
		json_decref(root);
		return err_set(e, ERR_NOT_FOUND, "a CloudWatch Logs control message");
	}
	group = str_of(root, "logGroup");
	stream = str_of(root, "logStream");
	events = json_object_get(root, "logEvents");
	if (!type || strcmp(type, "DATA_MESSAGE") != 0 || !group || !stream ||
	    !json_is_array(events)) {
		json_decref(root);
		return err_set(e, ERR_INVALID, "not a CloudWatch Logs DATA_MESSAGE");
	}
	n = json_array_size(events);
	buf_init(&title, 0);
	buf_init(&line, 0);
	rc = ERR_NOMEM;
	stamps = calloc(n ? n : 1, sizeof(*stamps));
	times = calloc(n ? n : 1, sizeof(*times));
	lines = calloc(n ? n : 1, sizeof(*lines));
	if (!stamps || !times || !lines)
		goto out;
	for (i = 0; i < n; i++) {
		json_t *ts = json_object_get(json_array_get(events, i), "timestamp");
		stamps[i] = json_is_integer(ts) ? (int64_t)json_integer_value(ts) : 0;
	}
	zone_rc = notify_format_times(tz, stamps, n, times);
	for (i = 0; i < n; i++) {
		const char *msg = str_of(json_array_get(events, i), "message");
		size_t mlen = msg ? strlen(msg) : 0;

		while (mlen && (msg[mlen - 1] == '\n' || msg[mlen - 1] == '\r'))
			mlen--;
		buf_reset(&line);
		if (buf_appendf(&line, "%s  ", times[i]) != 0 ||
		    buf_append(&line, msg ? msg : "", mlen) != 0)
			goto out;
		lines[i] = buf_take(&line);
		if (!lines[i])
			goto out;
	}
	g_esc = escaped(group);
	s_esc = escaped(stream);
	tz_esc = escaped(tz);
	if (!g_esc || !s_esc || !tz_esc)
		goto out;
	if (buf_appendf(&title, "*CloudWatch Logs* `%s` / `%s`: %zu event%s", g_esc, s_esc, n,
	                n == 1 ? "" : "s") != 0)
		goto out;
	if (zone_rc == ERR_NOT_FOUND &&
	    buf_appendf(&title, " (NOTIFY_TZ `%.64s` is not a known zone: times in UTC)", tz_esc))
		goto out;
	rc = slack_chunk_lines(title.data, (const char *const *)lines, n, SLACK_PART_LIMIT,
	                       SLACK_MAX_PARTS, parts);
out:
	if (rc)
		err_set(e, rc, "cannot build the CloudWatch Logs message");
	for (i = 0; lines && i < n; i++)
		free(lines[i]);
	free(lines);
	free(times);
	free(stamps);
	free(g_esc);
	free(s_esc);
	free(tz_esc);
	buf_free(&title);
	buf_free(&line);
	json_decref(root);
	return rc;
}

/* ---- posting ---- */

static struct http_client *http_of(struct service_context *ctx, struct err *e)
{
	struct aws_client *aws = service_aws(ctx, e);

	return aws ? aws_client_http(aws) : NULL;
}

static const char *webhook(struct err *e)
{
	const char *url = service_config_get().slack_webhook_url;

	if (!url || !*url) {
		err_set(e, ERR_INVALID, "SLACK_WEBHOOK_URL is not set: notifications are off");
		return NULL;
	}
	return url;
}

int notify_codepipeline_event(struct service_context *ctx, const struct event *ev, struct err *e)
{
	const char *url = webhook(e);
	struct http_client *http;
	struct buf msg;
	int rc;

	if (!url)
		return ERR_INVALID;
	buf_init(&msg, 0);
	rc = notify_codepipeline_message(ev->json, &msg, e);
	if (rc == ERR_NOT_FOUND) {
		err_clear(e);
		return 0;
	}
	if (!rc) {
		http = http_of(ctx, e);
		rc = http ? slack_post(http, url, msg.data, msg.len, e) : ERR_INTERNAL;
	}
	buf_free(&msg);
	return rc ? rc : 1;
}

int notify_logs_from_group(const char *json, size_t len, const char *group)
{
	json_t *root;
	const char *g;
	int same;

	if (!group || !*group)
		return 0;
	root = json_loadb(json, len, 0, NULL);
	g = str_of(root, "logGroup");
	same = g && strcmp(g, group) == 0;
	json_decref(root);
	return same;
}

int notify_logs_event(struct service_context *ctx, const struct event *ev, struct err *e)
{
	const char *url = webhook(e);
	struct slack_parts parts = {NULL, 0, 0};
	struct http_client *http;
	char *json = NULL;
	size_t len = 0, i;
	int rc, posted = 0;

	if (!url)
		return ERR_INVALID;
	if (!ev->logs_data)
		return err_set(e, ERR_INVALID, "no awslogs.data");
	rc = notify_logs_inflate(ev->logs_data, strlen(ev->logs_data), &json, &len, e);
	if (!rc && notify_logs_from_group(json, len, service_config_get().own_log_group)) {
		/* The function's own lines: posting them would make more lines,
		 * and a subscription on them would run forever. The template
		 * refuses such a subscription; this is the second guard. */
		free(json);
		return 0;
	}
	if (!rc)
		rc = notify_logs_messages(json, len, service_config_get().notify_tz, &parts, e);
	free(json);
	if (rc == ERR_NOT_FOUND) {
		err_clear(e);
		return 0;
	}
	if (rc)
		return rc;
	http = http_of(ctx, e);
	for (i = 0; http && i < parts.n && !rc; i++) {
		json_t *m = json_pack("{s:s}", "text", parts.texts[i]);
		char *body = m ? json_dumps(m, JSON_COMPACT) : NULL;

		json_decref(m);
		rc = body ? slack_post(http, url, body, strlen(body), e) : ERR_NOMEM;
		free(body);
		if (!rc)
			posted++;
	}
	slack_parts_free(&parts);
	if (!http)
		return e && e->code < 0 ? e->code : ERR_INTERNAL;
	return rc ? rc : posted;
}
