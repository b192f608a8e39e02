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
#include "uri.h"

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

/* The token of the cache file, or the error asking for a login. */
static int load_token(const struct sso_config *c, time_t now, char **token, struct err *e)
{
	const char *name = c->session_name ? c->session_name : c->start_url;
	char hex[41], rel[80], why[1400], *path = NULL, *text = NULL;
	struct err local;
	time_t expires = 0;
	size_t len = 0;
	int rc;

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
		} else if (expires <= now) {
			credentials_wipe_free(*token);
			*token = NULL;
			rc = login_needed(c, "the SSO session has expired", e);
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
	rc = load_token(c, now, &token, e);
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
