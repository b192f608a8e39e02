/* gcs: Google Cloud Storage's JSON API (resumable upload, object metadata); see gcs.h. */
#include "gcs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../aws/uri.h"
#include "../util/buf.h"
#include "../util/monotime.h"

#define GCS_DEFAULT_TIMEOUT_MS 120000L
#define GCS_MAX_ANSWER         ((size_t)1 << 20)
#define GCS_MAX_BACKOFF_MS     5000L

struct gcs_client {
	char *endpoint; /* owned, no trailing '/' */
	struct gcp_token_source *ts;
	struct http_client *http; /* created on first use of the real transport */
	gcp_send_fn send;
	void *seam_ctx;
};

struct gcs_upload {
	struct gcs_client *c;
	char *session; /* owned: the session URI */
	unsigned char *buf;
	size_t chunk;    /* the buffer's size, a multiple of GCS_CHUNK_QUANTUM */
	size_t buf_len;  /* bytes buffered */
	long long start; /* object offset of buf[0] == bytes acknowledged by GCS */
	long long size;  /* the spec's total, or -1 */
	int attempts;
	long backoff_ms;
	long timeout_ms;
	unsigned resumes;
	int dead; /* a call failed: only gcs_upload_free */
};

/* One request's outcome, for the retry policy. */
enum outcome { OUT_OK, OUT_RETRY, OUT_FAIL };

/* ---- the client ---- */

