/*
 * gcp: service-account parsing, the RS256 JWT (decoded and verified with
 * OpenSSL against a key generated here), the token cache (fake clock and
 * transport), Content-Range, and the resumable upload against a fake GCS
 * in this file (503 mid-upload, partial commits, resume from GCS's offset).
 */
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "gcp/gcs.h"
#include "gcp/oauth.h"
#include "util/crc32c.h"

#include "test.h"

static char *test_pem; /* a fresh RSA key's PKCS#8 PEM */
static EVP_PKEY *test_key;

static void make_key(void)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	test_key = EVP_RSA_gen(2048);
	PEM_write_bio_PrivateKey(bio, test_key, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(bio, &data);
	/* BIO memory is not NUL-terminated: copy by length (strndup would read
	 * past it looking for a NUL; ASan's strict_string_checks says so). */
	test_pem = n > 0 ? malloc((size_t)n + 1) : NULL;
	if (test_pem) {
		memcpy(test_pem, data, (size_t)n);
		test_pem[n] = '\0';
	}
	BIO_free(bio);
}

static char *key_json(const char *token_uri)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "service_account", "project_id",
	              "proj-1", "private_key_id", "kid-1", "private_key", test_pem, "client_email",
	              "backup@proj-1.iam.gserviceaccount.com", "token_uri", token_uri);
	char *s = json_dumps(o, 0);

	json_decref(o);
	return s;
}

/* base64url text -> bytes (malloc'd, NUL-terminated). */
static unsigned char *b64url_decode(const char *s, size_t n, size_t *out_len)
{
	char *std = malloc(n + 4);
	unsigned char *out = malloc(n + 4);
	size_t i, len = n;
	int got;

	for (i = 0; i < n; i++)
		std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (len % 4)
		std[len++] = '=';
	got = EVP_DecodeBlock(out, (unsigned char *)std, (int)len);
	free(std);
	*out_len = got < 0 ? 0 : (size_t)got - (n % 4 == 2 ? 2 : n % 4 == 3 ? 1 : 0);
	out[*out_len] = '\0';
	return out;
}

TEST_CASE(credentials_parse)
{
	struct gcp_credentials c;
	struct err e;
	char *json = key_json("http://127.0.0.1:1/token");

	CHECK_INT(gcp_credentials_parse(json, strlen(json), &c, &e), 0);
	CHECK_STR(c.client_email, "backup@proj-1.iam.gserviceaccount.com");
	CHECK_STR(c.token_uri, "http://127.0.0.1:1/token");
	CHECK_STR(c.project_id, "proj-1");
	CHECK_STR(c.private_key_id, "kid-1");
	CHECK(strncmp(c.private_key, "-----BEGIN PRIVATE KEY-----", 27) == 0);
	gcp_credentials_free(&c);
	free(json);

	json = "{\"type\":\"service_account\",\"client_email\":\"a@b\",\"private_key\":\"x\"}";
	CHECK_INT(gcp_credentials_parse(json, strlen(json), &c, &e), 0);
	CHECK_STR(c.token_uri, "https://oauth2.googleapis.com/token");
	gcp_credentials_free(&c);

	json = "{\"type\":\"service_account\",\"client_email\":\"a@b\"}";
	CHECK_INT(gcp_credentials_parse(json, strlen(json), &c, &e), ERR_INVALID);
	CHECK(strstr(e.message, "private_key") != NULL);
	json = "{\"type\":\"authorized_user\",\"client_email\":\"a@b\",\"private_key\":\"x\"}";
	CHECK_INT(gcp_credentials_parse(json, strlen(json), &c, &e), ERR_INVALID);
	json = "{\"private_key\": \"-----BEGIN secret";
	CHECK_INT(gcp_credentials_parse(json, strlen(json), &c, &e), ERR_INVALID);
	CHECK(strstr(e.message, "secret") == NULL);
}

