/*
 * cli: what the two commands of ebssh-proxy share, the ProxyCommand
 * (main.c) and --known-hosts (known_hosts.c): messages on stderr, one line
 * each starting "ebssh-proxy: " (the steps only with -v); the alias from
 * HOST and the flags; the configuration from the flags, the environment
 * and the default file (config.h); the cache and the key of the lookup's
 * entry (cache.h); and the HTTP client of one run with, for --auth iam, its
 * signer (iam.h).
 */
#ifndef EBSSH_PROXY_CLI_H
#define EBSSH_PROXY_CLI_H

#include "../aws/http.h"
#include "../util/err.h"
#include "alias.h"
#include "cache.h"
#include "config.h"
#include "iam.h"
#include "lookup.h"

#define CLI_PROG "ebssh-proxy"

/* ebssh-proxy's exit statuses, both commands. */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,   /* relay, fdpass or stdout failed, or anything else */
	CLI_EXIT_USAGE = 2,  /* bad flags, a malformed alias or HOST, bad configuration */
	CLI_EXIT_LOOKUP = 3, /* no answer: not found, refused answer, service down and
	                        nothing cached */
	CLI_EXIT_CONNECT = 4 /* the instance did not accept the connection */
};

/* -v: CLI_STEP says its line only when this is set. */
extern int cli_verbose;

/* Says "ebssh-proxy: <message>\n" on stderr (the message cut at 1 KiB). */
void cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CLI_STEP(...)                                                                              \
	do {                                                                                       \
		if (cli_verbose)                                                                   \
			cli_say(__VA_ARGS__);                                                      \
	} while (0)

/* The alias of host: instance index of the name host when index is not 0
 * (--index), else host parsed as NAME[.]N; an Auto Scaling group with asg. */
int cli_parse_alias(const char *host, int asg, unsigned index, struct alias *out, struct err *e);

/* The flags of config.h's settings; NULL when not given. */
struct cli_flags {
	const char *endpoint;     /* --endpoint */
	const char *api_key;      /* --api-key (a copy: argv's is scrubbed) */
	const char *api_key_file; /* --api-key-file */
	const char *auth;         /* --auth */
	const char *aws_profile;  /* --aws-profile */
	const char *aws_region;   /* --aws-region */
};

/*
 * Resolves cfg (config_init'ed) from the flags (f may be NULL), EBSSH_ENDPOINT,
 * EBSSH_API_KEY and AWS_PROFILE, and the default configuration file. Says
 * the error on failure, and a warning when the file or the key file holds an
 * API key that others may read.
 */
int cli_config(const struct cli_flags *f, struct config *cfg);

/* The lookup service's client of one run: HTTP, and the signer with --auth iam. */
struct cli_service {
	struct http_client *http; /* NULL until cli_service_open */
	struct iam iam;
	int signed_; /* iam is prepared: requests are signed */
};

/* For --auth iam, finds the region of cfg's endpoint into s (zeroed), saying
 * with -v where it came from, or says why not: 0 or the error (a usage
 * error: the caller exits CLI_EXIT_USAGE). Nothing for --auth api-key. */
int cli_service_prepare(struct cli_service *s, const struct config *cfg);

/* Makes s (prepared) ready to ask: the HTTP client, and for --auth iam the
 * credentials provider. 0, or the error in e. Idempotent once open. */
int cli_service_open(struct cli_service *s, const struct config *cfg, struct err *e);

/* The iam for a lookup_query: NULL when requests are not signed. */
struct iam *cli_service_iam(struct cli_service *s);

/* Frees what s holds; a zeroed s is fine. */
void cli_service_close(struct cli_service *s);

/*
 * Opens the default cache directory into c (closed on entry) and makes in
 * key the key of the entry of alias a at endpoint, field telling the kind
 * of entry (cache_key's address field: "public", "private", or another kind
 * such as "hostkeys-public"). 1 when the cache can be used; else 0 after
 * saying why, with c closed: the run goes on without a cache.
 */
int cli_cache(struct cache *c, char key[CACHE_KEY_LEN + 1], const char *endpoint,
              const struct alias *a, const char *field);

/* With -v, says "GET <the URL of q's route>". */
void cli_step_get(const struct lookup_query *q, const char *route);

/* http_global_init and a new client; NULL with err, having cleaned up. */
struct http_client *cli_http_new(struct err *e);

/* Frees a client of cli_http_new and cleans up after http_global_init;
 * NULL is ignored. */
void cli_http_free(struct http_client *c);

/*
 * The one resolution of both commands: a fresh cache entry, else the
 * service (with lock_timeout_ms, under the cache's single-flight lock, so
 * that a burst that all missed asks once), else, when the service is unavailable
 * (lookup_service_unavailable), an entry up to CACHE_STALE_MAX old.
 * The caller's callbacks know its kind of answer:
 *   cached(arg, max_age, why, e)  reads an entry at most max_age old into the
 *       caller's answer: 0, else e says why. why is NULL for a fresh
 *       answer, else the service's failure (for the caller's warning).
 *   ask(arg, e)  asks the service and records a good answer: 0 or the code.
 */
enum cli_source { CLI_FROM_SERVICE, CLI_FROM_CACHE, CLI_FROM_STALE_CACHE };

struct cli_resolver {
	struct cache *cache;  /* NULL: no cache */
	const char *key;      /* the entry's key */
	long cache_ttl;       /* the freshest age accepted; 0: never fresh */
	long lock_timeout_ms; /* the single-flight lock's wait; 0: no lock taken */
	int (*cached)(void *arg, long max_age, const struct err *why, struct err *e);
	int (*ask)(void *arg, struct err *e);
	void *arg;
};

/* 0 with *from saying where the answer came from, else the service's code
 * and e its error. */
int cli_resolve(const struct cli_resolver *r, enum cli_source *from, struct err *e);

#endif
