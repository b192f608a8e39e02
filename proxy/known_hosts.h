/*
 * known_hosts: `ebssh-proxy --known-hosts HOST`, ssh's KnownHostsCommand.
 *
 *   KnownHostsCommand ebssh-proxy --known-hosts %H
 *
 * ssh passes %H: the alias, or "[alias]:port" when the port is not 22. The
 * alias is parsed as the ProxyCommand parses %h (alias.c; --asg, --index
 * and --address as there), and the service's keys of that instance are
 * fetched: GET {endpoint}/{eb|asg}/{name}/hostkeys/{n}[?address=private]
 * with Accept: text/plain, x-api-key and a User-Agent (SigV4-signed with
 * --auth iam), one attempt (as lookup.c). A 200 answer is checked again here, line by line
 * (util/hostkeys: "<type> <base64>\n", known types, well-formed blobs);
 * an answer with any other line is refused as a whole and never printed.
 * Other statuses are classified as lookup_classify does (404 when the
 * console shows no keys yet, or no such instance).
 *
 * Output on stdout: one known_hosts line per key for exactly the name ssh
 * passed, "HOST <type> <base64>\n" (HOST as given, brackets and port
 * included). Nothing is printed on failure, so ssh with
 * StrictHostKeyChecking yes refuses the host.
 *
 * The keys are cached next to the proxy's addresses (cache.h: the same
 * directory, keys made by cache_key with the address field
 * "hostkeys-public" / "hostkeys-private", so they never meet an address
 * entry), with the same rules and the same code (cli_resolve): a fresh
 * entry (--cache-ttl) is used without asking; when the service is unavailable (network,
 * timeout, 429, 5xx) an entry up to CACHE_STALE_MAX old is used with a
 * warning. An entry file is
 * "ebssh-hostkeys 1\n<unix time>\n" then the answer's lines, and is
 * checked as an answer is when read. Entries are read and written by
 * cache_get_text and cache_put_text, with the care of every cache entry
 * (O_NOFOLLOW, regular, ours, not writable by others, small; written to a
 * temporary file renamed over the entry).
 */
#ifndef EBSSH_PROXY_KNOWN_HOSTS_H
#define EBSSH_PROXY_KNOWN_HOSTS_H

#include <stddef.h>
#include <time.h>

#include "../aws/http.h"
#include "../util/buf.h"
#include "../util/err.h"
#include "../util/hostkeys.h"
#include "alias.h"
#include "cache.h"
#include "cli.h"
#include "lookup.h"

#define KNOWN_HOSTS_RESPONSE_MAX ((size_t)128 * 1024)
#define KNOWN_HOSTS_CACHE_MAX    ((size_t)(HOSTKEYS_MAX * (HOSTKEYS_B64_MAX + 32) + 64))

/* What known_hosts_run needs from the command line. */
struct known_hosts_opts {
	const char *host;              /* %H as ssh passed it */
	const struct cli_flags *flags; /* --endpoint, --api-key, --auth, ...; may be NULL */
	int asg;                       /* --asg */
	unsigned index;                /* --index, 0 when not given */
	enum lookup_address address;
	long cache_ttl; /* seconds */
	long timeout;   /* seconds */
	int verbose;    /* -v */
	const char *user_agent;
};

/* The request URL of q's hostkeys (q->address adds ?address=private). */
int known_hosts_url(const struct lookup_query *q, struct buf *out, struct err *e);

/* Classifies one answer: 200 with a well-formed answer (0, *out filled),
 * 200 with anything else (ERR_PARSE), other statuses as lookup_classify. */
int known_hosts_classify(long status, const char *body, size_t len, const char *request_id,
                         struct hostkey_list *out, struct err *e);

/* Sends the request with c and classifies the answer. */
int known_hosts_fetch(struct http_client *c, const struct lookup_query *q, struct hostkey_list *out,
                      struct err *e);

/* Appends "host type key\n" per key to out; ERR_INVALID when host holds a
 * byte that is not printable ASCII or a space (it would break the line). */
int known_hosts_format(const char *host, const struct hostkey_list *keys, struct buf *out,
                       struct err *e);

/* Cached keys of key younger than max_age seconds: 0, *out and *age set;
 * ERR_NOT_FOUND for a missing, old, future, malformed or unsafe entry. */
int known_hosts_cache_get(const struct cache *c, const char *key, time_t now, long max_age,
                          struct hostkey_list *out, long long *age, struct err *e);

/* Records keys for key, stored at now. */
int known_hosts_cache_put(const struct cache *c, const char *key, const struct hostkey_list *keys,
                          time_t now, struct err *e);

/* The whole --known-hosts command; returns its exit status (enum cli_exit:
 * CLI_EXIT_LOOKUP when no keys could be had). */
int known_hosts_run(const struct known_hosts_opts *o);

#endif
