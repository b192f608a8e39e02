/*
 * hostkeys: SSH host public keys read from untrusted text, and checked.
 *
 * cloud-init prints an instance's host public keys to its console (EC2's
 * GetConsoleOutput) once they exist, between two lines of their own:
 *
 *   -----BEGIN SSH HOST KEY KEYS-----
 *   ecdsa-sha2-nistp256 AAAAE2VjZHNh... root@ip-172-31-5-17
 *   ssh-ed25519 AAAAC3NzaC1lZDI1NTE5... root@ip-172-31-5-17
 *   -----END SSH HOST KEY KEYS-----
 *
 * Console text is untrusted: anything that runs on the instance or sends
 * it input can print to it, and kernel messages interleave with any line.
 * The parser therefore:
 *   - splits on "\n"; a line loses its leading and trailing CRs (the serial
 *     console ends lines with "\r\n", sometimes "\r\r\n") and trailing
 *     spaces and tabs, and is otherwise taken as it is (a wrapped, prefixed or
 *     interleaved key line is simply not a key);
 *   - takes the markers only as whole lines; a BEGIN starts a block afresh
 *     (an interrupted block is forgotten), an END closes it, a block with
 *     no END (the console cut off mid-block) does not count;
 *   - uses the LAST complete block. The console is a window on the last 64
 *     KiB of output, not a record from the first boot: a reboot prints the
 *     block again, and when the keys changed (regenerated, or cloud-init
 *     set new ones) the last block is the one sshd now uses. The first block
 *     in the window may already be half scrolled out, and an older one
 *     names keys sshd no longer has;
 *   - keeps a line only when it is a well-formed key (hostkeys_parse_line):
 *     a known type, strict base64, a blob whose structure is exactly that
 *     type's, and no control bytes; other lines (kernel messages, garbage,
 *     ANSI escapes, ssh-dss) are dropped. Duplicates are dropped; at most
 *     HOSTKEYS_MAX keys are kept.
 *
 * Known types: ssh-ed25519, ecdsa-sha2-nistp256/384/521 and ssh-rsa (1024
 * to 16384 bits). ssh-dss is left out: OpenSSH has refused DSA host keys
 * by default since 7.0, so a known_hosts line for one can only mislead. Key
 * blobs are checked the way RFC 4253, 5656 and 8709 lay them out:
 *   ssh-ed25519          string "ssh-ed25519", string key (32 bytes)
 *   ecdsa-sha2-nistpN    string type, string "nistpN", string Q
 *                        (uncompressed point: 0x04, then 2 x 32/48/66 bytes)
 *   ssh-rsa              string "ssh-rsa", mpint e, mpint n (both positive,
 *                        minimal; e odd and at most 64 bits)
 * with nothing after. A key's text is its canonical base64, so two texts
 * for one key never both pass.
 */
#ifndef EBSSH_UTIL_HOSTKEYS_H
#define EBSSH_UTIL_HOSTKEYS_H

#include <stddef.h>

#include "err.h"

#define HOSTKEYS_MAX      16                /* keys kept from one block or answer */
#define HOSTKEYS_LINE_MAX 8192              /* longer lines are never keys */
#define HOSTKEYS_B64_MAX  4096              /* base64 characters of one key (RSA 16384 fits) */
#define HOSTKEYS_TEXT_MAX ((size_t)2 << 20) /* console text looked at: the last 2 MiB */
#define HOSTKEYS_BEGIN    "-----BEGIN SSH HOST KEY KEYS-----"
#define HOSTKEYS_END      "-----END SSH HOST KEY KEYS-----"

struct hostkey {
	const char *type; /* static: "ssh-ed25519", ... */
	char *key;        /* owned: the canonical base64 of the blob */
};

struct hostkey_list {
	struct hostkey *items; /* owned */
	size_t n;
};

/* Frees every key and empties the list (which may be zeroed). */
void hostkey_list_free(struct hostkey_list *l);

/* The static name of a known host key type spelled as s[0..len), or NULL. */
const char *hostkeys_known_type(const char *s, size_t len);

/* Checks that b64[0..len) is a well-formed key of the known type `type`
 * (see above). 0, or ERR_INVALID with the reason. */
int hostkeys_check_key(const char *type, const char *b64, size_t len, struct err *e);

/*
 * Parses one line, "<type> <base64>" or, with allow_comment, "<type>
 * <base64> <comment>" (fields separated by runs of spaces and tabs). Without
 * allow_comment exactly one space separates the two fields and nothing
 * follows (the service's own answer format). A line with a control byte
 * (below 0x20 but tab, or 0x7f), or longer than HOSTKEYS_LINE_MAX, is not
 * a key. On success out->type is static and out->key a new string.
 */
int hostkeys_parse_line(const char *line, size_t len, int allow_comment, struct hostkey *out,
                        struct err *e);

/*
 * The keys of the last complete block of console text[0..len) (see
 * above): 0 and *out filled (possibly with no key, when the block held
 * none that is well-formed), ERR_NOT_FOUND when the text has no complete
 * block, ERR_NOMEM. Only the last HOSTKEYS_TEXT_MAX bytes are read. *out
 * must be empty on entry; on failure it is left empty.
 */
int hostkeys_parse_console(const char *text, size_t len, struct hostkey_list *out, struct err *e);

/*
 * The service's text answer: one "<type> <base64>\n" per key, at least
 * one, at most HOSTKEYS_MAX, no duplicates; any other line (or a missing
 * final newline) is ERR_PARSE and nothing is kept. *out empty on entry.
 */
int hostkeys_parse_answer(const char *text, size_t len, struct hostkey_list *out, struct err *e);

/* Appends a copy of (type, key) unless the list holds it already or is full:
 * 0 when added, 1 when skipped, ERR_NOMEM. type must be static. */
int hostkey_list_add(struct hostkey_list *l, const char *type, const char *key);

#endif