TEST_CASE(jwt_shape_and_signature)
{
	struct gcp_credentials c;
	struct err e;
	char *json = key_json("https://oauth2.example/token"), *jwt = NULL;
	const char *dot1, *dot2;
	unsigned char *hdr, *claims, *sig;
	size_t hl, cl, sl;
	json_t *h, *cj;
	EVP_MD_CTX *md;

	CHECK_INT(gcp_credentials_parse(json, strlen(json), &c, &e), 0);
	CHECK_INT(gcp_jwt_assertion(&c, GCP_SCOPE_READ_WRITE, 1700000000LL, &jwt, &e), 0);
	CHECK(jwt != NULL);
	if (!jwt)
		return;
	CHECK(strchr(jwt, '=') == NULL && strchr(jwt, '+') == NULL && strchr(jwt, '/') == NULL);
	dot1 = strchr(jwt, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	CHECK(dot1 && dot2 && !strchr(dot2 + 1, '.'));
	if (!dot1 || !dot2)
		return;
	hdr = b64url_decode(jwt, (size_t)(dot1 - jwt), &hl);
	claims = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &cl);
	sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &sl);
	h = json_loadb((char *)hdr, hl, 0, NULL);
	cj = json_loadb((char *)claims, cl, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(h, "alg")), "RS256");
	CHECK_STR(json_string_value(json_object_get(h, "typ")), "JWT");
	CHECK_STR(json_string_value(json_object_get(h, "kid")), "kid-1");
	CHECK_STR(json_string_value(json_object_get(cj, "iss")),
	          "backup@proj-1.iam.gserviceaccount.com");
	CHECK_STR(json_string_value(json_object_get(cj, "scope")),
	          "https://www.googleapis.com/auth/devstorage.read_write");
	CHECK_STR(json_string_value(json_object_get(cj, "aud")), "https://oauth2.example/token");
	CHECK_INT(json_integer_value(json_object_get(cj, "iat")), 1700000000LL);
	CHECK_INT(json_integer_value(json_object_get(cj, "exp")), 1700003600LL);
	CHECK_INT(sl, 256);

	md = EVP_MD_CTX_new();
	CHECK_INT(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, test_key), 1);
	CHECK_INT(EVP_DigestVerify(md, sig, sl, (const unsigned char *)jwt, (size_t)(dot2 - jwt)),
	          1);
	EVP_MD_CTX_free(md);
	/* the signature covers the claims: one changed byte fails verification */
	jwt[dot1 - jwt + 3] ^= 1;
	md = EVP_MD_CTX_new();
	EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, test_key);
	CHECK(EVP_DigestVerify(md, sig, sl, (const unsigned char *)jwt, (size_t)(dot2 - jwt)) != 1);
	EVP_MD_CTX_free(md);

	json_decref(h);
	json_decref(cj);
	free(hdr);
	free(claims);
	free(sig);
	free(jwt);
	/* a key that is not PEM: a clear error, no key text in it */
	free(c.private_key);
	c.private_key = strdup("not a pem SECRETBYTES");
	CHECK_INT(gcp_jwt_assertion(&c, GCP_SCOPE_READ_WRITE, 1, &jwt, &e), ERR_CREDENTIALS);
	CHECK(strstr(e.message, "SECRETBYTES") == NULL);
	gcp_credentials_free(&c);
	free(json);
}

/* ---- a fake token endpoint and clock ---- */

struct fake_token {
	long long now;
	int calls;
	long status; /* answer status, 200 by default */
	char last_body[8192];
};

static long long fake_clock(void *ctx)
{
	return ((struct fake_token *)ctx)->now;
}

static int fake_token_send(void *ctx, const struct http_request *req, struct http_response *resp,
                           struct err *e)
{
	struct fake_token *f = ctx;
	char answer[128];

