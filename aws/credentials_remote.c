/*
 * credentials_remote: the two providers that ask an endpoint over HTTP for
 * temporary credentials, apart from the chain that uses them
 * (credentials.c): the container provider (ECS, EKS Pod Identity, Lambda's
 * own credentials endpoint) and EC2's instance metadata service (IMDSv2).
 */
#include "credentials_remote.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/buf.h"
#include "../util/monotime.h"
#include "endpoint.h"
#include "profile.h"

#define CONTAINER_BASE     "http://169.254.170.2"
#define IMDS_ENDPOINT      "http://169.254.169.254"
#define IMDS_ENDPOINT_IPV6 "http://[fd00:ec2::254]"
#define IMDS_ROLES_PATH    "/latest/meta-data/iam/security-credentials/"
#define MAX_ANSWER         ((size_t)64 << 10)

/* One exchange, repeated on transport failures and 5xx, attempts in all. */
static int send_retrying(struct http_client *http, const struct http_request *req,
                         struct http_response *resp, int attempts, long pause_ms, struct err *e)
{
	int rc = 0;

	for (int i = 0; i < attempts; i++) {
		if (i)
			monotime_sleep_ms(pause_ms);
		rc = http_send(http, req, resp, e);
		if (rc == 0 && resp->status < 500)
			return 0;
		if (rc && rc != ERR_NETWORK && rc != ERR_TIMEOUT)
			return rc;
	}
	return rc;
}

/* A message of an error answer: its JSON "message"/"Message", if any. */
static void answer_message(const struct http_response *r, char *dst, size_t size)
{
	json_t *root = json_loadb(buf_str(&r->body), r->body.len, 0, NULL);
	const char *m = NULL;

	if (json_is_object(root)) {
		m = credentials_json_str(root, "message");
		if (!m)
			m = credentials_json_str(root, "Message");
	}
	dst[0] = '\0';
	if (m && size > 2) {
		dst[0] = ':';
		dst[1] = ' ';
		credentials_printable(dst + 2, size - 2, m);
	}
	json_decref(root);
}

/* http only to loopback and the ECS and EKS agents; https to anywhere. */
static int container_url_allowed(const char *url, struct err *e)
{
	static const unsigned char eks6[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
	                                       0,    0,    0,    0,    0, 0, 0, 0x23};
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	unsigned char a[16];
	int ok = 0, rc = 0;

	if (!u)
		return err_set(e, ERR_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = err_set(e, ERR_CREDENTIALS,
		             "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL");
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0) {
		ok = 1;
	} else if (strcasecmp(scheme, "http") == 0) {
		size_t n = strlen(host);

		if (strcasecmp(host, "localhost") == 0) {
			ok = 1;
		} else if (inet_pton(AF_INET, host, a) == 1) {
			ok = a[0] == 127 || (a[0] == 169 && a[1] == 254 && a[2] == 170 &&
			                     (a[3] == 2 || a[3] == 23));
		} else if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
			host[n - 1] = '\0';
			if (inet_pton(AF_INET6, host + 1, a) == 1)
				ok = memcmp(a, &in6addr_loopback, 16) == 0 ||
				     memcmp(a, eks6, 16) == 0;
		}
	}
	if (!ok)
		rc =
		    err_set(e, ERR_CREDENTIALS,
		            "AWS_CONTAINER_CREDENTIALS_FULL_URI: http is allowed only to loopback, "
		            "169.254.170.2, 169.254.170.23 or fd00:ec2::23; use https for other "
		            "hosts");
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* The Authorization value: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE's content,
 * else AWS_CONTAINER_AUTHORIZATION_TOKEN, else NULL. */
static int container_token(char **out, struct err *e)
{
	const char *file = credentials_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *value = credentials_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	size_t n, i;
	int rc;

	*out = NULL;
	if (file) {
		rc = profile_read_file(file, out, &n, e);
		if (rc) {
			err_prefix(e, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
			return rc == ERR_NOMEM ? rc : ERR_CREDENTIALS;
		}
		while (n && ((*out)[n - 1] == '\n' || (*out)[n - 1] == '\r' ||
		             (*out)[n - 1] == ' ' || (*out)[n - 1] == '\t'))
			(*out)[--n] = '\0';
	} else if (value) {
		*out = strdup(value);
		if (!*out)
			return err_set(e, ERR_NOMEM, "out of memory");
		n = strlen(value);
	} else {
		return 0;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)(*out)[i];

		if (c < 0x20 || c == 0x7f) {
			credentials_wipe_free(*out);
			*out = NULL;
			return err_set(e, ERR_CREDENTIALS, "%s is not a valid header value",
			               file ? "the token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
			                    : "AWS_CONTAINER_AUTHORIZATION_TOKEN");
		}
	}
	if (n == 0) {
		free(*out);
		*out = NULL;
	}
	return 0;
}

