/* credentials_sts: STS AssumeRole and AssumeRoleWithWebIdentity; see credentials_sts.h. */
#include "credentials_sts.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/buf.h"
#include "../util/monotime.h"
#include "../util/version.h"
#include "credentials_remote.h"
#include "endpoint.h"
#include "errors.h"
#include "sigv4.h"
#include "uri.h"
#include "xml.h"

#define STS_GLOBAL   "https://sts.amazonaws.com"
#define STS_ATTEMPTS 3
#define FIELD_MAX    ((size_t)8 << 10)

enum kind { K_ROOT = XML_FIRST_KIND, K_RESULT, K_CREDS, K_ID, K_SECRET, K_TOKEN, K_EXP };

static const struct xml_rule rules[] = {
    {"AssumeRoleResult", K_ROOT, K_RESULT}, {"AssumeRoleWithWebIdentityResult", K_ROOT, K_RESULT},
    {"Credentials", K_RESULT, K_CREDS},     {"AccessKeyId", K_CREDS, K_ID},
    {"SecretAccessKey", K_CREDS, K_SECRET}, {"SessionToken", K_CREDS, K_TOKEN},
    {"Expiration", K_CREDS, K_EXP},
};

struct parsed {
	char *f[4]; /* id, secret, token, expiration */
};

static int on_start(struct xml *x, void *ctx, int parent, size_t depth, const char *name)
{
	int kind;

	(void)ctx;
	(void)depth;
	if (parent == XML_DOC) {
		if (strcmp(name, "AssumeRoleResponse") != 0 &&
		    strcmp(name, "AssumeRoleWithWebIdentityResponse") != 0)
			xml_fail(x, ERR_PARSE, "a <%s> where an AssumeRoleResponse was expected",
			         name);
		return K_ROOT;
	}
	kind = xml_rule_kind(rules, sizeof(rules) / sizeof(rules[0]), parent, name);
	if (kind >= K_ID)
		xml_collect(x, FIELD_MAX, ERR_TOO_LARGE);
	return kind;
}

static void on_end(struct xml *x, void *ctx, int kind, struct buf *text)
{
	struct parsed *p = ctx;
	char **slot;

	if (kind < K_ID)
		return;
	slot = &p->f[kind - K_ID];
	credentials_wipe_free(*slot);
	*slot = buf_take(text);
	if (!*slot)
		*slot = strdup("");
	if (!*slot)
		xml_fail(x, ERR_NOMEM, "out of memory");
}

int credentials_sts_parse(const char *xml, size_t len, struct aws_credentials *out, struct err *e)
{
	static const struct xml_reader reader = {"STS answer", NULL, on_start, on_end, NULL};
	static const char *const names[4] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
	                                     "Expiration"};
	struct parsed p = {{NULL, NULL, NULL, NULL}};
	time_t exp = 0;
	int rc, i;

	memset(out, 0, sizeof(*out));
	rc = xml_parse(xml, len, &reader, &p, e);
	for (i = 0; !rc && i < 4; i++)
		if (!p.f[i] || !*p.f[i])
			rc = err_set(e, ERR_PARSE, "STS answer has no Credentials/%s", names[i]);
	if (!rc && credentials_parse_time(p.f[3], &exp))
		rc = err_set(e, ERR_PARSE, "STS answer has a bad Expiration");
	if (!rc) {
		out->access_key_id = p.f[0];
		out->secret_access_key = p.f[1];
		out->session_token = p.f[2];
		out->expiration = exp;
		p.f[0] = p.f[1] = p.f[2] = NULL;
	}
	for (i = 0; i < 4; i++)
		credentials_wipe_free(p.f[i]);
	return rc;
}

/* The endpoint and the signing region. */
static int sts_endpoint(char **url, char **region, struct err *e)
{
	int rc = endpoint_region(region, e);

	if (rc == ERR_NOT_FOUND) {
		*region = NULL;
		rc = 0;
	}
	if (rc)
		return rc;
	rc = endpoint_url("STS", "sts", *region ? *region : "us-east-1", url, e);
	if (rc == 0 && !*region) {
		if (strcmp(*url, "https://sts.us-east-1.amazonaws.com") == 0) {
			free(*url);
			*url = strdup(STS_GLOBAL);
		}
		*region = strdup("us-east-1");
		if (!*url || !*region)
			rc = err_set(e, ERR_NOMEM, "out of memory");
	}
	return rc;
}

