/* xml: expat set up safely, elements tracked by kind, text gathered with a cap; see xml.h. */
#include "xml.h"

#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

void xml_collect(struct xml *x, size_t max, int on_overflow)
{
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

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct xml *x = ud;
	const char *local = local_name(name);
	int kind;

	(void)atts;
	if (x->rc)
		return;
	x->depth++;
	if (x->skip_from)
		return;
	if (x->text_at || x->depth > XML_DEPTH_MAX) {
		x->skip_from = x->depth;
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
		x->skip_from = x->depth;
		x->text_at = 0;
		return;
	}
	x->kinds[x->depth] = kind;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct xml *x = ud;
	size_t n = len > 0 ? (size_t)len : 0;

	if (x->rc || !n || !x->text_at || x->depth != x->text_at)
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
	if (x->skip_from) {
		if (x->depth == x->skip_from)
			x->skip_from = 0;
		x->depth--;
		return;
	}
	if (x->text_at == x->depth)
		x->text_at = 0;
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

int xml_parse(const char *bytes, size_t len, const struct xml_reader *r, void *ctx, struct err *e)
{
	struct xml x;
	enum XML_Error xerr;

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
	XML_SetUserData(x.xp, &x);
	XML_SetElementHandler(x.xp, on_start, on_end);
	XML_SetCharacterDataHandler(x.xp, on_text);
	XML_SetStartDoctypeDeclHandler(x.xp, on_doctype);
	XML_SetEntityDeclHandler(x.xp, on_entity_decl);
	XML_SetParamEntityParsing(x.xp, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_Parse(x.xp, bytes ? bytes : "", (int)len, XML_TRUE) != XML_STATUS_OK && !x.rc) {
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
	return x.rc;
}
