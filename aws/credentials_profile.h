/*
 * credentials_profile: the profile part of the credential chain, in
 * botocore 1.43's order and with its rules (botocore/credentials.py):
 *
 *   1. assume-role: the profile has role_arn (and no web_identity_token_file):
 *      source credentials from source_profile (a chain; a loop is an error,
 *      a profile naming itself may use its own static keys) or from
 *      credential_source (Environment, EcsContainer, Ec2InstanceMetadata);
 *      external_id, role_session_name (default botocore-session-<unix time>),
 *      duration_seconds; mfa_serial is refused unless the AWS CLI's cache
 *      holds valid credentials for it; STS AssumeRole;
 *   2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE / AWS_ROLE_ARN /
 *      AWS_ROLE_SESSION_NAME (each before the profile's web_identity_token_file,
 *      role_arn, role_session_name; the variables are ignored for a profile
 *      chosen explicitly and for source profiles); AssumeRoleWithWebIdentity;
 *   3. SSO: sso_account_id or sso_role_name, with sso_session (its
 *      [sso-session X] section) or the legacy sso_start_url + sso_region;
 *   4. the credentials file's keys; 5. credential_process; 6. the config
 *      file's keys.
 *
 * The files are read whole each time (a profile's keys from the credentials
 * file override the config file's, as botocore merges them). Assumed-role,
 * web-identity and SSO credentials go through the CLI's disk cache
 * (credentials_cache.h), consulted before any source is resolved, so a
 * valid entry costs no process, STS, portal or metadata call. Internal to
 * aws/credentials*.c.
 */
#ifndef EBSSH_AWS_CREDENTIALS_PROFILE_H
#define EBSSH_AWS_CREDENTIALS_PROFILE_H

#include "../util/err.h"
#include "credentials.h"
#include "http.h"

/*
 * Credentials of profile (NULL: AWS_PROFILE, else "default"); explicit: the
 * profile was named by the caller (the environment's web identity variables
 * are then ignored, as botocore ignores them). *method receives botocore's
 * name of the source that answered ("assume-role", "sso", ...). 0;
 * ERR_NOT_FOUND when the profile configures nothing (the chain goes on);
 * ERR_CREDENTIALS naming the profile and what is missing; ERR_NOMEM.
 */
int credentials_from_profile(struct http_client *http, const char *profile, int explicit,
                             struct aws_credentials *out, const char **method, struct err *e);

/* The environment's keys (AWS_ACCESS_KEY_ID, ...): 0, ERR_NOT_FOUND, ERR_CREDENTIALS. */
int credentials_from_env(struct aws_credentials *out, struct err *e);

#endif
