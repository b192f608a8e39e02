/*
 * libFuzzer target: router_handle over arbitrary requests. The input is
 * lines: the method, the path, then "name: value" headers and "?name=value"
 * query parameters. When the first byte is odd, DescribeInstances is the
 * test seam answering instances made from the input's bytes (so ordering,
 * filtering and both answer formats run); otherwise there is no AWS client
 * at all (aws_get fails, no network). Bit 2 of the first byte makes the
 * caller hold the ops key (the ops routes run; else they answer 403). Every answer must be a real
 * status, and an application/json body must parse.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"
#include "lambda/router/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seam {
	const uint8_t *data;
	size_t size;
};

static struct aws_client *no_aws(struct service_context *ctx, struct err *e)
{
	(void)ctx;
	err_set(e, ERR_NETWORK, "fuzzing: no AWS");
	return NULL;
}

static char *str(const char *fmt, unsigned v)
{
	char tmp[64];

	snprintf(tmp, sizeof(tmp), fmt, v);
	return strdup(tmp);
}

/* Up to 16 instances, 4 input bytes each: state, addresses, launch time, tag. */
static int fake_describe(struct service_context *ctx, const struct ec2_filter *filters,
                         size_t n_filters, struct ec2_instance_list *out, struct err *e)
{
	struct seam *s = ctx->seam_data;
	size_t i, n = s->size / 4 > 16 ? 16 : s->size / 4;

	if (n_filters < 1 || filters[0].n_values < 1)
		return err_set(e, ERR_INTERNAL, "no filter");
	if (n && s->data[0] % 7 == 0)
		return err_set_aws(e, s->data[1] % 2 ? ERR_THROTTLED : ERR_AWS, 400, "Fuzz", "rid",
		                   "fuzz");
	out->items = calloc(n ? n : 1, sizeof(*out->items));
	if (!out->items)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const uint8_t *b = s->data + 4 * i;
		struct ec2_instance *in = &out->items[out->n++];
		in->instance_id = str("i-%02x", b[0] & 0x3f);
		in->state = strdup(b[1] & 1 ? "running" : "stopped");
		in->public_ip = b[1] & 2 ? str("192.0.2.%u", b[2]) : NULL;
		in->private_ip = b[1] & 4 ? str("10.0.0.%u", b[2]) : NULL;
		in->launch_time_ms = b[3] & 0x0f;
		in->launch_time = b[1] & 8 ? str("t%u", b[3]) : NULL;
		in->tags = calloc(1, sizeof(*in->tags));
		if (in->tags && !(b[1] & 16)) {
			/* the tag the route asked for, with the value it asked for */
			const char *key = filters[0].name + 4;
			in->tags[0].key = strdup(key);
			in->tags[0].value = strdup(filters[0].values[0]);
			in->n_tags = 1;
		}
	}
	return 0;
}

static void parse_request(const char *text, struct router_request *req)
{
	const char *p = text;
	int line = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *l = strndup(p, len), *sep;

		if (!l)
			return;
		if (line == 0) {
			req->method = l;
			l = NULL;
		} else if (line == 1) {
			req->path = l;
			l = NULL;
		} else if (l[0] == '?' && (sep = strchr(l, '=')) != NULL) {
			*sep = '\0';
			router_pair_add(&req->query, &req->n_query, l + 1, sep + 1);
		} else if ((sep = strchr(l, ':')) != NULL) {
			*sep = '\0';
			router_pair_add(&req->headers, &req->n_headers, l,
			                sep + 1 + (sep[1] == ' '));
		}
		free(l);
		line++;
		p += len + (nl ? 1 : 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct service_context ctx = {.aws_get = no_aws};
	struct router_request req;
	struct router_response resp;
	struct seam seam = {data, size};
	char *text;

	if (size < 1 || size > 65536)
		return 0;
	text = strndup((const char *)data + 1, size - 1);
	if (!text)
		return 0;
	if (data[0] % 2) {
		ctx.describe_instances = fake_describe;
		ctx.seam_data = &seam;
	}
	router_request_init(&req);
	router_response_init(&resp);
	parse_request(text, &req);
	/* The caller class from the first byte too: the ops routes' check, and their handlers. */
	req.caller.key = data[0] & 2 ? ROUTER_KEY_OPS : ROUTER_KEY_UNCHECKED;
	if (router_handle(&ctx, &req, &resp) == 0) {
		if (resp.status < 200 || resp.status > 599)
			abort();
		if (resp.content_type && strcmp(resp.content_type, "application/json") == 0) {
			json_t *j = json_loadb(resp.body.data, resp.body.len, 0, NULL);
			if (!j)
				abort();
			json_decref(j);
		}
	}
	router_response_free(&resp);
	router_request_free(&req);
	free(text);
	return 0;
}