int credentials_from_container(struct http_client *http, struct aws_credentials *out, struct err *e)
{
	const char *rel = credentials_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = credentials_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *base = credentials_env("EBSSH_CONTAINER_CREDENTIALS_BASE");
	struct http_header headers[2] = {{"Accept", "application/json"}, {"Authorization", NULL}};
	struct http_request req = {0};
	struct http_response resp;
	char *token = NULL, msg[200];
	struct buf url;
	int rc;

	if (!rel && !full)
		return err_set(e, ERR_NOT_FOUND, "container: not configured");
	if (!http)
		return err_set(e, ERR_NOT_FOUND, "container: no HTTP client");
	buf_init(&url, (size_t)16 << 10);
	http_response_init(&resp);
	if (rel)
		rc = buf_appendf(&url, "%s%s%s", base ? base : CONTAINER_BASE,
		                 rel[0] == '/' ? "" : "/", rel);
	else
		rc = buf_append_str(&url, full);
	if (rc) {
		rc = err_set(e, rc, "container credentials URL too long");
		goto out;
	}
	if (!rel) {
		rc = container_url_allowed(url.data, e);
		if (rc)
			goto out;
	}
	rc = container_token(&token, e);
	if (rc)
		goto out;
	headers[1].value = token;
	req.method = "GET";
	req.url = url.data;
	req.headers = headers;
	req.n_headers = token ? 2 : 1;
	req.connect_timeout_ms = 2000;
	req.timeout_ms = 5000;
	req.max_response = MAX_ANSWER;
	rc = send_retrying(http, &req, &resp, 3, 1000, e);
	if (rc) {
		err_prefix(e, "container credentials from %s", url.data);
		rc = rc == ERR_NOMEM ? rc : ERR_CREDENTIALS;
		goto out;
	}
	if (resp.status != 200) {
		answer_message(&resp, msg, sizeof(msg));
		rc = err_set(e, ERR_CREDENTIALS, "container credentials from %s: HTTP %ld%s",
		             url.data, resp.status, msg);
		goto out;
	}
	rc = credentials_parse_json(resp.body.data, resp.body.len, 0, out, e);
	if (rc)
		err_prefix(e, "container credentials from %s", url.data);
out:
	credentials_response_wipe_free(&resp);
	credentials_wipe_free(token);
	buf_free(&url);
	return rc;
}

struct imds {
	struct http_client *http; /* borrowed */
	const char *endpoint;
	long timeout_ms;
	int attempts;
	struct http_header headers[1];
	struct http_response resp;
};

/* One IMDS exchange; 0 only for an HTTP 200 answer. */
static int imds_call(struct imds *m, const char *method, const char *path, const char *what,
                     struct err *e)
{
	struct http_request req = {0};
	struct buf url;
	int rc;

	buf_init(&url, 0);
	if (buf_appendf(&url, "%s%s", m->endpoint, path))
		return err_set(e, ERR_NOMEM, "out of memory");
	req.method = method;
	req.url = url.data;
	req.headers = m->headers;
	req.n_headers = 1;
	req.connect_timeout_ms = m->timeout_ms;
	req.timeout_ms = 2 * m->timeout_ms;
	req.max_response = MAX_ANSWER;
	rc = send_retrying(m->http, &req, &m->resp, m->attempts, 0, e);
	buf_free(&url);
	if (rc)
		err_prefix(e, "IMDS %s: %s", m->endpoint, what);
	else if (m->resp.status != 200)
		rc = err_set(e, ERR_CREDENTIALS, "IMDS %s: %s: HTTP %ld", m->endpoint, what,
		             m->resp.status);
	return rc;
}

