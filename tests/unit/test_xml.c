/*
 * Unit tests of aws/xml: what a reader sees (kinds, depths, names without
 * prefixes, gathered text), skipped subtrees, the named root, the hostile
 * documents (billion laughs, external entities and DTDs, DOCTYPE, deep
 * nesting), the text cap in its three modes, handler failures, and every
 * prefix of a small document refused as truncated.
 */
#include "test.h"

#include <limits.h>

#include "aws/xml.h"
#include "util/buf.h"

/*
 * A recording reader: every element gets kind XML_FIRST_KIND + depth, but
 * "skip*" (ignored), and "t*" gathers text with the cap and mode below;
 * "fail" fails the parse in start, "endfail" in end. The log reads
 * "<name parent depth>" on start and "</kind:text>" on end.
 */
struct rec {
	struct buf log;
	size_t text_max;
	int on_overflow;
	char *taken; /* the last text taken with buf_take */
	int after_fail;
	int failed;
};

static int rec_start(struct xml *x, void *ctx, int parent, size_t depth, const char *name)
{
	struct rec *r = ctx;

	if (r->failed)
		r->after_fail = 1;
	buf_appendf(&r->log, "<%s %d %zu>", name, parent, depth);
	if (strncmp(name, "skip", 4) == 0)
		return XML_IGNORE;
	if (strcmp(name, "fail") == 0) {
		r->failed = 1;
		xml_fail(x, ERR_INVALID, "failed at depth %zu", depth);
		xml_fail(x, ERR_NOMEM, "a second failure");
	}
	if (name[0] == 't')
		xml_collect(x, r->text_max, r->on_overflow);
	return XML_FIRST_KIND + (int)depth;
}

static void rec_end(struct xml *x, void *ctx, int kind, struct buf *text)
{
	struct rec *r = ctx;

	if (r->failed)
		r->after_fail = 1;
	buf_appendf(&r->log, "</%d:%s>", kind, buf_str(text));
	if (kind == XML_FIRST_KIND + 2 && text->len) {
		free(r->taken);
		r->taken = buf_take(text);
	}
	if (kind == XML_FIRST_KIND + 3 && strcmp(buf_str(text), "endfail") == 0) {
		r->failed = 1;
		xml_fail(x, ERR_PARSE, "end failed");
	}
}

static const char *const cut_names[] = {"skipA", "skipB", NULL};
static const struct xml_reader any_root = {"test doc", NULL, rec_start, rec_end, NULL};
static const struct xml_reader named_root = {"test doc", "Resp", rec_start, rec_end, NULL};
static const struct xml_reader cutting = {"test doc", NULL, rec_start, rec_end, cut_names};

static void rec_init(struct rec *r, size_t text_max, int on_overflow)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->log, 0);
	r->text_max = text_max;
	r->on_overflow = on_overflow;
}

static void rec_free(struct rec *r)
{
	buf_free(&r->log);
	free(r->taken);
}

/* Parses s with reader; the log, or "rc=N: message" on failure. */
static const char *run(const struct xml_reader *reader, const char *s, size_t text_max,
                       int on_overflow)
{
	static char out[4096];
	struct rec r;
	struct err e;
	int rc;

	rec_init(&r, text_max, on_overflow);
	rc = xml_parse(s, strlen(s), reader, &r, &e);
	if (rc)
		snprintf(out, sizeof(out), "rc=%d: %s", rc, e.message);
	else
		snprintf(out, sizeof(out), "%s", buf_str(&r.log));
	if (r.after_fail) {
		printf("# a handler ran after a failure: %s\n", buf_str(&r.log));
		test_failed_case = 1;
	}
	rec_free(&r);
	return out;
}

