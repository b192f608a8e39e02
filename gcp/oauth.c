/* oauth: service-account credentials and the JWT-bearer token source; see oauth.h. */
#include "oauth.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../aws/uri.h"
#include "../util/buf.h"

#define GCP_DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
#define GCP_JWT_LIFETIME_S    3600
#define GCP_GRANT_TYPE        "urn:ietf:params:oauth:grant-type:jwt-bearer"

struct gcp_token_source {
	struct gcp_credentials cred; /* owned copy */
	struct http_client *http;    /* created on the first fetch through the real transport */
	gcp_send_fn send;
	gcp_clock_fn clock;
	void *seam_ctx;
	pthread_mutex_t lock;
	char *token;        /* owned; NULL when none cached */
	long long renew_at; /* epoch seconds after which the cached token is not used */
	unsigned fetches;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void gcp_credentials_free(struct gcp_credentials *c)
{
	if (!c)
		return;
	free(c->client_email);
	wipe_free(c->private_key);
	free(c->private_key_id);
	free(c->token_uri);
	free(c->project_id);
	memset(c, 0, sizeof(*c));
}

/* A string field of o, or NULL; ERR_INVALID when present and not a string. */
static int string_field(json_t *o, const char *key, int required, char **out, struct err *e)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return err_set(e, ERR_INVALID, "service-account key: no \"%s\"", key);
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0)
		return err_set(e, ERR_INVALID,
		               "service-account key: \"%s\" is not a non-empty string", key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

int gcp_credentials_parse(const char *json, size_t len, struct gcp_credentials *out, struct err *e)
{
	json_error_t jerr;
	json_t *root, *type;
	int rc;

	memset(out, 0, sizeof(*out));
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		/* jerr.text may quote the key's text: say only where */
		return err_set(e, ERR_INVALID, "service-account key: not JSON (line %d)",
		               jerr.line);
	if (!json_is_object(root)) {
		json_decref(root);
		return err_set(e, ERR_INVALID, "service-account key: not a JSON object");
	}
	type = json_object_get(root, "type");
	if (type &&
	    (!json_is_string(type) || strcmp(json_string_value(type), "service_account") != 0)) {
		json_decref(root);
		return err_set(e, ERR_INVALID,
		               "service-account key: \"type\" is not \"service_account\"");
	}
	rc = string_field(root, "client_email", 1, &out->client_email, e);
	if (!rc)
		rc = string_field(root, "private_key", 1, &out->private_key, e);
	if (!rc)
		rc = string_field(root, "private_key_id", 0, &out->private_key_id, e);
	if (!rc)
		rc = string_field(root, "token_uri", 0, &out->token_uri, e);
	if (!rc)
		rc = string_field(root, "project_id", 0, &out->project_id, e);
	if (!rc && !out->token_uri && !(out->token_uri = strdup(GCP_DEFAULT_TOKEN_URI)))
		rc = err_set(e, ERR_NOMEM, "out of memory");
	json_decref(root);
	if (rc)
		gcp_credentials_free(out);
	return rc;
}

int gcp_credentials_copy(const struct gcp_credentials *src, struct gcp_credentials *out,
                         struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->client_email = dup_or_null(src->client_email);
	out->private_key = dup_or_null(src->private_key);
	out->private_key_id = dup_or_null(src->private_key_id);
	out->token_uri = dup_or_null(src->token_uri);
	out->project_id = dup_or_null(src->project_id);
	if (!out->client_email || !out->private_key || !out->token_uri ||
	    (src->private_key_id && !out->private_key_id) ||
	    (src->project_id && !out->project_id)) {
		gcp_credentials_free(out);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* Appends base64url (RFC 4648 section 5, no padding) of data[0..n). */
static int append_b64url(struct buf *out, const void *data, size_t n)
{
	size_t cap = 4 * ((n + 2) / 3) + 1, i, len;
	unsigned char *tmp = malloc(cap);
	int rc;

	if (!tmp)
		return ERR_NOMEM;
	len = (size_t)EVP_EncodeBlock(tmp, data, (int)n);
	while (len && tmp[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++)
		if (tmp[i] == '+')
			tmp[i] = '-';
		else if (tmp[i] == '/')
			tmp[i] = '_';
	rc = buf_append(out, tmp, len);
	free(tmp);
	return rc;
}

static int append_b64url_json(struct buf *out, json_t *v)
{
	char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int rc;

	if (!text)
		return ERR_NOMEM;
	rc = append_b64url(out, text, strlen(text));
	free(text);
	return rc;
}

static int sign_rs256(const char *pem, const char *input, size_t n, unsigned char **sig,
                      size_t *sig_len, struct err *e)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	int rc = 0;

	*sig = NULL;
	if (!bio)
		return err_set(e, ERR_NOMEM, "out of memory");
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!key)
		return err_set(e, ERR_CREDENTIALS,
		               "service-account key: private_key is not a PEM private key");
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		return err_set(e, ERR_CREDENTIALS, "service-account key: private_key is not RSA");
	}
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, sig_len, (const unsigned char *)input, n) != 1 ||
	    !(*sig = malloc(*sig_len)) ||
	    EVP_DigestSign(md, *sig, sig_len, (const unsigned char *)input, n) != 1) {
		free(*sig);
		*sig = NULL;
		rc = err_set(e, ERR_CREDENTIALS, "signing the JWT (RS256) failed");
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return rc;
}

