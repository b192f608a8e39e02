/*
 * xml: the one way ebssh reads an XML answer from AWS, over expat.
 *
 * Hostile input first: a DOCTYPE or an entity declaration stops the parse
 * (ERR_PARSE), so no entity is ever expanded and no DTD is read; parameter
 * entities are never parsed. Malformed or truncated XML is ERR_PARSE with
 * expat's line and reason. Names lose any "prefix:" (answers are matched
 * without namespace processing).
 *
 * A reader gives every open element a "kind", an int of its own: start
 * chooses it from the parent's kind and the element's name, usually from a
 * table of rules. XML_IGNORE skips the element and all it holds; so does
 * any element inside one that gathers text, and any deeper than
 * XML_DEPTH_MAX. An element gathers its own text (not its children's) when
 * start calls xml_collect, up to a cap; end receives it. Character data
 * outside such an element is not even handed to ebssh (no handler is set),
 * and inside a skipped element only its depth is counted.
 *
 * A reader may name elements it never keeps at any depth (xml_reader.skip).
 * When the document holds no comment, CDATA section, processing instruction
 * or DOCTYPE (nothing starting "<!" or "<?" beyond the XML declaration), the
 * content of every such element written plainly as <name>...</name> (no
 * attributes, no prefix, no element of the same name inside) is cut out
 * before expat reads the document: expat sees <name></name>, so it neither
 * tokenizes nor checks what the reader would ignore anyway. Otherwise the
 * whole document is parsed. Either way the reader sees the same elements.
 * Line numbers in messages then count only the lines expat read.
 */
#ifndef EBSSH_AWS_XML_H
#define EBSSH_AWS_XML_H

#include <stddef.h>

#include "../util/buf.h"
#include "../util/err.h"

#define XML_IGNORE     0  /* skip this element and everything in it */
#define XML_DOC        1  /* the parent kind of the root element */
#define XML_ROOT       2  /* the root's kind when the reader names it (xml_reader.root) */
#define XML_FIRST_KIND 3  /* a reader's own kinds start here */
#define XML_DEPTH_MAX  16 /* open elements whose kinds are kept; deeper ones are skipped */

struct xml;

struct xml_reader {
	const char *what; /* the document, at the head of every message: "DescribeImages answer" */
	const char *root; /* the root element's name, or NULL to let start judge it */
	/*
	 * Element name opens at depth (the root is 1) inside an element of kind
	 * parent (XML_DOC for the root, XML_ROOT under a named root). Returns
	 * the new element's kind. When root is set, a root of another name
	 * fails the parse ("a <Name> where a Root was expected") and start is
	 * not called for it.
	 */
	int (*start)(struct xml *x, void *ctx, int parent, size_t depth, const char *name);
	/* An element of a kind other than XML_IGNORE closes. text holds what
	 * xml_collect gathered ("" when nothing); end may buf_take it. NULL: none. */
	void (*end)(struct xml *x, void *ctx, int kind, struct buf *text);
	/* NULL, or a NULL-terminated list of element names whose content start
	 * never keeps wherever they appear (see above). */
	const char *const *skip;
};

/* A rule of a reader's table: an element name under a parent kind has kind. */
struct xml_rule {
	const char *name;
	int parent;
	int kind;
};

/* The kind of the first rule for (parent, name), or XML_IGNORE. */
int xml_rule_kind(const struct xml_rule *rules, size_t n, int parent, const char *name);

/*
 * From start: the opening element gathers its text, at most max bytes.
 * Past max the parse fails with on_overflow (ERR_PARSE, ERR_TOO_LARGE) and
 * "a text field longer than <max> bytes", or, when on_overflow is 0, the
 * text is cut at max bytes (possibly inside a UTF-8 character).
 */
void xml_collect(struct xml *x, size_t max, int on_overflow);

/* From a handler: stops the parse, which returns code (< 0) with the message
 * "<what>: <fmt ...>". Only the first failure counts; no handler runs after. */
void xml_fail(struct xml *x, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Parses len bytes (bytes may be NULL when len is 0) with reader r, handing
 * ctx to its handlers. 0 when the whole document is well-formed and no
 * handler failed; else ERR_PARSE, ERR_NOMEM, ERR_TOO_LARGE (len > INT_MAX)
 * or a handler's code, e filled. On failure ctx holds what the handlers
 * built so far: end was not called for the elements still open.
 */
int xml_parse(const char *bytes, size_t len, const struct xml_reader *r, void *ctx, struct err *e);

#endif
