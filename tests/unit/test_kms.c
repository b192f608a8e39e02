/*
 * Unit tests of aws/kms: the Decrypt request (protocol, target, body), the
 * answer's base64 Plaintext decoded, bad ciphertexts refused before any
 * call, and AWS's AccessDeniedException passed through, against a fake
 * aws_client_call (a weak symbol, as in test_logs.c).
 */
#include "test.h"

#include "aws/client.h"
#include "aws/kms.h"
#include "util/buf.h"

static struct {
	const char *answer; /* NULL: AccessDeniedException */
	int calls;
	char *body;
	struct aws_call last;
} fake;

__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	(void)c;
	fake.calls++;
	fake.last = *call;
	free(fake.body);
	fake.body = strndup(call->body, call->body_len);
	if (!fake.answer)
		return err_set_aws(e, ERR_AWS, 400, "AccessDeniedException", "rid-1",
		                   "User is not authorized to perform: kms:Decrypt");
	buf_init(body, 0);
	return buf_append_str(body, fake.answer);
}

TEST_CASE(decrypt_sends_json_11_and_decodes_plaintext)
{
	unsigned char *plain = NULL;
	size_t n = 0;
	struct err e;

	fake.answer = "{\"KeyId\":\"arn:aws:kms:us-east-1:123456789012:key/k\","
	              "\"Plaintext\":\"eyJ0eXBlIjoic2VydmljZV9hY2NvdW50In0=\","
	              "\"EncryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"}";
	fake.calls = 0;
	CHECK_INT(kms_decrypt(NULL, "  AQIDBA==\n", &plain, &n, &e), 0);
	CHECK_INT(fake.calls, 1);
	CHECK_STR(fake.last.service, "kms");
	CHECK_STR(fake.last.endpoint_id, "KMS");
	CHECK_STR(fake.last.target, "TrentService.Decrypt");
	CHECK_STR(fake.last.content_type, "application/x-amz-json-1.1");
	CHECK_STR(fake.last.method, "POST");
	CHECK(fake.last.protocol == AWS_PROTOCOL_JSON);
	CHECK_STR(fake.body, "{\"CiphertextBlob\":\"AQIDBA==\"}");
	CHECK_INT((long long)n, 26);
	CHECK(plain && memcmp(plain, "{\"type\":\"service_account\"}", 26) == 0);
	kms_plaintext_free(plain, n);
}

TEST_CASE(bad_ciphertext_is_refused_before_calling)
{
	unsigned char *plain = NULL;
	size_t n = 0;
	struct err e;

	fake.calls = 0;
	CHECK_INT(kms_decrypt(NULL, "not base64!", &plain, &n, &e), ERR_INVALID);
	CHECK_INT(kms_decrypt(NULL, "", &plain, &n, &e), ERR_INVALID);
	CHECK_INT(kms_decrypt(NULL, NULL, &plain, &n, &e), ERR_INVALID);
	CHECK_INT(fake.calls, 0);
	CHECK(plain == NULL);
}

TEST_CASE(access_denied_is_an_aws_error)
{
	unsigned char *plain = NULL;
	size_t n = 0;
	struct err e;

	fake.answer = NULL;
	CHECK_INT(kms_decrypt(NULL, "AQIDBA==", &plain, &n, &e), ERR_AWS);
	CHECK_STR(e.aws_code, "AccessDeniedException");
	CHECK(strstr(e.message, "KMS Decrypt") != NULL);
	CHECK(plain == NULL);
}

TEST_CASE(answers_without_base64_plaintext_are_parse_errors)
{
	static const char *const bad[] = {"{}", "{\"Plaintext\":3}", "{\"Plaintext\":\"@@@\"}",
	                                  "not json"};
	unsigned char *plain = NULL;
	size_t n = 0, i;
	struct err e;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(kms_parse_decrypt_response(bad[i], strlen(bad[i]), &plain, &n, &e),
		          ERR_PARSE);
		CHECK(plain == NULL);
	}
}

int main(void)
{
	RUN(decrypt_sends_json_11_and_decodes_plaintext);
	RUN(bad_ciphertext_is_refused_before_calling);
	RUN(access_denied_is_an_aws_error);
	RUN(answers_without_base64_plaintext_are_parse_errors);
	free(fake.body);
	return TEST_DONE();
}
