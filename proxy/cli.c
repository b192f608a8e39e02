/* cli: what ebssh-proxy's two commands share; see cli.h. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"

int cli_verbose;

void cli_say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, CLI_PROG ": %s\n", line);
}

int cli_parse_alias(const char *host, int asg, unsigned index, struct alias *out, struct err *e)
{
	enum alias_kind kind = asg ? ALIAS_ASG : ALIAS_EB;

	return index ? alias_parse_name(host, kind, index, out, e)
	             : alias_parse_kind(host, kind, out, e);
}

int cli_config(const struct cli_flags *f, struct config *cfg)
{
	struct config_inputs in = {0};
	char *path = config_default_path(NULL);
	struct err e;
	int rc;

	if (f) {
		in.flag_endpoint = f->endpoint;
		in.flag_api_key = f->api_key;
		in.flag_api_key_file = f->api_key_file;
		in.flag_auth = f->auth;
		in.flag_aws_profile = f->aws_profile;
		in.flag_aws_region = f->aws_region;
	}
	in.env_endpoint = getenv("EBSSH_ENDPOINT");
	in.env_api_key = getenv("EBSSH_API_KEY");
	in.env_aws_profile = getenv("AWS_PROFILE");
	in.path = path;
	rc = config_resolve(&in, cfg, &e);
	if (rc)
		cli_say("%s", e.message);
	else if (cfg->file_insecure)
		cli_say("warning: %s holds an api_key and others may read it (chmod 600 it)", path);
	else if (cfg->key_file_insecure)
		cli_say("warning: the API key file %s may be read by others (chmod 600 it)",
		        cfg->api_key_file);
	free(path);
	return rc;
}

int cli_service_prepare(struct cli_service *s, const struct config *cfg)
{
	struct err e;

	if (cfg->auth != CONFIG_AUTH_IAM)
		return 0;
	if (iam_prepare(&s->iam, cfg, &e) != 0) {
		cli_say("%s", e.message);
		return e.code;
	}
	s->signed_ = 1;
	CLI_STEP("--auth iam: region %s (from %s), AWS profile %s (%s)", s->iam.region,
	         s->iam.region_from, s->iam.profile ? s->iam.profile : "default chain",
	         config_source_name(cfg->aws_profile_from));
	return 0;
}

int cli_service_open(struct cli_service *s, const struct config *cfg, struct err *e)
{
	if (!s->http) {
		s->http = cli_http_new(e);
		if (!s->http)
			return e && e->code ? e->code : ERR_NOMEM;
	}
	if (s->signed_)
		return iam_start(&s->iam, cfg, s->http, e);
	return 0;
}

struct iam *cli_service_iam(struct cli_service *s)
{
	return s->signed_ ? &s->iam : NULL;
}

void cli_service_close(struct cli_service *s)
{
	if (s->signed_)
		iam_close(&s->iam);
	cli_http_free(s->http);
	memset(s, 0, sizeof(*s));
}

int cli_cache(struct cache *c, char key[CACHE_KEY_LEN + 1], const char *endpoint,
              const struct alias *a, const char *field)
{
	char *dir;
	struct err e;
	int ok;

	dir = cache_default_dir(&e);
	ok = dir && cache_open(c, dir, &e) == 0;
	free(dir);
	if (!ok) {
		cli_say("warning: cache disabled: %s", e.message);
		return 0;
	}
	if (cache_key(key, endpoint, lookup_kind_name(a->kind), a->name, a->index, field, &e) !=
	    0) {
		CLI_STEP("cache disabled: %s", e.message);
		cache_close(c);
		return 0;
	}
	return 1;
}

void cli_step_get(const struct lookup_query *q, const char *route)
{
	struct buf url;

	if (!cli_verbose)
		return;
	buf_init(&url, 0);
	if (lookup_route_url(q, route, &url, NULL) == 0)
		cli_say("GET %s", buf_str(&url));
	buf_free(&url);
}

struct http_client *cli_http_new(struct err *e)
{
	struct http_client *c;

	if (http_global_init(e) != 0)
		return NULL;
	c = http_client_new(e);
	if (!c)
		http_global_cleanup();
	return c;
}

void cli_http_free(struct http_client *c)
{
	if (!c)
		return;
	http_client_free(c);
	http_global_cleanup();
}

/* A fresh entry; says why not with -v. */
static int fresh(const struct cli_resolver *r)
{
	struct err ce;

	err_clear(&ce);
	if (r->cached(r->arg, r->cache_ttl, NULL, &ce) == 0)
		return 1;
	CLI_STEP("cache: %s", ce.message);
	return 0;
}

int cli_resolve(const struct cli_resolver *r, enum cli_source *from, struct err *e)
{
	struct err ce, le;
	int rc, lock_fd = -1;

	if (r->cache) {
		if (fresh(r)) {
			*from = CLI_FROM_CACHE;
			return 0;
		}
		/* A burst that all missed: one asks, the others wait and find its answer. */
		if (r->cache_ttl > 0 && r->lock_timeout_ms > 0 &&
		    cache_lock(r->cache, r->key, r->lock_timeout_ms, &lock_fd, &ce) != 0)
			CLI_STEP("cache lock: %s", ce.message);
		if (lock_fd >= 0 && fresh(r)) {
			cache_unlock(lock_fd);
			*from = CLI_FROM_CACHE;
			return 0;
		}
	}
	err_clear(&le);
	rc = r->ask(r->arg, &le);
	cache_unlock(lock_fd);
	if (rc == 0) {
		*from = CLI_FROM_SERVICE;
		return 0;
	}
	if (lookup_service_unavailable(rc) && r->cache &&
	    r->cached(r->arg, CACHE_STALE_MAX, &le, &ce) == 0) {
		*from = CLI_FROM_STALE_CACHE;
		return 0;
	}
	*e = le;
	return rc;
}
