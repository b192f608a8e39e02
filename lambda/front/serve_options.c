/* serve_options: ebssh-api's command line (see serve_options.h). */
#include "serve_options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../aws/http.h"
#include "../../util/file.h"
#include "../../util/version.h"
#include "../router/router.h"

#define DEFAULT_LISTEN      "127.0.0.1:8080"
#define DEFAULT_THREADS     4
#define MAX_THREADS         256
#define DEFAULT_TIMEOUT_S   30
#define DEFAULT_CONNECTIONS 512
#define DEFAULT_HEADER_S    10 /* the complete request headers, from the connection's start */
#define DEFAULT_BODY_S      30 /* the complete body, from the headers */
#define DEFAULT_OPS_THREADS 2
#define MAX_OPS_THREADS     64
#define DEFAULT_OPS_QUEUE   8 /* ops requests waiting for a worker; more get 503 */
#define MAX_OPS_QUEUE       4096
#define MAX_KEY_FILE        4096

/* "ADDR:PORT" or "[IPv6]:PORT" into opt->addr. */
static int parse_listen(const char *s, struct serve_options *opt)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port_s;
	size_t host_len;
	char *end;
	unsigned long port;

	memset(&opt->addr, 0, sizeof(opt->addr));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -1;
		host_len = (size_t)(close - s - 1);
		if (host_len >= sizeof(host))
			return -1;
		memcpy(host, s + 1, host_len);
		port_s = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		host_len = (size_t)(colon - s);
		if (host_len >= sizeof(host))
			return -1;
		memcpy(host, s, host_len);
		port_s = colon + 1;
	}
	host[host_len] = '\0';
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (!*port_s || *end || errno || port > 65535 || *port_s == '-' || *port_s == '+')
		return -1;
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&opt->addr;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -1;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((unsigned short)port);
		opt->addr_len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&opt->addr;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -1;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((unsigned short)port);
		opt->addr_len = sizeof(*a4);
	}
	return 0;
}

/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: the addresses only this
 * host reaches; 0.0.0.0 and :: (every address) are not. */
static int serve_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)sa;
		return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a6) ||
		       (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
	}
	return 0;
}

/*
 * A key file's first line, without its line end (LF or CRLF), into *key
 * (malloc'd); refused, naming the option and the path, when the file cannot
 * be read, is no regular file, is readable or writable by others, or its
 * first line is empty. A group-readable file is read with a warning.
 */
static int read_key_file(const char *path, const char *option, char **key, struct err *e)
{
	struct stat st;
	size_t len = 0, line;
	char *data = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc;

	*key = NULL;
	if (fd < 0)
		return err_set(e, ERR_INVALID, "%s %s: %s", option, path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, ERR_INVALID, "%s %s: not a regular file", option, path);
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		close(fd);
		return err_set(e, ERR_INVALID,
		               "%s %s: readable or writable by others (mode %03o): chmod 600 it",
		               option, path, (unsigned)(st.st_mode & 0777));
	}
	if (st.st_mode & (S_IRGRP | S_IWGRP))
		fprintf(stderr, SERVE_PROG ": warning: %s %s is group-accessible (mode %03o)\n",
		        option, path, (unsigned)(st.st_mode & 0777));
	rc = file_read_capped(fd, path, MAX_KEY_FILE, &data, &len, e);
	close(fd);
	if (rc) {
		err_prefix(e, "%s", option);
		return ERR_INVALID;
	}
	line = strcspn(data, "\n");
	if (line && data[line - 1] == '\r')
		line--;
	if (line == 0 || memchr(data, '\0', line)) {
		explicit_bzero(data, len);
		free(data);
		return err_set(e, ERR_INVALID, "%s %s: the first line is empty (or holds a NUL)",
		               option, path);
	}
	*key = strndup(data, line);
	explicit_bzero(data, len);
	free(data);
	return *key ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

static int parse_count(const char *s, const char *what, unsigned lo, unsigned hi, unsigned *out,
                       struct err *e)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || *s == '-' || *s == '+' || v < lo || v > hi)
		return err_set(e, ERR_INVALID, "%s must be a number from %u to %u: '%s'", what, lo,
		               hi, s);
	*out = (unsigned)v;
	return 0;
}

/* The routes, from the router's table: "  GET  /eb/{env}/ip" a line, '*'
 * after the ones that need no API key. */
static void usage_routes(FILE *f)
{
	size_t i;

	for (i = 0; i < router_route_count(); i++) {
		const struct router_route *r = router_route_at(i);
		fprintf(f, "  %-5s %s%s%s\n", r->method, r->pattern,
		        r->access == ROUTER_OPEN ? "  *" : "",
		        r->route_class == ROUTER_OPS ? "  (ops)" : "");
	}
}

