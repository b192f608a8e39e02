/*
 * gcs: Google Cloud Storage's JSON API, the two calls a backup needs.
 *
 * A gcs_client holds the endpoint ($STORAGE_EMULATOR_HOST, "http://host:port"
 * or "host:port" as Google's clients accept it, else
 * https://storage.googleapis.com), one libcurl handle (aws/http.h) and a
 * borrowed token source (gcp/oauth.h). Not thread-safe: one per thread.
 *
 * Resumable upload (uploadType=resumable): gcs_upload_start POSTs the object
 * resource (name, contentType, contentEncoding, metadata, and crc32c/md5Hash
 * when already known) and keeps the session URI of the Location header.
 * gcs_upload_write takes bytes of any size and keeps at most one chunk
 * (chunk_size, a multiple of 256 KiB) buffered; a full chunk is PUT with
 * Content-Range "bytes a-b/" and the total (a star when the size is
 * unknown), and is dropped only once GCS acknowledged it (308 with Range:
 * bytes=0-b). When the size is known, the chunk that reaches it is the last
 * request (GCS finishes the object on it): it stays buffered for
 * gcs_upload_finish, whatever its length, and more bytes than the size are
 * refused. On a 5xx, 429 or a transport
 * failure the upload asks GCS where it stands (an empty PUT whose
 * Content-Range is "bytes " a star "/" and the total or a star) and resends
 * from the offset GCS reports, not from the start; on a 401 it renews the
 * token once. gcs_upload_finish PUTs the rest (possibly nothing: "bytes "
 * a star "/total", as for an empty object) with the total size and, in an
 * X-Goog-Hash header, the crc32c (and md5) the caller computed over the
 * source, so that GCS itself rejects a corrupt upload (400: a failure, never
 * a success). Memory: one chunk plus the answers, whatever the object size.
 *
 * gcs_object_get reads an object's metadata (GET .../b/{bucket}/o/{name}):
 * size, crc32c, md5Hash, custom metadata; for idempotency checks.
 *
 * Errors: ERR_NOT_FOUND for a 404, ERR_SERVICE with e->http_status for any
 * other answer GCS refused (its error message quoted), transport errors as
 * aws/http.h's after the retries.
 */
#ifndef EBSSH_GCP_GCS_H
#define EBSSH_GCP_GCS_H

#include <stddef.h>

#include "../util/err.h"
#include "oauth.h"

#define GCS_DEFAULT_ENDPOINT   "https://storage.googleapis.com"
#define GCS_CHUNK_QUANTUM      ((size_t)256 << 10) /* chunks are multiples of this */
#define GCS_DEFAULT_CHUNK      ((size_t)8 << 20)   /* 8 MiB */
#define GCS_DEFAULT_ATTEMPTS   6                   /* per chunk, the first included */
#define GCS_DEFAULT_BACKOFF_MS 200L                /* doubled per retry, capped at 5 s */

struct gcs_client;

/* A client with the endpoint of $STORAGE_EMULATOR_HOST or the default, and
 * ts (borrowed: it must outlive the client). NULL (e filled) on failure. */
struct gcs_client *gcs_client_new(struct gcp_token_source *ts, struct err *e);

/* Overrides the endpoint ("http://127.0.0.1:9023"; a trailing '/' dropped). */
int gcs_client_set_endpoint(struct gcs_client *c, const char *base, struct err *e);

/* The endpoint base in use, without a trailing '/'. */
const char *gcs_client_endpoint(const struct gcs_client *c);

/* Replaces the transport (NULL: libcurl); for tests. */
void gcs_client_set_seams(struct gcs_client *c, gcp_send_fn send, void *ctx);

void gcs_client_free(struct gcs_client *c);

struct gcs_metadata {
	const char *key;
	const char *value;
};

/* What to upload: every string borrowed for the call of gcs_upload_start. */
struct gcs_object_spec {
	const char *bucket;
	const char *name;
	const char *content_type;     /* NULL: GCS's default */
	const char *content_encoding; /* NULL: none */
	const struct gcs_metadata *metadata;
	size_t n_metadata;
	long long size;       /* total bytes, or -1 when unknown */
	const char *crc32c;   /* base64 big-endian when known at start, else NULL */
	const char *md5_hash; /* base64 when known at start, else NULL */
};

struct gcs_upload_options {
	size_t chunk_size; /* 0: GCS_DEFAULT_CHUNK; rounded up to GCS_CHUNK_QUANTUM */
	int max_attempts;  /* 0: GCS_DEFAULT_ATTEMPTS */
	long backoff_ms;   /* 0: GCS_DEFAULT_BACKOFF_MS; <0: no sleep (tests) */
	long timeout_ms;   /* per request; 0: 120 s */
};

/* An object's metadata as GCS answers it; every field owned, NULL when absent. */
struct gcs_object {
	char *bucket;
	char *name;
	char *generation;
	char *content_type;
	char *content_encoding;
	char *crc32c;   /* base64 big-endian */
	char *md5_hash; /* base64; absent for composite objects */
	long long size;
	struct gcs_object_kv {
		char *key;
		char *value;
	} * metadata;
	size_t n_metadata;
};

/* The custom metadata value of key, or NULL. */
const char *gcs_object_metadata(const struct gcs_object *o, const char *key);
void gcs_object_free(struct gcs_object *o);

/* GET the object's metadata into out (zeroed first). ERR_NOT_FOUND: no such
 * object (or bucket). */
int gcs_object_get(struct gcs_client *c, const char *bucket, const char *name,
                   struct gcs_object *out, struct err *e);

struct gcs_upload;

/* Starts a resumable session (POST .../upload/storage/v1/b/{bucket}/o
 * ?uploadType=resumable&name=...). opt may be NULL (the defaults). The
 * upload borrows c until gcs_upload_free. */
int gcs_upload_start(struct gcs_client *c, const struct gcs_object_spec *spec,
                     const struct gcs_upload_options *opt, struct gcs_upload **out, struct err *e);

/* The session URI (GCS's Location header). */
const char *gcs_upload_session_uri(const struct gcs_upload *u);

/* Appends data; every full chunk is sent (and retried/resumed) before this
 * returns. After a failure the upload is dead: only gcs_upload_free. */
int gcs_upload_write(struct gcs_upload *u, const void *data, size_t len, struct err *e);

/* Sends what is buffered as the last chunk with the total size, with
 * X-Goog-Hash: crc32c=<crc32c>[,md5=<md5_hash>] (either may be NULL: then
 * only what gcs_object_spec gave at start is checked). The final object's
 * metadata goes to out (may be NULL). */
int gcs_upload_finish(struct gcs_upload *u, const char *crc32c, const char *md5_hash,
                      struct gcs_object *out, struct err *e);

/* Bytes GCS acknowledged so far. */
long long gcs_upload_committed(const struct gcs_upload *u);

/* How many times a chunk was resent after a status query (tests, logs). */
unsigned gcs_upload_resumes(const struct gcs_upload *u);

/* Frees the upload (an unfinished session is left to expire at GCS). */
void gcs_upload_free(struct gcs_upload *u);

/* "bytes first-last/total" into out: total < 0 writes '*'; len == 0 writes
 * "bytes *\/total" (the status query, or an empty last chunk). */
void gcs_content_range(char *out, size_t cap, long long first, long long len, long long total);

#endif