TEST_CASE(kinds_depths_and_text)
{
	CHECK_STR(run(&any_root, "<a><b><tx>hi</tx></b><tx/></a>", 64, ERR_PARSE),
	          "<a 1 1><b 4 2><tx 5 3></6:hi></5:><tx 4 2></5:></4:>");
	/* prefixes go, entities and character references decode, CDATA counts */
	CHECK_STR(run(&any_root,
	              "<p:a xmlns:p=\"urn:x\"><p:tx>a&amp;b&#65;&lt;<![CDATA[<c>]]></p:tx></p:a>",
	              64, ERR_PARSE),
	          "<a 1 1><tx 4 2></5:a&bA<<c>></4:>");
	/* a gathering element's own text, not its children's; its children are skipped */
	CHECK_STR(run(&any_root, "<a><tx>one<b>two<tx>x</tx></b>three</tx></a>", 64, ERR_PARSE),
	          "<a 1 1><tx 4 2></5:onethree></4:>");
	/* an ignored element and all it holds are skipped */
	CHECK_STR(run(&any_root, "<a><skip><b><tx>no</tx></b></skip><b/></a>", 64, ERR_PARSE),
	          "<a 1 1><skip 4 2><b 4 2></5:></4:>");
	/* text outside gathering elements is dropped */
	CHECK_STR(run(&any_root, "<a>x<b>y</b>z</a>", 64, ERR_PARSE), "<a 1 1><b 4 2></5:></4:>");
}

TEST_CASE(skipped_contents_are_cut)
{
	const char *bad = "<a><skipA><b></c></skipA><tx>yes</tx></a>";

	/* the reader sees the same elements, cut or not */
	CHECK_STR(run(&cutting, "<a><skipA><b><tx>no</tx></b></skipA><tx>yes</tx><skipB/></a>", 64,
	              ERR_PARSE),
	          "<a 1 1><skipA 4 2><tx 4 2></5:yes><skipB 4 2></4:>");
	/* what is cut, expat never reads: a broken inside is not seen... */
	CHECK_STR(run(&cutting, bad, 64, ERR_PARSE), "<a 1 1><skipA 4 2><tx 4 2></5:yes></4:>");
	CHECK_STR(run(&cutting, "<?xml version=\"1.0\"?>\n<a><skipA>\n<b></c></skipA></a>", 64,
	              ERR_PARSE),
	          "<a 1 1><skipA 4 2></4:>");
	/* ...which the whole parse fails */
	CHECK(strncmp(run(&any_root, bad, 64, ERR_PARSE), "rc=-8: test doc: malformed XML", 30) ==
	      0);
	/* nothing is cut beside a comment, CDATA, a PI, a DOCTYPE, an attribute,
	 * a nested element of the same name */
	CHECK(strncmp(run(&cutting, "<!--x--><a><skipA><b></c></skipA></a>", 64, ERR_PARSE),
	              "rc=-8: test doc: malformed XML", 30) == 0);
	CHECK(strncmp(run(&cutting, "<a><tx><![CDATA[x]]></tx><skipA><b></c></skipA></a>", 64,
	                  ERR_PARSE),
	              "rc=-8: test doc: malformed XML", 30) == 0);
	CHECK(strncmp(run(&cutting, "<a><skipA><b></c></skipA><?pi x?></a>", 64, ERR_PARSE),
	              "rc=-8: test doc: malformed XML", 30) == 0);
	CHECK(strncmp(
	          run(&cutting, "<?xml-stylesheet x?><a><skipA><b></c></skipA></a>", 64, ERR_PARSE),
	          "rc=-8: test doc: malformed XML", 30) == 0);
	CHECK(strncmp(run(&cutting, "<a><skipA x=\"1\"><b></c></skipA></a>", 64, ERR_PARSE),
	              "rc=-8: test doc: malformed XML", 30) == 0);
	CHECK(strncmp(run(&cutting, "<a><skipA><skipA/></c></skipA></a>", 64, ERR_PARSE),
	              "rc=-8: test doc: malformed XML", 30) == 0);
	/* a cut element that never ends is a truncated document */
	CHECK(strncmp(run(&cutting, "<a><skipA><b>", 64, ERR_PARSE),
	              "rc=-8: test doc: malformed XML", 30) == 0);
	CHECK(strncmp(run(&cutting, "<a><skipA></skipA", 64, ERR_PARSE),
	              "rc=-8: test doc: malformed XML", 30) == 0);
	/* a prefixed or differently named element is not cut */
	CHECK(
	    strncmp(run(&cutting, "<a><p:skipA xmlns:p=\"u\"><b></c></p:skipA></a>", 64, ERR_PARSE),
	            "rc=-8: test doc: malformed XML", 30) == 0);
	CHECK(strncmp(run(&cutting, "<a><skipAB><b></c></skipAB></a>", 64, ERR_PARSE),
	              "rc=-8: test doc: malformed XML", 30) == 0);
}

