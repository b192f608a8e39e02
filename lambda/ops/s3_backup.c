/* s3_backup: S3 -> GCS streamed copies; see s3_backup.h. */
#include "s3_backup.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/kms.h"
#include "../../aws/s3.h"
#include "../../gcp/gcs.h"
#include "../../gcp/oauth.h"
#include "../../util/crc32c.h"
#include "../../util/handoff.h"
#include "../config.h"
#include "../log.h"

#define MAX_GCS_METADATA 64
#define NOOP_SIGNAL      ERR_INTERNAL /* the sink's "already there" stop */
/* The bytes read ahead of the upload: S3 goes on downloading while a GCS
 * chunk is on its way (one more chunk of memory, never the object). */
#define READ_AHEAD   GCS_DEFAULT_CHUNK
#define UPLOAD_PIECE GCS_CHUNK_QUANTUM

/* The per-container state: built once, kept for the process's life. */
static struct {
	int ready;
	int have_skip;
	regex_t skip;
	struct gcp_credentials creds;
	struct gcp_token_source *ts;
	struct gcs_client *gcs;
} state;

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;

void s3_backup_reset(void)
{
	pthread_mutex_lock(&state_lock);
	if (state.have_skip)
		regfree(&state.skip);
	gcs_client_free(state.gcs);
	gcp_token_source_free(state.ts);
	gcp_credentials_free(&state.creds);
	memset(&state, 0, sizeof(state));
	pthread_mutex_unlock(&state_lock);
}

/* Decrypts and parses the key, compiles the regex: once per container. */
static int setup(struct service_context *ctx, struct err *e)
{
	struct service_config cfg = service_config_get();
	struct aws_client *aws;
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	int rc;

	if (state.ready)
		return 0;
	if (!cfg.gcs_bucket || !cfg.gc_credential)
		return err_set(e, ERR_INVALID, "s3-gcs-backup needs GCS_BUCKET and GC_CREDENTIAL");
	if (cfg.skip_key_regex) {
		if (regcomp(&state.skip, cfg.skip_key_regex, REG_EXTENDED | REG_NOSUB) != 0)
			return err_set(e, ERR_INVALID, "SKIP_KEY_REGEX is not a POSIX ERE");
		state.have_skip = 1;
	}
	aws = ctx->aws_get(ctx, e);
	if (!aws)
		return e ? e->code : ERR_INTERNAL;
	rc = kms_decrypt(aws, cfg.gc_credential, &plain, &plain_len, e);
	if (rc) {
		err_prefix(e, "GC_CREDENTIAL");
		return rc;
	}
	rc = gcp_credentials_parse((const char *)plain, plain_len, &state.creds, e);
	kms_plaintext_free(plain, plain_len);
	if (rc) {
		err_prefix(e, "GC_CREDENTIAL (decrypted)");
		return rc;
	}
	state.ts = gcp_token_source_new(&state.creds, e);
	if (!state.ts)
		return e ? e->code : ERR_INTERNAL;
	state.gcs = gcs_client_new(state.ts, e);
	if (!state.gcs)
		return e ? e->code : ERR_INTERNAL;
	state.ready = 1;
	log_fields_new(LOG_INFO,
	               json_pack("{s:s, s:s?, s:s?}", "gcsBucket", cfg.gcs_bucket, "projectId",
	                         cfg.project_id, "retryTopic", cfg.retry_sns_topic_arn),
	               "s3-gcs-backup ready: the service account %s", state.creds.client_email);
	return 0;
}

/* One object's copy. */
struct copy {
	const char *gcs_bucket;
	const struct event_s3_record *rec;
	struct s3_object_info *info;
	struct gcs_upload *upload;
	struct handoff *ahead; /* to the thread that feeds upload */
	EVP_MD_CTX *md5;       /* only when the S3 ETag is an MD5 to check against */
	uint32_t crc;
	long long bytes;
	int started;
	int noop;
};

