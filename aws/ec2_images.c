/* ec2_images: AMI and snapshot calls over the Query API, answers parsed by expat; see ec2_images.h.
 */
#include "ec2_images.h"

#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "client.h"
#include "uri.h"

#define EC2_API_VERSION "2016-11-15"
#define EC2_MAX_RESULTS "1000"
#define EC2_MAX_PAGES   1000 /* a nextToken that never ends stops here */
#define EC2_MAX_FIELD   4096 /* bytes of one text field; more is ERR_PARSE */
#define EC2_STACK       16   /* open elements whose kind is kept; deeper is ignored */

/*
 * Where the parser stands: every open element has a kind, found from its
 * parent's kind and its name in the answer's rule table; anything else
 * (and all under it) is N_IGNORE. Kinds from N_FIRST_FIELD on collect text.
 */
enum node {
	N_IGNORE,
	N_DOC,
	N_RESPONSE,
	N_IMAGES,
	N_IMAGE,
	N_BDM,
	N_BD,
	N_EBS,
	N_SNAPS,
	N_SNAP,
	N_TAG_SET,
	N_TAG,
	N_FIRST_FIELD,
	N_NEXT_TOKEN = N_FIRST_FIELD,
	N_RETURN,
	N_NEW_IMAGE_ID,
	N_IMG_ID,
	N_IMG_NAME,
	N_IMG_STATE,
	N_IMG_CREATED,
	N_IMG_OWNER,
	N_IMG_DESC,
	N_DEV_NAME,
	N_DEV_SNAP,
	N_SNAP_ID,
	N_SNAP_VOLUME,
	N_SNAP_STATE,
	N_SNAP_START,
	N_SNAP_PROGRESS,
	N_SNAP_OWNER,
	N_SNAP_DESC,
	N_SNAP_SIZE,
	N_TAG_KEY,
	N_TAG_VALUE
};

struct rule {
	const char *name;
	enum node parent;
	enum node kind;
};

static const struct rule image_rules[] = {
    {"imagesSet", N_RESPONSE, N_IMAGES},
    {"nextToken", N_RESPONSE, N_NEXT_TOKEN},
    {"item", N_IMAGES, N_IMAGE},
    {"imageId", N_IMAGE, N_IMG_ID},
    {"name", N_IMAGE, N_IMG_NAME},
    {"imageState", N_IMAGE, N_IMG_STATE},
    {"creationDate", N_IMAGE, N_IMG_CREATED},
    {"imageOwnerId", N_IMAGE, N_IMG_OWNER},
    {"description", N_IMAGE, N_IMG_DESC},
    {"tagSet", N_IMAGE, N_TAG_SET},
    {"blockDeviceMapping", N_IMAGE, N_BDM},
    {"item", N_BDM, N_BD},
    {"deviceName", N_BD, N_DEV_NAME},
    {"ebs", N_BD, N_EBS},
    {"snapshotId", N_EBS, N_DEV_SNAP},
    {"item", N_TAG_SET, N_TAG},
    {"key", N_TAG, N_TAG_KEY},
    {"value", N_TAG, N_TAG_VALUE},
};

static const struct rule snapshot_rules[] = {
    {"snapshotSet", N_RESPONSE, N_SNAPS},
    {"nextToken", N_RESPONSE, N_NEXT_TOKEN},
    {"item", N_SNAPS, N_SNAP},
    {"snapshotId", N_SNAP, N_SNAP_ID},
    {"volumeId", N_SNAP, N_SNAP_VOLUME},
    {"status", N_SNAP, N_SNAP_STATE},
    {"startTime", N_SNAP, N_SNAP_START},
    {"progress", N_SNAP, N_SNAP_PROGRESS},
    {"ownerId", N_SNAP, N_SNAP_OWNER},
    {"description", N_SNAP, N_SNAP_DESC},
    {"volumeSize", N_SNAP, N_SNAP_SIZE},
    {"tagSet", N_SNAP, N_TAG_SET},
    {"item", N_TAG_SET, N_TAG},
    {"key", N_TAG, N_TAG_KEY},
    {"value", N_TAG, N_TAG_VALUE},
};

static const struct rule create_rules[] = {
    {"imageId", N_RESPONSE, N_NEW_IMAGE_ID},
};

static const struct rule return_rules[] = {
    {"return", N_RESPONSE, N_RETURN},
};