TEST_CASE(text_can_be_taken)
{
	struct rec r;
	const char *doc = "<a><tx>mine</tx></a>";

	rec_init(&r, 64, ERR_PARSE);
	CHECK_INT(xml_parse(doc, strlen(doc), &any_root, &r, NULL), 0);
	CHECK_STR(r.taken, "mine");
	CHECK_STR(buf_str(&r.log), "<a 1 1><tx 4 2></5:mine></4:>");
	rec_free(&r);
}

TEST_CASE(the_named_root)
{
	CHECK_STR(run(&named_root, "<Resp><b/></Resp>", 64, ERR_PARSE), "<b 2 2></5:></2:>");
	CHECK_STR(run(&named_root, "<ns:Resp xmlns:ns=\"urn:x\"/>", 64, ERR_PARSE), "</2:>");
	CHECK_STR(run(&named_root, "<Other><b/></Other>", 64, ERR_PARSE),
	          "rc=-8: test doc: a <Other> where a Resp was expected");
	CHECK_STR(run(&named_root, "<R\xc3\xa9sp/>", 64, ERR_PARSE),
	          "rc=-8: test doc: a <R??sp> where a Resp was expected");
	CHECK_STR(run(&named_root, "<Resp/><Resp/>", 64, ERR_PARSE),
	          "rc=-8: test doc: malformed XML at line 1: junk after document element");
}

TEST_CASE(hostile_documents)
{
	static const char *const bad[] = {
	    /* billion laughs */
	    "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
	    "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
	    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
	    "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">]>"
	    "<a><tx>&lol4;</tx></a>",
	    /* external entity */
	    "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a><tx>&x;</tx></a>",
	    /* external parameter entity */
	    "<!DOCTYPE a [<!ENTITY % p SYSTEM \"http://127.0.0.1:1/x.dtd\"> %p;]><a/>",
	    /* a bare DOCTYPE, an external DTD, a public one */
	    "<!DOCTYPE a><a/>",
	    "<!DOCTYPE a SYSTEM \"http://127.0.0.1:1/x.dtd\"><a/>",
	    "<!DOCTYPE a PUBLIC \"-//x//y\" \"file:///etc/passwd\"><a/>",
	    /* a DOCTYPE after a comment and a processing instruction */
	    "<!-- c --><?pi x?><!DOCTYPE a []><a/>",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *got = run(&any_root, bad[i], 1 << 20, ERR_PARSE);

		if (strcmp(got, "rc=-8: test doc: a DOCTYPE (not allowed)") != 0) {
			printf("# case %zu: %s\n", i, got);
			test_failed_case = 1;
		}
	}
	/* an entity nobody declared, an attribute's too */
	CHECK_STR(run(&any_root, "<a><tx>&foo;</tx></a>", 64, ERR_PARSE),
	          "rc=-8: test doc: malformed XML at line 1: undefined entity");
	CHECK_STR(run(&any_root, "<a b=\"&foo;\"/>", 64, ERR_PARSE),
	          "rc=-8: test doc: malformed XML at line 1: undefined entity");
	/* not UTF-8, a NUL, a character reference to NUL */
	CHECK(strncmp(run(&any_root, "<a>\xff</a>", 64, ERR_PARSE), "rc=-8: ", 7) == 0);
	CHECK(strncmp(run(&any_root, "<a><tx>&#0;</tx></a>", 64, ERR_PARSE), "rc=-8: ", 7) == 0);
	{
		static const char nul[] = "<a>\0</a>";
		struct rec r;

		rec_init(&r, 64, ERR_PARSE);
		CHECK_INT(xml_parse(nul, sizeof(nul) - 1, &any_root, &r, NULL), ERR_PARSE);
		rec_free(&r);
	}
}

/* n nested <d> elements, a <tx> at the bottom. */
static char *nested(size_t n)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < n; i++)
		buf_append_str(&b, "<d>");
	buf_append_str(&b, "<tx>deep</tx>");
	for (i = 0; i < n; i++)
		buf_append_str(&b, "</d>");
	return buf_take(&b);
}

