/*
 * profile: the INI files of the AWS CLI, ~/.aws/credentials and ~/.aws/config.
 *
 * Parsed as botocore parses them (Python's configparser): "[section]" lines,
 * "key = value" or "key: value" (split at the first '=' or ':'), whole-line
 * comments starting with '#' or ';' (no inline comments), surrounding
 * whitespace trimmed, keys case-insensitive, section names case-sensitive.
 * A line indented deeper than its key continues the value ("\n"-joined); a
 * key with an empty value followed by indented "k = v" lines is a sub-section
 * ("s3 =\n  addressing_style = path"), whose entries are reported apart and
 * never as keys of the section. Text before the first section, a line with
 * no '=' or ':', or a NUL byte is ERR_PARSE with the line number, as the CLI
 * refuses such a file. Unlike the CLI, a repeated section or key is not an
 * error: the last value wins. Everything here is pure but profile_read_file
 * and profile_path.
 */
#ifndef EBSSH_AWS_PROFILE_H
#define EBSSH_AWS_PROFILE_H

#include <stddef.h>

#include "../util/err.h"

/* The largest file profile_read_file reads. */
#define PROFILE_MAX_FILE 1048576u /* 1 MiB */

/*
 * Called for every section header (key, subkey and value NULL) and every
 * entry, in file order: key and subkey are lowercase; subkey is NULL for a
 * plain "key = value", else the entry of the sub-section named key. All
 * strings are borrowed for the call. A negative return stops the parse and
 * is returned by profile_parse.
 */
typedef int (*profile_visit_fn)(void *ctx, const char *section, const char *key, const char *subkey,
                                const char *value);

/* Parses text[0..len) (need not be NUL-terminated). 0, ERR_PARSE, ERR_NOMEM
 * or what visit returned. */
int profile_parse(const char *text, size_t len, profile_visit_fn visit, void *ctx, struct err *e);

/* How a lookup names its section. */
enum profile_kind {
	PROFILE_SECTION,  /* "[name]" exactly: a credentials file's profiles */
	PROFILE_CONFIG,   /* "[profile name]" of a config file; "[default]" too for "default" */
	PROFILE_SERVICES, /* "[services name]" of a config file */
};

/* 1 when the section header text (as given to visit) names (kind, name), else 0.
 * "profile  name" and "profile \"name\"" match too, as botocore splits them. */
int profile_section_is(const char *section, enum profile_kind kind, const char *name);

/*
 * The value of key (or of key's sub-section entry subkey, when subkey is not
 * NULL) in the section (kind, name); the last one wins. *out is malloc'd.
 * ERR_NOT_FOUND (with a message naming the section or the key) when absent;
 * a sub-section is not a value. ERR_PARSE, ERR_NOMEM.
 */
int profile_lookup(const char *text, size_t len, enum profile_kind kind, const char *name,
                   const char *key, const char *subkey, char **out, struct err *e);

/* profile_lookup of "[section]" key. */
int profile_get(const char *text, size_t len, const char *section, const char *key, char **out,
                struct err *e);

/* 1 when the section (kind, name) exists, 0 when not; ERR_PARSE, ERR_NOMEM. */
int profile_has_section(const char *text, size_t len, enum profile_kind kind, const char *name,
                        struct err *e);

/*
 * Reads a whole regular file of at most PROFILE_MAX_FILE bytes into a
 * malloc'd NUL-terminated *text. ERR_NOT_FOUND when it does not exist,
 * ERR_TOO_LARGE, ERR_IO (errno in the message), ERR_NOMEM.
 */
int profile_read_file(const char *path, char **text, size_t *len, struct err *e);

/*
 * The path of an AWS file: $env_var when set and not empty (a leading "~/"
 * expanded), else $HOME/default_rel (the passwd entry's home when HOME is
 * unset). *out is malloc'd. ERR_NOT_FOUND when there is no home.
 */
int profile_path(const char *env_var, const char *default_rel, char **out, struct err *e);

/* The profile in use: $AWS_PROFILE when set and not empty, else "default". Borrowed. */
const char *profile_name(void);

/* profile_path of the config file: AWS_CONFIG_FILE, else ~/.aws/config. */
int profile_config_path(char **out, struct err *e);

/* profile_path of the credentials file: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials. */
int profile_credentials_path(char **out, struct err *e);

#endif