static void usage(FILE *f)
{
	fputs("Usage: " SERVE_PROG " [--listen ADDR:PORT] [--threads N] [--ops-threads N]\n"
	      "                 [--ops-queue N] [--api-key-file PATH | --no-auth]\n"
	      "                 [--ops-api-key-file PATH] [--timeout SECONDS]\n"
	      "                 [--header-timeout SECONDS] [--body-timeout SECONDS]\n"
	      "                 [--max-connections N]\n"
	      "\n"
	      "Serves the ebssh lookup routes over HTTP, with the AWS credentials and\n"
	      "region of the environment, the same way the Lambda function does\n"
	      "(* needs no key; (ops): needs the ops key, run by the ops workers):\n",
	      f);
	usage_routes(f);
	fputs("\n"
	      "  -l, --listen ADDR:PORT    address to listen on; IPv6 as [ADDR]:PORT\n"
	      "                            (default " DEFAULT_LISTEN "; port 0 picks one)\n"
	      "  -t, --threads N           threads reading requests and answering the\n"
	      "                            lookups (default 4)\n"
	      "      --ops-threads N       threads running the ops routes (default 2), so\n"
	      "                            that a backup or a log search never holds up a\n"
	      "                            lookup\n"
	      "      --ops-queue N         ops requests that may wait for an ops thread\n"
	      "                            (default 8); more get 503 OpsBusy with\n"
	      "                            Retry-After\n"
	      "      --api-key-file PATH   the lookup key: x-api-key must carry it (or the\n"
	      "                            ops key) on every route but the ones marked *;\n"
	      "                            the file's first line (default $EBSSH_API_KEY)\n"
	      "  -k, --api-key KEY         the lookup key on the command line (scrubbed\n"
	      "                            from the process's arguments at start; prefer\n"
	      "                            the file or the environment)\n"
	      "      --ops-api-key-file PATH\n"
	      "                            the ops key: the routes marked (ops) answer only\n"
	      "                            to it (403 otherwise), and it opens the lookups\n"
	      "                            too (default $EBSSH_OPS_API_KEY); without one\n"
	      "                            the ops routes are off (403)\n"
	      "      --no-auth             serve the lookups without a key on an address\n"
	      "                            beyond loopback (without it, no lookup key\n"
	      "                            means loopback only)\n"
	      "      --header-timeout SECONDS\n"
	      "                            a request's headers must be complete this long\n"
	      "                            after the connection opened or its previous\n"
	      "                            request ended, however steadily they trickle in\n"
	      "                            (default 10)\n"
	      "      --body-timeout SECONDS\n"
	      "                            and its body this long after its headers\n"
	      "                            (default 30); a connection past either is\n"
	      "                            closed\n"
	      "      --timeout SECONDS     idle connection timeout (default 30)\n"
	      "      --max-connections N   concurrent connections (default 512)\n"
	      "  -h, --help                this help\n"
	      "  -V, --version             the version\n"
	      "\n"
	      "Stops cleanly on SIGTERM or SIGINT, after the ops requests that run (waiting\n"
	      "ones get 503). One JSON access-log line per request goes to stderr, with the\n"
	      "request id every answer carries in x-amzn-RequestId; one JSON line too per\n"
	      "connection closed for being slow. The log names the key class that\n"
	      "matched (\"key\": \"ops\", \"lookup\" or \"none\"), never a key. A key on the\n"
	      "command line shows in ps until the scrub at start: use a file (mode 600)\n"
	      "or the environment.\n",
	      f);
}

/* Frees a key after wiping it. */
static void key_free(char *key)
{
	if (key) {
		OPENSSL_cleanse(key, strlen(key));
		free(key);
	}
}

/* The checks that need every option, and the keys' digests. */
static int settle(struct serve_options *opt, const char *api_key, const char *ops_key,
                  struct err *e)
{
	if (parse_listen(opt->listen, opt))
		return err_set(e, ERR_INVALID, "--listen wants ADDR:PORT or [IPv6]:PORT, not '%s'",
		               opt->listen);
	if (api_key && *api_key) {
		opt->api_key_set = 1;
		SHA256((const unsigned char *)api_key, strlen(api_key), opt->api_key_sha);
	}
	if (ops_key && *ops_key) {
		opt->ops_key_set = 1;
		SHA256((const unsigned char *)ops_key, strlen(ops_key), opt->ops_key_sha);
	}
	if (opt->api_key_set && opt->ops_key_set &&
	    CRYPTO_memcmp(opt->api_key_sha, opt->ops_key_sha, sizeof(opt->api_key_sha)) == 0)
		return err_set(e, ERR_INVALID,
		               "the lookup key and the ops key are the same: give the ops routes "
		               "their own");
	if (opt->no_auth && opt->api_key_set)
		return err_set(e, ERR_INVALID,
		               "--no-auth and a lookup key (--api-key-file, --api-key or "
		               "EBSSH_API_KEY) contradict each other");
	if (!opt->api_key_set && !opt->no_auth &&
	    !serve_is_loopback((const struct sockaddr *)&opt->addr))
		return err_set(
		    e, ERR_INVALID,
		    "refusing to listen on %s without a lookup key: give --api-key-file "
		    "PATH (or EBSSH_API_KEY), or --no-auth to serve the lookups to anyone "
		    "who can reach it",
		    opt->listen);
	return 0;
}

