/*
 * Unit tests of util/b64 and util/hostkeys: strict base64, the key checks
 * of every type, the cloud-init console fixtures in tests/fixtures/console
 * (each X.txt against X.expected), hostile console text (escapes, NULs,
 * wrong blobs, huge lines, fake markers, too many keys, an oversized
 * console) and the service's answer format.
 */
#include "test.h"

#include <openssl/evp.h>

#include "util/b64.h"
#include "util/buf.h"
#include "util/hostkeys.h"

/* ---- helpers ---- */

static char *fixture_path(const char *name)
{
	const char *root = getenv("EBSSH_ROOT");
	char *p = NULL;

	if (asprintf(&p, "%s/tests/fixtures/console/%s", root && *root ? root : ".", name) < 0)
		return NULL;
	return p;
}

/* The whole file, NUL-terminated; *len its size. NULL when unreadable. */
static char *read_fixture(const char *name, size_t *len)
{
	char *path = fixture_path(name), *data = NULL;
	FILE *f = path ? fopen(path, "rb") : NULL;
	long n;

	*len = 0;
	if (!f) {
		printf("# cannot open %s\n", path ? path : name);
		free(path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)n + 1);
		if (data && fread(data, 1, (size_t)n, f) == (size_t)n) {
			data[n] = '\0';
			*len = (size_t)n;
		} else {
			free(data);
			data = NULL;
		}
	}
	fclose(f);
	free(path);
	return data;
}

/* The n-th (0-based) line of a fixture .pub/.expected file as "type base64" (new string). */
static char *fixture_key(const char *name, int n)
{
	size_t len;
	char *text = read_fixture(name, &len), *p, *line = NULL;
	int i;

	if (!text)
		return NULL;
	p = text;
	for (i = 0; i < n && p; i++) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (p && *p) {
		char *sp = strchr(p, ' ');
		char *end = sp ? strpbrk(sp + 1, " \n") : NULL;
		if (end)
			line = strndup(p, (size_t)(end - p));
	}
	free(text);
	return line;
}

/* Base64 of bytes (new string). */
static char *b64_of(const unsigned char *bytes, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, bytes, (int)n);
	return out;
}

/* A key line "type base64" whose blob is changed by fn (new string). */
static char *mutate_key(const char *line, void (*fn)(struct buf *blob))
{
	const char *sp = strchr(line, ' ');
	unsigned char *blob = NULL;
	size_t blob_len = 0;
	struct buf b, out;
	char *b64, *res = NULL;

	if (!sp || b64_decode(sp + 1, strlen(sp + 1), 0, 1 << 20, &blob, &blob_len, NULL) != 0)
		return NULL;
	buf_init(&b, 0);
	buf_append(&b, blob, blob_len);
	free(blob);
	fn(&b);
	b64 = b64_of((const unsigned char *)b.data, b.len);
	buf_init(&out, 0);
	if (b64 && buf_appendf(&out, "%.*s %s", (int)(sp - line), line, b64) == 0)
		res = buf_take(&out);
	buf_free(&out);
	buf_free(&b);
	free(b64);
	return res;
}

static void add_trailing_byte(struct buf *blob)
{
	buf_append(blob, "\0", 1);
}

static void drop_last_byte(struct buf *blob)
{
	blob->len--;
}

static int list_has(const struct hostkey_list *l, const char *line)
{
	size_t i;
	char tmp[HOSTKEYS_B64_MAX + 64];

	for (i = 0; i < l->n; i++) {
		snprintf(tmp, sizeof(tmp), "%s %s", l->items[i].type, l->items[i].key);
		if (strcmp(tmp, line) == 0)
			return 1;
	}
	return 0;
}

/* ---- base64 ---- */

