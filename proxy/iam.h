/*
 * iam: what `--auth iam` adds to a request to the lookup service: a SigV4
 * signature for the service "execute-api" (API Gateway's AWS_IAM
 * authorization) with the user's AWS identity.
 *
 * Credentials: the profile config.h chose (--aws-profile or aws_profile:
 * that profile only, as the AWS CLI's --profile; AWS_PROFILE or nothing:
 * the whole default chain), through aws/credentials.h, whose disk cache
 * (~/.aws/cli/cache) spares a new process the STS or portal call while
 * assumed-role or SSO credentials are valid.
 *
 * Region, the first that has one: --aws-region / aws_region; the
 * endpoint's host when it is API Gateway's own,
 * <api-id>.execute-api.<region>.amazonaws.com (".com.cn"; and the VPC
 * endpoint form <api-id>-<vpce-id>.execute-api.<region>.vpce.amazonaws.com);
 * AWS_REGION; AWS_DEFAULT_REGION; `region` of the profile in
 * ~/.aws/config. A custom domain name with none of these is an error that
 * says how to give one.
 *
 * Signature (aws/sigv4.h, as botocore's SigV4Auth for execute-api): the
 * method, the path as sent (normalised and encoded once more, as botocore
 * does for every service but S3), the query canonicalised, and every header
 * sent but User-Agent: Host (sent explicitly, the value signed), Accept,
 * x-api-key when there is one, X-Amz-Date, and X-Amz-Security-Token for
 * temporary credentials. The body is empty.
 */
#ifndef EBSSH_PROXY_IAM_H
#define EBSSH_PROXY_IAM_H

#include <stddef.h>
#include <time.h>

#include "../aws/credentials.h"
#include "../aws/http.h"
#include "../util/err.h"
#include "config.h"

#define IAM_SERVICE "execute-api"

struct iam {
	struct credentials_provider *provider; /* owned */
	char *region;                          /* owned */
	char *host;                            /* owned: the endpoint's Host header */
	char *profile;                         /* owned: for messages ("default chain" when NULL) */
	const char *region_from;               /* static: where the region came from */
};

/* The headers iam_sign adds; valid until iam_signature_free. */
struct iam_signature {
	char amz_date[17];
	char *authorization;       /* owned */
	const char *session_token; /* borrowed from the provider; NULL when none */
	const char *host;          /* borrowed from the iam */
};

/*
 * The region of an API Gateway host (lowercase, an optional ":port"
 * ignored) into out (cap bytes): 1 when host is one of the forms above
 * with a valid region, else 0. Pure.
 */
int iam_region_of_host(const char *host, char *out, size_t cap);

/*
 * Finds the region (the order above) for cfg's endpoint, whose Host header
 * is host: a new string in *out and in *from a static text saying where it
 * came from. ERR_NOT_FOUND with the way to give one when there is none.
 */
int iam_region(const struct config *cfg, const char *host, char **out, const char **from,
               struct err *e);

/* Prepares a zeroed a for cfg: the Host and the region (no I/O but the AWS
 * config file when the region must come from a profile). Errors say what
 * to give; a is then closed. */
int iam_prepare(struct iam *a, const struct config *cfg, struct err *e);

/* Makes a prepared a ready to sign: a credentials provider over http
 * (borrowed; outlives a) for cfg's profile. Fetches nothing yet. */
int iam_start(struct iam *a, const struct config *cfg, struct http_client *http, struct err *e);

/* Frees what a owns; a zeroed iam is fine. */
void iam_close(struct iam *a);

/*
 * Signs the request method url (absolute, as sent) with the headers h
 * (without Host; all signed, User-Agent excepted) at now, with the current
 * credentials (fetched or refreshed here). ERR_CREDENTIALS naming the
 * profile when there are none; ERR_INVALID for a URL that cannot be signed.
 */
int iam_sign(struct iam *a, const char *method, const char *url, const struct http_header *h,
             size_t n, time_t now, struct iam_signature *out, struct err *e);

void iam_signature_free(struct iam_signature *s);

#endif
