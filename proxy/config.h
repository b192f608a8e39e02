/*
 * config: where ebssh-proxy finds the lookup service, and with what key.
 *
 * Each of the two settings is taken from the first that has it: a flag
 * (--endpoint, --api-key), the environment (EBSSH_ENDPOINT, EBSSH_API_KEY;
 * empty means unset), then the file $XDG_CONFIG_HOME/ebssh/config (default
 * ~/.config/ebssh/config). The file is read only when a flag or the
 * environment left something unset, and a missing file is not an error.
 *
 * The file: one `key = value` a line; keys `endpoint` and `api_key`; blank
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

#define CONFIG_FILE_MAX    ((size_t)64 * 1024)
#define CONFIG_URL_MAX     2048
#define CONFIG_API_KEY_MAX 1024

enum config_source { CONFIG_FROM_NONE = 0, CONFIG_FROM_FLAG, CONFIG_FROM_ENV, CONFIG_FROM_FILE };

struct config {
	char *endpoint;                   /* owned; normalised; NULL when unset */
	char *api_key;                    /* owned; NULL when unset */
	enum config_source endpoint_from; /* where each came from (for -v) */
	enum config_source api_key_from;
	int file_insecure; /* the file read holds an api_key and is group/other-readable */
};

/* What config_resolve chooses from; any field may be NULL. */
struct config_inputs {
	const char *flag_endpoint; /* --endpoint */
	const char *flag_api_key;  /* --api-key */
	const char *env_endpoint;  /* getenv("EBSSH_ENDPOINT") */
	const char *env_api_key;   /* getenv("EBSSH_API_KEY") */
	const char *path;          /* the configuration file; NULL: none */
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

/* The default file path, new string: $XDG_CONFIG_HOME/ebssh/config when that
 * variable is an absolute path, else $HOME/.config/ebssh/config (HOME from
 * the password database when unset). NULL with err on failure. */
char *config_default_path(struct err *e);

/*
 * Reads the file at path into out (empty on entry). A missing file leaves
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