TEST_CASE(deep_nesting_is_bounded)
{
	struct rec r;
	char *doc, want[64];
	size_t n;

	/* kinds are kept XML_DEPTH_MAX deep: the <tx> at that depth is seen... */
	doc = nested(XML_DEPTH_MAX - 1);
	rec_init(&r, 64, ERR_PARSE);
	CHECK_INT(xml_parse(doc, strlen(doc), &any_root, &r, NULL), 0);
	snprintf(want, sizeof(want), "<tx %d %d></%d:deep>", XML_FIRST_KIND + XML_DEPTH_MAX - 1,
	         XML_DEPTH_MAX, XML_FIRST_KIND + XML_DEPTH_MAX);
	CHECK(strstr(buf_str(&r.log), want) != NULL);
	rec_free(&r);
	free(doc);
	/* ...one deeper it is skipped, and so is everything under it */
	for (n = XML_DEPTH_MAX; n <= 100000; n = n * 10) {
		doc = nested(n);
		rec_init(&r, 64, ERR_PARSE);
		CHECK_INT(xml_parse(doc, strlen(doc), &any_root, &r, NULL), 0);
		CHECK(strstr(buf_str(&r.log), "tx") == NULL);
		snprintf(want, sizeof(want), "<d %d %d>", XML_FIRST_KIND + XML_DEPTH_MAX - 1,
		         XML_DEPTH_MAX);
		CHECK(strstr(buf_str(&r.log), want) != NULL);
		snprintf(want, sizeof(want), " %d>", XML_DEPTH_MAX + 1);
		CHECK(strstr(buf_str(&r.log), want) == NULL);
		rec_free(&r);
		/* and the document must still be whole */
		rec_init(&r, 64, ERR_PARSE);
		CHECK_INT(xml_parse(doc, strlen(doc) - 1, &any_root, &r, NULL), ERR_PARSE);
		rec_free(&r);
		free(doc);
	}
}

static char *text_doc(size_t n, const char *piece)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	buf_append_str(&b, "<a><tx>");
	for (i = 0; i < n; i++)
		buf_append_str(&b, piece);
	buf_append_str(&b, "</tx><b/></a>");
	return buf_take(&b);
}

TEST_CASE(text_over_the_cap)
{
	struct rec r;
	struct err e;
	char *doc;

	/* exactly the cap is fine, one byte more fails with the reader's code */
	doc = text_doc(100, "x");
	rec_init(&r, 100, ERR_PARSE);
	CHECK_INT(xml_parse(doc, strlen(doc), &any_root, &r, &e), 0);
	CHECK(r.taken != NULL && strlen(r.taken) == 100);
	rec_free(&r);
	free(doc);
	doc = text_doc(101, "x");
	rec_init(&r, 100, ERR_PARSE);
	CHECK_INT(xml_parse(doc, strlen(doc), &any_root, &r, &e), ERR_PARSE);
	CHECK_STR(e.message, "test doc: a text field longer than 100 bytes");
	CHECK(r.taken == NULL);
	CHECK(strstr(buf_str(&r.log), "</") == NULL); /* no end after the failure */
	rec_free(&r);
	rec_init(&r, 100, ERR_TOO_LARGE);
	CHECK_INT(xml_parse(doc, strlen(doc), &any_root, &r, &e), ERR_TOO_LARGE);
	rec_free(&r);
	/* or cut at the cap, the parse going on */
	rec_init(&r, 10, 0);
	CHECK_INT(xml_parse(doc, strlen(doc), &any_root, &r, &e), 0);
	CHECK_STR(r.taken, "xxxxxxxxxx");
	CHECK(strstr(buf_str(&r.log), "<b 4 2>") != NULL);
	rec_free(&r);
	free(doc);
	/* a cap of 0: any text is too long, or cut to nothing */
	CHECK_STR(run(&any_root, "<a><tx>x</tx><tx/></a>", 0, ERR_PARSE),
	          "rc=-8: test doc: a text field longer than 0 bytes");
	CHECK_STR(run(&any_root, "<a><tx>x</tx><tx/></a>", 0, 0),
	          "<a 1 1><tx 4 2></5:><tx 4 2></5:></4:>");
	/* the cap counts decoded bytes over every piece expat hands over */
	doc = text_doc(40, "&amp;\xc3\xa9");
	rec_init(&r, 120, ERR_PARSE);
	CHECK_INT(xml_parse(doc, strlen(doc), &any_root, &r, &e), 0);
	CHECK(r.taken != NULL && strlen(r.taken) == 120);
	rec_free(&r);
	rec_init(&r, 119, ERR_PARSE);
	CHECK_INT(xml_parse(doc, strlen(doc), &any_root, &r, &e), ERR_PARSE);
	rec_free(&r);
	free(doc);
	/* a long text nobody gathers costs nothing */
	doc = text_doc(200000, "y");
	memcpy(doc + 3, "<u>", 3); /* "<a><u>>yyy...</u>><b/></a>" */
	memcpy(strstr(doc, "</tx>"), "</u>>", 5);
	rec_init(&r, 1, ERR_PARSE);
	CHECK_INT(xml_parse(doc, strlen(doc), &any_root, &r, &e), 0);
	CHECK_STR(buf_str(&r.log), "<a 1 1><u 4 2></5:><b 4 2></5:></4:>");
	rec_free(&r);
	free(doc);
}