int gcp_jwt_assertion(const struct gcp_credentials *c, const char *scope, long long now,
                      char **jwt_out, struct err *e)
{
	json_t *header, *claims;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	struct buf jwt;
	int rc;

	*jwt_out = NULL;
	header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
	if (header && c->private_key_id &&
	    json_object_set_new(header, "kid", json_string(c->private_key_id)))
		json_decref(header), header = NULL;
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", c->client_email, "scope", scope,
	                   "aud", c->token_uri, "iat", (json_int_t)now, "exp",
	                   (json_int_t)(now + GCP_JWT_LIFETIME_S));
	buf_init(&jwt, (size_t)64 << 10);
	rc = header && claims ? 0 : ERR_NOMEM;
	if (!rc)
		rc = append_b64url_json(&jwt, header);
	if (!rc)
		rc = buf_append(&jwt, ".", 1);
	if (!rc)
		rc = append_b64url_json(&jwt, claims);
	json_decref(header);
	json_decref(claims);
	if (rc) {
		buf_free(&jwt);
		return err_set(e, rc, "building the JWT: %s", err_code_name(rc));
	}
	rc = sign_rs256(c->private_key, jwt.data, jwt.len, &sig, &sig_len, e);
	if (!rc) {
		rc = buf_append(&jwt, ".", 1);
		if (!rc)
			rc = append_b64url(&jwt, sig, sig_len);
		if (rc)
			err_set(e, rc, "building the JWT: %s", err_code_name(rc));
	}
	free(sig);
	if (rc) {
		buf_free(&jwt);
		return rc;
	}
	*jwt_out = buf_take(&jwt);
	buf_free(&jwt);
	return *jwt_out ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

static long long real_clock(void *ctx)
{
	(void)ctx;
	return (long long)time(NULL);
}

struct gcp_token_source *gcp_token_source_new(const struct gcp_credentials *c, struct err *e)
{
	struct gcp_token_source *ts = calloc(1, sizeof(*ts));

	if (!ts) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (gcp_credentials_copy(c, &ts->cred, e)) {
		free(ts);
		return NULL;
	}
	if (pthread_mutex_init(&ts->lock, NULL) != 0) {
		gcp_credentials_free(&ts->cred);
		free(ts);
		err_set(e, ERR_INTERNAL, "pthread_mutex_init failed");
		return NULL;
	}
	ts->clock = real_clock;
	return ts;
}

void gcp_token_source_set_seams(struct gcp_token_source *ts, gcp_send_fn send, gcp_clock_fn clock,
                                void *ctx)
{
	ts->send = send;
	ts->clock = clock ? clock : real_clock;
	ts->seam_ctx = ctx;
}

void gcp_token_source_free(struct gcp_token_source *ts)
{
	if (!ts)
		return;
	wipe_free(ts->token);
	gcp_credentials_free(&ts->cred);
	http_client_free(ts->http);
	pthread_mutex_destroy(&ts->lock);
	free(ts);
}

void gcp_token_invalidate(struct gcp_token_source *ts)
{
	pthread_mutex_lock(&ts->lock);
	wipe_free(ts->token);
	ts->token = NULL;
	pthread_mutex_unlock(&ts->lock);
}

unsigned gcp_token_fetches(const struct gcp_token_source *ts)
{
	return ts->fetches;
}