	(void)e;
	f->calls++;
	snprintf(f->last_body, sizeof(f->last_body), "%.*s", (int)req->body_len,
	         (const char *)req->body);
	resp->status = f->status ? f->status : 200;
	if (strcmp(req->method, "POST") != 0 || strcmp(req->url, "http://tok.test/token") != 0)
		resp->status = 404;
	if (resp->status == 200)
		snprintf(
		    answer, sizeof(answer),
		    "{\"access_token\":\"tok-%d\",\"expires_in\":3600,\"token_type\":\"Bearer\"}",
		    f->calls);
	else
		snprintf(answer, sizeof(answer),
		         "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT "
		         "Signature.\"}");
	return buf_append_str(&resp->body, answer);
}

TEST_CASE(token_cache)
{
	struct fake_token f = {1700000000LL, 0, 0, ""};
	struct gcp_credentials c;
	struct gcp_token_source *ts;
	struct err e;
	char *json = key_json("http://tok.test/token"), *tok = NULL;

	CHECK_INT(gcp_credentials_parse(json, strlen(json), &c, &e), 0);
	ts = gcp_token_source_new(&c, &e);
	gcp_credentials_free(&c); /* the source keeps its own copy */
	CHECK(ts != NULL);
	if (!ts)
		return;
	gcp_token_source_set_seams(ts, fake_token_send, fake_clock, &f);
	CHECK_INT(gcp_token_get(ts, &tok, &e), 0);
	CHECK_STR(tok, "tok-1");
	free(tok);
	CHECK(strncmp(f.last_body,
	              "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=",
	              75) == 0);
	f.now += 3000; /* still more than 60 s left: cached */
	CHECK_INT(gcp_token_get(ts, &tok, &e), 0);
	CHECK_STR(tok, "tok-1");
	free(tok);
	CHECK_INT(f.calls, 1);
	f.now += 541; /* 59 s before expiry: renewed */
	CHECK_INT(gcp_token_get(ts, &tok, &e), 0);
	CHECK_STR(tok, "tok-2");
	free(tok);
	gcp_token_invalidate(ts);
	CHECK_INT(gcp_token_get(ts, &tok, &e), 0);
	CHECK_STR(tok, "tok-3");
	free(tok);
	CHECK_INT(gcp_token_fetches(ts), 3);

	gcp_token_invalidate(ts);
	f.status = 400;
	CHECK_INT(gcp_token_get(ts, &tok, &e), ERR_CREDENTIALS);
	CHECK(tok == NULL);
	CHECK_INT(e.http_status, 400);
	CHECK(strstr(e.message, "invalid_grant") != NULL);
	CHECK(strstr(e.message, "eyJ") == NULL); /* never the assertion */
	gcp_token_source_free(ts);
	free(json);
}

TEST_CASE(content_range)
{
	char r[64];

	gcs_content_range(r, sizeof(r), 0, 262144, -1);
	CHECK_STR(r, "bytes 0-262143/*");
	gcs_content_range(r, sizeof(r), 262144, 100, 262244);
	CHECK_STR(r, "bytes 262144-262243/262244");
	gcs_content_range(r, sizeof(r), 0, 0, -1);
	CHECK_STR(r, "bytes */*");
	gcs_content_range(r, sizeof(r), 524288, 0, 524288);
	CHECK_STR(r, "bytes */524288");
	gcs_content_range(r, sizeof(r), 0, 0, 0);
	CHECK_STR(r, "bytes */0");
}

/* ---- a fake GCS: one resumable session, faults on demand ---- */

struct fake_gcs {
	struct fake_token tok;
	struct gcp_token_source *ts;
	unsigned char *data; /* what GCS committed */
	long long committed;
	int puts, queries, fail_put; /* fail_put: the PUT number answered 503 */
	int partial_put;             /* this PUT commits only its first quantum */
	int done;
	int unknown_size;        /* run_upload: spec.size -1 */
	long long session_total; /* X-Upload-Content-Length, else -1 */
	char final_range[64];    /* the Content-Range of the request that finished */
	size_t chunk;            /* the upload's chunk size; 0: 256 KiB */
	int expire_at_put;       /* from this PUT on, the first token ("tok-1") gets 401 */
	char start_body[2048];
	char last_hash[256];
	char expect_crc[16];
};

