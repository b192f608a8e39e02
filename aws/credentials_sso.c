/* credentials_sso: IAM Identity Center role credentials; see credentials_sso.h. */
#include "credentials_sso.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/version.h"
#include "credentials_cache.h"
#include "credentials_remote.h"
#include "endpoint.h"
#include "errors.h"
#include "profile.h"
#include "sso_oidc.h"
#include "uri.h"

/* botocore's SSOTokenProvider._REFRESH_WINDOW: refresh a token with less left. */
#define SSO_REFRESH_WINDOW ((time_t)15 * 60)

int credentials_sso_token_parse(const char *body, size_t len, char **token, time_t *expires,
                                struct err *e)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	const char *t = credentials_json_str(root, "accessToken");
	const char *x = credentials_json_str(root, "expiresAt");
	int rc = 0;

	*token = NULL;
	if (!json_is_object(root))
		rc = err_set(e, ERR_PARSE, "not a JSON object");
	else if (!t || !*t || !x)
		rc = err_set(e, ERR_PARSE, "no %s", !t || !*t ? "accessToken" : "expiresAt");
	else if (credentials_parse_time(x, expires))
		rc = err_set(e, ERR_PARSE, "a bad expiresAt");
	else if (!(*token = strdup(t)))
		rc = err_set(e, ERR_NOMEM, "out of memory");
	credentials_json_wipe(root);
	json_decref(root);
	return rc;
}

int credentials_sso_role_parse(const char *body, size_t len, struct aws_credentials *out,
                               struct err *e)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *rc_obj = json_object_get(root, "roleCredentials");
	const char *id = credentials_json_str(rc_obj, "accessKeyId");
	const char *secret = credentials_json_str(rc_obj, "secretAccessKey");
	const char *token = credentials_json_str(rc_obj, "sessionToken");
	json_t *exp = json_object_get(rc_obj, "expiration");
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(rc_obj) || !id || !*id || !secret || !*secret || !token ||
	    !json_is_number(exp)) {
		rc = err_set(e, ERR_PARSE,
		             "GetRoleCredentials answer lacks roleCredentials (accessKeyId, "
		             "secretAccessKey, sessionToken, expiration)");
		goto out;
	}
	rc = credentials_set(out, id, secret, token, (time_t)(json_number_value(exp) / 1000.0), e);
out:
	credentials_json_wipe(rc_obj);
	json_decref(root);
	return rc;
}

static int login_needed(const struct sso_config *c, const char *why, struct err *e)
{
	return err_set(e, ERR_CREDENTIALS, "profile %s: %s; run aws sso login --profile %s",
	               c->profile, why, c->profile);
}

/* The new cache file, in botocore's SSOTokenProvider's order and form:
 * json.dumps of {"startUrl", "region", "accessToken", "expiresAt" (now +
 * expiresIn, "...Z"), "clientId", "clientSecret", "registrationExpiresAt",
 * "refreshToken" when the answer had one}. */
static char *token_file_text(const struct sso_config *c, const struct sso_oidc_token *t, time_t now,
                             const char *client_id, const char *client_secret,
                             const char *registration_expires)
{
	char when[24], *text;
	json_t *root;

	credentials_format_time(now + t->expires_in, when);
	root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "startUrl", c->start_url, "region",
	                 c->region, "accessToken", t->access_token, "expiresAt", when, "clientId",
	                 client_id, "clientSecret", client_secret, "registrationExpiresAt",
	                 registration_expires);
	if (root && t->refresh_token &&
	    json_object_set_new(root, "refreshToken", json_string(t->refresh_token)) != 0) {
		credentials_json_wipe(root);
		json_decref(root);
		return NULL;
	}
	text = root ? json_dumps(root, JSON_ENSURE_ASCII) : NULL;
	credentials_json_wipe(root);
	json_decref(root);
	return text;
}

/*
 * botocore's SSOTokenProvider._refresh_access_token: with the cache file's
 * refreshToken, clientId, clientSecret and a registrationExpiresAt still in
 * the future, CreateToken; then the new token is written over path (a
 * failed write is a warning: the token is good). 0 with *token and
 * *expires replaced, else an error saying why (ERR_NOT_FOUND: nothing to
 * refresh with).
 */
static int refresh(struct http_client *http, const struct sso_config *c, const char *path,
                   const char *text, size_t len, time_t now, char **token, time_t *expires,
                   struct err *e)
{
	json_t *root = json_loadb(text, len, 0, NULL);
	const char *refresh_token = credentials_json_str(root, "refreshToken");
	const char *client_id = credentials_json_str(root, "clientId");
	const char *client_secret = credentials_json_str(root, "clientSecret");
	const char *registration = credentials_json_str(root, "registrationExpiresAt");
	struct sso_oidc_token fresh = {0};
	char *file = NULL;
	time_t registration_expires = 0;
	struct err local;
	int rc;

	if (!refresh_token || !client_id || !client_secret || !registration)
		rc = err_set(e, ERR_NOT_FOUND, "the token file has no refresh token");
	else if (credentials_parse_time(registration, &registration_expires))
		rc = err_set(e, ERR_PARSE, "the token file's registrationExpiresAt is not a time");
	else if (registration_expires <= now)
		rc = err_set(e, ERR_NOT_FOUND, "the client registration expired at %s",
		             registration);
	else if (!http)
		rc = err_set(e, ERR_INTERNAL, "no HTTP client to refresh the token with");
	else
		rc = sso_oidc_refresh(http, c->region, client_id, client_secret, refresh_token,
		                      &fresh, e);
	if (rc)
		goto out;
	file = token_file_text(c, &fresh, now, client_id, client_secret, registration);
	if (!file) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (credentials_write_private(path, file, strlen(file), &local) != 0)
		credentials_warn("profile %s: %s; the refreshed SSO token is used but not saved",
		                 c->profile, local.message);
	credentials_wipe_free(*token);
	*token = fresh.access_token;
	fresh.access_token = NULL;
	*expires = now + fresh.expires_in;
out:
	credentials_wipe_free(file);
	sso_oidc_token_free(&fresh);
	credentials_json_wipe(root);
	json_decref(root);
	return rc;
}