TEST_CASE(handler_failures)
{
	/* the first failure wins, with its code; no handler runs after it */
	CHECK_STR(run(&any_root, "<a><b><fail><tx>x</tx></fail></b><c/></a>", 64, ERR_PARSE),
	          "rc=-2: test doc: failed at depth 3");
	CHECK_STR(run(&any_root, "<a><b><tx>endfail</tx><c/></b></a>", 64, ERR_PARSE),
	          "rc=-8: test doc: end failed");
	/* a failure in the root's start; an empty <fail/> */
	CHECK_STR(run(&any_root, "<fail/>", 64, ERR_PARSE), "rc=-2: test doc: failed at depth 1");
}

TEST_CASE(rule_tables)
{
	static const struct xml_rule rules[] = {
	    {"a", XML_DOC, 10},
	    {"item", 10, 11},
	    {"item", 11, 12},
	    {"item", 11, 13},
	};

	CHECK_INT(xml_rule_kind(rules, 4, XML_DOC, "a"), 10);
	CHECK_INT(xml_rule_kind(rules, 4, 10, "item"), 11);
	CHECK_INT(xml_rule_kind(rules, 4, 11, "item"), 12); /* the first rule counts */
	CHECK_INT(xml_rule_kind(rules, 4, 12, "item"), XML_IGNORE);
	CHECK_INT(xml_rule_kind(rules, 4, 10, "Item"), XML_IGNORE);
	CHECK_INT(xml_rule_kind(rules, 0, XML_DOC, "a"), XML_IGNORE);
}

/* Every proper prefix of a document is ERR_PARSE, without a leak of what
 * the handlers built (the sanitizers and valgrind check that). */
TEST_CASE(every_prefix_is_truncated)
{
	static const char doc[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<p:a xmlns:p=\"urn:x\" k='v'><b><tx>one &amp; <![CDATA[two]]> &#x263A;</tx>"
	    "<skip><tx>no</tx></skip><!-- note --><tx/></b>\n<c>t</c></p:a>\n";
	size_t cut, end = strstr(doc, "</p:a>") - doc + strlen("</p:a>");
	struct rec r;
	struct err e;
	int rc;

	for (cut = 0; cut <= sizeof(doc) - 1; cut++) {
		rec_init(&r, 64, ERR_PARSE);
		rc = xml_parse(doc, cut, &any_root, &r, &e);
		if (cut >= end ? rc != 0 : rc != ERR_PARSE || e.code != ERR_PARSE) {
			printf("# cut at %zu: rc %d (%s)\n", cut, rc, e.message);
			test_failed_case = 1;
		}
		rec_free(&r);
	}
	CHECK_STR(run(&any_root, doc, 64, ERR_PARSE),
	          "<a 1 1><b 4 2><tx 5 3></6:one & two \xe2\x98\xba><skip 5 3><tx 5 3></6:></5:>"
	          "<c 4 2></5:></4:>");
}

TEST_CASE(edges)
{
	struct rec r;
	struct err e;

	rec_init(&r, 64, ERR_PARSE);
	CHECK_INT(xml_parse(NULL, 0, &any_root, &r, &e), ERR_PARSE);
	CHECK(strstr(e.message, "test doc: malformed XML") != NULL);
	CHECK_INT(xml_parse("<a/>", (size_t)INT_MAX + 1, &any_root, &r, &e), ERR_TOO_LARGE);
	CHECK_INT(xml_parse("  <a/>  ", 8, &any_root, &r, NULL), 0);
	rec_free(&r);
}

int main(void)
{
	RUN(kinds_depths_and_text);
	RUN(text_can_be_taken);
	RUN(the_named_root);
	RUN(hostile_documents);
	RUN(deep_nesting_is_bounded);
	RUN(text_over_the_cap);
	RUN(handler_failures);
	RUN(rule_tables);
	RUN(every_prefix_is_truncated);
	RUN(edges);
	RUN(skipped_contents_are_cut);
	return TEST_DONE();
}
