/* known_hosts: ssh's KnownHostsCommand, from the service's hostkeys route; see known_hosts.h. */
#include "known_hosts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../aws/uri.h"
#include "config.h"

#define PROG         "ebssh-proxy"
#define ENTRY_MAGIC  "ebssh-hostkeys 1\n"
#define TIME_MAX_LEN 12

int known_hosts_url(const struct lookup_query *q, struct buf *out, struct err *e)
{
	const struct alias *a = q->alias;
	int rc;

	rc = buf_appendf(out, "%s/%s/", q->endpoint, lookup_kind_name(a->kind));
	if (!rc)
		rc = uri_encode(out, a->name, strlen(a->name), 0);
	if (!rc)
		rc = buf_appendf(out, "/hostkeys/%u%s", a->index,
		                 q->address == LOOKUP_PRIVATE ? "?address=private" : "");
	if (rc)
		return err_set(e, rc, "building the hostkeys URL: %s", err_code_name(rc));
	return 0;
}

int known_hosts_classify(long status, const char *body, size_t len, const char *request_id,
                         struct hostkey_list *out, struct err *e)
{
	struct addr unused;
	int rc;

	out->items = NULL;
	out->n = 0;
	if (status == 200) {
		rc = hostkeys_parse_answer(body, len, out, e);
		if (rc)
			err_prefix(e, "the lookup service answered host keys that were refused");
		return rc;
	}
	return lookup_classify(status, body, len, request_id, &unused, e);
}

int known_hosts_fetch(struct http_client *c, const struct lookup_query *q, struct hostkey_list *out,
                      struct err *e)
{
	struct http_header headers[3];
	struct http_request req;
	struct http_response resp;
	struct buf url;
	size_t n = 0;
	int rc;

	out->items = NULL;
	out->n = 0;
	buf_init(&url, 4096);
	http_response_init(&resp);
	rc = known_hosts_url(q, &url, e);
	if (rc)
		goto out;
	headers[n++] = (struct http_header){"Accept", "text/plain"};
	if (q->api_key)
		headers[n++] = (struct http_header){"x-api-key", q->api_key};
	if (q->user_agent)
		headers[n++] = (struct http_header){"User-Agent", q->user_agent};
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = buf_str(&url);
	req.headers = headers;
	req.n_headers = n;
	req.connect_timeout_ms = q->timeout_ms;
	req.timeout_ms = q->timeout_ms;
	req.max_response = KNOWN_HOSTS_RESPONSE_MAX;
	rc = http_send(c, &req, &resp, e);
	if (rc == ERR_TOO_LARGE)
		rc = err_set(e, ERR_PARSE, "the lookup service's answer is over %zu bytes",
		             KNOWN_HOSTS_RESPONSE_MAX);
	else if (rc)
		err_prefix(e, "the lookup service is unreachable");
	else
		rc = known_hosts_classify(resp.status, resp.body.data, resp.body.len,
		                          http_response_header(&resp, "x-amzn-RequestId"), out, e);
out:
	http_response_free(&resp);
	buf_free(&url);
	return rc;
}

int known_hosts_format(const char *host, const struct hostkey_list *keys, struct buf *out,
                       struct err *e)
{
	const char *p;
	size_t i;
	int rc = 0;

	if (!host || !*host)
		return err_set(e, ERR_INVALID, "no host name");
	for (p = host; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return err_set(e, ERR_INVALID,
			               "the host name holds a space or control byte");
	for (i = 0; i < keys->n && rc == 0; i++)
		rc = buf_appendf(out, "%s %s %s\n", host, keys->items[i].type, keys->items[i].key);
	if (rc)
		return err_set(e, rc, "formatting the known_hosts lines: %s", err_code_name(rc));
	return 0;
}

/* ---- the cache entry ---- */

static int key_ok(const char *key)
{
	size_t i;

	for (i = 0; i < CACHE_KEY_LEN; i++)
		if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
			return 0;
	return key[CACHE_KEY_LEN] == '\0';
}

/* "ebssh-hostkeys 1\n<time>\n<answer lines>" exactly. */
static int parse_entry(const char *text, size_t len, long long *stored_at, struct hostkey_list *out)
{
	size_t ml = sizeof(ENTRY_MAGIC) - 1;
	const char *t, *nl, *end = text + len;
	long long v = 0;

	if (len < ml || memcmp(text, ENTRY_MAGIC, ml) != 0)
		return -1;
	t = text + ml;
	nl = memchr(t, '\n', (size_t)(end - t));
	if (!nl || nl == t || nl - t > TIME_MAX_LEN || (*t == '0' && nl - t > 1))
		return -1;
	for (; t < nl; t++) {
		if (*t < '0' || *t > '9')
			return -1;
		v = v * 10 + (*t - '0');
	}
	if (hostkeys_parse_answer(nl + 1, (size_t)(end - nl - 1), out, NULL) != 0)
		return -1;
	*stored_at = v;
	return 0;
}

int known_hosts_cache_get(const struct cache *c, const char *key, time_t now, long max_age,
                          struct hostkey_list *out, long long *age, struct err *e)
{
	struct stat st;
	long long stored_at = 0;
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc = 0;