struct parse {
	XML_Parser xp;
	struct err *e;
	const char *action; /* "DescribeImages": messages, and the root element's name */
	const char *root;   /* "DescribeImagesResponse" */
	const struct rule *rules;
	size_t n_rules;
	int rc;
	size_t depth;
	unsigned char kinds[EC2_STACK];
	struct buf text;
	struct ec2_image_list images;
	size_t images_cap;
	struct ec2_snapshot_list snaps;
	size_t snaps_cap;
	struct ec2_tag **tags; /* the open item's tag array */
	size_t *n_tags;
	size_t tags_cap;
	size_t devs_cap;
	char *next_token;
	char *image_id; /* CreateImage */
	int saw_root;
};

/* ---- lists and helpers ---- */

static void free_tags(struct ec2_tag *tags, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(tags[i].key);
		free(tags[i].value);
	}
	free(tags);
}

static void free_image(struct ec2_image *im)
{
	size_t i;

	free(im->image_id);
	free(im->name);
	free(im->state);
	free(im->creation_date);
	free(im->owner_id);
	free(im->description);
	free_tags(im->tags, im->n_tags);
	for (i = 0; i < im->n_devices; i++) {
		free(im->devices[i].device_name);
		free(im->devices[i].snapshot_id);
	}
	free(im->devices);
}

static void free_snapshot(struct ec2_snapshot *s)
{
	free(s->snapshot_id);
	free(s->volume_id);
	free(s->state);
	free(s->start_time);
	free(s->progress);
	free(s->owner_id);
	free(s->description);
	free_tags(s->tags, s->n_tags);
}

