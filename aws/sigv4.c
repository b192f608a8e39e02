/* sigv4: AWS Signature Version 4 over OpenSSL; see sigv4.h. */
#include "sigv4.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/buf.h"
#include "uri.h"

#define SIGV4_ALGORITHM  "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"

/* One header as it will be canonicalised: owned lowercased name and
 * trimmed value; order keeps repeated names in the caller's order. */
struct canon_header {
	char *name;
	char *value;
	size_t order;
};

/* One query parameter, key and value already re-encoded (owned). */
struct query_pair {
	char *key;
	char *value;
};

/* Everything signing derives from a request before the key is involved. */
struct signing {
	char amz_date[17];
	char date[9];
	struct buf scope;          /* date/region/service/aws4_request */
	struct buf creq;           /* the canonical request */
	struct buf signed_headers; /* "host;x-amz-date" */
};

/* Headers botocore never signs: proxies and the transport rewrite them. */
static const char *const unsigned_headers[] = {"user-agent", "expect", "x-amzn-trace-id"};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * OpenSSL 3's one-shot HMAC() and EVP_sha256() look their algorithm up in
 * the provider store on every call; a signature makes six HMACs and two
 * digests. The algorithms are fetched once per process instead (a fifth of
 * the instructions of signing, bench/proxy_iam.py), and each HMAC starts
 * from a copy of a context already set to SHA-256. They live as long as the
 * process (OpenSSL's own store holds them too).
 */
static pthread_once_t algorithms_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static EVP_MAC_CTX *hmac_sha256_template;

static void fetch_algorithms(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	char digest[] = "SHA256";
	OSSL_PARAM params[2];

	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	hmac_sha256_template = mac ? EVP_MAC_CTX_new(mac) : NULL;
	if (hmac_sha256_template && !EVP_MAC_CTX_set_params(hmac_sha256_template, params)) {
		EVP_MAC_CTX_free(hmac_sha256_template);
		hmac_sha256_template = NULL;
	}
	EVP_MAC_free(mac); /* the context holds its own reference */
}

/* Lowercase hex SHA-256 of data[0..n) into out[65]. */
static int sha256_hex(const void *data, size_t n, char out[65], struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (pthread_once(&algorithms_once, fetch_algorithms) != 0 || !sha256_md ||
	    !EVP_Digest(data ? data : "", n, md, &md_len, sha256_md, NULL) || md_len != 32)
		return err_set(e, ERR_INTERNAL, "sigv4: SHA-256 failed");
	hex_encode(md, 32, out);
	return 0;
}

static int hmac_sha256(const void *key, size_t key_len, const char *msg, size_t msg_len,
                       unsigned char out[32], struct err *e)
{
	EVP_MAC_CTX *ctx = NULL;
	size_t out_len = 0;
	int ok;

	if (pthread_once(&algorithms_once, fetch_algorithms) == 0 && hmac_sha256_template)
		ctx = EVP_MAC_CTX_dup(hmac_sha256_template);
	ok = ctx && EVP_MAC_init(ctx, key, key_len, NULL) &&
	     EVP_MAC_update(ctx, (const unsigned char *)msg, msg_len) &&
	     EVP_MAC_final(ctx, out, &out_len, 32) && out_len == 32;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : err_set(e, ERR_INTERNAL, "sigv4: HMAC-SHA256 failed");
}

int sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
                      unsigned char key[32], struct err *e)
{
	const char *parts[4] = {date, region, service, SIGV4_TERMINATOR};
	unsigned char k[32], next[32];
	size_t secret_len, i;
	char *first = NULL;
	int rc = 0;

	if (!secret || !date || !region || !service)
		return err_set(e, ERR_INVALID,
		               "sigv4: signing key needs secret, date, region, service");
	secret_len = strlen(secret);
	first = malloc(secret_len + 5);
	if (!first)
		return err_set(e, ERR_NOMEM, "sigv4: out of memory");
	memcpy(first, "AWS4", 4);
	memcpy(first + 4, secret, secret_len + 1);
	rc = hmac_sha256(first, secret_len + 4, parts[0], strlen(parts[0]), k, e);
	for (i = 1; i < 4 && !rc; i++) {
		rc = hmac_sha256(k, sizeof(k), parts[i], strlen(parts[i]), next, e);
		memcpy(k, next, sizeof(k));
	}
	if (!rc)
		memcpy(key, k, sizeof(k));
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(next, sizeof(next));
	OPENSSL_cleanse(first, secret_len + 5);
	free(first);
	return rc;
}