TEST_CASE(b64_strict_table)
{
	static const struct {
		const char *in;
		int ok;
		const char *want;
	} cases[] = {
	    {"", 1, ""},        {"QQ==", 1, "A"},        {"QUI=", 1, "AB"},
	    {"QUJD", 1, "ABC"}, {"QUJDRA==", 1, "ABCD"}, {"QUJ", 0, NULL},
	    {"Q===", 0, NULL},  {"QU=I", 0, NULL},       {"QUJDRA==QUJD", 0, NULL},
	    {"QR==", 0, NULL},                                              /* pad bits set */
	    {"QUM=", 1, "AC"},  {"QUN=", 0, NULL},                          /* pad bits set */
	    {" QUJD", 0, NULL}, {"QUJD\n", 0, NULL},     {"QU-D", 0, NULL}, /* base64url */
	    {"QU_D", 0, NULL},  {"====", 0, NULL},       {"QUJD=", 0, NULL},
	};
	size_t i, n;
	unsigned char *out;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = b64_decode(cases[i].in, strlen(cases[i].in), 0, 100, &out, &n, NULL);
		if (cases[i].ok) {
			CHECK_INT(rc, 0);
			if (rc == 0) {
				CHECK_INT(n, strlen(cases[i].want));
				CHECK_STR((char *)out, cases[i].want);
			}
			CHECK_INT(b64_is_strict(cases[i].in, strlen(cases[i].in)), 1);
		} else {
			if (rc != ERR_INVALID)
				printf("# case %zu \"%s\"\n", i, cases[i].in);
			CHECK_INT(rc, ERR_INVALID);
			CHECK(out == NULL);
			CHECK_INT(b64_is_strict(cases[i].in, strlen(cases[i].in)), 0);
		}
		free(out);
	}
}

TEST_CASE(b64_skip_space_and_bounds)
{
	unsigned char *out;
	size_t n;
	struct err e;

	CHECK_INT(b64_decode("QUJD\r\nRA=\n=", 11, B64_SKIP_SPACE, 100, &out, &n, NULL), 0);
	CHECK_INT(n, 4);
	CHECK_STR((char *)out, "ABCD");
	free(out);
	CHECK_INT(b64_decode(" Q U J D \t", 10, B64_SKIP_SPACE, 100, &out, &n, NULL), 0);
	CHECK_STR((char *)out, "ABC");
	free(out);
	CHECK_INT(b64_decode("QUJD\r\nRA=\n=", 11, 0, 100, &out, &n, NULL), ERR_INVALID);
	CHECK_INT(b64_decode("QUJDRA==", 8, 0, 3, &out, &n, &e), ERR_TOO_LARGE);
	CHECK(out == NULL);
	CHECK_INT(b64_decode("QUJDRA==", 8, 0, 4, &out, &n, NULL), 0);
	free(out);
	/* Embedded NUL bytes decode and keep their length. */
	CHECK_INT(b64_decode("AEEA", 4, 0, 10, &out, &n, NULL), 0);
	CHECK_INT(n, 3);
	CHECK(out && out[0] == 0 && out[1] == 'A' && out[2] == 0 && out[3] == 0);
	free(out);
	CHECK_INT(b64_decode("QU\0D", 4, 0, 10, &out, &n, NULL), ERR_INVALID);
}

/* ---- key checks ---- */

TEST_CASE(keys_of_every_type)
{
	static const struct {
		const char *file;
		int line;
		int ok;
	} cases[] = {
	    {"ubuntu-rsa-crcrlf.expected", 0, 1}, /* ecdsa-sha2-nistp256 */
	    {"ubuntu-rsa-crcrlf.expected", 1, 1}, /* ssh-ed25519 */
	    {"ubuntu-rsa-crcrlf.expected", 2, 1}, /* ssh-rsa 3072 */
	    {"other-types.pub", 0, 1},            /* ecdsa-sha2-nistp384 */
	    {"other-types.pub", 1, 1},            /* ecdsa-sha2-nistp521 */
	    {"other-types.pub", 2, 1},            /* ssh-rsa 1024 */
	    {"other-types.pub", 3, 0},            /* ssh-dss: never */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *line = fixture_key(cases[i].file, cases[i].line);
		struct hostkey k;
		int rc;

		CHECK(line != NULL);
		if (!line)
			continue;
		rc = hostkeys_parse_line(line, strlen(line), 0, &k, NULL);
		CHECK_INT(rc == 0, cases[i].ok);
		if (rc == 0) {
			CHECK_INT(strncmp(line, k.type, strlen(k.type)), 0);
			CHECK_STR(k.key, strchr(line, ' ') + 1);
			CHECK_INT(hostkeys_check_key(k.type, k.key, strlen(k.key), NULL), 0);
		}
		free(k.key);
		free(line);
	}
}

