/* sso_oidc: the SSO access token's refresh (CreateToken); see sso_oidc.h. */
#include "sso_oidc.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/version.h"
#include "credentials_remote.h"
#include "endpoint.h"
#include "errors.h"

#define SSO_OIDC_MAX_ANSWER ((size_t)64 << 10)

int sso_oidc_token_parse(const char *body, size_t len, struct sso_oidc_token *out, struct err *e)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	const char *access = credentials_json_str(root, "accessToken");
	const char *refresh = credentials_json_str(root, "refreshToken");
	json_t *expires = json_object_get(root, "expiresIn");
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(root))
		rc = err_set(e, ERR_PARSE, "CreateToken's answer is not a JSON object");
	else if (!access || !*access)
		rc = err_set(e, ERR_PARSE, "CreateToken's answer has no accessToken");
	else if (!json_is_integer(expires) || json_integer_value(expires) <= 0 ||
	         json_integer_value(expires) > 366L * 24 * 3600)
		rc = err_set(e, ERR_PARSE, "CreateToken's answer has no valid expiresIn");
	else if (!(out->access_token = strdup(access)) ||
	         (refresh && *refresh && !(out->refresh_token = strdup(refresh))))
		rc = err_set(e, ERR_NOMEM, "out of memory");
	else
		out->expires_in = (long)json_integer_value(expires);
	if (rc)
		sso_oidc_token_free(out);
	credentials_json_wipe(root);
	json_decref(root);
	return rc;
}

/* {"clientId", "clientSecret", "grantType", "refreshToken"} in *out, malloc'd. */
static int request_body(const char *client_id, const char *client_secret, const char *refresh_token,
                        char **out, size_t *len, struct err *e)
{
	json_t *root =
	    json_pack("{s:s, s:s, s:s, s:s}", "clientId", client_id, "clientSecret", client_secret,
	              "grantType", "refresh_token", "refreshToken", refresh_token);

	*out = NULL;
	if (!root)
		return err_set(e, ERR_INVALID,
		               "the SSO token's clientId, clientSecret or "
		               "refreshToken is not UTF-8");
	*out = json_dumps(root, JSON_COMPACT);
	credentials_json_wipe(root);
	json_decref(root);
	if (!*out)
		return err_set(e, ERR_NOMEM, "out of memory");
	*len = strlen(*out);
	return 0;
}

int sso_oidc_refresh(struct http_client *http, const char *region, const char *client_id,
                     const char *client_secret, const char *refresh_token,
                     struct sso_oidc_token *out, struct err *e)
{
	char *base = NULL, *body = NULL, *url = NULL;
	struct http_header hh[3];
	struct http_request req;
	struct http_response resp;
	size_t body_len = 0, n;
	int rc;

	memset(out, 0, sizeof(*out));
	http_response_init(&resp);
	rc = endpoint_url("SSO_OIDC", "oidc", region, &base, e);
	if (rc)
		goto out;
	n = strlen(base) + sizeof("/token");
	url = malloc(n);
	if (!url) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(url, n, "%s/token", base);
	rc = request_body(client_id, client_secret, refresh_token, &body, &body_len, e);
	if (rc)
		goto out;
	hh[0] = (struct http_header){"Content-Type", "application/json"};
	hh[1] = (struct http_header){"Accept", "application/json"};
	hh[2] = (struct http_header){"User-Agent", "ebssh/" EBSSH_VERSION};
	req = (struct http_request){.method = "POST",
	                            .url = url,
	                            .headers = hh,
	                            .n_headers = 3,
	                            .body = body,
	                            .body_len = body_len,
	                            .connect_timeout_ms = 2000,
	                            .timeout_ms = 8000,
	                            .max_response = SSO_OIDC_MAX_ANSWER};
	rc = http_send(http, &req, &resp, e);
	if (rc == 0 && resp.status == 200)
		rc = sso_oidc_token_parse(resp.body.data, resp.body.len, out, e);
	else if (rc == 0)
		rc = errors_parse(1, resp.status, resp.body.data, resp.body.len,
		                  http_response_header(&resp, "x-amzn-ErrorType"),
		                  http_response_header(&resp, "x-amzn-RequestId"), e);
	if (rc)
		err_prefix(e, "SSO OIDC CreateToken (%s)", base);
out:
	if (body) {
		OPENSSL_cleanse(body, body_len);
		free(body);
	}
	credentials_response_wipe_free(&resp);
	free(url);
	free(base);
	return rc;
}

void sso_oidc_token_free(struct sso_oidc_token *t)
{
	credentials_wipe_free(t->access_token);
	credentials_wipe_free(t->refresh_token);
	t->access_token = NULL;
	t->refresh_token = NULL;
	t->expires_in = 0;
}