/* "20150830T123600Z" for now, in UTC. */
static int format_amz_date(time_t now, char out[17], struct err *e)
{
	struct tm tm;

	if (!gmtime_r(&now, &tm) || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return err_set(e, ERR_INVALID, "sigv4: signing time out of range");
	return 0;
}

/*
 * The canonical path: S3 signs the wire path as it is; every other service
 * signs it with "." and ".." segments resolved and empty segments dropped
 * (RFC 3986 5.2.4, plus AWS's collapsing of "//"), then percent-encoded again.
 */
static int append_path(struct buf *b, const char *path, int no_normalize)
{
	size_t len = path ? strlen(path) : 0;
	size_t *starts = NULL, *lens = NULL, n = 0, i, pos;
	int rc;

	if (len == 0)
		return buf_append(b, "/", 1);
	if (no_normalize)
		return buf_append(b, path, len);

	starts = calloc(len + 1, sizeof(*starts));
	lens = calloc(len + 1, sizeof(*lens));
	if (!starts || !lens) {
		free(starts);
		free(lens);
		buf_free(b);
		return ERR_NOMEM;
	}
	for (pos = 0; pos <= len;) {
		const char *slash = memchr(path + pos, '/', len - pos);
		size_t end = slash ? (size_t)(slash - path) : len;
		size_t seg = end - pos;

		if (seg == 2 && path[pos] == '.' && path[pos + 1] == '.') {
			if (n)
				n--;
		} else if (seg > 0 && !(seg == 1 && path[pos] == '.')) {
			starts[n] = pos;
			lens[n] = seg;
			n++;
		}
		pos = end + 1;
	}
	rc = path[0] == '/' ? buf_append(b, "/", 1) : 0;
	for (i = 0; i < n && !rc; i++) {
		if (i)
			rc = buf_append(b, "/", 1);
		if (!rc)
			rc = uri_encode(b, path + starts[i], lens[i], 0);
	}
	if (!rc && n && path[len - 1] == '/')
		rc = buf_append(b, "/", 1);
	if (!rc && !b->data)
		rc = buf_append(b, "", 0);
	free(starts);
	free(lens);
	return rc;
}

static int cmp_query_pair(const void *a, const void *b)
{
	const struct query_pair *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value, y->value);
}

/* Decodes s[0..n) and encodes it again, RFC 3986 style; owned string. */
static int reencode(const char *s, size_t n, char **out)
{
	struct buf dec, enc;
	int rc;

	buf_init(&dec, 0);
	buf_init(&enc, 0);
	rc = uri_decode(&dec, s, n, 1);
	if (!rc)
		rc = uri_encode(&enc, dec.data, dec.len, 0);
	if (!rc) {
		*out = buf_take(&enc);
		rc = *out ? 0 : ERR_NOMEM;
	}
	buf_free(&dec);
	buf_free(&enc);
	return rc;
}

