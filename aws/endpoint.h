/*
 * endpoint: the region and each service's endpoint URL, resolved as the AWS
 * CLI and SDKs resolve them.
 *
 * Region: AWS_REGION, then AWS_DEFAULT_REGION, then "region" in the profile
 * (AWS_PROFILE, default "default") of AWS_CONFIG_FILE (~/.aws/config).
 * Endpoint: AWS_ENDPOINT_URL_<ID>, then AWS_ENDPOINT_URL, then the profile's
 * "services" section entry "<id> = endpoint_url = ...", then the profile's
 * "endpoint_url", then https://<prefix>.<region>.amazonaws.com (".com.cn" in
 * the cn-* regions). AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips all but
 * the last. http:// endpoints are allowed (tests and local doubles use them).
 */
#ifndef EBSSH_AWS_ENDPOINT_H
#define EBSSH_AWS_ENDPOINT_H

#include "../util/err.h"

/* 1 when region is a valid name (botocore's rule: 1 to 63 letters, digits
 * and hyphens, not all digits, no leading or trailing hyphen), else 0. */
int endpoint_region_is_valid(const char *region);

/* The region in use, malloc'd in *out. ERR_NOT_FOUND when none is set anywhere,
 * ERR_INVALID when the one found is not a valid name, ERR_PARSE for a broken
 * config file, ERR_IO, ERR_NOMEM; the message names where it looked. */
int endpoint_region(char **out, struct err *e);

/*
 * The base URL (no trailing '/') of a service, malloc'd in *out.
 * service_id: the upper-case ID of the environment variable ("EC2",
 * "CLOUDWATCH_LOGS", "LAMBDA", "CLOUDWATCH"), lower-cased for the config's
 * services section; prefix: the endpoint prefix ("ec2", "logs", "lambda",
 * "monitoring"); region: needed only for the default endpoint.
 * ERR_INVALID for a configured URL that is not http(s)://host[:port][/path]
 * or a missing or invalid region; ERR_PARSE, ERR_IO, ERR_NOMEM.
 */
int endpoint_url(const char *service_id, const char *prefix, const char *region, char **out,
                 struct err *e);

/* Checks that url is an absolute http:// or https:// URL with a host and no
 * query or fragment, and gives it back malloc'd without trailing '/'s. */
int endpoint_normalize(const char *url, char **out, struct err *e);

/* The Host header value of url: its host, lowercase, with ":port" only when
 * the port is not the scheme's default (as SigV4 signs it). Parsed by
 * libcurl's URL API. ERR_INVALID, ERR_NOMEM. */
int endpoint_host_header(const char *url, char **out, struct err *e);

#endif
