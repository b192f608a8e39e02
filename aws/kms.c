/* kms: KMS Decrypt; see kms.h. */
#include "kms.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "../util/b64.h"

#define KMS_TARGET       "TrentService.Decrypt"
#define KMS_CONTENT_TYPE "application/x-amz-json-1.1"

/* The text without leading and trailing white space: start and length. */
static const char *trim(const char *s, size_t *len)
{
	size_t n = strlen(s);

	while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	*len = n;
	return s;
}

int kms_decrypt_request(const char *ciphertext_b64, struct buf *out, struct err *e)
{
	const char *s;
	size_t n;
	json_t *root;
	char *text;
	int rc;

	if (!ciphertext_b64)
		return err_set(e, ERR_INVALID, "KMS Decrypt: no ciphertext");
	s = trim(ciphertext_b64, &n);
	if (n == 0 || n > (KMS_MAX_CIPHERTEXT + 2) / 3 * 4 || !b64_is_strict(s, n))
		return err_set(e, ERR_INVALID,
		               "KMS Decrypt: the ciphertext is not base64 "
		               "(of at most 6144 bytes)");
	root = json_pack("{s:s%}", "CiphertextBlob", s, n);
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (!text)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = buf_append_str(out, text);
	free(text);
	if (rc)
		return err_set(e, rc, "KMS Decrypt: cannot build the request");
	return 0;
}

int kms_parse_decrypt_response(const char *json, size_t len, unsigned char **plaintext,
                               size_t *plain_len, struct err *e)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr);
	json_t *p = root ? json_object_get(root, "Plaintext") : NULL;
	int rc;

	*plaintext = NULL;
	*plain_len = 0;
	if (!json_is_string(p)) {
		json_decref(root);
		return err_set(e, ERR_PARSE, "KMS Decrypt: the answer has no Plaintext");
	}
	rc = b64_decode(json_string_value(p), json_string_length(p), 0, KMS_MAX_PLAINTEXT,
	                plaintext, plain_len, e);
	/* the base64 text of the secret: wipe jansson's copy before freeing it */
	OPENSSL_cleanse((char *)json_string_value(p), json_string_length(p));
	json_decref(root);
	if (rc)
		return err_set(e, rc == ERR_NOMEM ? rc : ERR_PARSE,
		               "KMS Decrypt: the Plaintext is not base64");
	return 0;
}

int kms_decrypt(struct aws_client *c, const char *ciphertext_b64, unsigned char **plaintext,
                size_t *plain_len, struct err *e)
{
	struct aws_call call;
	struct buf req, answer;
	int rc;

	*plaintext = NULL;
	*plain_len = 0;
	buf_init(&req, (size_t)16 << 10);
	buf_init(&answer, 0);
	rc = kms_decrypt_request(ciphertext_b64, &req, e);
	if (rc)
		goto out;
	memset(&call, 0, sizeof(call));
	call.service = "kms";
	call.endpoint_id = "KMS";
	call.endpoint_prefix = "kms";
	call.protocol = AWS_PROTOCOL_JSON;
	call.method = "POST";
	call.path = "/";
	call.content_type = KMS_CONTENT_TYPE;
	call.target = KMS_TARGET;
	call.body = req.data;
	call.body_len = req.len;
	rc = aws_client_call(c, &call, &answer, e);
	if (rc) {
		err_prefix(e, "KMS Decrypt");
		goto out;
	}
	rc = kms_parse_decrypt_response(answer.data, answer.len, plaintext, plain_len, e);
out:
	if (answer.data)
		OPENSSL_cleanse(answer.data, answer.len);
	buf_free(&answer);
	buf_free(&req);
	return rc;
}

void kms_plaintext_free(unsigned char *plaintext, size_t len)
{
	if (!plaintext)
		return;
	OPENSSL_cleanse(plaintext, len);
	free(plaintext);
}
