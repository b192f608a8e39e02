/* ops/backup: the AMI backup with rotation, HTTP-free; see backup.h. */
#include "backup.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../aws/ec2.h"
#include "../../aws/ec2_images.h"
#include "../../util/decimal.h"
#include "../../util/monotime.h"
#include "../../util/timefmt.h"
#include "../config.h"

#define TAG_BACKUP_OF     "ebssh:backup-of"
#define TAG_MANAGED       "ebssh:managed"
#define TAG_REBOOT        "backup-reboot"
#define TAG_GENERATION    "generation"
#define GENERATION_MAX    100
#define INUSE_RETRY_MS    1000 /* first wait after InvalidSnapshot.InUse; doubles */
#define INUSE_ATTEMPTS    5    /* DeleteSnapshot attempts while InUse: waits 1+2+4+8 s */
#define ORPHAN_MIN_AGE_S  3600 /* a loose snapshot younger than this is never swept */
#define FILTER_VALUES_MAX 100  /* values of one filter per DescribeImages call */
#define MESSAGE_MAX       300

/* ---- small helpers ---- */

/* A borrowed-string set (linear: a handful of ids per instance). */
struct strset {
	const char **v;
	size_t n, cap;
};

static int set_has(const struct strset *s, const char *x)
{
	size_t i;

	for (i = 0; x && i < s->n; i++)
		if (strcmp(s->v[i], x) == 0)
			return 1;
	return 0;
}

static int set_add(struct strset *s, const char *x)
{
	const char **p;

	if (!x || set_has(s, x))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		p = realloc(s->v, cap * sizeof(*p));
		if (!p)
			return ERR_NOMEM;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	return 0;
}