int gcs_client_set_endpoint(struct gcs_client *c, const char *base, struct err *e)
{
	struct buf b;
	size_t n = strlen(base);

	while (n && base[n - 1] == '/')
		n--;
	if (n == 0)
		return err_set(e, ERR_INVALID, "storage endpoint is empty");
	buf_init(&b, 4096);
	/* "host:port" as Google's clients accept it in STORAGE_EMULATOR_HOST */
	if ((!strstr(base, "://") && buf_append_str(&b, "http://")) || buf_append(&b, base, n))
		return err_set(e, ERR_NOMEM, "out of memory");
	free(c->endpoint);
	c->endpoint = buf_take(&b);
	buf_free(&b);
	return c->endpoint ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

struct gcs_client *gcs_client_new(struct gcp_token_source *ts, struct err *e)
{
	struct gcs_client *c = calloc(1, sizeof(*c));
	const char *emu = getenv("STORAGE_EMULATOR_HOST");

	if (!c) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	c->ts = ts;
	if (gcs_client_set_endpoint(c, emu && *emu ? emu : GCS_DEFAULT_ENDPOINT, e)) {
		err_prefix(e, "STORAGE_EMULATOR_HOST");
		free(c);
		return NULL;
	}
	return c;
}

const char *gcs_client_endpoint(const struct gcs_client *c)
{
	return c->endpoint;
}

void gcs_client_set_seams(struct gcs_client *c, gcp_send_fn send, void *ctx)
{
	c->send = send;
	c->seam_ctx = ctx;
}

void gcs_client_free(struct gcs_client *c)
{
	if (!c)
		return;
	http_client_free(c->http);
	free(c->endpoint);
	free(c);
}

/* One authorized exchange; a 401 renews the token and tries once more. */
static int gcs_send(struct gcs_client *c, const char *method, const char *url,
                    const struct http_header *extra, size_t n_extra, const void *body,
                    size_t body_len, long timeout_ms, struct http_response *resp, struct err *e)
{
	struct http_header headers[8];
	struct http_request req = {0};
	char *token = NULL, *auth = NULL;
	int rc = 0, attempt;

	if (n_extra > 7)
		return err_set(e, ERR_INTERNAL, "too many headers");
	for (attempt = 0; attempt < 2; attempt++) {
		rc = gcp_token_get(c->ts, &token, e);
		if (rc)
			return rc;
		if (asprintf(&auth, "Bearer %s", token) < 0) {
			free(token);
			return err_set(e, ERR_NOMEM, "out of memory");
		}
		free(token);
		headers[0].name = "Authorization";
		headers[0].value = auth;
		if (n_extra)
			memcpy(headers + 1, extra, n_extra * sizeof(*extra));
		req.method = method;
		req.url = url;
		req.headers = headers;
		req.n_headers = n_extra + 1;
		req.body = body;
		req.body_len = body_len;
		req.timeout_ms = timeout_ms;
		req.max_response = GCS_MAX_ANSWER;
		http_response_free(resp); /* as http_send does: a fresh answer */
		http_response_init(resp);
		if (c->send) {
			rc = c->send(c->seam_ctx, &req, resp, e);
		} else {
			if (!c->http && !(c->http = http_client_new(e)))
				rc = e ? e->code : ERR_INTERNAL;
			else
				rc = http_send(c->http, &req, resp, e);
		}
		free(auth);
		auth = NULL;
		if (rc || resp->status != 401)
			return rc;
		gcp_token_invalidate(c->ts);
	}
	return 0; /* a second 401: the caller reports it */
}

/* GCS's refusal: ERR_NOT_FOUND for 404, else ERR_SERVICE with its message. */
static int gcs_refused(const char *what, const struct http_response *resp, struct err *e)
{
	json_t *root = json_loadb(resp->body.data, resp->body.len, 0, NULL);
	const char *msg =
	    json_string_value(json_object_get(json_object_get(root, "error"), "message"));
	int rc = err_set(e, resp->status == 404 ? ERR_NOT_FOUND : ERR_SERVICE,
	                 "%s: GCS answered HTTP %ld%s%.300s", what, resp->status, msg ? ": " : "",
	                 msg ? msg : "");

	json_decref(root);
	if (e)
		e->http_status = resp->status;
	return rc;
}

static int is_transient_status(long status)
{
	return status == 408 || status == 429 || status >= 500;
}

static int is_transient_code(int rc)
{
	return rc == ERR_NETWORK || rc == ERR_TIMEOUT;
}

static void backoff(long base_ms, int attempt)
{
	long ms = base_ms;

	if (base_ms < 0)
		return;
	while (attempt-- > 1 && ms < GCS_MAX_BACKOFF_MS)
		ms *= 2;
	monotime_sleep_ms(ms < GCS_MAX_BACKOFF_MS ? ms : GCS_MAX_BACKOFF_MS);
}

/* ---- objects ---- */

static int take_string(json_t *o, const char *key, char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (json_is_string(v))
		*out = strdup(json_string_value(v));
	else if (json_is_integer(v) && asprintf(out, "%lld", (long long)json_integer_value(v)) < 0)
		*out = NULL;
	else if (!v || !json_is_integer(v))
		return 0;
	return *out ? 0 : ERR_NOMEM;
}

static int parse_object(const struct http_response *resp, struct gcs_object *out, struct err *e)
{
	json_t *root = json_loadb(resp->body.data, resp->body.len, 0, NULL), *md, *v, *size;
	const char *key;
	size_t n = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->size = -1;
	if (!json_is_object(root)) {
		json_decref(root);
		return err_set(e, ERR_PARSE, "GCS object resource is not a JSON object");
	}
	if (take_string(root, "bucket", &out->bucket) || take_string(root, "name", &out->name) ||
	    take_string(root, "generation", &out->generation) ||
	    take_string(root, "contentType", &out->content_type) ||
	    take_string(root, "contentEncoding", &out->content_encoding) ||
	    take_string(root, "crc32c", &out->crc32c) ||
	    take_string(root, "md5Hash", &out->md5_hash))
		rc = ERR_NOMEM;
	size = json_object_get(root, "size"); /* a string in the JSON API: int64 */
	if (json_is_string(size))
		out->size = strtoll(json_string_value(size), NULL, 10);
	else if (json_is_integer(size))
		out->size = (long long)json_integer_value(size);
	md = json_object_get(root, "metadata");
	if (!rc && json_is_object(md) && json_object_size(md)) {
		out->metadata = calloc(json_object_size(md), sizeof(*out->metadata));
		if (!out->metadata)
			rc = ERR_NOMEM;
		json_object_foreach(md, key, v)
		{
			if (rc || !json_is_string(v))
				continue;
			out->metadata[n].key = strdup(key);
			out->metadata[n].value = strdup(json_string_value(v));
			n++;
			out->n_metadata = n;
			if (!out->metadata[n - 1].key || !out->metadata[n - 1].value)
				rc = ERR_NOMEM;
		}
	}
	json_decref(root);
	if (rc) {
		gcs_object_free(out);
		return err_set(e, rc, "out of memory");
	}
	return 0;
}

const char *gcs_object_metadata(const struct gcs_object *o, const char *key)
{
	size_t i;

	for (i = 0; i < o->n_metadata; i++)
		if (strcmp(o->metadata[i].key, key) == 0)
			return o->metadata[i].value;
	return NULL;
}

void gcs_object_free(struct gcs_object *o)
{
	size_t i;

	if (!o)
		return;
	free(o->bucket);
	free(o->name);
	free(o->generation);
	free(o->content_type);
	free(o->content_encoding);
	free(o->crc32c);
	free(o->md5_hash);
	for (i = 0; i < o->n_metadata; i++) {
		free(o->metadata[i].key);
		free(o->metadata[i].value);
	}
	free(o->metadata);
	memset(o, 0, sizeof(*o));
	o->size = -1;
}

/* base + path + encoded bucket + mid + encoded name (slashes encoded too). */
static char *object_url(const struct gcs_client *c, const char *path, const char *bucket,
                        const char *mid, const char *name)
{
	struct buf b;
	char *s;

	buf_init(&b, (size_t)64 << 10);
	if (buf_append_str(&b, c->endpoint) || buf_append_str(&b, path) ||
	    uri_encode(&b, bucket, strlen(bucket), 0) || buf_append_str(&b, mid) ||
	    uri_encode(&b, name, strlen(name), 0))
		return NULL;
	s = buf_take(&b);
	buf_free(&b);
	return s;
}

int gcs_object_get(struct gcs_client *c, const char *bucket, const char *name,
                   struct gcs_object *out, struct err *e)
{
	struct http_response resp;
	char *url = object_url(c, "/storage/v1/b/", bucket, "/o/", name);
	int rc = 0, attempt;

	memset(out, 0, sizeof(*out));
	out->size = -1;
	if (!url)
		return err_set(e, ERR_NOMEM, "out of memory");
	http_response_init(&resp);
	for (attempt = 1; attempt <= GCS_DEFAULT_ATTEMPTS; attempt++) {
		if (attempt > 1)
			backoff(GCS_DEFAULT_BACKOFF_MS, attempt - 1);
		rc = gcs_send(c, "GET", url, NULL, 0, NULL, 0, 30000L, &resp, e);
		if (rc ? !is_transient_code(rc) : !is_transient_status(resp.status))
			break;
	}
	free(url);
	if (!rc && resp.status == 200)
		rc = parse_object(&resp, out, e);
	else if (!rc)
		rc = gcs_refused("object metadata GET", &resp, e);
	else
		err_prefix(e, "object metadata GET");
	http_response_free(&resp);
	return rc;
}

/* ---- the resumable upload ---- */

void gcs_content_range(char *out, size_t cap, long long first, long long len, long long total)
{
	char tot[32];

	if (total < 0)
		snprintf(tot, sizeof(tot), "*");
	else
		snprintf(tot, sizeof(tot), "%lld", total);
	if (len <= 0)
		snprintf(out, cap, "bytes */%s", tot);
	else
		snprintf(out, cap, "bytes %lld-%lld/%s", first, first + len - 1, tot);
}

/* The committed byte count of a 308's Range header ("bytes=0-N" -> N + 1; none -> 0). */
static int committed_from(const struct http_response *resp, long long *committed)
{
	const char *range = http_response_header(resp, "Range");
	long long last;
	char tail;

	*committed = 0;
	if (!range)
		return 0;
	if (sscanf(range, "bytes=0-%lld%c", &last, &tail) != 1 || last < 0)
		return ERR_PARSE;
	*committed = last + 1;
	return 0;
}

static void append_hash_json(json_t *o, const char *key, const char *value, int *bad)
{
	if (value && json_object_set_new(o, key, json_string(value)))
		*bad = 1;
}

static char *resource_json(const struct gcs_object_spec *s)
{
	json_t *o = json_object(), *md = NULL;
	int bad = !o;
	size_t i;
	char *text;

	append_hash_json(o, "name", s->name, &bad);
	append_hash_json(o, "contentType", s->content_type, &bad);
	append_hash_json(o, "contentEncoding", s->content_encoding, &bad);
	append_hash_json(o, "crc32c", s->crc32c, &bad);
	append_hash_json(o, "md5Hash", s->md5_hash, &bad);
	if (!bad && s->n_metadata) {
		md = json_object();
		for (i = 0; md && i < s->n_metadata; i++)
			append_hash_json(md, s->metadata[i].key, s->metadata[i].value, &bad);
		if (!md || json_object_set_new(o, "metadata", md))
			bad = 1;
	}
	text = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

int gcs_upload_start(struct gcs_client *c, const struct gcs_object_spec *spec,
                     const struct gcs_upload_options *opt, struct gcs_upload **out, struct err *e)
{
	struct http_header headers[4];
	struct http_response resp;
	struct gcs_upload *u;
	char length[32], *url = NULL, *body = NULL, *full = NULL;
	const char *loc;
	size_t n = 0, chunk;
	int rc = 0, attempt;

	*out = NULL;
	if (!spec->bucket || !*spec->bucket || !spec->name || !*spec->name)
		return err_set(e, ERR_INVALID, "GCS upload: bucket and object name are required");
	u = calloc(1, sizeof(*u));
	if (!u)
		return err_set(e, ERR_NOMEM, "out of memory");
	chunk = opt && opt->chunk_size ? opt->chunk_size : GCS_DEFAULT_CHUNK;
	chunk = (chunk + GCS_CHUNK_QUANTUM - 1) / GCS_CHUNK_QUANTUM * GCS_CHUNK_QUANTUM;
	u->c = c;
	u->chunk = chunk;
	u->size = spec->size;
	u->attempts = opt && opt->max_attempts > 0 ? opt->max_attempts : GCS_DEFAULT_ATTEMPTS;
	u->backoff_ms = opt && opt->backoff_ms ? opt->backoff_ms : GCS_DEFAULT_BACKOFF_MS;
	u->timeout_ms = opt && opt->timeout_ms ? opt->timeout_ms : GCS_DEFAULT_TIMEOUT_MS;
	u->buf = malloc(chunk);
	url = object_url(c, "/upload/storage/v1/b/", spec->bucket,
	                 "/o?uploadType=resumable&name=", spec->name);
	body = resource_json(spec);
	if (!u->buf || !url || !body) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto done;
	}
	headers[n].name = "Content-Type";
	headers[n++].value = "application/json; charset=UTF-8";
	if (spec->content_type) {
		headers[n].name = "X-Upload-Content-Type";
		headers[n++].value = spec->content_type;
	}
	if (spec->size >= 0) {
		snprintf(length, sizeof(length), "%lld", spec->size);
		headers[n].name = "X-Upload-Content-Length";
		headers[n++].value = length;
	}
	http_response_init(&resp);
	for (attempt = 1; attempt <= u->attempts; attempt++) {
		if (attempt > 1)
			backoff(u->backoff_ms, attempt - 1);
		rc = gcs_send(c, "POST", url, headers, n, body, strlen(body), 30000L, &resp, e);
		if (rc ? !is_transient_code(rc) : !is_transient_status(resp.status))
			break;
	}
	if (rc) {
		err_prefix(e, "starting the resumable upload");
	} else if (resp.status != 200 && resp.status != 201) {
		rc = gcs_refused("starting the resumable upload", &resp, e);
	} else if (!(loc = http_response_header(&resp, "Location")) || !*loc) {
		rc = err_set(e, ERR_PARSE,
		             "starting the resumable upload: no Location in the answer");
	} else if (!(full = strdup(loc))) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
	}
	http_response_free(&resp);
	u->session = full;
done:
	free(url);
	free(body);
	if (rc) {
		gcs_upload_free(u);
		return rc;
	}
	*out = u;
	return 0;
}