static int fake_gcs_send(void *ctx, const struct http_request *req, struct http_response *resp,
                         struct err *e)
{
	struct fake_gcs *g = ctx;
	const char *range = NULL, *hash = NULL, *auth = NULL;
	long long first, last, total = -1;
	char tot[32], hdr[64];
	size_t i;

	(void)e;
	for (i = 0; i < req->n_headers; i++) {
		if (strcmp(req->headers[i].name, "Content-Range") == 0)
			range = req->headers[i].value;
		if (strcmp(req->headers[i].name, "X-Goog-Hash") == 0)
			hash = req->headers[i].value;
		if (strcmp(req->headers[i].name, "Authorization") == 0)
			auth = req->headers[i].value;
	}
	if (g->expire_at_put && g->puts + 1 >= g->expire_at_put && auth &&
	    strcmp(auth, "Bearer tok-1") == 0) {
		resp->status = 401;
		return buf_append_str(&resp->body, "{\"error\":{\"code\":401}}");
	}
	if (!auth || strncmp(auth, "Bearer tok-", 11) != 0) {
		resp->status = 401;
		return 0;
	}
	if (strcmp(req->method, "POST") == 0) {
		g->session_total = -1;
		for (i = 0; i < req->n_headers; i++)
			if (strcmp(req->headers[i].name, "X-Upload-Content-Length") == 0)
				g->session_total = strtoll(req->headers[i].value, NULL, 10);
		snprintf(g->start_body, sizeof(g->start_body), "%.*s", (int)req->body_len,
		         (const char *)req->body);
		resp->status =
		    strstr(req->url, "/upload/storage/v1/b/bkt/o?uploadType=resumable&name="
		                     "dir%2Fobj%20x")
		        ? 200
		        : 404;
		resp->headers = calloc(1, sizeof(*resp->headers));
		resp->headers[0].name = strdup("Location");
		resp->headers[0].value = strdup("http://gcs.test/session/1");
		resp->n_headers = 1;
		return buf_append_str(&resp->body, "");
	}
	if (!range)
		return resp->status = 400, 0;
	g->puts++;
	if (g->puts == g->fail_put) {
		resp->status = 503;
		return buf_append_str(&resp->body,
		                      "{\"error\":{\"code\":503,\"message\":\"later\"}}");
	}
	if (sscanf(range, "bytes */%31s", tot) == 1) {
		g->queries += !hash; /* the empty last PUT carries the hashes */
	} else if (sscanf(range, "bytes %lld-%lld/%31s", &first, &last, tot) == 3) {
		if (first != g->committed || (size_t)(last - first + 1) != req->body_len ||
		    (g->session_total >= 0 && last >= g->session_total))
			return resp->status = 400, 0;
		if (g->puts == g->partial_put)
			last = first + 262143;
		memcpy(g->data + first, req->body, (size_t)(last - first + 1));
		g->committed = last + 1;
	} else {
		return resp->status = 400, 0;
	}
	if (strcmp(tot, "*") != 0)
		total = strtoll(tot, NULL, 10);
	if (total >= 0 && g->session_total >= 0 && total != g->session_total)
		return resp->status = 400, 0;
	if (total < 0)
		total = g->session_total; /* GCS finishes at the announced size */
	if (total >= 0 && g->committed == total) {
		char crc[CRC32C_BASE64_LEN + 1], body[256];

		snprintf(g->last_hash, sizeof(g->last_hash), "%s", hash ? hash : "");
		snprintf(g->final_range, sizeof(g->final_range), "%s", range);
		crc32c_base64(crc32c_update(0, g->data, (size_t)total), crc);
		if (!hash || strncmp(hash, "crc32c=", 7) != 0 || strncmp(hash + 7, crc, 8) != 0) {
			resp->status = 400;
			return buf_append_str(
			    &resp->body,
			    "{\"error\":{\"code\":400,\"message\":\"crc32c mismatch\"}}");
		}
		g->done = 1;
		resp->status = 200;
		snprintf(body, sizeof(body),
		         "{\"bucket\":\"bkt\",\"name\":\"dir/obj "
		         "x\",\"size\":\"%lld\",\"crc32c\":\"%s\","
		         "\"generation\":\"17\",\"metadata\":{\"s3-etag\":\"abc\"}}",
		         total, crc);
		return buf_append_str(&resp->body, body);
	}
	resp->status = 308;
	if (g->committed > 0) {
		snprintf(hdr, sizeof(hdr), "bytes=0-%lld", g->committed - 1);
		resp->headers = calloc(1, sizeof(*resp->headers));
		resp->headers[0].name = strdup("Range");
		resp->headers[0].value = strdup(hdr);
		resp->n_headers = 1;
	}
	return buf_append_str(&resp->body, "");
}

