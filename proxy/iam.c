/* iam: SigV4 for execute-api with the user's AWS identity; see iam.h. */
#include "iam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../aws/endpoint.h"
#include "../aws/profile.h"
#include "../aws/sigv4.h"

#define MAX_HEADERS 8

int iam_region_of_host(const char *host, char *out, size_t cap)
{
	static const char *const tails[] = {".amazonaws.com", ".amazonaws.com.cn",
	                                    ".vpce.amazonaws.com"};
	const char *mark = ".execute-api.", *p, *r, *dot, *colon;
	size_t hlen, rlen, i;

	if (!host || !out || cap == 0)
		return 0;
	colon = strchr(host, ':');
	hlen = colon ? (size_t)(colon - host) : strlen(host);
	p = strstr(host, mark);
	if (!p || p == host || (size_t)(p - host) >= hlen)
		return 0;
	r = p + strlen(mark);
	dot = memchr(r, '.', hlen - (size_t)(r - host));
	if (!dot)
		return 0;
	rlen = (size_t)(dot - r);
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		size_t tlen = strlen(tails[i]);

		if ((size_t)(host + hlen - dot) == tlen && memcmp(dot, tails[i], tlen) == 0)
			break;
	}
	if (i == sizeof(tails) / sizeof(tails[0]) || rlen == 0 || rlen >= cap)
		return 0;
	memcpy(out, r, rlen);
	out[rlen] = '\0';
	if (!endpoint_region_is_valid(out)) {
		out[0] = '\0';
		return 0;
	}
	return 1;
}

