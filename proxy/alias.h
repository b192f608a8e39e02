/*
 * alias: what `ssh` passes as %h, turned into (name, instance index).
 *
 * `NAME.N` is the N-th instance of NAME; otherwise trailing digits are the
 * index (`my-env-production2` = instance 2 of `my-env-production`); no
 * digits means instance 1. An index is 1..ALIAS_INDEX_MAX written without a
 * leading zero (`env.0`, `env.01`, `web-01` are refused rather than guessed).
 * The name must then follow the rules of its kind:
 *   - Elastic Beanstalk environment: 4 to 40 ASCII letters, digits and
 *     hyphens, not starting or ending with a hyphen. A name that itself ends in
 *     digits needs the dotted form: environment `app-v2` is `app-v2.1`, while
 *     `app-v2` alone means instance 2 of `app-v`.
 *   - Auto Scaling group (--asg): 1 to 255 ASCII letters, digits, hyphens and
 *     underscores, not starting with a hyphen. (Auto Scaling allows more, but
 *     an ssh host alias is not the place for spaces, slashes or dots.)
 * A malformed alias is an ERR_INVALID with a message that quotes the alias
 * (non-printable bytes as \xNN) and says what is wrong; nothing else, in
 * particular no lookup, ever happens with it. Pure functions, no allocation.
 */
#ifndef EBSSH_PROXY_ALIAS_H
#define EBSSH_PROXY_ALIAS_H

#include <stddef.h>

#include "../util/err.h"

#define ALIAS_INDEX_MAX    1000
#define ALIAS_EB_NAME_MIN  4
#define ALIAS_EB_NAME_MAX  40
#define ALIAS_ASG_NAME_MAX 255
#define ALIAS_HOST_MAX     255 /* longer input is refused before any parsing */

enum alias_kind {
	ALIAS_EB = 0, /* Elastic Beanstalk environment: route /eb/ */
	ALIAS_ASG = 1 /* Auto Scaling group: route /asg/ */
};

struct alias {
	enum alias_kind kind;
	char name[ALIAS_ASG_NAME_MAX + 1]; /* NUL-terminated, validated */
	unsigned index;                    /* 1..ALIAS_INDEX_MAX */
};

/* Parses an Elastic Beanstalk alias (alias_parse_kind with ALIAS_EB). */
int alias_parse(const char *host, struct alias *out, struct err *e);

/* Parses host as an alias of the given kind into out (zeroed first). */
int alias_parse_kind(const char *host, enum alias_kind kind, struct alias *out, struct err *e);

/* Takes host as the whole name, reading no index from it (for --index):
 * out->index is set to index, which must be 1..ALIAS_INDEX_MAX. */
int alias_parse_name(const char *host, enum alias_kind kind, unsigned index, struct alias *out,
                     struct err *e);

/* Parses a decimal index "1".."1000" (no sign, no leading zero, no spaces). */
int alias_parse_index(const char *s, unsigned *out, struct err *e);

/* Checks a name by the rules of its kind; ERR_INVALID with the reason. */
int alias_check_name(const char *name, size_t len, enum alias_kind kind, struct err *e);

/*
 * The host of a known_hosts-style "[host]:port" (what KnownHostsCommand's %H
 * can hold for a non-default port); any other string is copied as it is.
 * Writes at most cap bytes with the NUL; ERR_INVALID on an unbalanced
 * bracket or a bad port, ERR_TOO_LARGE when it does not fit.
 */
int alias_strip_known_hosts_form(const char *in, char *out, size_t cap, struct err *e);

/* Writes s (at most ALIAS_HOST_MAX + 1 bytes of it) into out as a printable
 * quoted string for an error message: bytes outside 0x21..0x7e and `"` `\`
 * as \xNN. Always NUL-terminates (cap > 0). */
void alias_quote(const char *s, char *out, size_t cap);

#endif
