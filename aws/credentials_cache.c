/* credentials_cache: the AWS CLI's disk cache of temporary credentials; see credentials_cache.h. */
#include "credentials_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials_remote.h"
#include "profile.h"

#define CACHE_MAX_FILE ((size_t)64 << 10)

void credentials_warn(const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ebssh: warning: %s\n", msg);
}

void credentials_format_time(time_t t, char out[24])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int credentials_sha1_hex(const char *s, size_t n, char out[41], struct err *e)
{
	unsigned char md[20];
	unsigned int mdlen = 0;

	if (!EVP_Digest(s, n, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		return err_set(e, ERR_INTERNAL, "SHA-1 failed");
	for (int i = 0; i < 20; i++)
		snprintf(out + (size_t)2 * (size_t)i, 3, "%02x", md[i]);
	return 0;
}

/* The next code point of UTF-8 text at *p (advanced); a bad byte is itself. */
static unsigned long next_utf8(const unsigned char **p)
{
	const unsigned char *s = *p;
	unsigned long c = s[0];
	int n = c >= 0xf0 && c < 0xf8 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

	if (c < 0x80 || !n) {
		*p = s + 1;
		return c;
	}
	c &= 0x3fu >> n;
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*p = s + 1;
			return s[0];
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	*p = s + n + 1;
	return c;
}

int credentials_json_quote(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int rc = buf_append(b, "\"", 1);

	while (!rc && *p) {
		unsigned long c = next_utf8(&p);

		if (c == '"')
			rc = buf_append_str(b, "\\\"");
		else if (c == '\\')
			rc = buf_append_str(b, "\\\\");
		else if (c == '\n')
			rc = buf_append_str(b, "\\n");
		else if (c == '\r')
			rc = buf_append_str(b, "\\r");
		else if (c == '\t')
			rc = buf_append_str(b, "\\t");
		else if (c == '\b')
			rc = buf_append_str(b, "\\b");
		else if (c == '\f')
			rc = buf_append_str(b, "\\f");
		else if (c < 0x20 || (c > 0x7f && c < 0x10000))
			rc = buf_appendf(b, "\\u%04lx", c);
		else if (c >= 0x10000)
			rc = buf_appendf(b, "\\u%04lx\\u%04lx", 0xd800 + ((c - 0x10000) >> 10),
			                 0xdc00 + ((c - 0x10000) & 0x3ff));
		else
			rc = buf_append(b, p - 1, 1);
	}
	return rc ? rc : buf_append(b, "\"", 1);
}

/* Appends `"name": value` (sep: ", " / ": " as Python's default, or compact). */
static int add_str(struct buf *b, int *first, int compact, const char *name, const char *value)
{
	int rc = 0;

	if (!value)
		return 0;
	if (!*first)
		rc = buf_append_str(b, compact ? "," : ", ");
	*first = 0;
	if (!rc)
		rc = credentials_json_quote(b, name);
	if (!rc)
		rc = buf_append_str(b, compact ? ":" : ": ");
	return rc ? rc : credentials_json_quote(b, value);
}

static int key_of(struct buf *b, int rc, char key[41], struct err *e)
{
	if (!rc)
		rc = buf_append(b, "}", 1);
	if (rc) {
		buf_free(b);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	rc = credentials_sha1_hex(b->data, b->len, key, e);
	buf_free(b);
	return rc;
}

int credentials_cache_key_role(const char *role_arn, const char *session_name,
                               const char *external_id, const char *serial, long duration,
                               char key[41], struct err *e)
{
	struct buf b;
	int first = 1, rc;

	/* json.dumps(args, sort_keys=True): DurationSeconds < ExternalId < RoleArn < ... */
	buf_init(&b, 0);
	rc = buf_append(&b, "{", 1);
	if (!rc && duration >= 0) {
		rc = buf_appendf(&b, "\"DurationSeconds\": %ld", duration);
		first = 0;
	}
	if (!rc)
		rc = add_str(&b, &first, 0, "ExternalId", external_id);
	if (!rc)
		rc = add_str(&b, &first, 0, "RoleArn", role_arn);
	if (!rc)
		rc = add_str(&b, &first, 0, "RoleSessionName", session_name);
	if (!rc)
		rc = add_str(&b, &first, 0, "SerialNumber", serial);
	return key_of(&b, rc, key, e);
}

int credentials_cache_key_sso(const char *account_id, const char *role_name,
                              const char *session_name, const char *start_url, char key[41],
                              struct err *e)
{
	struct buf b;
	int first = 1, rc;

	buf_init(&b, 0);
	rc = buf_append(&b, "{", 1);
	if (!rc)
		rc = add_str(&b, &first, 1, "accountId", account_id);
	if (!rc)
		rc = add_str(&b, &first, 1, "roleName", role_name);
	if (!rc)
		rc = session_name ? add_str(&b, &first, 1, "sessionName", session_name)
		                  : add_str(&b, &first, 1, "startUrl", start_url);
	return key_of(&b, rc, key, e);
}

/* Reads an expiration: ISO 8601 with 'Z', an offset, or botocore's "UTC" suffix. */
static int parse_expiration(const char *s, time_t *out)
{
	char tmp[64];
	size_t n = s ? strlen(s) : 0;

	if (n > 3 && n < sizeof(tmp) && strcmp(s + n - 3, "UTC") == 0) {
		memcpy(tmp, s, n - 3);
		memcpy(tmp + n - 3, "Z", 2);
		return credentials_parse_time(tmp, out);
	}
	return credentials_parse_time(s, out);
}

int credentials_cache_parse(const char *body, size_t len, struct aws_credentials *out,
                            struct err *e)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *c = json_object_get(root, "Credentials");
	const char *id = credentials_json_str(c, "AccessKeyId");
	const char *secret = credentials_json_str(c, "SecretAccessKey");
	const char *token = credentials_json_str(c, "SessionToken");
	const char *exp = credentials_json_str(c, "Expiration");
	time_t t = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(c) || !id || !*id || !secret || !*secret || !token || !exp ||
	    parse_expiration(exp, &t) || t == 0) {
		rc = err_set(e, ERR_PARSE,
		             "not a credentials cache entry (JSON with Credentials: AccessKeyId, "
		             "SecretAccessKey, SessionToken, Expiration)");
		goto out;
	}
	rc = credentials_set(out, id, secret, token, t, e);
out:
	credentials_json_wipe(c);
	json_decref(root);
	return rc;
}

int credentials_cache_dir(char **out, struct err *e)
{
	return profile_path(NULL, ".aws/cli/cache", out, e);
}

/* 1 when st (of a file or directory) may be trusted: ours, not writable by others. */
static int trusted(const struct stat *st)
{
	return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* The cache file's path; its directory must be trusted when it exists. */
static int entry_path(const char *key, char **dir, char **path, struct err *e)
{
	struct stat st;
	size_t n;
	int rc = credentials_cache_dir(dir, e);

	*path = NULL;
	if (rc)
		return rc;
	if (stat(*dir, &st) == 0 && (!S_ISDIR(st.st_mode) || !trusted(&st))) {
		credentials_warn("%s is not a directory of this user that only it may write; "
		                 "the credentials cache is not used",
		                 *dir);
		return err_set(e, ERR_NOT_FOUND, "untrusted cache directory");
	}
	n = strlen(*dir) + strlen(key) + 8;
	*path = malloc(n);
	if (!*path)
		return err_set(e, ERR_NOMEM, "out of memory");
	snprintf(*path, n, "%s/%s.json", *dir, key);
	return 0;
}

int credentials_cache_load(const char *key, time_t now, struct aws_credentials *out, struct err *e)
{
	char *dir = NULL, *path = NULL, *text = NULL;
	struct err local;
	struct stat st;
	size_t len = 0;
	int fd = -1, rc;

	memset(out, 0, sizeof(*out));
	rc = entry_path(key, &dir, &path, e);
	if (rc || !path) {
		rc = rc ? rc : err_set(e, ERR_INTERNAL, "no cache path");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT)
			credentials_warn("credentials cache %s: %s; ignored", path,
			                 strerror(errno));
		rc = err_set(e, ERR_NOT_FOUND, "no cache entry");
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !trusted(&st) ||
	    (size_t)st.st_size > CACHE_MAX_FILE) {
		credentials_warn(
		    "credentials cache %s is not a regular file of this user that only "
		    "it may write; ignored",
		    path);
		rc = err_set(e, ERR_NOT_FOUND, "untrusted cache entry");
		goto out;
	}
	rc = profile_read_file(path, &text, &len, &local);
	if (rc == 0)
		rc = credentials_cache_parse(text, len, out, &local);
	if (rc == ERR_NOMEM) {
		rc = err_set(e, rc, "out of memory");
		goto out;
	}
	if (rc) {
		credentials_warn("credentials cache %s: %s; ignored", path, local.message);
		rc = err_set(e, ERR_NOT_FOUND, "bad cache entry");
		goto out;
	}
	if (out->expiration - now < CREDENTIALS_CACHE_WINDOW) {
		aws_credentials_clear(out);
		rc = err_set(e, ERR_NOT_FOUND, "cache entry expires within 15 minutes");
	}
out:
	if (fd >= 0)
		close(fd);
	if (text) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	free(dir);
	free(path);
	return rc;
}

/* mkdir -p with 0700 for what it creates. */
static int make_dirs(const char *dir)
{
	char *p = strdup(dir);
	int rc = 0;

	if (!p)
		return -1;
	for (char *s = p + 1; *s && !rc; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (!rc && mkdir(p, 0700) != 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

/* write(2) until len bytes are out: 0, or the errno (EIO for a write of 0). */
static int write_all(int fd, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		if (w == 0)
			return EIO;
		off += (size_t)w;
	}
	return 0;
}

int credentials_write_private(const char *path, const char *data, size_t len, struct err *e)
{
	size_t n = strlen(path) + sizeof(".XXXXXX.tmp");
	char *tmp = malloc(n);
	const char *slash = strrchr(path, '/');
	int fd, why = 0; /* the first errno */

	if (!tmp)
		return err_set(e, ERR_NOMEM, "out of memory");
	snprintf(tmp, n, "%s.XXXXXX.tmp", path);
	fd = mkstemps(tmp, 4);
	if (fd < 0) {
		why = errno;
		free(tmp);
		return err_set(e, ERR_IO, "cannot write in %.*s: %s",
		               slash ? (int)(slash - path) : 1, slash ? path : ".", strerror(why));
	}
	if (fchmod(fd, 0600) != 0)
		why = errno;
	if (!why)
		why = write_all(fd, data, len);
	if (!why && fsync(fd) != 0)
		why = errno;
	if (close(fd) != 0 && !why)
		why = errno;
	if (!why && rename(tmp, path) != 0)
		why = errno;
	if (why)
		unlink(tmp);
	free(tmp);
	if (why)
		return err_set(e, ERR_IO, "cannot write %s: %s", path, strerror(why));
	return 0;
}

void credentials_cache_store(const char *key, const struct aws_credentials *c,
                             const char *provider_type)
{
	char *dir = NULL, *path = NULL, when[24];
	struct err e;
	struct buf b;
	int first = 1, rc;

	buf_init(&b, CACHE_MAX_FILE);
	credentials_format_time(c->expiration, when);
	rc = buf_append(&b, "{", 1);
	if (!rc)
		rc = add_str(&b, &first, 0, "ProviderType", provider_type);
	if (!rc)
		rc = buf_append_str(&b, first ? "\"Credentials\": {" : ", \"Credentials\": {");
	first = 1;
	if (!rc)
		rc = add_str(&b, &first, 0, "AccessKeyId", c->access_key_id);
	if (!rc)
		rc = add_str(&b, &first, 0, "SecretAccessKey", c->secret_access_key);
	if (!rc)
		rc = add_str(&b, &first, 0, "SessionToken",
		             c->session_token ? c->session_token : "");
	if (!rc)
		rc = add_str(&b, &first, 0, "Expiration", when);
	if (!rc)
		rc = buf_append_str(&b, "}}");
	if (rc)
		return; /* buf freed itself */
	if (entry_path(key, &dir, &path, &e) != 0 || !path)
		goto out;
	if (make_dirs(dir) != 0) {
		credentials_warn("cannot create %s: %s; credentials not cached", dir,
		                 strerror(errno));
		goto out;
	}
	if (credentials_write_private(path, b.data, b.len, &e) != 0)
		credentials_warn("%s; credentials not cached", e.message);
out:
	if (b.data)
		OPENSSL_cleanse(b.data, b.cap);
	buf_free(&b);
	free(dir);
	free(path);
}
