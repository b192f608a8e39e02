/* routes/eb_ip: /health and the instance lookups of EB environments and ASGs; see routes.h. */
#include "routes.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../util/decimal.h"
#include "lookup_cache.h"

#define ACCEPT_MAX_RANGES 64 /* media ranges looked at per Accept header */

static const char *target_tag(enum routes_target t)
{
	return t == ROUTES_ASG ? "aws:autoscaling:groupName" : "elasticbeanstalk:environment-name";
}

const char *routes_target_key(enum routes_target t)
{
	return t == ROUTES_ASG ? "group" : "environment";
}

const char *routes_target_noun(enum routes_target t)
{
	return t == ROUTES_ASG ? "Auto Scaling group" : "Elastic Beanstalk environment";
}

static const char *address_name(enum routes_address a)
{
	return a == ROUTES_ADDRESS_PRIVATE ? "private" : "public";
}

int routes_check_eb_name(const char *name, struct err *e)
{
	size_t i, len = strlen(name);

	if (len < 4 || len > 40)
		return err_set(e, ERR_INVALID,
		               "an environment name has 4 to 40 characters, not %zu", len);
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return err_set(e, ERR_INVALID,
			               "an environment name has only letters, digits and hyphens");
	}
	if (name[0] == '-' || name[len - 1] == '-')
		return err_set(e, ERR_INVALID,
		               "an environment name neither starts nor ends with a hyphen");
	return 0;
}

int routes_check_asg_name(const char *name, struct err *e)
{
	size_t i, len = strlen(name);

	if (len < 1 || len > 255)
		return err_set(e, ERR_INVALID, "a group name has 1 to 255 characters, not %zu",
		               len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 33 || c > 126 || c == ':')
			return err_set(
			    e, ERR_INVALID,
			    "a group name has only ASCII characters 33 to 126 and no ':'");
	}
	return 0;
}

int routes_parse_index(const char *s, long *out, struct err *e)
{
	int64_t v;

	if (decimal_parse(s, strlen(s), 4, DECIMAL_NO_LEADING_ZERO, 1, ROUTES_MAX_INDEX, &v))
		return err_set(e, ERR_INVALID, "an index is a whole number from 1 to %d",
		               ROUTES_MAX_INDEX);
	*out = (long)v;
	return 0;
}

