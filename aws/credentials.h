/*
 * credentials: AWS credentials found as the AWS CLI and SDKs find them.
 *
 * Order: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN;
 * the profile AWS_PROFILE (default "default") of AWS_SHARED_CREDENTIALS_FILE
 * (~/.aws/credentials) and AWS_CONFIG_FILE (~/.aws/config, "[profile x]");
 * container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI
 * against http://169.254.170.2, AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]);
 * IMDSv2 (PUT a token, GET the role, GET its credentials;
 * AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED).
 * A provider caches what it found and fetches again before Expiration.
 */
#ifndef EBSSH_AWS_CREDENTIALS_H
#define EBSSH_AWS_CREDENTIALS_H

#include <time.h>

#include "../util/err.h"

struct http_client;

struct aws_credentials {
	char *access_key_id;      /* owned */
	char *secret_access_key;  /* owned */
	char *session_token;      /* owned; NULL when none */
	time_t expiration;        /* 0 when they do not expire */
};

/* Frees the strings (wiping the secret) and zeroes the struct. */
void aws_credentials_clear(struct aws_credentials *c);

struct credentials_provider;

/* A provider that fetches over http (borrowed; must outlive the provider). */
struct credentials_provider *credentials_provider_new(struct http_client *http, struct err *e);
void credentials_provider_free(struct credentials_provider *p);

/*
 * Current credentials, fetched or refreshed when missing or within five
 * minutes of expiring. *out is borrowed from the provider, valid until the
 * next call. ERR_CREDENTIALS with a message naming what was tried.
 */
int credentials_get(struct credentials_provider *p, const struct aws_credentials **out,
		    struct err *e);

#endif
