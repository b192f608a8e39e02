/*
 * sso_oidc: IAM Identity Center OIDC's CreateToken with the refresh_token
 * grant, the call botocore's SSOTokenProvider makes to renew the access
 * token `aws sso login` cached for an sso_session (the token lasts about an
 * hour; the registration and its refresh token for much longer).
 *
 * POST <endpoint>/token, unsigned, rest-json: {"clientId", "clientSecret",
 * "grantType": "refresh_token", "refreshToken"}; the answer {"accessToken",
 * "tokenType", "expiresIn", "refreshToken"?, "idToken"?}. The endpoint is
 * https://oidc.<sso_region>.amazonaws.com, or AWS_ENDPOINT_URL_SSO_OIDC /
 * AWS_ENDPOINT_URL (botocore's service id "SSO OIDC").
 *
 * Every string here is a secret: the request body and the answer are wiped
 * before they are freed, and no message quotes them.
 */
#ifndef EBSSH_AWS_SSO_OIDC_H
#define EBSSH_AWS_SSO_OIDC_H

#include <stddef.h>

#include "../util/err.h"
#include "http.h"

struct sso_oidc_token {
	char *access_token;  /* malloc'd */
	char *refresh_token; /* malloc'd; NULL when the answer had none */
	long expires_in;     /* seconds, > 0 */
};

/* A CreateToken answer's JSON into *out (sso_oidc_token_free it). ERR_PARSE
 * without a non-empty accessToken or a positive integer expiresIn, ERR_NOMEM. */
int sso_oidc_token_parse(const char *body, size_t len, struct sso_oidc_token *out, struct err *e);

/* One CreateToken call in region. 0 and *out filled; ERR_AWS with OIDC's
 * code (InvalidGrantException for a refresh token it no longer accepts,
 * InvalidClientException, ExpiredTokenException, ...) and the HTTP status;
 * ERR_NETWORK, ERR_INVALID (endpoint or region), ERR_PARSE, ERR_NOMEM. */
int sso_oidc_refresh(struct http_client *http, const char *region, const char *client_id,
                     const char *client_secret, const char *refresh_token,
                     struct sso_oidc_token *out, struct err *e);

/* Wipes and frees out's strings; a zeroed struct is fine. */
void sso_oidc_token_free(struct sso_oidc_token *t);

#endif
