/* config: endpoint and API key from flags, environment, file; see config.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/file.h"
#include "xdg.h"

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
}

void config_free(struct config *c)
{
	free(c->endpoint);
	free(c->api_key);
	free(c->api_key_file);
	free(c->aws_profile);
	free(c->aws_region);
	config_init(c);
}

const char *config_source_name(enum config_source s)
{
	switch (s) {
	case CONFIG_FROM_FLAG:
		return "flag";
	case CONFIG_FROM_ENV:
		return "environment";
	case CONFIG_FROM_FILE:
		return "file";
	default:
		return "unset";
	}
}

static int url_char_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '<' && c != '>' && c != '\\' && c != '^' &&
	       c != '`' && c != '{' && c != '|' && c != '}';
}

int config_check_endpoint(const char *url, char **out, struct err *e)
{
	size_t len, i, scheme_len;
	char *copy;

	*out = NULL;
	if (!url || !*url)
		return err_set(e, ERR_INVALID, "the endpoint is empty");
	len = strnlen(url, CONFIG_URL_MAX + 1);
	if (len > CONFIG_URL_MAX)
		return err_set(e, ERR_INVALID, "the endpoint is longer than %d bytes",
		               CONFIG_URL_MAX);
	if (strncasecmp(url, "https://", 8) == 0)
		scheme_len = 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		scheme_len = 7;
	else
		return err_set(e, ERR_INVALID, "the endpoint must start with https:// or http://");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];

		if (!url_char_ok(c))
			return err_set(
			    e, ERR_INVALID,
			    "the endpoint holds a space, a control or non-ASCII byte, or "
			    "a character a URL may not hold (byte %zu)",
			    i + 1);
		if (c == '?' || c == '#')
			return err_set(e, ERR_INVALID,
			               "the endpoint may not hold a query or a fragment ('%c')", c);
	}
	if (scheme_len >= len || url[scheme_len] == '/')
		return err_set(e, ERR_INVALID, "the endpoint has no host");
	while (len > scheme_len && url[len - 1] == '/')
		len--;
	copy = strndup(url, len);
	if (!copy)
		return err_set(e, ERR_NOMEM, "out of memory");
	*out = copy;
	return 0;
}

int config_check_api_key(const char *key, struct err *e)
{
	size_t len, i;

	if (!key || !*key)
		return err_set(e, ERR_INVALID, "the API key is empty");
	len = strnlen(key, CONFIG_API_KEY_MAX + 1);
	if (len > CONFIG_API_KEY_MAX)
		return err_set(e, ERR_INVALID, "the API key is longer than %d bytes",
		               CONFIG_API_KEY_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c <= 0x20 || c >= 0x7f)
			return err_set(e, ERR_INVALID,
			               "the API key holds a space, a control or non-ASCII byte "
			               "(byte %zu)",
			               i + 1);
	}
	return 0;
}

static int is_blank(char c);

int config_parse_auth(const char *s, enum config_auth *out, struct err *e)
{
	if (s && strcmp(s, "api-key") == 0)
		*out = CONFIG_AUTH_API_KEY;
	else if (s && strcmp(s, "iam") == 0)
		*out = CONFIG_AUTH_IAM;
	else
		return err_set(e, ERR_INVALID, "auth must be api-key or iam");
	return 0;
}

const char *config_auth_name(enum config_auth a)
{
	return a == CONFIG_AUTH_IAM ? "iam" : "api-key";
}

int config_check_name(const char *name, const char *what, struct err *e)
{
	size_t len, i;

	if (!name || !*name)
		return err_set(e, ERR_INVALID, "%s is empty", what);
	len = strnlen(name, CONFIG_NAME_MAX + 1);
	if (len > CONFIG_NAME_MAX)
		return err_set(e, ERR_INVALID, "%s is longer than %d bytes", what, CONFIG_NAME_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c >= 0x7f || c == '[' || c == ']')
			return err_set(e, ERR_INVALID,
			               "%s holds a space, a bracket, a control or non-ASCII byte",
			               what);
	}
	return 0;
}

/* "~/x" as $HOME/x; other paths copied. NULL with err. */
static char *expand_home(const char *path, struct err *e)
{
	char *out;

	if (strncmp(path, "~/", 2) == 0)
		return xdg_path("HOME", ".", path + 2, e);
	out = strdup(path);
	if (!out)
		err_set(e, ERR_NOMEM, "out of memory");
	return out;
}

