/*
 * gcs_put: a test driver for gcp/: uploads stdin to GCS (the endpoint of
 * $STORAGE_EMULATOR_HOST, the double) with a resumable upload, the CRC32C
 * and MD5 computed while reading, then reads the object's metadata back.
 *
 *   gcs_put KEY_FILE BUCKET NAME [CHUNK_BYTES] [--bad-crc] [--size=N]
 *
 * CHUNK_BYTES 0 is the default chunk; --size=N announces the total (else
 * the size is unknown to the upload).
 * Prints "ok SIZE CRC32C MD5 GENERATION RESUMES FETCHES" and exits 0, or
 * "error CODE HTTP_STATUS MESSAGE" and exits 1; 2 on bad usage.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/http.h"
#include "gcp/gcs.h"
#include "gcp/oauth.h"
#include "util/crc32c.h"

static int fail(const struct err *e)
{
	printf("error %s %ld %s\n", err_code_name(e->code), e->http_status, e->message);
	return 1;
}

int main(int argc, char **argv)
{
	struct gcs_upload_options opt = {0, 0, 50, 0};
	struct gcs_object_spec spec = {0};
	struct gcp_credentials cred;
	struct gcp_token_source *ts = NULL;
	struct gcs_client *c = NULL;
	struct gcs_upload *u = NULL;
	struct gcs_object obj, back;
	unsigned char md5[EVP_MAX_MD_SIZE], md5_b64[32], data[65536];
	char crc_b64[CRC32C_BASE64_LEN + 1], *key;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned md5_len = 0;
	uint32_t crc = 0;
	struct err e;
	size_t n, key_len = 0;
	int rc, bad_crc = 0, i;
	long long size = -1;
	FILE *f;

	if (argc < 4 || !md)
		return 2;
	if (argc > 4)
		opt.chunk_size = strtoul(argv[4], NULL, 10);
	for (i = 5; i < argc; i++) {
		if (strcmp(argv[i], "--bad-crc") == 0)
			bad_crc = 1;
		else if (strncmp(argv[i], "--size=", 7) == 0)
			size = strtoll(argv[i] + 7, NULL, 10);
		else
			return 2;
	}
	err_clear(&e);
	f = fopen(argv[1], "rb");
	key = f ? malloc(1 << 16) : NULL;
	if (!key || (key_len = fread(key, 1, 1 << 16, f)) == 0)
		return 2;
	fclose(f);
	if (http_global_init(&e) || gcp_credentials_parse(key, key_len, &cred, &e))
		return fail(&e);
	free(key);
	ts = gcp_token_source_new(&cred, &e);
	gcp_credentials_free(&cred);
	if (!ts || !(c = gcs_client_new(ts, &e)))
		return fail(&e);
	spec.bucket = argv[2];
	spec.name = argv[3];
	spec.content_type = "application/octet-stream";
	spec.size = size;
	EVP_DigestInit_ex(md, EVP_md5(), NULL);
	rc = gcs_upload_start(c, &spec, &opt, &u, &e);
	while (!rc && (n = fread(data, 1, sizeof(data), stdin)) > 0) {
		crc = crc32c_update(crc, data, n);
		EVP_DigestUpdate(md, data, n);
		rc = gcs_upload_write(u, data, n, &e);
	}
	EVP_DigestFinal_ex(md, md5, &md5_len);
	EVP_MD_CTX_free(md);
	EVP_EncodeBlock(md5_b64, md5, (int)md5_len);
	crc32c_base64(crc ^ (bad_crc ? 1u : 0u), crc_b64);
	if (!rc)
		rc = gcs_upload_finish(u, crc_b64, (char *)md5_b64, &obj, &e);
	if (!rc) {
		rc = gcs_object_get(c, argv[2], argv[3], &back, &e);
		if (!rc)
			printf("ok %lld %s %s %s %u %u\n", back.size, back.crc32c, back.md5_hash,
			       back.generation, gcs_upload_resumes(u), gcp_token_fetches(ts));
		gcs_object_free(&back);
		gcs_object_free(&obj);
	}
	gcs_upload_free(u);
	gcs_client_free(c);
	gcp_token_source_free(ts);
	http_global_cleanup();
	return rc ? fail(&e) : 0;
}
