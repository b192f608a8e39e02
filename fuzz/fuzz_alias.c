/* libFuzzer target: proxy/alias over arbitrary bytes as ssh's %h. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/alias.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[ALIAS_HOST_MAX * 2 + 2], stripped[sizeof(host)];
	struct alias a;
	struct err e;
	size_t n = size < sizeof(host) - 1 ? size : sizeof(host) - 1;
	unsigned idx;

	memcpy(host, data, n);
	host[n] = '\0';
	for (int kind = ALIAS_EB; kind <= ALIAS_ASG; kind++) {
		if (alias_parse_kind(host, (enum alias_kind)kind, &a, &e) == 0) {
			/* A parsed alias always yields a valid name and index. */
			if (a.index < 1 || a.index > ALIAS_INDEX_MAX ||
			    alias_check_name(a.name, strlen(a.name), a.kind, NULL) != 0)
				abort();
		} else {
			/* An error is one printable line. */
			if (e.code != ERR_INVALID || !e.message[0])
				abort();
			for (const char *p = e.message; *p; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
					abort();
		}
		if (alias_parse_name(host, (enum alias_kind)kind, 1, &a, NULL) == 0 &&
		    strcmp(a.name, host) != 0)
			abort();
	}
	(void)alias_parse_index(host, &idx, NULL);
	(void)alias_strip_known_hosts_form(host, stripped, sizeof(stripped), NULL);
	return 0;
}