const char *gcs_upload_session_uri(const struct gcs_upload *u)
{
	return u->session;
}

long long gcs_upload_committed(const struct gcs_upload *u)
{
	return u->start;
}

unsigned gcs_upload_resumes(const struct gcs_upload *u)
{
	return u->resumes;
}

void gcs_upload_free(struct gcs_upload *u)
{
	if (!u)
		return;
	free(u->session);
	free(u->buf);
	free(u);
}

/* GCS acknowledged `committed` bytes: drop them from the buffer. */
static int acknowledge(struct gcs_upload *u, long long committed, struct err *e)
{
	size_t drop;

	if (committed < u->start || committed > u->start + (long long)u->buf_len)
		return err_set(e, ERR_SERVICE,
		               "GCS reports %lld bytes committed, outside the %lld-%lld still held",
		               committed, u->start, u->start + (long long)u->buf_len);
	drop = (size_t)(committed - u->start);
	memmove(u->buf, u->buf + drop, u->buf_len - drop);
	u->buf_len -= drop;
	u->start = committed;
	return 0;
}

/*
 * Sends the buffer, resuming after failures from GCS's committed offset,
 * until it is acknowledged. A middle chunk (last == 0) names the total when
 * the spec gave one, else a star; the last one names the total, carries the
 * hashes and is done only when GCS answers the object (parsed into obj when
 * not NULL).
 */
