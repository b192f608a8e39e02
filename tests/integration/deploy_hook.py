#!/usr/bin/python3
"""The pre-traffic hook (issue 13): build/bootstrap under the Runtime API
double receives CodeDeploy's lifecycle hook event, invokes the version under
test through the AWS double's Lambda Invoke (RequestResponse) and reports
PutLifecycleEventHookExecutionStatus to the AWS double's CodeDeploy.

The healthy version is a real one: a second bootstrap under its own Runtime
API double, which the AWS double's Invoke runs the events through
("backend"), looking up the double's EC2 fixture. Failing versions are
canned answers. Cases: healthy -> Succeeded (both invokes with the version's
ARN, qualifier and API Gateway events); /health 500, FunctionError
Unhandled, a lookup 404, a lookup that answers no address -> Failed; no
environment -> the lookup skipped, Succeeded; CodeDeploy answering an error
-> the invocation fails; EBSSH_HOOK_TARGET unset -> Failed reported and the
invocation fails; a target that is no function -> init error naming the
variable. Prints TAP."""

import json
import os
import sys

sys.dont_write_bytecode = True
ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from child import sanitizer_clean  # noqa: E402
from harness import AwsDouble  # noqa: E402
from runtime import ERROR_TYPE, Session  # noqa: E402
from tap import Tap  # noqa: E402

FUNCTION = "s-lookup"
VERSION = "7"
TARGET = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}:{VERSION}"
ENV = "my-env-production"
DEPLOYMENT = "d-ABCDEF123"
HOOK_ERROR = "Function.PreTrafficHookFailed"


class Hook:
    """The hook's bootstrap (a Session of runtime.py) with its settings."""

    def __init__(self, aws, target=TARGET, environment=ENV):
        self.s = Session(aws, EBSSH_HOOK_TARGET=target, EBSSH_HOOK_ENVIRONMENT=environment,
                         AWS_LAMBDA_FUNCTION_NAME="CodeDeployHook_s-pre-traffic")
        self.n = 0

    def run(self, execution):
        """One CodeDeploy event: (kind, body as JSON or text, error type)."""
        e = self.s.last({"event": {"DeploymentId": DEPLOYMENT, "LifecycleEventHookExecutionId": execution}}, timeout=40)
        if not e:
            return None, None, None
        try:
            body = json.loads(e["body"])
        except ValueError:
            body = e["body"]
        return e["kind"], body, e["headers"].get(ERROR_TYPE)

    def close(self):
        return self.s.close()


def reports(aws):
    return [(r["lifecycleEventHookExecutionId"], r["status"]) for r in aws.control("codedeploy/reports")]


def invocations(aws):
    return aws.control("lambda/invocations")


def canned(aws, payload, function_error=None):
    aws.control("lambda/answers", {"function": FUNCTION, "qualifier": VERSION, "payload": payload, "function_error": function_error})


def fresh(aws):
    aws.control("lambda/invocations", method="DELETE")
    aws.control("lambda/answers", method="DELETE")


