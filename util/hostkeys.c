/* hostkeys: host keys from console text and service answers, checked; see hostkeys.h. */
#include "hostkeys.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

#define BLOB_MAX           ((size_t)HOSTKEYS_B64_MAX / 4 * 3)
#define RSA_MIN_BITS       1024
#define RSA_MAX_BITS       16384
#define RSA_MAX_EXPONENT_B 8

enum key_family { FAM_ED25519, FAM_ECDSA, FAM_RSA };

static const struct key_type {
	const char *name;
	enum key_family family;
	const char *curve; /* ECDSA: the curve id inside the blob */
	size_t point_len;  /* ECDSA: bytes of the uncompressed point */
} key_types[] = {
    {"ssh-ed25519", FAM_ED25519, NULL, 0},
    {"ecdsa-sha2-nistp256", FAM_ECDSA, "nistp256", 1 + 2 * 32},
    {"ecdsa-sha2-nistp384", FAM_ECDSA, "nistp384", 1 + 2 * 48},
    {"ecdsa-sha2-nistp521", FAM_ECDSA, "nistp521", 1 + 2 * 66},
    {"ssh-rsa", FAM_RSA, NULL, 0},
};

#define N_KEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

void hostkey_list_free(struct hostkey_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->items[i].key);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static const struct key_type *find_type(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < N_KEY_TYPES; i++)
		if (strlen(key_types[i].name) == len && memcmp(key_types[i].name, s, len) == 0)
			return &key_types[i];
	return NULL;
}

const char *hostkeys_known_type(const char *s, size_t len)
{
	const struct key_type *t = s ? find_type(s, len) : NULL;

	return t ? t->name : NULL;
}

/* A reader over the SSH wire format of a key blob. */
struct reader {
	const unsigned char *p;
	size_t left;
};

/* One uint32-length-prefixed string; -1 when the blob ends first. */
static int read_string(struct reader *r, const unsigned char **s, size_t *len)
{
	uint32_t n;

	if (r->left < 4)
		return -1;
	n = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
	    (uint32_t)r->p[3];
	if (n > r->left - 4)
		return -1;
	*s = r->p + 4;
	*len = n;
	r->p += 4 + (size_t)n;
	r->left -= 4 + (size_t)n;
	return 0;
}

static int string_is(const unsigned char *s, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(s, want, len) == 0;
}

/*
 * A positive mpint in its minimal form (RFC 4251 section 5): the magnitude
 * without the sign byte in *mag, *mag_len. -1 for zero, negative or padded.
 */
static int read_positive_mpint(struct reader *r, const unsigned char **mag, size_t *mag_len)
{
	const unsigned char *s;
	size_t len;

	if (read_string(r, &s, &len) != 0 || len == 0)
		return -1;
	if (s[0] & 0x80)
		return -1; /* negative */
	if (s[0] == 0) {
		if (len < 2 || !(s[1] & 0x80))
			return -1; /* a zero byte that is not needed */
		s++;
		len--;
	}
	*mag = s;
	*mag_len = len;
	return 0;
}

static size_t bit_length(const unsigned char *mag, size_t len)
{
	unsigned char top = mag[0];
	size_t bits = 0;

	while (top) {
		bits++;
		top >>= 1;
	}
	return (len - 1) * 8 + bits;
}

static int check_blob(const struct key_type *t, const unsigned char *blob, size_t len,
                      struct err *e)
{
	struct reader r = {blob, len};
	const unsigned char *s, *mag;
	size_t n, mag_len, bits;

