/* libFuzzer target: proxy/config's file parser over arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const char *v)
{
	/* What the parser accepts is printable ASCII without spaces. */
	for (; v && *v; v++)
		if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct err e;
	char *again = NULL;
	int rc;

	config_init(&c);
	rc = config_parse_text((const char *)data, size, &c, &e);
	if (rc) {
		if (c.endpoint || c.api_key || !e.message[0])
			abort();
		return 0;
	}
	check_value(c.endpoint);
	check_value(c.api_key);
	/* An accepted endpoint is already normalised: checking it again is the identity. */
	if (c.endpoint) {
		if (config_check_endpoint(c.endpoint, &again, NULL) != 0 ||
		    strcmp(again, c.endpoint) != 0)
			abort();
		free(again);
	}
	if (c.api_key && config_check_api_key(c.api_key, NULL) != 0)
		abort();
	config_free(&c);
	return 0;
}