void ec2_image_list_free(struct ec2_image_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->n; i++)
		free_image(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

void ec2_snapshot_list_free(struct ec2_snapshot_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->n; i++)
		free_snapshot(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

const char *ec2_tags_find(const struct ec2_tag *tags, size_t n, const char *key)
{
	size_t i;

	if (!key)
		return NULL;
	for (i = 0; i < n; i++)
		if (tags[i].key && strcmp(tags[i].key, key) == 0)
			return tags[i].value;
	return NULL;
}

/* Appends n items of size sz from *src to *dst (both arrays of n_dst, n_src
 * items); on success *src is freed and emptied. */
static int move_items(void **dst, size_t *n_dst, void **src, size_t *n_src, size_t sz)
{
	char *p;

	if (!*n_src) {
		free(*src);
		*src = NULL;
		return 0;
	}
	if (*n_src > SIZE_MAX / sz - *n_dst)
		return ERR_NOMEM;
	p = realloc(*dst, (*n_dst + *n_src) * sz);
	if (!p)
		return ERR_NOMEM;
	memcpy(p + *n_dst * sz, *src, *n_src * sz);
	*dst = p;
	*n_dst += *n_src;
	free(*src);
	*src = NULL;
	*n_src = 0;
	return 0;
}

/* Grows *arr (of *n items, room for *cap) by one zeroed item. */
static void *grow(void **arr, size_t *n, size_t *cap, size_t sz, size_t first)
{
	char *p;
	size_t c;

	if (*n == *cap) {
		c = *cap ? *cap * 2 : first;
		if (c > SIZE_MAX / sz)
			return NULL;
		p = realloc(*arr, c * sz);
		if (!p)
			return NULL;
		*arr = p;
		*cap = c;
	}
	p = (char *)*arr + (*n)++ * sz;
	memset(p, 0, sz);
	return p;
}

/* A decimal of at most 18 digits, or -1. */
static int64_t parse_size(const char *s)
{
	int64_t v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* ---- AMI names ---- */

static int ami_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("()[] ./-'@_", c) != NULL;
}

int ec2_ami_name(char *out, size_t cap, const char *base, const char *suffix, struct err *e)
{
	size_t n = 0, slen, room, i;
	const unsigned char *p;

	if (!out || cap <= EC2_AMI_NAME_MAX || !base || !suffix)
		return err_set(e, ERR_INVALID, "AMI name: no buffer or no parts");
	slen = strlen(suffix);
	if (slen >= EC2_AMI_NAME_MAX - 2)
		return err_set(e, ERR_INVALID, "AMI name: a suffix of %zu bytes", slen);
	for (i = 0; i < slen; i++)
		if (!ami_char((unsigned char)suffix[i]))
			return err_set(e, ERR_INVALID,
			               "AMI name: the suffix has a character "
			               "AMI names do not allow");
	room = EC2_AMI_NAME_MAX - slen;
	for (p = (const unsigned char *)base; *p && n < room; p++) {
		if (ami_char(*p)) {
			out[n++] = (char)*p;
			continue;
		}
		out[n++] = '_';
		if (*p >= 0xc0) /* a UTF-8 lead byte: its continuation bytes go with it */
			while ((p[1] & 0xc0) == 0x80)
				p++;
	}
	memcpy(out + n, suffix, slen);
	n += slen;
	while (n < EC2_AMI_NAME_MIN)
		out[n++] = '_';
	out[n] = '\0';
	return 0;
}

/* ---- the parser ---- */

static void fail(struct parse *ps, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct parse *ps, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (ps->rc)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps->rc = err_set(ps->e, code, "%s answer: %s", ps->action, msg);
	XML_StopParser(ps->xp, XML_FALSE);
}

static enum node kind_at(const struct parse *ps, size_t depth)
{
	if (depth == 0)
		return N_DOC;
	return depth < EC2_STACK ? (enum node)ps->kinds[depth] : N_IGNORE;
}

static const char *local_name(const char *name)
{
	const char *colon = strrchr(name, ':');

	return colon ? colon + 1 : name;
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '_' || c == '-' || c == '.';
}

static struct ec2_image *cur_image(struct parse *ps)
{
	return &ps->images.items[ps->images.n - 1];
}

static struct ec2_snapshot *cur_snap(struct parse *ps)
{
	return &ps->snaps.items[ps->snaps.n - 1];
}

/* Opens an item of a list kind; 0 or ERR_NOMEM. */
static int open_item(struct parse *ps, enum node kind)
{
	struct ec2_image *im;
	struct ec2_snapshot *sn;
	struct ec2_tag *tag;
	struct ec2_block_device *bd;

	switch (kind) {
	case N_IMAGE:
		im = grow((void **)&ps->images.items, &ps->images.n, &ps->images_cap, sizeof(*im),
		          8);
		if (!im)
			return ERR_NOMEM;
		ps->tags = &im->tags;
		ps->n_tags = &im->n_tags;
		ps->tags_cap = 0;
		ps->devs_cap = 0;
		return 0;
	case N_SNAP:
		sn = grow((void **)&ps->snaps.items, &ps->snaps.n, &ps->snaps_cap, sizeof(*sn), 8);
		if (!sn)
			return ERR_NOMEM;
		sn->volume_size = -1;
		ps->tags = &sn->tags;
		ps->n_tags = &sn->n_tags;
		ps->tags_cap = 0;
		return 0;
	case N_TAG:
		tag = grow((void **)ps->tags, ps->n_tags, &ps->tags_cap, sizeof(*tag), 4);
		return tag ? 0 : ERR_NOMEM;
	case N_BD:
		im = cur_image(ps);
		bd = grow((void **)&im->devices, &im->n_devices, &ps->devs_cap, sizeof(*bd), 4);
		return bd ? 0 : ERR_NOMEM;
	default:
		return 0;
	}
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct parse *ps = ud;
	enum node parent = kind_at(ps, ps->depth), kind = N_IGNORE;
	const char *local = local_name(name);
	size_t i;
	int rc = 0;

	(void)atts;
	if (ps->rc)
		return;
	if (parent == N_DOC) {
		if (strcmp(local, ps->root) != 0) {
			char shown[48];

			for (i = 0; i < sizeof(shown) - 1 && name[i]; i++)
				shown[i] = name[i];
			if (!is_name_char(name[i]))
				shown[i] = '?';
			shown[i] = '\0';
			fail(ps, ERR_PARSE, "a <%s> where a %s was expected", shown, ps->root);
			return;
		}
		kind = N_RESPONSE;
		ps->saw_root = 1;
	} else if (parent != N_IGNORE && parent < N_FIRST_FIELD) {
		for (i = 0; i < ps->n_rules; i++) {
			if (ps->rules[i].parent == parent &&
			    strcmp(ps->rules[i].name, local) == 0) {
				kind = ps->rules[i].kind;
				break;
			}
		}
	}
	ps->depth++;
	if (ps->depth < EC2_STACK)
		ps->kinds[ps->depth] = (unsigned char)kind;
	else
		kind = N_IGNORE;
	if (kind >= N_FIRST_FIELD)
		rc = buf_append(&ps->text, "", 0);
	else
		rc = open_item(ps, kind);
	if (rc)
		fail(ps, rc, "out of memory");
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct parse *ps = ud;
	int rc;

	if (ps->rc || kind_at(ps, ps->depth) < N_FIRST_FIELD || len <= 0)
		return;
	rc = buf_append(&ps->text, s, (size_t)len);
	if (rc == ERR_TOO_LARGE)
		fail(ps, ERR_PARSE, "a text field longer than %d bytes", EC2_MAX_FIELD);
	else if (rc)
		fail(ps, rc, "out of memory");
}

static char **image_slot(struct parse *ps, enum node kind)
{
	struct ec2_image *im = cur_image(ps);
	struct ec2_block_device *bd = im->n_devices ? &im->devices[im->n_devices - 1] : NULL;

	switch (kind) {
	case N_IMG_ID:
		return &im->image_id;
	case N_IMG_NAME:
		return &im->name;
	case N_IMG_STATE:
		return &im->state;
	case N_IMG_CREATED:
		return &im->creation_date;
	case N_IMG_OWNER:
		return &im->owner_id;
	case N_IMG_DESC:
		return &im->description;
	case N_DEV_NAME:
		return bd ? &bd->device_name : NULL;
	case N_DEV_SNAP:
		return bd ? &bd->snapshot_id : NULL;
	default:
		return NULL;
	}
}

static char **snap_slot(struct parse *ps, enum node kind)
{
	struct ec2_snapshot *sn = cur_snap(ps);

	switch (kind) {
	case N_SNAP_ID:
		return &sn->snapshot_id;
	case N_SNAP_VOLUME:
		return &sn->volume_id;
	case N_SNAP_STATE:
		return &sn->state;
	case N_SNAP_START:
		return &sn->start_time;
	case N_SNAP_PROGRESS:
		return &sn->progress;
	case N_SNAP_OWNER:
		return &sn->owner_id;
	case N_SNAP_DESC:
		return &sn->description;
	default:
		return NULL;
	}
}

/* The slot an ending field's text goes to; NULL: handled or dropped. */
static char **field_slot(struct parse *ps, enum node kind, const char *text)
{
	struct ec2_tag *tag;

	switch (kind) {
	case N_NEXT_TOKEN:
		return *text ? &ps->next_token : NULL; /* an empty nextToken is the last page */
	case N_NEW_IMAGE_ID:
		return &ps->image_id;
	case N_RETURN:
		if (strcmp(text, "true") != 0)
			fail(ps, ERR_PARSE, "<return> is not true");
		return NULL;
	case N_SNAP_SIZE:
		cur_snap(ps)->volume_size = parse_size(text);
		return NULL;
	case N_TAG_KEY:
	case N_TAG_VALUE:
		tag = &(*ps->tags)[*ps->n_tags - 1];
		return kind == N_TAG_KEY ? &tag->key : &tag->value;
	default:
		if (kind >= N_IMG_ID && kind <= N_DEV_SNAP)
			return image_slot(ps, kind);
		return snap_slot(ps, kind);
	}
}

static void end_field(struct parse *ps, enum node kind)
{
	char *s = buf_take(&ps->text);
	char **slot;

	if (!s) {
		fail(ps, ERR_NOMEM, "out of memory");
		return;
	}
	slot = field_slot(ps, kind, s);
	if (!slot) {
		free(s);
		return;
	}
	free(*slot); /* a repeated field: the last one wins */
	*slot = s;
}

static void end_tag(struct parse *ps)
{
	struct ec2_tag *tag = &(*ps->tags)[*ps->n_tags - 1];

	if (!tag->key) { /* a tag without a key is no tag */
		free(tag->value);
		(*ps->n_tags)--;
		return;
	}
	if (!tag->value) {
		tag->value = strdup("");
		if (!tag->value)
			fail(ps, ERR_NOMEM, "out of memory");
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct parse *ps = ud;
	enum node kind = kind_at(ps, ps->depth);
	struct ec2_image *im;
	struct ec2_snapshot *sn;

	(void)name;
	if (ps->rc)
		return;
	if (kind >= N_FIRST_FIELD) {
		end_field(ps, kind);
	} else if (kind == N_TAG) {
		end_tag(ps);
	} else if (kind == N_IMAGE) {
		im = cur_image(ps);
		if (!im->image_id || !*im->image_id)
			fail(ps, ERR_PARSE, "an image without an imageId");
		else if (im->creation_date)
			im->creation_ms = ec2_time_ms(im->creation_date);
	} else if (kind == N_SNAP) {
		sn = cur_snap(ps);
		if (!sn->snapshot_id || !*sn->snapshot_id)
			fail(ps, ERR_PARSE, "a snapshot without a snapshotId");
		else if (sn->start_time)
			sn->start_ms = ec2_time_ms(sn->start_time);
	}
	ps->depth--;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	fail(ud, ERR_PARSE, "a DOCTYPE (not allowed)");
}

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
	fail(ud, ERR_PARSE, "an entity declaration (not allowed)");
}

/* Runs one parse of xml with ps's rules; ps->rc and its fields hold the
 * outcome (the caller frees what is left in ps). */
static void run_parse(struct parse *ps, const char *xml, size_t len)
{
	enum XML_Error xerr;

	if (len > INT_MAX) {
		ps->rc = err_set(ps->e, ERR_TOO_LARGE, "%s answer: %zu bytes", ps->action, len);
		return;
	}
	buf_init(&ps->text, EC2_MAX_FIELD);
	ps->xp = XML_ParserCreate(NULL);
	if (!ps->xp) {
		ps->rc = err_set(ps->e, ERR_NOMEM, "%s answer: out of memory", ps->action);
		return;
	}
	XML_SetUserData(ps->xp, ps);
	XML_SetElementHandler(ps->xp, on_start, on_end);
	XML_SetCharacterDataHandler(ps->xp, on_text);
	XML_SetStartDoctypeDeclHandler(ps->xp, on_doctype);
	XML_SetEntityDeclHandler(ps->xp, on_entity_decl);
	XML_SetParamEntityParsing(ps->xp, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_Parse(ps->xp, xml ? xml : "", (int)len, XML_TRUE) != XML_STATUS_OK && !ps->rc) {
		xerr = XML_GetErrorCode(ps->xp);
		if (xerr == XML_ERROR_NO_MEMORY)
			ps->rc = err_set(ps->e, ERR_NOMEM, "%s answer: out of memory", ps->action);
		else
			ps->rc =
			    err_set(ps->e, ERR_PARSE, "%s answer: malformed XML at line %lu: %s",
			            ps->action, (unsigned long)XML_GetCurrentLineNumber(ps->xp),
			            XML_ErrorString(xerr));
	}
	XML_ParserFree(ps->xp);
	ps->xp = NULL;
	buf_free(&ps->text);
	if (!ps->rc && !ps->saw_root)
		ps->rc = err_set(ps->e, ERR_PARSE, "%s answer: no %s", ps->action, ps->root);
}

static void parse_init(struct parse *ps, const char *action, const char *root,
                       const struct rule *rules, size_t n_rules, struct err *e)
{
	memset(ps, 0, sizeof(*ps));
	ps->e = e;
	ps->action = action;
	ps->root = root;
	ps->rules = rules;
	ps->n_rules = n_rules;
}

static void parse_free(struct parse *ps)
{
	ec2_image_list_free(&ps->images);
	ec2_snapshot_list_free(&ps->snaps);
	free(ps->next_token);
	free(ps->image_id);
}

/* Hands the page's token to the caller. */
static void give_token(struct parse *ps, char **next_token)
{
	if (next_token) {
		*next_token = ps->next_token;
		ps->next_token = NULL;
	}
}

int ec2_parse_describe_images(const char *xml, size_t len, struct ec2_image_list *out,
                              char **next_token, struct err *e)
{
	struct parse ps;
	int rc;

	if (next_token)
		*next_token = NULL;
	if (!out || (!xml && len))
		return err_set(e, ERR_INVALID, "DescribeImages answer: no list or no bytes");
	parse_init(&ps, "DescribeImages", "DescribeImagesResponse", image_rules,
	           sizeof(image_rules) / sizeof(image_rules[0]), e);
	run_parse(&ps, xml, len);
	rc = ps.rc;
	if (!rc && move_items((void **)&out->items, &out->n, (void **)&ps.images.items,
	                      &ps.images.n, sizeof(*out->items)))
		rc = err_set(e, ERR_NOMEM, "DescribeImages answer: out of memory");
	if (!rc)
		give_token(&ps, next_token);
	parse_free(&ps);
	return rc;
}

int ec2_parse_describe_snapshots(const char *xml, size_t len, struct ec2_snapshot_list *out,
                                 char **next_token, struct err *e)
{
	struct parse ps;
	int rc;

	if (next_token)
		*next_token = NULL;
	if (!out || (!xml && len))
		return err_set(e, ERR_INVALID, "DescribeSnapshots answer: no list or no bytes");
	parse_init(&ps, "DescribeSnapshots", "DescribeSnapshotsResponse", snapshot_rules,
	           sizeof(snapshot_rules) / sizeof(snapshot_rules[0]), e);
	run_parse(&ps, xml, len);
	rc = ps.rc;
	if (!rc && move_items((void **)&out->items, &out->n, (void **)&ps.snaps.items, &ps.snaps.n,
	                      sizeof(*out->items)))
		rc = err_set(e, ERR_NOMEM, "DescribeSnapshots answer: out of memory");
	if (!rc)
		give_token(&ps, next_token);
	parse_free(&ps);
	return rc;
}

int ec2_parse_create_image(const char *xml, size_t len, char **image_id, struct err *e)
{
	struct parse ps;
	int rc;

	if (!image_id || (!xml && len))
		return err_set(e, ERR_INVALID, "CreateImage answer: no output or no bytes");
	*image_id = NULL;
	parse_init(&ps, "CreateImage", "CreateImageResponse", create_rules,
	           sizeof(create_rules) / sizeof(create_rules[0]), e);
	run_parse(&ps, xml, len);
	rc = ps.rc;
	if (!rc && (!ps.image_id || !*ps.image_id))
		rc = err_set(e, ERR_PARSE, "CreateImage answer: no imageId");
	if (!rc) {
		*image_id = ps.image_id;
		ps.image_id = NULL;
	}
	parse_free(&ps);
	return rc;
}

int ec2_parse_return(const char *action, const char *xml, size_t len, struct err *e)
{
	struct parse ps;
	char root[96];
	int rc;

	if (!action || strlen(action) > 64 || (!xml && len))
		return err_set(e, ERR_INVALID, "EC2 answer: no action or no bytes");
	snprintf(root, sizeof(root), "%sResponse", action);
	parse_init(&ps, action, root, return_rules, sizeof(return_rules) / sizeof(return_rules[0]),
	           e);
	run_parse(&ps, xml, len);
	rc = ps.rc;
	parse_free(&ps);
	return rc;
}

/* ---- the calls ---- */

static int form_start(struct buf *form, const char *action)
{
	int rc;

	buf_init(form, 0);
	rc = uri_form_add(form, "Action", action);
	if (!rc)
		rc = uri_form_add(form, "Version", EC2_API_VERSION);
	return rc;
}

static int form_list(struct buf *form, const char *prefix, const char *const *values, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++)
		rc = uri_form_addf(form, values[i], "%s.%zu", prefix, i + 1);
	return rc;
}

static int form_filters(struct buf *form, const struct ec2_filter *filters, size_t n)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		rc = uri_form_addf(form, filters[i].name, "Filter.%zu.Name", i + 1);
		for (j = 0; j < filters[i].n_values && !rc; j++)
			rc = uri_form_addf(form, filters[i].values[j], "Filter.%zu.Value.%zu",
			                   i + 1, j + 1);
	}
	return rc;
}

