/*
 * backup_run: a test driver for the AMI backup route. Runs one backup
 * against the AWS endpoint of the environment (the double) and prints the
 * answer's status on the first line, then its body.
 *
 *   backup_run [--now TIME] [--dry-run] [--tag-key K] [--retry-ms N] [--attempts N]
 *              [--on-demand] [--allow-reboot] [--wait-ms N]
 *       routes_backup_run with the run's time TIME (epoch seconds or
 *       2024-05-01T09:30:00Z; default the clock); a run like the scheduled
 *       one (on_demand 0) unless --on-demand
 *   backup_run --instance ID [the options above]
 *       backup_instance_run of that one instance: prints 200 (or 502 when it
 *       failed) and the instance's item, or 500 and the error
 *   backup_run --router METHOD PATH [QUERY]
 *       router_handle with that request (QUERY "dry_run=true"), real clock
 *   backup_run --scheduled RULE TIME
 *       what the runtime does with a scheduled event: routes_backup_scheduled
 *       when backup_rule_matches(RULE), else prints "NO-MATCH"
 *
 * Exit 0 when an answer was printed (whatever its status), 2 on bad usage,
 * 1 when even the answer could not be built.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/client.h"
#include "aws/http.h"
#include "lambda/router/router.h"
#include "lambda/router/routes.h"

static struct aws_client *get_client(struct service_context *ctx, struct err *e)
{
	(void)ctx;
	return aws_client_new(e);
}

static int usage(void)
{
	fprintf(stderr,
	        "usage: backup_run [--now TIME] [--dry-run] [--tag-key K] [--retry-ms N] "
	        "[--attempts N] [--on-demand] [--allow-reboot] [--wait-ms N] [--instance ID]\n"
	        "       backup_run --router METHOD PATH [QUERY]\n"
	        "       backup_run --scheduled RULE TIME\n");
	return 2;
}

static int parse_time(const char *s, time_t *out)
{
	struct tm tm;
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s && !*end) {
		*out = (time_t)v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* "a=b&c=d" into the request's query (no decoding: the tests pass plain text). */
static int add_query(struct router_request *req, char *q)
{
	char *pair, *save = NULL;

	for (pair = strtok_r(q, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(pair, '=');
		if (eq)
			*eq = '\0';
		if (router_pair_add(&req->query, &req->n_query, pair, eq ? eq + 1 : ""))
			return -1;
	}
	return 0;
}

/* --instance: backup_instance_run, its item printed. */
static int run_one(struct service_context *ctx, const struct backup_opts *o, const char *id)
{
	json_t *item = NULL;
	struct err e;
	char *text;
	int failed = 0, rc;

	rc = backup_instance_run(ctx, o, id, &item, &failed, &e);
	if (rc) {
		printf("500\n{\"code\": \"%s\"}", err_code_name(rc));
		return 0;
	}
	text = json_dumps(item, JSON_COMPACT);
	json_decref(item);
	if (!text)
		return 1;
	printf("%d\n%s", failed ? 502 : 200, text);
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	struct service_context ctx;
	struct router_request req;
	struct router_response resp;
	struct backup_opts o;
	struct err e;
	const char *instance = NULL;
	int i, rc = 0, mode = 0;

	err_clear(&e);
	memset(&ctx, 0, sizeof(ctx));
	ctx.aws_get = get_client;
	backup_opts_init(&o);
	o.on_demand = 0;
	router_request_init(&req);
	router_response_init(&resp);
	if (argc >= 4 && strcmp(argv[1], "--router") == 0) {
		mode = 1;
		req.caller.key = ROUTER_KEY_OPS; /* an operator holding the ops key */
		req.method = strdup(argv[2]);
		req.path = strdup(argv[3]);
		if (!req.method || !req.path || (argc >= 5 && add_query(&req, argv[4]))) {
			rc = 1;
			goto out;
		}
	} else if (argc == 4 && strcmp(argv[1], "--scheduled") == 0) {
		mode = 2;
	} else {
		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--dry-run") == 0)
				o.dry_run = 1;
			else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc)
				rc = parse_time(argv[++i], &o.now);
			else if (strcmp(argv[i], "--tag-key") == 0 && i + 1 < argc)
				o.tag_key = argv[++i];
			else if (strcmp(argv[i], "--retry-ms") == 0 && i + 1 < argc)
				o.inuse_retry_ms = atol(argv[++i]);
			else if (strcmp(argv[i], "--attempts") == 0 && i + 1 < argc)
				o.inuse_attempts = atoi(argv[++i]);
			else if (strcmp(argv[i], "--on-demand") == 0)
				o.on_demand = 1;
			else if (strcmp(argv[i], "--wait-ms") == 0 && i + 1 < argc)
				o.image_wait_ms = atol(argv[++i]);
			else if (strcmp(argv[i], "--allow-reboot") == 0)
				o.allow_reboot = 1;
			else if (strcmp(argv[i], "--instance") == 0 && i + 1 < argc)
				instance = argv[++i];
			else
				return usage();
			if (rc)
				return usage();
		}
	}
	if (http_global_init(&e)) {
		fprintf(stderr, "backup_run: %s\n", e.message);
		rc = 1;
		goto out;
	}
	if (mode == 1) {
		rc = router_handle(&ctx, &req, &resp);
	} else if (mode == 2) {
		if (!backup_rule_matches(argv[2])) {
			printf("NO-MATCH\n");
			goto out;
		}
		rc = routes_backup_scheduled(&ctx, argv[3], &resp);
	} else if (instance) {
		rc = run_one(&ctx, &o, instance);
		goto out;
	} else {
		rc = routes_backup_run(&ctx, &o, &resp);
	}
	if (rc) {
		fprintf(stderr, "backup_run: no answer (%s)\n", err_code_name(rc));
		rc = 1;
		goto out;
	}
	printf("%d\n%s", resp.status, buf_str(&resp.body));
	if (resp.error.code)
		fprintf(stderr, "backup_run: logged error: %s\n", resp.error.message);
out:
	fflush(stdout);
	aws_client_free(ctx.aws);
	router_request_free(&req);
	router_response_free(&resp);
	return rc;
}
