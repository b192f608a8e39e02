"""AWS CodeDeploy (protocol "json" 1.1, signing name "codedeploy"): POST /
with X-Amz-Target CodeDeploy_20141006.<Operation> and a JSON body; JSON
answers; errors as {"__type": "<Code>", "message": "..."} with
x-amzn-RequestId, as logs.py serves CloudWatch Logs.

Checks, once the signature is good: the target (UnknownOperationException
for a wrong prefix or an operation botocore's model lacks), the content
type, the body against the model (SerializationException for bad JSON, an
unknown member or a wrong type), then the operation. Operations the model
knows but this double does not implement answer UnsupportedOperation.

PutLifecycleEventHookExecutionStatus {deploymentId, lifecycleEventHookExecutionId,
status}: records the report and answers {"lifecycleEventHookExecutionId"}.
Errors, by the API reference's names: DeploymentIdRequiredException (no
deploymentId), InvalidDeploymentIdException (not d-XXXXXXXXX),
InvalidLifecycleEventHookExecutionIdException (empty),
InvalidLifecycleEventHookExecutionStatusException (a status outside the
model's enum, or one a hook may not report: only Succeeded and Failed are
final), LifecycleEventAlreadyCompletedException (a second report of the
same execution). Faults by action name through /__control/faults.

Control (/__control/codedeploy/...):
  GET    reports   [{"deploymentId", "lifecycleEventHookExecutionId", "status"}] in order
  DELETE reports
"""

import json
import re

from . import models
from .logs import LogsError, _check_members
from .service import Service

TARGET_PREFIX = "CodeDeploy_20141006."
CONTENT_TYPE = "application/x-amz-json-1.1"
_DEPLOYMENT_ID = re.compile(r"^d-[A-Z0-9]{9}$")


class CodeDeployService(Service):
    name = "codedeploy"
    content_type = CONTENT_TYPE
    FAULTS = {
        "throttle": ("ThrottlingException", "Rate exceeded", 400),
        "500": ("InternalFailure", "An internal error occurred.", 500),
        "unavailable": ("ServiceUnavailable", "The service is unavailable.", 503),
        "authfailure": ("UnrecognizedClientException", "The security token included in the request is invalid.", 400),
    }
    AUTH = {
        "MissingAuthenticationToken": ("MissingAuthenticationTokenException", "Missing Authentication Token", 400),
        "RequestExpired": ("InvalidSignatureException", "Signature expired.", 400),
        None: ("InvalidSignatureException", "The request signature we calculated does not match the signature you provided.", 400),
    }

    def reset(self):
        with self._lock:
            self._reports = []

    def action(self, req):
        target = req.header("X-Amz-Target") or ""
        return target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else target

    def params(self, req):
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def error_body(self, code, message, rid, status):
        return json.dumps({"__type": code, "message": message}).encode()

    def control(self, method, route, data):
        if route == "reports" and method == "GET":
            with self._lock:
                return 200, [dict(r) for r in self._reports]
        if route == "reports" and method == "DELETE":
            with self._lock:
                self._reports = []
            return 200, {"ok": True}
        return self.no_route(method, route)

    def _handle(self, req):
        if req.method != "POST" or req.path != "/":
            raise LogsError("UnknownOperationException", "", 404)
        target = req.header("X-Amz-Target") or ""
        if not target.startswith(TARGET_PREFIX):
            raise LogsError("UnknownOperationException", "")
        name = target[len(TARGET_PREFIX) :]
        op = models.operation("codedeploy", name)
        if op is None:
            raise LogsError("UnknownOperationException", "")
        ctype = (req.header("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != CONTENT_TYPE:
            raise LogsError("SerializationException", f"Unexpected content type {ctype or 'none'}")
        try:
            args = json.loads(req.body or b"{}")
        except ValueError:
            raise LogsError("SerializationException", "Start of structure or map found where not expected.") from None
        if not isinstance(args, dict):
            raise LogsError("SerializationException", "Start of list found where not expected")
        if name != "PutLifecycleEventHookExecutionStatus":
            _check_members(op.input_shape, args)
            raise LogsError("UnsupportedOperation", f"The test double does not implement {name}.")
        return self.answer(200, json.dumps(self.put_status(op, args)).encode())

    def put_status(self, op, args):
        if not args.get("deploymentId"):
            raise LogsError("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
        _check_members(op.input_shape, args)
        deployment = args["deploymentId"]
        execution = args.get("lifecycleEventHookExecutionId")
        status = args.get("status")
        if not _DEPLOYMENT_ID.match(deployment):
            raise LogsError("InvalidDeploymentIdException", f"Deployment ID {deployment} is not valid.")
        if not execution:
            raise LogsError(
                "InvalidLifecycleEventHookExecutionIdException", "A valid lifecycle event hook execution ID must be specified."
            )
        allowed = op.input_shape.members["status"].enum
        if status not in allowed or status not in ("Succeeded", "Failed"):
            raise LogsError(
                "InvalidLifecycleEventHookExecutionStatusException",
                f"The status {status} is not a valid lifecycle event hook status: Succeeded or Failed.",
            )
        with self._lock:
            if any(r["lifecycleEventHookExecutionId"] == execution for r in self._reports):
                raise LogsError(
                    "LifecycleEventAlreadyCompletedException",
                    f"The lifecycle event hook execution {execution} is already completed.",
                )
            self._reports.append({"deploymentId": deployment, "lifecycleEventHookExecutionId": execution, "status": status})
        return {"lifecycleEventHookExecutionId": execution}