static int check_strings(const char *what, const char *const *v, size_t n, struct err *e)
{
	size_t i;

	if (n && !v)
		return err_set(e, ERR_INVALID, "%s: a list without values", what);
	for (i = 0; i < n; i++)
		if (!v[i] || !*v[i])
			return err_set(e, ERR_INVALID, "%s: value %zu is empty", what, i + 1);
	return 0;
}

static int check_filters(const char *what, const struct ec2_filter *f, size_t n, struct err *e)
{
	size_t i;

	if (n && !f)
		return err_set(e, ERR_INVALID, "%s: no filters", what);
	for (i = 0; i < n; i++) {
		if (!f[i].name || !*f[i].name || !f[i].n_values || !f[i].values)
			return err_set(e, ERR_INVALID, "%s: filter %zu is malformed", what, i + 1);
		if (check_strings(what, f[i].values, f[i].n_values, e))
			return ERR_INVALID;
	}
	return 0;
}

/* One signed EC2 call of form; body receives the 2xx answer. */
static int ec2_call(struct aws_client *c, const struct buf *form, struct buf *body, struct err *e)
{
	struct aws_call call;

	memset(&call, 0, sizeof(call));
	call.service = "ec2";
	call.endpoint_id = "EC2";
	call.endpoint_prefix = "ec2";
	call.protocol = AWS_PROTOCOL_QUERY;
	call.method = "POST";
	call.path = "/";
	call.content_type = "application/x-www-form-urlencoded; charset=utf-8";
	call.body = form->data;
	call.body_len = form->len;
	buf_init(body, 0);
	return aws_client_call(c, &call, body, e);
}