/* The canonical query: pairs re-encoded, sorted by key then value. */
static int append_query(struct buf *b, const char *query, struct err *e)
{
	struct query_pair *pairs = NULL;
	size_t len = query ? strlen(query) : 0, cap = 1, n = 0, i, pos;
	int rc = 0;

	for (i = 0; i < len; i++)
		cap += query[i] == '&';
	pairs = calloc(cap, sizeof(*pairs));
	if (!pairs) {
		buf_free(b);
		return err_set(e, ERR_NOMEM, "sigv4: out of memory");
	}
	for (pos = 0; pos < len && !rc;) {
		const char *amp = memchr(query + pos, '&', len - pos);
		size_t end = amp ? (size_t)(amp - query) : len;
		const char *eq = memchr(query + pos, '=', end - pos);
		size_t key_end = eq ? (size_t)(eq - query) : end;
		size_t val_start = eq ? key_end + 1 : end;

		if (end > pos) {
			rc = reencode(query + pos, key_end - pos, &pairs[n].key);
			if (!rc)
				rc = reencode(query + val_start, end - val_start, &pairs[n].value);
			n++;
		}
		pos = end + 1;
	}
	if (rc == ERR_INVALID) {
		err_set(e, rc, "sigv4: malformed %%-escape in the query string");
	} else if (rc) {
		err_set(e, rc, "sigv4: out of memory");
	} else {
		qsort(pairs, n, sizeof(*pairs), cmp_query_pair);
		for (i = 0; i < n && !rc; i++)
			rc = buf_appendf(b, "%s%s=%s", i ? "&" : "", pairs[i].key, pairs[i].value);
		if (rc)
			err_set(e, rc, "sigv4: canonical request too large");
	}
	for (i = 0; i < n; i++) {
		free(pairs[i].key);
		free(pairs[i].value);
	}
	free(pairs);
	if (rc)
		buf_free(b);
	return rc;
}

