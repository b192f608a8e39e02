/* errors: AWS's error answers into struct err; see errors.h. */
#include "errors.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "xml.h"

#define ERRORS_FIELD 1024 /* bytes kept of one field of an error body */

/* What a body gave; every field NUL-terminated, possibly cut short. */
struct found {
	char code[ERRORS_FIELD];
	char message[ERRORS_FIELD];
	char request_id[ERRORS_FIELD];
};

/*
 * The XML shapes, as kinds of elements: the root (any name; S3's is <Error>
 * itself), its <Errors>, the first <Error>, and the fields that count.
 */
enum xkind {
	X_ROOT = XML_FIRST_KIND,
	X_ERRORS,
	X_ERROR,    /* an <Error> whose Code and Message count */
	X_METADATA, /* <ResponseMetadata> */
	X_CODE,
	X_MESSAGE,
	X_REQUEST_ID
};

struct xparse {
	int errors_seen; /* <Error> elements met; only the first counts */
	struct found *f;
};

static int is_request_id(const char *name)
{
	return strcmp(name, "RequestID") == 0 || strcmp(name, "RequestId") == 0;
}

/* An <Error> under the root or its <Errors>; only the first one counts. */
static int error_kind(struct xparse *xs, const char *name)
{
	return strcmp(name, "Error") == 0 && ++xs->errors_seen == 1 ? X_ERROR : XML_IGNORE;
}

static int child_kind(struct xparse *xs, int parent, size_t depth, const char *name)
{
	switch (parent) {
	case XML_DOC:
		return error_kind(xs, name) == X_ERROR ? X_ERROR : X_ROOT;
	case X_ROOT:
		if (strcmp(name, "Errors") == 0)
			return X_ERRORS;
		if (strcmp(name, "ResponseMetadata") == 0)
			return X_METADATA;
		if (is_request_id(name))
			return X_REQUEST_ID;
		return error_kind(xs, name);
	case X_ERRORS:
		return error_kind(xs, name);
	case X_ERROR:
		if (strcmp(name, "Code") == 0)
			return X_CODE;
		if (strcmp(name, "Message") == 0)
			return X_MESSAGE;
		if (depth == 2 && is_request_id(name)) /* S3's root <Error> */
			return X_REQUEST_ID;
		return XML_IGNORE;
	case X_METADATA:
		return is_request_id(name) ? X_REQUEST_ID : XML_IGNORE;
	default:
		return XML_IGNORE;
	}
}

static int x_start(struct xml *x, void *ctx, int parent, size_t depth, const char *name)
{
	int kind = child_kind(ctx, parent, depth, name);

	if (kind >= X_CODE)
		xml_collect(x, ERRORS_FIELD - 1, 0); /* cut; clean_text mends UTF-8 */
	return kind;
}

static void x_end(struct xml *x, void *ctx, int kind, struct buf *text)
{
	struct found *f = ((struct xparse *)ctx)->f;

	(void)x;
	if (kind == X_CODE)
		snprintf(f->code, sizeof(f->code), "%s", buf_str(text));
	else if (kind == X_MESSAGE)
		snprintf(f->message, sizeof(f->message), "%s", buf_str(text));
	else if (kind == X_REQUEST_ID && !f->request_id[0]) /* the first one counts */
		snprintf(f->request_id, sizeof(f->request_id), "%s", buf_str(text));
}

/* 0 when the body is well-formed XML; what it holds is in *f. */
static int parse_xml(const char *body, size_t len, struct found *f)
{
	static const struct xml_reader reader = {"error answer", NULL, x_start, x_end, NULL};
	struct xparse xs = {0, f};

	return xml_parse(body, len, &reader, &xs, NULL) == 0 ? 0 : -1;
}

/* src[0..len) as plain ASCII without blanks or controls, cut to cap. */
static void ascii_copy(char *dst, size_t cap, const char *src, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 1 < cap; i++)
		if (src[i] > ' ' && src[i] < 0x7f)
			dst[n++] = src[i];
	dst[n] = '\0';
}

/* "aws.protocoltests#FooError:http://internal..." -> "FooError". */
static void normalize_code(char *dst, size_t cap, const char *src)
{
	const char *start = src, *end = src + strcspn(src, ":"), *p;

	for (p = src; p < end; p++)
		if (*p == '#')
			start = p + 1;
	ascii_copy(dst, cap, start, (size_t)(end - start));
}

static void copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

