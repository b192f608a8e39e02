/*
 * codedeploy: the one CodeDeploy call ebssh makes, PutLifecycleEventHookExecutionStatus
 * (JSON 1.1 protocol, X-Amz-Target CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus,
 * signing name "codedeploy", endpoint id CODEDEPLOY), with which a Lambda
 * deployment's lifecycle hook (the pre-traffic hook, lambda/ops/deploy_hook.h)
 * tells CodeDeploy whether the new version may take traffic.
 *
 * The request is {"deploymentId", "lifecycleEventHookExecutionId", "status"};
 * the answer {"lifecycleEventHookExecutionId"}. CodeDeploy refuses a second
 * report for the same execution (LifecycleEventAlreadyCompletedException),
 * which comes back as ERR_AWS like its other errors.
 */
#ifndef EBSSH_AWS_CODEDEPLOY_H
#define EBSSH_AWS_CODEDEPLOY_H

#include <stddef.h>

#include "../util/buf.h"
#include "../util/err.h"

#define CODEDEPLOY_MAX_ID 1024 /* a deployment or hook execution id; real ones are far shorter */

struct aws_client;

/* The statuses a hook reports (CodeDeploy's LifecycleEventStatus knows more;
 * a hook only ever says one of these two). */
enum codedeploy_hook_status { CODEDEPLOY_SUCCEEDED = 1, CODEDEPLOY_FAILED = 2 };

/* "Succeeded" or "Failed"; "Unknown" for anything else. Static. */
const char *codedeploy_status_name(enum codedeploy_hook_status status);

/*
 * The JSON request body into out (appended). ERR_INVALID for an empty,
 * oversized or non-printable id or an unknown status; ERR_NOMEM.
 */
int codedeploy_hook_status_request(const char *deployment_id, const char *execution_id,
                                   enum codedeploy_hook_status status, struct buf *out,
                                   struct err *e);

/*
 * Checks an answer: a JSON object whose lifecycleEventHookExecutionId, when
 * present, is a string. ERR_PARSE otherwise.
 */
int codedeploy_parse_hook_status_response(const char *json, size_t len, struct err *e);

/*
 * Reports status for one hook execution. timeout_ms bounds the call,
 * retries included (0: the client's defaults). Errors as aws_client_call
 * gives them; ERR_INVALID as codedeploy_hook_status_request.
 */
int codedeploy_put_hook_status(struct aws_client *c, const char *deployment_id,
                               const char *execution_id, enum codedeploy_hook_status status,
                               long timeout_ms, struct err *e);

#endif
