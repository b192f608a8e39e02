/* s3: GetObject streamed to a sink; see s3.h. */
#include "s3.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "endpoint.h"
#include "http.h"
#include "uri.h"

#define META_PREFIX "x-amz-meta-"
/* A streamed body takes as long as the consumer does (the GCS upload):
 * the client's per-attempt timeout (7 s) would cut big objects, so the
 * exchange may last up to Lambda's longest run; the function's own timeout
 * ends it first. */
#define GET_TIMEOUT_MS (15L * 60 * 1000)

void s3_object_info_init(struct s3_object_info *info)
{
	memset(info, 0, sizeof(*info));
	info->content_length = -1;
}

void s3_object_info_free(struct s3_object_info *info)
{
	size_t i;

	if (!info)
		return;
	free(info->content_type);
	free(info->content_encoding);
	free(info->etag);
	free(info->version_id);
	for (i = 0; i < info->n_meta; i++) {
		free(info->meta[i].name);
		free(info->meta[i].value);
	}
	free(info->meta);
	s3_object_info_init(info);
}

static int dup_to(char **dst, const char *s, size_t n)
{
	free(*dst);
	*dst = strndup(s, n);
	return *dst ? 0 : ERR_NOMEM;
}

int s3_object_info_from_headers(const struct http_header *h, size_t n, struct s3_object_info *info,
                                struct err *e)
{
	size_t i, plen = strlen(META_PREFIX);
	int rc = 0;

	s3_object_info_free(info);
	for (i = 0; i < n && !rc; i++) {
		const char *name = h[i].name, *v = h[i].value;
		size_t vl = strlen(v);

		if (strcasecmp(name, "Content-Type") == 0) {
			rc = dup_to(&info->content_type, v, vl);
		} else if (strcasecmp(name, "Content-Encoding") == 0) {
			rc = dup_to(&info->content_encoding, v, vl);
		} else if (strcasecmp(name, "ETag") == 0) {
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
				rc = dup_to(&info->etag, v + 1, vl - 2);
			else
				rc = dup_to(&info->etag, v, vl);
		} else if (strcasecmp(name, "x-amz-version-id") == 0) {
			if (strcmp(v, "null") != 0)
				rc = dup_to(&info->version_id, v, vl);
		} else if (strcasecmp(name, "Content-Length") == 0) {
			char *end;
			long long len = strtoll(v, &end, 10);

			if (end != v && *end == '\0' && len >= 0)
				info->content_length = len;
		} else if (strncasecmp(name, META_PREFIX, plen) == 0 && name[plen]) {
			struct s3_meta *grown =
			    realloc(info->meta, (info->n_meta + 1) * sizeof(*grown));
			char *mn, *mv, *p;

			if (!grown) {
				rc = ERR_NOMEM;
				break;
			}
			info->meta = grown;
			mn = strdup(name + plen);
			mv = strdup(v);
			if (!mn || !mv) {
				free(mn);
				free(mv);
				rc = ERR_NOMEM;
				break;
			}
			for (p = mn; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			info->meta[info->n_meta].name = mn;
			info->meta[info->n_meta].value = mv;
			info->n_meta++;
		}
	}
	if (rc)
		return err_set(e, rc, "out of memory");
	return 0;
}

int s3_etag_md5(const struct s3_object_info *info, unsigned char md5[16])
{
	size_t i;

	if (!info->etag || strlen(info->etag) != 32)
		return 0;
	for (i = 0; i < 32; i++)
		if (uri_hex_value(info->etag[i]) < 0)
			return 0;
	for (i = 0; i < 16; i++)
		md5[i] = (unsigned char)(uri_hex_value(info->etag[2 * i]) << 4 |
		                         uri_hex_value(info->etag[2 * i + 1]));
	return 1;
}

/* 1 when bucket can be a host label: 3 to 63 of a-z 0-9 '-', no dots. */
static int dns_compatible(const char *bucket)
{
	size_t n = strlen(bucket), i;

	if (n < 3 || n > 63 || bucket[0] == '-' || bucket[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)bucket[i]) || isdigit((unsigned char)bucket[i]) ||
		      bucket[i] == '-'))
			return 0;
	return 1;
}