/* 0 when the body is a JSON object; its code and message are in *f. */
static int parse_json(const char *body, size_t len, struct found *f)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr), *v;
	const char *s;

	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	v = json_object_get(root, "code");
	if (!json_is_string(v))
		v = json_object_get(root, "__type");
	if (json_is_string(v))
		copy_field(f->code, sizeof(f->code), json_string_value(v));
	v = json_object_get(root, "message");
	if (!json_is_string(v))
		v = json_object_get(root, "Message");
	if (!json_is_string(v)) /* SSO OIDC's OAuth-style {"error", "error_description"} */
		v = json_object_get(root, "error_description");
	s = json_string_value(v);
	if (s)
		copy_field(f->message, sizeof(f->message), s);
	json_decref(root);
	return 0;
}

/* Length of s[0..len) without a UTF-8 sequence cut short at its end. */
static size_t utf8_whole(const char *s, size_t len)
{
	size_t start = len, need;
	unsigned char lead;

	while (start > 0 && len - start < 4 && ((unsigned char)s[start - 1] & 0xC0) == 0x80)
		start--;
	if (start == 0)
		return 0;
	lead = (unsigned char)s[start - 1];
	if (lead < 0x80)
		return len;
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	return len - (start - 1) >= need ? len : start - 1;
}

/* A message for one line: controls and runs of blanks become one space,
 * no blanks at the ends, cut to cap at a character boundary. */
static void clean_text(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	int space = 0;

	for (; *src && n + 1 < cap; src++) {
		unsigned char c = (unsigned char)*src;

		if (c <= ' ' || c == 0x7f) {
			space = n > 0;
			continue;
		}
		if (space) {
			if (n + 2 >= cap)
				break;
			dst[n++] = ' ';
			space = 0;
		}
		dst[n++] = (char)c;
	}
	n = utf8_whole(dst, n);
	dst[n] = '\0';
}

static int is_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

int errors_parse(int is_json, long http_status, const char *body, size_t len,
                 const char *error_type_header, const char *request_id_header, struct err *e)
{
	struct found f;
	char code[sizeof(e->aws_code)], request_id[sizeof(e->request_id)];
	char message[sizeof(e->message)];
	size_t i;
	int as_json = is_json, readable;

	if (!e)
		return ERR_AWS;
	memset(&f, 0, sizeof(f));
	if (!body)
		len = 0;
	for (i = 0; i < len; i++) {
		if (body[i] == '<' || body[i] == '{') {
			as_json = body[i] == '{';
			break;
		}
		if (!strchr(" \t\r\n", body[i]))
			break;
	}
	readable = len && (as_json ? parse_json(body, len, &f) : parse_xml(body, len, &f)) == 0;
	if (!readable)
		memset(&f, 0, sizeof(f)); /* nothing of a broken body is trusted */

	code[0] = '\0';
	if (as_json && error_type_header)
		normalize_code(code, sizeof(code), error_type_header);
	if (!code[0])
		normalize_code(code, sizeof(code), f.code);
	if (!code[0] && error_type_header)
		normalize_code(code, sizeof(code), error_type_header);
	ascii_copy(request_id, sizeof(request_id), f.request_id, strlen(f.request_id));
	if (!request_id[0] && request_id_header)
		ascii_copy(request_id, sizeof(request_id), request_id_header,
		           strlen(request_id_header));

	clean_text(message, sizeof(message), f.message);
	if (!message[0]) {
		if (code[0])
			snprintf(message, sizeof(message), "HTTP %ld %s", http_status, code);
		else
			snprintf(message, sizeof(message), "HTTP %ld with %s body", http_status,
			         is_blank(body, len) ? "an empty" : "an unreadable");
	}
	return err_set_aws(e, ERR_AWS, http_status, code, request_id, message);
}

int errors_is_throttling(const char *aws_code, long http_status)
{
	/* botocore's _retry.json and its standard retry mode's throttling codes */
	static const char *const codes[] = {
	    "Throttling",
	    "ThrottlingException",
	    "ThrottledException",
	    "RequestThrottledException",
	    "TooManyRequestsException",
	    "ProvisionedThroughputExceededException",
	    "TransactionInProgressException",
	    "RequestLimitExceeded",
	    "BandwidthLimitExceeded",
	    "LimitExceededException",
	    "RequestThrottled",
	    "SlowDown",
	    "PriorRequestNotComplete",
	    "EC2ThrottledException",
	};
	size_t i;

	if (http_status == 429)
		return 1;
	if (!aws_code)
		return 0;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(aws_code, codes[i]) == 0)
			return 1;
	return 0;
}
