/* xml: expat set up safely, elements tracked by kind, text gathered with a cap; see xml.h. */
#include "xml.h"

#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vec.h"

struct xml {
	XML_Parser xp;
	const struct xml_reader *r;
	void *ctx;
	struct err *e;
	int rc;                       /* the first failure; the parser is stopped */
	size_t depth;                 /* open elements */
	size_t skip_from;             /* depth of the outermost skipped open element; 0: none */
	size_t text_at;               /* depth of the element gathering text; 0: none */
	size_t text_max;              /* its cap */
	int text_overflow;            /* past the cap: this error, or 0 to cut */
	struct buf text;              /* its text so far */
	int kinds[XML_DEPTH_MAX + 1]; /* kinds[d]: the kind of the open element at depth d */
};

int xml_rule_kind(const struct xml_rule *rules, size_t n, int parent, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rules[i].parent == parent && strcmp(rules[i].name, name) == 0)
			return rules[i].kind;
	return XML_IGNORE;
}

void xml_fail(struct xml *x, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (x->rc)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->rc = err_set(x->e, code < 0 ? code : ERR_INTERNAL, "%s: %s", x->r->what, msg);
	XML_StopParser(x->xp, XML_FALSE);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len);

void xml_collect(struct xml *x, size_t max, int on_overflow)
{
	XML_SetCharacterDataHandler(x->xp, on_text);
	buf_free(&x->text);
	buf_init(&x->text, max);
	x->text_at = x->depth;
	x->text_max = max;
	x->text_overflow = on_overflow;
}

/* "ec2:instanceId" -> "instanceId": prefixed names without namespace processing. */
static const char *local_name(const char *name)
{
	const char *colon = strrchr(name, ':');

	return colon ? colon + 1 : name;
}

/* Element names are echoed in messages only as plain ASCII. */
static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '_' || c == '-' || c == '.';
}

static void fail_root(struct xml *x, const char *name)
{
	char shown[48];
	size_t i;

	for (i = 0; i < sizeof(shown) - 1 && name[i]; i++) {
		shown[i] = name[i];
		if (!is_name_char(name[i]))
			shown[i] = '?';
	}
	shown[i] = '\0';
	xml_fail(x, ERR_PARSE, "a <%s> where a %s was expected", shown, x->r->root);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts);
static void XMLCALL on_end(void *ud, const XML_Char *name);

/* Inside a skipped element: depth only, until it closes. */
static void XMLCALL skip_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct xml *x = ud;

	(void)name;
	(void)atts;
	x->depth++;
}

static void XMLCALL skip_end(void *ud, const XML_Char *name)
{
	struct xml *x = ud;

	(void)name;
	if (x->depth == x->skip_from) {
		x->skip_from = 0;
		XML_SetElementHandler(x->xp, on_start, on_end);
	}
	x->depth--;
}

static void start_skip(struct xml *x)
{
	x->skip_from = x->depth;
	XML_SetElementHandler(x->xp, skip_start, skip_end);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct xml *x = ud;
	const char *local = local_name(name);
	int kind;

	(void)atts;
	if (x->rc)
		return;
	x->depth++;
	if (x->text_at || x->depth > XML_DEPTH_MAX) {
		start_skip(x);
		return;
	}
	if (x->depth == 1 && x->r->root) {
		if (strcmp(local, x->r->root) != 0) {
			fail_root(x, name);
			return;
		}
		kind = XML_ROOT;
	} else {
		kind = x->r->start(x, x->ctx, x->depth == 1 ? XML_DOC : x->kinds[x->depth - 1],
		                   x->depth, local);
	}
	if (x->rc)
		return;
	if (kind == XML_IGNORE) {
		x->text_at = 0;
		XML_SetCharacterDataHandler(x->xp, NULL);
		start_skip(x);
		return;
	}
	x->kinds[x->depth] = kind;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct xml *x = ud;
	size_t n = len > 0 ? (size_t)len : 0;

	if (x->rc || !n || x->depth != x->text_at)
		return;
	if (n > x->text_max - x->text.len) {
		if (x->text_overflow) {
			xml_fail(x, x->text_overflow, "a text field longer than %zu bytes",
			         x->text_max);
			return;
		}
		n = x->text_max - x->text.len; /* cut */
	}
	if (n && buf_append(&x->text, s, n) != 0)
		xml_fail(x, ERR_NOMEM, "out of memory");
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct xml *x = ud;

	(void)name;
	if (x->rc)
		return;
	if (x->text_at == x->depth) {
		x->text_at = 0;
		XML_SetCharacterDataHandler(x->xp, NULL);
	}
	if (x->r->end)
		x->r->end(x, x->ctx, x->kinds[x->depth], &x->text);
	buf_free(&x->text);
	x->depth--;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	xml_fail(ud, ERR_PARSE, "a DOCTYPE (not allowed)");
}

/* Unreachable behind on_doctype (entities are declared only in a DOCTYPE);
 * kept so that no later change there can let one through. */
static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	xml_fail(ud, ERR_PARSE, "an entity declaration (not allowed)");
}

/* Bytes [from, to) of the document that expat is not given. */
struct span {
	size_t from, to;
};

#define SKIP_MAX 64 /* names of xml_reader.skip that count; the rest are not cut */