static void to_base64(const unsigned char *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* 1 when the GCS object holds this S3 object's content already. */
static int already_there(const struct gcs_object *o, const struct s3_object_info *info)
{
	unsigned char md5[16];
	char b64[32];
	const char *etag;

	if (!info->etag)
		return 0;
	if (s3_etag_md5(info, md5) && o->md5_hash) {
		to_base64(md5, 16, b64);
		return strcmp(b64, o->md5_hash) == 0;
	}
	etag = gcs_object_metadata(o, "s3-etag");
	return etag && o->crc32c && strcmp(etag, info->etag) == 0;
}

/* The upload thread's sink: the bytes, in order, into the resumable upload. */
static int upload_piece(void *ctx, const void *data, size_t len, struct err *e)
{
	struct copy *c = ctx;

	return gcs_upload_write(c->upload, data, len, e);
}

/* Checks GCS, then starts the upload and the thread feeding it: on the
 * first piece (or after an empty object). */
static int begin(struct copy *c, struct err *e)
{
	struct gcs_metadata meta[MAX_GCS_METADATA];
	const struct s3_object_info *info = c->info;
	struct gcs_object_spec spec;
	struct gcs_object found;
	size_t n = 0, i;
	int rc;

	c->started = 1;
	{
		unsigned char etag_md5[16];

		/* A multipart ETag is no MD5 of the bytes: nothing to check one against. */
		if (!s3_etag_md5(info, etag_md5)) {
			EVP_MD_CTX_free(c->md5);
			c->md5 = NULL;
		}
	}
	memset(&found, 0, sizeof(found));
	rc = gcs_object_get(state.gcs, c->gcs_bucket, c->rec->key, &found, e);
	if (rc == 0 && already_there(&found, info)) {
		gcs_object_free(&found);
		c->noop = 1;
		return NOOP_SIGNAL;
	}
	gcs_object_free(&found);
	if (rc && rc != ERR_NOT_FOUND)
		return rc;
	for (i = 0; i < info->n_meta && n < MAX_GCS_METADATA - 2; i++)
		meta[n++] = (struct gcs_metadata){info->meta[i].name, info->meta[i].value};
	if (info->etag)
		meta[n++] = (struct gcs_metadata){"s3-etag", info->etag};
	if (info->version_id)
		meta[n++] = (struct gcs_metadata){"s3-version-id", info->version_id};
	memset(&spec, 0, sizeof(spec));
	spec.bucket = c->gcs_bucket;
	spec.name = c->rec->key;
	spec.content_type = info->content_type;
	spec.content_encoding = info->content_encoding;
	spec.metadata = meta;
	spec.n_metadata = n;
	/* S3's Content-Length (-1 when absent): GCS then refuses a short or a
	 * long upload too, and the last chunk carries the hashes */
	spec.size = info->content_length;
	rc = gcs_upload_start(state.gcs, &spec, NULL, &c->upload, e);
	if (rc)
		return rc;
	return handoff_start(READ_AHEAD, UPLOAD_PIECE, upload_piece, c, &c->ahead, e);
}

static int on_piece(void *ctx, const struct s3_object_info *info, const void *data, size_t len,
                    struct err *e)
{
	struct copy *c = ctx;
	int rc;

	(void)info;
	if (!c->started) {
		rc = begin(c, e);
		if (rc)
			return rc;
	}
	c->crc = crc32c_update(c->crc, data, len);
	if (c->md5 && EVP_DigestUpdate(c->md5, data, len) != 1)
		return err_set(e, ERR_INTERNAL, "MD5 failed");
	c->bytes += (long long)len;
	return handoff_write(c->ahead, data, len, e);
}

/* The copy of one record: "copied", "unchanged", "gone", or a failure. */
static int copy_one(struct service_context *ctx, const char *gcs_bucket,
                    const struct event_s3_record *rec, const char **outcome, struct err *e)
{
	struct s3_object_info info;
	struct copy c;
	unsigned char md5[16], etag_md5[16];
	unsigned int md5_len = 0;
	char crc_b64[CRC32C_BASE64_LEN + 1], md5_b64[32];
	int rc, plain_md5;
	struct aws_client *aws = ctx->aws_get(ctx, e);

	if (!aws)
		return e ? e->code : ERR_INTERNAL;
	memset(&c, 0, sizeof(c));
	c.gcs_bucket = gcs_bucket;
	c.rec = rec;
	c.info = &info;
	c.md5 = EVP_MD_CTX_new();
	if (!c.md5 || EVP_DigestInit_ex(c.md5, EVP_md5(), NULL) != 1) {
		EVP_MD_CTX_free(c.md5);
		return err_set(e, ERR_NOMEM, "MD5 context");
	}
	rc = s3_get_object(aws, rec->bucket, rec->key, rec->version_id, on_piece, &c, &info, e);
	if (rc && c.noop) {
		rc = 0;
		*outcome = "unchanged";
		goto out;
	}
	if (rc == ERR_NOT_FOUND) {
		*outcome = "gone";
		rc = 0;
		goto out;
	}
	if (!rc && !c.started) {
		rc = begin(&c, e);
		if (rc == NOOP_SIGNAL && c.noop) {
			rc = 0;
			*outcome = "unchanged";
			goto out;
		}
	}
	if (rc)
		goto out;
	plain_md5 = s3_etag_md5(&info, etag_md5);
	if (plain_md5 && (!c.md5 || EVP_DigestFinal_ex(c.md5, md5, &md5_len) != 1)) {
		rc = err_set(e, ERR_INTERNAL, "MD5 failed");
		goto out;
	}
	if (plain_md5 && memcmp(md5, etag_md5, 16) != 0) {
		rc =
		    err_set(e, ERR_INVALID,
		            "the bytes read do not match the S3 ETag's MD5 (corrupted in transit)");
		goto out;
	}
	if (info.content_length >= 0 && c.bytes != info.content_length) {
		rc = err_set(e, ERR_INVALID, "read %lld bytes of %lld", c.bytes,
		             info.content_length);
		goto out;
	}
	rc = handoff_finish(c.ahead, e); /* every byte in the upload; the thread gone */
	if (rc)
		goto out;
	crc32c_base64(c.crc, crc_b64);
	if (plain_md5)
		to_base64(etag_md5, 16, md5_b64);
	rc = gcs_upload_finish(c.upload, crc_b64, plain_md5 ? md5_b64 : NULL, NULL, e);
	if (!rc)
		*outcome = "copied";
out:
	handoff_free(c.ahead); /* first: its thread may still be writing to the upload */
	gcs_upload_free(c.upload);
	EVP_MD_CTX_free(c.md5);
	s3_object_info_free(&info);
	return rc;
}

static json_t *record_fields(const struct event_s3_record *r)
{
	return json_pack("{s:s, s:s, s:s?, s:s?}", "bucket", r->bucket, "key", r->key, "versionId",
	                 r->version_id, "sqsMessageId", r->sqs_message_id);
}

static int add_failure(json_t *failures, const char *msg_id)
{
	size_t i;
	json_t *v;

	json_array_foreach(failures, i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "itemIdentifier")), msg_id) == 0)
			return 0;
	}
	return json_array_append_new(failures, json_pack("{s:s}", "itemIdentifier", msg_id));
}

