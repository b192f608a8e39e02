/*
 * lookup_cache: the instance lists of the lookup routes, kept a few seconds
 * (LOOKUP_CACHE_SECONDS) so that a burst of lookups for one target makes one
 * DescribeInstances call.
 *
 * The cache owns its entries: per key (a target kind and a name, e.g. an EB
 * environment or an Auto Scaling group), the instance list one fetch
 * answered and when that fetch started. The address kind (public or
 * private) is no part of the key: one DescribeInstances answers both, and
 * the routes filter the kept list by address when they answer.
 *
 * A front door makes one cache and sets it in every service_context it
 * builds (ebssh-api: one for all of its threads; bootstrap: one for the
 * container's life); NULL there means no caching. The cache is safe to
 * share between threads: one mutex guards it, and while a key's fetch is in
 * flight, every other caller asking for that key waits on a condition
 * variable and takes that fetch's result (its list, or its error). A failed
 * fetch is never kept. The cache holds at most max_keys keys; a new key
 * pushes out the least recently used one that has no fetch in flight.
 *
 * A list handed out is immutable and reference-counted
 * (lookup_list_release): it stays valid after the cache drops or replaces
 * it. An answer is never older than the TTL: an entry is fresh while now -
 * (the time its fetch started) < ttl.
 */
#ifndef EBSSH_LAMBDA_ROUTER_LOOKUP_CACHE_H
#define EBSSH_LAMBDA_ROUTER_LOOKUP_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "../../util/err.h"

struct ec2_instance_list;
struct lookup_cache;
struct lookup_list; /* an immutable, reference-counted instance list */

#define LOOKUP_CACHE_MAX_KEYS 256 /* the front doors' bound */

/*
 * A cache keeping lists ttl_ms milliseconds (0: nothing is kept, every get
 * fetches) for at most max_keys keys (at least 1). NULL with e set when out
 * of memory.
 */
struct lookup_cache *lookup_cache_new(int64_t ttl_ms, size_t max_keys, struct err *e);

/* Frees the cache; the lists handed out stay valid until released. No get
 * may be running. NULL is a no-op. */
void lookup_cache_free(struct lookup_cache *c);

/* Fills *out (empty on entry) with the key's instances; 0 or a negative code with e set. */
typedef int (*lookup_cache_fetch_fn)(void *arg, struct ec2_instance_list *out, struct err *e);

/*
 * The list of key (kind, name) at now_ms: the kept one while fresh, else
 * the result of the fetch in flight for the key, else fetch(arg)'s, which
 * is then kept (on success). *out is the caller's reference (release it);
 * NULL on failure, when the code (the fetch's, or ERR_NOMEM) is returned
 * with e set. c NULL: every call fetches.
 */
int lookup_cache_get(struct lookup_cache *c, int kind, const char *name, int64_t now_ms,
                     lookup_cache_fetch_fn fetch, void *arg, struct lookup_list **out,
                     struct err *e);

/* The list's instances (borrowed while the reference is held). */
const struct ec2_instance_list *lookup_list_items(const struct lookup_list *l);

/* Drops one reference; the last one frees the list. NULL is a no-op. */
void lookup_list_release(struct lookup_list *l);

/* The number of keys the cache holds (tests). */
size_t lookup_cache_size(struct lookup_cache *c);

/* The number of callers waiting for the fetch in flight of key (kind,
 * name); 0 when none is in flight (tests). */
size_t lookup_cache_waiting(struct lookup_cache *c, int kind, const char *name);

#endif
