/* known_hosts: ssh's KnownHostsCommand, from the service's hostkeys route; see known_hosts.h. */
#include "known_hosts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define ENTRY_MAGIC "ebssh-hostkeys 1\n"

int known_hosts_url(const struct lookup_query *q, struct buf *out, struct err *e)
{
	return lookup_route_url(q, LOOKUP_ROUTE_HOSTKEYS, out, e);
}

int known_hosts_classify(long status, const char *body, size_t len, const char *request_id,
                         struct hostkey_list *out, struct err *e)
{
	int rc;

	out->items = NULL;
	out->n = 0;
	if (status != 200)
		return lookup_classify_error(status, body, len, request_id, e);
	rc = hostkeys_parse_answer(body, len, out, e);
	if (rc)
		err_prefix(e, "the lookup service answered host keys that were refused");
	return rc;
}

int known_hosts_fetch(struct http_client *c, const struct lookup_query *q, struct hostkey_list *out,
                      struct err *e)
{
	struct http_response resp;
	int rc;

	out->items = NULL;
	out->n = 0;
	http_response_init(&resp);
	rc = lookup_get(c, q, LOOKUP_ROUTE_HOSTKEYS, KNOWN_HOSTS_RESPONSE_MAX, &resp, e);
	if (!rc)
		rc = known_hosts_classify(resp.status, resp.body.data, resp.body.len,
		                          http_response_header(&resp, "x-amzn-RequestId"), out, e);
	if (rc == ERR_CREDENTIALS && q->iam && resp.status)
		rc = lookup_classify_error_auth(resp.status, resp.body.data, resp.body.len,
		                                http_response_header(&resp, "x-amzn-RequestId"), 1,
		                                e);
	http_response_free(&resp);
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

/* ---- the cache entry: "ebssh-hostkeys 1\n<time>\n<answer lines>" ---- */

static int parse_entry(const char *text, size_t len, void *value, long long *stored_at)
{
	size_t ml = sizeof(ENTRY_MAGIC) - 1;
	const char *t, *nl, *end = text + len;

	if (len < ml || memcmp(text, ENTRY_MAGIC, ml) != 0)
		return -1;
	t = text + ml;
	nl = memchr(t, '\n', (size_t)(end - t));
	if (!nl || cache_parse_time(t, (size_t)(nl - t), stored_at) != 0)
		return -1;
	return hostkeys_parse_answer(nl + 1, (size_t)(end - nl - 1), value, NULL) == 0 ? 0 : -1;
}

int known_hosts_cache_get(const struct cache *c, const char *key, time_t now, long max_age,
                          struct hostkey_list *out, long long *age, struct err *e)
{
	int rc;

	out->items = NULL;
	out->n = 0;
	rc = cache_get_text(c, key, now, max_age, KNOWN_HOSTS_CACHE_MAX, parse_entry, out, age, e);
	if (rc)
		hostkey_list_free(out);
	return rc;
}

int known_hosts_cache_put(const struct cache *c, const char *key, const struct hostkey_list *keys,
                          time_t now, struct err *e)
{
	struct buf text;
	size_t i;
	int rc;

	if (!keys || !keys->n || now < 0)
		return err_set(e, ERR_INVALID, "bad cache entry");
	buf_init(&text, KNOWN_HOSTS_CACHE_MAX);
	rc = buf_appendf(&text, ENTRY_MAGIC "%lld\n", (long long)now);
	for (i = 0; i < keys->n && !rc; i++)
		rc = buf_appendf(&text, "%s %s\n", keys->items[i].type, keys->items[i].key);
	if (rc)
		return err_set(e, rc, "cache entry: %s", err_code_name(rc));
	rc = cache_put_text(c, key, text.data, text.len, e);
	buf_free(&text);
	return rc;
}

/* ---- the command ---- */

struct run {
	const struct known_hosts_opts *o;
	struct alias alias;
	struct config cfg;
	struct cache cache;
	int have_cache;
	char key[CACHE_KEY_LEN + 1];
	struct hostkey_list keys;
	struct cli_service svc;
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
	struct err ce;
	int rc;

