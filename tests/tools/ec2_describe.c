/*
 * ec2_describe: a test driver for the AWS layer. Runs DescribeInstances
 * through aws_client (credentials, endpoint, SigV4, retries) with the filters
 * given as NAME=VALUE arguments and prints one JSON object: either
 * {"instances": [{"id", "state", "public_ip", "private_ip", "launch_time"}...]}
 * or {"error": {"code", "aws_code", "request_id", "http_status", "message"}}.
 * Exit 0 on success, 1 on an AWS-layer error, 2 on bad usage.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/ec2.h"
#include "aws/http.h"

#define MAX_FILTERS 8

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *instances_json(const struct ec2_instance_list *list)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < list->n; i++) {
		const struct ec2_instance *in = &list->items[i];

		json_array_append_new(
		    arr, json_pack("{s:s, s:o, s:o, s:o, s:o}", "id", in->instance_id, "state",
		                   str_or_null(in->state), "public_ip", str_or_null(in->public_ip),
		                   "private_ip", str_or_null(in->private_ip), "launch_time",
		                   str_or_null(in->launch_time)));
	}
	return json_pack("{s:o}", "instances", arr);
}

static json_t *error_json(int rc, const struct err *e)
{
	return json_pack("{s:{s:s, s:s, s:s, s:I, s:s}}", "error", "code", err_code_name(rc),
	                 "aws_code", e->aws_code, "request_id", e->request_id, "http_status",
	                 (json_int_t)e->http_status, "message", e->message);
}

int main(int argc, char **argv)
{
	struct ec2_filter filters[MAX_FILTERS];
	const char *values[MAX_FILTERS];
	struct ec2_instance_list list = {NULL, 0};
	struct aws_client *client = NULL;
	struct err e;
	json_t *out;
	int i, rc, n = 0;

	err_clear(&e);
	for (i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq || n == MAX_FILTERS) {
			fprintf(stderr, "usage: ec2_describe [FILTER=VALUE]...\n");
			return 2;
		}
		*eq = '\0';
		values[n] = eq + 1;
		filters[n] = (struct ec2_filter){argv[i], &values[n], 1};
		n++;
	}
	rc = http_global_init(&e);
	if (!rc) {
		client = aws_client_new(&e);
		rc = client ? 0 : (e.code ? e.code : ERR_INTERNAL);
	}
	if (!rc)
		rc = ec2_describe_instances(client, filters, (size_t)n, &list, &e);
	out = rc ? error_json(rc, &e) : instances_json(&list);
	if (!out || json_dumpf(out, stdout, JSON_COMPACT) != 0)
		rc = ERR_NOMEM;
	putchar('\n');
	json_decref(out);
	ec2_instance_list_free(&list);
	aws_client_free(client);
	http_global_cleanup();
	return rc ? 1 : 0;
}