static int send_buffer(struct gcs_upload *u, int last, const char *hash, struct gcs_object *obj,
                       struct err *e)
{
	long long total = last ? u->start + (long long)u->buf_len : u->size;
	struct http_header headers[3];
	struct http_response resp;
	char range[96];
	long long committed;
	int rc = 0, attempt = 1, query = 0;
	size_t n;

	http_response_init(&resp);
	for (;;) {
		n = 0;
		headers[n].name = "Content-Type";
		headers[n++].value = "application/octet-stream";
		headers[n].name = "Content-Range";
		headers[n++].value = range;
		if (query) {
			/* where does the session stand? */
			gcs_content_range(range, sizeof(range), 0, 0, total);
			rc = gcs_send(u->c, "PUT", u->session, headers, n, NULL, 0, 30000L, &resp,
			              e);
		} else {
			gcs_content_range(range, sizeof(range), u->start, (long long)u->buf_len,
			                  total);
			if (hash && last) {
				headers[n].name = "X-Goog-Hash";
				headers[n++].value = hash;
			}
			rc = gcs_send(u->c, "PUT", u->session, headers, n, u->buf, u->buf_len,
			              u->timeout_ms, &resp, e);
		}
		if (!rc && (resp.status == 200 || resp.status == 201)) {
			if (!last) {
				rc = err_set(e, ERR_SERVICE,
				             "GCS finished the object before its last chunk");
			} else {
				u->start = total;
				u->buf_len = 0;
				rc = obj ? parse_object(&resp, obj, e) : 0;
			}
			break;
		}
		if (!rc && resp.status == 308) {
			rc = committed_from(&resp, &committed);
			if (rc) {
				err_set(e, rc, "GCS answered a Range header that does not parse");
				break;
			}
			if (!query && last && committed == u->start && ++attempt > u->attempts) {
				rc = err_set(e, ERR_SERVICE,
				             "GCS acknowledged nothing of the last chunk");
				break;
			}
			rc = acknowledge(u, committed, e);
			if (rc)
				break;
			if (query)
				u->resumes++;
			query = 0;
			/* a middle chunk is done once less than a quantum is left;
			 * the last one only when GCS answers the object */
			if (!last && u->buf_len < GCS_CHUNK_QUANTUM)
				break;
			continue;
		}
		if (rc ? !is_transient_code(rc) : !is_transient_status(resp.status)) {
			if (!rc)
				rc = gcs_refused(last ? "the last chunk" : "a chunk", &resp, e);
			else
				err_prefix(e, "uploading a chunk");
			break;
		}
		if (++attempt > u->attempts) {
			if (!rc)
				rc = gcs_refused("a chunk, after every retry", &resp, e);
			else
				err_prefix(e, "uploading a chunk, after every retry");
			break;
		}
		backoff(u->backoff_ms, attempt - 1);
		query = 1;
	}
	http_response_free(&resp);
	return rc;
}

