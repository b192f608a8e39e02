/* routes/hostkeys: an instance's SSH host keys from its console output; see routes.h. */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/ec2_console.h"

static int text_answer(const struct hostkey_list *keys, struct router_response *resp)
{
	size_t i;
	int rc = 0;

	buf_reset(&resp->body);
	for (i = 0; i < keys->n && rc == 0; i++)
		rc = buf_appendf(&resp->body, "%s %s\n", keys->items[i].type, keys->items[i].key);
	if (rc == 0)
		rc = router_answer(resp, 200, ROUTER_TEXT_PLAIN);
	return rc < 0 ? ERR_NOMEM : 0;
}

static int json_answer(enum routes_target target, const char *name, long index,
                       const char *instance_id, const char *console_timestamp,
                       const struct hostkey_list *keys, struct router_response *resp)
{
	json_t *root, *arr;
	size_t i;

	root = json_pack("{s:s, s:I, s:s, s:s?, s:[]}", routes_target_key(target), name, "index",
	                 (json_int_t)index, "instance_id", instance_id, "console_timestamp",
	                 console_timestamp, "keys");
	arr = root ? json_object_get(root, "keys") : NULL;
	for (i = 0; arr && i < keys->n; i++)
		if (json_array_append_new(arr, json_pack("{s:s, s:s}", "type", keys->items[i].type,
		                                         "key", keys->items[i].key)) < 0)
			arr = NULL;
	if (!arr) {
		json_decref(root);
		return ERR_NOMEM;
	}
	return router_answer_json(resp, 200, root);
}

int routes_hostkeys_answer(enum routes_target target, const char *name, long index,
                           const char *instance_id, const char *console_timestamp, int found,
                           const struct hostkey_list *keys, int json, struct router_response *resp)
{
	if (!found)
		return router_error(
		    resp, 404, "NoHostKeys",
		    "the console of instance %s (#%ld of %s '%s') shows no SSH host "
		    "keys yet: it has not finished booting, or its AMI does not "
		    "print them (no cloud-init)",
		    instance_id, index, routes_target_noun(target), name);
	if (keys->n == 0)
		return router_error(resp, 404, "NoHostKeys",
		                    "the console of instance %s (#%ld of %s '%s') has an SSH host "
		                    "key block but no well-formed key in it",
		                    instance_id, index, routes_target_noun(target), name);
	if (json)
		return json_answer(target, name, index, instance_id, console_timestamp, keys, resp);
	return text_answer(keys, resp);
}

/* One GetConsoleOutput, through the test seam when there is one. */
static int console_call(struct service_context *ctx, const char *instance_id, int latest,
                        struct ec2_console *out, struct err *e)
{
	struct aws_client *aws;

	if (ctx->console_output)
		return ctx->console_output(ctx, instance_id, latest, out, e);
	aws = service_aws(ctx, e);
	if (!aws)
		return e->code;
	return ec2_get_console_output(aws, instance_id, latest, out, e);
}

/* console's keys into *keys; 1 when it had a complete block, 0 when not, or ERR_NOMEM. */
static int console_keys(const struct ec2_console *console, struct hostkey_list *keys)
{
	int rc;

	hostkey_list_free(keys);
	rc = hostkeys_parse_console((const char *)console->output, console->output_len, keys, NULL);
	if (rc == ERR_NOMEM)
		return rc;
	return rc == 0;
}

/*
 * The keys of one instance: the latest console first (Nitro instances
 * show it as it is now); the boot snapshot when the instance cannot give
 * its latest output, or when the latest shows no complete block (it may
 * have scrolled out of EC2's 64 KiB window). *found says whether a block
 * was seen; *timestamp gets the answer's timestamp (owned).
 */
static int read_keys(struct service_context *ctx, const char *instance_id,
                     struct hostkey_list *keys, int *found, char **timestamp, struct err *e)
{
	struct ec2_console c;
	int rc;

	*found = 0;
	*timestamp = NULL;
	memset(&c, 0, sizeof(c));
	rc = console_call(ctx, instance_id, 1, &c, e);
	if (rc == 0) {
		rc = console_keys(&c, keys);
		if (rc < 0)
			goto nomem;
		*found = rc;
		*timestamp = c.timestamp;
		c.timestamp = NULL;
		ec2_console_free(&c);
		if (*found)
			return 0;
	} else if (!ec2_console_latest_unsupported(e)) {
		ec2_console_free(&c);
		return rc;
	}
	ec2_console_free(&c);
	err_clear(e);
	rc = console_call(ctx, instance_id, 0, &c, e);
	if (rc < 0) {
		ec2_console_free(&c);
		return rc;
	}
	rc = console_keys(&c, keys);
	if (rc < 0)
		goto nomem;
	if (rc || !*timestamp) {
		*found = rc;
		free(*timestamp);
		*timestamp = c.timestamp;
		c.timestamp = NULL;
	}
	ec2_console_free(&c);
	return 0;
nomem:
	ec2_console_free(&c);
	free(*timestamp);
	*timestamp = NULL;
	return err_set(e, ERR_NOMEM, "out of memory");
}

int routes_hostkeys(struct service_context *ctx, const struct router_request *req,
                    const struct route_args *args, struct router_response *resp)
{
	enum routes_target target = args->variant == ROUTES_ASG ? ROUTES_ASG : ROUTES_EB;
	struct ec2_instance_list list = {NULL, 0};
	struct hostkey_list keys = {NULL, 0};
	const struct ec2_instance *inst = NULL;
	char *timestamp = NULL;
	long index = 1;
	struct err e;
	int rc, found = 0;

	rc = routes_pick_instance(ctx, req, args, &list, &inst, &index, resp);
	if (rc < 0 || !inst)
		goto out;
	err_clear(&e);
	rc = read_keys(ctx, inst->instance_id, &keys, &found, &timestamp, &e);
	if (rc < 0) {
		if (e.code >= 0)
			err_set(&e, rc, "GetConsoleOutput failed");
		rc = router_error_from(resp, &e);
		goto out;
	}
	rc = routes_hostkeys_answer(target, args->param[0], index, inst->instance_id, timestamp,
	                            found, &keys, routes_wants_json(req), resp);
out:
	free(timestamp);
	hostkey_list_free(&keys);
	ec2_instance_list_free(&list);
	return rc;
}