/* Uploads n bytes in pieces of `piece` through the fake; returns gcs_upload_finish's code. */
static int run_upload(struct fake_gcs *g, size_t n, size_t piece, int corrupt,
                      struct gcs_object *obj, struct err *e)
{
	struct gcs_metadata md[] = {{"s3-etag", "abc"}, {"s3-version-id", "v1"}};
	struct gcs_object_spec spec = {
	    "bkt", "dir/obj x", "text/plain", "gzip", md, 2, g->unknown_size ? -1 : (long long)n,
	    NULL,  NULL};
	struct gcs_upload_options opt = {g->chunk ? g->chunk : 262144, 3, -1, 0};
	struct gcp_credentials c;
	struct gcs_client *gc;
	struct gcs_upload *u = NULL;
	unsigned char *src = malloc(n);
	char *json = key_json("http://tok.test/token"), crc[CRC32C_BASE64_LEN + 1];
	size_t i, take;
	int rc;

	for (i = 0; i < n; i++)
		src[i] = (unsigned char)(i * 31 + (i >> 9));
	g->data = calloc(1, n + 1);
	g->session_total = -1;
	gcp_credentials_parse(json, strlen(json), &c, e);
	g->ts = gcp_token_source_new(&c, e);
	gcp_credentials_free(&c);
	gcp_token_source_set_seams(g->ts, fake_token_send, fake_clock, &g->tok);
	gc = gcs_client_new(g->ts, e);
	gcs_client_set_endpoint(gc, "http://gcs.test/", e);
	gcs_client_set_seams(gc, fake_gcs_send, g);
	crc32c_base64(crc32c_update(0, src, n), crc);
	if (corrupt)
		crc[0] = crc[0] == 'A' ? 'B' : 'A';
	rc = gcs_upload_start(gc, &spec, &opt, &u, e);
	for (i = 0; !rc && i < n; i += take) {
		take = n - i < piece ? n - i : piece;
		rc = gcs_upload_write(u, src + i, take, e);
	}
	if (!rc)
		rc = gcs_upload_finish(u, crc, NULL, obj, e);
	if (!rc && memcmp(g->data, src, n) != 0)
		rc = ERR_INTERNAL;
	gcs_upload_free(u);
	gcs_client_free(gc);
	gcp_token_source_free(g->ts);
	free(g->data);
	free(src);
	free(json);
	return rc;
}

TEST_CASE(upload_plain)
{
	struct fake_gcs g;
	struct gcs_object obj;
	struct err e;

	memset(&g, 0, sizeof(g));
	g.tok.now = 1700000000LL;
	CHECK_INT(run_upload(&g, 3 * 262144 + 1000, 10000, 0, &obj, &e), 0);
	CHECK_INT(g.puts, 4);
	CHECK_INT(g.queries, 0);
	CHECK(g.done);
	CHECK(strstr(g.start_body, "\"contentType\":\"text/plain\"") != NULL);
	CHECK(strstr(g.start_body, "\"contentEncoding\":\"gzip\"") != NULL);
	CHECK(strstr(g.start_body, "\"metadata\":{\"s3-etag\":\"abc\",\"s3-version-id\":\"v1\"}") !=
	      NULL);
	CHECK(strncmp(g.last_hash, "crc32c=", 7) == 0);
	CHECK_INT(obj.size, 3 * 262144 + 1000);
	CHECK_STR(obj.generation, "17");
	CHECK_STR(gcs_object_metadata(&obj, "s3-etag"), "abc");
	gcs_object_free(&obj);
}

