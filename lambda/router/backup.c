/* router/backup: POST /backup/ami, the AMI backup's report as an answer; see routes.h. */
#include "routes.h"

#include <string.h>

#include "../config.h"
#include "../ops/backup_queue.h"

/* The answer of one run: its report, or why it did not start. */
static int render(int rc, struct backup_report *rep, const struct err *e,
                  struct router_response *resp)
{
	if (rc == ERR_NOMEM)
		return ERR_NOMEM;
	if (rc && rep->stop == BACKUP_STOP_CONFIG) {
		resp->error = *e;
		return router_error(resp, 500, "ConfigError", "%s", e->message);
	}
	if (rc && rep->stop == BACKUP_STOP_CLOCK)
		return router_error(resp, 500, "InternalError", "%s", e->message);
	if (rc)
		return router_error_from(resp, e);
	rc = router_answer_json(resp, rep->failed || rep->partial ? 502 : 200,
	                        json_incref(rep->doc));
	if (!rc && rep->failed)
		err_set(&resp->error, ERR_AWS, "AMI backup: %d instance(s) failed", rep->failed);
	else if (!rc && rep->partial)
		err_set(&resp->error, ERR_TIMEOUT, "AMI backup: the time ran out");
	return rc;
}

int routes_backup_run(struct service_context *ctx, const struct backup_opts *o,
                      struct router_response *resp)
{
	struct backup_report rep;
	struct err e;
	int rc;

	rc = backup_run(ctx, o, &rep, &e);
	rc = render(rc, &rep, &e, resp);
	backup_report_free(&rep);
	return rc;
}

int routes_backup_scheduled(struct service_context *ctx, const char *event_time,
                            struct router_response *resp)
{
	struct backup_opts o;

	backup_opts_scheduled(&o, event_time);
	return routes_backup_run(ctx, &o, resp);
}

/* A true/false query parameter into *out; 0, or 1 when it is neither. */
static int flag(const struct router_request *req, const char *name, int *out)
{
	const char *v = router_query(req, name);

	if (!v || strcmp(v, "false") == 0)
		return 0;
	if (strcmp(v, "true") != 0)
		return 1;
	*out = 1;
	return 0;
}

/* The fan-out's answer: 202 with what was queued, 502 with the same report
 * when an item could not be queued or the time ran out. */
static int fan_out(struct service_context *ctx, const struct backup_opts *o, const char *queue_url,
                   struct router_response *resp)
{
	struct backup_fanout f;
	struct err e;
	int rc;

	rc = backup_queue_fanout(ctx, o, queue_url, &f, &e);
	if (rc == ERR_NOMEM)
		return ERR_NOMEM;
	if (rc == ERR_INVALID) {
		resp->error = e;
		return router_error(resp, 500, "ConfigError", "%s", e.message);
	}
	if (rc)
		return router_error_from(resp, &e);
	rc = router_answer_json(resp, f.not_queued || f.partial ? 502 : 202, json_incref(f.doc));
	if (!rc && f.not_queued)
		err_set(&resp->error, ERR_AWS, "AMI backup: %zu work item(s) not queued",
		        f.not_queued);
	else if (!rc && f.partial)
		err_set(&resp->error, ERR_TIMEOUT, "AMI backup: the time ran out while queueing");
	backup_fanout_free(&f);
	return rc;
}

/* ?wait=true with a queue: the synchronous run, for a fleet of at most
 * BACKUP_WAIT_MAX instances. */
static int wait_run(struct service_context *ctx, const struct backup_opts *o,
                    struct router_response *resp)
{
	char **ids = NULL;
	size_t n = 0;
	struct err e;
	int rc;

	rc = backup_fleet(ctx, o, &ids, &n, &e);
	backup_fleet_free(ids, n);
	if (rc == ERR_NOMEM)
		return ERR_NOMEM;
	if (rc == ERR_INVALID) {
		resp->error = e;
		return router_error(resp, 500, "ConfigError", "%s", e.message);
	}
	if (rc)
		return router_error_from(resp, &e);
	if (n > BACKUP_WAIT_MAX)
		return router_error(resp, 400, "FleetTooLarge",
		                    "wait=true backs up at most %d instances synchronously and the "
		                    "fleet has %zu: call without wait to queue one work item per "
		                    "instance",
		                    BACKUP_WAIT_MAX, n);
	return routes_backup_run(ctx, o, resp);
}

int routes_backup(struct service_context *ctx, const struct router_request *req,
                  const struct route_args *args, struct router_response *resp)
{
	const char *queue_url = service_config_get().backup_queue_url;
	struct backup_opts o;
	int wait = 0;

	(void)args;
	backup_opts_init(&o);
	o.on_demand = 1;
	if (flag(req, "dry_run", &o.dry_run))
		return router_error(resp, 400, "InvalidParameter", "dry_run is true or false");
	if (flag(req, "reboot", &o.allow_reboot))
		return router_error(resp, 400, "InvalidParameter", "reboot is true or false");
	if (flag(req, "wait", &wait))
		return router_error(resp, 400, "InvalidParameter", "wait is true or false");
	if (!queue_url)
		return routes_backup_run(ctx, &o, resp);
	if (wait)
		return wait_run(ctx, &o, resp);
	return fan_out(ctx, &o, queue_url, resp);
}