TEST_CASE(key_blobs_checked)
{
	char *ed = fixture_key("ubuntu-rsa-crcrlf.expected", 1);
	char *ec = fixture_key("ubuntu-rsa-crcrlf.expected", 0);
	char *rsa = fixture_key("ubuntu-rsa-crcrlf.expected", 2);
	char *p384 = fixture_key("other-types.pub", 0);
	char *longer = ed ? mutate_key(ed, add_trailing_byte) : NULL;
	char *shorter = ed ? mutate_key(ed, drop_last_byte) : NULL;
	char *rsa_longer = rsa ? mutate_key(rsa, add_trailing_byte) : NULL;
	char line[HOSTKEYS_B64_MAX + 64];
	struct err e;

	CHECK(ed && ec && rsa && p384 && longer && shorter && rsa_longer);
	if (!(ed && ec && rsa && p384 && longer && shorter && rsa_longer))
		goto out;
	CHECK_INT(hostkeys_check_key("ssh-ed25519", strchr(ed, ' ') + 1, strlen(ed) - 12, NULL), 0);
	/* The type outside and inside must agree. */
	CHECK_INT(
	    hostkeys_check_key("ssh-ed25519", strchr(ec, ' ') + 1, strlen(strchr(ec, ' ') + 1), &e),
	    ERR_INVALID);
	CHECK(strstr(e.message, "does not start with") != NULL);
	CHECK_INT(hostkeys_check_key("ecdsa-sha2-nistp256", strchr(p384, ' ') + 1,
	                             strlen(strchr(p384, ' ') + 1), NULL),
	          ERR_INVALID);
	CHECK_INT(hostkeys_check_key("ssh-dss", strchr(ed, ' ') + 1, strlen(ed) - 12, &e),
	          ERR_INVALID);
	CHECK_INT(hostkeys_check_key("ssh-ed25519-cert-v01@openssh.com", strchr(ed, ' ') + 1,
	                             strlen(ed) - 12, NULL),
	          ERR_INVALID);
	/* Bytes after the key, or a key cut short. */
	CHECK_INT(hostkeys_parse_line(longer, strlen(longer), 0, &(struct hostkey){0}, &e),
	          ERR_INVALID);
	CHECK(strstr(e.message, "after the") != NULL);
	CHECK_INT(hostkeys_parse_line(shorter, strlen(shorter), 0, &(struct hostkey){0}, NULL),
	          ERR_INVALID);
	CHECK_INT(
	    hostkeys_parse_line(rsa_longer, strlen(rsa_longer), 0, &(struct hostkey){0}, NULL),
	    ERR_INVALID);
	/* Non-canonical base64 of the same key: the last letter before '=' changed
	 * only in its pad bits. The P-256 blob is 104 bytes: one '='. */
	snprintf(line, sizeof(line), "%s", ec);
	{
		char *eq = strchr(line, '=');
		CHECK(eq != NULL);
		if (eq) {
			static const char alpha[] =
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			const char *pos = strchr(alpha, eq[-1]);
			eq[-1] = alpha[(pos - alpha) | 1];
			CHECK_INT(
			    hostkeys_parse_line(line, strlen(line), 0, &(struct hostkey){0}, NULL),
			    ERR_INVALID);
		}
	}
out:
	free(ed);
	free(ec);
	free(rsa);
	free(p384);
	free(longer);
	free(shorter);
	free(rsa_longer);
}

/*
 * A handmade RSA blob: string "ssh-rsa", mpint e, mpint n of n_bits bits.
 * pad_mode 0 writes n minimally, 1 with a zero byte it does not need, 2
 * without the zero byte it needs (so it reads as negative).
 */
