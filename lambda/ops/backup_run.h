/*
 * backup_run: what the AMI backup's two files share, internal to
 * lambda/ops/backup*.c (the workflow's API is backup.h). backup.c runs the
 * backup instance by instance (its image, the report); backup_rotate.c
 * rotates an instance's backups and sweeps the snapshots earlier runs left.
 * Both work on one run's state (struct run) and one instance's result
 * (struct result), whose JSON arrays become the report.
 */
#ifndef EBSSH_LAMBDA_OPS_BACKUP_RUN_H
#define EBSSH_LAMBDA_OPS_BACKUP_RUN_H

#include <jansson.h>
#include <stddef.h>

#include "../../aws/ec2_images.h"
#include "../../util/err.h"
#include "backup.h"

#define TAG_BACKUP_OF     "ebssh:backup-of"
#define TAG_MANAGED       "ebssh:managed"
#define TAG_STACK         "ebssh:stack"
#define TAG_MIN_INTERVAL  "backup-min-interval"
#define NAME_DEFAULT      "backup" /* the name part of an instance without a Name tag */
#define IMAGE_WAIT_MS     5000     /* how long a run waits for its image to be available */
#define IMAGE_POLL_MS     250      /* first wait between DescribeImages of it; doubles */
#define IMAGE_POLL_MAX_MS 2000
#define TAG_REBOOT        "backup-reboot"
#define TAG_GENERATION    "generation"
#define GENERATION_MAX    100
#define INUSE_RETRY_MS    1000 /* first wait after InvalidSnapshot.InUse; doubles */
#define INUSE_ATTEMPTS    5    /* DeleteSnapshot attempts while InUse: waits 1+2+4+8 s */
#define ORPHAN_MIN_AGE_S  3600 /* a loose snapshot younger than this is never swept */
#define FILTER_VALUES_MAX 100  /* values of one filter per DescribeImages call */
#define MESSAGE_MAX       300

/* A borrowed-string set (linear: a handful of ids per instance). */
struct strset {
	const char **v;
	size_t n, cap;
};

struct run {
	struct service_context *ctx;
	struct aws_client *aws;
	const struct backup_opts *o;
	const char *tag_key;
	const char *stack; /* ebssh:stack of this stack's backups */
	long min_interval; /* BACKUP_MIN_INTERVAL, seconds */
	long wait_ms;      /* how long to wait for this run's image; 0: not at all */
	char stamp[32];    /* "20240501T0930Z" */
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

/* The set's membership, addition (0 or ERR_NOMEM; x borrowed) and end. */
int backup_set_has(const struct strset *s, const char *x);
int backup_set_add(struct strset *s, const char *x);
void backup_set_free(struct strset *s);

/* A JSON string of s (null for NULL); bytes that are not valid UTF-8 make
 * it ASCII with '?'. NULL when out of memory. */
json_t *backup_jstr(const char *s);

/* 1 when e is AWS's error code. */
int backup_is_aws_code(const struct err *e, const char *code);

/* Appends id to a report array; out of memory sets r->nomem. */
void backup_add_id(struct run *r, json_t *arr, const char *id);

/* Records a failed step in res: {"step", "resource", "code", "message"};
 * AWS's own message is never copied. Marks res failed. */
void backup_add_error(struct run *r, struct result *res, const char *step, const char *resource,
                      const struct err *e, const char *what);

/* backup_rotate.c: the images EC2 lists as this instance's backups (owner
 * self, the three tags as filters; disabled images are not listed); whether
 * an image is one of this stack's backups of the instance: its own three
 * tags (ebssh:backup-of = instance_id, ebssh:managed = true, ebssh:stack =
 * r->stack) and a name "<anything>-<instance_id>-<yyyymmddTHHMMZ>". */
int backup_list_managed(struct run *r, const char *instance_id, struct ec2_image_list *out,
                        struct err *e);
int backup_is_managed(const struct run *r, const struct ec2_image *im, const char *instance_id);
int backup_name_matches(const char *name, const char *instance_id);

/* backup_rotate.c: keeps run_image and the newest `generation` available
 * backups (run_image among them when run_available), every pending or
 * otherwise unsettled one, and deregisters the other available ones and the
 * failed ones with their unshared snapshots. */
void backup_rotate(struct run *r, struct result *res, const char *instance_id,
                   const struct ec2_image_list *managed, const char *run_image, int run_available,
                   int generation);

/* backup_rotate.c: deletes the snapshots earlier runs left behind. */
void backup_sweep(struct run *r, struct result *res, const char *instance_id,
                  const struct ec2_image_list *managed, const char *run_image);

#endif
