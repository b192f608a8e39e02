/*
 * s3: S3 GetObject streamed to the caller's sink (signing name "s3",
 * endpoint id S3, REST-XML errors).
 *
 * The body is never held whole: each piece curl reads (at most 16 KiB) goes
 * to the sink as it arrives, with the object's info (s3_object_info) filled
 * from the answer's headers before the first piece. Addressing: virtual-host
 * (https://{bucket}.s3.{region}.amazonaws.com/{key}) for the default
 * endpoint and DNS-compatible bucket names without dots; path style
 * ({endpoint}/{bucket}/{key}) when an endpoint is configured
 * (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's; moto and other
 * doubles need it) or the name does not fit a host label. Keys are
 * percent-encoded with '/' kept; the path is signed as sent.
 *
 * Errors: ERR_NOT_FOUND (aws_code "NoSuchKey", or "NoSuchBucket") when the
 * object or bucket is gone: a caller treats it as final, not as a retry;
 * ERR_AWS for other AWS errors (AccessDenied, ...); the sink's own error
 * when it stops the copy; what aws_client_call returns otherwise. A failure
 * after the sink had a byte is not retried (aws/client.h). The exchange may
 * last up to 15 minutes (the body streams as fast as the sink takes it),
 * not the client's per-attempt timeout.
 */
#ifndef EBSSH_AWS_S3_H
#define EBSSH_AWS_S3_H

#include <stddef.h>

#include "../util/buf.h"
#include "../util/err.h"

struct aws_client;
struct http_header;

struct s3_meta {
	char *name;  /* owned: the x-amz-meta-* header without the prefix, lowercase */
	char *value; /* owned */
};

struct s3_object_info {
	char *content_type;       /* owned; NULL when the answer had none */
	char *content_encoding;   /* owned; NULL when none */
	char *etag;               /* owned, without its quotes; NULL when none */
	char *version_id;         /* owned (x-amz-version-id); NULL when none or "null" */
	long long content_length; /* -1 when unknown */
	struct s3_meta *meta;     /* owned array */
	size_t n_meta;
};

/* Takes one piece of the body; info is filled. Returns 0 or a negative
 * error code with e filled (the copy stops). */
typedef int (*s3_sink_fn)(void *ctx, const struct s3_object_info *info, const void *data,
                          size_t len, struct err *e);

void s3_object_info_init(struct s3_object_info *info);
void s3_object_info_free(struct s3_object_info *info);

/* Fills info from an answer's headers (info freed and refilled). */
int s3_object_info_from_headers(const struct http_header *h, size_t n, struct s3_object_info *info,
                                struct err *e);

/* 1 with md5 filled when the ETag is a plain MD5 (32 hex digits: not a
 * multipart "...-N" or an SSE-KMS one we cannot tell), else 0. */
int s3_etag_md5(const struct s3_object_info *info, unsigned char md5[16]);

/* The endpoint prefix and path of an object: virtual-host ("{bucket}.s3",
 * "/{key}") or path style ("s3", "/{bucket}/{key}"); key percent-encoded.
 * path_style: 1 to force path style. */
int s3_object_target(const char *bucket, const char *key, int path_style, struct buf *prefix,
                     struct buf *path, struct err *e);

/* 1 when calls in region go to a configured endpoint (path style), 0 for
 * AWS's own; negative on error. */
int s3_uses_path_style(const char *region, const char *bucket, struct err *e);

/*
 * GetObject of bucket/key (version_id: NULL for the latest), streamed to
 * sink; info (initialised here) holds the object's info on return (also on
 * failure once the headers came). The caller frees info.
 */
int s3_get_object(struct aws_client *c, const char *bucket, const char *key, const char *version_id,
                  s3_sink_fn sink, void *ctx, struct s3_object_info *info, struct err *e);

#endif