TEST_CASE(upload_resumes_after_503)
{
	struct fake_gcs g;
	struct gcs_object obj;
	struct err e;

	memset(&g, 0, sizeof(g));
	g.tok.now = 1700000000LL;
	g.fail_put = 2; /* the second chunk fails: status query, then resend */
	CHECK_INT(run_upload(&g, 4 * 262144, 65536, 0, &obj, &e), 0);
	CHECK_INT(g.queries, 1);
	CHECK(g.done);
	gcs_object_free(&obj);

	/* GCS commits only part of a chunk: the rest is resent from its offset */
	memset(&g, 0, sizeof(g));
	g.tok.now = 1700000000LL;
	g.partial_put = 1;
	g.chunk = 3 * 262144;
	CHECK_INT(run_upload(&g, 4 * 262144 + 7, 100000, 0, NULL, &e), 0);
	CHECK(g.done);
	CHECK_INT(g.puts, 3); /* 0-786431 (256 KiB kept), 262144-786431, the last */
}

TEST_CASE(upload_renews_an_expired_token)
{
	struct fake_gcs g;
	struct err e;

	memset(&g, 0, sizeof(g));
	g.tok.now = 1700000000LL;
	g.expire_at_put = 2;
	CHECK_INT(run_upload(&g, 3 * 262144, 262144, 0, NULL, &e), 0);
	CHECK_INT(g.tok.calls, 2);
	CHECK(g.done);
}

TEST_CASE(upload_hash_mismatch_fails)
{
	struct fake_gcs g;
	struct gcs_object obj;
	struct err e;

	memset(&g, 0, sizeof(g));
	g.tok.now = 1700000000LL;
	CHECK_INT(run_upload(&g, 262144 + 5, 262144 + 5, 1, &obj, &e), ERR_SERVICE);
	CHECK_INT(e.http_status, 400);
	CHECK(strstr(e.message, "crc32c mismatch") != NULL);
	CHECK(!g.done);
}

/* Every size class with the default 8 MiB chunk, the size known and not:
 * the request that finishes the object carries the hashes (a full chunk that
 * ends an object of known size included: GCS finishes on it). */
TEST_CASE(upload_sizes)
{
	static const size_t sizes[] = {
	    0, 1, 262144, (size_t)8 << 20, (size_t)16 << 20, ((size_t)8 << 20) + 1};
	/* PUTs with the size known, unknown (then an empty last PUT follows a
	 * multiple of the chunk) */
	static const int puts_known[] = {1, 1, 1, 1, 2, 2};
	static const int puts_unknown[] = {1, 1, 1, 2, 3, 2};
	static const char *final_known[] = {"bytes */0",
	                                    "bytes 0-0/1",
	                                    "bytes 0-262143/262144",
	                                    "bytes 0-8388607/8388608",
	                                    "bytes 8388608-16777215/16777216",
	                                    "bytes 8388608-8388608/8388609"};
	static const char *final_unknown[] = {
	    "bytes */0",       "bytes 0-0/1",      "bytes 0-262143/262144",
	    "bytes */8388608", "bytes */16777216", "bytes 8388608-8388608/8388609"};
	struct fake_gcs g;
	struct gcs_object obj;
	struct err e;
	size_t i;
	int unknown;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (unknown = 0; unknown < 2; unknown++) {
			memset(&g, 0, sizeof(g));
			g.tok.now = 1700000000LL;
			g.chunk = GCS_DEFAULT_CHUNK;
			g.unknown_size = unknown;
			CHECK_INT(run_upload(&g, sizes[i], 1 << 20, 0, &obj, &e), 0);
			CHECK(g.done);
			CHECK_INT(g.puts, unknown ? puts_unknown[i] : puts_known[i]);
			CHECK_INT(g.queries, 0);
			CHECK_STR(g.final_range, unknown ? final_unknown[i] : final_known[i]);
			CHECK(strncmp(g.last_hash, "crc32c=", 7) == 0);
			CHECK_INT(obj.size, (long long)sizes[i]);
			gcs_object_free(&obj);
		}
	}
}

