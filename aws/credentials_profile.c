/* credentials_profile: the profile part of the credential chain; see credentials_profile.h. */
#include "credentials_profile.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "credentials_cache.h"
#include "credentials_process.h"
#include "credentials_remote.h"
#include "credentials_sso.h"
#include "credentials_sts.h"
#include "profile.h"

#define MAX_CHAIN 32

/* ---- the two files, as botocore's full_config ------------------------- */

struct kv {
	char *key, *value;
};

struct section {
	char *name;
	struct kv *kv;
	size_t n;
};

struct table {
	struct section *s;
	size_t n;
};

struct files {
	struct table cred;           /* the credentials file's profiles */
	struct table conf;           /* the config file's [profile X] and [default] */
	struct table sso;            /* the config file's [sso-session X] */
	char *cred_path, *conf_path; /* NULL without a home directory */
	int cred_exists, conf_exists;
};

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		for (size_t j = 0; j < t->s[i].n; j++) {
			free(t->s[i].kv[j].key);
			credentials_wipe_free(t->s[i].kv[j].value);
		}
		free(t->s[i].kv);
		free(t->s[i].name);
	}
	free(t->s);
	memset(t, 0, sizeof(*t));
}

static void files_free(struct files *f)
{
	table_free(&f->cred);
	table_free(&f->conf);
	table_free(&f->sso);
	free(f->cred_path);
	free(f->conf_path);
}

static struct section *table_find(const struct table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->s[i].name, name) == 0)
			return &t->s[i];
	return NULL;
}

static const char *section_get(const struct section *s, const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; s && i < s->n; i++)
		if (strcmp(s->kv[i].key, key) == 0)
			v = s->kv[i].value; /* the last one wins */
	return v;
}

struct loader {
	struct files *f;
	int is_config;
	struct section *cur; /* NULL: a section we do not keep */
	struct err *e;
};

/* "profile X" / "sso-session X" as botocore's shlex.split sees it: X, or NULL. */
static char *second_word(const char *section, const char *prefix)
{
	char **argv = NULL, *name = NULL;

	if (strncmp(section, prefix, strlen(prefix)) != 0)
		return NULL;
	if (credentials_shell_split(section, &argv, NULL) == 0 && argv[0] && argv[1] && !argv[2] &&
	    strcmp(argv[0], prefix) == 0)
		name = strdup(argv[1]);
	credentials_argv_free(argv);
	return name;
}

static struct section *table_add(struct table *t, char *name)
{
	struct section *s = table_find(t, name), *grown;

	if (s) {
		free(name);
		return s;
	}
	grown = realloc(t->s, (t->n + 1) * sizeof(*grown));
	if (!grown) {
		free(name);
		return NULL;
	}
	t->s = grown;
	s = &t->s[t->n++];
	memset(s, 0, sizeof(*s));
	s->name = name;
	return s;
}

static int load_visit(void *ctx, const char *section, const char *key, const char *subkey,
                      const char *value)
{
	struct loader *l = ctx;
	struct kv *grown;
	char *name;

	if (!key) {
		struct table *t = l->is_config ? &l->f->conf : &l->f->cred;

		l->cur = NULL;
		if (!l->is_config)
			name = strdup(section);
		else if (strcmp(section, "default") == 0)
			name = strdup("default");
		else if ((name = second_word(section, "sso-session")) != NULL)
			t = &l->f->sso;
		else
			name = second_word(section, "profile");
		if (!name)
			return 0; /* not a section the credential chain reads (or no memory) */
		l->cur = table_add(t, name);
		return l->cur ? 0 : err_set(l->e, ERR_NOMEM, "out of memory");
	}
	if (!l->cur || subkey)
		return 0;
	grown = realloc(l->cur->kv, (l->cur->n + 1) * sizeof(*grown));
	if (!grown)
		return err_set(l->e, ERR_NOMEM, "out of memory");
	l->cur->kv = grown;
	grown[l->cur->n].key = strdup(key);
	grown[l->cur->n].value = strdup(value);
	if (!grown[l->cur->n].key || !grown[l->cur->n].value) {
		free(grown[l->cur->n].key);
		free(grown[l->cur->n].value);
		return err_set(l->e, ERR_NOMEM, "out of memory");
	}
	l->cur->n++;
	return 0;
}

