/* credentials: the AWS credential chain; see credentials.h. */
#include "credentials.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/buf.h"
#include "../util/timefmt.h"
#include "endpoint.h"
#include "http.h"
#include "profile.h"

enum source { SRC_NONE, SRC_ENV, SRC_PROFILE, SRC_CONTAINER, SRC_IMDS };

static const char *const source_names[] = {"none", "environment", "profile", "container", "imds"};

#define CONTAINER_BASE     "http://169.254.170.2"
#define IMDS_ENDPOINT      "http://169.254.169.254"
#define IMDS_ENDPOINT_IPV6 "http://[fd00:ec2::254]"
#define IMDS_ROLES_PATH    "/latest/meta-data/iam/security-credentials/"
#define MAX_ANSWER         ((size_t)64 << 10)

struct credentials_provider {
	struct http_client *http; /* borrowed; NULL: no network sources */
	struct aws_credentials cur;
	int have;
	enum source source;
	time_t retry_after; /* no refresh before this, after one failed */
};

/* ---- small helpers ---------------------------------------------------- */

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void response_wipe_free(struct http_response *r)
{
	if (r->body.data)
		OPENSSL_cleanse(r->body.data, r->body.cap);
	http_response_free(r);
}

void aws_credentials_clear(struct aws_credentials *c)
{
	if (!c)
		return;
	wipe_free(c->access_key_id);
	wipe_free(c->secret_access_key);
	wipe_free(c->session_token);
	memset(c, 0, sizeof(*c));
}

