/* ops/backup_rotate: an instance's backups rotated, and the snapshots earlier
 * runs left behind swept; see backup_run.h and backup.h. */
#include "backup_run.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../aws/ec2.h"
#include "../../util/monotime.h"
#include "../../util/timefmt.h"

/* The images EC2 lists as this instance's backups: owner self, the three tags. */
int backup_list_managed(struct run *r, const char *instance_id, struct ec2_image_list *out,
                        struct err *e)
{
	static const char *const self[] = {"self"};
	static const char *const yes[] = {"true"};
	const char *id[1] = {instance_id};
	char *stack = ec2_filter_literal(r->stack);
	const char *st[1] = {stack};
	const struct ec2_filter f[] = {
	    {"tag:" TAG_BACKUP_OF, id, 1}, {"tag:" TAG_MANAGED, yes, 1}, {"tag:" TAG_STACK, st, 1}};
	const struct ec2_image_query q = {self, 1, NULL, 0, f, 3, 0};
	int rc;

	if (!stack)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = ec2_describe_images(r->aws, &q, out, e);
	free(stack);
	return rc;
}

/* Images of the account whose block device mappings use any of ids. */
static int list_users(struct run *r, const char *const *ids, size_t n, struct ec2_image_list *out,
                      struct err *e)
{
	static const char *const self[] = {"self"};
	struct ec2_filter f = {"block-device-mapping.snapshot-id", NULL, 0};
	/* a disabled image still maps its snapshots: listed too */
	const struct ec2_image_query q = {self, 1, NULL, 0, &f, 1, 1};
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
	const struct ec2_image_query q = {self, 1, NULL, 0, &f, 1, 1};
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
		if ((except && strcmp(im->image_id, except) == 0) ||
		    backup_set_has(gone, im->image_id) ||
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
		if (rc == 0 || backup_is_aws_code(e, "InvalidSnapshot.NotFound"))
			return 0;
		if (!backup_is_aws_code(e, "InvalidSnapshot.InUse") || attempt == r->attempts)
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
		backup_add_error(
		    r, res, "DescribeImages", im->image_id, &e,
		    "cannot tell whether another image uses its snapshots; they are kept");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (backup_set_add(&res->tried_snaps, ids[i]))
			r->nomem = 1;
		user = other_user(&users, ids[i], im->image_id, &res->gone_images);
		if (user) {
			json_t *o = json_pack("{s:o, s:o}", "snapshot_id", backup_jstr(ids[i]),
			                      "used_by", backup_jstr(user->image_id));
			if (json_array_append_new(res->in_use, o) < 0)
				r->nomem = 1;
			continue;
		}
		if (r->o->dry_run || delete_snapshot(r, ids[i], &e) == 0)
			backup_add_id(r, res->deleted, ids[i]);
		else
			backup_add_error(r, res, "DeleteSnapshot", ids[i], &e,
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
	    !backup_is_aws_code(&e, "InvalidAMIID.NotFound") &&
	    !backup_is_aws_code(&e, "InvalidAMIID.Unavailable")) {
		backup_add_error(r, res, "DeregisterImage", im->image_id, &e,
		                 "the image was not deregistered; its snapshots are kept");
		return;
	}
	if (backup_set_add(&res->gone_images, im->image_id))
		r->nomem = 1;
	backup_add_id(r, res->deregistered, im->image_id);
	rotate_snapshots(r, res, im);
}

static int state_is(const struct ec2_image *im, const char *state)
{
	return im->state && strcmp(im->state, state) == 0;
}

/* failed, invalid or error: an image EC2 will never make available */
static int broken(const struct ec2_image *im)
{
	return state_is(im, "failed") || state_is(im, "invalid") || state_is(im, "error");
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

/* "<at least one byte>-<instance_id>-<yyyymmddTHHMMZ>" */
int backup_name_matches(const char *name, const char *instance_id)
{
	static const char shape[] = "ddddddddTddddZ"; /* the stamp: 8 digits T 4 digits Z */
	size_t n, id_n, i;
	const char *tail;

	if (!name || !instance_id)
		return 0;
	n = strlen(name);
	id_n = strlen(instance_id);
	if (n < 1 + 1 + id_n + 1 + 14)
		return 0;
	tail = name + n - 14;
	for (i = 0; i < 14; i++) {
		char want = shape[i];
		if (want == 'd' ? !(tail[i] >= '0' && tail[i] <= '9') : tail[i] != want)
			return 0;
	}
	return tail[-1] == '-' && memcmp(tail - 1 - id_n, instance_id, id_n) == 0 &&
	       tail[-2 - (long)id_n] == '-';
}

/* Is im one of this stack's backups of the instance, by its own tags (not
 * only by the filter) and its name? */
int backup_is_managed(const struct run *r, const struct ec2_image *im, const char *instance_id)
{
	const char *of = ec2_tags_find(im->tags, im->n_tags, TAG_BACKUP_OF);
	const char *managed = ec2_tags_find(im->tags, im->n_tags, TAG_MANAGED);
	const char *stack = ec2_tags_find(im->tags, im->n_tags, TAG_STACK);

	return of && managed && stack && strcmp(of, instance_id) == 0 &&
	       strcmp(managed, "true") == 0 && strcmp(stack, r->stack) == 0 &&
	       backup_name_matches(im->name, instance_id);
}

/*
 * Keeps this run's image (run_image; NULL in a dry run that would create
 * one, which would be pending) and the newest `generation` available
 * backups, run_image counting among them only when run_available. Pending
 * (and any other unsettled state) are kept and never counted; failed ones
 * and the available ones past the count are deregistered, oldest first,
 * then their snapshots. Images with no readable creation date are never
 * touched.
 */
void backup_rotate(struct run *r, struct result *res, const char *instance_id,
                   const struct ec2_image_list *managed, const char *run_image, int run_available,
                   int generation)
{
	const struct ec2_image **order = NULL, **drop = NULL;
	size_t i, n = 0, n_drop = 0;
	int kept = run_image && run_available ? 1 : 0;

	if (run_image)
		backup_add_id(r, res->kept, run_image);
	order = calloc(managed->n + 1, sizeof(const struct ec2_image *));
	drop = calloc(managed->n + 1, sizeof(const struct ec2_image *));
	if (!order || !drop) {
		r->nomem = 1;
		goto out;
	}
	for (i = 0; i < managed->n; i++) {
		const struct ec2_image *im = &managed->items[i];
		if (!backup_is_managed(r, im, instance_id) ||
		    (run_image && strcmp(im->image_id, run_image) == 0) ||
		    state_is(im, "deregistered"))
			continue;
		order[n++] = im;
	}
	qsort(order, n, sizeof(const struct ec2_image *), by_age);
	for (i = 0; i < n; i++) {
		/* no date: never touched; available: counted; failed: dropped; else kept */
		int counted = order[i]->creation_ms != 0 && state_is(order[i], "available");
		int dropped = order[i]->creation_ms != 0 &&
		              ((counted && kept >= generation) || (!counted && broken(order[i])));

		if (dropped) {
			drop[n_drop++] = order[i];
			continue;
		}
		backup_add_id(r, res->kept, order[i]->image_id);
		kept += counted;
	}
	/* a dry run's plan counts every planned deregistration as done */
	for (i = 0; r->o->dry_run && i < n_drop; i++)
		if (backup_set_add(&res->gone_images, drop[i]->image_id))
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
void backup_sweep(struct run *r, struct result *res, const char *instance_id,
                  const struct ec2_image_list *managed, const char *run_image)
{
	static const char *const self[] = {"self"};
	static const char *const yes[] = {"true"};
	const char *id[1] = {instance_id};
	char *stack = ec2_filter_literal(r->stack);
	const char *st[1] = {stack};
	const struct ec2_filter f[] = {
	    {"tag:" TAG_BACKUP_OF, id, 1}, {"tag:" TAG_MANAGED, yes, 1}, {"tag:" TAG_STACK, st, 1}};
	const struct ec2_snapshot_query q = {self, 1, NULL, 0, f, 3};
	struct ec2_snapshot_list snaps = {NULL, 0};
	struct ec2_image_list users = {NULL, 0}, sources = {NULL, 0};
	struct strset live = {NULL, 0, 0};
	const char **cand = NULL;
	char(*src)[32] = NULL;
	size_t i, j, n = 0;
	int64_t limit_ms = ((int64_t)r->o->now - ORPHAN_MIN_AGE_S) * 1000;
	struct err e;

	err_clear(&e);
	if (!stack) {
		r->nomem = 1;
		goto out;
	}
	if (ec2_describe_snapshots(r->aws, &q, &snaps, &e)) {
		backup_add_error(r, res, "DescribeSnapshots", instance_id, &e,
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
			if (backup_set_add(&live, managed->items[i].image_id))
				r->nomem = 1;
	for (i = 0; i < snaps.n; i++) {
		const struct ec2_snapshot *s = &snaps.items[i];
		const char *of = ec2_tags_find(s->tags, s->n_tags, TAG_BACKUP_OF);
		const char *mg = ec2_tags_find(s->tags, s->n_tags, TAG_MANAGED);
		const char *sk = ec2_tags_find(s->tags, s->n_tags, TAG_STACK);
		if (!of || !mg || !sk || strcmp(of, instance_id) != 0 || strcmp(mg, "true") != 0 ||
		    strcmp(sk, r->stack) != 0 ||
		    backup_set_has(&res->tried_snaps, s->snapshot_id) || !s->start_ms ||
		    s->start_ms > limit_ms ||
		    source_image(s->description, instance_id, src[n], sizeof(src[n])) != 0 ||
		    backup_set_has(&live, src[n]) || (run_image && strcmp(src[n], run_image) == 0))
			continue;
		cand[n++] = s->snapshot_id;
	}
	if (n == 0)
		goto out;
	if (list_users(r, cand, n, &users, &e)) {
		backup_add_error(
		    r, res, "DescribeImages", instance_id, &e,
		    "cannot tell whether snapshots left behind are in use; they are kept");
		goto out;
	}
	if (list_by_id(r, src, n, &sources, &e)) {
		backup_add_error(
		    r, res, "DescribeImages", instance_id, &e,
		    "cannot tell whether the images of snapshots left behind are gone");
		goto out;
	}
	for (i = 0; i < n; i++) {
		int alive = 0;
		for (j = 0; j < sources.n; j++)
			if (strcmp(sources.items[j].image_id, src[i]) == 0 &&
			    (!sources.items[j].state ||
			     strcmp(sources.items[j].state, "deregistered") != 0) &&
			    !backup_set_has(&res->gone_images, src[i]))
				alive = 1;
		if (alive || other_user(&users, cand[i], NULL, &res->gone_images))
			continue;
		if (r->o->dry_run || delete_snapshot(r, cand[i], &e) == 0)
			backup_add_id(r, res->deleted, cand[i]);
		else
			backup_add_error(r, res, "DeleteSnapshot", cand[i], &e,
			                 "a snapshot left behind was not deleted");
	}
out:
	ec2_snapshot_list_free(&snaps);
	ec2_image_list_free(&users);
	ec2_image_list_free(&sources);
	backup_set_free(&live);
	free(cand);
	free(src);
	free(stack);
}
