/*
 * libFuzzer target: event_parse over arbitrary payloads; an HTTP event is
 * then routed (with no AWS client: aws_get fails, so no network) and the
 * answer formatted in the event's shape, which must be JSON.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lambda/front/event.h"
#include "lambda/router/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct aws_client *no_aws(struct service_context *ctx, struct err *e)
{
	(void)ctx;
	err_set(e, ERR_CREDENTIALS, "fuzzing: no AWS");
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct service_context ctx = {.aws_get = no_aws};
	struct router_response resp;
	struct event ev;
	struct buf out;
	struct err e;

	if (event_parse((const char *)data, size, &ev, &e) == 0 && ev.kind == EVENT_HTTP) {
		router_response_init(&resp);
		buf_init(&out, 0);
		if (router_handle(&ctx, &ev.request, &resp) == 0 &&
		    event_format_response(ev.format, &resp, &out, &e) == 0) {
			json_t *j = json_loadb(out.data, out.len, 0, NULL);
			if (!j)
				abort();
			json_decref(j);
		}
		buf_free(&out);
		router_response_free(&resp);
	}
	event_free(&ev);
	return 0;
}