static int build_form(struct buf *form, const struct sts_role_args *a)
{
	char dur[24];
	int rc;

	rc = uri_form_add(form, "Action",
	                  a->web_identity_token ? "AssumeRoleWithWebIdentity" : "AssumeRole");
	if (!rc)
		rc = uri_form_add(form, "Version", "2011-06-15");
	if (!rc)
		rc = uri_form_add(form, "RoleArn", a->role_arn);
	if (!rc)
		rc = uri_form_add(form, "RoleSessionName", a->session_name);
	if (!rc && a->external_id && !a->web_identity_token)
		rc = uri_form_add(form, "ExternalId", a->external_id);
	if (!rc && a->duration >= 0) {
		snprintf(dur, sizeof(dur), "%ld", a->duration);
		rc = uri_form_add(form, "DurationSeconds", dur);
	}
	if (!rc && a->web_identity_token)
		rc = uri_form_add(form, "WebIdentityToken", a->web_identity_token);
	return rc;
}

/* One attempt; resp filled when 0. */
static int attempt(struct http_client *http, const struct aws_credentials *source, const char *url,
                   const char *host, const char *region, const struct buf *form,
                   struct http_response *resp, struct err *e)
{
	static const char ctype[] = "application/x-www-form-urlencoded; charset=utf-8";
	struct sigv4_header sh[2] = {{"Host", host}, {"Content-Type", ctype}};
	struct http_header hh[6];
	struct sigv4_result sig = {{0}, NULL};
	struct http_request req = {0};
	size_t nh = 0;
	int rc;

	hh[nh++] = (struct http_header){"Content-Type", ctype};
	hh[nh++] = (struct http_header){"User-Agent", "ebssh/" EBSSH_VERSION};
	if (source) {
		struct sigv4_request sreq = {
		    .method = "POST",
		    .path = "/",
		    .headers = sh,
		    .n_headers = 2,
		    .body = form->data,
		    .body_len = form->len,
		    .region = region,
		    .service = "sts",
		    .now = time(NULL),
		};

		rc = sigv4_sign(&sreq, source, &sig, e);
		if (rc)
			return rc;
		hh[nh++] = (struct http_header){"X-Amz-Date", sig.amz_date};
		if (source->session_token)
			hh[nh++] =
			    (struct http_header){"X-Amz-Security-Token", source->session_token};
		hh[nh++] = (struct http_header){"Authorization", sig.authorization};
	}
	req.method = "POST";
	req.url = url;
	req.headers = hh;
	req.n_headers = nh;
	req.body = form->data;
	req.body_len = form->len;
	req.connect_timeout_ms = 2000;
	req.timeout_ms = 8000;
	req.max_response = (size_t)64 << 10;
	rc = http_send(http, &req, resp, e);
	sigv4_result_free(&sig);
	return rc;
}

int credentials_sts_call(struct http_client *http, const struct aws_credentials *source,
                         const struct sts_role_args *a, struct aws_credentials *out, struct err *e)
{
	const char *action = a->web_identity_token ? "AssumeRoleWithWebIdentity" : "AssumeRole";
	char *url = NULL, *region = NULL, *host = NULL, *full = NULL;
	struct http_response resp;
	struct buf form;
	int rc, i;

	struct err local;

	if (!e)
		e = &local;
	memset(out, 0, sizeof(*out));
	if (!http)
		return err_set(e, ERR_CREDENTIALS, "STS %s: no HTTP client", action);
	buf_init(&form, (size_t)64 << 10);
	http_response_init(&resp);
	rc = sts_endpoint(&url, &region, e);
	if (!rc)
		rc = endpoint_host_header(url, &host, e);
	if (!rc) {
		full = malloc(strlen(url) + 2);
		if (full)
			snprintf(full, strlen(url) + 2, "%s/", url);
		else
			rc = err_set(e, ERR_NOMEM, "out of memory");
	}
	if (!rc && build_form(&form, a))
		rc = err_set(e, ERR_NOMEM, "out of memory");
	for (i = 1; !rc && i <= STS_ATTEMPTS; i++) {
		rc = attempt(http, source, full, host, region, &form, &resp, e);
		if (rc == 0 && resp.status == 200) {
			rc = credentials_sts_parse(resp.body.data, resp.body.len, out, e);
			break;
		}
		if (rc == 0) {
			errors_parse(0, resp.status, resp.body.data, resp.body.len, NULL,
			             http_response_header(&resp, "x-amzn-RequestId"), e);
			rc = e->code ? e->code : ERR_AWS;
			if (resp.status < 500 && !errors_is_throttling(e->aws_code, resp.status))
				break;
		} else if (rc != ERR_NETWORK && rc != ERR_TIMEOUT) {
			break;
		}
		if (i < STS_ATTEMPTS) {
			rc = 0;
			monotime_sleep_ms(200L * i);
		}
	}
	if (rc)
		err_prefix(e, "STS %s (%s)", action, url ? url : "no endpoint");
	credentials_response_wipe_free(&resp);
	if (form.data)
		OPENSSL_cleanse(form.data, form.cap);
	buf_free(&form);
	free(url);
	free(full);
	free(region);
	free(host);
	return rc;
}