static int form_failed(struct buf *form, const char *action, int rc, struct err *e)
{
	buf_free(form);
	return err_set(e, rc, "%s: cannot build the request (%s)", action, err_code_name(rc));
}

/* A paged Describe call: build(form, query, token) makes one page's form,
 * parse(xml, len, out, &next, e) appends one page to out. */
typedef int (*page_build)(struct buf *form, const void *q, const char *token);
typedef int (*page_parse)(const char *xml, size_t len, void *out, char **next, struct err *e);

static int paged(struct aws_client *c, const char *action, page_build build, const void *q,
                 page_parse parse, void *out, struct err *e)
{
	struct buf form, body;
	char *token = NULL, *next = NULL;
	int rc = 0, pages;

	for (pages = 0;; pages++) {
		if (pages == EC2_MAX_PAGES) {
			rc = err_set(e, ERR_TOO_LARGE, "%s: more than %d pages", action,
			             EC2_MAX_PAGES);
			break;
		}
		rc = build(&form, q, token);
		if (rc) {
			rc = form_failed(&form, action, rc, e);
			break;
		}
		rc = ec2_call(c, &form, &body, e);
		buf_free(&form);
		if (!rc)
			rc = parse(body.data, body.len, out, &next, e);
		buf_free(&body);
		if (rc || !next)
			break;
		if (token && strcmp(token, next) == 0) {
			rc = err_set(e, ERR_PARSE, "%s: EC2 answered the same nextToken twice",
			             action);
			break;
		}
		free(token);
		token = next;
		next = NULL;
	}
	free(token);
	free(next);
	return rc;
}

