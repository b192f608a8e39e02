/*
 * deploy_hook: the CodeDeploy pre-traffic hook ("pre-traffic" workflow).
 *
 * CodeDeploy invokes the hook function (the same bootstrap) with
 * {"DeploymentId", "LifecycleEventHookExecutionId"} before it shifts any
 * traffic to a new version. The hook invokes EBSSH_HOOK_TARGET (the new
 * version's ARN) synchronously with API Gateway REST (1.0) events, as API
 * Gateway would send them on stage v1:
 *   1. GET /health                 -> statusCode 200, no FunctionError;
 *   2. GET /eb/{env}/ip            -> statusCode 200 and a body of IP
 *      addresses, one a line, when EBSSH_HOOK_ENVIRONMENT is set (else
 *      skipped); not tried when the first failed;
 * each with requestContext.requestId "pre-traffic-<execution id>", so that
 * one Logs Insights query finds the target's lines. It then reports
 * Succeeded (every check passed) or Failed to CodeDeploy
 * (PutLifecycleEventHookExecutionStatus): a Failed version never takes
 * traffic and the deployment rolls back.
 *
 * Time: the invocations stop SERVICE_DEADLINE_MARGIN_MS before the
 * invocation's deadline, which is kept for the report.
 *
 * The outcome: 0 when the status was reported and the hook is configured
 * (the answer then says Succeeded or Failed and why); a negative code when
 * the report failed (CodeDeploy then times the hook out, which fails the
 * deployment too) or EBSSH_HOOK_TARGET is unset (Failed is still reported).
 */
#ifndef EBSSH_LAMBDA_DEPLOY_HOOK_H
#define EBSSH_LAMBDA_DEPLOY_HOOK_H

#include "../../util/buf.h"
#include "../../util/err.h"
#include "../service.h"

#define DEPLOY_HOOK_STAGE          "v1"
#define DEPLOY_HOOK_REQUEST_PREFIX "pre-traffic-"
#define DEPLOY_HOOK_INVOKE_MS      30000L /* per check when there is no deadline */
#define DEPLOY_HOOK_SHOWN_BODY     160    /* bytes of an answer quoted in a failure */

/*
 * The API Gateway REST (1.0) event of GET path for the route template
 * resource (e.g. "/eb/{env}/ip"; path parameter env when not NULL), with
 * requestContext.requestId request_id, stage DEPLOY_HOOK_STAGE. Appended to
 * out. ERR_NOMEM.
 */
int deploy_hook_event(const char *path, const char *resource, const char *env,
                      const char *request_id, struct buf *out, struct err *e);

/*
 * Checks one proxy answer (payload, with function_error the invocation's
 * X-Amz-Function-Error or NULL): 1 when it passed, 0 when not, with
 * *status the statusCode seen (0 when none) and why a sentence saying what
 * was seen (the status, the FunctionError, the start of the body). want_ips:
 * the body must be IP addresses, one a line, at least one (*n_ips counts them).
 */
int deploy_hook_check_answer(const char *payload, size_t len, const char *function_error,
                             int want_ips, long *status, size_t *n_ips, char *why, size_t why_size);

/* Runs the hook for one CodeDeploy event; the answer (a JSON summary) is
 * appended to answer. See above for the outcome. */
int deploy_hook_run(struct service_context *ctx, const char *deployment_id,
                    const char *execution_id, struct buf *answer, struct err *e);

#endif