static char *rsa_line(const unsigned char *e_bytes, size_t e_len, size_t n_bits, int pad_mode,
                      int n_odd)
{
	size_t mag_len = (n_bits + 7) / 8, n_len, i;
	unsigned char top = (unsigned char)(1u << ((n_bits - 1) % 8)), be[4];
	int pad = pad_mode == 1 || (pad_mode == 0 && (top & 0x80));
	char *b64, *line = NULL;
	struct buf b;

	n_len = mag_len + (pad ? 1 : 0);
	buf_init(&b, 0);
	buf_append(&b, "\0\0\0\7ssh-rsa", 11);
	be[0] = 0, be[1] = 0, be[2] = (unsigned char)(e_len >> 8), be[3] = (unsigned char)e_len;
	buf_append(&b, be, 4);
	buf_append(&b, e_bytes, e_len);
	be[2] = (unsigned char)(n_len >> 8), be[3] = (unsigned char)n_len;
	buf_append(&b, be, 4);
	if (pad)
		buf_append(&b, "\0", 1);
	for (i = 0; i < mag_len; i++) {
		unsigned char c = i == 0 ? top : 0x55;
		if (i == mag_len - 1)
			c = (unsigned char)(n_odd ? c | 1 : c & 0xfe);
		buf_append(&b, &c, 1);
	}
	b64 = b64_of((const unsigned char *)b.data, b.len);
	if (b64 && asprintf(&line, "ssh-rsa %s", b64) < 0)
		line = NULL;
	free(b64);
	buf_free(&b);
	return line;
}