	if (read_string(&r, &s, &n) != 0 || !string_is(s, n, t->name))
		return err_set(e, ERR_INVALID, "the key blob does not start with \"%s\"", t->name);
	switch (t->family) {
	case FAM_ED25519:
		if (read_string(&r, &s, &n) != 0 || n != 32)
			return err_set(e, ERR_INVALID, "an ssh-ed25519 key is 32 bytes");
		break;
	case FAM_ECDSA:
		if (read_string(&r, &s, &n) != 0 || !string_is(s, n, t->curve))
			return err_set(e, ERR_INVALID, "the blob of a %s key names another curve",
			               t->name);
		if (read_string(&r, &s, &n) != 0 || n != t->point_len || s[0] != 0x04)
			return err_set(e, ERR_INVALID,
			               "a %s key is an uncompressed point of %zu bytes", t->name,
			               t->point_len);
		break;
	case FAM_RSA:
		if (read_positive_mpint(&r, &mag, &mag_len) != 0 || mag_len > RSA_MAX_EXPONENT_B ||
		    !(mag[mag_len - 1] & 1) || (mag_len == 1 && mag[0] < 3))
			return err_set(e, ERR_INVALID, "an ssh-rsa key's exponent is malformed");
		if (read_positive_mpint(&r, &mag, &mag_len) != 0 || !(mag[mag_len - 1] & 1))
			return err_set(e, ERR_INVALID, "an ssh-rsa key's modulus is malformed");
		bits = bit_length(mag, mag_len);
		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
			return err_set(e, ERR_INVALID,
			               "an ssh-rsa key of %zu bits (allowed: %d to %d)", bits,
			               RSA_MIN_BITS, RSA_MAX_BITS);
		break;
	}
	if (r.left)
		return err_set(e, ERR_INVALID, "%zu bytes after the %s key", r.left, t->name);
	return 0;
}

static int check_key(const struct key_type *t, const char *b64, size_t len, struct err *e)
{
	unsigned char *blob = NULL;
	size_t blob_len = 0;
	int rc;

	if (len == 0 || len > HOSTKEYS_B64_MAX)
		return err_set(e, ERR_INVALID, "a key of %zu base64 characters", len);
	rc = b64_decode(b64, len, 0, BLOB_MAX, &blob, &blob_len, e);
	if (rc == ERR_NOMEM)
		return rc;
	if (rc < 0)
		return err_set(e, ERR_INVALID, "the key is not strict base64");
	rc = check_blob(t, blob, blob_len, e);
	free(blob);
	return rc;
}

int hostkeys_check_key(const char *type, const char *b64, size_t len, struct err *e)
{
	const struct key_type *t = type ? find_type(type, strlen(type)) : NULL;

	if (!t)
		return err_set(e, ERR_INVALID, "not a known host key type");
	if (!b64)
		return err_set(e, ERR_INVALID, "no key");
	return check_key(t, b64, len, e);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int hostkeys_parse_line(const char *line, size_t len, int allow_comment, struct hostkey *out,
                        struct err *e)
{
	const struct key_type *t;
	size_t i, tb, te, kb, ke;
	int rc;

	out->type = NULL;
	out->key = NULL;
	if (!line || len == 0)
		return err_set(e, ERR_INVALID, "an empty line");
	if (len > HOSTKEYS_LINE_MAX)
		return err_set(e, ERR_INVALID, "a line of %zu bytes", len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return err_set(e, ERR_INVALID, "a control byte (0x%02x) in the line", c);
		if (c >= 0x80 && !allow_comment)
			return err_set(e, ERR_INVALID, "a byte outside ASCII in the line");
	}
	tb = 0;
	for (te = tb; te < len && !is_blank(line[te]); te++)
		;
	t = find_type(line + tb, te - tb);
	if (!t)
		return err_set(e, ERR_INVALID, "not a known host key type");
	kb = te;
	if (allow_comment) {
		while (kb < len && is_blank(line[kb]))
			kb++;
	} else if (kb < len && line[kb] == ' ') {
		kb++;
	}
	if (kb == te || kb == len)
		return err_set(e, ERR_INVALID, "no key after the type");
	for (ke = kb; ke < len && !is_blank(line[ke]); ke++)
		;
	if (ke < len && !allow_comment)
		return err_set(e, ERR_INVALID, "something after the key");
	for (i = kb; i < ke; i++)
		if ((unsigned char)line[i] >= 0x80)
			return err_set(e, ERR_INVALID, "a byte outside ASCII in the key");
	rc = check_key(t, line + kb, ke - kb, e);
	if (rc)
		return rc;
	out->key = strndup(line + kb, ke - kb);
	if (!out->key)
		return err_set(e, ERR_NOMEM, "out of memory");
	out->type = t->name;
	return 0;
}

int hostkey_list_add(struct hostkey_list *l, const char *type, const char *key)
{
	struct hostkey *grown;
	char *copy;
	size_t i;

	if (!type || !key)
		return 1;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->items[i].type, type) == 0 && strcmp(l->items[i].key, key) == 0)
			return 1;
	if (l->n >= HOSTKEYS_MAX)
		return 1;
	copy = strdup(key);
	if (!copy)
		return ERR_NOMEM;
	grown = realloc(l->items, (l->n + 1) * sizeof(*grown));
	if (!grown) {
		free(copy);
		return ERR_NOMEM;
	}
	grown[l->n].type = type;
	grown[l->n].key = copy;
	l->items = grown;
	l->n++;
	return 0;
}

