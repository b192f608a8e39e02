/*
 * credentials_sso: IAM Identity Center (SSO) role credentials, as botocore's
 * SSOProvider gets them: the access token `aws sso login` cached in
 * ~/.aws/sso/cache/<SHA-1 hex of the sso_session name, or of the start URL
 * for the legacy form>.json ({"accessToken", "expiresAt", ...}), then the
 * portal's GetRoleCredentials (GET <portal>/federation/credentials?
 * role_name=&account_id= with the header x-amz-sso_bearer_token, unsigned;
 * the portal is https://portal.sso.<sso_region>.amazonaws.com, or
 * AWS_ENDPOINT_URL_SSO / AWS_ENDPOINT_URL).
 *
 * For an sso_session, a token with less than 15 minutes left is refreshed
 * first, as botocore's SSOTokenProvider does: CreateToken (sso_oidc.h) with
 * the file's refreshToken, clientId and clientSecret while its
 * registrationExpiresAt is ahead, and the new token written back over the
 * file in botocore's form (credentials_write_private). A failed refresh
 * keeps a token that is still valid. An expired token that is not
 * refreshed, a missing one, or the portal's 401 ask the user to run `aws
 * sso login --profile X`. Internal to aws/credentials*.c.
 */
#ifndef EBSSH_AWS_CREDENTIALS_SSO_H
#define EBSSH_AWS_CREDENTIALS_SSO_H

#include <stddef.h>
#include <time.h>

#include "../util/err.h"
#include "credentials.h"
#include "http.h"

struct sso_config {
	const char *profile;      /* for messages */
	const char *session_name; /* NULL for the legacy form */
	const char *start_url;
	const char *region;
	const char *account_id;
	const char *role_name;
};

/* The token file's JSON: *token (malloc'd) and *expires. ERR_PARSE, ERR_NOMEM. */
int credentials_sso_token_parse(const char *body, size_t len, char **token, time_t *expires,
                                struct err *e);

/* GetRoleCredentials' answer {"roleCredentials": {..., "expiration": ms}}. */
int credentials_sso_role_parse(const char *body, size_t len, struct aws_credentials *out,
                               struct err *e);

/* Reads the cached token and asks the portal. ERR_CREDENTIALS with the
 * message naming the profile and `aws sso login`, ERR_AWS, ERR_NETWORK, ... */
int credentials_sso_get(struct http_client *http, const struct sso_config *c, time_t now,
                        struct aws_credentials *out, struct err *e);

#endif