/* The token of the cache file, refreshed when it has less than
 * SSO_REFRESH_WINDOW left (sso_session only, as botocore), or the error
 * asking for a login. */
static int load_token(struct http_client *http, const struct sso_config *c, time_t now,
                      char **token, struct err *e)
{
	const char *name = c->session_name ? c->session_name : c->start_url;
	char hex[41], rel[80], why[1400], *path = NULL, *text = NULL;
	struct err local, refresh_err;
	time_t expires = 0;
	size_t len = 0;
	int rc, refresh_rc = 0;

	*token = NULL;
	rc = credentials_sha1_hex(name, strlen(name), hex, e);
	if (rc)
		return rc;
	snprintf(rel, sizeof(rel), ".aws/sso/cache/%s.json", hex);
	rc = profile_path(NULL, rel, &path, e);
	if (rc)
		return rc == ERR_NOMEM ? rc : ERR_CREDENTIALS;
	rc = profile_read_file(path, &text, &len, &local);
	if (rc == ERR_NOMEM) {
		rc = err_set(e, rc, "out of memory");
	} else if (rc) {
		snprintf(why, sizeof(why), "no SSO token for %s %s (%s)",
		         c->session_name ? "sso_session" : "sso_start_url", name,
		         rc == ERR_NOT_FOUND ? path : local.message);
		rc = login_needed(c, why, e);
	} else {
		rc = credentials_sso_token_parse(text, len, token, &expires, &local);
		if (rc == ERR_NOMEM) {
			rc = err_set(e, rc, "out of memory");
		} else if (rc) {
			snprintf(why, sizeof(why), "the SSO token in %s is unreadable (%s)", path,
			         local.message);
			rc = login_needed(c, why, e);
		} else {
			if (c->session_name && expires - now < SSO_REFRESH_WINDOW)
				refresh_rc = refresh(http, c, path, text, len, now, token, &expires,
				                     &refresh_err);
			if (refresh_rc == ERR_NOMEM) {
				rc = err_set(e, ERR_NOMEM, "out of memory");
			} else if (expires <= now && refresh_rc) {
				snprintf(why, sizeof(why),
				         "the SSO session has expired (not refreshed: %s)",
				         refresh_err.message);
				rc = login_needed(c, why, e);
			} else if (expires <= now) {
				rc = login_needed(c, "the SSO session has expired", e);
			}
			if (rc) {
				credentials_wipe_free(*token);
				*token = NULL;
			}
		}
	}
	if (text) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	free(path);
	return rc;
}

int credentials_sso_get(struct http_client *http, const struct sso_config *c, time_t now,
                        struct aws_credentials *out, struct err *e)
{
	char *token = NULL, *base = NULL;
	struct http_header hh[3];
	struct http_request req = {0};
	struct http_response resp;
	struct err local;
	struct buf url;
	int rc;

	if (!e)
		e = &local;
	memset(out, 0, sizeof(*out));
	buf_init(&url, (size_t)16 << 10);
	http_response_init(&resp);
	rc = load_token(http, c, now, &token, e);
	if (rc)
		goto out;
	if (!http) {
		rc = err_set(e, ERR_CREDENTIALS, "profile %s: SSO needs HTTP", c->profile);
		goto out;
	}
	rc = endpoint_url("SSO", "portal.sso", c->region, &base, e);
	if (rc) {
		err_prefix(e, "profile %s: sso_region", c->profile);
		rc = rc == ERR_NOMEM ? rc : ERR_CREDENTIALS;
		goto out;
	}
	rc = buf_appendf(&url, "%s/federation/credentials?role_name=", base);
	if (!rc)
		rc = uri_encode(&url, c->role_name, strlen(c->role_name), 0);
	if (!rc)
		rc = buf_append_str(&url, "&account_id=");
	if (!rc)
		rc = uri_encode(&url, c->account_id, strlen(c->account_id), 0);
	if (rc) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	hh[0] = (struct http_header){"x-amz-sso_bearer_token", token};
	hh[1] = (struct http_header){"Accept", "application/json"};
	hh[2] = (struct http_header){"User-Agent", "ebssh/" EBSSH_VERSION};
	req.method = "GET";
	req.url = url.data;
	req.headers = hh;
	req.n_headers = 3;
	req.connect_timeout_ms = 2000;
	req.timeout_ms = 8000;
	req.max_response = (size_t)64 << 10;
	rc = http_send(http, &req, &resp, e);
	if (rc == 0 && resp.status == 200) {
		rc = credentials_sso_role_parse(resp.body.data, resp.body.len, out, e);
	} else if (rc == 0 && (resp.status == 401 || resp.status == 403)) {
		rc = login_needed(c, "the SSO portal refused the token (expired or signed out)", e);
		goto out;
	} else if (rc == 0) {
		errors_parse(1, resp.status, resp.body.data, resp.body.len,
		             http_response_header(&resp, "x-amzn-ErrorType"),
		             http_response_header(&resp, "x-amzn-RequestId"), e);
		rc = ERR_AWS;
	}
	if (rc)
		err_prefix(e, "profile %s: SSO GetRoleCredentials (%s)", c->profile, base);
out:
	credentials_response_wipe_free(&resp);
	credentials_wipe_free(token);
	buf_free(&url);
	free(base);
	return rc;
}
