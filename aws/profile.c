/* profile: the AWS CLI's INI files; see profile.h. */
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/file.h"

/* Python's str.strip() whitespace, but for the line breaks split on before. */
static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* Trims [*s, *s + *n) in place. */
static void trim(const char **s, size_t *n)
{
	while (*n && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

struct parser {
	profile_visit_fn visit;
	void *ctx;
	struct err *e;
	unsigned lineno;
	struct buf section; /* the current section's name */
	int have_section;
	struct buf key;   /* the current option's key, lowercase */
	struct buf value; /* its value, continuation lines "\n"-joined */
	int have_option;
	int nested;           /* the option turned out to be a sub-section */
	size_t opt_indent;    /* indentation of the option's line */
	size_t pending_empty; /* blank lines seen inside the value */
};

static int oom(struct parser *ps)
{
	return err_set(ps->e, ERR_NOMEM, "out of memory parsing an AWS profile file");
}

/* Sets b to s[0..n) (with a terminating NUL even when empty). */
static int buf_set(struct buf *b, const char *s, size_t n)
{
	buf_reset(b);
	return buf_append(b, s, n) ? -1 : 0;
}

/* Reports the option being read, unless it was a sub-section. */
static int finish_option(struct parser *ps)
{
	int rc = 0;

	if (ps->have_option && !ps->nested)
		rc = ps->visit(ps->ctx, buf_str(&ps->section), buf_str(&ps->key), NULL,
		               buf_str(&ps->value));
	ps->have_option = 0;
	ps->nested = 0;
	ps->pending_empty = 0;
	return rc;
}

/* An indented "k = v" line of a sub-section (botocore splits at the first '='). */
static int sub_entry(struct parser *ps, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n);
	const char *k = s, *v;
	size_t kn, vn;
	struct buf sub;
	int rc;

	if (!eq)
		return err_set(ps->e, ERR_PARSE,
		               "line %u: expected \"key = value\" in sub-section %s", ps->lineno,
		               buf_str(&ps->key));
	kn = (size_t)(eq - s);
	v = eq + 1;
	vn = n - kn - 1;
	trim(&k, &kn);
	trim(&v, &vn);
	buf_init(&sub, 0);
	if (buf_set(&sub, k, kn))
		return oom(ps);
	for (size_t i = 0; i < sub.len; i++)
		if (sub.data[i] >= 'A' && sub.data[i] <= 'Z')
			sub.data[i] = (char)(sub.data[i] - 'A' + 'a');
	if (buf_set(&ps->value, v, vn)) {
		buf_free(&sub);
		return oom(ps);
	}
	rc = ps->visit(ps->ctx, buf_str(&ps->section), buf_str(&ps->key), buf_str(&sub),
	               buf_str(&ps->value));
	buf_reset(&ps->value);
	buf_free(&sub);
	return rc;
}

static int continuation(struct parser *ps, const char *s, size_t n)
{
	if (ps->nested || ps->value.len == 0) {
		ps->nested = 1;
		return sub_entry(ps, s, n);
	}
	for (; ps->pending_empty; ps->pending_empty--)
		if (buf_append(&ps->value, "\n", 1))
			return oom(ps);
	if (buf_append(&ps->value, "\n", 1) || buf_append(&ps->value, s, n))
		return oom(ps);
	return 0;
}

static int section_header(struct parser *ps, const char *s, size_t n)
{
	const char *name = s + 1;
	size_t nn = n - 2;
	int rc;

	trim(&name, &nn);
	if (nn == 0)
		return err_set(ps->e, ERR_PARSE, "line %u: empty section name", ps->lineno);
	if (buf_set(&ps->section, name, nn))
		return oom(ps);
	ps->have_section = 1;
	rc = ps->visit(ps->ctx, buf_str(&ps->section), NULL, NULL, NULL);
	return rc;
}

static int option(struct parser *ps, const char *s, size_t n, size_t indent)
{
	const char *k = s, *v;
	size_t i, kn, vn;

	for (i = 0; i < n && s[i] != '=' && s[i] != ':'; i++)
		;
	if (i == n)
		return err_set(ps->e, ERR_PARSE, "line %u: expected \"key = value\"", ps->lineno);
	kn = i;
	v = s + i + 1;
	vn = n - i - 1;
	trim(&k, &kn);
	trim(&v, &vn);
	if (kn == 0)
		return err_set(ps->e, ERR_PARSE, "line %u: no key before '%c'", ps->lineno, s[i]);
	if (buf_set(&ps->key, k, kn) || buf_set(&ps->value, v, vn))
		return oom(ps);
	for (i = 0; i < ps->key.len; i++)
		if (ps->key.data[i] >= 'A' && ps->key.data[i] <= 'Z')
			ps->key.data[i] = (char)(ps->key.data[i] - 'A' + 'a');
	ps->have_option = 1;
	ps->nested = 0;
	ps->pending_empty = 0;
	ps->opt_indent = indent;
	return 0;
}

static int parse_line(struct parser *ps, const char *line, size_t n)
{
	const char *s = line;
	size_t sn = n, indent;
	const char *close;
	int rc;

	if (memchr(line, '\0', n))
		return err_set(ps->e, ERR_PARSE, "line %u: NUL byte", ps->lineno);
	trim(&s, &sn);
	if (sn && (s[0] == '#' || s[0] == ';'))
		return 0; /* a comment: no trace, not even as a blank line of a value */
	if (sn == 0) {
		if (ps->have_option)
			ps->pending_empty++;
		return 0;
	}
	indent = (size_t)(s - line);
	if (ps->have_option && indent > ps->opt_indent)
		return continuation(ps, s, sn);
	rc = finish_option(ps);
	if (rc)
		return rc;
	/* configparser: "\[(?P<header>.+)\]" matched at the start of the stripped line. */
	close = s[0] == '[' ? memrchr(s, ']', sn) : NULL;
	if (close && close - s >= 2)
		return section_header(ps, s, (size_t)(close - s) + 1);
	if (!ps->have_section)
		return err_set(ps->e, ERR_PARSE, "line %u: text before the first [section]",
		               ps->lineno);
	return option(ps, s, sn, indent);
}

int profile_parse(const char *text, size_t len, profile_visit_fn visit, void *ctx, struct err *e)
{
	struct parser ps = {.visit = visit, .ctx = ctx, .e = e};
	const char *p = text, *end = text + len;
	int rc = 0;

	buf_init(&ps.section, 0);
	buf_init(&ps.key, 0);
	buf_init(&ps.value, 0);
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* a UTF-8 byte order mark */
	while (p < end && !rc) {
		const char *eol = p;

		while (eol < end && *eol != '\n' && *eol != '\r')
			eol++;
		ps.lineno++;
		rc = parse_line(&ps, p, (size_t)(eol - p));
		if (eol < end && *eol == '\r' && eol + 1 < end && eol[1] == '\n')
			eol++;
		p = eol < end ? eol + 1 : end;
	}
	if (!rc)
		rc = finish_option(&ps);
	buf_free(&ps.section);
	buf_free(&ps.key);
	buf_free(&ps.value);
	return rc;
}

/* "prefix name" as botocore's shlex.split sees it: two words, the second maybe quoted. */
static int prefixed_is(const char *section, const char *prefix, const char *name)
{
	size_t pn = strlen(prefix), n;
	const char *rest;

	if (strncmp(section, prefix, pn) != 0 || !is_space(section[pn]))
		return 0;
	rest = section + pn;
	while (is_space(*rest))
		rest++;
	n = strlen(rest);
	if (n >= 2 && (rest[0] == '"' || rest[0] == '\'') && rest[n - 1] == rest[0]) {
		rest++;
		n -= 2;
		if (memchr(rest, rest[-1], n))
			return 0;
	} else {
		for (size_t i = 0; i < n; i++)
			if (is_space(rest[i]) || rest[i] == '"' || rest[i] == '\'')
				return 0;
	}
	return strlen(name) == n && memcmp(rest, name, n) == 0;
}

int profile_section_is(const char *section, enum profile_kind kind, const char *name)
{
	switch (kind) {
	case PROFILE_SECTION:
		return strcmp(section, name) == 0;
	case PROFILE_CONFIG:
		if (strcmp(name, "default") == 0 && strcmp(section, "default") == 0)
			return 1;
		return prefixed_is(section, "profile", name);
	case PROFILE_SERVICES:
		return prefixed_is(section, "services", name);
	}
	return 0;
}

struct lookup {
	enum profile_kind kind;
	const char *name, *key, *subkey;
	int section_seen;
	int key_is_sub; /* key was seen as a sub-section */
	char *value;
	struct err *e;
};

static int lookup_visit(void *ctx, const char *section, const char *key, const char *subkey,
                        const char *value)
{
	struct lookup *l = ctx;
	char *copy;

	if (!profile_section_is(section, l->kind, l->name))
		return 0;
	l->section_seen = 1;
	if (!key || !l->key || strcasecmp(key, l->key) != 0)
		return 0;
	if (subkey && !l->subkey)
		l->key_is_sub = 1; /* "key =" with sub-keys where a plain key was asked */
	if (!subkey != !l->subkey || (subkey && strcasecmp(subkey, l->subkey) != 0))
		return 0;
	copy = strdup(value);
	if (!copy)
		return err_set(l->e, ERR_NOMEM, "out of memory");
	free(l->value);
	l->value = copy;
	l->key_is_sub = 0;
	return 0;
}

static const char *kind_text(enum profile_kind kind)
{
	switch (kind) {
	case PROFILE_CONFIG:
		return "profile ";
	case PROFILE_SERVICES:
		return "services ";
	default:
		return "";
	}
}

int profile_lookup(const char *text, size_t len, enum profile_kind kind, const char *name,
                   const char *key, const char *subkey, char **out, struct err *e)
{
	struct lookup l = {kind, name, key, subkey, 0, 0, NULL, e};
	int rc;

	*out = NULL;
	rc = profile_parse(text, len, lookup_visit, &l, e);
	if (rc) {
		free(l.value);
		return rc;
	}
	if (!l.section_seen)
		return err_set(e, ERR_NOT_FOUND, "no section [%s%s]", kind_text(kind), name);
	if (!l.value && subkey)
		return err_set(e, ERR_NOT_FOUND, "no %s in sub-section %s of [%s%s]", subkey, key,
		               kind_text(kind), name);
	if (!l.value)
		return err_set(e, ERR_NOT_FOUND, "%s %s in [%s%s]",
		               l.key_is_sub ? "a sub-section" : "no", key, kind_text(kind), name);
	*out = l.value;
	return 0;
}

int profile_get(const char *text, size_t len, const char *section, const char *key, char **out,
                struct err *e)
{
	return profile_lookup(text, len, PROFILE_SECTION, section, key, NULL, out, e);
}

int profile_has_section(const char *text, size_t len, enum profile_kind kind, const char *name,
                        struct err *e)
{
	struct lookup l = {kind, name, NULL, NULL, 0, 0, NULL, e};
	int rc = profile_parse(text, len, lookup_visit, &l, e);

	return rc ? rc : l.section_seen;
}

int profile_read_file(const char *path, char **text, size_t *len, struct err *e)
{
	struct stat st;
	int fd, rc = 0;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return err_set(e, ERR_NOT_FOUND, "%s does not exist", path);
		return err_set(e, ERR_IO, "cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		rc = err_set(e, ERR_IO, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISCHR(st.st_mode)) {
		/* /dev/null, as AWS_CONFIG_FILE=/dev/null: an empty file, as the CLI reads it */
		*text = calloc(1, 1);
		rc = *text ? 0 : err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = err_set(e, ERR_IO, "%s is not a regular file", path);
		goto out;
	}
	rc = file_read_capped(fd, path, PROFILE_MAX_FILE, text, len, e);
out:
	close(fd);
	return rc;
}

static const char *home_dir(char *scratch, size_t size)
{
	const char *home = getenv("HOME");
	struct passwd pw, *found = NULL;

	if (home && *home)
		return home;
	if (getpwuid_r(getuid(), &pw, scratch, size, &found) == 0 && found && found->pw_dir &&
	    *found->pw_dir)
		return found->pw_dir;
	return NULL;
}

int profile_path(const char *env_var, const char *default_rel, char **out, struct err *e)
{
	const char *v = env_var ? getenv(env_var) : NULL;
	const char *home = NULL, *rest = default_rel;
	char scratch[4096];
	struct buf b;

	*out = NULL;
	if (v && *v) {
		if (v[0] != '~' || (v[1] != '/' && v[1] != '\0')) {
			*out = strdup(v);
			return *out ? 0 : err_set(e, ERR_NOMEM, "out of memory");
		}
		rest = v[1] ? v + 2 : "";
	}
	home = home_dir(scratch, sizeof(scratch));
	if (!home)
		return err_set(e, ERR_NOT_FOUND, "no home directory (HOME is not set) for %s",
		               v && *v ? v : default_rel);
	buf_init(&b, 0);
	if (buf_appendf(&b, "%s%s%s", home, *rest ? "/" : "", rest))
		return err_set(e, ERR_NOMEM, "out of memory");
	*out = buf_take(&b);
	buf_free(&b);
	return *out ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

const char *profile_name(void)
{
	const char *p = getenv("AWS_PROFILE");

	return p && *p ? p : "default";
}

int profile_config_path(char **out, struct err *e)
{
	return profile_path("AWS_CONFIG_FILE", ".aws/config", out, e);
}

int profile_credentials_path(char **out, struct err *e)
{
	return profile_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", out, e);
}
