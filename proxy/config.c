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

#include "xdg.h"

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
}

void config_free(struct config *c)
{
	free(c->endpoint);
	free(c->api_key);
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

/* One "key = value" line (without its end); line_no for messages. */
static int parse_line(const char *line, size_t n, unsigned line_no, struct config *out,
                      unsigned seen_line[2], struct err *e)
{
	const char *eq, *key, *val;
	size_t klen, vlen;
	char *value = NULL;
	int which, rc;

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
	if (klen == 8 && memcmp(key, "endpoint", 8) == 0)
		which = 0;
	else if (klen == 7 && memcmp(key, "api_key", 7) == 0)
		which = 1;
	else if (klen == 0)
		return err_set(e, ERR_INVALID, "line %u: no key before '='", line_no);
	else
		return err_set(e, ERR_INVALID,
		               "line %u: unknown key (the keys are endpoint and api_key)", line_no);
	if (seen_line[which])
		return err_set(e, ERR_INVALID, "line %u: %s is already set on line %u", line_no,
		               which ? "api_key" : "endpoint", seen_line[which]);
	seen_line[which] = line_no;
	if (vlen && (val[0] == '"' || val[0] == '\'')) {
		if (vlen < 2 || val[vlen - 1] != val[0])
			return err_set(e, ERR_INVALID, "line %u: unbalanced quote", line_no);
		val++;
		vlen -= 2;
	}
	if (vlen == 0)
		return err_set(e, ERR_INVALID, "line %u: %s has no value", line_no,
		               which ? "api_key" : "endpoint");
	value = strndup(val, vlen);
	if (!value)
		return err_set(e, ERR_NOMEM, "out of memory");
	if (which == 0) {
		rc = config_check_endpoint(value, &out->endpoint, e);
		free(value);
		if (!rc)
			out->endpoint_from = CONFIG_FROM_FILE;
	} else {
		rc = config_check_api_key(value, e);
		if (!rc) {
			out->api_key = value;
			out->api_key_from = CONFIG_FROM_FILE;
		} else {
			free(value);
		}
	}
	if (rc)
		err_prefix(e, "line %u", line_no);
	return rc;
}

int config_parse_text(const char *text, size_t len, struct config *out, struct err *e)
{
	unsigned seen_line[2] = {0, 0};
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
	ssize_t n;
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
	text = malloc(CONFIG_FILE_MAX + 1);
	if (!text) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	while (len <= CONFIG_FILE_MAX) {
		n = read(fd, text + len, CONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_FILE_MAX) {
		rc = err_set(e, ERR_TOO_LARGE, "%s: larger than %zu bytes", path, CONFIG_FILE_MAX);
		goto out;
	}
	rc = config_parse_text(text, len, out, e);
	if (rc) {
		err_prefix(e, "%s", path);
		goto out;
	}
	if (out->api_key && (st.st_mode & (S_IRGRP | S_IROTH)))
		out->file_insecure = 1;
out:
	free(text);
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

int config_resolve(const struct config_inputs *in, struct config *out, struct err *e)
{
	struct config file;
	int rc = 0, missing = 0;
	const char *env_ep = in->env_endpoint && *in->env_endpoint ? in->env_endpoint : NULL;
	const char *env_key = in->env_api_key && *in->env_api_key ? in->env_api_key : NULL;

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
	if (in->flag_api_key) {
		rc = take_value(0, in->flag_api_key, "--api-key", &out->api_key, e);
		out->api_key_from = CONFIG_FROM_FLAG;
	} else if (env_key) {
		rc = take_value(0, env_key, "EBSSH_API_KEY", &out->api_key, e);
		out->api_key_from = CONFIG_FROM_ENV;
	}
	if (rc)
		goto out;
	if ((!out->endpoint || !out->api_key) && in->path) {
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
		}
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