/* Trims spaces and tabs around [*b, *end). */
static void trim(const char **b, const char **end)
{
	while (*b < *end && (**b == ' ' || **b == '\t'))
		(*b)++;
	while (*end > *b && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
		(*end)--;
}

static int token_is(const char *b, const char *end, const char *want)
{
	size_t n = strlen(want);
	return (size_t)(end - b) == n && strncasecmp(b, want, n) == 0;
}

/* The q parameter among ";a=b;q=0.5" as 0..1000; 1000 when absent or malformed. */
static int media_q(const char *p, const char *end)
{
	while (p < end) {
		const char *next = memchr(p, ';', (size_t)(end - p));
		const char *pe = next ? next : end, *b = p;
		trim(&b, &pe);
		if (pe - b >= 2 && (b[0] == 'q' || b[0] == 'Q') && b[1] == '=') {
			int q = 0, scale = 100;
			b += 2;
			if (b < pe && *b == '1')
				return 1000;
			if (b >= pe || *b != '0')
				return 1000;
			for (b++, b += (b < pe && *b == '.'); b < pe && scale; b++, scale /= 10) {
				if (*b < '0' || *b > '9')
					return 1000;
				q += (*b - '0') * scale;
			}
			return q;
		}
		p = next ? next + 1 : end;
	}
	return 1000;
}

int routes_wants_json(const struct router_request *req)
{
	int q_json = 0, q_text = 0, text_spec = 0;
	size_t h;

	for (h = 0; h < req->n_headers; h++) {
		const char *p;
		int ranges = 0;
		if (strcasecmp(req->headers[h].name, "Accept") != 0)
			continue;
		for (p = req->headers[h].value; *p && ranges < ACCEPT_MAX_RANGES; ranges++) {
			const char *comma = strchr(p, ',');
			const char *re = comma ? comma : p + strlen(p);
			const char *semi = memchr(p, ';', (size_t)(re - p));
			const char *tb = p, *te = semi ? semi : re;
			int q = semi ? media_q(semi + 1, re) : 1000, spec = 0;
			trim(&tb, &te);
			if (token_is(tb, te, "application/json") && q > q_json)
				q_json = q;
			if (token_is(tb, te, "text/plain"))
				spec = 3;
			else if (token_is(tb, te, "text/*"))
				spec = 2;
			else if (token_is(tb, te, "*/*"))
				spec = 1;
			if (spec > text_spec || (spec && spec == text_spec && q > q_text)) {
				text_spec = spec;
				q_text = q;
			}
			p = comma ? comma + 1 : re;
		}
	}
	return q_json > 0 && q_json >= q_text;
}

/* Oldest launch first, unknown launch times last, then by instance id. */
static int by_launch(const void *a, const void *b)
{
	const struct ec2_instance *x = *(const struct ec2_instance *const *)a;
	const struct ec2_instance *y = *(const struct ec2_instance *const *)b;
	int64_t tx = x->launch_time_ms > 0 ? x->launch_time_ms : INT64_MAX;
	int64_t ty = y->launch_time_ms > 0 ? y->launch_time_ms : INT64_MAX;

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(x->instance_id ? x->instance_id : "", y->instance_id ? y->instance_id : "");
}

/*
 * The running instances whose tag is exactly name, ordered; *out is
 * malloc'd (NULL when none). Returns the count, or -1 when out of memory.
 */
static long select_running(enum routes_target target, const char *name,
                           const struct ec2_instance_list *list, const struct ec2_instance ***out)
{
	const struct ec2_instance **sel;
	size_t i, n = 0;

	*out = NULL;
	if (!list->n)
		return 0;
	sel = calloc(list->n, sizeof(const struct ec2_instance *));
	if (!sel)
		return -1;
	for (i = 0; i < list->n; i++) {
		const struct ec2_instance *in = &list->items[i];
		const char *tag = ec2_instance_tag(in, target_tag(target));
		if (!in->instance_id || !in->state || strcmp(in->state, "running") != 0 || !tag ||
		    strcmp(tag, name) != 0)
			continue;
		sel[n++] = in;
	}
	if (!n) {
		free(sel);
		return 0;
	}
	qsort(sel, n, sizeof(const struct ec2_instance *), by_launch);
	*out = sel;
	return (long)n;
}

static const char *address_of(const struct ec2_instance *in, enum routes_address a)
{
	const char *ip = a == ROUTES_ADDRESS_PRIVATE ? in->private_ip : in->public_ip;
	return ip && *ip ? ip : NULL;
}

/* One instance's JSON object; ip is the asked address, or NULL to leave "ip" out. */
static json_t *instance_json(const struct ec2_instance *in, long index, const char *ip)
{
	json_t *o =
	    json_pack("{s:I, s:s}", "index", (json_int_t)index, "instance_id", in->instance_id);

	if (o && ip && json_object_set_new(o, "ip", json_string(ip)) < 0)
		goto fail;
	if (o && json_object_update_new(
	             o, json_pack("{s:s?, s:s?, s:s?, s:s?}", "private_ip", in->private_ip,
	                          "public_ip", in->public_ip, "launch_time", in->launch_time,
	                          "availability_zone", in->availability_zone)) < 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

int routes_ip_answer(enum routes_target target, const char *name, long index,
                     enum routes_address address, int json, const struct ec2_instance_list *list,
                     struct router_response *resp)
{
	const struct ec2_instance **sel = NULL;
	long n_running, n = 0, i, from, to;
	json_t *root = NULL, *arr;
	int rc = 0;

	n_running = select_running(target, name, list, &sel);
	if (n_running < 0)
		return ERR_NOMEM;
	if (n_running == 0) {
		rc = router_error(resp, 404, "NotFound", "no running instance in %s '%s'",
		                  routes_target_noun(target), name);
		goto out;
	}
	for (i = 0; i < n_running; i++)
		if (address_of(sel[i], address))
			sel[n++] = sel[i];
	if (n == 0) {
		rc = router_error(resp, 404, "NotFound",
		                  "none of the %ld running instances in %s '%s' has a %s address",
		                  n_running, routes_target_noun(target), name,
		                  address_name(address));
		goto out;
	}
	if (index > n) {
		rc = router_error(resp, 404, "NotFound",
		                  "%s '%s' has %ld running instance%s with a %s address, no #%ld",
		                  routes_target_noun(target), name, n, n == 1 ? "" : "s",
		                  address_name(address), index);
		goto out;
	}
	from = index ? index - 1 : 0;
	to = index ? index : n;
	if (!json) {
		buf_reset(&resp->body);
		for (i = from; i < to && rc == 0; i++)
			rc = buf_appendf(&resp->body, "%s\n", address_of(sel[i], address));
		if (rc == 0)
			rc = router_answer(resp, 200, ROUTER_TEXT_PLAIN);
		rc = rc < 0 ? ERR_NOMEM : 0;
		goto out;
	}
	root = json_pack("{s:s, s:s, s:[]}", routes_target_key(target), name, "address",
	                 address_name(address), "instances");
	arr = root ? json_object_get(root, "instances") : NULL;
	for (i = from; arr && i < to; i++)
		if (json_array_append_new(
		        arr, instance_json(sel[i], i + 1, address_of(sel[i], address))) < 0)
			arr = NULL;
	if (!arr) {
		json_decref(root);
		rc = ERR_NOMEM;
		goto out;
	}
	rc = router_answer_json(resp, 200, root);
out:
	free(sel);
	return rc;
}

int routes_instances_answer(enum routes_target target, const char *name,
                            const struct ec2_instance_list *list, struct router_response *resp)
{
	const struct ec2_instance **sel = NULL;
	json_t *root, *arr;
	long n, i;
	int rc;

	n = select_running(target, name, list, &sel);
	if (n < 0)
		return ERR_NOMEM;
	if (n == 0)
		return router_error(resp, 404, "NotFound", "no running instance in %s '%s'",
		                    routes_target_noun(target), name);
	root = json_pack("{s:s, s:[]}", routes_target_key(target), name, "instances");
	arr = root ? json_object_get(root, "instances") : NULL;
	for (i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, instance_json(sel[i], i + 1, NULL)) < 0)
			arr = NULL;
	free(sel);
	if (!arr) {
		json_decref(root);
		return ERR_NOMEM;
	}
	rc = router_answer_json(resp, 200, root);
	return rc;
}

/* The name check of the target; on failure a 400 InvalidName answer. */
static int check_name(enum routes_target target, const char *name, struct router_response *resp,
                      int *ok)
{
	struct err e;
	int rc;

	err_clear(&e);
	rc =
	    target == ROUTES_ASG ? routes_check_asg_name(name, &e) : routes_check_eb_name(name, &e);
	*ok = rc == 0;
	if (rc == 0)
		return 0;
	return router_error(resp, 400, "InvalidName", "'%.64s%s' is not a valid %s name: %s", name,
	                    strlen(name) > 64 ? "..." : "", routes_target_noun(target), e.message);
}

/*
 * The arguments of an instance's route, {name}[/{n}][?address=public|private]:
 * checks the name, and sets *index (left as it is without {n}) and
 * *address. *ok is 1 when they are good; else 0, and resp holds the 400.
 */
static int instance_args(const struct router_request *req, const struct route_args *args,
                         long *index, enum routes_address *address, struct router_response *resp,
                         int *ok)
{
	enum routes_target target = args->variant == ROUTES_ASG ? ROUTES_ASG : ROUTES_EB;
	const char *addr;
	struct err e;
	int rc;

	*address = ROUTES_ADDRESS_PUBLIC;
	rc = check_name(target, args->param[0], resp, ok);
	if (!*ok)
		return rc;
	*ok = 0;
	err_clear(&e);
	if (args->n_params > 1 && routes_parse_index(args->param[1], index, &e) < 0)
		return router_error(resp, 400, "InvalidIndex", "'%.16s%s' is not a valid index: %s",
		                    args->param[1], strlen(args->param[1]) > 16 ? "..." : "",
		                    e.message);
	addr = router_query(req, "address");
	if (addr && strcmp(addr, "private") == 0)
		*address = ROUTES_ADDRESS_PRIVATE;
	else if (addr && strcmp(addr, "public") != 0)
		return router_error(resp, 400, "InvalidParameter",
		                    "address is 'public' or 'private', not '%.32s'", addr);
	*ok = 1;
	return 0;
}

/* DescribeInstances of the running instances tagged name. */
static int fetch(struct service_context *ctx, enum routes_target target, const char *name,
                 struct ec2_instance_list *list, struct err *e)
{
	static const char *const running[] = {"running"};
	const char *values[1];
	struct ec2_filter filters[2];
	struct aws_client *aws;
	char *value;
	int rc;

	value = ec2_filter_literal(name);
	if (!value)
		return err_set(e, ERR_NOMEM, "out of memory");
	values[0] = value;
	filters[0].name = target == ROUTES_ASG ? "tag:aws:autoscaling:groupName"
	                                       : "tag:elasticbeanstalk:environment-name";
	filters[0].values = values;
	filters[0].n_values = 1;
	filters[1].name = "instance-state-name";
	filters[1].values = running;
	filters[1].n_values = 1;
	if (ctx->describe_instances) {
		rc = ctx->describe_instances(ctx, filters, 2, list, e);
		goto out;
	}
	aws = service_aws(ctx, e);
	if (!aws) {
		rc = e->code;
		goto out;
	}
	rc = ec2_describe_instances(aws, filters, 2, list, e);
out:
	free(value);
	if (rc < 0 && e->code >= 0)
		err_set(e, rc, "DescribeInstances failed");
	return rc;
}

struct fetch_args {
	struct service_context *ctx;
	enum routes_target target;
	const char *name;
};

static int fetch_cb(void *arg, struct ec2_instance_list *out, struct err *e)
{
	struct fetch_args *a = arg;

	return fetch(a->ctx, a->target, a->name, out, e);
}

/* The target's instances through the context's lookup cache (none: a fetch). */
static int cached_fetch(struct service_context *ctx, enum routes_target target, const char *name,
                        struct lookup_list **out, struct err *e)
{
	struct fetch_args a = {ctx, target, name};

	return lookup_cache_get(ctx->lookup_cache, (int)target, name, service_now_ms(ctx), fetch_cb,
	                        &a, out, e);
}

int routes_ip(struct service_context *ctx, const struct router_request *req,
              const struct route_args *args, struct router_response *resp)
{
	enum routes_target target = args->variant == ROUTES_ASG ? ROUTES_ASG : ROUTES_EB;
	enum routes_address address;
	struct lookup_list *list;
	const char *name = args->param[0];
	struct err e;
	long index = 0;
	int rc, ok;

	rc = instance_args(req, args, &index, &address, resp, &ok);
	if (!ok)
		return rc;
	err_clear(&e);
	rc = cached_fetch(ctx, target, name, &list, &e);
	if (rc < 0)
		return router_error_from(resp, &e);
	rc = routes_ip_answer(target, name, index, address, routes_wants_json(req),
	                      lookup_list_items(list), resp);
	lookup_list_release(list);
	return rc;
}

int routes_pick_instance(struct service_context *ctx, const struct router_request *req,
                         const struct route_args *args, struct ec2_instance_list *list,
                         const struct ec2_instance **out, long *index, struct router_response *resp)
{
	enum routes_target target = args->variant == ROUTES_ASG ? ROUTES_ASG : ROUTES_EB;
	enum routes_address address;
	const struct ec2_instance **sel = NULL;
	const char *name = args->param[0];
	long n_running, n = 0, i;
	struct err e;
	int rc, ok;

	*out = NULL;
	*index = 1;
	rc = instance_args(req, args, index, &address, resp, &ok);
	if (!ok)
		return rc;
	err_clear(&e);
	rc = fetch(ctx, target, name, list, &e);
	if (rc < 0)
		return router_error_from(resp, &e);
	n_running = select_running(target, name, list, &sel);
	if (n_running < 0)
		return ERR_NOMEM;
	for (i = 0; i < n_running; i++)
		if (address_of(sel[i], address))
			sel[n++] = sel[i];
	if (n_running == 0)
		rc = router_error(resp, 404, "NotFound", "no running instance in %s '%s'",
		                  routes_target_noun(target), name);
	else if (n == 0)
		rc = router_error(resp, 404, "NotFound",
		                  "none of the %ld running instances in %s '%s' has a %s address",
		                  n_running, routes_target_noun(target), name,
		                  address_name(address));
	else if (*index > n)
		rc = router_error(resp, 404, "NotFound",
		                  "%s '%s' has %ld running instance%s with a %s address, no #%ld",
		                  routes_target_noun(target), name, n, n == 1 ? "" : "s",
		                  address_name(address), *index);
	else
		*out = sel[*index - 1];
	free(sel);
	return rc;
}

int routes_instances(struct service_context *ctx, const struct router_request *req,
                     const struct route_args *args, struct router_response *resp)
{
	enum routes_target target = args->variant == ROUTES_ASG ? ROUTES_ASG : ROUTES_EB;
	struct lookup_list *list;
	struct err e;
	int rc, ok;

	(void)req;
	rc = check_name(target, args->param[0], resp, &ok);
	if (!ok)
		return rc;
	err_clear(&e);
	rc = cached_fetch(ctx, target, args->param[0], &list, &e);
	if (rc < 0)
		return router_error_from(resp, &e);
	rc = routes_instances_answer(target, args->param[0], lookup_list_items(list), resp);
	lookup_list_release(list);
	return rc;
}

int routes_health(struct service_context *ctx, const struct router_request *req,
                  const struct route_args *args, struct router_response *resp)
{
	(void)ctx;
	(void)req;
	(void)args;
	buf_reset(&resp->body);
	if (buf_append_str(&resp->body, "ok\n") < 0)
		return ERR_NOMEM;
	return router_answer(resp, 200, ROUTER_TEXT_PLAIN);
}
