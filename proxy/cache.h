/*
 * cache: the last good answer of each lookup, on disk, so that a burst of
 * ssh connections (scp -r, rsync, parallel ssh, git) costs one lookup, and
 * so that a lookup service that is down does not lock anyone out.
 *
 * The directory is $XDG_CACHE_HOME/ebssh (default ~/.cache/ebssh), created
 * 0700. It is refused when it is a symlink, not a directory, not owned by
 * this user, or writable by group or others; a directory merely readable by
 * others is tightened to 0700. One file per lookup, named by cache_key (the
 * SHA-256 of what identifies the lookup), mode 0600, holding a text entry:
 * the proxy's addresses are "ebssh-cache 1\n<ip>\n<unix time>\n" (the IP
 * is checked again with addr when read); other kinds of entries (the host
 * keys of known_hosts.c) have their own format through cache_get_text and
 * cache_put_text, which every entry goes through. Files are opened relative
 * to the directory with O_NOFOLLOW and must be regular, small, ours and not
 * writable by others; anything else, and any content that does not parse,
 * is a miss. Writes go to a fresh temporary file that is renamed over the
 * entry, so a reader sees the old entry or the new one, never a mix. There
 * is no fsync: after a crash an entry may be lost or empty, which is a
 * miss, which is fine for a cache.
 *
 * Time is passed in (now), so tests control the clock. An entry's age is
 * now minus the time it was stored; an entry from the future is a miss.
 */
#ifndef EBSSH_PROXY_CACHE_H
#define EBSSH_PROXY_CACHE_H

#include <stddef.h>
#include <time.h>

#include "../util/err.h"
#include "addr.h"

#define CACHE_STALE_MAX    (24L * 60L * 60L) /* the oldest answer used when the service fails */
#define CACHE_KEY_LEN      64                /* hex characters of a key */
#define CACHE_FILE_MAX     256               /* bytes of an address entry */
#define CACHE_TIME_MAX_LEN 12                /* digits of a stored unix time */

struct cache {
	int dirfd; /* the open directory; -1 when closed */
	char *dir; /* owned path, for messages */
};

struct cache_entry {
	struct addr addr;
	long long stored_at; /* unix time of the answer */
	long long age;       /* now - stored_at, >= 0 */
};

/* $XDG_CACHE_HOME/ebssh when that variable is an absolute path, else
 * $HOME/.cache/ebssh (HOME from the password database when unset); a new
 * string, NULL with err on failure. */
char *cache_default_dir(struct err *e);

/* Opens (creating it and missing parents, 0700) the directory dir, with the
 * checks above. On failure c is closed (dirfd -1) and err says why. */
int cache_open(struct cache *c, const char *dir, struct err *e);

/* Closes the directory and frees c's path; safe on a closed cache. */
void cache_close(struct cache *c);

/* The key of one lookup: lowercase hex SHA-256 of every field that makes
 * the answer differ. kind is "eb" or "asg", address "public" or "private". */
int cache_key(char out[CACHE_KEY_LEN + 1], const char *endpoint, const char *kind, const char *name,
              unsigned index, const char *address, struct err *e);

/*
 * The entry of key when it is younger than max_age seconds (0 <= age <
 * max_age): 0 and out filled. ERR_NOT_FOUND for a missing, expired, future,
 * malformed or unsafe entry, or a closed cache (err says which);
 * ERR_INVALID for a malformed key. max_age <= 0 never hits.
 */
int cache_get(const struct cache *c, const char *key, time_t now, long max_age,
              struct cache_entry *out, struct err *e);

/* cache_get with max_age CACHE_STALE_MAX: the fallback when the service fails. */
int cache_get_stale(const struct cache *c, const char *key, time_t now, struct cache_entry *out,
                    struct err *e);

/*
 * Single flight: takes an exclusive flock(2) on "<key>.lock" in the cache
 * directory, waiting at most timeout_ms, so that of a burst of processes
 * that all miss the cache one asks the service and the others then find its
 * answer. *lock_fd receives the held lock (release with cache_unlock).
 * ERR_TIMEOUT when another process held it too long; ERR_IO on an unsafe or
 * unusable lock file. Either way the caller may go on without the lock.
 */
int cache_lock(const struct cache *c, const char *key, long timeout_ms, int *lock_fd,
               struct err *e);

/* Releases a lock from cache_lock; -1 is ignored. */
void cache_unlock(int lock_fd);

/* Records a good answer for key, stored at now (atomically, see above). */
int cache_put(const struct cache *c, const char *key, const struct addr *a, time_t now,
              struct err *e);

/*
 * Text entries, for any kind of entry. Parses the text of an entry
 * (text[len] is '\0') into value and sets *stored_at to the unix time the
 * entry records; 0, or -1 when the text is malformed.
 */
typedef int (*cache_parse_fn)(const char *text, size_t len, void *value, long long *stored_at);

/*
 * Reads key's entry (at most max_len bytes, with the checks above), parses
 * it with parse into value, and accepts it when it is younger than max_age
 * seconds: 0 and *age set. Otherwise as cache_get: ERR_NOT_FOUND for a
 * missing, expired, future, malformed or unsafe entry or a closed cache,
 * ERR_INVALID for a malformed key, ERR_NOMEM; *age is then 0 and value
 * may hold what parse put there, for the caller to free or clear.
 */
int cache_get_text(const struct cache *c, const char *key, time_t now, long max_age, size_t max_len,
                   cache_parse_fn parse, void *value, long long *age, struct err *e);

/* Records text[0..len) as key's entry (atomically, mode 0600, see above). */
int cache_put_text(const struct cache *c, const char *key, const char *text, size_t len,
                   struct err *e);

/* A stored unix time s[0..len): 1 to CACHE_TIME_MAX_LEN digits without a
 * leading zero; 0 and *out set, or -1. */
int cache_parse_time(const char *s, size_t len, long long *out);

#endif
