/*
 * Unit tests of aws/s3: the object's path (virtual-host and path style,
 * keys encoded with '/' kept), the info read from GetObject's headers
 * (quotes off the ETag, x-amz-meta-*, a "null" version id), the plain-MD5
 * ETag test, the body streamed piece by piece to the sink, and NoSuchKey as
 * ERR_NOT_FOUND, against a fake aws_client_call (a weak symbol).
 */
#include "test.h"

#include "aws/client.h"
#include "aws/http.h"
#include "aws/s3.h"
#include "util/buf.h"

static const struct http_header answer_headers[] = {
    {"Content-Type", "application/gzip"},
    {"Content-Encoding", "gzip"},
    {"ETag", "\"5d41402abc4b2a76b9719d911017c592\""},
    {"x-amz-version-id", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"},
    {"Content-Length", "10"},
    {"x-amz-meta-Owner", "me"},
};

static struct {
	int no_such_key;
	char path[256];
	char prefix[64];
	char query[128];
	int had_sink;
} fake;

static struct http_header *copy_headers(size_t *n)
{
	size_t i, k = sizeof(answer_headers) / sizeof(answer_headers[0]);
	struct http_header *h = calloc(k, sizeof(*h));

	for (i = 0; h && i < k; i++) {
		h[i].name = strdup(answer_headers[i].name);
		h[i].value = strdup(answer_headers[i].value);
	}
	*n = k;
	return h;
}

__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	struct http_response resp;
	int rc = 0;

	(void)c;
	snprintf(fake.path, sizeof(fake.path), "%s", call->path);
	snprintf(fake.prefix, sizeof(fake.prefix), "%s", call->endpoint_prefix);
	snprintf(fake.query, sizeof(fake.query), "%s", call->query ? call->query : "");
	fake.had_sink = call->body_sink != NULL;
	buf_init(body, 0);
	if (fake.no_such_key)
		return err_set_aws(e, ERR_AWS, 404, "NoSuchKey", "rid",
		                   "The specified key does not exist.");
	http_response_init(&resp);
	resp.status = 200;
	resp.headers = copy_headers(&resp.n_headers);
	rc = call->body_sink(call->sink_ctx, &resp, "01234", 5, e);
	if (!rc)
		rc = call->body_sink(call->sink_ctx, &resp, "56789", 5, e);
	if (!rc && call->answer) {
		*call->answer = resp;
		return 0;
	}
	http_response_free(&resp);
	return rc;
}

__attribute__((weak)) const char *aws_client_region(const struct aws_client *c)
{
	(void)c;
	return "us-east-1";
}

static int collect(void *ctx, const struct s3_object_info *info, const void *data, size_t len,
                   struct err *e)
{
	(void)e;
	CHECK(info->content_type != NULL);
	return buf_append(ctx, data, len);
}

TEST_CASE(targets_virtual_host_and_path_style)
{
	struct buf prefix, path;
	struct err e;

	buf_init(&prefix, 0);
	buf_init(&path, 0);
	CHECK_INT(s3_object_target("src", "a dir/x+y é.txt", 0, &prefix, &path, &e), 0);
	CHECK_STR(buf_str(&prefix), "src.s3");
	CHECK_STR(buf_str(&path), "/a%20dir/x%2By%20%C3%A9.txt");
	buf_reset(&prefix);
	buf_reset(&path);
	CHECK_INT(s3_object_target("src", "k", 1, &prefix, &path, &e), 0);
	CHECK_STR(buf_str(&prefix), "s3");
	CHECK_STR(buf_str(&path), "/src/k");
	CHECK_INT(s3_object_target("src", "", 1, &prefix, &path, &e), ERR_INVALID);
	buf_free(&prefix);
	buf_free(&path);
}

TEST_CASE(path_style_with_a_configured_endpoint)
{
	struct err e;

	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_S3");
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	CHECK_INT(s3_uses_path_style("us-east-1", "src", &e), 0);
	CHECK_INT(s3_uses_path_style("us-east-1", "my.dotted.bucket", &e), 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000", 1);
	CHECK_INT(s3_uses_path_style("us-east-1", "src", &e), 1);
	unsetenv("AWS_ENDPOINT_URL_S3");
}

TEST_CASE(get_object_streams_and_reads_headers)
{
	struct s3_object_info info;
	unsigned char md5[16];
	struct buf got;
	struct err e;

	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000", 1);
	buf_init(&got, 0);
	fake.no_such_key = 0;
	CHECK_INT(s3_get_object(NULL, "src", "k 1", "v+1", collect, &got, &info, &e), 0);
	CHECK(fake.had_sink);
	CHECK_STR(fake.path, "/src/k%201");
	CHECK_STR(fake.query, "versionId=v%2B1");
	CHECK_STR(buf_str(&got), "0123456789");
	CHECK_STR(info.content_type, "application/gzip");
	CHECK_STR(info.content_encoding, "gzip");
	CHECK_STR(info.etag, "5d41402abc4b2a76b9719d911017c592");
	CHECK_STR(info.version_id, "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY");
	CHECK_INT(info.content_length, 10);
	CHECK_INT((long long)info.n_meta, 1);
	if (info.n_meta == 1) {
		CHECK_STR(info.meta[0].name, "owner");
		CHECK_STR(info.meta[0].value, "me");
	}
	CHECK_INT(s3_etag_md5(&info, md5), 1);
	CHECK_INT(md5[0], 0x5d);
	CHECK_INT(md5[15], 0x92);
	free(info.etag);
	info.etag = strdup("5d41402abc4b2a76b9719d911017c592-2");
	CHECK_INT(s3_etag_md5(&info, md5), 0);
	s3_object_info_free(&info);
	buf_free(&got);
	unsetenv("AWS_ENDPOINT_URL_S3");
}

TEST_CASE(no_such_key_is_not_found)
{
	struct s3_object_info info;
	struct buf got;
	struct err e;

	buf_init(&got, 0);
	fake.no_such_key = 1;
	CHECK_INT(s3_get_object(NULL, "src", "gone", NULL, collect, &got, &info, &e),
	          ERR_NOT_FOUND);
	CHECK_STR(e.aws_code, "NoSuchKey");
	CHECK(strstr(e.message, "s3://src/gone") != NULL);
	CHECK_INT((long long)got.len, 0);
	s3_object_info_free(&info);
	buf_free(&got);
}

int main(void)
{
	RUN(targets_virtual_host_and_path_style);
	RUN(path_style_with_a_configured_endpoint);
	RUN(get_object_streams_and_reads_headers);
	RUN(no_such_key_is_not_found);
	return TEST_DONE();
}
