/*
 * kms: AWS KMS Decrypt (JSON 1.1 protocol, X-Amz-Target TrentService.Decrypt,
 * signing name "kms", endpoint id KMS).
 *
 * The ciphertext goes in as the base64 text AWS CLI's `aws kms encrypt
 * --output text --query CiphertextBlob` prints (whitespace around it is
 * ignored); the plaintext comes back as raw bytes in a buffer the caller
 * owns and must wipe (kms_plaintext_free does: OPENSSL_cleanse, then free).
 * The plaintext never appears in a message. Errors: ERR_INVALID for a
 * ciphertext that is not base64, ERR_AWS with AWS's code (AccessDeniedException,
 * InvalidCiphertextException, ...) from aws_client_call, ERR_PARSE for an
 * answer without a base64 Plaintext, ERR_NOMEM.
 */
#ifndef EBSSH_AWS_KMS_H
#define EBSSH_AWS_KMS_H

#include <stddef.h>

#include "../util/buf.h"
#include "../util/err.h"

#define KMS_MAX_CIPHERTEXT ((size_t)6144) /* KMS's CiphertextBlob limit */
#define KMS_MAX_PLAINTEXT  ((size_t)4096) /* KMS's Plaintext limit */

struct aws_client;

/* The Decrypt request body for ciphertext_b64: {"CiphertextBlob": "..."}. */
int kms_decrypt_request(const char *ciphertext_b64, struct buf *out, struct err *e);

/* The Plaintext of a Decrypt answer, decoded, in a new buffer (NUL-terminated
 * past *len). */
int kms_parse_decrypt_response(const char *json, size_t len, unsigned char **plaintext,
                               size_t *plain_len, struct err *e);

/* One Decrypt call. */
int kms_decrypt(struct aws_client *c, const char *ciphertext_b64, unsigned char **plaintext,
                size_t *plain_len, struct err *e);

/* Wipes and frees a plaintext; NULL is fine. */
void kms_plaintext_free(unsigned char *plaintext, size_t len);

#endif