/* The first line of an IMDS text answer, trimmed; "" when empty. */
static char *first_line(struct http_response *r)
{
	const char *s = buf_str(&r->body);
	size_t n = strcspn(s, "\r\n");

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	return strndup(s, n);
}

static int valid_role_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("+=,.@_-", *s)))
			return 0;
	return 1;
}

int credentials_from_imds(struct http_client *http, struct aws_credentials *out, struct err *e)
{
	const char *disabled = credentials_env("AWS_EC2_METADATA_DISABLED");
	const char *ep = credentials_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = credentials_env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	const char *timeout = credentials_env("AWS_METADATA_SERVICE_TIMEOUT");
	const char *attempts = credentials_env("AWS_METADATA_SERVICE_NUM_ATTEMPTS");
	struct imds m = {.http = http, .timeout_ms = 1000, .attempts = 1};
	char *endpoint = NULL, *token = NULL, *role = NULL, *path = NULL;
	size_t path_size;
	int rc;

	if (disabled && strcasecmp(disabled, "true") == 0)
		return err_set(e, ERR_NOT_FOUND, "IMDS: disabled by AWS_EC2_METADATA_DISABLED");
	if (!http)
		return err_set(e, ERR_NOT_FOUND, "IMDS: no HTTP client");
	if (timeout) {
		char *end;
		double s = strtod(timeout, &end);

		if (*end || !(s > 0 && s <= 60))
			return err_set(e, ERR_CREDENTIALS,
			               "AWS_METADATA_SERVICE_TIMEOUT must be seconds, 0 to 60");
		m.timeout_ms = (long)(s * 1000) > 0 ? (long)(s * 1000) : 1;
	}
	if (attempts) {
		char *end;
		long n = strtol(attempts, &end, 10);

		if (*end || n < 1 || n > 10)
			return err_set(e, ERR_CREDENTIALS,
			               "AWS_METADATA_SERVICE_NUM_ATTEMPTS must be 1 to 10");
		m.attempts = (int)n;
	}
	if (!ep)
		ep = mode && strcasecmp(mode, "IPv6") == 0 ? IMDS_ENDPOINT_IPV6 : IMDS_ENDPOINT;
	rc = endpoint_normalize(ep, &endpoint, e);
	if (rc) {
		err_prefix(e, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
		return rc == ERR_NOMEM ? rc : ERR_CREDENTIALS;
	}
	m.endpoint = endpoint;
	http_response_init(&m.resp);

	m.headers[0] = (struct http_header){"X-aws-ec2-metadata-token-ttl-seconds", "21600"};
	rc = imds_call(&m, "PUT", "/latest/api/token", "token request", e);
	if (rc)
		goto out;
	token = first_line(&m.resp);
	credentials_response_wipe_free(&m.resp);
	if (!token) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (const char *c = token; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*token = '\0';
	if (!*token) {
		rc = err_set(e, ERR_CREDENTIALS, "IMDS %s: empty or bad token", endpoint);
		goto out;
	}

	m.headers[0] = (struct http_header){"X-aws-ec2-metadata-token", token};
	rc = imds_call(&m, "GET", IMDS_ROLES_PATH, "instance role", e);
	if (rc) {
		if (m.resp.status == 404)
			err_set(e, ERR_CREDENTIALS, "IMDS %s: no IAM role attached to the instance",
			        endpoint);
		goto out;
	}
	role = first_line(&m.resp);
	credentials_response_wipe_free(&m.resp);
	if (!role) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!valid_role_name(role)) {
		rc = err_set(e, ERR_CREDENTIALS, "IMDS %s: %s instance role name", endpoint,
		             *role ? "bad" : "empty");
		goto out;
	}
	path_size = strlen(IMDS_ROLES_PATH) + strlen(role) + 1;
	path = malloc(path_size);
	if (!path) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(path, path_size, "%s%s", IMDS_ROLES_PATH, role);
	rc = imds_call(&m, "GET", path, "role credentials", e);
	if (rc == 0) {
		rc = credentials_parse_json(m.resp.body.data, m.resp.body.len, 1, out, e);
		if (rc)
			err_prefix(e, "IMDS %s: role %s", endpoint, role);
	}
out:
	credentials_response_wipe_free(&m.resp);
	credentials_wipe_free(token);
	free(path);
	free(role);
	free(endpoint);
	return rc;
}
