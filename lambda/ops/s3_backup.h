/*
 * s3_backup: the "s3-gcs-backup" workflow: every S3 object an ObjectCreated
 * event names is copied to a Google Cloud Storage bucket, streamed.
 *
 * Configuration (lambda/config.h): GCS_BUCKET (the target bucket),
 * GC_CREDENTIAL (the service-account JSON key, KMS-encrypted, base64),
 * SKIP_KEY_REGEX (POSIX ERE; matching keys are skipped with a log line),
 * RETRY_SNS_TOPIC_ARN and PROJECT_ID (the template's; read for the logs).
 * STORAGE_EMULATOR_HOST points gcp/gcs at an emulator; the token endpoint
 * is the key's token_uri.
 *
 * Per container, once: GC_CREDENTIAL is decrypted with KMS Decrypt, parsed
 * (gcp/oauth.h) and the plaintext wiped; the key lives in memory only (never
 * /tmp, never a log line); SKIP_KEY_REGEX is compiled. A failure there (KMS
 * AccessDenied, a bad key) fails the invocation and is tried again by the
 * next one.
 *
 * Per record: skipped by the regex; else unchanged when the GCS object
 * already has the same content (its md5Hash equals a plain-MD5 ETag, or its
 * s3-etag metadata equals the ETag: set only by a verified copy): a no-op;
 * else GetObject streams into a resumable upload (gcp/gcs.h), CRC32C and MD5
 * computed on the way. The final chunk carries the CRC32C and, when the
 * ETag is a plain MD5, that MD5 (the source's) so that GCS rejects a
 * corrupt copy; a local MD5 that differs from the ETag fails before the
 * upload is finished. Content-Type, Content-Encoding and x-amz-meta-* carry
 * over; the ETag and version id become the metadata s3-etag and
 * s3-version-id. NoSuchKey (the object was deleted since) is logged and
 * counts as done: retrying cannot help.
 *
 * Outcome: a record that failed fails the invocation (Lambda retries it, then
 * the retry topic); for an SQS batch the answer is Lambda's partial batch
 * response naming the messages with a failed record.
 */
#ifndef EBSSH_LAMBDA_S3_BACKUP_H
#define EBSSH_LAMBDA_S3_BACKUP_H

#include <jansson.h>

#include "../../util/err.h"
#include "../front/event.h"
#include "../service.h"

#define S3_BACKUP_WORKFLOW "s3-gcs-backup"

/*
 * Handles every record of an EVENT_S3 event. *doc receives the report
 * ({"workflow", "copied", "unchanged", "skipped", "gone", "failed", and
 * "batchItemFailures" for SQS}); *failed the number of failed records.
 * Returns 0 when the report was made (even with failed records), or a
 * negative code when nothing could start (not configured, KMS, the key).
 */
int s3_backup_run(struct service_context *ctx, const struct event *ev, json_t **doc, size_t *failed,
                  struct err *e);

/* Drops the per-container state (tests; the end of a process). */
void s3_backup_reset(void);

#endif