int config_read_key_file(const char *path, char **out, int *insecure, struct err *e)
{
	char *text = NULL;
	size_t len = 0, n;
	const char *nl;
	struct stat st;
	int fd, rc = 0;

	*out = NULL;
	*insecure = 0;
	if (!path)
		return err_set(e, ERR_INVALID, "no API key file");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_set(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, "%s: %s", path,
		               strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = err_set(e, ERR_INVALID, "%s: not a regular file", path);
		goto out;
	}
	rc = file_read_capped(fd, path, CONFIG_KEY_FILE_MAX, &text, &len, e);
	if (rc)
		goto out;
	n = len;
	nl = memchr(text, '\n', len);
	if (nl) {
		size_t i;

		n = (size_t)(nl - text);
		for (i = n + 1; i < len; i++)
			if (text[i] != '\n' && text[i] != '\r' && !is_blank(text[i])) {
				rc = err_set(e, ERR_INVALID,
				             "%s: more than one line (the key alone is expected)",
				             path);
				goto out;
			}
	}
	while (n && (text[n - 1] == '\r' || is_blank(text[n - 1])))
		n--;
	{
		const char *k = text;

		while (n && is_blank(*k)) {
			k++;
			n--;
		}
		*out = strndup(k, n);
	}
	if (!*out) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = config_check_api_key(*out, e);
	if (rc) {
		err_prefix(e, "%s", path);
		free(*out);
		*out = NULL;
		goto out;
	}
	*insecure = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
out:
	if (text) {
		explicit_bzero(text, len);
		free(text);
	}
	close(fd);
	return rc;
}

/* Replaces cfg->api_key_file (a path as written) by its expanded form and
 * reads the key it names into cfg->api_key. */