static int send_request(struct gcp_token_source *ts, const struct http_request *req,
                        struct http_response *resp, struct err *e)
{
	http_response_free(resp); /* as http_send does: a fresh answer */
	http_response_init(resp);
	if (ts->send)
		return ts->send(ts->seam_ctx, req, resp, e);
	if (!ts->http && !(ts->http = http_client_new(e)))
		return e ? e->code : ERR_INTERNAL;
	return http_send(ts->http, req, resp, e);
}

/* The token endpoint's refusal, as "error: error_description" when it says so. */
static int token_refused(const struct http_response *resp, struct err *e)
{
	json_t *root = json_loadb(resp->body.data, resp->body.len, 0, NULL);
	const char *error = json_string_value(json_object_get(root, "error"));
	const char *desc = json_string_value(json_object_get(root, "error_description"));
	int rc = err_set(e, ERR_CREDENTIALS, "token endpoint refused the grant: HTTP %ld%s%s%s%s",
	                 resp->status, error ? ": " : "", error ? error : "", desc ? ": " : "",
	                 desc ? desc : "");

	json_decref(root);
	if (e)
		e->http_status = resp->status;
	return rc;
}

/* POSTs a new assertion; on success the token and renew_at are replaced. */
static int fetch_token(struct gcp_token_source *ts, struct err *e)
{
	static const struct http_header headers[] = {
	    {"Content-Type", "application/x-www-form-urlencoded"},
	    {"Accept", "application/json"},
	};
	struct http_request req = {0};
	struct http_response resp;
	long long now = ts->clock(ts->seam_ctx);
	char *jwt = NULL, *token;
	json_t *root = NULL, *tok, *exp;
	struct buf form;
	long long expires_in;
	int rc;

	rc = gcp_jwt_assertion(&ts->cred, GCP_SCOPE_READ_WRITE, now, &jwt, e);
	if (rc)
		return rc;
	buf_init(&form, (size_t)64 << 10);
	rc = uri_form_add(&form, "grant_type", GCP_GRANT_TYPE);
	if (!rc)
		rc = uri_form_add(&form, "assertion", jwt);
	wipe_free(jwt);
	if (rc) {
		buf_free(&form);
		return err_set(e, rc, "building the token request: %s", err_code_name(rc));
	}
	req.method = "POST";
	req.url = ts->cred.token_uri;
	req.headers = headers;
	req.n_headers = sizeof(headers) / sizeof(headers[0]);
	req.body = form.data;
	req.body_len = form.len;
	req.max_response = (size_t)64 << 10;
	http_response_init(&resp);
	rc = send_request(ts, &req, &resp, e);
	OPENSSL_cleanse(form.data, form.len);
	buf_free(&form);
	if (rc) {
		err_prefix(e, "token endpoint");
		http_response_free(&resp);
		return rc;
	}
	if (resp.status != 200) {
		rc = token_refused(&resp, e);
		http_response_free(&resp);
		return rc;
	}
	root = json_loadb(resp.body.data, resp.body.len, 0, NULL);
	OPENSSL_cleanse(resp.body.data, resp.body.len);
	http_response_free(&resp);
	tok = json_object_get(root, "access_token");
	exp = json_object_get(root, "expires_in");
	if (!json_is_string(tok) || json_string_length(tok) == 0) {
		json_decref(root);
		return err_set(e, ERR_PARSE, "token endpoint: answer without an access_token");
	}
	/* expires_in is a number; some servers send it as a string */
	if (json_is_integer(exp))
		expires_in = (long long)json_integer_value(exp);
	else if (json_is_string(exp))
		expires_in = strtoll(json_string_value(exp), NULL, 10);
	else
		expires_in = GCP_JWT_LIFETIME_S;
	token = strdup(json_string_value(tok));
	json_decref(root);
	if (!token)
		return err_set(e, ERR_NOMEM, "out of memory");
	wipe_free(ts->token);
	ts->token = token;
	ts->renew_at = now + expires_in - GCP_TOKEN_EARLY_S;
	ts->fetches++;
	return 0;
}

int gcp_token_get(struct gcp_token_source *ts, char **token_out, struct err *e)
{
	int rc = 0;

	*token_out = NULL;
	pthread_mutex_lock(&ts->lock);
	if (!ts->token || ts->clock(ts->seam_ctx) >= ts->renew_at)
		rc = fetch_token(ts, e);
	if (!rc && !(*token_out = strdup(ts->token)))
		rc = err_set(e, ERR_NOMEM, "out of memory");
	pthread_mutex_unlock(&ts->lock);
	return rc;
}