/* Loads *path into f; a missing file says nothing. */
static int load_file(struct files *f, char **path, int is_config, struct err *e)
{
	struct loader l = {f, is_config, NULL, e};
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!*path)
		return 0;
	rc = profile_read_file(*path, &text, &len, e);
	if (rc == ERR_NOT_FOUND)
		return 0;
	if (is_config)
		f->conf_exists = 1;
	else
		f->cred_exists = 1;
	if (rc == 0) {
		rc = profile_parse(text, len, load_visit, &l, e);
		if (rc)
			err_prefix(e, "%s", *path);
	}
	if (text) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	return rc == ERR_NOMEM || rc == 0 ? rc : ERR_CREDENTIALS;
}

static int files_load(struct files *f, struct err *e)
{
	int rc;

	memset(f, 0, sizeof(*f));
	rc = profile_credentials_path(&f->cred_path, e);
	if (rc == 0)
		rc = profile_config_path(&f->conf_path, e);
	if (rc == ERR_NOT_FOUND) /* no home directory: no files */
		rc = 0;
	if (rc == 0)
		rc = load_file(f, &f->cred_path, 0, e);
	if (rc == 0)
		rc = load_file(f, &f->conf_path, 1, e);
	return rc;
}

/* botocore's full_config: the credentials file's value, else the config file's. */
static const char *get(const struct files *f, const char *profile, const char *key)
{
	const char *v = section_get(table_find(&f->cred, profile), key);

	return v ? v : section_get(table_find(&f->conf, profile), key);
}

static int has_profile(const struct files *f, const char *profile)
{
	return table_find(&f->cred, profile) || table_find(&f->conf, profile);
}

/* ---- the resolver ------------------------------------------------------ */

struct resolver {
	struct http_client *http;
	struct files f;
	const char *visited[MAX_CHAIN];
	size_t n_visited;
	time_t now;
	const char *method;
};

