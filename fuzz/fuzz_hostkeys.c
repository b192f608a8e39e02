/*
 * fuzz_hostkeys: the host key parsers on any bytes. The first byte picks
 * the target, the rest is its input:
 *   0  hostkeys_parse_console (cloud-init console text)
 *   1  hostkeys_parse_answer (the service's answer, as ebssh-proxy reads it)
 *   2  ec2_parse_console_output (GetConsoleOutput XML), then the console parser
 *   3  b64_decode, strict and with B64_SKIP_SPACE
 *   4  GET /eb/fuzz-env/hostkeys through the router, the console being the input
 * Besides the sanitizers' findings, a broken promise aborts: a key that does
 * not check again, a duplicate, more than HOSTKEYS_MAX keys, an answer that
 * does not parse back to itself, a failure that left something behind,
 * non-canonical base64 accepted, a 200 whose lines are not keys.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/ec2.h"
#include "aws/ec2_console.h"
#include "lambda/router/router.h"
#include "lambda/router/routes.h"
#include "util/b64.h"
#include "util/buf.h"
#include "util/hostkeys.h"

#include <openssl/evp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Never called: the router's seams stand in for AWS (see fuzz_ec2_xml.c). */
__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	(void)c;
	(void)call;
	(void)body;
	return err_set(e, ERR_INTERNAL, "no AWS in a fuzz target");
}

/* Every key checks again, no duplicates, within bounds; the answer form
 * of the list parses back to the same list. */
static void check_list(const struct hostkey_list *l)
{
	struct hostkey_list again = {NULL, 0};
	struct buf b;
	size_t i, j;

	if (l->n > HOSTKEYS_MAX || (l->n && !l->items))
		abort();
	buf_init(&b, 0);
	for (i = 0; i < l->n; i++) {
		const struct hostkey *k = &l->items[i];
		if (!k->type || !k->key || hostkeys_known_type(k->type, strlen(k->type)) != k->type)
			abort();
		if (hostkeys_check_key(k->type, k->key, strlen(k->key), NULL) != 0)
			abort();
		for (j = 0; j < i; j++)
			if (strcmp(l->items[j].type, k->type) == 0 &&
			    strcmp(l->items[j].key, k->key) == 0)
				abort();
		if (buf_appendf(&b, "%s %s\n", k->type, k->key) != 0)
			abort();
	}
	if (l->n) {
		if (hostkeys_parse_answer(b.data, b.len, &again, NULL) != 0 || again.n != l->n)
			abort();
		for (i = 0; i < l->n; i++)
			if (strcmp(again.items[i].key, l->items[i].key) != 0)
				abort();
	}
	hostkey_list_free(&again);
	buf_free(&b);
}

static void fuzz_console(const char *s, size_t n)
{
	struct hostkey_list l = {NULL, 0};
	int rc = hostkeys_parse_console(s, n, &l, NULL);

	if (rc == 0)
		check_list(&l);
	else if ((rc != ERR_NOT_FOUND && rc != ERR_NOMEM) || l.n || l.items)
		abort();
	hostkey_list_free(&l);
}

static void fuzz_answer(const char *s, size_t n)
{
	struct hostkey_list l = {NULL, 0};
	struct buf b;
	size_t i;
	int rc = hostkeys_parse_answer(s, n, &l, NULL);

	if (rc != 0) {
		if (l.n || l.items)
			abort();
		return;
	}
	if (!l.n)
		abort();
	check_list(&l);
	/* An accepted answer is exactly its keys, one line each. */
	buf_init(&b, 0);
	for (i = 0; i < l.n; i++)
		buf_appendf(&b, "%s %s\n", l.items[i].type, l.items[i].key);
	if (b.len != n || memcmp(b.data, s, n) != 0)
		abort();
	buf_free(&b);
	hostkey_list_free(&l);
}

static void fuzz_xml(const char *s, size_t n)
{
	struct ec2_console c;
	int rc = ec2_parse_console_output(s, n, &c, NULL);

	if (rc != 0) {
		if (c.output || c.instance_id || c.timestamp)
			abort();
		return;
	}
	if (c.output_len > EC2_CONSOLE_OUTPUT_MAX || (c.output_len && !c.output) ||
	    (c.output && c.output[c.output_len] != '\0'))
		abort();
	fuzz_console((const char *)c.output, c.output_len);
	ec2_console_free(&c);
}

