/* credentials: the AWS credential chain; see credentials.h. */
#include "credentials.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/buf.h"
#include "../util/timefmt.h"
#include "endpoint.h"
#include "http.h"
#include "credentials_remote.h"
#include "profile.h"

enum source { SRC_NONE, SRC_ENV, SRC_PROFILE, SRC_CONTAINER, SRC_IMDS };

static const char *const source_names[] = {"none", "environment", "profile", "container", "imds"};

struct credentials_provider {
	struct http_client *http; /* borrowed; NULL: no network sources */
	struct aws_credentials cur;
	int have;
	enum source source;
	time_t retry_after; /* no refresh before this, after one failed */
};

/* ---- small helpers ---------------------------------------------------- */

void credentials_wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void credentials_response_wipe_free(struct http_response *r)
{
	if (r->body.data)
		OPENSSL_cleanse(r->body.data, r->body.cap);
	http_response_free(r);
}

void aws_credentials_clear(struct aws_credentials *c)
{
	if (!c)
		return;
	credentials_wipe_free(c->access_key_id);
	credentials_wipe_free(c->secret_access_key);
	credentials_wipe_free(c->session_token);
	memset(c, 0, sizeof(*c));
}

/* Fills *c with copies; token may be NULL or "" for none. */
static int creds_set(struct aws_credentials *c, const char *id, const char *secret,
                     const char *token, time_t expiration, struct err *e)
{
	memset(c, 0, sizeof(*c));
	c->access_key_id = strdup(id);
	c->secret_access_key = strdup(secret);
	if (token && *token)
		c->session_token = strdup(token);
	c->expiration = expiration;
	if (!c->access_key_id || !c->secret_access_key || (token && *token && !c->session_token)) {
		aws_credentials_clear(c);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

const char *credentials_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Copies at most size-1 bytes of s, printable ASCII only, for a message. */
void credentials_printable(char *dst, size_t size, const char *s)
{
	size_t i = 0;

	for (; s && *s && i + 1 < size; s++) {
		dst[i] = *s;
		if (!(*s >= 0x20 && *s < 0x7f))
			dst[i] = '?';
		i++;
	}
	dst[i] = '\0';
}

/* ---- pure parsers ----------------------------------------------------- */

int credentials_parse_time(const char *s, time_t *out)
{
	int64_t ms;

	if (timefmt_parse_iso8601(s, TIMEFMT_RFC3339, &ms, NULL) != 0)
		return ERR_PARSE;
	*out = (time_t)(ms >= 0 ? ms / 1000 : -((999 - ms) / 1000)); /* whole seconds, floored */
	return 0;
}

/* Overwrites a jansson string's bytes before it is freed. */
static void json_wipe(json_t *v)
{
	if (json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

const char *credentials_json_str(json_t *root, const char *key)
{
	json_t *v = json_object_get(root, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int credentials_parse_json(const char *body, size_t len, int require_code,
                           struct aws_credentials *out, struct err *e)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr);
	const char *code, *id, *secret, *token, *exp;
	json_t *tok;
	time_t expiration = 0;
	char what[128];
	int rc;

	/* jansson's message may quote the input, which holds secrets: only say where. */
	if (!root)
		return err_set(e, ERR_PARSE, "credentials answer is not JSON (line %d, column %d)",
		               jerr.line, jerr.column);
	if (!json_is_object(root)) {
		rc = err_set(e, ERR_PARSE, "credentials answer is not a JSON object");
		goto out;
	}
	code = credentials_json_str(root, "Code");
	if (json_object_get(root, "Code") && !code) {
		rc = err_set(e, ERR_PARSE, "credentials answer has a Code that is not a string");
		goto out;
	}
	if (code && strcmp(code, "Success") != 0) {
		char msg[200];

		credentials_printable(what, sizeof(what), code);
		credentials_printable(msg, sizeof(msg), credentials_json_str(root, "Message"));
		rc = err_set(e, ERR_CREDENTIALS, "credentials answer has Code \"%s\"%s%s", what,
		             *msg ? ": " : "", msg);
		goto out;
	}
	if (!code && require_code) {
		rc = err_set(e, ERR_PARSE, "credentials answer has no Code");
		goto out;
	}
	id = credentials_json_str(root, "AccessKeyId");
	secret = credentials_json_str(root, "SecretAccessKey");
	tok = json_object_get(root, "Token");
	token = json_is_string(tok) ? json_string_value(tok) : NULL;
	exp = credentials_json_str(root, "Expiration");
	if (!id || !*id || !secret || !*secret) {
		rc = err_set(e, ERR_PARSE, "credentials answer lacks %s",
		             !id || !*id ? "AccessKeyId" : "SecretAccessKey");
		goto out;
	}
	if (tok && !json_is_string(tok) && !json_is_null(tok)) {
		rc = err_set(e, ERR_PARSE, "credentials answer has a Token that is not a string");
		goto out;
	}
	if (json_object_get(root, "Expiration") &&
	    (!exp || credentials_parse_time(exp, &expiration))) {
		credentials_printable(what, sizeof(what), exp);
		rc = err_set(e, ERR_PARSE, "credentials answer has a bad Expiration \"%s\"", what);
		goto out;
	}
	rc = creds_set(out, id, secret, token, expiration, e);
out:
	json_wipe(json_object_get(root, "SecretAccessKey"));
	json_wipe(json_object_get(root, "Token"));
	json_decref(root);
	return rc;
}

/* ---- the environment -------------------------------------------------- */

static int from_env(struct aws_credentials *out, struct err *e)
{
	const char *id = credentials_env("AWS_ACCESS_KEY_ID"),
	           *secret = credentials_env("AWS_SECRET_ACCESS_KEY");

	if (!id && !secret)
		return err_set(e, ERR_NOT_FOUND, "environment: not set");
	if (!secret)
		return err_set(e, ERR_CREDENTIALS,
		               "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
	if (!id)
		return err_set(e, ERR_CREDENTIALS,
		               "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
	return creds_set(out, id, secret, credentials_env("AWS_SESSION_TOKEN"), 0, e);
}

/* ---- the shared files ------------------------------------------------- */

enum {
	K_ID,
	K_SECRET,
	K_TOKEN,
	K_SECURITY_TOKEN,
	K_ROLE_ARN,
	K_SOURCE_PROFILE,
	K_CREDENTIAL_SOURCE,
	K_WEB_IDENTITY,
	K_SSO_START_URL,
	K_SSO_SESSION,
	K_PROCESS,
	K_N
};

static const char *const profile_keys[K_N] = {
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token",  "aws_security_token",
    "role_arn",          "source_profile",        "credential_source",  "web_identity_token_file",
    "sso_start_url",     "sso_session",           "credential_process",
};

/* What one file says about the profile. */
struct profile_values {
	enum profile_kind kind;
	const char *name;
	const char *path; /* NULL when there is no such file */
	int seen;         /* the file has the profile's section */
	char *v[K_N];
	struct err *e;
};

static int profile_visit(void *ctx, const char *section, const char *key, const char *subkey,
                         const char *value)
{
	struct profile_values *pv = ctx;

	if (!profile_section_is(section, pv->kind, pv->name))
		return 0;
	pv->seen = 1;
	if (!key || subkey)
		return 0;
	for (int k = 0; k < K_N; k++) {
		if (strcmp(key, profile_keys[k]) != 0)
			continue;
		credentials_wipe_free(pv->v[k]);
		pv->v[k] = *value ? strdup(value) : NULL;
		if (*value && !pv->v[k])
			return err_set(pv->e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

static void profile_values_free(struct profile_values *pv)
{
	for (int k = 0; k < K_N; k++)
		credentials_wipe_free(pv->v[k]);
}

/* Reads what path says about the profile; a missing file says nothing. */
static int profile_values_load(struct profile_values *pv, struct err *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!pv->path)
		return 0;
	rc = profile_read_file(pv->path, &text, &len, e);
	if (rc == ERR_NOT_FOUND) {
		pv->path = NULL;
		return 0;
	}
	if (rc == 0) {
		pv->e = e;
		rc = profile_parse(text, len, profile_visit, pv, e);
		if (rc)
			err_prefix(e, "%s", pv->path);
	}
	if (text) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	return rc;
}

/* The keys of one file: 0, ERR_NOT_FOUND when it has neither, else an error. */
static int profile_static(const struct profile_values *pv, struct aws_credentials *out,
                          struct err *e)
{
	const char *id = pv->v[K_ID], *secret = pv->v[K_SECRET];
	const char *token = pv->v[K_TOKEN] ? pv->v[K_TOKEN] : pv->v[K_SECURITY_TOKEN];

	if (!id && !secret)
		return ERR_NOT_FOUND;
	if (!id || !secret)
		return err_set(e, ERR_CREDENTIALS, "profile %s in %s has %s but no %s", pv->name,
		               pv->path, profile_keys[id ? K_ID : K_SECRET],
		               profile_keys[id ? K_SECRET : K_ID]);
	return creds_set(out, id, secret, token, 0, e);
}

static int unsupported(const struct profile_values *pv, int k, struct err *e)
{
	return err_set(e, ERR_CREDENTIALS,
	               "profile %s in %s uses %s, which ebssh does not support; give the profile "
	               "aws_access_key_id and aws_secret_access_key, or set AWS_ACCESS_KEY_ID and "
	               "AWS_SECRET_ACCESS_KEY",
	               pv->name, pv->path, profile_keys[k]);
}

static int from_profile(struct aws_credentials *out, struct err *e)
{
	const char *name = profile_name();
	struct profile_values cred = {PROFILE_SECTION, name, NULL, 0, {0}, NULL};
	struct profile_values conf = {PROFILE_CONFIG, name, NULL, 0, {0}, NULL};
	char *cred_path = NULL, *conf_path = NULL;
	int rc, k;

	rc = profile_credentials_path(&cred_path, e);
	if (rc == 0)
		rc = profile_config_path(&conf_path, e);
	if (rc == ERR_NOT_FOUND) /* no home directory: no files */
		rc = 0;
	if (rc)
		goto out;
	cred.path = cred_path;
	conf.path = conf_path;
	rc = profile_values_load(&cred, e);
	if (rc == 0)
		rc = profile_values_load(&conf, e);
	if (rc)
		goto out;
	/* botocore's order: assume-role, web identity and SSO come before the keys. */
	for (k = K_ROLE_ARN; k <= K_SSO_SESSION; k++) {
		if (cred.v[k] || conf.v[k]) {
			rc = unsupported(cred.v[k] ? &cred : &conf, k, e);
			goto out;
		}
	}
	rc = profile_static(&cred, out, e);
	if (rc != ERR_NOT_FOUND)
		goto out;
	if (cred.v[K_PROCESS] || conf.v[K_PROCESS]) {
		rc = unsupported(cred.v[K_PROCESS] ? &cred : &conf, K_PROCESS, e);
		goto out;
	}
	rc = profile_static(&conf, out, e);
	if (rc != ERR_NOT_FOUND)
		goto out;
	if (credentials_env("AWS_PROFILE") && !cred.seen && !conf.seen)
		rc = err_set(e, ERR_CREDENTIALS, "profile %s (AWS_PROFILE) not found in %s or %s",
		             name, cred_path ? cred_path : "~/.aws/credentials",
		             conf_path ? conf_path : "~/.aws/config");
	else
		rc = err_set(e, ERR_NOT_FOUND, "profile %s: no keys in %s, %s", name,
		             cred.path ? cred.path : "no credentials file",
		             conf.path ? conf.path : "no config file");
out:
	profile_values_free(&cred);
	profile_values_free(&conf);
	free(cred_path);
	free(conf_path);
	return rc;
}

/* ---- the chain -------------------------------------------------------- */

static int fetch_from(struct credentials_provider *p, enum source src, struct aws_credentials *out,
                      struct err *e)
{
	switch (src) {
	case SRC_ENV:
		return from_env(out, e);
	case SRC_PROFILE:
		return from_profile(out, e);
	case SRC_CONTAINER:
		return credentials_from_container(p->http, out, e);
	case SRC_IMDS:
		return credentials_from_imds(p->http, out, e);
	default:
		return err_set(e, ERR_INTERNAL, "no credentials source %d", (int)src);
	}
}

/*
 * Runs the chain (or only the source `only`), filling *out and *from.
 * Sources that are not configured leave a note; the first configured source
 * that fails ends the search, but for IMDS, whose failure is a note too.
 */
static int fetch(struct credentials_provider *p, enum source only, struct aws_credentials *out,
                 enum source *from, struct err *e)
{
	struct buf tried;
	struct err local;
	int rc;

	if (!e)
		e = &local;
	buf_init(&tried, 4096);
	for (enum source s = SRC_ENV; s <= SRC_IMDS; s++) {
		if (only != SRC_NONE && s != only)
			continue;
		err_clear(e);
		rc = fetch_from(p, s, out, e);
		if (rc == 0) {
			*from = s;
			buf_free(&tried);
			return 0;
		}
		if (rc == ERR_NOMEM || (rc != ERR_NOT_FOUND && (s != SRC_IMDS || only == s))) {
			buf_free(&tried);
			if (rc != ERR_NOMEM && rc != ERR_CREDENTIALS) {
				char msg[sizeof(e->message)];

				memcpy(msg, e->message, sizeof(msg));
				rc = err_set(e, ERR_CREDENTIALS, "%s", msg);
			}
			return rc;
		}
		/* the buffer's cap truncates a long list; a failed append empties it */
		if (buf_appendf(&tried, "%s%s", tried.len ? "; " : "", e->message))
			buf_init(&tried, 4096);
	}
	rc = err_set(e, ERR_CREDENTIALS, "no AWS credentials found (%s)", buf_str(&tried));
	buf_free(&tried);
	return rc;
}

struct credentials_provider *credentials_provider_new(struct http_client *http, struct err *e)
{
	struct credentials_provider *p = calloc(1, sizeof(*p));

	if (!p) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	p->http = http;
	return p;
}

void credentials_provider_free(struct credentials_provider *p)
{
	if (!p)
		return;
	aws_credentials_clear(&p->cur);
	free(p);
}

const char *credentials_source(const struct credentials_provider *p)
{
	return source_names[p && p->have ? p->source : SRC_NONE];
}

static int usable(const struct aws_credentials *c, time_t now)
{
	return c->expiration == 0 || c->expiration > now;
}

int credentials_get(struct credentials_provider *p, const struct aws_credentials **out,
                    struct err *e)
{
	struct aws_credentials fresh = {0};
	enum source from = SRC_NONE;
	time_t now = time(NULL);
	int rc;

	*out = NULL;
	if (p->have &&
	    (p->cur.expiration == 0 || p->cur.expiration - now > CREDENTIALS_REFRESH_SECONDS ||
	     (now < p->retry_after && usable(&p->cur, now)))) {
		*out = &p->cur;
		return 0;
	}
	rc = fetch(p, p->have ? p->source : SRC_NONE, &fresh, &from, e);
	if (rc == 0 && !usable(&fresh, now)) {
		rc = err_set(e, ERR_CREDENTIALS, "%s credentials had expired when fetched",
		             source_names[from]);
		aws_credentials_clear(&fresh);
	}
	if (rc == 0) {
		aws_credentials_clear(&p->cur);
		p->cur = fresh;
		p->have = 1;
		p->source = from;
		p->retry_after = 0;
		*out = &p->cur;
		return 0;
	}
	if (p->have && usable(&p->cur, now)) {
		/* keep the old ones while they last; try again a little later */
		p->retry_after = now + CREDENTIALS_RETRY_SECONDS;
		err_clear(e);
		*out = &p->cur;
		return 0;
	}
	return rc;
}