/* Fills *c with copies; token may be NULL or "" for none. */
static int creds_set(struct aws_credentials *c, const char *id, const char *secret,
                     const char *token, time_t expiration, struct err *e)
{
	memset(c, 0, sizeof(*c));
	c->access_key_id = strdup(id);
	c->secret_access_key = strdup(secret);
	if (token && *token)
		c->session_token = strdup(token);
	c->expiration = expiration;
	if (!c->access_key_id || !c->secret_access_key || (token && *token && !c->session_token)) {
		aws_credentials_clear(c);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Copies at most size-1 bytes of s, printable ASCII only, for a message. */
static void printable(char *dst, size_t size, const char *s)
{
	size_t i = 0;

	for (; s && *s && i + 1 < size; s++) {
		dst[i] = *s;
		if (!(*s >= 0x20 && *s < 0x7f))
			dst[i] = '?';
		i++;
	}
	dst[i] = '\0';
}

/* ---- pure parsers ----------------------------------------------------- */

int credentials_parse_time(const char *s, time_t *out)
{
	int64_t ms;

	if (timefmt_parse_iso8601(s, TIMEFMT_RFC3339, &ms, NULL) != 0)
		return ERR_PARSE;
	*out = (time_t)(ms >= 0 ? ms / 1000 : -((999 - ms) / 1000)); /* whole seconds, floored */
	return 0;
}

/* Overwrites a jansson string's bytes before it is freed. */
static void json_wipe(json_t *v)
{
	if (json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

static const char *json_str(json_t *root, const char *key)
{
	json_t *v = json_object_get(root, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int credentials_parse_json(const char *body, size_t len, int require_code,
                           struct aws_credentials *out, struct err *e)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr);
	const char *code, *id, *secret, *token, *exp;
	json_t *tok;
	time_t expiration = 0;
	char what[128];
	int rc;

	/* jansson's message may quote the input, which holds secrets: only say where. */
	if (!root)
		return err_set(e, ERR_PARSE, "credentials answer is not JSON (line %d, column %d)",
		               jerr.line, jerr.column);
	if (!json_is_object(root)) {
		rc = err_set(e, ERR_PARSE, "credentials answer is not a JSON object");
		goto out;
	}
	code = json_str(root, "Code");
	if (json_object_get(root, "Code") && !code) {
		rc = err_set(e, ERR_PARSE, "credentials answer has a Code that is not a string");
		goto out;
	}
	if (code && strcmp(code, "Success") != 0) {
		char msg[200];

		printable(what, sizeof(what), code);
		printable(msg, sizeof(msg), json_str(root, "Message"));
		rc = err_set(e, ERR_CREDENTIALS, "credentials answer has Code \"%s\"%s%s", what,
		             *msg ? ": " : "", msg);
		goto out;
	}
	if (!code && require_code) {
		rc = err_set(e, ERR_PARSE, "credentials answer has no Code");
		goto out;
	}
	id = json_str(root, "AccessKeyId");
	secret = json_str(root, "SecretAccessKey");
	tok = json_object_get(root, "Token");
	token = json_is_string(tok) ? json_string_value(tok) : NULL;
	exp = json_str(root, "Expiration");
	if (!id || !*id || !secret || !*secret) {
		rc = err_set(e, ERR_PARSE, "credentials answer lacks %s",
		             !id || !*id ? "AccessKeyId" : "SecretAccessKey");
		goto out;
	}
	if (tok && !json_is_string(tok) && !json_is_null(tok)) {
		rc = err_set(e, ERR_PARSE, "credentials answer has a Token that is not a string");
		goto out;
	}
	if (json_object_get(root, "Expiration") &&
	    (!exp || credentials_parse_time(exp, &expiration))) {
		printable(what, sizeof(what), exp);
		rc = err_set(e, ERR_PARSE, "credentials answer has a bad Expiration \"%s\"", what);
		goto out;
	}
	rc = creds_set(out, id, secret, token, expiration, e);
out:
	json_wipe(json_object_get(root, "SecretAccessKey"));
	json_wipe(json_object_get(root, "Token"));
	json_decref(root);
	return rc;
}

/* ---- the environment -------------------------------------------------- */

static int from_env(struct aws_credentials *out, struct err *e)
{
	const char *id = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");

	if (!id && !secret)
		return err_set(e, ERR_NOT_FOUND, "environment: not set");
	if (!secret)
		return err_set(e, ERR_CREDENTIALS,
		               "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
	if (!id)
		return err_set(e, ERR_CREDENTIALS,
		               "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
	return creds_set(out, id, secret, env("AWS_SESSION_TOKEN"), 0, e);
}

/* ---- the shared files ------------------------------------------------- */

enum {
	K_ID,
	K_SECRET,
	K_TOKEN,
	K_SECURITY_TOKEN,
	K_ROLE_ARN,
	K_SOURCE_PROFILE,
	K_CREDENTIAL_SOURCE,
	K_WEB_IDENTITY,
	K_SSO_START_URL,
	K_SSO_SESSION,
	K_PROCESS,
	K_N
};

static const char *const profile_keys[K_N] = {
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token",  "aws_security_token",
    "role_arn",          "source_profile",        "credential_source",  "web_identity_token_file",
    "sso_start_url",     "sso_session",           "credential_process",
};

/* What one file says about the profile. */
struct profile_values {
	enum profile_kind kind;
	const char *name;
	const char *path; /* NULL when there is no such file */
	int seen;         /* the file has the profile's section */
	char *v[K_N];
	struct err *e;
};

static int profile_visit(void *ctx, const char *section, const char *key, const char *subkey,
                         const char *value)
{
	struct profile_values *pv = ctx;

	if (!profile_section_is(section, pv->kind, pv->name))
		return 0;
	pv->seen = 1;
	if (!key || subkey)
		return 0;
	for (int k = 0; k < K_N; k++) {
		if (strcmp(key, profile_keys[k]) != 0)
			continue;
		wipe_free(pv->v[k]);
		pv->v[k] = *value ? strdup(value) : NULL;
		if (*value && !pv->v[k])
			return err_set(pv->e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

static void profile_values_free(struct profile_values *pv)
{
	for (int k = 0; k < K_N; k++)
		wipe_free(pv->v[k]);
}

/* Reads what path says about the profile; a missing file says nothing. */
static int profile_values_load(struct profile_values *pv, struct err *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!pv->path)
		return 0;
	rc = profile_read_file(pv->path, &text, &len, e);
	if (rc == ERR_NOT_FOUND) {
		pv->path = NULL;
		return 0;
	}
	if (rc == 0) {
		pv->e = e;
		rc = profile_parse(text, len, profile_visit, pv, e);
		if (rc)
			err_prefix(e, "%s", pv->path);
	}
	if (text) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	return rc;
}

/* The keys of one file: 0, ERR_NOT_FOUND when it has neither, else an error. */
static int profile_static(const struct profile_values *pv, struct aws_credentials *out,
                          struct err *e)
{
	const char *id = pv->v[K_ID], *secret = pv->v[K_SECRET];
	const char *token = pv->v[K_TOKEN] ? pv->v[K_TOKEN] : pv->v[K_SECURITY_TOKEN];

	if (!id && !secret)
		return ERR_NOT_FOUND;
	if (!id || !secret)
		return err_set(e, ERR_CREDENTIALS, "profile %s in %s has %s but no %s", pv->name,
		               pv->path, profile_keys[id ? K_ID : K_SECRET],
		               profile_keys[id ? K_SECRET : K_ID]);
	return creds_set(out, id, secret, token, 0, e);
}

static int unsupported(const struct profile_values *pv, int k, struct err *e)
{
	return err_set(e, ERR_CREDENTIALS,
	               "profile %s in %s uses %s, which ebssh does not support; give the profile "
	               "aws_access_key_id and aws_secret_access_key, or set AWS_ACCESS_KEY_ID and "
	               "AWS_SECRET_ACCESS_KEY",
	               pv->name, pv->path, profile_keys[k]);
}

static int from_profile(struct aws_credentials *out, struct err *e)
{
	const char *name = profile_name();
	struct profile_values cred = {PROFILE_SECTION, name, NULL, 0, {0}, NULL};
	struct profile_values conf = {PROFILE_CONFIG, name, NULL, 0, {0}, NULL};
	char *cred_path = NULL, *conf_path = NULL;
	int rc, k;

	rc = profile_credentials_path(&cred_path, e);
	if (rc == 0)
		rc = profile_config_path(&conf_path, e);
	if (rc == ERR_NOT_FOUND) /* no home directory: no files */
		rc = 0;
	if (rc)
		goto out;
	cred.path = cred_path;
	conf.path = conf_path;
	rc = profile_values_load(&cred, e);
	if (rc == 0)
		rc = profile_values_load(&conf, e);
	if (rc)
		goto out;
	/* botocore's order: assume-role, web identity and SSO come before the keys. */
	for (k = K_ROLE_ARN; k <= K_SSO_SESSION; k++) {
		if (cred.v[k] || conf.v[k]) {
			rc = unsupported(cred.v[k] ? &cred : &conf, k, e);
			goto out;
		}
	}
	rc = profile_static(&cred, out, e);
	if (rc != ERR_NOT_FOUND)
		goto out;
	if (cred.v[K_PROCESS] || conf.v[K_PROCESS]) {
		rc = unsupported(cred.v[K_PROCESS] ? &cred : &conf, K_PROCESS, e);
		goto out;
	}
	rc = profile_static(&conf, out, e);
	if (rc != ERR_NOT_FOUND)
		goto out;
	if (env("AWS_PROFILE") && !cred.seen && !conf.seen)
		rc = err_set(e, ERR_CREDENTIALS, "profile %s (AWS_PROFILE) not found in %s or %s",
		             name, cred_path ? cred_path : "~/.aws/credentials",
		             conf_path ? conf_path : "~/.aws/config");
	else
		rc = err_set(e, ERR_NOT_FOUND, "profile %s: no keys in %s, %s", name,
		             cred.path ? cred.path : "no credentials file",
		             conf.path ? conf.path : "no config file");
out:
	profile_values_free(&cred);
	profile_values_free(&conf);
	free(cred_path);
	free(conf_path);
	return rc;
}

/* ---- over HTTP -------------------------------------------------------- */

/* One exchange, repeated on transport failures and 5xx, attempts in all. */
static int send_retrying(struct credentials_provider *p, const struct http_request *req,
                         struct http_response *resp, int attempts, long pause_ms, struct err *e)
{
	int rc = 0;

	for (int i = 0; i < attempts; i++) {
		if (i && pause_ms > 0) {
			struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};

			nanosleep(&ts, NULL);
		}
		rc = http_send(p->http, req, resp, e);
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
		m = json_str(root, "message");
		if (!m)
			m = json_str(root, "Message");
	}
	dst[0] = '\0';
	if (m && size > 2) {
		dst[0] = ':';
		dst[1] = ' ';
		printable(dst + 2, size - 2, m);
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
	const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *value = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
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
			wipe_free(*out);
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

static int from_container(struct credentials_provider *p, struct aws_credentials *out,
                          struct err *e)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *base = env("EBSSH_CONTAINER_CREDENTIALS_BASE");
	struct http_header headers[2] = {{"Accept", "application/json"}, {"Authorization", NULL}};
	struct http_request req = {0};
	struct http_response resp;
	char *token = NULL, msg[200];
	struct buf url;
	int rc;

	if (!rel && !full)
		return err_set(e, ERR_NOT_FOUND, "container: not configured");
	if (!p->http)
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
	rc = send_retrying(p, &req, &resp, 3, 1000, e);
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
	response_wipe_free(&resp);
	wipe_free(token);
	buf_free(&url);
	return rc;
}

struct imds {
	struct credentials_provider *p;
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
	rc = send_retrying(m->p, &req, &m->resp, m->attempts, 0, e);
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

static int from_imds(struct credentials_provider *p, struct aws_credentials *out, struct err *e)
{
	const char *disabled = env("AWS_EC2_METADATA_DISABLED");
	const char *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	const char *timeout = env("AWS_METADATA_SERVICE_TIMEOUT");
	const char *attempts = env("AWS_METADATA_SERVICE_NUM_ATTEMPTS");
	struct imds m = {.p = p, .timeout_ms = 1000, .attempts = 1};
	char *endpoint = NULL, *token = NULL, *role = NULL, *path = NULL;
	size_t path_size;
	int rc;

	if (disabled && strcasecmp(disabled, "true") == 0)
		return err_set(e, ERR_NOT_FOUND, "IMDS: disabled by AWS_EC2_METADATA_DISABLED");
	if (!p->http)
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
	response_wipe_free(&m.resp);
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
	response_wipe_free(&m.resp);
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
	response_wipe_free(&m.resp);
	wipe_free(token);
	free(path);
	free(role);
	free(endpoint);
	return rc;
}

/* ---- the chain -------------------------------------------------------- */

static int fetch_from(struct credentials_provider *p, enum source src, struct aws_credentials *out,
                      struct err *e)
{
	switch (src) {
	case SRC_ENV:
		return from_env(out, e);
	case SRC_PROFILE:
		return from_profile(out, e);
	case SRC_CONTAINER:
		return from_container(p, out, e);
	case SRC_IMDS:
		return from_imds(p, out, e);
	default:
		return err_set(e, ERR_INTERNAL, "no credentials source %d", (int)src);
	}
}

/*
 * Runs the chain (or only the source `only`), filling *out and *from.
 * Sources that are not configured leave a note; the first configured source
 * that fails ends the search, but for IMDS, whose failure is a note too.
 */
static int fetch(struct credentials_provider *p, enum source only, struct aws_credentials *out,
                 enum source *from, struct err *e)
{
	struct buf tried;
	struct err local;
	int rc;

	if (!e)
		e = &local;
	buf_init(&tried, 4096);
	for (enum source s = SRC_ENV; s <= SRC_IMDS; s++) {
		if (only != SRC_NONE && s != only)
			continue;
		err_clear(e);
		rc = fetch_from(p, s, out, e);
		if (rc == 0) {
			*from = s;
			buf_free(&tried);
			return 0;
		}
		if (rc == ERR_NOMEM || (rc != ERR_NOT_FOUND && (s != SRC_IMDS || only == s))) {
			buf_free(&tried);
			if (rc != ERR_NOMEM && rc != ERR_CREDENTIALS) {
				char msg[sizeof(e->message)];

				memcpy(msg, e->message, sizeof(msg));
				rc = err_set(e, ERR_CREDENTIALS, "%s", msg);
			}
			return rc;
		}
		/* the buffer's cap truncates a long list; a failed append empties it */
		if (buf_appendf(&tried, "%s%s", tried.len ? "; " : "", e->message))
			buf_init(&tried, 4096);
	}
	rc = err_set(e, ERR_CREDENTIALS, "no AWS credentials found (%s)", buf_str(&tried));
	buf_free(&tried);
	return rc;
}

struct credentials_provider *credentials_provider_new(struct http_client *http, struct err *e)
{
	struct credentials_provider *p = calloc(1, sizeof(*p));

	if (!p) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	p->http = http;
	return p;
}

void credentials_provider_free(struct credentials_provider *p)
{
	if (!p)
		return;
	aws_credentials_clear(&p->cur);
	free(p);
}

const char *credentials_source(const struct credentials_provider *p)
{
	return source_names[p && p->have ? p->source : SRC_NONE];
}

static int usable(const struct aws_credentials *c, time_t now)
{
	return c->expiration == 0 || c->expiration > now;
}

int credentials_get(struct credentials_provider *p, const struct aws_credentials **out,
                    struct err *e)
{
	struct aws_credentials fresh = {0};
	enum source from = SRC_NONE;
	time_t now = time(NULL);
	int rc;

	*out = NULL;
	if (p->have &&
	    (p->cur.expiration == 0 || p->cur.expiration - now > CREDENTIALS_REFRESH_SECONDS ||
	     (now < p->retry_after && usable(&p->cur, now)))) {
		*out = &p->cur;
		return 0;
	}
	rc = fetch(p, p->have ? p->source : SRC_NONE, &fresh, &from, e);
	if (rc == 0 && !usable(&fresh, now)) {
		rc = err_set(e, ERR_CREDENTIALS, "%s credentials had expired when fetched",
		             source_names[from]);
		aws_credentials_clear(&fresh);
	}
	if (rc == 0) {
		aws_credentials_clear(&p->cur);
		p->cur = fresh;
		p->have = 1;
		p->source = from;
		p->retry_after = 0;
		*out = &p->cur;
		return 0;
	}
	if (p->have && usable(&p->cur, now)) {
		/* keep the old ones while they last; try again a little later */
		p->retry_after = now + CREDENTIALS_RETRY_SECONDS;
		err_clear(e);
		*out = &p->cur;
		return 0;
	}
	return rc;
}