int s3_backup_run(struct service_context *ctx, const struct event *ev, json_t **doc, size_t *failed,
                  struct err *e)
{
	struct service_config cfg = service_config_get();
	json_int_t copied = 0, unchanged = 0, skipped = 0, gone = 0;
	json_t *failures = json_array();
	int rc, via_sqs = 0;
	size_t i;

	*doc = NULL;
	*failed = 0;
	if (!failures)
		return err_set(e, ERR_NOMEM, "out of memory");
	pthread_mutex_lock(&state_lock);
	rc = setup(ctx, e);
	for (i = 0; !rc && i < ev->n_s3_records; i++) {
		const struct event_s3_record *r = &ev->s3_records[i];
		const char *outcome = "failed";
		struct err re;

		via_sqs |= r->sqs_message_id != NULL;
		if (state.have_skip && regexec(&state.skip, r->key, 0, NULL, 0) == 0) {
			skipped++;
			log_fields_new(LOG_INFO, record_fields(r),
			               "s3-gcs-backup: skipped by SKIP_KEY_REGEX");
			continue;
		}
		err_clear(&re);
		if (copy_one(ctx, cfg.gcs_bucket, r, &outcome, &re) != 0) {
			(*failed)++;
			if (r->sqs_message_id && add_failure(failures, r->sqs_message_id)) {
				rc = err_set(e, ERR_NOMEM, "out of memory");
				break;
			}
			log_fields_new(LOG_ERROR, record_fields(r), "s3-gcs-backup: failed: %s",
			               re.message);
			continue;
		}
		if (strcmp(outcome, "copied") == 0)
			copied++;
		else if (strcmp(outcome, "unchanged") == 0)
			unchanged++;
		else
			gone++;
		log_fields_new(
		    strcmp(outcome, "gone") == 0 ? LOG_WARN : LOG_INFO, record_fields(r),
		    "s3-gcs-backup: %s%s", outcome,
		    strcmp(outcome, "gone") == 0 ? " (NoSuchKey: deleted since the event)" : "");
	}
	pthread_mutex_unlock(&state_lock);
	if (rc) {
		json_decref(failures);
		return rc;
	}
	*doc = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "workflow", S3_BACKUP_WORKFLOW, "copied",
	                 copied, "unchanged", unchanged, "skipped", skipped, "gone", gone, "failed",
	                 (json_int_t)*failed);
	if (*doc && via_sqs)
		json_object_set(*doc, "batchItemFailures", failures);
	json_decref(failures);
	if (!*doc)
		return err_set(e, ERR_NOMEM, "out of memory");
	return 0;
}