TEST_CASE(rsa_rules)
{
	static const unsigned char e65537[] = {1, 0, 1}, e3[] = {3}, e1[] = {1}, e_even[] = {4},
	                           e_neg[] = {0x81}, e_padded[] = {0, 3},
	                           e_huge[] = {1, 0, 0, 0, 0, 0, 0, 0, 1},
	                           e_8[] = {1, 0, 0, 0, 0, 0, 0, 1};
	static const struct {
		const unsigned char *e;
		size_t e_len;
		size_t bits;
		int pad_mode, odd, ok;
	} cases[] = {
	    {e65537, 3, 2048, 0, 1, 1},   {e3, 1, 1024, 0, 1, 1},      {e65537, 3, 16384, 0, 1, 1},
	    {e65537, 3, 1023, 0, 1, 0},   {e65537, 3, 16385, 0, 1, 0}, {e65537, 3, 2048, 0, 0, 0},
	    {e1, 1, 2048, 0, 1, 0},       {e_even, 1, 2048, 0, 1, 0},  {e_neg, 1, 2048, 0, 1, 0},
	    {e_padded, 2, 2048, 0, 1, 0}, {e_huge, 9, 2048, 0, 1, 0},  {e_8, 8, 2048, 0, 1, 1},
	    {e65537, 3, 2041, 0, 1, 1},   {e65537, 3, 2041, 1, 1, 0},  {e65537, 3, 2048, 2, 1, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *line = rsa_line(cases[i].e, cases[i].e_len, cases[i].bits, cases[i].pad_mode,
		                      cases[i].odd);
		struct hostkey k = {0};
		int rc = line ? hostkeys_parse_line(line, strlen(line), 0, &k, NULL) : -100;
		if ((rc == 0) != cases[i].ok)
			printf("# rsa case %zu: rc %d\n", i, rc);
		CHECK_INT(rc == 0, cases[i].ok);
		free(k.key);
		free(line);
	}
}

TEST_CASE(line_forms)
{
	char *ed = fixture_key("al2023-first-boot.expected", 1);
	char line[HOSTKEYS_B64_MAX + 200];
	struct hostkey k;
	const char *b64 = ed ? strchr(ed, ' ') + 1 : "";

	CHECK(ed != NULL);
	if (!ed)
		return;
	/* Comments and runs of blanks only with allow_comment. */
	snprintf(line, sizeof(line), "ssh-ed25519 \t %s\troot@h\xc3\xb4te extra words", b64);
	CHECK_INT(hostkeys_parse_line(line, strlen(line), 1, &k, NULL), 0);
	CHECK_STR(k.key, b64);
	CHECK_STR(k.type, "ssh-ed25519");
	free(k.key);
	CHECK_INT(hostkeys_parse_line(line, strlen(line), 0, &k, NULL), ERR_INVALID);
	snprintf(line, sizeof(line), "ssh-ed25519 %s root@h", b64);
	CHECK_INT(hostkeys_parse_line(line, strlen(line), 0, &k, NULL), ERR_INVALID);
	snprintf(line, sizeof(line), "ssh-ed25519  %s", b64);
	CHECK_INT(hostkeys_parse_line(line, strlen(line), 0, &k, NULL), ERR_INVALID);
	snprintf(line, sizeof(line), "ssh-ed25519 %s", b64);
	CHECK_INT(hostkeys_parse_line(line, strlen(line), 0, &k, NULL), 0);
	free(k.key);
	/* Control bytes anywhere, even in the comment. */
	snprintf(line, sizeof(line), "ssh-ed25519 %s root@\x1b[31mh", b64);
	CHECK_INT(hostkeys_parse_line(line, strlen(line), 1, &k, NULL), ERR_INVALID);
	snprintf(line, sizeof(line), "ssh-ed25519 %s root@h\x7f", b64);
	CHECK_INT(hostkeys_parse_line(line, strlen(line), 1, &k, NULL), ERR_INVALID);
	snprintf(line, sizeof(line), "ssh-ed25519 %s\r", b64);
	CHECK_INT(hostkeys_parse_line(line, strlen(line), 1, &k, NULL), ERR_INVALID);
	snprintf(line, sizeof(line), "ssh-ed25519 %s", b64);
	line[20] = '\0';
	CHECK_INT(hostkeys_parse_line(line, strlen(b64) + 12, 1, &k, NULL), ERR_INVALID);
	/* Leading blanks, a type alone, the wrong case. */
	snprintf(line, sizeof(line), " ssh-ed25519 %s", b64);
	CHECK_INT(hostkeys_parse_line(line, strlen(line), 1, &k, NULL), ERR_INVALID);
	CHECK_INT(hostkeys_parse_line("ssh-ed25519", 11, 1, &k, NULL), ERR_INVALID);
	CHECK_INT(hostkeys_parse_line("ssh-ed25519 ", 12, 1, &k, NULL), ERR_INVALID);
	snprintf(line, sizeof(line), "SSH-ED25519 %s", b64);
	CHECK_INT(hostkeys_parse_line(line, strlen(line), 1, &k, NULL), ERR_INVALID);
	CHECK(k.key == NULL);
	CHECK_STR(hostkeys_known_type("ssh-rsa", 7), "ssh-rsa");
	CHECK(hostkeys_known_type("ssh-rs", 6) == NULL);
	CHECK(hostkeys_known_type("ssh-dss", 7) == NULL);
	free(ed);
}

/* ---- console fixtures ---- */

static void check_fixture(const char *name)
{
	char txt[128], exp[128];
	size_t len, elen, i;
	char *text, *expected;
	struct hostkey_list l = {0};
	struct buf got;
	int rc;

	snprintf(txt, sizeof(txt), "%s.txt", name);
	snprintf(exp, sizeof(exp), "%s.expected", name);
	text = read_fixture(txt, &len);
	expected = read_fixture(exp, &elen);
	CHECK(text && expected);
	if (!text || !expected)
		goto out;
	rc = hostkeys_parse_console(text, len, &l, NULL);
	buf_init(&got, 0);
	for (i = 0; i < l.n; i++)
		buf_appendf(&got, "%s %s\n", l.items[i].type, l.items[i].key);
	if (elen == 0) {
		CHECK_INT(rc, ERR_NOT_FOUND);
		CHECK_INT(l.n, 0);
	} else {
		CHECK_INT(rc, 0);
		CHECK_STR(buf_str(&got), expected);
	}
	buf_free(&got);
out:
	hostkey_list_free(&l);
	free(text);
	free(expected);
}

/* ---- hostile consoles ---- */

TEST_CASE(hostile_block)
{
	char *ed = fixture_key("al2023-first-boot.expected", 1);
	char *ec = fixture_key("al2023-first-boot.expected", 0);
	char *dsa = fixture_key("other-types.pub", 3);
	char *longer = ed ? mutate_key(ed, add_trailing_byte) : NULL;
	struct hostkey_list l = {0};
	struct buf c;
	size_t i;

	CHECK(ed && ec && dsa && longer);
	if (!(ed && ec && dsa && longer))
		goto out;
	buf_init(&c, 0);
	buf_appendf(&c, "[    1.000000] -----BEGIN SSH HOST KEY KEYS-----\r\n");
	buf_appendf(&c, "%s fake-before-any-block\r\n", ec);
	buf_appendf(&c, "\r-----BEGIN SSH HOST KEY KEYS-----  \t\r\r\n");
	buf_appendf(&c, "\x1b[0m%s root@x\r\n", ec);                   /* escape before the type */
	buf_appendf(&c, "%s[   12.3] random: crng init done\r\n", ec); /* interleaved */
	buf_appendf(&c, "%.*s\r\n", (int)strlen(ed) - 4, ed);          /* truncated */
	buf_appendf(&c, "ssh-ed25519 %s\r\n", strchr(ec, ' ') + 1);    /* wrong blob */
	buf_appendf(&c, "%s\r\n", longer);                             /* trailing bytes */
	buf_appendf(&c, "%s\r\n", dsa);                                /* DSA */
	buf_appendf(&c, "%s root@\x1b]0;title\x07\r\n", ec);           /* OSC in the comment */
	for (i = 0; i < (size_t)3 * HOSTKEYS_LINE_MAX; i++)            /* a huge line */
		buf_append(&c, "A", 1);
	buf_appendf(&c, "\r\n");
	buf_appendf(&c, "ssh-ed25519 %s", strchr(ed, ' ') + 1); /* a NUL inside the key */
	buf_append(&c, "\0", 1);
	buf_appendf(&c, "AAAA\r\n");
	buf_appendf(&c, "%s\troot@ip-172-31-18-40\r\n", ed); /* good, tab-separated */
	buf_appendf(&c, "%s root@again\r\n", ed);            /* duplicate */
	buf_appendf(&c, "%s\r\n", ec);                       /* good */
	buf_appendf(&c, "[    1.000000] -----END SSH HOST KEY KEYS-----\r\n"); /* not the end */
	buf_appendf(&c, "-----END SSH HOST KEY KEYS-----\r\n");
	buf_appendf(&c, "-----END SSH HOST KEY KEYS-----\r\n"); /* a stray END */
	buf_appendf(&c, "%s after-the-block\r\n", dsa);
	CHECK(c.data != NULL);
	CHECK_INT(hostkeys_parse_console(c.data, c.len, &l, NULL), 0);
	CHECK_INT(l.n, 2);
	CHECK(list_has(&l, ed));
	CHECK(list_has(&l, ec));
	if (l.n == 2) {
		CHECK_STR(l.items[0].type, "ssh-ed25519");
		CHECK_STR(l.items[1].type, "ecdsa-sha2-nistp256");
	}
	hostkey_list_free(&l);
	buf_free(&c);
out:
	free(ed);
	free(ec);
	free(dsa);
	free(longer);
}

TEST_CASE(empty_and_odd_blocks)
{
	char *ed = fixture_key("al2023-first-boot.expected", 1);
	struct hostkey_list l = {0};
	struct buf c;
	struct err e;

	CHECK(ed != NULL);
	if (!ed)
		return;
	/* A block with nothing well-formed: found, no keys. */
	buf_init(&c, 0);
	buf_appendf(&c, HOSTKEYS_BEGIN "\nssh-dss AAAA\n" HOSTKEYS_END "\n");
	CHECK_INT(hostkeys_parse_console(c.data, c.len, &l, NULL), 0);
	CHECK_INT(l.n, 0);
	hostkey_list_free(&l);
	/* A good block, then an empty one: the last (empty) wins. */
	buf_reset(&c);
	buf_appendf(&c, HOSTKEYS_BEGIN "\n%s\n" HOSTKEYS_END "\n" HOSTKEYS_BEGIN "\n" HOSTKEYS_END,
	            ed);
	CHECK_INT(hostkeys_parse_console(c.data, c.len, &l, NULL), 0);
	CHECK_INT(l.n, 0);
	hostkey_list_free(&l);
	/* BEGIN, BEGIN again (the first interrupted), END: the second's keys. */
	buf_reset(&c);
	buf_appendf(&c, HOSTKEYS_BEGIN "\nssh-ed25519 junk\n" HOSTKEYS_BEGIN "\n%s\n" HOSTKEYS_END,
	            ed);
	CHECK_INT(hostkeys_parse_console(c.data, c.len, &l, NULL), 0);
	CHECK_INT(l.n, 1);
	hostkey_list_free(&l);
	/* Only an END, only a BEGIN, a marker in another case or with a prefix. */
	CHECK_INT(hostkeys_parse_console(HOSTKEYS_END "\n", strlen(HOSTKEYS_END) + 1, &l, &e),
	          ERR_NOT_FOUND);
	CHECK(strstr(e.message, "no complete") != NULL);
	buf_reset(&c);
	buf_appendf(&c, HOSTKEYS_BEGIN "\n%s\n", ed);
	CHECK_INT(hostkeys_parse_console(c.data, c.len, &l, NULL), ERR_NOT_FOUND);
	buf_reset(&c);
	buf_appendf(&c, "-----begin ssh host key keys-----\n%s\n" HOSTKEYS_END "\n", ed);
	CHECK_INT(hostkeys_parse_console(c.data, c.len, &l, NULL), ERR_NOT_FOUND);
	buf_reset(&c);
	buf_appendf(&c, "ec2: " HOSTKEYS_BEGIN "\n%s\nec2: " HOSTKEYS_END "\n", ed);
	CHECK_INT(hostkeys_parse_console(c.data, c.len, &l, NULL), ERR_NOT_FOUND);
	CHECK_INT(hostkeys_parse_console(NULL, 10, &l, NULL), ERR_NOT_FOUND);
	CHECK_INT(hostkeys_parse_console("", 0, &l, NULL), ERR_NOT_FOUND);
	CHECK(l.items == NULL && l.n == 0);
	/* The END without a final newline still closes. */
	buf_reset(&c);
	buf_appendf(&c, HOSTKEYS_BEGIN "\r\n%s\r\n" HOSTKEYS_END, ed);
	CHECK_INT(hostkeys_parse_console(c.data, c.len, &l, NULL), 0);
	CHECK_INT(l.n, 1);
	hostkey_list_free(&l);
	buf_free(&c);
	free(ed);
}

TEST_CASE(at_most_max_keys)
{
	char *ed = fixture_key("al2023-first-boot.expected", 1);
	char *copy;
	struct hostkey_list l = {0};
	struct buf c;
	int i;

	CHECK(ed != NULL);
	if (!ed)
		return;
	buf_init(&c, 0);
	buf_appendf(&c, HOSTKEYS_BEGIN "\n");
	/* HOSTKEYS_MAX + 4 different Ed25519 keys: flip bytes of the key part. */
	for (i = 0; i < HOSTKEYS_MAX + 4; i++) {
		copy = strdup(ed);
		copy[strlen(copy) - 5] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i];
		buf_appendf(&c, "%s\n", copy);
		free(copy);
	}
	buf_appendf(&c, HOSTKEYS_END "\n");
	CHECK_INT(hostkeys_parse_console(c.data, c.len, &l, NULL), 0);
	CHECK_INT(l.n, HOSTKEYS_MAX);
	hostkey_list_free(&l);
	buf_free(&c);
	free(ed);
}