def test_healthy(t, aws, hook, target_rt):
    fresh(aws)
    aws.control("lambda/answers", {"function": FUNCTION, "qualifier": VERSION, "backend": f"http://{target_rt.rt.address}"})
    kind, body, _ = hook.run("exec-healthy")
    t.eq(kind, "response", "healthy: the hook answers")
    t.eq(reports(aws)[-1:], [("exec-healthy", "Succeeded")], "healthy: Succeeded reported to CodeDeploy")
    t.eq((body or {}).get("status"), "Succeeded", "healthy: the answer says Succeeded")
    checks = (body or {}).get("checks") or []
    t.eq([(c.get("check"), c.get("status"), c.get("ok")) for c in checks], [("health", 200, True), ("lookup", 200, True)],
         "healthy: /health and the lookup checked")
    t.eq(checks[1].get("addresses") if len(checks) > 1 else None, 3, "healthy: the lookup found the environment's three addresses")
    inv = invocations(aws)
    t.eq([(i["target"], i["qualifier"], i["invocation_type"]) for i in inv], [(TARGET, VERSION, "RequestResponse")] * 2,
         "healthy: both invokes name the version's ARN, RequestResponse")
    evs = [i["payload"] for i in inv]
    t.eq([(e["httpMethod"], e["path"], e["resource"], e["requestContext"]["stage"], e["requestContext"]["requestId"],
           e["requestContext"]["resourcePath"]) for e in evs],
         [("GET", "/health", "/health", "v1", "pre-traffic-exec-healthy", "/health"),
          ("GET", f"/eb/{ENV}/ip", "/eb/{env}/ip", "v1", "pre-traffic-exec-healthy", "/eb/{env}/ip")],
         "healthy: API Gateway REST events, stage v1, request id pre-traffic-<execution>")
    t.eq(evs[1].get("pathParameters") if len(evs) > 1 else None, {"env": ENV}, "healthy: the lookup's path parameter")
    answered = [json.loads(r["body"]) for r in target_rt.rt.results()["invocations"]]
    t.eq([a.get("statusCode") for a in answered], [200, 200], "healthy: the real version answered both")


def test_health_500(t, aws, hook):
    fresh(aws)
    canned(aws, {"statusCode": 500, "headers": {}, "body": '{"message": "Internal server error"}'})
    kind, body, _ = hook.run("exec-500")
    t.eq(reports(aws)[-1:], [("exec-500", "Failed")], "/health 500: Failed reported")
    reason = (body or {}).get("reason", "")
    t.ok(kind == "response" and "status 500" in reason and "Internal server error" in reason,
         f"/health 500: the reason names the status and the body ({reason!r})")
    t.eq(len(invocations(aws)), 1, "/health 500: the lookup is not tried")


def test_function_error(t, aws, hook):
    fresh(aws)
    canned(aws, {"errorMessage": "segfault", "errorType": "Runtime.ExitError"}, "Unhandled")
    kind, body, _ = hook.run("exec-unhandled")
    t.eq(reports(aws)[-1:], [("exec-unhandled", "Failed")], "FunctionError Unhandled: Failed reported")
    reason = (body or {}).get("reason", "")
    t.ok("FunctionError Unhandled" in reason and "Runtime.ExitError" in reason,
         f"FunctionError Unhandled: the reason says so ({reason!r})")
    t.eq(((body or {}).get("checks") or [{}])[0].get("function_error"), "Unhandled", "FunctionError Unhandled: in the check")


def test_lookup_404(t, aws, target_rt):
    fresh(aws)
    aws.control("lambda/answers", {"function": FUNCTION, "qualifier": VERSION, "backend": f"http://{target_rt.rt.address}"})
    hook = Hook(aws, environment="no-such-env")
    try:
        kind, body, _ = hook.run("exec-404")
    finally:
        hook.close()
    t.eq(reports(aws)[-1:], [("exec-404", "Failed")], "lookup 404: Failed reported")
    reason = (body or {}).get("reason", "")
    t.ok("status 404" in reason and "no-such-env" in reason, f"lookup 404: the reason quotes the answer ({reason!r})")
    t.eq([c.get("ok") for c in (body or {}).get("checks", [])], [True, False], "lookup 404: /health passed, the lookup failed")


def test_lookup_not_ips(t, aws):
    fresh(aws)
    canned(aws, {"statusCode": 200, "body": "ok\n"})
    hook = Hook(aws)
    try:
        kind, body, _ = hook.run("exec-notip")
    finally:
        hook.close()
    reason = (body or {}).get("reason", "")
    t.ok(reports(aws)[-1:] == [("exec-notip", "Failed")] and "not IP addresses" in reason,
         f"lookup 200 without addresses: Failed ({reason!r})")


def test_no_environment(t, aws):
    fresh(aws)
    canned(aws, {"statusCode": 200, "body": "ok\n"})
    hook = Hook(aws, environment=None)
    try:
        kind, body, _ = hook.run("exec-noenv")
    finally:
        hook.close()
    t.eq(reports(aws)[-1:], [("exec-noenv", "Succeeded")], "no environment: Succeeded reported")
    t.eq([(c.get("check"), c.get("skipped")) for c in (body or {}).get("checks", [])],
         [("health", None), ("lookup", "EBSSH_HOOK_ENVIRONMENT is not set")], "no environment: the lookup skipped")
    t.eq(len(invocations(aws)), 1, "no environment: one invoke")