static int load_key_file(struct config *cfg, struct err *e)
{
	char *path = expand_home(cfg->api_key_file, e);
	int rc;

	if (!path)
		return e && e->code ? e->code : ERR_NOMEM;
	free(cfg->api_key_file);
	cfg->api_key_file = path;
	free(cfg->api_key);
	cfg->api_key = NULL;
	rc = config_read_key_file(path, &cfg->api_key, &cfg->key_file_insecure, e);
	if (rc)
		err_prefix(e, "api_key_file");
	return rc;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims blanks at both ends of [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

/* The keys of the file, in the order of seen_line. */
enum file_key { K_ENDPOINT, K_API_KEY, K_API_KEY_FILE, K_AUTH, K_AWS_PROFILE, K_AWS_REGION, K_N };

static const char *const key_names[K_N] = {"endpoint", "api_key",     "api_key_file",
                                           "auth",     "aws_profile", "aws_region"};

/* Stores value (owned, taken) for key k into out; 0 or the check's error. */
static int store(enum file_key k, char *value, struct config *out, struct err *e)
{
	int rc = 0;

	switch (k) {
	case K_ENDPOINT:
		rc = config_check_endpoint(value, &out->endpoint, e);
		free(value);
		if (!rc)
			out->endpoint_from = CONFIG_FROM_FILE;
		return rc;
	case K_API_KEY:
		rc = config_check_api_key(value, e);
		if (!rc) {
			out->api_key = value;
			out->api_key_from = CONFIG_FROM_FILE;
			value = NULL;
		}
		break;
	case K_API_KEY_FILE:
		out->api_key_file = value; /* read by config_load_file */
		value = NULL;
		break;
	case K_AUTH:
		rc = config_parse_auth(value, &out->auth, e);
		if (!rc)
			out->auth_from = CONFIG_FROM_FILE;
		break;
	case K_AWS_PROFILE:
	case K_AWS_REGION:
		rc = config_check_name(value, key_names[k], e);
		if (!rc && k == K_AWS_PROFILE) {
			out->aws_profile = value;
			out->aws_profile_from = CONFIG_FROM_FILE;
			value = NULL;
		} else if (!rc) {
			out->aws_region = value;
			out->aws_region_from = CONFIG_FROM_FILE;
			value = NULL;
		}
		break;
	default:
		rc = err_set(e, ERR_INTERNAL, "no such key");
	}
	free(value);
	return rc;
}

/* One "key = value" line (without its end); line_no for messages. */
static int parse_line(const char *line, size_t n, unsigned line_no, struct config *out,
                      unsigned seen_line[K_N], struct err *e)
{
	const char *eq, *key, *val;
	size_t klen, vlen;
	char *value = NULL;
	int rc;
	unsigned k;

	trim(&line, &n);
	if (n == 0 || line[0] == '#')
		return 0;
	eq = memchr(line, '=', n);
	if (!eq)
		return err_set(e, ERR_INVALID, "line %u: expected `key = value`", line_no);
	key = line;
	klen = (size_t)(eq - line);
	trim(&key, &klen);
	val = eq + 1;
	vlen = (size_t)(line + n - val);
	trim(&val, &vlen);
	if (klen == 0)
		return err_set(e, ERR_INVALID, "line %u: no key before '='", line_no);
	for (k = 0; k < K_N; k++)
		if (strlen(key_names[k]) == klen && memcmp(key, key_names[k], klen) == 0)
			break;
	if (k == K_N)
		return err_set(e, ERR_INVALID,
		               "line %u: unknown key (the keys are endpoint, api_key, "
		               "api_key_file, auth, aws_profile and aws_region)",
		               line_no);
	if (seen_line[k])
		return err_set(e, ERR_INVALID, "line %u: %s is already set on line %u", line_no,
		               key_names[k], seen_line[k]);
	if ((k == K_API_KEY && seen_line[K_API_KEY_FILE]) ||
	    (k == K_API_KEY_FILE && seen_line[K_API_KEY]))
		return err_set(e, ERR_INVALID,
		               "line %u: api_key and api_key_file do not go together (line %u)",
		               line_no, seen_line[k == K_API_KEY ? K_API_KEY_FILE : K_API_KEY]);
	seen_line[k] = line_no;
	if (vlen && (val[0] == '"' || val[0] == '\'')) {
		if (vlen < 2 || val[vlen - 1] != val[0])
			return err_set(e, ERR_INVALID, "line %u: unbalanced quote", line_no);
		val++;
		vlen -= 2;
	}
	if (vlen == 0)
		return err_set(e, ERR_INVALID, "line %u: %s has no value", line_no, key_names[k]);
	value = strndup(val, vlen);
	if (!value)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = store((enum file_key)k, value, out, e);
	if (rc)
		err_prefix(e, "line %u", line_no);
	return rc;
}

int config_parse_text(const char *text, size_t len, struct config *out, struct err *e)
{
	unsigned seen_line[K_N] = {0};
	unsigned line_no = 0;
	size_t pos = 0, end;
	const char *nl;
	int rc = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		line_no++;
		nl = memchr(text + pos, '\n', len - pos);
		end = nl ? (size_t)(nl - text) : len;
		if (memchr(text + pos, '\0', end - pos)) {
			rc = err_set(e, ERR_INVALID, "line %u: NUL byte", line_no);
			break;
		}
		rc = parse_line(text + pos, end - pos - (end > pos && text[end - 1] == '\r'),
		                line_no, out, seen_line, e);
		if (rc)
			break;
		pos = end + 1;
	}
	if (rc)
		config_free(out);
	return rc;
}

char *config_default_path(struct err *e)
{
	return xdg_path("XDG_CONFIG_HOME", ".config", "ebssh/config", e);
}

int config_load_file(const char *path, struct config *out, int *missing, struct err *e)
{
	char *text = NULL;
	size_t len = 0;
	struct stat st;
	int fd, rc = 0;

	if (missing)
		*missing = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			if (missing)
				*missing = 1;
			return 0;
		}
		return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		rc = err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = err_set(e, ERR_INVALID, "%s: not a regular file", path);
		goto out;
	}
	rc = file_read_capped(fd, path, CONFIG_FILE_MAX, &text, &len, e);
	if (rc)
		goto out;
	rc = config_parse_text(text, len, out, e);
	if (rc) {
		err_prefix(e, "%s", path);
		goto out;
	}
	if (out->api_key && (st.st_mode & (S_IRGRP | S_IROTH)))
		out->file_insecure = 1;

out:
	if (text) {
		explicit_bzero(text, len); /* it may hold the API key */
		free(text);
	}
	close(fd);
	return rc;
}

/* Sets *dst to a checked copy of a flag or environment value. */
static int take_value(int is_endpoint, const char *value, const char *what, char **dst,
                      struct err *e)
{
	int rc;

	if (is_endpoint) {
		rc = config_check_endpoint(value, dst, e);
	} else {
		rc = config_check_api_key(value, e);
		if (!rc) {
			*dst = strdup(value);
			if (!*dst)
				rc = err_set(e, ERR_NOMEM, "out of memory");
		}
	}
	if (rc)
		err_prefix(e, "%s", what);
	return rc;
}

/* Moves *from into *to when *to is unset and *from set. */
static void take_str(char **to, enum config_source *to_from, char **from)
{
	if (*to || !*from)
		return;
	*to = *from;
	*from = NULL;
	*to_from = CONFIG_FROM_FILE;
}

