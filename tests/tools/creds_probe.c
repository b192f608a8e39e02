/*
 * creds_probe: asks one credentials provider for credentials N times (argv[1],
 * default 1) and prints, per call, the access key id, whether there is a
 * session token and an expiration, and the source; never the secret. When
 * EBSSH_PROBE_SECRET is set, says whether the secret equals it. Exits 1 when
 * a call failed (its line then reads "call N: error CODE: MESSAGE").
 * EBSSH_PROBE_PROFILE: the profile named explicitly (as the CLI's --profile);
 * EBSSH_PROBE_METHOD=1 adds " method=<botocore's method name>";
 * EBSSH_PROBE_DUMP=PATH writes the last credentials as JSON to PATH (mode
 * 0600; the test compares them with botocore's, and they are fake).
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/credentials.h"
#include "aws/http.h"

static void dump(const char *path, const struct aws_credentials *c, const char *method)
{
	json_t *o = json_pack("{s:s, s:s, s:s?, s:s}", "key", c->access_key_id, "secret",
	                      c->secret_access_key, "token", c->session_token, "method", method);
	char *text = o ? json_dumps(o, 0) : NULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd >= 0 && text && write(fd, text, strlen(text)) < 0)
		perror(path);
	if (fd >= 0)
		close(fd);
	free(text);
	json_decref(o);
}

int main(int argc, char **argv)
{
	const char *want_secret = getenv("EBSSH_PROBE_SECRET");
	const char *profile = getenv("EBSSH_PROBE_PROFILE");
	const char *show_method = getenv("EBSSH_PROBE_METHOD");
	const char *dump_path = getenv("EBSSH_PROBE_DUMP");
	struct credentials_provider *p = NULL;
	struct http_client *http = NULL;
	struct err e;
	int n = argc > 1 ? atoi(argv[1]) : 1, status = 0;

	if (n < 1 || n > 1000) {
		fprintf(stderr, "usage: creds_probe [calls]\n");
		return 2;
	}
	if (http_global_init(&e) || !(http = http_client_new(&e)) ||
	    !(p = credentials_provider_new_profile(http, profile && *profile ? profile : NULL,
	                                           &e))) {
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
		if (show_method && *show_method)
			printf(" method=%s", credentials_method(p));
		if (dump_path && *dump_path)
			dump(dump_path, c, credentials_method(p));
		printf("\n");
		fflush(stdout);
	}
	credentials_provider_free(p);
	http_client_free(http);
	http_global_cleanup();
	return status;
}
