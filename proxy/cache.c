/* cache: last good answers on disk; see cache.h.
 *
 * The key's SHA-256 is OpenSSL's low-level SHA256_Init/Update/Final: plain
 * code, where EVP's first use initialises OpenSSL 3 (reads openssl.cnf, loads
 * the default provider: about 5 M instructions, a third of a warm --print).
 * Deprecated in OpenSSL 3, still shipped; the names stay the same bytes. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "../util/decimal.h"
#include "xdg.h"

#define CACHE_MAGIC "ebssh-cache 1\n"

char *cache_default_dir(struct err *e)
{
	return xdg_path("XDG_CACHE_HOME", ".cache", "ebssh", e);
}

/* mkdir -p of the parents of dir, each new one 0700. */
static int make_parents(const char *dir, struct err *e)
{
	char *p = strdup(dir), *s;
	int rc = 0;

	if (!p)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (s = p + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			rc = err_set(e, ERR_IO, "cannot create %s: %s", p, strerror(errno));
			break;
		}
		*s = '/';
	}
	free(p);
	return rc;
}

static int open_dir(const char *dir)
{
	return open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int cache_open(struct cache *c, const char *dir, struct err *e)
{
	struct stat st;
	int rc = 0;

	c->dirfd = -1;
	c->dir = NULL;
	if (!dir || dir[0] != '/')
		return err_set(e, ERR_INVALID, "the cache directory must be an absolute path");
	c->dir = strdup(dir);
	if (!c->dir)
		return err_set(e, ERR_NOMEM, "out of memory");
	c->dirfd = open_dir(dir);
	if (c->dirfd < 0 && errno == ENOENT) {
		rc = make_parents(dir, e);
		if (rc)
			goto fail;
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			rc = err_set(e, ERR_IO, "cannot create %s: %s", dir, strerror(errno));
			goto fail;
		}
		c->dirfd = open_dir(dir);
	}
	if (c->dirfd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			rc = err_set(e, ERR_INVALID, "%s is a symlink or not a directory", dir);
		else
			rc = err_set(e, ERR_IO, "cannot open %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (fstat(c->dirfd, &st) != 0) {
		rc = err_set(e, ERR_IO, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		rc = err_set(e, ERR_INVALID, "%s is owned by uid %u, not by this user", dir,
		             (unsigned)st.st_uid);
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		rc = err_set(e, ERR_INVALID, "%s is writable by group or others (chmod 700 it)",
		             dir);
		goto fail;
	}
	if ((st.st_mode & 0077) && fchmod(c->dirfd, 0700) != 0) {
		rc = err_set(e, ERR_IO, "cannot chmod 700 %s: %s", dir, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	cache_close(c);
	return rc;
}

void cache_close(struct cache *c)
{
	if (c->dirfd >= 0)
		close(c->dirfd);
	c->dirfd = -1;
	free(c->dir);
	c->dir = NULL;
}

int cache_key(char out[CACHE_KEY_LEN + 1], const char *endpoint, const char *kind, const char *name,
              unsigned index, const char *address, struct err *e)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX sha;
	size_t i;
	char *material = NULL;
	int n, ok;

	out[0] = '\0';
	/* '\n' separates fields that can never hold one (all were validated). */
	n = asprintf(&material, "ebssh-cache-key 1\n%s\n%s\n%s\n%u\n%s", endpoint, kind, name,
	             index, address);
	if (n < 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	ok =
	    SHA256_Init(&sha) && SHA256_Update(&sha, material, (size_t)n) && SHA256_Final(md, &sha);
	free(material);
	if (!ok)
		return err_set(e, ERR_INTERNAL, "SHA-256 failed");
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * sizeof(md)] = '\0';
	return 0;
}

static int key_ok(const char *key)
{
	size_t i;

	for (i = 0; i < CACHE_KEY_LEN; i++)
		if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
			return 0;
	return key[CACHE_KEY_LEN] == '\0';
}

int cache_parse_time(const char *s, size_t len, long long *out)
{
	int64_t v;

	if (decimal_parse(s, len, CACHE_TIME_MAX_LEN, DECIMAL_NO_LEADING_ZERO, 0, INT64_MAX, &v))
		return -1;
	*out = v;
	return 0;
}

/* Opens key's entry and checks that it is a small private file of ours. */
static int open_entry(const struct cache *c, const char *key, size_t max_len, struct err *e)
{
	struct stat st;
	int fd;

	fd = openat(c->dirfd, key, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return err_set(e, ERR_NOT_FOUND, "no cached answer");
		if (errno == ELOOP)
			return err_set(e, ERR_NOT_FOUND, "cache entry is a symlink: ignored");
		return err_set(e, ERR_NOT_FOUND, "cache entry unreadable: %s", strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_size < 0 || (size_t)st.st_size > max_len) {
		close(fd);
		return err_set(e, ERR_NOT_FOUND,
		               "cache entry is not a small private file: ignored");
	}
	return fd;
}

/* Reads at most max_len + 1 bytes of fd into a new NUL-terminated string. */
static char *read_text(int fd, size_t max_len, size_t *len, struct err *e)
{
	char *text = malloc(max_len + 2);
	ssize_t n;

	*len = 0;
	if (!text) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	while (*len <= max_len) {
		n = read(fd, text + *len, max_len + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	text[*len] = '\0';
	return text;
}

int cache_get_text(const struct cache *c, const char *key, time_t now, long max_age, size_t max_len,
                   cache_parse_fn parse, void *value, long long *age, struct err *e)
{
	long long stored_at = 0;
	char *text = NULL;
	size_t len = 0;
	int fd, rc = 0;

	*age = 0;
	if (!c || c->dirfd < 0)
		return err_set(e, ERR_NOT_FOUND, "no cache");
	if (!key_ok(key))
		return err_set(e, ERR_INVALID, "bad cache key");
	if (max_age <= 0)
		return err_set(e, ERR_NOT_FOUND, "cache not asked (ttl 0)");
	fd = open_entry(c, key, max_len, e);
	if (fd < 0)
		return fd;
	text = read_text(fd, max_len, &len, e);
	close(fd);
	if (!text)
		return ERR_NOMEM;
	if (len > max_len || parse(text, len, value, &stored_at) != 0)
		rc = err_set(e, ERR_NOT_FOUND, "cache entry is malformed: ignored");
	else if (stored_at > (long long)now)
		rc = err_set(e, ERR_NOT_FOUND, "cached answer is from the future: ignored");
	else if ((long long)now - stored_at >= max_age)
		rc = err_set(e, ERR_NOT_FOUND, "cached answer is %llds old (limit %lds)",
		             (long long)now - stored_at, max_age);
	else
		*age = (long long)now - stored_at;
	free(text);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int cache_put_text(const struct cache *c, const char *key, const char *text, size_t len,
                   struct err *e)
{
	static unsigned counter;
	char tmp[CACHE_KEY_LEN + 48];
	int fd = -1, rc = 0, tries;

	if (!c || c->dirfd < 0)
		return err_set(e, ERR_INVALID, "no cache");
	if (!key_ok(key) || !text)
		return err_set(e, ERR_INVALID, "bad cache entry");
	for (tries = 0; fd < 0 && tries < 8; tries++) {
		snprintf(tmp, sizeof(tmp), ".%s.%ld.%u.tmp", key, (long)getpid(), counter++);
		fd = openat(c->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		            0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return err_set(e, ERR_IO, "cannot create a file in %s: %s", c->dir,
		               strerror(errno));
	if (fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0) {
		rc = err_set(e, ERR_IO, "cannot write a file in %s: %s", c->dir, strerror(errno));
		close(fd);
		goto fail;
	}
	if (close(fd) != 0) {
		rc = err_set(e, ERR_IO, "cannot write a file in %s: %s", c->dir, strerror(errno));
		goto fail;
	}
	if (renameat(c->dirfd, tmp, c->dirfd, key) != 0) {
		rc = err_set(e, ERR_IO, "cannot rename in %s: %s", c->dir, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	unlinkat(c->dirfd, tmp, 0);
	return rc;
}

/* ---- address entries: "ebssh-cache 1\n<ip>\n<time>\n" ---- */

static int parse_addr_entry(const char *text, size_t len, void *value, long long *stored_at)
{
	const char *ip, *nl, *end = text + len;
	size_t ml = sizeof(CACHE_MAGIC) - 1;

	if (len < ml || memcmp(text, CACHE_MAGIC, ml) != 0)
		return -1;
	ip = text + ml;
	nl = memchr(ip, '\n', (size_t)(end - ip));
	if (!nl || addr_parse_literal(ip, (size_t)(nl - ip), value, NULL) != 0)
		return -1;
	if (end[-1] != '\n' || end - 1 <= nl)
		return -1;
	return cache_parse_time(nl + 1, (size_t)(end - 1 - (nl + 1)), stored_at);
}

int cache_get(const struct cache *c, const char *key, time_t now, long max_age,
              struct cache_entry *out, struct err *e)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = cache_get_text(c, key, now, max_age, CACHE_FILE_MAX, parse_addr_entry, &out->addr,
	                    &out->age, e);
	if (rc) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->stored_at = (long long)now - out->age;
	return 0;
}

int cache_get_stale(const struct cache *c, const char *key, time_t now, struct cache_entry *out,
                    struct err *e)
{
	return cache_get(c, key, now, CACHE_STALE_MAX, out, e);
}

int cache_put(const struct cache *c, const char *key, const struct addr *a, time_t now,
              struct err *e)
{
	char text[CACHE_FILE_MAX];
	int n;

	if (!a || (a->family == 0) || now < 0)
		return err_set(e, ERR_INVALID, "bad cache entry");
	n = snprintf(text, sizeof(text), CACHE_MAGIC "%s\n%lld\n", a->text, (long long)now);
	if (n < 0 || (size_t)n >= sizeof(text))
		return err_set(e, ERR_INTERNAL, "cache entry too long");
	return cache_put_text(c, key, text, (size_t)n, e);
}

static void on_lock_alarm(int sig)
{
	(void)sig; /* only interrupts flock(2) */
}

int cache_lock(const struct cache *c, const char *key, long timeout_ms, int *lock_fd, struct err *e)
{
	struct sigaction sa, old_sa;
	struct itimerval timer = {{0, 0}, {0, 0}}, old_timer;
	char name[CACHE_KEY_LEN + 8];
	struct stat st;
	int fd, rc = 0;

	*lock_fd = -1;
	if (!c || c->dirfd < 0)
		return err_set(e, ERR_INVALID, "no cache");
	if (!key_ok(key))
		return err_set(e, ERR_INVALID, "bad cache key");
	snprintf(name, sizeof(name), "%s.lock", key);
	fd = openat(c->dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, ERR_IO, "cannot open a lock in %s: %s", c->dir, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return err_set(e, ERR_IO, "unsafe lock file in %s", c->dir);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		*lock_fd = fd;
		return 0;
	}
	/* Somebody else is asking: wait for them, with a timer to bound the wait. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_lock_alarm; /* no SA_RESTART: flock fails with EINTR */
	sigemptyset(&sa.sa_mask);
	timer.it_value.tv_sec = timeout_ms / 1000;
	timer.it_value.tv_usec = (timeout_ms % 1000) * 1000;
	if (sigaction(SIGALRM, &sa, &old_sa) != 0) {
		close(fd);
		return err_set(e, ERR_IO, "sigaction: %s", strerror(errno));
	}
	setitimer(ITIMER_REAL, &timer, &old_timer);
	if (flock(fd, LOCK_EX) != 0)
		rc = errno == EINTR ? err_set(e, ERR_TIMEOUT,
		                              "another lookup of the same host is "
		                              "still running")
		                    : err_set(e, ERR_IO, "flock: %s", strerror(errno));
	timer.it_value.tv_sec = 0;
	timer.it_value.tv_usec = 0;
	setitimer(ITIMER_REAL, &timer, NULL);
	sigaction(SIGALRM, &old_sa, NULL);
	if (rc) {
		close(fd);
		return rc;
	}
	*lock_fd = fd;
	return 0;
}

void cache_unlock(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd); /* closing the last descriptor releases the flock */
}