static int cmp_header(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* A valid header name: a non-empty token without controls, spaces or ':'. */
static int header_name_ok(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (!p || !*p)
		return 0;
	for (; *p; p++)
		if (*p <= ' ' || *p == ':' || *p == 0x7f)
			return 0;
	return 1;
}

/* Fills h with the lowercased name and the trimmed, space-collapsed value. */
static int canon_header_set(struct canon_header *h, const char *name, const char *value,
                            size_t order)
{
	size_t i, n = 0, vlen = strlen(value);
	int pending_space = 0;

	h->order = order;
	h->name = strdup(name);
	h->value = malloc(vlen + 1);
	if (!h->name || !h->value)
		return ERR_NOMEM;
	for (i = 0; h->name[i]; i++)
		if (h->name[i] >= 'A' && h->name[i] <= 'Z')
			h->name[i] = (char)(h->name[i] - 'A' + 'a');
	for (i = 0; i < vlen; i++) {
		if (is_space(value[i])) {
			pending_space = n > 0;
			continue;
		}
		if (pending_space)
			h->value[n++] = ' ';
		pending_space = 0;
		h->value[n++] = value[i];
	}
	h->value[n] = '\0';
	return 0;
}

static int is_unsigned_header(const char *name, int has_token)
{
	size_t i;

	if (!strcasecmp(name, "authorization") || !strcasecmp(name, "x-amz-date"))
		return 1;
	if (has_token && !strcasecmp(name, "x-amz-security-token"))
		return 1;
	for (i = 0; i < sizeof(unsigned_headers) / sizeof(unsigned_headers[0]); i++)
		if (!strcasecmp(name, unsigned_headers[i]))
			return 1;
	return 0;
}

/* Appends the canonical headers block (each "name:value\n") to creq and the
 * signed header list to s->signed_headers. */
static int append_headers(struct signing *s, const struct sigv4_request *req,
                          const struct aws_credentials *creds, struct err *e)
{
	const char *token =
	    creds->session_token && *creds->session_token ? creds->session_token : NULL;
	struct canon_header *hs = NULL;
	size_t n = 0, i, host = 0;
	int rc = 0;

	hs = calloc(req->n_headers + 2, sizeof(*hs));
	if (!hs)
		return err_set(e, ERR_NOMEM, "sigv4: out of memory");
	for (i = 0; i < req->n_headers && !rc; i++) {
		const struct sigv4_header *in = &req->headers[i];

		if (!header_name_ok(in->name) || !in->value) {
			rc = err_set(e, ERR_INVALID, "sigv4: header %zu has no valid name or value",
			             i);
			break;
		}
		if (is_unsigned_header(in->name, token != NULL))
			continue;
		host += !strcasecmp(in->name, "host");
		rc = canon_header_set(&hs[n++], in->name, in->value, i);
	}
	if (!rc)
		rc = canon_header_set(&hs[n++], "x-amz-date", s->amz_date, req->n_headers);
	if (!rc && token)
		rc = canon_header_set(&hs[n++], "x-amz-security-token", token, req->n_headers + 1);
	if (rc == ERR_NOMEM)
		err_set(e, rc, "sigv4: out of memory");
	if (!rc && !host)
		rc = err_set(e, ERR_INVALID, "sigv4: the request has no Host header");
	if (!rc)
		qsort(hs, n, sizeof(*hs), cmp_header);
	for (i = 0; i < n && !rc; i++) {
		int same = i > 0 && !strcmp(hs[i].name, hs[i - 1].name);
		int last = i + 1 == n || strcmp(hs[i].name, hs[i + 1].name) != 0;

		if (same) {
			rc = buf_appendf(&s->creq, ",%s", hs[i].value);
		} else {
			rc = buf_appendf(&s->creq, "%s:%s", hs[i].name, hs[i].value);
			if (!rc)
				rc = buf_appendf(&s->signed_headers, "%s%s", i ? ";" : "",
				                 hs[i].name);
		}
		if (!rc && last)
			rc = buf_append(&s->creq, "\n", 1);
		if (rc)
			err_set(e, rc, "sigv4: canonical request too large");
	}
	for (i = 0; i < n; i++) {
		free(hs[i].name);
		free(hs[i].value);
	}
	free(hs);
	return rc;
}

/* A scope part: non-empty, printable, no '/' (it would shift the scope). */
static int scope_part_ok(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '/' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static void signing_free(struct signing *s)
{
	buf_free(&s->scope);
	buf_free(&s->creq);
	buf_free(&s->signed_headers);
}

/* Date, scope, canonical request and signed headers of req. */
static int signing_build(struct signing *s, const struct sigv4_request *req,
                         const struct aws_credentials *creds, struct err *e)
{
	char payload_hash[65];
	int rc;

	memset(s, 0, sizeof(*s));
	buf_init(&s->scope, 0);
	buf_init(&s->creq, 0);
	buf_init(&s->signed_headers, 0);
	if (!req || !creds || !creds->access_key_id || !*creds->access_key_id ||
	    !creds->secret_access_key)
		return err_set(e, ERR_INVALID, "sigv4: no request or no credentials");
	if (!scope_part_ok(req->method))
		return err_set(e, ERR_INVALID, "sigv4: missing or invalid method");
	if (!scope_part_ok(req->region) || !scope_part_ok(req->service))
		return err_set(e, ERR_INVALID, "sigv4: missing or invalid region or service");
	if (req->n_headers && !req->headers)
		return err_set(e, ERR_INVALID, "sigv4: headers missing");
	if (!req->body && req->body_len)
		return err_set(e, ERR_INVALID, "sigv4: body missing");
	rc = format_amz_date(req->now, s->amz_date, e);
	if (rc)
		return rc;
	memcpy(s->date, s->amz_date, 8);
	s->date[8] = '\0';
	rc = sha256_hex(req->body, req->body_len, payload_hash, e);
	if (rc)
		return rc;

	rc = buf_appendf(&s->scope, "%s/%s/%s/" SIGV4_TERMINATOR, s->date, req->region,
	                 req->service);
	if (!rc)
		rc = buf_appendf(&s->creq, "%s\n", req->method);
	if (!rc)
		rc = append_path(&s->creq, req->path, req->no_normalize);
	if (!rc)
		rc = buf_append(&s->creq, "\n", 1);
	if (rc)
		return err_set(e, rc, "sigv4: canonical request too large");
	rc = append_query(&s->creq, req->query, e);
	if (!rc && (rc = buf_append(&s->creq, "\n", 1)) != 0)
		err_set(e, rc, "sigv4: canonical request too large");
	if (!rc)
		rc = append_headers(s, req, creds, e);
	if (!rc && (rc = buf_appendf(&s->creq, "\n%s\n%s", buf_str(&s->signed_headers),
	                             payload_hash)) != 0)
		err_set(e, rc, "sigv4: canonical request too large");
	return rc;
}

/* The string to sign of a built request. */
static int string_to_sign(const struct signing *s, struct buf *out, struct err *e)
{
	char creq_hash[65];
	int rc;

	rc = sha256_hex(s->creq.data, s->creq.len, creq_hash, e);
	if (rc)
		return rc;
	rc = buf_appendf(out, SIGV4_ALGORITHM "\n%s\n%s\n%s", s->amz_date, buf_str(&s->scope),
	                 creq_hash);
	if (rc)
		return err_set(e, rc, "sigv4: out of memory");
	return 0;
}

int sigv4_sign(const struct sigv4_request *req, const struct aws_credentials *creds,
               struct sigv4_result *out, struct err *e)
{
	struct signing s;
	struct buf sts, authz;
	unsigned char key[32], sig[32];
	char sig_hex[65];
	int rc;

	buf_init(&sts, 0);
	buf_init(&authz, 0);
	if (!out)
		return err_set(e, ERR_INVALID, "sigv4: no result to fill");
	memset(out, 0, sizeof(*out));
	rc = signing_build(&s, req, creds, e);
	if (!rc)
		rc = string_to_sign(&s, &sts, e);
	if (!rc)
		rc = sigv4_signing_key(creds->secret_access_key, s.date, req->region, req->service,
		                       key, e);
	if (!rc) {
		rc = hmac_sha256(key, sizeof(key), sts.data, sts.len, sig, e);
		OPENSSL_cleanse(key, sizeof(key));
	}
	if (!rc) {
		hex_encode(sig, sizeof(sig), sig_hex);
		rc = buf_appendf(
		    &authz, SIGV4_ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		    creds->access_key_id, buf_str(&s.scope), buf_str(&s.signed_headers), sig_hex);
		if (rc)
			err_set(e, rc, "sigv4: out of memory");
	}
	if (!rc) {
		out->authorization = buf_take(&authz);
		if (!out->authorization)
			rc = err_set(e, ERR_NOMEM, "sigv4: out of memory");
	}
	if (!rc)
		memcpy(out->amz_date, s.amz_date, sizeof(out->amz_date));
	OPENSSL_cleanse(sig, sizeof(sig));
	buf_free(&sts);
	buf_free(&authz);
	signing_free(&s);
	return rc;
}

void sigv4_result_free(struct sigv4_result *r)
{
	if (!r)
		return;
	free(r->authorization);
	memset(r, 0, sizeof(*r));
}

char *sigv4_canonical_request(const struct sigv4_request *req, const struct aws_credentials *creds)
{
	struct signing s;
	char *out = NULL;

	if (!signing_build(&s, req, creds, NULL))
		out = buf_take(&s.creq);
	signing_free(&s);
	return out;
}

char *sigv4_string_to_sign(const struct sigv4_request *req, const struct aws_credentials *creds)
{
	struct signing s;
	struct buf sts;
	char *out = NULL;

	buf_init(&sts, 0);
	if (!signing_build(&s, req, creds, NULL) && !string_to_sign(&s, &sts, NULL))
		out = buf_take(&sts);
	buf_free(&sts);
	signing_free(&s);
	return out;
}