static int images_build(struct buf *form, const void *qv, const char *token)
{
	const struct ec2_image_query *q = qv;
	int rc = form_start(form, "DescribeImages");

	if (!rc)
		rc = form_list(form, "Owner", q->owners, q->n_owners);
	if (!rc)
		rc = form_list(form, "ImageId", q->image_ids, q->n_image_ids);
	if (!rc)
		rc = form_filters(form, q->filters, q->n_filters);
	if (!rc && !q->n_image_ids)
		rc = uri_form_add(form, "MaxResults", EC2_MAX_RESULTS);
	if (!rc && token)
		rc = uri_form_add(form, "NextToken", token);
	return rc;
}

static int images_parse(const char *xml, size_t len, void *out, char **next, struct err *e)
{
	return ec2_parse_describe_images(xml, len, out, next, e);
}

int ec2_describe_images(struct aws_client *c, const struct ec2_image_query *q,
                        struct ec2_image_list *out, struct err *e)
{
	struct ec2_image_list all = {NULL, 0};
	int rc;

	if (!q || !out)
		return err_set(e, ERR_INVALID, "DescribeImages: no query or no list");
	rc = check_strings("DescribeImages", q->owners, q->n_owners, e);
	if (!rc)
		rc = check_strings("DescribeImages", q->image_ids, q->n_image_ids, e);
	if (!rc)
		rc = check_filters("DescribeImages", q->filters, q->n_filters, e);
	if (rc)
		return rc;
	rc = paged(c, "DescribeImages", images_build, q, images_parse, &all, e);
	if (!rc && move_items((void **)&out->items, &out->n, (void **)&all.items, &all.n,
	                      sizeof(*all.items)))
		rc = err_set(e, ERR_NOMEM, "DescribeImages: out of memory");
	ec2_image_list_free(&all);
	return rc;
}

