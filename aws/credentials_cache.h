/*
 * credentials_cache: the AWS CLI's disk cache of temporary credentials,
 * ~/.aws/cli/cache/<key>.json, shared with the CLI (botocore's
 * JSONFileCache): assumed-role, web-identity and SSO role credentials, so
 * that a new process (one per ssh connection) makes no STS or portal call
 * while they are valid. Internal to aws/credentials*.c.
 *
 * Keys are botocore's: the SHA-1 hex of json.dumps(args, sort_keys=True)
 * of the AssumeRole arguments (RoleArn, RoleSessionName when configured,
 * ExternalId, SerialNumber, DurationSeconds), and of the compact
 * {"accountId","roleName","sessionName"|"startUrl"} for SSO. A file is
 * {"Credentials": {"AccessKeyId", "SecretAccessKey", "SessionToken",
 * "Expiration"}, ...}; an entry with less than CREDENTIALS_CACHE_WINDOW
 * seconds left counts as absent, as botocore's. Files are written 0600
 * through a temporary file and rename(2); directories this module creates
 * are 0700. A file that does not parse, or that another user owns or may
 * write (or whose directory is so), is ignored with a warning on stderr,
 * never trusted; a failed write is a warning too (the credentials are good).
 */
#ifndef EBSSH_AWS_CREDENTIALS_CACHE_H
#define EBSSH_AWS_CREDENTIALS_CACHE_H

#include <stddef.h>
#include <time.h>

#include "../util/buf.h"
#include "../util/err.h"
#include "credentials.h"

/* botocore's CachedCredentialFetcher.DEFAULT_EXPIRY_WINDOW_SECONDS. */
#define CREDENTIALS_CACHE_WINDOW 900 /* 15 minutes */

/* The key of an AssumeRole (or AssumeRoleWithWebIdentity) call: session_name,
 * external_id, serial may be NULL (not configured); duration < 0: none.
 * key receives 40 hex digits. 0 or ERR_NOMEM. */
int credentials_cache_key_role(const char *role_arn, const char *session_name,
                               const char *external_id, const char *serial, long duration,
                               char key[41], struct err *e);

/* The key of SSO role credentials: session_name for an sso_session
 * profile, else start_url for the legacy form. */
int credentials_cache_key_sso(const char *account_id, const char *role_name,
                              const char *session_name, const char *start_url, char key[41],
                              struct err *e);

/* SHA-1 hex of s (the SSO token cache's file names). */
int credentials_sha1_hex(const char *s, size_t n, char out[41], struct err *e);

/* Python's json.dumps of a string (ensure_ascii, lowercase \u escapes), appended. */
int credentials_json_quote(struct buf *b, const char *s);

/* Parses a cache file's JSON into *out (Expiration required: "Z", "UTC" or
 * an offset). ERR_PARSE, ERR_NOMEM. */
int credentials_cache_parse(const char *body, size_t len, struct aws_credentials *out,
                            struct err *e);

/* The cache directory: $HOME/.aws/cli/cache. */
int credentials_cache_dir(char **out, struct err *e);

/* Loads a valid entry (more than CREDENTIALS_CACHE_WINDOW left at now):
 * 0, or ERR_NOT_FOUND (absent, expired, ignored), ERR_NOMEM. */
int credentials_cache_load(const char *key, time_t now, struct aws_credentials *out, struct err *e);

/* Writes c as the entry key, with provider_type ("sso") when not NULL. Never
 * fails the caller: problems are warnings. */
void credentials_cache_store(const char *key, const struct aws_credentials *c,
                             const char *provider_type);

/* Writes len bytes of data as path with mode 0600, through a temporary file
 * beside it (path.XXXXXX.tmp), fsync(2) and rename(2): a reader sees the old
 * file or the new one, never a part. 0, ERR_IO ("cannot write in DIR: why",
 * "cannot write PATH: why"), ERR_NOMEM. */
int credentials_write_private(const char *path, const char *data, size_t len, struct err *e);

/* "ebssh: warning: ..." on stderr. */
void credentials_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An expiration as "2024-05-01T12:00:00Z" (21 bytes with the NUL). */
void credentials_format_time(time_t t, char out[24]);

#endif