	out->items = NULL;
	out->n = 0;
	*age = 0;
	if (!c || c->dirfd < 0)
		return err_set(e, ERR_NOT_FOUND, "no cache");
	if (!key_ok(key))
		return err_set(e, ERR_INVALID, "bad cache key");
	if (max_age <= 0)
		return err_set(e, ERR_NOT_FOUND, "cache not asked (ttl 0)");
	fd = openat(c->dirfd, key, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return err_set(e, ERR_NOT_FOUND, "no cached host keys");
		return err_set(e, ERR_NOT_FOUND, "cached host keys unreadable: %s",
		               errno == ELOOP ? "a symlink" : strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_size < 0 ||
	    (size_t)st.st_size > KNOWN_HOSTS_CACHE_MAX) {
		rc = err_set(e, ERR_NOT_FOUND, "cached host keys are not a small private file");
		goto out;
	}
	text = malloc(KNOWN_HOSTS_CACHE_MAX + 1);
	if (!text) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	while (len <= KNOWN_HOSTS_CACHE_MAX) {
		n = read(fd, text + len, KNOWN_HOSTS_CACHE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (len > KNOWN_HOSTS_CACHE_MAX || parse_entry(text, len, &stored_at, out) != 0) {
		rc = err_set(e, ERR_NOT_FOUND, "cached host keys are malformed: ignored");
		goto out;
	}
	if (stored_at > (long long)now) {
		rc = err_set(e, ERR_NOT_FOUND, "cached host keys are from the future: ignored");
		goto out;
	}
	*age = (long long)now - stored_at;
	if (*age >= max_age)
		rc = err_set(e, ERR_NOT_FOUND, "cached host keys are %llds old (limit %lds)", *age,
		             max_age);
out:
	if (rc) {
		hostkey_list_free(out);
		*age = 0;
	}
	free(text);
	close(fd);
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

int known_hosts_cache_put(const struct cache *c, const char *key, const struct hostkey_list *keys,
                          time_t now, struct err *e)
{
	static unsigned counter;
	char tmp[CACHE_KEY_LEN + 48];
	struct buf text;
	size_t i;
	int fd = -1, rc = 0, tries;

	if (!c || c->dirfd < 0)
		return err_set(e, ERR_INVALID, "no cache");
	if (!key_ok(key) || !keys || !keys->n || now < 0)
		return err_set(e, ERR_INVALID, "bad cache entry");
	buf_init(&text, KNOWN_HOSTS_CACHE_MAX);
	rc = buf_appendf(&text, ENTRY_MAGIC "%lld\n", (long long)now);
	for (i = 0; i < keys->n && !rc; i++)
		rc = buf_appendf(&text, "%s %s\n", keys->items[i].type, keys->items[i].key);
	if (rc)
		return err_set(e, rc, "cache entry: %s", err_code_name(rc));
	for (tries = 0; fd < 0 && tries < 8; tries++) {
		snprintf(tmp, sizeof(tmp), ".%s.%ld.%u.tmp", key, (long)getpid(), counter++);
		fd = openat(c->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		            0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = err_set(e, ERR_IO, "cannot create a file in %s: %s", c->dir, strerror(errno));
		buf_free(&text);
		return rc;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, text.data, text.len) != 0) {
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
	buf_free(&text);
	return 0;
fail:
	unlinkat(c->dirfd, tmp, 0);
	buf_free(&text);
	return rc;
}

/* ---- the command ---- */

static int verbose;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", line);
}

#define STEP(...)                                                                                  \
	do {                                                                                       \
		if (verbose)                                                                       \
			say(__VA_ARGS__);                                                          \
	} while (0)

struct run {
	const struct known_hosts_opts *o;
	struct alias alias;
	struct config cfg;
	struct cache cache;
	int have_cache;
	char key[CACHE_KEY_LEN + 1];
	struct hostkey_list keys;
};

/* Asks the service; records a good answer. */
static int ask_service(struct run *r, struct err *e)
{
	struct lookup_query q = {
	    .endpoint = r->cfg.endpoint,
	    .api_key = r->cfg.api_key,
	    .alias = &r->alias,
	    .address = r->o->address,
	    .timeout_ms = r->o->timeout * 1000,
	    .user_agent = r->o->user_agent,
	};
	struct http_client *http = NULL;
	struct err ce;
	struct buf url;
	int rc;

	rc = http_global_init(e);
	if (rc)
		return rc;
	http = http_client_new(e);
	if (!http) {
		http_global_cleanup();
		return e && e->code ? e->code : ERR_NOMEM;
	}
	if (verbose) {
		buf_init(&url, 0);
		if (known_hosts_url(&q, &url, NULL) == 0)
			say("GET %s", buf_str(&url));
		buf_free(&url);
	}
	rc = known_hosts_fetch(http, &q, &r->keys, e);
	http_client_free(http);
	http_global_cleanup();
	if (rc)
		return rc;
	STEP("the service answered %zu host key%s", r->keys.n, r->keys.n == 1 ? "" : "s");
	if (r->have_cache && known_hosts_cache_put(&r->cache, r->key, &r->keys, time(NULL), &ce))
		STEP("could not record the host keys: %s", ce.message);
	return 0;
}

/* Fresh cache, service, or stale cache. */
static int resolve(struct run *r, struct err *e)
{
	struct err ce, le;
	long long age;
	int rc;

	if (r->have_cache) {
		rc = known_hosts_cache_get(&r->cache, r->key, time(NULL), r->o->cache_ttl, &r->keys,
		                           &age, &ce);
		if (rc == 0) {
			STEP("cached host keys, %llds old", age);
			return 0;
		}
		STEP("cache: %s", ce.message);
	}
	rc = ask_service(r, &le);
	if (rc == 0)
		return 0;
	if (lookup_service_unavailable(rc) && r->have_cache &&
	    known_hosts_cache_get(&r->cache, r->key, time(NULL), CACHE_STALE_MAX, &r->keys, &age,
	                          &ce) == 0) {
		say("warning: %s; using the host keys cached %llds ago", le.message, age);
		return 0;
	}
	*e = le;
	return rc;
}

int known_hosts_run(const struct known_hosts_opts *o)
{
	struct config_inputs in = {0};
	char alias_text[ALIAS_HOST_MAX + 1];
	char *cfg_path = NULL, *cache_dir = NULL;
	enum alias_kind kind = o->asg ? ALIAS_ASG : ALIAS_EB;
	struct buf out;
	struct run r;
	struct err e;
	int status = KNOWN_HOSTS_FAIL, rc;

	verbose = o->verbose;
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.cache.dirfd = -1;
	config_init(&r.cfg);
	buf_init(&out, 0);
	if (!o->host || strlen(o->host) > ALIAS_HOST_MAX + 8) {
		say("--known-hosts: no host, or a host too long");
		return KNOWN_HOSTS_USAGE;
	}
	rc = alias_strip_known_hosts_form(o->host, alias_text, sizeof(alias_text), &e);
	if (!rc)
		rc = o->index ? alias_parse_name(alias_text, kind, o->index, &r.alias, &e)
		              : alias_parse_kind(alias_text, kind, &r.alias, &e);
	if (rc) {
		say("--known-hosts: %s", e.message);
		status = KNOWN_HOSTS_USAGE;
		goto out;
	}
	cfg_path = config_default_path(NULL);
	in.flag_endpoint = o->endpoint;
	in.flag_api_key = o->api_key;
	in.env_endpoint = getenv("EBSSH_ENDPOINT");
	in.env_api_key = getenv("EBSSH_API_KEY");
	in.path = cfg_path;
	if (config_resolve(&in, &r.cfg, &e) != 0) {
		say("%s", e.message);
		status = KNOWN_HOSTS_USAGE;
		goto out;
	}
	if (r.cfg.file_insecure)
		say("warning: %s holds an api_key and others may read it (chmod 600 it)", cfg_path);
	STEP("%s: %s %s, instance %u, host keys", o->host,
	     kind == ALIAS_ASG ? "Auto Scaling group" : "environment", r.alias.name, r.alias.index);
	cache_dir = cache_default_dir(&e);
	if (cache_dir && cache_open(&r.cache, cache_dir, &e) == 0)
		r.have_cache = 1;
	else
		say("warning: cache disabled: %s", e.message);
	if (r.have_cache &&
	    cache_key(
	        r.key, r.cfg.endpoint, lookup_kind_name(r.alias.kind), r.alias.name, r.alias.index,
	        o->address == LOOKUP_PRIVATE ? "hostkeys-private" : "hostkeys-public", &e) != 0) {
		STEP("cache disabled: %s", e.message);
		cache_close(&r.cache);
		r.have_cache = 0;
	}
	if (resolve(&r, &e) != 0) {
		say("%s: %s", o->host, e.message);
		status = KNOWN_HOSTS_NO_KEYS;
		goto out;
	}
	if (known_hosts_format(o->host, &r.keys, &out, &e) != 0) {
		say("%s", e.message);
		status = KNOWN_HOSTS_USAGE;
		goto out;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		say("cannot write to stdout");
		goto out;
	}
	status = KNOWN_HOSTS_OK;
out:
	buf_free(&out);
	hostkey_list_free(&r.keys);
	cache_close(&r.cache);
	config_free(&r.cfg);
	free(cfg_path);
	free(cache_dir);
	return status;
}