	rc = cli_service_open(&r->svc, &r->cfg, e);
	if (rc)
		return rc;
	q.iam = cli_service_iam(&r->svc);
	cli_step_get(&q, LOOKUP_ROUTE_HOSTKEYS);
	rc = known_hosts_fetch(r->svc.http, &q, &r->keys, e);
	if (rc)
		return rc;
	CLI_STEP("the service answered %zu host key%s", r->keys.n, r->keys.n == 1 ? "" : "s");
	if (r->have_cache && known_hosts_cache_put(&r->cache, r->key, &r->keys, time(NULL), &ce))
		CLI_STEP("could not record the host keys: %s", ce.message);
	return 0;
}

/* cli_resolver's cached: the entry at most max_age old into r->keys. */
static int from_cache(void *arg, long max_age, const struct err *why, struct err *e)
{
	struct run *r = arg;
	long long age;
	int rc;

	rc = known_hosts_cache_get(&r->cache, r->key, time(NULL), max_age, &r->keys, &age, e);
	if (rc != 0)
		return rc;
	if (why)
		cli_say("warning: %s; using the host keys cached %llds ago", why->message, age);
	else
		CLI_STEP("cached host keys, %llds old", age);
	return 0;
}

/* cli_resolver's ask. */
static int from_service(void *arg, struct err *e)
{
	return ask_service(arg, e);
}

/* Fresh cache, service, or stale cache (cli_resolve, as the ProxyCommand). */
static int resolve(struct run *r, struct err *e)
{
	struct cli_resolver res = {
	    .cache = r->have_cache ? &r->cache : NULL,
	    .key = r->key,
	    .cache_ttl = r->o->cache_ttl,
	    /* ssh runs KnownHostsCommand for every connection: a cold burst
	     * makes one lookup, the others wait for its entry (bounded). */
	    .lock_timeout_ms = r->o->timeout * 1000L,
	    .cached = from_cache,
	    .ask = from_service,
	    .arg = r,
	};
	enum cli_source from;

	return cli_resolve(&res, &from, e);
}

int known_hosts_run(const struct known_hosts_opts *o)
{
	char alias_text[ALIAS_HOST_MAX + 1];
	struct buf out;
	struct run r;
	struct err e;
	int status = CLI_EXIT_FAIL, rc;

	cli_verbose = o->verbose;
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.cache.dirfd = -1;
	config_init(&r.cfg);
	buf_init(&out, 0);
	if (!o->host || strlen(o->host) > ALIAS_HOST_MAX + 8) {
		cli_say("--known-hosts: no host, or a host too long");
		return CLI_EXIT_USAGE;
	}
	rc = alias_strip_known_hosts_form(o->host, alias_text, sizeof(alias_text), &e);
	if (!rc)
		rc = cli_parse_alias(alias_text, o->asg, o->index, &r.alias, &e);
	if (rc) {
		cli_say("--known-hosts: %s", e.message);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	if (cli_config(o->flags, &r.cfg) != 0 || cli_service_prepare(&r.svc, &r.cfg) != 0) {
		status = CLI_EXIT_USAGE;
		goto out;
	}
	CLI_STEP("%s: %s %s, instance %u, host keys", o->host,
	         r.alias.kind == ALIAS_ASG ? "Auto Scaling group" : "environment", r.alias.name,
	         r.alias.index);
	r.have_cache =
	    cli_cache(&r.cache, r.key, r.cfg.endpoint, &r.alias,
	              o->address == LOOKUP_PRIVATE ? "hostkeys-private" : "hostkeys-public");
	if (resolve(&r, &e) != 0) {
		cli_say("%s: %s", o->host, e.message);
		status = CLI_EXIT_LOOKUP;
		goto out;
	}
	if (known_hosts_format(o->host, &r.keys, &out, &e) != 0) {
		cli_say("%s", e.message);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		cli_say("cannot write to stdout");
		goto out;
	}
	status = CLI_EXIT_OK;
out:
	buf_free(&out);
	hostkey_list_free(&r.keys);
	cli_service_close(&r.svc);
	cache_close(&r.cache);
	config_free(&r.cfg);
	return status;
}
