/* ops/backup: the AMI backup with rotation, HTTP-free; see backup.h. */
#include "backup.h"
#include "backup_run.h"

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

/* ---- small helpers ---- */

int backup_set_has(const struct strset *s, const char *x)
{
	size_t i;

	for (i = 0; x && i < s->n; i++)
		if (strcmp(s->v[i], x) == 0)
			return 1;
	return 0;
}

int backup_set_add(struct strset *s, const char *x)
{
	const char **p;

	if (!x || backup_set_has(s, x))
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

void backup_set_free(struct strset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* A JSON string of s; bytes that are not valid UTF-8 make it ASCII with '?'. */
json_t *backup_jstr(const char *s)
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

int backup_is_aws_code(const struct err *e, const char *code)
{
	return e->code == ERR_AWS && strcmp(e->aws_code, code) == 0;
}

/* ---- one run ---- */

void backup_add_id(struct run *r, json_t *arr, const char *id)
{
	if (json_array_append_new(arr, backup_jstr(id)) < 0)
		r->nomem = 1;
}

/*
 * Records a failed step: {"step", "resource", "code", "message"}. AWS's own
 * message is never copied (it may echo what was sent); the code, the HTTP
 * status and the request id are.
 */
void backup_add_error(struct run *r, struct result *res, const char *step, const char *resource,
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
	o = json_pack("{s:s, s:o, s:o, s:o}", "step", step, "resource", backup_jstr(resource),
	              "code", backup_jstr(code), "message", backup_jstr(message));
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

/* The image of this run that an earlier attempt made: same name, our tags. */
static int find_existing(struct run *r, struct result *res, const char *instance_id,
                         const char *name, char **image_id)
{
	static const char *const self[] = {"self"};
	const char *v[1] = {name};
	const struct ec2_filter f = {"name", v, 1};
	const struct ec2_image_query q = {self, 1, NULL, 0, &f, 1, 1};
	struct ec2_image_list list = {NULL, 0};
	char what[MESSAGE_MAX + 100];
	struct err e;
	size_t i;
	int found = 0;

	err_clear(&e);
	*image_id = NULL;
	if (ec2_describe_images(r->aws, &q, &list, &e)) {
		backup_add_error(
		    r, res, "DescribeImages", name, &e,
		    "the image name is taken and its image could not be listed; no rotation");
		return -1;
	}
	for (i = 0; i < list.n && !found; i++) {
		const struct ec2_image *im = &list.items[i];
		if (!im->name || strcmp(im->name, name) != 0 ||
		    (im->state && strcmp(im->state, "deregistered") == 0))
			continue;
		found = 1;
		if (!backup_is_managed(r, im, instance_id)) {
			snprintf(what, sizeof(what),
			         "the image %.40s named %.140s is not this stack's backup of %.40s "
			         "(its tags differ); no image made, no rotation",
			         im->image_id, name, instance_id);
			backup_add_error(r, res, "CreateImage", im->image_id, NULL, what);
			break;
		}
		*image_id = strdup(im->image_id);
		if (!*image_id)
			r->nomem = 1;
	}
	if (!found)
		backup_add_error(r, res, "CreateImage", name, NULL,
		                 "EC2 says the name is taken but lists no image of that name yet; "
		                 "no rotation");
	ec2_image_list_free(&list);
	return *image_id ? 0 : -1;
}

static int result_init(struct result *res, const struct ec2_instance *in, const char *name,
                       int generation, int no_reboot)
{
	memset(res, 0, sizeof(*res));
	res->obj = json_pack("{s:o, s:o, s:n, s:n, s:b, s:i, s:b, s:[], s:[], s:[], s:[], s:[]}",
	                     "instance_id", backup_jstr(in->instance_id), "image_name",
	                     backup_jstr(name), "image_created", "image_state", "already_existed",
	                     0, "generation", generation, "no_reboot", no_reboot, "kept",
	                     "deregistered", "snapshots_deleted", "snapshots_in_use", "errors");
	if (!res->obj)
		return ERR_NOMEM;
	res->kept = json_object_get(res->obj, "kept");
	res->deregistered = json_object_get(res->obj, "deregistered");
	res->deleted = json_object_get(res->obj, "snapshots_deleted");
	res->in_use = json_object_get(res->obj, "snapshots_in_use");
	res->errors = json_object_get(res->obj, "errors");
	return 0;
}

static void set_field(struct run *r, struct result *res, const char *key, json_t *v)
{
	if (!v || json_object_set_new(res->obj, key, v) < 0)
		r->nomem = 1;
}

/* ms since the epoch as "2024-05-01T09:30:00Z"; json null when it cannot be written. */
static json_t *iso_time(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(buf);
}

/*
 * The on-demand minimum interval: the instance's newest backup of this
 * stack (any state but failed; deregistered ones are gone) made less than
 * interval seconds before the run's time. 1 (and the report says so) when
 * the run must not make an image, else 0.
 */
static int too_soon(struct run *r, struct result *res, const char *instance_id,
                    const struct ec2_image_list *managed, long interval)
{
	const struct ec2_image *newest = NULL;
	int64_t next;
	size_t i;

	for (i = 0; i < managed->n; i++) {
		const struct ec2_image *im = &managed->items[i];
		if (!backup_is_managed(r, im, instance_id) || !im->creation_ms ||
		    (im->state &&
		     (strcmp(im->state, "failed") == 0 || strcmp(im->state, "deregistered") == 0)))
			continue;
		if (!newest || im->creation_ms > newest->creation_ms)
			newest = im;
	}
	if (!newest)
		return 0;
	next = newest->creation_ms + (int64_t)interval * 1000;
	if ((int64_t)r->o->now * 1000 >= next)
		return 0;
	set_field(r, res, "skipped", json_string("min-interval"));
	set_field(r, res, "newest_backup", backup_jstr(newest->image_id));
	set_field(r, res, "next_allowed", iso_time(next));
	set_field(r, res, "message",
	          json_string("an on-demand backup within the minimum interval since the "
	                      "instance's newest backup: no image made, nothing rotated"));
	return 1;
}

/* The state of image_id in list, or NULL. */
static const char *listed_state(const struct ec2_image_list *list, const char *image_id)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (strcmp(list->items[i].image_id, image_id) == 0)
			return list->items[i].state ? list->items[i].state : "";
	return NULL;
}

/*
 * This run's image's state into state (cap bytes): as the list says, and
 * while it is pending (or not listed yet) DescribeImages of it, with
 * backoff, while r->wait_ms lasts and the invocation's deadline allows. ""
 * when EC2 never listed it.
 */
static void image_state(struct run *r, const struct ec2_image_list *managed, const char *image_id,
                        char *state, size_t cap)
{
	static const char *const self[] = {"self"};
	const char *ids[1] = {image_id};
	const struct ec2_image_query q = {self, 1, ids, 1, NULL, 0, 1};
	const char *st = listed_state(managed, image_id);
	long long start = monotime_ms();
	long wait = IMAGE_POLL_MS;

	snprintf(state, cap, "%s", st ? st : "");
	while ((!*state || strcmp(state, "pending") == 0) &&
	       monotime_ms() - start + wait <= r->wait_ms) {
		struct ec2_image_list one = {NULL, 0};
		struct err e;

		monotime_sleep_ms(wait);
		if (service_out_of_time(r->ctx))
			break;
		wait = wait * 2 > IMAGE_POLL_MAX_MS ? IMAGE_POLL_MAX_MS : wait * 2;
		err_clear(&e);
		if (ec2_describe_images(r->aws, &q, &one, &e) == 0) {
			st = listed_state(&one, image_id);
			if (st)
				snprintf(state, cap, "%s", st);
		} else if (e.code == ERR_NOMEM) {
			r->nomem = 1;
		}
		ec2_image_list_free(&one);
		if (r->nomem)
			break;
	}
}

/* One instance: its image, then rotation and the sweep. The result's JSON
 * goes to r's list; failures are in it, never returned. */
static json_t *backup_instance(struct run *r, const struct ec2_instance *in, int *failed)
{
	const char *name_tag = ec2_instance_tag(in, "Name");
	const char *gen_tag = ec2_instance_tag(in, TAG_GENERATION);
	const char *reboot = ec2_instance_tag(in, TAG_REBOOT);
	const char *interval_tag = ec2_instance_tag(in, TAG_MIN_INTERVAL);
	const struct ec2_kv tags[] = {
	    {TAG_BACKUP_OF, in->instance_id}, {TAG_MANAGED, "true"}, {TAG_STACK, r->stack}};
	char name[EC2_AMI_NAME_MAX + 1], suffix[80], desc[160], state[32];
	struct ec2_create_image_req req;
	struct ec2_image_list managed = {NULL, 0};
	struct result res;
	char *image_id = NULL;
	int generation = gen_tag ? parse_generation(gen_tag) : BACKUP_DEFAULT_GENERATION;
	int no_reboot = !(reboot && strcasecmp(reboot, "true") == 0) ||
	                (r->o->on_demand && !r->o->allow_reboot);
	int rotate_ok = generation > 0, available = 0;
	long interval = r->min_interval;
	struct err e;
	json_t *obj;

	err_clear(&e);
	state[0] = '\0';
	snprintf(suffix, sizeof(suffix), "-%s-%s", in->instance_id, r->stamp);
	if (ec2_ami_name(name, sizeof(name), name_tag && *name_tag ? name_tag : NAME_DEFAULT,
	                 suffix, &e) != 0)
		name[0] = '\0';
	if (result_init(&res, in, name[0] ? name : NULL, generation, no_reboot)) {
		r->nomem = 1;
		return NULL;
	}
	if (!name[0]) {
		backup_add_error(r, &res, "CreateImage", in->instance_id, &e,
		                 "no valid image name; nothing done");
		goto out;
	}
	if (interval_tag &&
	    service_config_min_interval(interval_tag, "the tag " TAG_MIN_INTERVAL, &interval, &e)) {
		backup_add_error(r, &res, "MinInterval", in->instance_id, NULL, e.message);
		goto out;
	}
	if (!rotate_ok) {
		backup_add_error(
		    r, &res, "Rotation", in->instance_id, NULL,
		    "the generation tag is not a whole number from 1 to 100; the image is made "
		    "but nothing is rotated");
		generation = BACKUP_DEFAULT_GENERATION;
	}
	if (r->o->on_demand || r->o->dry_run) {
		if (backup_list_managed(r, in->instance_id, &managed, &e)) {
			backup_add_error(r, &res, "DescribeImages", in->instance_id, &e,
			                 "cannot list the instance's backups; nothing done");
			goto out;
		}
		if (r->o->on_demand && too_soon(r, &res, in->instance_id, &managed, interval))
			goto out;
	}
	if (r->o->dry_run) {
		for (size_t i = 0; i < managed.n && !image_id; i++)
			if (managed.items[i].name && strcmp(managed.items[i].name, name) == 0 &&
			    backup_is_managed(r, &managed.items[i], in->instance_id) &&
			    (!managed.items[i].state ||
			     strcmp(managed.items[i].state, "deregistered") != 0)) {
				image_id = strdup(managed.items[i].image_id);
				if (!image_id)
					r->nomem = 1;
				snprintf(state, sizeof(state), "%s",
				         managed.items[i].state ? managed.items[i].state : "");
				set_field(r, &res, "already_existed", json_true());
			}
	} else {
		snprintf(desc, sizeof(desc), "ebssh backup of %s at %s", in->instance_id, r->stamp);
		memset(&req, 0, sizeof(req));
		req.instance_id = in->instance_id;
		req.name = name;
		req.description = desc;
		req.no_reboot = no_reboot;
		req.image_tags = tags;
		req.n_image_tags = 3;
		req.snapshot_tags = tags;
		req.n_snapshot_tags = 3;
		if (ec2_create_image(r->aws, &req, &image_id, &e) != 0) {
			if (!backup_is_aws_code(&e, "InvalidAMIName.Duplicate")) {
				backup_add_error(r, &res, "CreateImage", in->instance_id, &e,
				                 "no image was made; nothing is rotated");
				goto out;
			}
			if (find_existing(r, &res, in->instance_id, name, &image_id) != 0)
				goto out;
			set_field(r, &res, "already_existed", json_true());
		}
		set_field(r, &res, "image_created", backup_jstr(image_id));
		ec2_image_list_free(&managed);
		if (backup_list_managed(r, in->instance_id, &managed, &e)) {
			backup_add_error(r, &res, "DescribeImages", in->instance_id, &e,
			                 "cannot list the instance's backups; nothing is rotated");
			goto out;
		}
		image_state(r, &managed, image_id, state, sizeof(state));
	}
	if (r->o->dry_run && image_id)
		set_field(r, &res, "image_created", backup_jstr(image_id));
	if (image_id)
		set_field(r, &res, "image_state", state[0] ? backup_jstr(state) : json_null());
	available = image_id && strcmp(state, "available") == 0;
	if (image_id && (strcmp(state, "failed") == 0 || strcmp(state, "invalid") == 0 ||
	                 strcmp(state, "error") == 0)) {
		char what[MESSAGE_MAX];
		snprintf(what, sizeof(what),
		         "this run's image is in state %s: it is no backup; nothing is rotated",
		         state);
		backup_add_error(r, &res, "CreateImage", image_id, NULL, what);
		goto out;
	}
	if (image_id && !available && !r->o->dry_run)
		set_field(
		    r, &res, "note",
		    json_string("this run's image is not available yet: it is kept but counts "
		                "as a generation only once available; a later run rotates "
		                "it in"));
	if (!rotate_ok)
		goto out;
	backup_rotate(r, &res, in->instance_id, &managed, image_id, available, generation);
	backup_sweep(r, &res, in->instance_id, &managed, image_id);
out:
	*failed = res.failed;
	free(image_id);
	ec2_image_list_free(&managed);
	backup_set_free(&res.gone_images);
	backup_set_free(&res.tried_snaps);
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

void backup_opts_init(struct backup_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->now = time(NULL);
	o->on_demand = 1;
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

/* The time ran out: the report says so and names the n instances left. */
static int not_started(struct backup_report *rep, char *const *left, size_t n)
{
	json_t *ids = json_array();
	size_t i;

	rep->partial = 1;
	for (i = 0; ids && i < n; i++)
		if (json_array_append_new(ids, backup_jstr(left[i])) < 0) {
			json_decref(ids);
			ids = NULL;
		}
	if (!ids || json_object_set_new(rep->doc, "not_started", ids) < 0 ||
	    json_object_set_new(rep->doc, "partial", json_true()) < 0)
		return ERR_NOMEM;
	return 0;
}

/* One run's state from its options; 0, or the code with *why and e set. */
static int run_init(struct service_context *ctx, const struct backup_opts *o, struct run *r,
                    enum backup_stop *why, struct err *e)
{
	struct tm tm;
	int rc;

	memset(r, 0, sizeof(*r));
	r->ctx = ctx;
	r->o = o;
	r->stack = service_config_stack_name();
	r->wait_ms = o->image_wait_ms < 0   ? 0
	             : o->image_wait_ms > 0 ? o->image_wait_ms
	                                    : IMAGE_WAIT_MS;
	r->tag_key = o->tag_key ? o->tag_key : service_config_get().backup_tag_key;
	if (!r->tag_key || !*r->tag_key)
		r->tag_key = BACKUP_DEFAULT_TAG;
	r->retry_ms = o->inuse_retry_ms > 0 ? o->inuse_retry_ms : INUSE_RETRY_MS;
	r->attempts = o->inuse_attempts > 0 ? o->inuse_attempts : INUSE_ATTEMPTS;
	rc = service_config_check_tag_key(r->tag_key, e);
	if (!rc)
		rc = service_config_min_interval(service_config_get().backup_min_interval,
		                                 "BACKUP_MIN_INTERVAL", &r->min_interval, e);
	if (rc) {
		*why = BACKUP_STOP_CONFIG;
		return rc;
	}
	if (!gmtime_r(&o->now, &tm) || !strftime(r->stamp, sizeof(r->stamp), "%Y%m%dT%H%MZ", &tm)) {
		*why = BACKUP_STOP_CLOCK;
		return err_set(e, ERR_INTERNAL, "the run's time cannot be written");
	}
	r->aws = service_aws(ctx, e);
	if (!r->aws) {
		*why = BACKUP_STOP_AWS;
		return e->code < 0 ? e->code : ERR_INTERNAL;
	}
	return 0;
}

/* The item of an instance that is not backed up: {"instance_id", "skipped", "message"}. */
static json_t *skipped_item(const char *instance_id, const char *why, const char *message)
{
	return json_pack("{s:o, s:s, s:s}", "instance_id", backup_jstr(instance_id), "skipped", why,
	                 "message", message);
}

/* DescribeInstances failed: the item names the error. */
static json_t *describe_failed_item(struct run *r, const char *instance_id, const struct err *e)
{
	struct result res;
	json_t *obj;

	memset(&res, 0, sizeof(res));
	res.obj = json_pack("{s:o, s:[]}", "instance_id", backup_jstr(instance_id), "errors");
	if (!res.obj)
		return NULL;
	res.errors = json_object_get(res.obj, "errors");
	backup_add_error(r, &res, "DescribeInstances", instance_id, e,
	                 "cannot read the instance's tags; nothing was done");
	obj = res.obj;
	return obj;
}

int backup_instance_run(struct service_context *ctx, const struct backup_opts *o,
                        const char *instance_id, json_t **item, int *failed, struct err *e)
{
	struct ec2_instance_list list = {NULL, 0};
	const struct ec2_instance *in = NULL;
	const char *id[1] = {instance_id};
	const struct ec2_filter f = {"instance-id", id, 1};
	enum backup_stop why;
	struct err de;
	struct run r;
	size_t i;
	int rc;

	err_clear(e);
	*item = NULL;
	*failed = 0;
	if (!instance_id || !*instance_id)
		return err_set(e, ERR_INVALID, "no instance id");
	if (service_out_of_time(ctx))
		return err_set(e, ERR_TIMEOUT,
		               "the invocation's time ran out before the backup of %s started",
		               instance_id);
	rc = run_init(ctx, o, &r, &why, e);
	if (rc)
		return rc;
	err_clear(&de);
	if (ec2_describe_instances(r.aws, &f, 1, &list, &de)) {
		if (de.code == ERR_NOMEM)
			return err_set(e, ERR_NOMEM, "out of memory");
		*item = describe_failed_item(&r, instance_id, &de);
		*failed = 1;
		goto out;
	}
	for (i = 0; i < list.n && !in; i++)
		if (strcmp(list.items[i].instance_id, instance_id) == 0)
			in = &list.items[i];
	if (!in)
		*item = skipped_item(instance_id, "not-found", "EC2 lists no such instance");
	else if (!ec2_instance_tag(in, r.tag_key) ||
	         strcasecmp(ec2_instance_tag(in, r.tag_key), "on") != 0)
		*item = skipped_item(instance_id, "not-tagged",
		                     "the instance is no longer tagged for backup");
	else if (!wants_backup(in, r.tag_key))
		*item = skipped_item(instance_id, "state",
		                     "the instance is neither running nor stopped");
	else
		*item = backup_instance(&r, in, failed);
out:
	ec2_instance_list_free(&list);
	if (!*item || r.nomem) {
		json_decref(*item);
		*item = NULL;
		*failed = 0;
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

void backup_fleet_free(char **ids, size_t n)
{
	size_t i;

	for (i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int backup_fleet(struct service_context *ctx, const struct backup_opts *o, char ***ids, size_t *n,
                 struct err *e)
{
	static const char *const states[] = {"running", "stopped"};
	struct ec2_instance_list list = {NULL, 0};
	const char *tag_key = o->tag_key ? o->tag_key : service_config_get().backup_tag_key;
	const char *key_value[1];
	struct ec2_filter filters[2];
	struct aws_client *aws = NULL;
	char *key_literal = NULL, **out = NULL;
	size_t i, k = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (!tag_key || !*tag_key)
		tag_key = BACKUP_DEFAULT_TAG;
	rc = service_config_check_tag_key(tag_key, e);
	if (rc)
		return rc;
	if (!ctx->describe_instances && !(aws = service_aws(ctx, e)))
		return e && e->code < 0 ? e->code : ERR_INTERNAL;
	key_literal = ec2_filter_literal(tag_key);
	if (!key_literal)
		return err_set(e, ERR_NOMEM, "out of memory");
	key_value[0] = key_literal;
	filters[0] = (struct ec2_filter){"tag-key", key_value, 1};
	filters[1] = (struct ec2_filter){"instance-state-name", states, 2};
	rc = ctx->describe_instances ? ctx->describe_instances(ctx, filters, 2, &list, e)
	                             : ec2_describe_instances(aws, filters, 2, &list, e);
	free(key_literal);
	if (rc)
		return rc;
	out = calloc(list.n + 1, sizeof(char *));
	for (i = 0; out && i < list.n; i++) {
		if (!wants_backup(&list.items[i], tag_key))
			continue;
		out[k] = strdup(list.items[i].instance_id);
		if (!out[k]) {
			backup_fleet_free(out, k);
			out = NULL;
			break;
		}
		k++;
	}
	ec2_instance_list_free(&list);
	if (!out)
		return err_set(e, ERR_NOMEM, "out of memory");
	qsort(out, k, sizeof(char *), by_string);
	*ids = out;
	*n = k;
	return 0;
}

int backup_run(struct service_context *ctx, const struct backup_opts *o, struct backup_report *rep,
               struct err *e)
{
	char **sel = NULL;
	enum backup_stop why = BACKUP_STOP_NONE;
	struct run r;
	json_t *arr, *item;
	size_t i, n = 0;
	int rc, inst_failed;

	err_clear(e);
	backup_report_init(rep);
	rc = run_init(ctx, o, &r, &why, e);
	if (rc)
		return stopped(rep, why, rc);
	rc = backup_fleet(ctx, o, &sel, &n, e);
	if (rc)
		return stopped(rep, BACKUP_STOP_AWS, rc);
	rep->doc = json_pack("{s:b, s:s, s:s, s:[]}", "dry_run", o->dry_run, "time", r.stamp,
	                     "tag_key", r.tag_key, "instances");
	rc = rep->doc ? 0 : ERR_NOMEM;
	arr = json_object_get(rep->doc, "instances");
	for (i = 0; !rc && i < n && !r.nomem; i++) {
		if (service_out_of_time(ctx)) {
			rc = not_started(rep, sel + i, n - i);
			break;
		}
		inst_failed = 0;
		rc = backup_instance_run(ctx, o, sel[i], &item, &inst_failed, e);
		if (rc == ERR_TIMEOUT) {
			rc = not_started(rep, sel + i, n - i);
			break;
		}
		if (rc)
			break;
		if (json_array_append_new(arr, item) < 0)
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
	backup_fleet_free(sel, n);
	if (rc) {
		backup_report_free(rep);
		if (rc == ERR_NOMEM || !e->code)
			return err_set(e, ERR_NOMEM, "out of memory");
		return rc;
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
	o->on_demand = 0;
	if (t != (time_t)-1)
		o->now = t;
}