static void fuzz_b64(const char *s, size_t n)
{
	unsigned char *out = NULL;
	size_t len = 0;
	int rc = b64_decode(s, n, 0, 1 << 20, &out, &len, NULL);

	if (rc == 0) {
		/* Strict means canonical: the bytes encode back to the very text. */
		char *again = malloc(4 * ((len + 2) / 3) + 1);
		if (!again || !b64_is_strict(s, n))
			abort();
		EVP_EncodeBlock((unsigned char *)again, out, (int)len);
		if (strlen(again) != n || memcmp(again, s, n) != 0)
			abort();
		free(again);
	} else if (out || b64_is_strict(s, n)) {
		abort();
	}
	free(out);
	rc = b64_decode(s, n, B64_SKIP_SPACE, 1 << 20, &out, &len, NULL);
	if (rc != 0 && out)
		abort();
	free(out);
}

/* ---- the route, with both seams ---- */

struct seam {
	const char *data;
	size_t size;
};

static int fake_describe(struct service_context *ctx, const struct ec2_filter *filters,
                         size_t n_filters, struct ec2_instance_list *out, struct err *e)
{
	struct ec2_instance *in = calloc(1, sizeof(*in));

	(void)ctx;
	(void)filters;
	(void)n_filters;
	if (!in)
		return err_set(e, ERR_NOMEM, "out of memory");
	in->instance_id = strdup("i-0f0f0f0f0f0f0f0f0");
	in->state = strdup("running");
	in->public_ip = strdup("203.0.113.9");
	in->tags = calloc(1, sizeof(*in->tags));
	if (in->tags) {
		in->tags[0].key = strdup("elasticbeanstalk:environment-name");
		in->tags[0].value = strdup("fuzz-env");
		in->n_tags = 1;
	}
	out->items = in;
	out->n = 1;
	return 0;
}

static int fake_console(struct service_context *ctx, const char *instance_id, int latest,
                        struct ec2_console *out, struct err *e)
{
	struct seam *s = ctx->seam_data;

	(void)latest;
	memset(out, 0, sizeof(*out));
	out->instance_id = strdup(instance_id);
	out->output = malloc(s->size + 1);
	if (!out->output)
		return err_set(e, ERR_NOMEM, "out of memory");
	memcpy(out->output, s->data, s->size);
	out->output[s->size] = '\0';
	out->output_len = s->size;
	return 0;
}

static void fuzz_route(const char *s, size_t n, int json)
{
	struct seam seam = {s, n};
	struct service_context ctx;
	struct router_request req;
	struct router_response resp;
	struct hostkey_list l = {NULL, 0};

	memset(&ctx, 0, sizeof(ctx));
	ctx.describe_instances = fake_describe;
	ctx.console_output = fake_console;
	ctx.seam_data = &seam;
	router_request_init(&req);
	router_response_init(&resp);
	req.method = strdup("GET");
	req.path = strdup("/eb/fuzz-env/hostkeys/1");
	if (json)
		router_pair_add(&req.headers, &req.n_headers, "Accept", "application/json");
	if (router_handle(&ctx, &req, &resp) != 0)
		abort();
	if (resp.status == 200 && !json) {
		/* What ebssh-proxy will read: it must take it as it is. */
		if (hostkeys_parse_answer(resp.body.data, resp.body.len, &l, NULL) != 0)
			abort();
		check_list(&l);
		hostkey_list_free(&l);
	} else if (resp.status != 200 && resp.status != 404) {
		abort();
	}
	if (resp.content_type && strcmp(resp.content_type, "application/json") == 0) {
		json_t *j = json_loadb(resp.body.data, resp.body.len, 0, NULL);
		if (!j)
			abort();
		json_decref(j);
	}
	router_response_free(&resp);
	router_request_free(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	size_t n;

	if (size < 1 || size > (1u << 20))
		return 0;
	n = size - 1;
	switch (data[0] % 6) {
	case 0:
		fuzz_console(s, n);
		break;
	case 1:
		fuzz_answer(s, n);
		break;
	case 2:
		fuzz_xml(s, n);
		break;
	case 3:
		fuzz_b64(s, n);
		break;
	default:
		fuzz_route(s, n, data[0] % 6 == 5);
		break;
	}
	return 0;
}