static int dup_into(char **out, const char *s, struct err *e)
{
	*out = strdup(s);
	return *out ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

/* `region` of profile in the AWS config file: 0 and *out, ERR_NOT_FOUND,
 * or another error naming the file. */
static int profile_region(const char *profile, char **out, struct err *e)
{
	char *path = NULL, *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = profile_config_path(&path, e);
	if (!rc)
		rc = profile_read_file(path, &text, &len, e);
	if (!rc)
		rc = profile_lookup(text, len, PROFILE_CONFIG, profile, "region", NULL, out, e);
	if (rc && rc != ERR_NOT_FOUND)
		err_prefix(e, "%s", path ? path : "~/.aws/config");
	if (!rc && !endpoint_region_is_valid(*out)) {
		rc = err_set(e, ERR_INVALID, "region \"%.64s\" of profile %s in %s is not valid",
		             *out, profile, path);
		free(*out);
		*out = NULL;
	}
	free(path);
	free(text);
	return rc;
}

int iam_region(const struct config *cfg, const char *host, char **out, const char **from,
               struct err *e)
{
	static const char *const vars[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
	const char *profile = cfg->aws_profile ? cfg->aws_profile : profile_name();
	char found[64];
	size_t i;
	int rc;

	*out = NULL;
	if (cfg->aws_region) {
		if (!endpoint_region_is_valid(cfg->aws_region))
			return err_set(e, ERR_INVALID, "%s: \"%.64s\" is not a valid region name",
			               cfg->aws_region_from == CONFIG_FROM_FLAG ? "--aws-region"
			                                                        : "aws_region",
			               cfg->aws_region);
		*from = cfg->aws_region_from == CONFIG_FROM_FLAG ? "--aws-region" : "aws_region";
		return dup_into(out, cfg->aws_region, e);
	}
	if (iam_region_of_host(host, found, sizeof(found))) {
		*from = "the endpoint's host";
		return dup_into(out, found, e);
	}
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (!v || !*v)
			continue;
		if (!endpoint_region_is_valid(v))
			return err_set(e, ERR_INVALID, "%s=\"%.64s\" is not a valid region name",
			               vars[i], v);
		*from = vars[i];
		return dup_into(out, v, e);
	}
	rc = profile_region(profile, out, e);
	if (rc == 0) {
		*from = "the AWS profile";
		return 0;
	}
	if (rc != ERR_NOT_FOUND)
		return rc;
	return err_set(e, ERR_NOT_FOUND,
	               "--auth iam: cannot tell the AWS region of %.200s (not an "
	               "execute-api.<region>.amazonaws.com host): give --aws-region REGION, "
	               "aws_region in the configuration file, or AWS_REGION",
	               host);
}

int iam_prepare(struct iam *a, const struct config *cfg, struct err *e)
{
	int rc;

	memset(a, 0, sizeof(*a));
	rc = endpoint_host_header(cfg->endpoint, &a->host, e);
	if (!rc)
		rc = iam_region(cfg, a->host, &a->region, &a->region_from, e);
	if (!rc && cfg->aws_profile)
		rc = dup_into(&a->profile, cfg->aws_profile, e);
	if (rc)
		iam_close(a);
	return rc;
}

int iam_start(struct iam *a, const struct config *cfg, struct http_client *http, struct err *e)
{
	int rc = 0;

	if (a->provider)
		return 0;
	{
		/* A profile from --aws-profile or the file is that profile alone, as
		 * the CLI's --profile; AWS_PROFILE is the default chain's. */
		if (cfg->aws_profile && cfg->aws_profile_from != CONFIG_FROM_ENV)
			a->provider = credentials_provider_new_profile(http, cfg->aws_profile, e);
		else
			a->provider = credentials_provider_new(http, e);
		if (!a->provider)
			rc = e && e->code ? e->code : ERR_NOMEM;
	}
	return rc;
}

void iam_close(struct iam *a)
{
	credentials_provider_free(a->provider);
	free(a->region);
	free(a->host);
	free(a->profile);
	memset(a, 0, sizeof(*a));
}

/* The path and query of url (absolute, no fragment) into the caller's
 * buffers' pointers: *path points into url (up to '?'), *path_len its
 * length, *query after '?' or NULL. */
static int split_url(const char *url, const char **path, size_t *path_len, const char **query)
{
	const char *p = strstr(url, "://"), *q;

	if (!p)
		return ERR_INVALID;
	p = strchr(p + 3, '/');
	if (!p) {
		*path = "/";
		*path_len = 1;
		q = strchr(url, '?');
		*query = q ? q + 1 : NULL;
		return 0;
	}
	q = strchr(p, '?');
	*path = p;
	*path_len = q ? (size_t)(q - p) : strlen(p);
	*query = q ? q + 1 : NULL;
	return 0;
}

int iam_sign(struct iam *a, const char *method, const char *url, const struct http_header *h,
             size_t n, time_t now, struct iam_signature *out, struct err *e)
{
	struct sigv4_header sh[MAX_HEADERS + 1];
	const struct aws_credentials *creds;
	struct sigv4_result res = {{0}, NULL};
	struct sigv4_request req;
	const char *path, *query;
	size_t path_len, i, ns = 0;
	char *path_copy;
	int rc;

	memset(out, 0, sizeof(*out));
	if (n > MAX_HEADERS)
		return err_set(e, ERR_INTERNAL, "too many headers to sign");
	if (split_url(url, &path, &path_len, &query) != 0)
		return err_set(e, ERR_INVALID, "cannot sign the URL %.200s", url);
	rc = credentials_get(a->provider, &creds, e);
	if (rc) {
		err_prefix(e, "--auth iam: no AWS credentials (%s%s)", a->profile ? "profile " : "",
		           a->profile ? a->profile : "default chain");
		return rc;
	}
	path_copy = strndup(path, path_len);
	if (!path_copy)
		return err_set(e, ERR_NOMEM, "out of memory");
	sh[ns++] = (struct sigv4_header){"Host", a->host};
	for (i = 0; i < n; i++)
		sh[ns++] = (struct sigv4_header){h[i].name, h[i].value};
	req = (struct sigv4_request){
	    .method = method,
	    .path = path_copy,
	    .query = query,
	    .headers = sh,
	    .n_headers = ns,
	    .body = NULL,
	    .body_len = 0,
	    .region = a->region,
	    .service = IAM_SERVICE,
	    .now = now,
	};
	rc = sigv4_sign(&req, creds, &res, e);
	free(path_copy);
	if (rc)
		return rc;
	memcpy(out->amz_date, res.amz_date, sizeof(out->amz_date));
	out->authorization = res.authorization;
	out->session_token = creds->session_token;
	out->host = a->host;
	return 0;
}

void iam_signature_free(struct iam_signature *s)
{
	free(s->authorization);
	memset(s, 0, sizeof(*s));
}
