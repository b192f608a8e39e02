/*
 * credentials_sts: the two STS calls of the credential chain, apart from
 * aws/client (whose own credentials they produce): AssumeRole, signed with
 * the source credentials, and AssumeRoleWithWebIdentity, unsigned. Query
 * protocol (form POST, Version 2011-06-15, XML answers). The endpoint is
 * AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL / the profile's, else botocore
 * 1.43's default (sts_regional_endpoints = regional):
 * https://sts.<region>.amazonaws.com, or https://sts.amazonaws.com (signed
 * for us-east-1) when no region is configured. Up to 3 attempts on
 * network errors, 5xx and throttling. Internal to aws/credentials*.c.
 */
#ifndef EBSSH_AWS_CREDENTIALS_STS_H
#define EBSSH_AWS_CREDENTIALS_STS_H

#include <stddef.h>

#include "../util/err.h"
#include "credentials.h"
#include "http.h"

struct sts_role_args {
	const char *role_arn;
	const char *session_name;       /* required by the call: the caller fills a default */
	const char *external_id;        /* NULL: none */
	long duration;                  /* < 0: none (STS's default, one hour) */
	const char *web_identity_token; /* AssumeRoleWithWebIdentity when not NULL */
};

/* Parses an AssumeRole or AssumeRoleWithWebIdentity answer's Credentials.
 * ERR_PARSE (naming the missing field), ERR_NOMEM. */
int credentials_sts_parse(const char *xml, size_t len, struct aws_credentials *out, struct err *e);

/* One call: AssumeRole with source's credentials, or, when
 * a->web_identity_token is set, AssumeRoleWithWebIdentity (source unused).
 * ERR_AWS with STS's code and message, ERR_NETWORK, ERR_PARSE, ... */
int credentials_sts_call(struct http_client *http, const struct aws_credentials *source,
                         const struct sts_role_args *a, struct aws_credentials *out, struct err *e);

#endif