int config_resolve(const struct config_inputs *in, struct config *out, struct err *e)
{
	struct config file;
	int rc = 0, missing = 0;
	const char *env_ep = in->env_endpoint && *in->env_endpoint ? in->env_endpoint : NULL;
	const char *env_key = in->env_api_key && *in->env_api_key ? in->env_api_key : NULL;
	const char *env_prof =
	    in->env_aws_profile && *in->env_aws_profile ? in->env_aws_profile : NULL;

	config_init(&file);
	if (in->flag_endpoint) {
		rc = take_value(1, in->flag_endpoint, "--endpoint", &out->endpoint, e);
		out->endpoint_from = CONFIG_FROM_FLAG;
	} else if (env_ep) {
		rc = take_value(1, env_ep, "EBSSH_ENDPOINT", &out->endpoint, e);
		out->endpoint_from = CONFIG_FROM_ENV;
	}
	if (rc)
		goto out;
	if (in->flag_api_key && in->flag_api_key_file) {
		rc = err_set(e, ERR_INVALID, "--api-key and --api-key-file do not go together");
	} else if (in->flag_api_key) {
		rc = take_value(0, in->flag_api_key, "--api-key", &out->api_key, e);
		out->api_key_from = CONFIG_FROM_FLAG;
	} else if (in->flag_api_key_file) {
		out->api_key_file = strdup(in->flag_api_key_file);
		rc = out->api_key_file ? 0 : err_set(e, ERR_NOMEM, "out of memory");
		if (!rc)
			rc = config_read_key_file(out->api_key_file, &out->api_key,
			                          &out->key_file_insecure, e);
		if (rc)
			err_prefix(e, "--api-key-file");
		out->api_key_from = CONFIG_FROM_FLAG;
	} else if (env_key) {
		rc = take_value(0, env_key, "EBSSH_API_KEY", &out->api_key, e);
		out->api_key_from = CONFIG_FROM_ENV;
	}
	if (rc)
		goto out;
	if (in->flag_auth) {
		rc = config_parse_auth(in->flag_auth, &out->auth, e);
		if (rc)
			err_prefix(e, "--auth");
		out->auth_from = CONFIG_FROM_FLAG;
	}
	if (!rc && in->flag_aws_profile) {
		rc = config_check_name(in->flag_aws_profile, "--aws-profile", e);
		out->aws_profile = rc ? NULL : strdup(in->flag_aws_profile);
		out->aws_profile_from = CONFIG_FROM_FLAG;
	} else if (!rc && env_prof) {
		rc = config_check_name(env_prof, "AWS_PROFILE", e);
		out->aws_profile = rc ? NULL : strdup(env_prof);
		out->aws_profile_from = CONFIG_FROM_ENV;
	}
	if (!rc && in->flag_aws_region) {
		rc = config_check_name(in->flag_aws_region, "--aws-region", e);
		out->aws_region = rc ? NULL : strdup(in->flag_aws_region);
		out->aws_region_from = CONFIG_FROM_FLAG;
	}
	if (!rc && ((in->flag_aws_profile || env_prof) && !out->aws_profile))
		rc = err_set(e, ERR_NOMEM, "out of memory");
	if (!rc && in->flag_aws_region && !out->aws_region)
		rc = err_set(e, ERR_NOMEM, "out of memory");
	if (rc)
		goto out;
	if ((!out->endpoint || !out->api_key || !out->auth_from) && in->path) {
		rc = config_load_file(in->path, &file, &missing, e);
		if (rc)
			goto out;
		if (!out->endpoint && file.endpoint) {
			out->endpoint = file.endpoint;
			out->endpoint_from = CONFIG_FROM_FILE;
			file.endpoint = NULL;
		}
		if (!out->api_key && file.api_key) {
			out->api_key = file.api_key;
			out->api_key_from = CONFIG_FROM_FILE;
			out->file_insecure = file.file_insecure;
			file.api_key = NULL;
		} else if (!out->api_key && file.api_key_file) {
			out->api_key_file = file.api_key_file;
			out->api_key_from = CONFIG_FROM_FILE;
			file.api_key_file = NULL;
			rc = load_key_file(out, e);
			if (rc) {
				err_prefix(e, "%s", in->path);
				goto out;
			}
		}
		if (!out->auth_from && file.auth_from) {
			out->auth = file.auth;
			out->auth_from = CONFIG_FROM_FILE;
		}
		take_str(&out->aws_profile, &out->aws_profile_from, &file.aws_profile);
		take_str(&out->aws_region, &out->aws_region_from, &file.aws_region);
	}
	if (!out->endpoint)
		rc = err_set(e, ERR_INVALID,
		             "no lookup service endpoint: give --endpoint URL, set EBSSH_ENDPOINT "
		             "or write `endpoint = URL` in %s",
		             in->path ? in->path : "the configuration file");
out:
	config_free(&file);
	if (rc)
		config_free(out);
	return rc;
}