static int snaps_build(struct buf *form, const void *qv, const char *token)
{
	const struct ec2_snapshot_query *q = qv;
	int rc = form_start(form, "DescribeSnapshots");

	if (!rc)
		rc = form_list(form, "Owner", q->owners, q->n_owners);
	if (!rc)
		rc = form_list(form, "SnapshotId", q->snapshot_ids, q->n_snapshot_ids);
	if (!rc)
		rc = form_filters(form, q->filters, q->n_filters);
	if (!rc && !q->n_snapshot_ids)
		rc = uri_form_add(form, "MaxResults", EC2_MAX_RESULTS);
	if (!rc && token)
		rc = uri_form_add(form, "NextToken", token);
	return rc;
}

static int snaps_parse(const char *xml, size_t len, void *out, char **next, struct err *e)
{
	return ec2_parse_describe_snapshots(xml, len, out, next, e);
}

int ec2_describe_snapshots(struct aws_client *c, const struct ec2_snapshot_query *q,
                           struct ec2_snapshot_list *out, struct err *e)
{
	struct ec2_snapshot_list all = {NULL, 0};
	int rc;

	if (!q || !out)
		return err_set(e, ERR_INVALID, "DescribeSnapshots: no query or no list");
	rc = check_strings("DescribeSnapshots", q->owners, q->n_owners, e);
	if (!rc)
		rc = check_strings("DescribeSnapshots", q->snapshot_ids, q->n_snapshot_ids, e);
	if (!rc)
		rc = check_filters("DescribeSnapshots", q->filters, q->n_filters, e);
	if (rc)
		return rc;
	rc = paged(c, "DescribeSnapshots", snaps_build, q, snaps_parse, &all, e);
	if (!rc && move_items((void **)&out->items, &out->n, (void **)&all.items, &all.n,
	                      sizeof(*all.items)))
		rc = err_set(e, ERR_NOMEM, "DescribeSnapshots: out of memory");
	ec2_snapshot_list_free(&all);
	return rc;
}

static int check_tags(const char *what, const struct ec2_kv *tags, size_t n, struct err *e)
{
	size_t i;

	if (n && !tags)
		return err_set(e, ERR_INVALID, "%s: no tags", what);
	for (i = 0; i < n; i++)
		if (!tags[i].key || !*tags[i].key || !tags[i].value)
			return err_set(e, ERR_INVALID, "%s: tag %zu is malformed", what, i + 1);
	return 0;
}