/* Whether "<name" (n bytes) starts at p, followed by a byte in after. */
static int tag_is(const char *p, const char *end, const char *name, size_t n, const char *after)
{
	return (size_t)(end - p) > n + 1 && p[1] == name[0] && memcmp(p + 1, name, n) == 0 &&
	       p[n + 1] && strchr(after, p[n + 1]) != NULL;
}

/*
 * The contents of the plain <name>...</name> elements of skip (see xml.h),
 * in document order; 0 with *n == 0 when the document has "<!" or "<?"
 * (beyond a leading declaration) or none to cut; ERR_NOMEM.
 */
static int find_spans(const char *b, size_t len, const char *const *skip, struct span **out,
                      size_t *n)
{
	const char *end = b + len, *p = b, *q;
	size_t cap = 0, k, nl = 0, lens[SKIP_MAX], n_names;
	unsigned char first[256] = {0};
	struct span *s;
	int hit;

	*out = NULL;
	*n = 0;
	for (n_names = 0; n_names < SKIP_MAX && skip[n_names]; n_names++) {
		lens[n_names] = strlen(skip[n_names]);
		first[(unsigned char)skip[n_names][0]] = 1;
	}
	if (len > 6 && memcmp(b, "<?xml", 5) == 0 && b[5] && strchr(" \t\r\n", b[5])) {
		p = memchr(b, '>', len); /* a declaration has no '>' inside */
		if (!p)
			return 0;
	}
	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL && end - p > 1) {
		if (p[1] == '!' || p[1] == '?')
			goto unsafe;
		hit = 0;
		if (first[(unsigned char)p[1]])
			for (k = 0; k < n_names && !hit; k++)
				hit = tag_is(p, end, skip[k], nl = lens[k], ">");
		p++;
		if (!hit)
			continue;
		k--;
		/* The first </name> is its end when nothing of the same name opens
		 * before it. */
		for (q = p + nl + 1; (q = memchr(q, '<', (size_t)(end - q))) != NULL && end - q > 1;
		     q++) {
			if (q[1] == '!' || q[1] == '?')
				goto unsafe;
			if (q[1] == '/' && tag_is(q + 1, end, skip[k], nl, ">"))
				break;
			if (tag_is(q, end, skip[k], nl, "> \t\r\n/")) {
				q = NULL; /* nested: leave this one to expat */
				break;
			}
		}
		if (!q || end - q <= 1)
			continue;
		s = vec_push(out, n, &cap, sizeof(**out));
		if (!s) {
			free(*out);
			*out = NULL;
			*n = 0;
			return ERR_NOMEM;
		}
		s->from = (size_t)(p + nl + 1 - b);
		s->to = (size_t)(q - b);
		p = q;
	}
	return 0;
unsafe:
	free(*out);
	*out = NULL;
	*n = 0;
	return 0;
}

/* Hands expat the document without spans[0..n), in one buffer of its own. */
static enum XML_Status feed(XML_Parser xp, const char *b, size_t len, const struct span *spans,
                            size_t n)
{
	size_t at = 0, kept = len, i;
	char *to;

	if (!n)
		return XML_Parse(xp, b ? b : "", (int)len, XML_TRUE);
	for (i = 0; i < n; i++)
		kept -= spans[i].to - spans[i].from;
	to = XML_GetBuffer(xp, (int)kept);
	if (!to)
		return XML_STATUS_ERROR;
	for (i = 0; i < n; i++) {
		memcpy(to, b + at, spans[i].from - at);
		to += spans[i].from - at;
		at = spans[i].to;
	}
	memcpy(to, b + at, len - at);
	return XML_ParseBuffer(xp, (int)kept, XML_TRUE);
}

int xml_parse(const char *bytes, size_t len, const struct xml_reader *r, void *ctx, struct err *e)
{
	struct xml x;
	enum XML_Error xerr;
	struct span *spans = NULL;
	size_t n_spans = 0;

	if (len > INT_MAX)
		return err_set(e, ERR_TOO_LARGE, "%s: %zu bytes", r->what, len);
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.ctx = ctx;
	x.e = e;
	buf_init(&x.text, 0);
	x.xp = XML_ParserCreate(NULL);
	if (!x.xp)
		return err_set(e, ERR_NOMEM, "%s: out of memory", r->what);
	if (r->skip && bytes && find_spans(bytes, len, r->skip, &spans, &n_spans) != 0) {
		XML_ParserFree(x.xp);
		return err_set(e, ERR_NOMEM, "%s: out of memory", r->what);
	}
	XML_SetUserData(x.xp, &x);
	XML_SetElementHandler(x.xp, on_start, on_end);
	XML_SetStartDoctypeDeclHandler(x.xp, on_doctype);
	XML_SetEntityDeclHandler(x.xp, on_entity_decl);
	XML_SetParamEntityParsing(x.xp, XML_PARAM_ENTITY_PARSING_NEVER);
	if (feed(x.xp, bytes, len, spans, n_spans) != XML_STATUS_OK && !x.rc) {
		xerr = XML_GetErrorCode(x.xp);
		if (xerr == XML_ERROR_NO_MEMORY)
			x.rc = err_set(e, ERR_NOMEM, "%s: out of memory", r->what);
		else
			x.rc = err_set(e, ERR_PARSE, "%s: malformed XML at line %lu: %s", r->what,
			               (unsigned long)XML_GetCurrentLineNumber(x.xp),
			               XML_ErrorString(xerr));
	}
	XML_ParserFree(x.xp);
	buf_free(&x.text);
	free(spans);
	return x.rc;
}
