/* alias: ssh host alias -> (name, index); see alias.h. */
#include "alias.h"

#include <stdio.h>
#include <string.h>

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int name_char_ok(unsigned char c, enum alias_kind kind)
{
	return is_alnum(c) || c == '-' || (kind == ALIAS_ASG && c == '_');
}

static const char *kind_noun(enum alias_kind kind)
{
	return kind == ALIAS_ASG ? "Auto Scaling group name" : "environment name";
}

static const char *kind_chars(enum alias_kind kind)
{
	return kind == ALIAS_ASG ? "letters, digits, hyphens and underscores"
	                         : "letters, digits and hyphens";
}

void alias_quote(const char *s, char *out, size_t cap)
{
	size_t o = 0, i, need;

	if (!cap)
		return;
	out[0] = '\0';
	if (cap < 8)
		return;
	if (!s)
		s = "";
	out[o++] = '"';
	/* Room is kept for `..."` and the NUL. */
	for (i = 0; i <= ALIAS_HOST_MAX && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		int plain = c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';

		need = plain ? 1 : 4;
		if (o + need + 5 > cap)
			break;
		if (plain)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	if (s[i]) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* The byte c for a message: 'x' or \xNN. */
static void quote_char(unsigned char c, char out[8])
{
	if (c > 0x20 && c < 0x7f && c != '\'' && c != '\\')
		snprintf(out, 8, "'%c'", c);
	else
		snprintf(out, 8, "\\x%02x", c);
}

int alias_check_name(const char *name, size_t len, enum alias_kind kind, struct err *e)
{
	size_t min = kind == ALIAS_ASG ? 1 : ALIAS_EB_NAME_MIN;
	size_t max = kind == ALIAS_ASG ? ALIAS_ASG_NAME_MAX : ALIAS_EB_NAME_MAX;
	size_t i;
	char q[8];

	if (len == 0)
		return err_set(e, ERR_INVALID, "the %s is empty", kind_noun(kind));
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!name_char_ok(c, kind)) {
			quote_char(c, q);
			return err_set(e, ERR_INVALID, "%s is not allowed in an %s: only %s", q,
			               kind_noun(kind), kind_chars(kind));
		}
	}
	if (len < min || len > max)
		return err_set(e, ERR_INVALID, "an %s has %zu to %zu characters, not %zu",
		               kind_noun(kind), min, max, len);
	if (name[0] == '-')
		return err_set(e, ERR_INVALID, "an %s may not start with a hyphen",
		               kind_noun(kind));
	if (kind == ALIAS_EB && name[len - 1] == '-')
		return err_set(e, ERR_INVALID, "an %s may not end with a hyphen", kind_noun(kind));
	return 0;
}

/* Index from s[0..n): digits only, no leading zero, 1..ALIAS_INDEX_MAX. */
static int parse_index_n(const char *s, size_t n, unsigned *out, struct err *e)
{
	unsigned v = 0;
	size_t i;

	if (n == 0)
		return err_set(e, ERR_INVALID, "the instance index is empty");
	for (i = 0; i < n; i++)
		if (!is_digit((unsigned char)s[i]))
			return err_set(e, ERR_INVALID, "the instance index must be a number");
	if (s[0] == '0') {
		if (n == 1)
			return err_set(e, ERR_INVALID, "instance indexes start at 1, not 0");
		return err_set(e, ERR_INVALID, "the instance index %.*s has a leading zero",
		               (int)(n > 12 ? 12 : n), s);
	}
	if (n > 4)
		return err_set(e, ERR_INVALID, "the instance index is past the maximum %d",
		               ALIAS_INDEX_MAX);
	for (i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v > ALIAS_INDEX_MAX)
		return err_set(e, ERR_INVALID, "the instance index %u is past the maximum %d", v,
		               ALIAS_INDEX_MAX);
	*out = v;
	return 0;
}

int alias_parse_index(const char *s, unsigned *out, struct err *e)
{
	if (!s)
		return err_set(e, ERR_INVALID, "the instance index is empty");
	return parse_index_n(s, strlen(s), out, e);
}

/* Common checks on the raw host; *len_out its length. */
static int check_host(const char *host, enum alias_kind kind, int allow_dot, size_t *len_out,
                      struct err *e)
{
	size_t len, i;
	char q[8];

	*len_out = 0;
	if (!host || !*host)
		return err_set(e, ERR_INVALID, "the alias is empty");
	len = strnlen(host, ALIAS_HOST_MAX + 1);
	if (len > ALIAS_HOST_MAX)
		return err_set(e, ERR_INVALID, "the alias is longer than %d characters",
		               ALIAS_HOST_MAX);
	if (host[0] == '-')
		return err_set(e, ERR_INVALID, "an alias may not start with a hyphen");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)host[i];

		if (name_char_ok(c, kind) || (allow_dot && c == '.'))
			continue;
		quote_char(c, q);
		if (c >= 0x80)
			return err_set(e, ERR_INVALID, "non-ASCII byte %s: only %s", q,
			               kind_chars(kind));
		return err_set(e, ERR_INVALID, "%s is not allowed: only %s%s", q, kind_chars(kind),
		               allow_dot ? ", and a dot before the index" : "");
	}
	*len_out = len;
	return 0;
}