static void set_free(struct strset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* A JSON string of s; bytes that are not valid UTF-8 make it ASCII with '?'. */
static json_t *jstr(const char *s)
{
	json_t *j;
	char *copy, *p;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (p = copy; *p; p++)
		if ((unsigned char)*p > 0x7e || (unsigned char)*p < 0x20)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static int is_aws_code(const struct err *e, const char *code)
{
	return e->code == ERR_AWS && strcmp(e->aws_code, code) == 0;
}

/* ---- one run ---- */

struct run {
	struct aws_client *aws;
	const struct backup_opts *o;
	const char *tag_key;
	char stamp[32]; /* "20240501T0930Z" */
	long retry_ms;
	int attempts;
	int nomem;
};

/* What one instance's backup did; the arrays belong to obj. */
struct result {
	json_t *obj, *kept, *deregistered, *deleted, *in_use, *errors;
	int failed;
	struct strset gone_images; /* deregistered (or found gone) in this run */
	struct strset tried_snaps; /* snapshots this run already decided on */
};

static void add_id(struct run *r, json_t *arr, const char *id)
{
	if (json_array_append_new(arr, jstr(id)) < 0)
		r->nomem = 1;
}

/*
 * Records a failed step: {"step", "resource", "code", "message"}. AWS's own
 * message is never copied (it may echo what was sent); the code, the HTTP
 * status and the request id are.
 */
static void add_error(struct run *r, struct result *res, const char *step, const char *resource,
                      const struct err *e, const char *what)
{
	char message[MESSAGE_MAX];
	const char *code;
	json_t *o;

	if (e && (e->code == ERR_AWS || e->code == ERR_THROTTLED)) {
		code = e->aws_code[0] ? e->aws_code : err_code_name(e->code);
		snprintf(message, sizeof(message), "%s: AWS answered %s (HTTP %ld%s%s)%s", what,
		         code, e->http_status, e->request_id[0] ? ", request id " : "",
		         e->request_id, e->code == ERR_THROTTLED ? ", still throttled" : "");
	} else if (e && e->code) {
		code = err_code_name(e->code);
		snprintf(message, sizeof(message), "%.120s: %.170s", what, e->message);
	} else {
		code = "BackupRule";
		snprintf(message, sizeof(message), "%s", what);
	}
	o = json_pack("{s:s, s:o, s:o, s:o}", "step", step, "resource", jstr(resource), "code",
	              jstr(code), "message", jstr(message));
	if (json_array_append_new(res->errors, o) < 0)
		r->nomem = 1;
	res->failed = 1;
}

/* A strict "1".."100"; 0 when not. */
static int parse_generation(const char *s)
{
	int64_t v;

	if (decimal_parse(s, strlen(s), 3, DECIMAL_NO_LEADING_ZERO, 1, GENERATION_MAX, &v))
		return 0;
	return (int)v;
}

/* The images EC2 lists as this instance's backups: owner self, both tags. */
static int list_managed(struct run *r, const char *instance_id, struct ec2_image_list *out,
                        struct err *e)
{
	static const char *const self[] = {"self"};
	static const char *const yes[] = {"true"};
	const char *id[1] = {instance_id};
	const struct ec2_filter f[] = {{"tag:" TAG_BACKUP_OF, id, 1}, {"tag:" TAG_MANAGED, yes, 1}};
	const struct ec2_image_query q = {self, 1, NULL, 0, f, 2};

	return ec2_describe_images(r->aws, &q, out, e);
}

/* Images of the account whose block device mappings use any of ids. */
static int list_users(struct run *r, const char *const *ids, size_t n, struct ec2_image_list *out,
                      struct err *e)
{
	static const char *const self[] = {"self"};
	struct ec2_filter f = {"block-device-mapping.snapshot-id", NULL, 0};
	const struct ec2_image_query q = {self, 1, NULL, 0, &f, 1};
	size_t at;
	int rc = 0;

	for (at = 0; at < n && !rc; at += FILTER_VALUES_MAX) {
		f.values = ids + at;
		f.n_values = n - at < FILTER_VALUES_MAX ? n - at : FILTER_VALUES_MAX;
		rc = ec2_describe_images(r->aws, &q, out, e);
	}
	return rc;
}

/* The account's images among ids (filter image-id: an unknown id is no error). */
static int list_by_id(struct run *r, char (*ids)[32], size_t n, struct ec2_image_list *out,
                      struct err *e)
{
	static const char *const self[] = {"self"};
	struct ec2_filter f = {"image-id", NULL, 0};
	const struct ec2_image_query q = {self, 1, NULL, 0, &f, 1};
	const char **vals = calloc(n ? n : 1, sizeof(*vals));
	size_t i;
	int rc = 0;

	if (!vals)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		vals[i] = ids[i];
	for (i = 0; i < n && !rc; i += FILTER_VALUES_MAX) {
		f.values = vals + i;
		f.n_values = n - i < FILTER_VALUES_MAX ? n - i : FILTER_VALUES_MAX;
		rc = ec2_describe_images(r->aws, &q, out, e);
	}
	free(vals);
	return rc;
}

static int image_uses(const struct ec2_image *im, const char *snap)
{
	size_t i;

	for (i = 0; i < im->n_devices; i++)
		if (im->devices[i].snapshot_id && strcmp(im->devices[i].snapshot_id, snap) == 0)
			return 1;
	return 0;
}

/* The first image of users, other than except and the ones gone, that maps snap. */
static const struct ec2_image *other_user(const struct ec2_image_list *users, const char *snap,
                                          const char *except, const struct strset *gone)
{
	size_t i;

	for (i = 0; i < users->n; i++) {
		const struct ec2_image *im = &users->items[i];
		if ((except && strcmp(im->image_id, except) == 0) || set_has(gone, im->image_id) ||
		    (im->state && strcmp(im->state, "deregistered") == 0))
			continue;
		if (image_uses(im, snap))
			return im;
	}
	return NULL;
}

/*
 * DeleteSnapshot, retried with backoff while EC2 still says InUse (it does
 * for a moment after the image is deregistered). NotFound is "already
 * gone". 0 when the snapshot is gone.
 */
static int delete_snapshot(struct run *r, const char *snap, struct err *e)
{
	long wait = r->retry_ms;
	int attempt, rc = 0;

	for (attempt = 1; attempt <= r->attempts; attempt++) {
		rc = ec2_delete_snapshot(r->aws, snap, e);
		if (rc == 0 || is_aws_code(e, "InvalidSnapshot.NotFound"))
			return 0;
		if (!is_aws_code(e, "InvalidSnapshot.InUse") || attempt == r->attempts)
			break;
		monotime_sleep_ms(wait);
		wait *= 2;
	}
	return rc;
}

/*
 * Deletes (or, dry, plans to delete) the snapshots of one rotated image that
 * no other live image maps. In a dry run the images planned for
 * deregistration count as gone.
 */
static void rotate_snapshots(struct run *r, struct result *res, const struct ec2_image *im)
{
	struct ec2_image_list users = {NULL, 0};
	const char **ids = NULL;
	const struct ec2_image *user;
	struct err e;
	size_t i, n = 0;

	ids = calloc(im->n_devices ? im->n_devices : 1, sizeof(*ids));
	if (!ids) {
		r->nomem = 1;
		return;
	}
	for (i = 0; i < im->n_devices; i++) {
		const char *s = im->devices[i].snapshot_id;
		size_t j;
		int dup = 0;
		for (j = 0; s && j < n; j++)
			dup |= strcmp(ids[j], s) == 0;
		if (s && *s && !dup)
			ids[n++] = s;
	}
	if (n == 0)
		goto out;
	err_clear(&e);
	if (list_users(r, ids, n, &users, &e)) {
		add_error(r, res, "DescribeImages", im->image_id, &e,
		          "cannot tell whether another image uses its snapshots; they are kept");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (set_add(&res->tried_snaps, ids[i]))
			r->nomem = 1;
		user = other_user(&users, ids[i], im->image_id, &res->gone_images);
		if (user) {
			json_t *o = json_pack("{s:o, s:o}", "snapshot_id", jstr(ids[i]), "used_by",
			                      jstr(user->image_id));
			if (json_array_append_new(res->in_use, o) < 0)
				r->nomem = 1;
			continue;
		}
		if (r->o->dry_run || delete_snapshot(r, ids[i], &e) == 0)
			add_id(r, res->deleted, ids[i]);
		else
			add_error(r, res, "DeleteSnapshot", ids[i], &e,
			          "the snapshot was not deleted");
	}
out:
	ec2_image_list_free(&users);
	free(ids);
}

/* Deregisters one image (gone from then on), then its snapshots; dry: plans it. */
static void rotate_one(struct run *r, struct result *res, const struct ec2_image *im)
{
	struct err e;

	err_clear(&e);
	if (!r->o->dry_run && ec2_deregister_image(r->aws, im->image_id, &e) != 0 &&
	    !is_aws_code(&e, "InvalidAMIID.NotFound") &&
	    !is_aws_code(&e, "InvalidAMIID.Unavailable")) {
		add_error(r, res, "DeregisterImage", im->image_id, &e,
		          "the image was not deregistered; its snapshots are kept");
		return;
	}
	if (set_add(&res->gone_images, im->image_id))
		r->nomem = 1;
	add_id(r, res->deregistered, im->image_id);
	rotate_snapshots(r, res, im);
}

static int usable(const struct ec2_image *im)
{
	return im->state &&
	       (strcmp(im->state, "available") == 0 || strcmp(im->state, "pending") == 0);
}

/* Newest first; unknown dates (0) first too, ties by image id, newest id first. */
static int by_age(const void *a, const void *b)
{
	const struct ec2_image *x = *(const struct ec2_image *const *)a;
	const struct ec2_image *y = *(const struct ec2_image *const *)b;

	if (x->creation_ms != y->creation_ms) {
		if (!x->creation_ms || !y->creation_ms)
			return x->creation_ms ? 1 : -1;
		return x->creation_ms > y->creation_ms ? -1 : 1;
	}
	return -strcmp(x->image_id, y->image_id);
}

/* Is im one of this instance's backups, by its own tags (not only by the filter)? */
static int is_managed(const struct ec2_image *im, const char *instance_id)
{
	const char *of = ec2_tags_find(im->tags, im->n_tags, TAG_BACKUP_OF);
	const char *managed = ec2_tags_find(im->tags, im->n_tags, TAG_MANAGED);

	return of && managed && strcmp(of, instance_id) == 0 && strcmp(managed, "true") == 0;
}

/*
 * Keeps this run's image (run_image; NULL in a dry run that would create
 * one, which then takes a slot) and the newest generation-1 other usable
 * backups; deregisters every other backup, oldest first, then its
 * snapshots. Images with no readable creation date are never touched.
 */
static void rotate(struct run *r, struct result *res, const char *instance_id,
                   const struct ec2_image_list *managed, const char *run_image, int generation)
{
	const struct ec2_image **order = NULL, **drop = NULL;
	size_t i, n = 0, n_drop = 0;
	int kept = 1;

	if (run_image)
		add_id(r, res->kept, run_image);
	order = calloc(managed->n + 1, sizeof(const struct ec2_image *));
	drop = calloc(managed->n + 1, sizeof(const struct ec2_image *));
	if (!order || !drop) {
		r->nomem = 1;
		goto out;
	}
	for (i = 0; i < managed->n; i++) {
		const struct ec2_image *im = &managed->items[i];
		if (!is_managed(im, instance_id) ||
		    (run_image && strcmp(im->image_id, run_image) == 0) ||
		    (im->state && strcmp(im->state, "deregistered") == 0))
			continue;
		order[n++] = im;
	}
	qsort(order, n, sizeof(const struct ec2_image *), by_age);
	for (i = 0; i < n; i++) {
		if (usable(order[i]) && kept < generation) {
			add_id(r, res->kept, order[i]->image_id);
			kept++;
		} else if (order[i]->creation_ms == 0) {
			add_id(r, res->kept, order[i]->image_id);
		} else {
			drop[n_drop++] = order[i];
		}
	}
	/* a dry run's plan counts every planned deregistration as done */
	for (i = 0; r->o->dry_run && i < n_drop; i++)
		if (set_add(&res->gone_images, drop[i]->image_id))
			r->nomem = 1;
	for (i = n_drop; i-- > 0;)
		rotate_one(r, res, drop[i]);
out:
	free(order);
	free(drop);
}

/* "Created by CreateImage(i-x) for ami-y from vol-z": copies ami-y to out
 * when the instance is instance_id; 0 when it is, else -1. */
static int source_image(const char *description, const char *instance_id, char *out, size_t cap)
{
	char head[64];
	const char *p;
	size_t n;

	if (!description)
		return -1;
	if ((size_t)snprintf(head, sizeof(head), "Created by CreateImage(%s) for ", instance_id) >=
	    sizeof(head))
		return -1;
	if (strncmp(description, head, strlen(head)) != 0)
		return -1;
	p = description + strlen(head);
	if (strncmp(p, "ami-", 4) != 0)
		return -1;
	for (n = 4; (p[n] >= '0' && p[n] <= '9') || (p[n] >= 'a' && p[n] <= 'f'); n++)
		;
	if (n < 12 || n >= cap || (p[n] != '\0' && p[n] != ' '))
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/*
 * Snapshots this instance's backups left behind: tagged as ours, made by
 * CreateImage of this instance for an AMI that no longer exists, mapped by
 * no live image, older than ORPHAN_MIN_AGE_S before the run's time, and not
 * already decided on in this run (a DeleteSnapshot that failed after its
 * DeregisterImage leaves one; the next run deletes it).
 */
static void sweep(struct run *r, struct result *res, const char *instance_id,
                  const struct ec2_image_list *managed, const char *run_image)
{
	static const char *const self[] = {"self"};
	static const char *const yes[] = {"true"};
	const char *id[1] = {instance_id};
	const struct ec2_filter f[] = {{"tag:" TAG_BACKUP_OF, id, 1}, {"tag:" TAG_MANAGED, yes, 1}};
	const struct ec2_snapshot_query q = {self, 1, NULL, 0, f, 2};
	struct ec2_snapshot_list snaps = {NULL, 0};
	struct ec2_image_list users = {NULL, 0}, sources = {NULL, 0};
	struct strset live = {NULL, 0, 0};
	const char **cand = NULL;
	char(*src)[32] = NULL;
	size_t i, j, n = 0;
	int64_t limit_ms = ((int64_t)r->o->now - ORPHAN_MIN_AGE_S) * 1000;
	struct err e;

	err_clear(&e);
	if (ec2_describe_snapshots(r->aws, &q, &snaps, &e)) {
		add_error(r, res, "DescribeSnapshots", instance_id, &e,
		          "cannot look for snapshots left behind");
		goto out;
	}
	cand = calloc(snaps.n + 1, sizeof(*cand));
	src = calloc(snaps.n + 1, sizeof(*src));
	if (!cand || !src) {
		r->nomem = 1;
		goto out;
	}
	for (i = 0; i < managed->n; i++)
		if (!managed->items[i].state ||
		    strcmp(managed->items[i].state, "deregistered") != 0)
			if (set_add(&live, managed->items[i].image_id))
				r->nomem = 1;
	for (i = 0; i < snaps.n; i++) {
		const struct ec2_snapshot *s = &snaps.items[i];
		const char *of = ec2_tags_find(s->tags, s->n_tags, TAG_BACKUP_OF);
		const char *mg = ec2_tags_find(s->tags, s->n_tags, TAG_MANAGED);
		if (!of || !mg || strcmp(of, instance_id) != 0 || strcmp(mg, "true") != 0 ||
		    set_has(&res->tried_snaps, s->snapshot_id) || !s->start_ms ||
		    s->start_ms > limit_ms ||
		    source_image(s->description, instance_id, src[n], sizeof(src[n])) != 0 ||
		    set_has(&live, src[n]) || (run_image && strcmp(src[n], run_image) == 0))
			continue;
		cand[n++] = s->snapshot_id;
	}
	if (n == 0)
		goto out;
	if (list_users(r, cand, n, &users, &e)) {
		add_error(r, res, "DescribeImages", instance_id, &e,
		          "cannot tell whether snapshots left behind are in use; they are kept");
		goto out;
	}
	if (list_by_id(r, src, n, &sources, &e)) {
		add_error(r, res, "DescribeImages", instance_id, &e,
		          "cannot tell whether the images of snapshots left behind are gone");
		goto out;
	}
	for (i = 0; i < n; i++) {
		int alive = 0;
		for (j = 0; j < sources.n; j++)
			if (strcmp(sources.items[j].image_id, src[i]) == 0 &&
			    (!sources.items[j].state ||
			     strcmp(sources.items[j].state, "deregistered") != 0) &&
			    !set_has(&res->gone_images, src[i]))
				alive = 1;
		if (alive || other_user(&users, cand[i], NULL, &res->gone_images))
			continue;
		if (r->o->dry_run || delete_snapshot(r, cand[i], &e) == 0)
			add_id(r, res->deleted, cand[i]);
		else
			add_error(r, res, "DeleteSnapshot", cand[i], &e,
			          "a snapshot left behind was not deleted");
	}
out:
	ec2_snapshot_list_free(&snaps);
	ec2_image_list_free(&users);
	ec2_image_list_free(&sources);
	set_free(&live);
	free(cand);
	free(src);
}

/* The image of this run that an earlier attempt made: same name, our tags. */
static int find_existing(struct run *r, struct result *res, const char *instance_id,
                         const char *name, char **image_id)
{
	static const char *const self[] = {"self"};
	const char *v[1] = {name};
	const struct ec2_filter f = {"name", v, 1};
	const struct ec2_image_query q = {self, 1, NULL, 0, &f, 1};
	struct ec2_image_list list = {NULL, 0};
	struct err e;
	size_t i;
	int found = 0;

	err_clear(&e);
	*image_id = NULL;
	if (ec2_describe_images(r->aws, &q, &list, &e)) {
		add_error(r, res, "DescribeImages", name, &e,
		          "the image name is taken and its image could not be listed; no rotation");
		return -1;
	}
	for (i = 0; i < list.n && !found; i++) {
		const struct ec2_image *im = &list.items[i];
		if (!im->name || strcmp(im->name, name) != 0 ||
		    (im->state && strcmp(im->state, "deregistered") == 0))
			continue;
		found = 1;
		if (!is_managed(im, instance_id)) {
			add_error(r, res, "CreateImage", im->image_id, NULL,
			          "an image of this name exists but is not this instance's backup; "
			          "no rotation");
			break;
		}
		*image_id = strdup(im->image_id);
		if (!*image_id)
			r->nomem = 1;
	}
	if (!found)
		add_error(r, res, "CreateImage", name, NULL,
		          "EC2 says the name is taken but lists no image of that name yet; "
		          "no rotation");
	ec2_image_list_free(&list);
	return *image_id ? 0 : -1;
}

static int result_init(struct result *res, const struct ec2_instance *in, const char *name,
                       int generation, int no_reboot)
{
	memset(res, 0, sizeof(*res));
	res->obj =
	    json_pack("{s:o, s:o, s:n, s:b, s:i, s:b, s:[], s:[], s:[], s:[], s:[]}", "instance_id",
	              jstr(in->instance_id), "image_name", jstr(name), "image_created",
	              "already_existed", 0, "generation", generation, "no_reboot", no_reboot,
	              "kept", "deregistered", "snapshots_deleted", "snapshots_in_use", "errors");
	if (!res->obj)
		return ERR_NOMEM;
	res->kept = json_object_get(res->obj, "kept");
	res->deregistered = json_object_get(res->obj, "deregistered");
	res->deleted = json_object_get(res->obj, "snapshots_deleted");
	res->in_use = json_object_get(res->obj, "snapshots_in_use");
	res->errors = json_object_get(res->obj, "errors");
	return 0;
}

/* One instance: its image, then rotation and the sweep. The result's JSON
 * goes to r's list; failures are in it, never returned. */
static json_t *backup_instance(struct run *r, const struct ec2_instance *in, int *failed)
{
	const char *name_tag = ec2_instance_tag(in, "Name");
	const char *gen_tag = ec2_instance_tag(in, TAG_GENERATION);
	const char *reboot = ec2_instance_tag(in, TAG_REBOOT);
	const struct ec2_kv tags[] = {{TAG_BACKUP_OF, in->instance_id}, {TAG_MANAGED, "true"}};
	char name[EC2_AMI_NAME_MAX + 1], suffix[40], desc[160];
	struct ec2_create_image_req req;
	struct ec2_image_list managed = {NULL, 0};
	struct result res;
	char *image_id = NULL;
	int generation = gen_tag ? parse_generation(gen_tag) : BACKUP_DEFAULT_GENERATION;
	int no_reboot = !(reboot && strcasecmp(reboot, "true") == 0);
	int rotate_ok = generation > 0;
	struct err e;
	json_t *obj;

	err_clear(&e);
	snprintf(suffix, sizeof(suffix), "-%s", r->stamp);
	if (ec2_ami_name(name, sizeof(name), name_tag && *name_tag ? name_tag : in->instance_id,
	                 suffix, &e) != 0) {
		r->nomem = 1;
		return NULL;
	}
	if (result_init(&res, in, name, generation, no_reboot)) {
		r->nomem = 1;
		return NULL;
	}
	if (!rotate_ok) {
		add_error(
		    r, &res, "Rotation", in->instance_id, NULL,
		    "the generation tag is not a whole number from 1 to 100; the image is made "
		    "but nothing is rotated");
		generation = BACKUP_DEFAULT_GENERATION;
	}
	if (r->o->dry_run) {
		if (list_managed(r, in->instance_id, &managed, &e)) {
			add_error(r, &res, "DescribeImages", in->instance_id, &e,
			          "cannot list the instance's backups");
			goto out;
		}
		for (size_t i = 0; i < managed.n && !image_id; i++)
			if (managed.items[i].name && strcmp(managed.items[i].name, name) == 0 &&
			    is_managed(&managed.items[i], in->instance_id) &&
			    (!managed.items[i].state ||
			     strcmp(managed.items[i].state, "deregistered") != 0)) {
				image_id = strdup(managed.items[i].image_id);
				if (!image_id)
					r->nomem = 1;
				if (json_object_set_new(res.obj, "already_existed", json_true()))
					r->nomem = 1;
			}
	} else {
		snprintf(desc, sizeof(desc), "ebssh backup of %s at %s", in->instance_id, r->stamp);
		memset(&req, 0, sizeof(req));
		req.instance_id = in->instance_id;
		req.name = name;
		req.description = desc;
		req.no_reboot = no_reboot;
		req.image_tags = tags;
		req.n_image_tags = 2;
		req.snapshot_tags = tags;
		req.n_snapshot_tags = 2;
		if (ec2_create_image(r->aws, &req, &image_id, &e) != 0) {
			if (!is_aws_code(&e, "InvalidAMIName.Duplicate")) {
				add_error(r, &res, "CreateImage", in->instance_id, &e,
				          "no image was made; nothing is rotated");
				goto out;
			}
			if (find_existing(r, &res, in->instance_id, name, &image_id) != 0)
				goto out;
			if (json_object_set_new(res.obj, "already_existed", json_true()))
				r->nomem = 1;
		}
		if (json_object_set_new(res.obj, "image_created", jstr(image_id)) < 0)
			r->nomem = 1;
		if (list_managed(r, in->instance_id, &managed, &e)) {
			add_error(r, &res, "DescribeImages", in->instance_id, &e,
			          "cannot list the instance's backups; nothing is rotated");
			goto out;
		}
	}
	if (r->o->dry_run && image_id &&
	    json_object_set_new(res.obj, "image_created", jstr(image_id)))
		r->nomem = 1;
	if (!rotate_ok)
		goto out;
	rotate(r, &res, in->instance_id, &managed, image_id, generation);
	sweep(r, &res, in->instance_id, &managed, image_id);
out:
	*failed = res.failed;
	free(image_id);
	ec2_image_list_free(&managed);
	set_free(&res.gone_images);
	set_free(&res.tried_snaps);
	obj = res.obj;
	return obj;
}

/* Running or stopped, and tag_key's value is "on" in any case. */
static int wants_backup(const struct ec2_instance *in, const char *tag_key)
{
	const char *v = ec2_instance_tag(in, tag_key);

	return v && strcasecmp(v, "on") == 0 && in->state &&
	       (strcmp(in->state, "running") == 0 || strcmp(in->state, "stopped") == 0);
}

static int by_instance_id(const void *a, const void *b)
{
	return strcmp((*(const struct ec2_instance *const *)a)->instance_id,
	              (*(const struct ec2_instance *const *)b)->instance_id);
}

void backup_opts_init(struct backup_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->now = time(NULL);
}

void backup_report_init(struct backup_report *rep)
{
	memset(rep, 0, sizeof(*rep));
}

void backup_report_free(struct backup_report *rep)
{
	if (!rep)
		return;
	json_decref(rep->doc);
	backup_report_init(rep);
}

/* Nothing ran: why, for the caller's answer; returns the code. */
static int stopped(struct backup_report *rep, enum backup_stop why, int rc)
{
	rep->stop = why;
	return rc;
}

/* The instances to back up, by instance id; *out borrows from list. */
static int select_instances(const struct ec2_instance_list *list, const char *tag_key,
                            const struct ec2_instance ***out, size_t *n)
{
	const struct ec2_instance **sel = calloc(list->n + 1, sizeof(const struct ec2_instance *));
	size_t i;

	*n = 0;
	if (!sel)
		return ERR_NOMEM;
	for (i = 0; i < list->n; i++)
		if (wants_backup(&list->items[i], tag_key))
			sel[(*n)++] = &list->items[i];
	qsort(sel, *n, sizeof(const struct ec2_instance *), by_instance_id);
	*out = sel;
	return 0;
}

/* The time ran out: the report says so and names the n instances left. */
static int not_started(struct backup_report *rep, const struct ec2_instance *const *left, size_t n)
{
	json_t *ids = json_array();
	size_t i;

	rep->partial = 1;
	for (i = 0; ids && i < n; i++)
		if (json_array_append_new(ids, jstr(left[i]->instance_id)) < 0) {
			json_decref(ids);
			ids = NULL;
		}
	if (!ids || json_object_set_new(rep->doc, "not_started", ids) < 0 ||
	    json_object_set_new(rep->doc, "partial", json_true()) < 0)
		return ERR_NOMEM;
	return 0;
}

/* The run's instances: tag_key present, running or stopped. */
static int describe_tagged(struct run *r, struct ec2_instance_list *list, struct err *e)
{
	static const char *const states[] = {"running", "stopped"};
	struct ec2_filter filters[2];
	const char *key_value[1];
	char *key_literal = ec2_filter_literal(r->tag_key);
	int rc;

	if (!key_literal)
		return err_set(e, ERR_NOMEM, "out of memory");
	key_value[0] = key_literal;
	filters[0].name = "tag-key";
	filters[0].values = key_value;
	filters[0].n_values = 1;
	filters[1].name = "instance-state-name";
	filters[1].values = states;
	filters[1].n_values = 2;
	rc = ec2_describe_instances(r->aws, filters, 2, list, e);
	free(key_literal);
	return rc;
}

int backup_run(struct service_context *ctx, const struct backup_opts *o, struct backup_report *rep,
               struct err *e)
{
	struct ec2_instance_list list = {NULL, 0};
	const struct ec2_instance **sel = NULL;
	struct run r;
	struct tm tm;
	json_t *arr;
	size_t i, n = 0;
	int rc, inst_failed;

	err_clear(e);
	backup_report_init(rep);
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.tag_key = o->tag_key ? o->tag_key : service_config_get().backup_tag_key;
	if (!r.tag_key || !*r.tag_key)
		r.tag_key = BACKUP_DEFAULT_TAG;
	r.retry_ms = o->inuse_retry_ms > 0 ? o->inuse_retry_ms : INUSE_RETRY_MS;
	r.attempts = o->inuse_attempts > 0 ? o->inuse_attempts : INUSE_ATTEMPTS;
	rc = service_config_check_tag_key(r.tag_key, e);
	if (rc)
		return stopped(rep, BACKUP_STOP_CONFIG, rc);
	if (!gmtime_r(&o->now, &tm) || !strftime(r.stamp, sizeof(r.stamp), "%Y%m%dT%H%MZ", &tm))
		return stopped(rep, BACKUP_STOP_CLOCK,
		               err_set(e, ERR_INTERNAL, "the run's time cannot be written"));
	r.aws = service_aws(ctx, e);
	if (!r.aws)
		return stopped(rep, BACKUP_STOP_AWS, e->code < 0 ? e->code : ERR_INTERNAL);
	rc = describe_tagged(&r, &list, e);
	if (rc)
		return stopped(rep, BACKUP_STOP_AWS, rc);
	rc = select_instances(&list, r.tag_key, &sel, &n);
	if (!rc) {
		rep->doc = json_pack("{s:b, s:s, s:s, s:[]}", "dry_run", o->dry_run, "time",
		                     r.stamp, "tag_key", r.tag_key, "instances");
		rc = rep->doc ? 0 : ERR_NOMEM;
	}
	arr = json_object_get(rep->doc, "instances");
	for (i = 0; !rc && i < n && !r.nomem; i++) {
		if (service_out_of_time(ctx)) {
			rc = not_started(rep, sel + i, n - i);
			break;
		}
		inst_failed = 0;
		if (json_array_append_new(arr, backup_instance(&r, sel[i], &inst_failed)) < 0)
			r.nomem = 1;
		rep->failed += inst_failed;
	}
	if (!rc &&
	    (r.nomem || json_object_set_new(rep->doc, "failed", json_integer(rep->failed)) < 0))
		rc = ERR_NOMEM;
	if (!rc && rep->failed &&
	    (json_object_set_new(rep->doc, "code", json_string("BackupFailed")) < 0 ||
	     json_object_set_new(rep->doc, "message",
	                         json_string("the backup of at least one instance "
	                                     "failed; see errors")) < 0))
		rc = ERR_NOMEM;
	if (!rc && rep->partial && !rep->failed &&
	    (json_object_set_new(rep->doc, "code", json_string("BackupPartial")) < 0 ||
	     json_object_set_new(rep->doc, "message",
	                         json_string("the invocation's time ran out before every "
	                                     "instance was backed up; see not_started")) < 0))
		rc = ERR_NOMEM;
	free(sel);
	ec2_instance_list_free(&list);
	if (rc) {
		backup_report_free(rep);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

int backup_rule_matches(const char *rule_name)
{
	static const char suffix[] = BACKUP_RULE_SUFFIX;
	size_t n;

	if (!rule_name)
		return 0;
	n = strlen(rule_name);
	return n >= sizeof(suffix) - 1 && strcmp(rule_name + n - (sizeof(suffix) - 1), suffix) == 0;
}

/* "2024-05-01T09:30:00Z" (seconds and fraction optional, 'Z' required,
 * 1970 or later) as a time_t; -1 when not. */
static time_t parse_event_time(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	int64_t ms;

	if (n < 2 || !strchr(s, 'T') || s[n - 1] != 'Z' ||
	    timefmt_parse_iso8601(s, TIMEFMT_REDUCED, &ms, NULL) || ms < 0)
		return (time_t)-1;
	return (time_t)(ms / 1000);
}

void backup_opts_scheduled(struct backup_opts *o, const char *event_time)
{
	time_t t = parse_event_time(event_time);

	backup_opts_init(o);
	if (t != (time_t)-1)
		o->now = t;
}