/* TagSpecification.<spec>.ResourceType=type, .Tag.N.Key/.Value */
static int form_tag_spec(struct buf *form, size_t spec, const char *type, const struct ec2_kv *tags,
                         size_t n)
{
	size_t i;
	int rc = uri_form_addf(form, type, "TagSpecification.%zu.ResourceType", spec);

	for (i = 0; i < n && !rc; i++) {
		rc = uri_form_addf(form, tags[i].key, "TagSpecification.%zu.Tag.%zu.Key", spec,
		                   i + 1);
		if (!rc)
			rc = uri_form_addf(form, tags[i].value,
			                   "TagSpecification.%zu.Tag.%zu.Value", spec, i + 1);
	}
	return rc;
}

int ec2_create_image(struct aws_client *c, const struct ec2_create_image_req *req, char **image_id,
                     struct err *e)
{
	struct buf form, body;
	size_t spec = 0;
	int rc;

	if (!image_id)
		return err_set(e, ERR_INVALID, "CreateImage: no output");
	*image_id = NULL;
	if (!req || !req->instance_id || !*req->instance_id || !req->name ||
	    strlen(req->name) < EC2_AMI_NAME_MIN || strlen(req->name) > EC2_AMI_NAME_MAX)
		return err_set(e, ERR_INVALID, "CreateImage: no instance or a bad name");
	if (check_tags("CreateImage", req->image_tags, req->n_image_tags, e) ||
	    check_tags("CreateImage", req->snapshot_tags, req->n_snapshot_tags, e))
		return ERR_INVALID;
	rc = form_start(&form, "CreateImage");
	if (!rc)
		rc = uri_form_add(&form, "InstanceId", req->instance_id);
	if (!rc)
		rc = uri_form_add(&form, "Name", req->name);
	if (!rc && req->description)
		rc = uri_form_add(&form, "Description", req->description);
	if (!rc)
		rc = uri_form_add(&form, "NoReboot", req->no_reboot ? "true" : "false");
	if (!rc && req->n_image_tags)
		rc = form_tag_spec(&form, ++spec, "image", req->image_tags, req->n_image_tags);
	if (!rc && req->n_snapshot_tags)
		rc = form_tag_spec(&form, ++spec, "snapshot", req->snapshot_tags,
		                   req->n_snapshot_tags);
	if (rc)
		return form_failed(&form, "CreateImage", rc, e);
	rc = ec2_call(c, &form, &body, e);
	buf_free(&form);
	if (!rc)
		rc = ec2_parse_create_image(body.data, body.len, image_id, e);
	buf_free(&body);
	return rc;
}

/* An action on one id whose answer is <return>true</return>. */
static int one_id_call(struct aws_client *c, const char *action, const char *param, const char *id,
                       struct err *e)
{
	struct buf form, body;
	int rc;

	if (!id || !*id)
		return err_set(e, ERR_INVALID, "%s: no %s", action, param);
	rc = form_start(&form, action);
	if (!rc)
		rc = uri_form_add(&form, param, id);
	if (rc)
		return form_failed(&form, action, rc, e);
	rc = ec2_call(c, &form, &body, e);
	buf_free(&form);
	if (!rc)
		rc = ec2_parse_return(action, body.data, body.len, e);
	buf_free(&body);
	return rc;
}

int ec2_deregister_image(struct aws_client *c, const char *image_id, struct err *e)
{
	return one_id_call(c, "DeregisterImage", "ImageId", image_id, e);
}

int ec2_delete_snapshot(struct aws_client *c, const char *snapshot_id, struct err *e)
{
	return one_id_call(c, "DeleteSnapshot", "SnapshotId", snapshot_id, e);
}

int ec2_create_tags(struct aws_client *c, const char *const *resource_ids, size_t n_ids,
                    const struct ec2_kv *tags, size_t n_tags, struct err *e)
{
	struct buf form, body;
	size_t i;
	int rc;

	if (!n_ids || !n_tags)
		return err_set(e, ERR_INVALID, "CreateTags: nothing to tag");
	rc = check_strings("CreateTags", resource_ids, n_ids, e);
	if (!rc)
		rc = check_tags("CreateTags", tags, n_tags, e);
	if (rc)
		return rc;
	rc = form_start(&form, "CreateTags");
	if (!rc)
		rc = form_list(&form, "ResourceId", resource_ids, n_ids);
	for (i = 0; i < n_tags && !rc; i++) {
		rc = uri_form_addf(&form, tags[i].key, "Tag.%zu.Key", i + 1);
		if (!rc)
			rc = uri_form_addf(&form, tags[i].value, "Tag.%zu.Value", i + 1);
	}
	if (rc)
		return form_failed(&form, "CreateTags", rc, e);
	rc = ec2_call(c, &form, &body, e);
	buf_free(&form);
	if (!rc)
		rc = ec2_parse_return("CreateTags", body.data, body.len, e);
	buf_free(&body);
	return rc;
}