/* [*b, *end) without leading CRs, trailing CRs, spaces and tabs. */
static void trim_line(const char **b, const char **end)
{
	while (*b < *end && **b == '\r')
		(*b)++;
	while (*end > *b && ((*end)[-1] == '\r' || (*end)[-1] == ' ' || (*end)[-1] == '\t'))
		(*end)--;
}

static int line_is(const char *b, const char *end, const char *marker)
{
	size_t n = strlen(marker);

	return (size_t)(end - b) == n && memcmp(b, marker, n) == 0;
}

int hostkeys_parse_console(const char *text, size_t len, struct hostkey_list *out, struct err *e)
{
	struct hostkey_list cur = {NULL, 0}, last = {NULL, 0};
	const char *p, *end;
	int in_block = 0, found = 0, rc = 0;

	out->items = NULL;
	out->n = 0;
	if (!text)
		len = 0;
	p = text;
	end = text ? text + len : text;
	if (len > HOSTKEYS_TEXT_MAX) {
		/* Only the tail: from the first line that starts inside it. */
		p = end - HOSTKEYS_TEXT_MAX;
		while (p < end && p[-1] != '\n')
			p++;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *lb = p, *le = nl ? nl : end;
		struct hostkey k;

		p = nl ? nl + 1 : end;
		trim_line(&lb, &le);
		if (line_is(lb, le, HOSTKEYS_BEGIN)) {
			hostkey_list_free(&cur);
			in_block = 1;
			continue;
		}
		if (line_is(lb, le, HOSTKEYS_END)) {
			if (in_block) {
				hostkey_list_free(&last);
				last = cur;
				cur.items = NULL;
				cur.n = 0;
				found = 1;
				in_block = 0;
			}
			continue;
		}
		if (!in_block || hostkeys_parse_line(lb, (size_t)(le - lb), 1, &k, NULL) != 0)
			continue;
		rc = hostkey_list_add(&cur, k.type, k.key);
		free(k.key);
		if (rc < 0) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto fail;
		}
	}
	hostkey_list_free(&cur);
	if (!found)
		return err_set(e, ERR_NOT_FOUND, "no complete " HOSTKEYS_BEGIN " block");
	*out = last;
	return 0;
fail:
	hostkey_list_free(&cur);
	hostkey_list_free(&last);
	return rc;
}

int hostkeys_parse_answer(const char *text, size_t len, struct hostkey_list *out, struct err *e)
{
	const char *p = text, *end = text ? text + len : text;
	struct err le;
	size_t line_no = 0;
	int rc;

	out->items = NULL;
	out->n = 0;
	if (!text || len == 0)
		return err_set(e, ERR_PARSE, "an empty answer (no key)");
	if (end[-1] != '\n')
		return err_set(e, ERR_PARSE, "the answer does not end with a newline");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct hostkey k;

		line_no++;
		if (hostkeys_parse_line(p, (size_t)(nl - p), 0, &k, &le) != 0) {
			if (le.code == ERR_NOMEM) {
				rc = err_set(e, ERR_NOMEM, "out of memory");
				goto fail;
			}
			rc = err_set(e, ERR_PARSE, "line %zu is not a host key: %s", line_no,
			             le.message);
			goto fail;
		}
		rc = out->n >= HOSTKEYS_MAX ? 1 : hostkey_list_add(out, k.type, k.key);
		free(k.key);
		if (rc < 0) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto fail;
		}
		if (rc > 0) {
			rc = err_set(e, ERR_PARSE, "line %zu: a repeated key, or more than %d keys",
			             line_no, HOSTKEYS_MAX);
			goto fail;
		}
		p = nl + 1;
	}
	return 0;
fail:
	hostkey_list_free(out);
	return rc;
}
