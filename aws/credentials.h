/*
 * credentials: AWS credentials found as the AWS CLI and SDKs find them
 * (botocore 1.43's chain; docs/credentials.md).
 *
 * Order: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (not
 * when the caller names the profile, as botocore skips them then); the
 * profile AWS_PROFILE (default "default") of AWS_SHARED_CREDENTIALS_FILE
 * (~/.aws/credentials) and AWS_CONFIG_FILE (~/.aws/config): assume-role
 * (source_profile chains, credential_source), web identity (also from
 * AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), IAM Identity Center (SSO),
 * the credentials file's keys, credential_process, the config file's keys
 * (credentials_profile.h); container credentials
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI against
 * http://169.254.170.2, AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]); IMDSv2
 * (PUT a token, GET the role, GET its credentials;
 * AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED).
 * Assumed-role, web-identity and SSO credentials are shared with the AWS CLI
 * through its disk cache, ~/.aws/cli/cache (credentials_cache.h).
 *
 * Behaviour as botocore's: a source that is configured but broken (only one
 * of the two keys, a container endpoint that fails, a role profile whose
 * source is missing, an expired SSO login) is an error naming the profile
 * and what is missing, not a reason to look further; IMDS failing means "no
 * credentials". Refreshing uses the source that answered first, as
 * botocore's RefreshableCredentials: temporary credentials are fetched again
 * when they expire within CREDENTIALS_REFRESH_SECONDS (advisory: a failure
 * keeps the old ones, and the next try waits CREDENTIALS_RETRY_SECONDS);
 * within CREDENTIALS_MANDATORY_SECONDS a failed refresh is an error.
 * IMDS is IMDSv2 only (no tokenless fallback), 1 s timeouts and one attempt
 * unless AWS_METADATA_SERVICE_TIMEOUT / AWS_METADATA_SERVICE_NUM_ATTEMPTS say
 * otherwise; the container endpoint gets 3 attempts on 5xx or network errors.
 * Container credentials may come over http only from loopback, 169.254.170.2,
 * 169.254.170.23 or fd00:ec2::23 (any host over https).
 * Test seam: EBSSH_CONTAINER_CREDENTIALS_BASE replaces http://169.254.170.2
 * as the base of AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.
 * A provider is not thread-safe: one per thread, like its http_client (an
 * aws_client owns one of each and is itself one per thread); processes
 * share credentials through the disk cache, whose writes are atomic.
 */
#ifndef EBSSH_AWS_CREDENTIALS_H
#define EBSSH_AWS_CREDENTIALS_H

#include <stddef.h>
#include <time.h>

#include "../util/err.h"

struct http_client;

/* botocore's advisory refresh window: refresh when they expire within this. */
#define CREDENTIALS_REFRESH_SECONDS 900 /* 15 minutes */
/* botocore's mandatory window: within it a failed refresh is an error. */
#define CREDENTIALS_MANDATORY_SECONDS 600 /* 10 minutes */
/* After a failed refresh that kept the old credentials, wait this long. */
#define CREDENTIALS_RETRY_SECONDS 10

struct aws_credentials {
	char *access_key_id;     /* owned */
	char *secret_access_key; /* owned */
	char *session_token;     /* owned; NULL when none */
	time_t expiration;       /* 0 when they do not expire */
};

/* Frees the strings (wiping the secret) and zeroes the struct. */
void aws_credentials_clear(struct aws_credentials *c);

struct credentials_provider;

/* A provider that fetches over http (borrowed; must outlive the provider).
 * http may be NULL: then only the environment and the profile are tried. */
struct credentials_provider *credentials_provider_new(struct http_client *http, struct err *e);
void credentials_provider_free(struct credentials_provider *p);

/* A provider for the profile the caller names (as the CLI's --profile):
 * the environment's keys and web identity variables are not used. profile
 * NULL is credentials_provider_new. */
struct credentials_provider *credentials_provider_new_profile(struct http_client *http,
                                                              const char *profile, struct err *e);

/*
 * Current credentials, fetched or refreshed when missing or within
 * CREDENTIALS_REFRESH_SECONDS of expiring. *out is borrowed from the provider, valid until the
 * next call. ERR_CREDENTIALS with a message naming what was tried.
 */
int credentials_get(struct credentials_provider *p, const struct aws_credentials **out,
                    struct err *e);

/* Where the current credentials came from: "environment", "profile",
 * "container", "imds", or "none" before the first success. */
const char *credentials_source(const struct credentials_provider *p);

/* The same as botocore's method names: "env", "assume-role",
 * "assume-role-with-web-identity", "sso", "shared-credentials-file",
 * "custom-process", "config-file", "container-role", "iam-role"; "none". */
const char *credentials_method(const struct credentials_provider *p);

/*
 * Parses the JSON of the container endpoint or of IMDS (AccessKeyId,
 * SecretAccessKey, Token, Expiration; a "Code" other than "Success" is an
 * error, and so is a missing Code when require_code). Fills *out (owned by
 * the caller, aws_credentials_clear it) only on success. ERR_PARSE for bad
 * JSON or a missing key, ERR_CREDENTIALS for an error Code, ERR_NOMEM.
 */
int credentials_parse_json(const char *body, size_t len, int require_code,
                           struct aws_credentials *out, struct err *e);

/* An ISO 8601 UTC time ("2024-05-01T12:00:00Z", fractions and +hh:mm offsets
 * allowed) as a time_t. 0 or ERR_PARSE. */
int credentials_parse_time(const char *s, time_t *out);

#endif