int s3_uses_path_style(const char *region, const char *bucket, struct err *e)
{
	char *base = NULL;
	char want[160];
	int rc;

	if (!dns_compatible(bucket))
		return 1;
	rc = endpoint_url("S3", "s3", region, &base, e);
	if (rc)
		return rc;
	snprintf(want, sizeof(want), "https://s3.%s.amazonaws.com%s", region,
	         strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
	rc = strcmp(base, want) != 0;
	free(base);
	return rc;
}

int s3_object_target(const char *bucket, const char *key, int path_style, struct buf *prefix,
                     struct buf *path, struct err *e)
{
	int rc;

	if (!bucket || !*bucket || !key || !*key)
		return err_set(e, ERR_INVALID, "S3: no bucket or key");
	if (path_style) {
		rc = buf_append_str(prefix, "s3");
		if (!rc)
			rc = buf_append_str(path, "/");
		if (!rc)
			rc = uri_encode(path, bucket, strlen(bucket), 0);
	} else {
		rc = buf_appendf(prefix, "%s.s3", bucket);
	}
	if (!rc)
		rc = buf_append_str(path, "/");
	if (!rc)
		rc = uri_encode(path, key, strlen(key), 1);
	if (rc)
		return err_set(e, rc, "S3: the object's path is too long");
	return 0;
}

struct get_ctx {
	s3_sink_fn sink;
	void *ctx;
	struct s3_object_info *info;
	int have_info;
};

static int on_piece(void *ctx, const struct http_response *resp, const void *data, size_t len,
                    struct err *e)
{
	struct get_ctx *g = ctx;
	int rc;

	if (!g->have_info) {
		rc = s3_object_info_from_headers(resp->headers, resp->n_headers, g->info, e);
		if (rc)
			return rc;
		g->have_info = 1;
	}
	return g->sink(g->ctx, g->info, data, len, e);
}

int s3_get_object(struct aws_client *c, const char *bucket, const char *key, const char *version_id,
                  s3_sink_fn sink, void *ctx, struct s3_object_info *info, struct err *e)
{
	struct get_ctx g = {sink, ctx, info, 0};
	struct buf prefix, path, query, body;
	struct http_response answer;
	struct aws_call call;
	int rc, path_style;

	s3_object_info_init(info);
	buf_init(&prefix, 512);
	buf_init(&path, (size_t)8 << 10);
	buf_init(&query, (size_t)4 << 10);
	buf_init(&body, 0);
	http_response_init(&answer);
	path_style = s3_uses_path_style(aws_client_region(c), bucket ? bucket : "", e);
	rc = path_style < 0 ? path_style
	                    : s3_object_target(bucket, key, path_style, &prefix, &path, e);
	if (rc)
		goto out;
	if (version_id && *version_id) {
		rc = buf_append_str(&query, "versionId=");
		if (!rc)
			rc = uri_encode(&query, version_id, strlen(version_id), 0);
		if (rc) {
			err_set(e, rc, "S3: the version id is too long");
			goto out;
		}
	}
	memset(&call, 0, sizeof(call));
	call.service = "s3";
	call.endpoint_id = "S3";
	call.endpoint_prefix = prefix.data;
	call.protocol = AWS_PROTOCOL_QUERY; /* REST-XML: errors are <Error><Code> */
	call.method = "GET";
	call.path = path.data;
	call.query = query.len ? query.data : NULL;
	call.body_sink = on_piece;
	call.sink_ctx = &g;
	call.answer = &answer;
	call.timeout_ms = GET_TIMEOUT_MS;
	call.budget_ms = GET_TIMEOUT_MS;
	rc = aws_client_call(c, &call, &body, e);
	if (rc == ERR_AWS && e &&
	    (strcmp(e->aws_code, "NoSuchKey") == 0 || strcmp(e->aws_code, "NoSuchBucket") == 0))
		e->code = rc = ERR_NOT_FOUND;
	if (rc) {
		err_prefix(e, "S3 GetObject s3://%s/%s", bucket, key);
		goto out;
	}
	if (!g.have_info)
		rc = s3_object_info_from_headers(answer.headers, answer.n_headers, info, e);
out:
	http_response_free(&answer);
	buf_free(&body);
	buf_free(&query);
	buf_free(&path);
	buf_free(&prefix);
	return rc;
}