/* Known size: a byte more than announced is refused before it is sent, a
 * byte fewer at finish. */
static int upload_mismatch(long long announced, size_t written, struct err *e)
{
	struct gcs_object_spec spec = {"bkt", "dir/obj x", NULL, NULL, NULL,
	                               0,     announced,   NULL, NULL};
	struct gcs_upload_options opt = {262144, 3, -1, 0};
	struct fake_gcs g;
	struct gcp_credentials c;
	struct gcs_client *gc;
	struct gcs_upload *u = NULL;
	unsigned char src[300000] = {0};
	char *json = key_json("http://tok.test/token");
	int rc;

	memset(&g, 0, sizeof(g));
	g.tok.now = 1700000000LL;
	g.data = calloc(1, sizeof(src));
	gcp_credentials_parse(json, strlen(json), &c, e);
	g.ts = gcp_token_source_new(&c, e);
	gcp_credentials_free(&c);
	gcp_token_source_set_seams(g.ts, fake_token_send, fake_clock, &g.tok);
	gc = gcs_client_new(g.ts, e);
	gcs_client_set_endpoint(gc, "http://gcs.test/", e);
	gcs_client_set_seams(gc, fake_gcs_send, &g);
	rc = gcs_upload_start(gc, &spec, &opt, &u, e);
	if (!rc)
		rc = gcs_upload_write(u, src, written, e);
	if (!rc)
		rc = gcs_upload_finish(u, "AAAAAA==", NULL, NULL, e);
	CHECK(!g.done);
	gcs_upload_free(u);
	gcs_client_free(gc);
	gcp_token_source_free(g.ts);
	free(g.data);
	free(json);
	return rc;
}

TEST_CASE(upload_size_mismatch)
{
	struct err e;

	CHECK_INT(upload_mismatch(262144, 262145, &e), ERR_INVALID);
	CHECK(strstr(e.message, "more than the 262144 bytes announced") != NULL);
	CHECK_INT(upload_mismatch(262145, 262144, &e), ERR_INVALID);
	CHECK(strstr(e.message, "262144 bytes written, 262145 announced") != NULL);
}

TEST_CASE(endpoint_from_environment)
{
	struct gcs_client *c;
	struct err e;

	setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:4443", 1);
	c = gcs_client_new(NULL, &e);
	CHECK_STR(gcs_client_endpoint(c), "http://127.0.0.1:4443");
	gcs_client_free(c);
	setenv("STORAGE_EMULATOR_HOST", "https://gcs.local:9/", 1);
	c = gcs_client_new(NULL, &e);
	CHECK_STR(gcs_client_endpoint(c), "https://gcs.local:9");
	gcs_client_free(c);
	unsetenv("STORAGE_EMULATOR_HOST");
	c = gcs_client_new(NULL, &e);
	CHECK_STR(gcs_client_endpoint(c), "https://storage.googleapis.com");
	gcs_client_free(c);
}

int main(void)
{
	make_key();
	RUN(credentials_parse);
	RUN(jwt_shape_and_signature);
	RUN(token_cache);
	RUN(content_range);
	RUN(upload_plain);
	RUN(upload_resumes_after_503);
	RUN(upload_renews_an_expired_token);
	RUN(upload_hash_mismatch_fails);
	RUN(upload_sizes);
	RUN(upload_size_mismatch);
	RUN(endpoint_from_environment);
	EVP_PKEY_free(test_key);
	free(test_pem);
	return TEST_DONE();
}