int serve_options_parse(int argc, char **argv, struct serve_options *opt, struct err *e)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"threads", required_argument, NULL, 't'},
	    {"api-key", required_argument, NULL, 'k'},
	    {"api-key-file", required_argument, NULL, 'K'},
	    {"ops-api-key-file", required_argument, NULL, 'P'},
	    {"no-auth", no_argument, NULL, 'N'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"max-connections", required_argument, NULL, 'C'},
	    {"header-timeout", required_argument, NULL, 'H'},
	    {"body-timeout", required_argument, NULL, 'B'},
	    {"ops-threads", required_argument, NULL, 'O'},
	    {"ops-queue", required_argument, NULL, 'Q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *api_key = getenv("EBSSH_API_KEY"), *ops_key = getenv("EBSSH_OPS_API_KEY");
	const char *key_file = NULL, *ops_key_file = NULL;
	char *key_arg = NULL; /* --api-key's value, a copy: argv's is scrubbed */
	char *file_key = NULL, *file_ops_key = NULL;
	int c, rc = 0;

	memset(opt, 0, sizeof(*opt));
	opt->listen = DEFAULT_LISTEN;
	opt->threads = DEFAULT_THREADS;
	opt->timeout_s = DEFAULT_TIMEOUT_S;
	opt->max_connections = DEFAULT_CONNECTIONS;
	opt->header_s = DEFAULT_HEADER_S;
	opt->body_s = DEFAULT_BODY_S;
	opt->ops_threads = DEFAULT_OPS_THREADS;
	opt->ops_queue = DEFAULT_OPS_QUEUE;
	opterr = 0;
	while (!rc && (c = getopt_long(argc, argv, ":l:t:k:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			opt->listen = optarg;
			break;
		case 't':
			rc = parse_count(optarg, "--threads", 1, MAX_THREADS, &opt->threads, e);
			break;
		case 'k':
			key_free(key_arg);
			key_arg = strdup(optarg);
			/* Out of ps and /proc/PID/cmdline from now on. */
			memset(optarg, 0, strlen(optarg));
			if (!key_arg)
				rc = err_set(e, ERR_NOMEM, "out of memory");
			break;
		case 'K':
			key_file = optarg;
			break;
		case 'P':
			ops_key_file = optarg;
			break;
		case 'N':
			opt->no_auth = 1;
			break;
		case 'T':
			rc = parse_count(optarg, "--timeout", 1, 3600, &opt->timeout_s, e);
			break;
		case 'C':
			rc = parse_count(optarg, "--max-connections", 1, 65536,
			                 &opt->max_connections, e);
			break;
		case 'H':
			rc = parse_count(optarg, "--header-timeout", 1, 3600, &opt->header_s, e);
			break;
		case 'B':
			rc = parse_count(optarg, "--body-timeout", 1, 3600, &opt->body_s, e);
			break;
		case 'O':
			rc = parse_count(optarg, "--ops-threads", 1, MAX_OPS_THREADS,
			                 &opt->ops_threads, e);
			break;
		case 'Q':
			rc = parse_count(optarg, "--ops-queue", 0, MAX_OPS_QUEUE, &opt->ops_queue,
			                 e);
			break;
		case 'h':
			usage(stdout);
			rc = SERVE_OPTIONS_DONE;
			break;
		case 'V':
			puts(SERVE_PROG " " EBSSH_VERSION);
			http_version_print(stdout, 1);
			rc = SERVE_OPTIONS_DONE;
			break;
		case ':':
			rc = err_set(e, ERR_INVALID, "%s needs a value (see --help)",
			             argv[optind - 1]);
			break;
		default:
			rc = err_set(e, ERR_INVALID, "unknown option '%s' (see --help)",
			             argv[optind - 1]);
			break;
		}
	}
	if (!rc && optind < argc)
		rc = err_set(e, ERR_INVALID, "unexpected argument '%s' (see --help)", argv[optind]);
	if (!rc && key_arg && key_file)
		rc = err_set(e, ERR_INVALID,
		             "--api-key and --api-key-file: give the lookup key once");
	if (!rc && key_file && (rc = read_key_file(key_file, "--api-key-file", &file_key, e)) == 0)
		api_key = file_key;
	else if (!rc && key_arg)
		api_key = key_arg;
	if (!rc && ops_key_file &&
	    (rc = read_key_file(ops_key_file, "--ops-api-key-file", &file_ops_key, e)) == 0)
		ops_key = file_ops_key;
	if (!rc)
		rc = settle(opt, api_key, ops_key, e);
	key_free(key_arg);
	key_free(file_key);
	key_free(file_ops_key);
	return rc;
}
