/*
 * config: where ebssh-proxy finds the lookup service, and how it proves who
 * is asking: an API key (--auth api-key, the default) or the user's AWS
 * identity, SigV4-signed (--auth iam; iam.h).
 *
 * Each setting is taken from the first that has it:
 *   endpoint     --endpoint, EBSSH_ENDPOINT, `endpoint =`
 *   API key      --api-key or --api-key-file (not both), EBSSH_API_KEY,
 *                `api_key =` or `api_key_file =` (not both)
 *   auth         --auth, `auth =` (api-key or iam; default api-key)
 *   AWS profile  --aws-profile, AWS_PROFILE, `aws_profile =` (iam only)
 *   AWS region   --aws-region, `aws_region =` (iam only; else iam.h's rule)
 * The environment's empty values mean unset. The file is
 * $XDG_CONFIG_HOME/ebssh/config (default ~/.config/ebssh/config); it is
 * read only when the flags and the environment left the endpoint, the API
 * key or the auth unset, and a missing file is not an error.
 *
 * An API key file holds the key on its first line (a final newline and
 * surrounding blanks dropped; anything after the first line is an error);
 * it is a regular file of at most CONFIG_KEY_FILE_MAX bytes. "~/" at the
 * start of a path from the configuration file is the home directory. A key
 * file that group or others may read is reported like the file's api_key.
 *
 * The file: one `key = value` a line; keys `endpoint`, `api_key`,
 * `api_key_file`, `auth`, `aws_profile` and `aws_region`; blank
 * lines and lines starting with `#` are ignored; whitespace around keys and
 * values is dropped, as is one pair of matching quotes around a value; CRLF
 * line ends and a UTF-8 BOM are accepted. Unknown keys, keys given twice,
 * lines without `=`, unbalanced quotes and NUL bytes are errors that name
 * the line. The file is
 * at most CONFIG_FILE_MAX bytes. A file holding an api_key that group or
 * others may read is reported (struct config.file_insecure) for a warning.
 *
 * The endpoint must be an absolute http:// or https:// URL without query or
 * fragment; trailing '/' are removed (routes are appended to it). The API
 * key must be 1..CONFIG_API_KEY_MAX printable ASCII bytes without spaces
 * (it goes into a header). No API key at all is allowed (a service that does
 * not ask for one); no endpoint is an error.
 */
#ifndef EBSSH_PROXY_CONFIG_H
#define EBSSH_PROXY_CONFIG_H

#include <stddef.h>

#include "../util/err.h"

#define CONFIG_FILE_MAX     ((size_t)64 * 1024)
#define CONFIG_URL_MAX      2048
#define CONFIG_API_KEY_MAX  1024
#define CONFIG_KEY_FILE_MAX 4096
#define CONFIG_NAME_MAX     128 /* an AWS profile or region name */

enum config_source { CONFIG_FROM_NONE = 0, CONFIG_FROM_FLAG, CONFIG_FROM_ENV, CONFIG_FROM_FILE };

enum config_auth { CONFIG_AUTH_API_KEY = 0, CONFIG_AUTH_IAM };

struct config {
	char *endpoint;                   /* owned; normalised; NULL when unset */
	char *api_key;                    /* owned; NULL when unset */
	char *api_key_file;               /* owned; the file api_key came from, or NULL */
	enum config_auth auth;            /* default CONFIG_AUTH_API_KEY */
	char *aws_profile;                /* owned; NULL: the default chain */
	char *aws_region;                 /* owned; NULL: from the endpoint (iam.h) */
	enum config_source endpoint_from; /* where each came from (for -v) */
	enum config_source api_key_from;
	enum config_source auth_from;
	enum config_source aws_profile_from;
	enum config_source aws_region_from;
	int file_insecure;     /* the file read holds an api_key and is group/other-readable */
	int key_file_insecure; /* api_key_file is group/other-readable */
};

/* What config_resolve chooses from; any field may be NULL. */
struct config_inputs {
	const char *flag_endpoint;     /* --endpoint */
	const char *flag_api_key;      /* --api-key */
	const char *flag_api_key_file; /* --api-key-file */
	const char *flag_auth;         /* --auth: "api-key" or "iam" */
	const char *flag_aws_profile;  /* --aws-profile */
	const char *flag_aws_region;   /* --aws-region */
	const char *env_endpoint;      /* getenv("EBSSH_ENDPOINT") */
	const char *env_api_key;       /* getenv("EBSSH_API_KEY") */
	const char *env_aws_profile;   /* getenv("AWS_PROFILE") */
	const char *path;              /* the configuration file; NULL: none */
};

/* An empty configuration (every field NULL or 0). */
void config_init(struct config *c);

/* Frees what c owns and empties it. */
void config_free(struct config *c);

/*
 * Parses the text of a configuration file (len bytes, need not be
 * NUL-terminated) into out, which must be empty (config_init). Errors are
 * ERR_INVALID (or ERR_NOMEM) with "line N: ..."; out is emptied on failure.
 */
int config_parse_text(const char *text, size_t len, struct config *out, struct err *e);

/* Checks an endpoint URL and returns in *out a new normalised copy (trailing
 * '/' removed), to be freed by the caller. */
int config_check_endpoint(const char *url, char **out, struct err *e);

/* Checks an API key (printable ASCII, no spaces, 1..CONFIG_API_KEY_MAX). */
int config_check_api_key(const char *key, struct err *e);

/* Parses "api-key" or "iam". */
int config_parse_auth(const char *s, enum config_auth *out, struct err *e);

/* "api-key" or "iam". */
const char *config_auth_name(enum config_auth a);

/* Checks an AWS profile or region name (1..CONFIG_NAME_MAX printable ASCII
 * bytes, no spaces, no brackets); what names it in messages. */
int config_check_name(const char *name, const char *what, struct err *e);

/* Reads the API key of the file at path (the rules above) into a new
 * *out; *insecure set when group or others may read the file. Errors name
 * the path. */
int config_read_key_file(const char *path, char **out, int *insecure, struct err *e);

/* The default file path, new string: $XDG_CONFIG_HOME/ebssh/config when that
 * variable is an absolute path, else $HOME/.config/ebssh/config (HOME from
 * the password database when unset). NULL with err on failure. */
char *config_default_path(struct err *e);

/*
 * Reads the file at path into out (empty on entry).
 * An api_key_file is kept as written, not read (config_resolve reads it). A missing file leaves
 * out empty and returns 0 with *missing = 1 (missing may be NULL). Not a
 * regular file, unreadable, too large or malformed: an error naming path.
 */
int config_load_file(const char *path, struct config *out, int *missing, struct err *e);

/* Applies the precedence above into out (empty on entry). Every chosen value
 * is checked; on failure out is emptied. */
int config_resolve(const struct config_inputs *in, struct config *out, struct err *e);

/* "flag", "environment", "file" or "unset". */
const char *config_source_name(enum config_source s);

#endif