TEST_CASE(only_the_tail_is_read)
{
	char *ed = fixture_key("al2023-first-boot.expected", 1);
	struct hostkey_list l = {0};
	struct buf c;
	size_t filler = HOSTKEYS_TEXT_MAX + 100, i;

	CHECK(ed != NULL);
	if (!ed)
		return;
	buf_init(&c, 8u << 20);
	/* A block before the last HOSTKEYS_TEXT_MAX bytes is not seen. */
	buf_appendf(&c, HOSTKEYS_BEGIN "\n%s\n" HOSTKEYS_END "\n", ed);
	for (i = 0; i < filler / 64; i++)
		buf_appendf(&c, "[   %08zu.000000] kernel: something happened, again and again\n",
		            i);
	CHECK_INT(hostkeys_parse_console(c.data, c.len, &l, NULL), ERR_NOT_FOUND);
	/* One at the end is. */
	buf_appendf(&c, HOSTKEYS_BEGIN "\n%s\n" HOSTKEYS_END "\n", ed);
	CHECK_INT(hostkeys_parse_console(c.data, c.len, &l, NULL), 0);
	CHECK_INT(l.n, 1);
	hostkey_list_free(&l);
	buf_free(&c);
	free(ed);
}

/* ---- the service's answer ---- */

TEST_CASE(answer_format)
{
	char *ed = fixture_key("ubuntu-rsa-crcrlf.expected", 1);
	char *ec = fixture_key("ubuntu-rsa-crcrlf.expected", 0);
	struct hostkey_list l = {0};
	struct buf a;
	struct err e;
	int i;

	CHECK(ed && ec);
	if (!ed || !ec)
		goto out;
	buf_init(&a, 0);
	buf_appendf(&a, "%s\n%s\n", ec, ed);
	CHECK_INT(hostkeys_parse_answer(a.data, a.len, &l, NULL), 0);
	CHECK_INT(l.n, 2);
	if (l.n == 2) {
		CHECK_STR(l.items[0].type, "ecdsa-sha2-nistp256");
		CHECK_STR(l.items[1].key, strchr(ed, ' ') + 1);
	}
	hostkey_list_free(&l);
	/* Every other shape is refused as a whole. */
	CHECK_INT(hostkeys_parse_answer(a.data, a.len - 1, &l, &e), ERR_PARSE);
	CHECK(strstr(e.message, "newline") != NULL);
	CHECK_INT(hostkeys_parse_answer("", 0, &l, NULL), ERR_PARSE);
	CHECK_INT(hostkeys_parse_answer("\n", 1, &l, NULL), ERR_PARSE);
	buf_reset(&a);
	buf_appendf(&a, "%s\r\n", ed);
	CHECK_INT(hostkeys_parse_answer(a.data, a.len, &l, NULL), ERR_PARSE);
	buf_reset(&a);
	buf_appendf(&a, "%s comment\n", ed);
	CHECK_INT(hostkeys_parse_answer(a.data, a.len, &l, NULL), ERR_PARSE);
	buf_reset(&a);
	buf_appendf(&a, "%s\n\n%s\n", ed, ec);
	CHECK_INT(hostkeys_parse_answer(a.data, a.len, &l, &e), ERR_PARSE);
	CHECK(strstr(e.message, "line 2") != NULL);
	buf_reset(&a);
	buf_appendf(&a, "%s\n%s\n", ed, ed);
	CHECK_INT(hostkeys_parse_answer(a.data, a.len, &l, NULL), ERR_PARSE);
	buf_reset(&a);
	buf_appendf(&a, "{\"message\": \"x\"}\n");
	CHECK_INT(hostkeys_parse_answer(a.data, a.len, &l, NULL), ERR_PARSE);
	buf_reset(&a);
	for (i = 0; i < HOSTKEYS_MAX + 1; i++) {
		char *copy = strdup(ed);
		copy[strlen(copy) - 5] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i];
		buf_appendf(&a, "%s\n", copy);
		free(copy);
	}
	CHECK_INT(hostkeys_parse_answer(a.data, a.len, &l, NULL), ERR_PARSE);
	CHECK(l.items == NULL && l.n == 0);
	buf_free(&a);
out:
	free(ed);
	free(ec);
}

int main(void)
{
	static const char *const fixtures[] = {
	    "al2023-first-boot", "ubuntu-rsa-crcrlf",   "reboot-new-keys",
	    "booting-no-block",  "cut-in-second-block", "lf-only",
	};
	size_t i;
	char label[128];

	RUN(b64_strict_table);
	RUN(b64_skip_space_and_bounds);
	RUN(keys_of_every_type);
	RUN(key_blobs_checked);
	RUN(rsa_rules);
	RUN(line_forms);
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		snprintf(label, sizeof(label), "console_fixture_%s", fixtures[i]);
		RUN_NAMED(label, check_fixture(fixtures[i]));
	}
	RUN(hostile_block);
	RUN(empty_and_odd_blocks);
	RUN(at_most_max_keys);
	RUN(only_the_tail_is_read);
	RUN(answer_format);
	return TEST_DONE();
}