/* After an error in the trailing-digits form: suggest NAME.1 when the whole
 * host is itself a valid name. */
static void hint_whole_name(const char *host, size_t len, enum alias_kind kind, struct err *e)
{
	if (!e || alias_check_name(host, len, kind, NULL) != 0)
		return;
	if (strlen(e->message) + len * 2 + 40 >= sizeof(e->message))
		return;
	snprintf(e->message + strlen(e->message), sizeof(e->message) - strlen(e->message),
	         "; for the %s %.*s write %.*s.1",
	         kind == ALIAS_ASG ? "Auto Scaling group" : "environment", (int)len, host, (int)len,
	         host);
}

static void prefix_alias(struct err *e, const char *host)
{
	char q[96];

	alias_quote(host, q, sizeof(q));
	err_prefix(e, "alias %s", q);
}

/* Fills out with the name host[0..len) (checked), index and kind. */
static void set_alias(struct alias *out, const char *host, size_t len, unsigned index,
                      enum alias_kind kind)
{
	memcpy(out->name, host, len);
	out->name[len] = '\0';
	out->index = index;
	out->kind = kind;
}

int alias_parse_kind(const char *host, enum alias_kind kind, struct alias *out, struct err *e)
{
	const char *dot;
	size_t len, name_len, d;
	unsigned index = 1;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = check_host(host, kind, 1, &len, e);
	if (rc)
		goto fail;
	dot = memchr(host, '.', len);
	if (dot) {
		if (host[len - 1] == '.') {
			rc = err_set(e, ERR_INVALID, "ends with a dot (NAME.N, N from 1)");
			goto fail;
		}
		dot = strrchr(host, '.');
		name_len = (size_t)(dot - host);
		if (name_len == 0) {
			rc = err_set(e, ERR_INVALID, "no name before the dot");
			goto fail;
		}
		if (memchr(host, '.', name_len)) {
			rc = err_set(e, ERR_INVALID, "only one dot is allowed (NAME.N)");
			goto fail;
		}
		rc = parse_index_n(dot + 1, len - name_len - 1, &index, e);
		if (rc)
			goto fail;
		rc = alias_check_name(host, name_len, kind, e);
		if (rc)
			goto fail;
	} else {
		for (d = len; d > 0 && is_digit((unsigned char)host[d - 1]); d--)
			;
		name_len = d;
		if (name_len == 0) {
			rc = err_set(e, ERR_INVALID, "no name before the index");
			hint_whole_name(host, len, kind, e);
			goto fail;
		}
		if (name_len < len) {
			rc = parse_index_n(host + name_len, len - name_len, &index, e);
			if (rc) {
				hint_whole_name(host, len, kind, e);
				goto fail;
			}
		}
		rc = alias_check_name(host, name_len, kind, e);
		if (rc) {
			if (name_len < len)
				hint_whole_name(host, len, kind, e);
			goto fail;
		}
	}
	set_alias(out, host, name_len, index, kind);
	return 0;
fail:
	prefix_alias(e, host);
	memset(out, 0, sizeof(*out));
	return rc;
}

int alias_parse(const char *host, struct alias *out, struct err *e)
{
	return alias_parse_kind(host, ALIAS_EB, out, e);
}

int alias_parse_name(const char *host, enum alias_kind kind, unsigned index, struct alias *out,
                     struct err *e)
{
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (index < 1 || index > ALIAS_INDEX_MAX) {
		rc = err_set(e, ERR_INVALID, "the instance index must be 1 to %d", ALIAS_INDEX_MAX);
		goto fail;
	}
	rc = check_host(host, kind, 0, &len, e);
	if (rc)
		goto fail;
	rc = alias_check_name(host, len, kind, e);
	if (rc)
		goto fail;
	set_alias(out, host, len, index, kind);
	return 0;
fail:
	prefix_alias(e, host);
	return rc;
}

int alias_strip_known_hosts_form(const char *in, char *out, size_t cap, struct err *e)
{
	const char *close, *p;
	size_t n;
	unsigned long port = 0;

	if (!in)
		in = "";
	if (in[0] != '[') {
		n = strlen(in);
		p = in;
	} else {
		close = strchr(in, ']');
		if (!close || close[1] != ':' || !close[2])
			return err_set(e, ERR_INVALID, "expected [host]:port");
		for (p = close + 2; *p; p++) {
			if (!is_digit((unsigned char)*p) || port > 65535)
				return err_set(e, ERR_INVALID, "bad port in [host]:port");
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port < 1 || port > 65535 || close[2] == '0')
			return err_set(e, ERR_INVALID, "bad port in [host]:port");
		p = in + 1;
		n = (size_t)(close - p);
	}
	if (n + 1 > cap)
		return err_set(e, ERR_TOO_LARGE, "host too long");
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}
