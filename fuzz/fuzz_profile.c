/* libFuzzer target: aws/profile's INI parser and lookups on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks what the parser promises about every entry it reports. */
static int visit(void *ctx, const char *section, const char *key, const char *subkey,
                 const char *value)
{
	size_t *count = ctx;

	(*count)++;
	if (!section || !*section || strchr(section, '\n') || strchr(section, '\r'))
		abort();
	if (!key) {
		if (subkey || value)
			abort();
		return 0;
	}
	if (!*key || strchr(key, '\n') || !value)
		abort();
	for (const char *c = key; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			abort();
	if (subkey && strchr(subkey, '\n'))
		abort();
	if (subkey && strchr(value, '\n'))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"region", "aws_access_key_id", "endpoint_url"};
	const char *text = (const char *)data;
	struct err e;
	size_t count = 0;
	char *out = NULL;
	int rc;

	rc = profile_parse(text, size, visit, &count, &e);
	if (rc != 0 && rc != ERR_PARSE && rc != ERR_NOMEM && rc != ERR_TOO_LARGE)
		abort();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		rc = profile_lookup(text, size, PROFILE_CONFIG, "default", keys[i], NULL, &out, &e);
		if ((rc == 0) != (out != NULL))
			abort();
		free(out);
		rc = profile_get(text, size, "default", keys[i], &out, &e);
		free(out);
	}
	rc = profile_lookup(text, size, PROFILE_SERVICES, "s", "ec2", "endpoint_url", &out, &e);
	free(out);
	(void)profile_has_section(text, size, PROFILE_CONFIG, "a", &e);
	return 0;
}
