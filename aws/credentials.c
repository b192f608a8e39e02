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
#include "credentials_profile.h"
#include "profile.h"

enum source { SRC_NONE, SRC_ENV, SRC_PROFILE, SRC_CONTAINER, SRC_IMDS };

static const char *const source_names[] = {"none", "environment", "profile", "container", "imds"};

struct credentials_provider {
	struct http_client *http; /* borrowed; NULL: no network sources */
	char *profile;            /* named by the caller; NULL: AWS_PROFILE or "default" */
	const char *method;       /* botocore's name of what answered (static string) */
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
int credentials_set(struct aws_credentials *c, const char *id, const char *secret,
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

void credentials_json_wipe(json_t *obj)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return;
	json_object_foreach(obj, k, v)
	{
		json_wipe(v);
	}
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
	rc = credentials_set(out, id, secret, token, expiration, e);
out:
	json_wipe(json_object_get(root, "SecretAccessKey"));
	json_wipe(json_object_get(root, "Token"));
	json_decref(root);
	return rc;
}

/* ---- the chain -------------------------------------------------------- */

static int fetch_from(struct credentials_provider *p, enum source src, struct aws_credentials *out,
                      const char **method, struct err *e)
{
	switch (src) {
	case SRC_ENV:
		*method = "env";
		/* botocore drops the environment's keys when the profile is named explicitly */
		return p->profile ? err_set(e, ERR_NOT_FOUND,
		                            "environment: not used (profile %s named)", p->profile)
		                  : credentials_from_env(out, e);
	case SRC_PROFILE:
		return credentials_from_profile(p->http, p->profile, p->profile != NULL, out,
		                                method, e);
	case SRC_CONTAINER:
		*method = "container-role";
		return credentials_from_container(p->http, out, e);
	case SRC_IMDS:
		*method = "iam-role";
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
                 enum source *from, const char **method, struct err *e)
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
		rc = fetch_from(p, s, out, method, e);
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

struct credentials_provider *credentials_provider_new_profile(struct http_client *http,
                                                              const char *profile, struct err *e)
{
	struct credentials_provider *p = credentials_provider_new(http, e);

	if (p && profile) {
		p->profile = strdup(profile);
		if (!p->profile) {
			err_set(e, ERR_NOMEM, "out of memory");
			credentials_provider_free(p);
			return NULL;
		}
	}
	return p;
}

void credentials_provider_free(struct credentials_provider *p)
{
	if (!p)
		return;
	aws_credentials_clear(&p->cur);
	free(p->profile);
	free(p);
}

const char *credentials_source(const struct credentials_provider *p)
{
	return source_names[p && p->have ? p->source : SRC_NONE];
}

const char *credentials_method(const struct credentials_provider *p)
{
	return p && p->have && p->method ? p->method : "none";
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
	const char *method = NULL;
	time_t now = time(NULL), left = p->cur.expiration - now;
	int rc;

	*out = NULL;
	/* botocore's RefreshableCredentials: no refresh before the advisory window;
	 * in it, a failed refresh keeps what is still outside the mandatory one. */
	if (p->have && (p->cur.expiration == 0 || left >= CREDENTIALS_REFRESH_SECONDS ||
	                (now < p->retry_after && left >= CREDENTIALS_MANDATORY_SECONDS))) {
		*out = &p->cur;
		return 0;
	}
	rc = fetch(p, p->have ? p->source : SRC_NONE, &fresh, &from, &method, e);
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
		p->method = method;
		p->retry_after = 0;
		*out = &p->cur;
		return 0;
	}
	if (p->have && left >= CREDENTIALS_MANDATORY_SECONDS) {
		/* keep the old ones in the advisory window; try again a little later */
		p->retry_after = now + CREDENTIALS_RETRY_SECONDS;
		err_clear(e);
		*out = &p->cur;
		return 0;
	}
	return rc;
}