int gcs_upload_write(struct gcs_upload *u, const void *data, size_t len, struct err *e)
{
	const unsigned char *p = data;
	size_t take;
	int rc;

	if (u->dead)
		return err_set(e, ERR_INVALID, "GCS upload already failed");
	if (u->size >= 0 && (long long)len > u->size - u->start - (long long)u->buf_len) {
		u->dead = 1;
		return err_set(e, ERR_INVALID, "GCS upload: more than the %lld bytes announced",
		               u->size);
	}
	while (len) {
		take = u->chunk - u->buf_len < len ? u->chunk - u->buf_len : len;
		memcpy(u->buf + u->buf_len, p, take);
		u->buf_len += take;
		p += take;
		len -= take;
		/* a full chunk that ends an object of known size is the last
		 * request: it waits for gcs_upload_finish and its hashes */
		if (u->buf_len == u->chunk &&
		    !(u->size >= 0 && u->start + (long long)u->buf_len == u->size)) {
			rc = send_buffer(u, 0, NULL, NULL, e);
			if (rc) {
				u->dead = 1;
				return rc;
			}
		}
	}
	return 0;
}

int gcs_upload_finish(struct gcs_upload *u, const char *crc32c, const char *md5_hash,
                      struct gcs_object *out, struct err *e)
{
	struct gcs_object obj;
	long long total = u->start + (long long)u->buf_len;
	char *hash = NULL;
	int rc;

