/* libFuzzer target: aws/credentials' JSON and ISO 8601 parsers on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_credentials c;
	struct err e;
	char *text;
	time_t t;
	int rc;

	for (int require_code = 0; require_code < 2; require_code++) {
		memset(&c, 0, sizeof(c));
		rc = credentials_parse_json((const char *)data, size, require_code, &c, &e);
		if (rc == 0 && (!c.access_key_id || !*c.access_key_id || !c.secret_access_key ||
		                !*c.secret_access_key))
			abort();
		if (rc != 0 && c.access_key_id)
			abort();
		aws_credentials_clear(&c);
	}
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)credentials_parse_time(text, &t);
	free(text);
	return 0;
}
