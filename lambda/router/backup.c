/* router/backup: POST /backup/ami, the AMI backup's report as an answer; see routes.h. */
#include "routes.h"

#include <string.h>

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

int routes_backup(struct service_context *ctx, const struct router_request *req,
                  const struct route_args *args, struct router_response *resp)
{
	struct backup_opts o;
	const char *dry = router_query(req, "dry_run");

	(void)args;
	backup_opts_init(&o);
	if (dry && strcmp(dry, "true") == 0)
		o.dry_run = 1;
	else if (dry && strcmp(dry, "false") != 0)
		return router_error(resp, 400, "InvalidParameter", "dry_run is true or false");
	return routes_backup_run(ctx, &o, resp);
}