def test_codedeploy_error(t, aws, hook):
    fresh(aws)
    canned(aws, {"statusCode": 200, "body": "54.0.0.1\n"})
    aws.queue_faults("PutLifecycleEventHookExecutionStatus", ["error:DeploymentDoesNotExistException:400:The deployment d-ABCDEF123 does not exist"])
    kind, body, etype = hook.run("exec-cderr")
    t.eq((kind, etype), ("error", HOOK_ERROR), "CodeDeploy error: the invocation fails")
    msg = (body or {}).get("errorMessage", "") if isinstance(body, dict) else ""
    t.ok("could not be reported" in msg and "does not exist" in msg, f"CodeDeploy error: the message says so ({msg!r})")
    t.ok(all(x != "exec-cderr" for x, _ in reports(aws)), "CodeDeploy error: nothing recorded")


def test_target_unset(t, aws):
    fresh(aws)
    hook = Hook(aws, target=None)
    try:
        kind, body, etype = hook.run("exec-unset")
    finally:
        hook.close()
    t.eq(reports(aws)[-1:], [("exec-unset", "Failed")], "target unset: Failed still reported")
    msg = body.get("errorMessage", "") if isinstance(body, dict) else ""
    t.ok(kind == "error" and etype == HOOK_ERROR and "EBSSH_HOOK_TARGET is not set" in msg,
         f"target unset: the invocation fails with a clear message ({msg!r})")
    t.eq(invocations(aws), [], "target unset: nothing invoked")


def test_bad_target(t, aws):
    hook = Hook(aws, target="arn:aws:s3:::not-a-function")
    try:
        res = hook.s.rt.wait(1, 15)
    finally:
        hook.close()
    errs = res.get("init_errors") or []
    t.ok(len(errs) == 1 and "EBSSH_HOOK_TARGET" in errs[0].get("body", ""), "a target that is no function: init error naming EBSSH_HOOK_TARGET")


def main():
    t = Tap()
    with AwsDouble() as aws:
        aws.control("lambda/fixture", {"functions": [{"name": FUNCTION, "versions": [{"version": VERSION}]}]})
        target_rt = Session(aws, AWS_LAMBDA_FUNCTION_NAME=FUNCTION)
        hook = Hook(aws)
        try:
            t.run(test_healthy, aws, hook, target_rt)
            t.run(test_health_500, aws, hook)
            t.run(test_function_error, aws, hook)
            t.run(test_codedeploy_error, aws, hook)
            t.run(test_lookup_404, aws, target_rt)
            t.run(test_lookup_not_ips, aws)
            t.run(test_no_environment, aws)
            t.run(test_target_unset, aws)
            t.run(test_bad_target, aws)
        finally:
            # /next answering 500 ends a bootstrap with status 1 (runtime.py)
            for name, s in (("the hook's", hook.s), ("the version's", target_rt)):
                rc = s.close()
                t.ok(rc == 1 and sanitizer_clean(s.boot.stderr()), f"{name} bootstrap exits cleanly, sanitizer-clean",
                     (rc, s.boot.stderr()[-2000:]))
            verdicts = []
            for line in hook.s.boot.stderr().splitlines():
                if line.startswith("{"):
                    doc = json.loads(line)
                    if str(doc.get("message", "")).startswith("pre-traffic verdict"):
                        verdicts.append((doc.get("level"), doc.get("message"), doc.get("deployment_id")))
            t.ok(("INFO", "pre-traffic verdict Succeeded", DEPLOYMENT) in verdicts
                 and ("ERROR", "pre-traffic verdict Failed", DEPLOYMENT) in verdicts,
                 "the hook logs each verdict as a JSON line (INFO Succeeded, ERROR Failed)", verdicts[:4])
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
