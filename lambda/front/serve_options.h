/*
 * serve_options: ebssh-api's command line, read into struct serve_options.
 *
 * The flags (--help lists them), the two keys from their files
 * (--api-key-file, --ops-api-key-file: the first line without its line end;
 * a file readable or writable by others, empty or unreadable is refused, a
 * group-readable one is read with a warning on stderr), from the
 * environment (EBSSH_API_KEY, EBSSH_OPS_API_KEY) or from --api-key (scrubbed
 * from argv at once, so that ps and /proc/PID/cmdline do not show it). Only
 * the keys' SHA-256 is kept; every copy of a key is wiped. The checks that
 * need them all: one lookup key, an ops key of its own, no lookup key
 * beyond loopback unless --no-auth.
 */
#ifndef EBSSH_LAMBDA_FRONT_SERVE_OPTIONS_H
#define EBSSH_LAMBDA_FRONT_SERVE_OPTIONS_H

#include <openssl/sha.h>
#include <sys/socket.h>

#include "../../util/err.h"

#define SERVE_PROG         "ebssh-api"
#define SERVE_OPTIONS_DONE 1 /* serve_options_parse printed --help or --version */

struct serve_options {
	struct sockaddr_storage addr; /* --listen's */
	socklen_t addr_len;
	const char *listen; /* as given (argv's) */
	unsigned threads;
	unsigned timeout_s;
	unsigned max_connections;
	unsigned header_s, body_s;
	unsigned ops_threads, ops_queue;
	int api_key_set; /* the lookup key */
	unsigned char api_key_sha[SHA256_DIGEST_LENGTH];
	int ops_key_set; /* the ops key */
	unsigned char ops_key_sha[SHA256_DIGEST_LENGTH];
	int no_auth; /* --no-auth: no lookup key, beyond loopback too */
};

/*
 * Fills *opt from argv and the environment: 0 to serve; SERVE_OPTIONS_DONE
 * when --help or --version was printed on stdout (exit 0); ERR_INVALID (or
 * ERR_NOMEM) with e saying why, for "ebssh-api: MESSAGE" and exit status 2.
 * argv's --api-key value is overwritten.
 */
int serve_options_parse(int argc, char **argv, struct serve_options *opt, struct err *e);

#endif
