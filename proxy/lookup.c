/* lookup: ask the lookup service for one IP; see lookup.h. */
#include "lookup.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../aws/uri.h"

const char *lookup_address_name(enum lookup_address a)
{
	return a == LOOKUP_PRIVATE ? "private" : "public";
}

const char *lookup_kind_name(enum alias_kind k)
{
	return k == ALIAS_ASG ? "asg" : "eb";
}

int lookup_route_url(const struct lookup_query *q, const char *route, struct buf *out,
                     struct err *e)
{
	const struct alias *a = q->alias;
	int rc;

	rc = buf_appendf(out, "%s/%s/", q->endpoint, lookup_kind_name(a->kind));
	if (!rc)
		rc = uri_encode(out, a->name, strlen(a->name), 0);
	if (!rc)
		rc = buf_appendf(out, "/%s/%u%s", route, a->index,
		                 q->address == LOOKUP_PRIVATE ? "?address=private" : "");
	if (rc)
		return err_set(e, rc, "building the lookup URL: %s", err_code_name(rc));
	return 0;
}

int lookup_url(const struct lookup_query *q, struct buf *out, struct err *e)
{
	return lookup_route_url(q, LOOKUP_ROUTE_IP, out, e);
}

/* The JSON error's "message" as printable ASCII, cut at LOOKUP_MESSAGE_MAX;
 * "" when the body is not such JSON. */
static void service_message(const char *body, size_t len, char *out, size_t cap)
{
	json_t *root;
	const char *m;
	size_t o = 0;

	out[0] = '\0';
	if (!body || !len)
		return;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!root)
		return;
	m = json_string_value(json_object_get(root, "message"));
	if (!m) /* API Gateway's IAM refusals */
		m = json_string_value(json_object_get(root, "Message"));
	for (; m && *m && o + 1 < cap && o < LOOKUP_MESSAGE_MAX; m++) {
		unsigned char c = (unsigned char)*m;

		out[o++] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
	}
	out[o] = '\0';
	json_decref(root);
}

int lookup_classify_error(long status, const char *body, size_t len, const char *request_id,
                          struct err *e)
{
	return lookup_classify_error_auth(status, body, len, request_id, 0, e);
}

int lookup_classify_error_auth(long status, const char *body, size_t len, const char *request_id,
                               int iam, struct err *e)
{
	const char *hint = "";
	char msg[LOOKUP_MESSAGE_MAX + 1], rid[64] = "";
	const char *what;
	int code;

	service_message(body, len, msg, sizeof(msg));
	if (request_id && *request_id) {
		size_t i;

		snprintf(rid, sizeof(rid), " (request id %.40s)", request_id);
		for (i = 0; rid[i]; i++)
			if ((unsigned char)rid[i] < 0x20 || (unsigned char)rid[i] >= 0x7f)
				rid[i] = '?';
	}
	if (status == 404) {
		code = ERR_NOT_FOUND;
		what = "not found";
	} else if (status == 400) {
		code = ERR_INVALID;
		what = "bad request";
	} else if (status == 401 || status == 403) {
		code = ERR_CREDENTIALS;
		what = iam ? "not authorized" : "API key missing or refused";
		if (iam)
			hint = "; your AWS identity needs execute-api:Invoke on this route "
			       "(the IAM policy of docs/iam.md)";
	} else if (status == 429) {
		code = ERR_THROTTLED;
		what = "too many requests";
	} else if (status >= 500 && status <= 599) {
		code = ERR_SERVICE; /* the service's own failure; AWS's are its 502s' message */
		what = "service error";
	} else {
		code = ERR_INVALID;
		what = "unexpected answer";
	}
	err_set(e, code, "the lookup service answered %ld (%s)%s%s%s%s", status, what,
	        msg[0] ? ": " : "", msg, rid, hint);
	if (e)
		e->http_status = status;
	return code;
}

int lookup_classify(long status, const char *body, size_t len, const char *request_id,
                    struct addr *out, struct err *e)
{
	int code;

	memset(out, 0, sizeof(*out));
	if (status != 200)
		return lookup_classify_error(status, body, len, request_id, e);
	code = addr_parse_answer(body, len, out, e);
	if (code)
		err_prefix(e, "the lookup service answered");
	return code;
}

int lookup_get(struct http_client *c, const struct lookup_query *q, const char *route,
               size_t max_response, struct http_response *resp, struct err *e)
{
	struct http_header headers[8];
	struct iam_signature sig;
	struct http_request req;
	struct buf url;
	size_t n = 0;
	int rc;

	memset(&sig, 0, sizeof(sig));

	buf_init(&url, 4096);
	rc = lookup_route_url(q, route, &url, e);
	if (rc)
		goto out;
	headers[n++] = (struct http_header){"Accept", "text/plain"};
	if (q->api_key)
		headers[n++] = (struct http_header){"x-api-key", q->api_key};
	if (q->iam) {
		rc = iam_sign(q->iam, "GET", buf_str(&url), headers, n, time(NULL), &sig, e);
		if (rc)
			goto out;
		headers[n++] = (struct http_header){"Host", sig.host};
		headers[n++] = (struct http_header){"X-Amz-Date", sig.amz_date};
		if (sig.session_token)
			headers[n++] =
			    (struct http_header){"X-Amz-Security-Token", sig.session_token};
		headers[n++] = (struct http_header){"Authorization", sig.authorization};
	}
	if (q->user_agent)
		headers[n++] = (struct http_header){"User-Agent", q->user_agent};
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = buf_str(&url);
	req.headers = headers;
	req.n_headers = n;
	req.connect_timeout_ms = q->timeout_ms;
	req.timeout_ms = q->timeout_ms;
	req.max_response = max_response;
	rc = http_send(c, &req, resp, e);
	if (rc == ERR_TOO_LARGE)
		/* a body over the cap: not an answer, whatever the status */
		rc = err_set(e, ERR_PARSE, "the lookup service's answer is over %zu bytes",
		             max_response);
	else if (rc)
		err_prefix(e, "the lookup service is unreachable");
out:
	iam_signature_free(&sig);
	buf_free(&url);
	return rc;
}

int lookup_fetch(struct http_client *c, const struct lookup_query *q, struct addr *out,
                 struct err *e)
{
	struct http_response resp;
	int rc;

	memset(out, 0, sizeof(*out));
	http_response_init(&resp);
	rc = lookup_get(c, q, LOOKUP_ROUTE_IP, LOOKUP_RESPONSE_MAX, &resp, e);
	if (!rc)
		rc = lookup_classify(resp.status, resp.body.data, resp.body.len,
		                     http_response_header(&resp, "x-amzn-RequestId"), out, e);
	if (rc == ERR_CREDENTIALS && q->iam && resp.status)
		rc = lookup_classify_error_auth(resp.status, resp.body.data, resp.body.len,
		                                http_response_header(&resp, "x-amzn-RequestId"), 1,
		                                e);
	http_response_free(&resp);
	return rc;
}

int lookup_service_unavailable(int code)
{
	return code == ERR_NETWORK || code == ERR_TIMEOUT || code == ERR_THROTTLED ||
	       code == ERR_SERVICE;
}