static int set_creds(struct aws_credentials *c, const char *id, const char *secret,
                     const char *token, struct err *e)
{
	memset(c, 0, sizeof(*c));
	c->access_key_id = strdup(id);
	c->secret_access_key = strdup(secret);
	if (token && *token)
		c->session_token = strdup(token);
	if (!c->access_key_id || !c->secret_access_key || (token && *token && !c->session_token)) {
		aws_credentials_clear(c);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

int credentials_from_env(struct aws_credentials *out, struct err *e)
{
	const char *id = credentials_env("AWS_ACCESS_KEY_ID"),
	           *secret = credentials_env("AWS_SECRET_ACCESS_KEY");

	if (!id && !secret)
		return err_set(e, ERR_NOT_FOUND, "environment: not set");
	if (!secret)
		return err_set(e, ERR_CREDENTIALS,
		               "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
	if (!id)
		return err_set(e, ERR_CREDENTIALS,
		               "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
	return set_creds(out, id, secret, credentials_env("AWS_SESSION_TOKEN"), e);
}

/* The static keys of one file's profile: 0, ERR_NOT_FOUND, or an error. */
static int static_keys(const struct table *t, const char *path, const char *profile,
                       struct aws_credentials *out, struct err *e)
{
	const struct section *s = table_find(t, profile);
	const char *id = section_get(s, "aws_access_key_id");
	const char *secret = section_get(s, "aws_secret_access_key");
	const char *token = section_get(s, "aws_session_token");

	if (id && !*id)
		id = NULL;
	if (secret && !*secret)
		secret = NULL;
	if (!token)
		token = section_get(s, "aws_security_token");
	if (!id && !secret)
		return ERR_NOT_FOUND;
	if (!id || !secret)
		return err_set(e, ERR_CREDENTIALS, "profile %s in %s has %s but no %s", profile,
		               path, id ? "aws_access_key_id" : "aws_secret_access_key",
		               id ? "aws_secret_access_key" : "aws_access_key_id");
	return set_creds(out, id, secret, token, e);
}

static int has_static(const struct files *f, const char *profile)
{
	return get(f, profile, "aws_access_key_id") || get(f, profile, "aws_secret_access_key");
}

static int has_role(const struct files *f, const char *profile)
{
	return get(f, profile, "role_arn") && !get(f, profile, "web_identity_token_file");
}

static int assume_role(struct resolver *r, const char *profile, struct aws_credentials *out,
                       struct err *e);

/* A role's session name: the configured one, or botocore's default. */
static const char *session_name(const char *configured, char buf[48])
{
	if (configured)
		return configured;
	snprintf(buf, 48, "botocore-session-%lld", (long long)time(NULL));
	return buf;
}

/* ---- web identity -------------------------------------------------------- */

static int web_identity(struct resolver *r, const char *profile, int no_env,
                        struct aws_credentials *out, struct err *e)
{
	const char *file = no_env ? NULL : credentials_env("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *arn = no_env ? NULL : credentials_env("AWS_ROLE_ARN");
	const char *name = no_env ? NULL : credentials_env("AWS_ROLE_SESSION_NAME");
	struct sts_role_args a = {0};
	char key[41], dflt[48], *token = NULL;
	size_t len = 0;
	int rc;

	if (!file)
		file = get(&r->f, profile, "web_identity_token_file");
	if (!file || !*file)
		return ERR_NOT_FOUND;
	if (!arn)
		arn = get(&r->f, profile, "role_arn");
	if (!name)
		name = get(&r->f, profile, "role_session_name");
	if (!arn || !*arn)
		return err_set(e, ERR_CREDENTIALS,
		               "profile %s: web identity token file %s is configured but no role "
		               "ARN: set AWS_ROLE_ARN or the profile's role_arn",
		               profile, file);
	r->method = "assume-role-with-web-identity";
	rc = credentials_cache_key_role(arn, name, NULL, NULL, -1, key, e);
	if (rc)
		return rc;
	rc = credentials_cache_load(key, r->now, out, e);
	if (rc != ERR_NOT_FOUND)
		return rc;
	rc = profile_read_file(file, &token, &len, e);
	if (rc) {
		err_prefix(e, "profile %s: web identity token file", profile);
		return rc == ERR_NOMEM ? rc : ERR_CREDENTIALS;
	}
	a.role_arn = arn;
	a.session_name = session_name(name, dflt);
	a.duration = -1;
	a.web_identity_token = token;
	rc = credentials_sts_call(r->http, NULL, &a, out, e);
	credentials_wipe_free(token);
	if (rc)
		return rc == ERR_NOMEM ? rc : ERR_CREDENTIALS;
	credentials_cache_store(key, out, NULL);
	return 0;
}

/* ---- SSO ----------------------------------------------------------------- */

static int sso(struct resolver *r, const char *profile, struct aws_credentials *out, struct err *e)
{
	static const char *const keys[] = {"sso_role_name", "sso_account_id", "sso_start_url",
	                                   "sso_region"};
	const char *v[4], *sess_name = get(&r->f, profile, "sso_session");
	const struct section *sess = NULL;
	struct sso_config c;
	char missing[200] = "", key[41];
	int rc;

	if (!get(&r->f, profile, "sso_role_name") && !get(&r->f, profile, "sso_account_id"))
		return ERR_NOT_FOUND;
	r->method = "sso";
	if (sess_name) {
		sess = table_find(&r->f.sso, sess_name);
		if (!sess)
			return err_set(e, ERR_CREDENTIALS,
			               "profile %s: the sso_session \"%s\" has no [sso-session %s] "
			               "section in %s",
			               profile, sess_name, sess_name,
			               r->f.conf_path ? r->f.conf_path : "the config file");
	}
	for (int i = 0; i < 4; i++) {
		const char *pv = get(&r->f, profile, keys[i]);
		const char *sv = section_get(sess, keys[i]);

		if (pv && sv && strcmp(pv, sv) != 0)
			return err_set(e, ERR_CREDENTIALS,
			               "profile %s: %s is \"%s\" in the profile but \"%s\" in "
			               "sso-session %s",
			               profile, keys[i], pv, sv, sess_name);
		v[i] = sv ? sv : pv;
		if (!v[i])
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
			         "%s%s", *missing ? ", " : "", keys[i]);
	}
	if (*missing)
		return err_set(e, ERR_CREDENTIALS,
		               "profile %s is configured to use SSO but is missing %s", profile,
		               missing);
	c = (struct sso_config){profile, sess_name, v[2], v[3], v[1], v[0]};
	rc = credentials_cache_key_sso(c.account_id, c.role_name, sess_name, c.start_url, key, e);
	if (rc)
		return rc;
	rc = credentials_cache_load(key, r->now, out, e);
	if (rc != ERR_NOT_FOUND)
		return rc;
	rc = credentials_sso_get(r->http, &c, r->now, out, e);
	if (rc)
		return rc == ERR_NOMEM ? rc : ERR_CREDENTIALS;
	credentials_cache_store(key, out, "sso");
	return 0;
}

/* ---- the profile providers (botocore's ProfileProviderBuilder) ------------ */

static int profile_providers(struct resolver *r, const char *profile, int no_env,
                             struct aws_credentials *out, struct err *e)
{
	const char *process;
	int rc;

	rc = web_identity(r, profile, no_env, out, e);
	if (rc != ERR_NOT_FOUND)
		return rc;
	rc = sso(r, profile, out, e);
	if (rc != ERR_NOT_FOUND)
		return rc;
	r->method = "shared-credentials-file";
	rc = static_keys(&r->f.cred, r->f.cred_path, profile, out, e);
	if (rc != ERR_NOT_FOUND)
		return rc;
	process = get(&r->f, profile, "credential_process");
	if (process) {
		r->method = "custom-process";
		return credentials_process_run(profile, process, out, e);
	}
	r->method = "config-file";
	return static_keys(&r->f.conf, r->f.conf_path, profile, out, e);
}

/* ---- assume role ----------------------------------------------------------- */

static int visited(const struct resolver *r, const char *profile)
{
	for (size_t i = 0; i < r->n_visited; i++)
		if (strcmp(r->visited[i], profile) == 0)
			return 1;
	return 0;
}

static int loop_error(const struct resolver *r, const char *source, struct err *e)
{
	char chain[300] = "";

	for (size_t i = 0; i < r->n_visited; i++)
		snprintf(chain + strlen(chain), sizeof(chain) - strlen(chain), "%s -> ",
		         r->visited[i]);
	return err_set(e, ERR_CREDENTIALS, "source_profile loop: %s%s", chain, source);
}

/* The source credentials of a role profile. */
static int role_source(struct resolver *r, const char *profile, const char *source, const char *cs,
                       struct aws_credentials *out, struct err *e)
{
	int rc;

	if (cs) {
		if (strcmp(cs, "Environment") == 0)
			rc = credentials_from_env(out, e);
		else if (strcmp(cs, "EcsContainer") == 0)
			rc = credentials_from_container(r->http, out, e);
		else
			rc = credentials_from_imds(r->http, out, e);
		if (rc == ERR_NOT_FOUND)
			rc = err_set(e, ERR_CREDENTIALS,
			             "profile %s: credential_source %s found no credentials",
			             profile, cs);
		else if (rc)
			err_prefix(e, "profile %s: credential_source %s", profile, cs);
		return rc == ERR_NOMEM || rc == 0 ? rc : ERR_CREDENTIALS;
	}
	if (r->n_visited >= MAX_CHAIN)
		return err_set(e, ERR_CREDENTIALS, "profile %s: source_profile chain too long",
		               profile);
	r->visited[r->n_visited++] = source;
	if (has_static(&r->f, source) || !has_role(&r->f, source)) {
		rc = profile_providers(r, source, 1, out, e);
		if (rc == ERR_NOT_FOUND)
			rc = err_set(e, ERR_CREDENTIALS,
			             "the source profile %s (of profile %s) must have credentials",
			             source, profile);
		return rc;
	}
	return assume_role(r, source, out, e);
}

static int assume_role(struct resolver *r, const char *profile, struct aws_credentials *out,
                       struct err *e)
{
	const char *arn = get(&r->f, profile, "role_arn");
	const char *source = get(&r->f, profile, "source_profile");
	const char *cs = get(&r->f, profile, "credential_source");
	const char *mfa = get(&r->f, profile, "mfa_serial");
	const char *ext = get(&r->f, profile, "external_id");
	const char *name = get(&r->f, profile, "role_session_name");
	const char *dur = get(&r->f, profile, "duration_seconds");
	struct aws_credentials src = {0};
	struct sts_role_args a = {0};
	char key[41], dflt[48];
	long duration = -1;
	int rc;

	if (dur) { /* Python's int(): surrounding blanks, a sign; anything else is ignored */
		char *end;
		long d = strtol(dur, &end, 10);

		while (*end == ' ' || *end == '\t')
			end++;
		if (end != dur && !*end)
			duration = d;
	}
	if (source && cs)
		return err_set(e, ERR_CREDENTIALS,
		               "profile %s has both source_profile and credential_source", profile);
	if (!source && !cs)
		return err_set(e, ERR_CREDENTIALS,
		               "profile %s has role_arn but neither source_profile nor "
		               "credential_source",
		               profile);
	if (cs && strcmp(cs, "Environment") != 0 && strcmp(cs, "EcsContainer") != 0 &&
	    strcmp(cs, "Ec2InstanceMetadata") != 0)
		return err_set(e, ERR_CREDENTIALS,
		               "profile %s: credential_source \"%s\" is not valid (Environment, "
		               "EcsContainer or Ec2InstanceMetadata)",
		               profile, cs);
	if (source && !has_profile(&r->f, source))
		return err_set(e, ERR_CREDENTIALS,
		               "profile %s: its source_profile %s does not exist", profile, source);
	if (source && visited(r, source) &&
	    (strcmp(source, profile) != 0 || !has_static(&r->f, source)))
		return loop_error(r, source, e);
	r->method = "assume-role";
	rc = credentials_cache_key_role(arn, name, ext, mfa, duration, key, e);
	if (rc)
		return rc;
	rc = credentials_cache_load(key, r->now, out, e);
	if (rc != ERR_NOT_FOUND)
		return rc;
	if (mfa)
		return err_set(e, ERR_CREDENTIALS,
		               "profile %s uses mfa_serial %s: ebssh cannot ask for an MFA code; "
		               "run an AWS CLI command with --profile %s (it asks and caches the "
		               "role's credentials, which ebssh then uses until they expire)",
		               profile, mfa, profile);
	rc = role_source(r, profile, source, cs, &src, e);
	if (rc)
		return rc;
	a.role_arn = arn;
	a.session_name = session_name(name, dflt);
	a.external_id = ext;
	a.duration = duration;
	rc = credentials_sts_call(r->http, &src, &a, out, e);
	aws_credentials_clear(&src);
	r->method = "assume-role";
	if (rc) {
		err_prefix(e, "profile %s: role %s", profile, arn);
		return rc == ERR_NOMEM ? rc : ERR_CREDENTIALS;
	}
	credentials_cache_store(key, out, NULL);
	return 0;
}

/* ---- the entry point ------------------------------------------------------ */

int credentials_from_profile(struct http_client *http, const char *profile, int explicit,
                             struct aws_credentials *out, const char **method, struct err *e)
{
	struct resolver r = {.http = http, .now = time(NULL)};
	int rc;

	memset(out, 0, sizeof(*out));
	if (!profile)
		profile = profile_name();
	rc = files_load(&r.f, e);
	if (rc)
		goto out;
	r.visited[r.n_visited++] = profile;
	if (has_role(&r.f, profile))
		rc = assume_role(&r, profile, out, e);
	else
		rc = profile_providers(&r, profile, explicit, out, e);
	if (rc != ERR_NOT_FOUND)
		goto out;
	if ((explicit || credentials_env("AWS_PROFILE")) && !has_profile(&r.f, profile))
		rc = err_set(e, ERR_CREDENTIALS, "profile %s (%s) not found in %s or %s", profile,
		             explicit ? "named" : "AWS_PROFILE",
		             r.f.cred_path ? r.f.cred_path : "~/.aws/credentials",
		             r.f.conf_path ? r.f.conf_path : "~/.aws/config");
	else
		rc = err_set(e, ERR_NOT_FOUND, "profile %s: no credentials in %s, %s", profile,
		             r.f.cred_exists ? r.f.cred_path : "no credentials file",
		             r.f.conf_exists ? r.f.conf_path : "no config file");
out:
	if (rc == 0 && method)
		*method = r.method;
	files_free(&r.f);
	return rc;
}
