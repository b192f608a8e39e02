/*
 * creds_probe: asks one credentials provider for credentials N times (argv[1],
 * default 1) and prints, per call, the access key id, whether there is a
 * session token and an expiration, and the source; never the secret. When
 * EBSSH_PROBE_SECRET is set, says whether the secret equals it. Exits 1 when
 * a call failed (its line then reads "call N: error CODE: MESSAGE").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials.h"
#include "aws/http.h"

int main(int argc, char **argv)
{
	const char *want_secret = getenv("EBSSH_PROBE_SECRET");
	struct credentials_provider *p = NULL;
	struct http_client *http = NULL;
	struct err e;
	int n = argc > 1 ? atoi(argv[1]) : 1, status = 0;

	if (n < 1 || n > 1000) {
		fprintf(stderr, "usage: creds_probe [calls]\n");
		return 2;
	}
	if (http_global_init(&e) || !(http = http_client_new(&e)) ||
	    !(p = credentials_provider_new(http, &e))) {
		fprintf(stderr, "creds_probe: %s\n", e.message);
		http_client_free(http);
		return 2;
	}
	for (int i = 1; i <= n; i++) {
		const struct aws_credentials *c = NULL;
		int rc = credentials_get(p, &c, &e);

		if (rc) {
			printf("call %d: error %s: %s\n", i, err_code_name(rc), e.message);
			status = 1;
			continue;
		}
		printf("call %d: key=%s token=%s expires=%s source=%s", i, c->access_key_id,
		       c->session_token ? "yes" : "no", c->expiration ? "yes" : "no",
		       credentials_source(p));
		if (want_secret)
			printf(" secret=%s",
			       strcmp(want_secret, c->secret_access_key) ? "mismatch" : "match");
		printf("\n");
		fflush(stdout);
	}
	credentials_provider_free(p);
	http_client_free(http);
	http_global_cleanup();
	return status;
}