	memset(&obj, 0, sizeof(obj));
	if (out) {
		memset(out, 0, sizeof(*out));
		out->size = -1;
	}
	if (u->dead)
		return err_set(e, ERR_INVALID, "GCS upload already failed");
	if (u->size >= 0 && total != u->size) {
		u->dead = 1;
		return err_set(e, ERR_INVALID, "GCS upload: %lld bytes written, %lld announced",
		               total, u->size);
	}
	if ((crc32c || md5_hash) && asprintf(&hash, "%s%s%s%s%s", crc32c ? "crc32c=" : "",
	                                     crc32c ? crc32c : "", crc32c && md5_hash ? "," : "",
	                                     md5_hash ? "md5=" : "", md5_hash ? md5_hash : "") < 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = send_buffer(u, 1, hash, &obj, e);
	free(hash);
	/* the object GCS kept must carry the hashes given (a lost answer
	 * followed by a status query lands here too) */
	if (!rc && ((crc32c && obj.crc32c && strcmp(crc32c, obj.crc32c) != 0) ||
	            (md5_hash && obj.md5_hash && strcmp(md5_hash, obj.md5_hash) != 0)))
		rc = err_set(e, ERR_SERVICE,
		             "GCS kept the object with other hashes than the source's");
	u->dead = 1; /* finished or failed: nothing more to send */
	if (!rc && out)
		*out = obj;
	else
		gcs_object_free(&obj);
	return rc;
}
