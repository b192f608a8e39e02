"""Self-test of the doubles issues 7, 8 and 13 added: CloudWatch Logs, Lambda
(Invoke Event and RequestResponse), CloudWatch and CodeDeploy in the AWS double, driven by botocore's own clients (so their
wire shapes, pagination and error bodies are what botocore reads from AWS),
and the Slack double. TAP on stdout."""

import json
import os
import sys
import urllib.error
import urllib.request

ROOT = os.environ.get("EBSSH_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

from botocore.exceptions import ClientError  # noqa: E402
from harness import LONG_TERM, AwsDouble, ControlError, boto3_client  # noqa: E402
from slack_double import SlackDouble  # noqa: E402
from tap import Tap  # noqa: E402

NO_RETRY = {"retries": {"max_attempts": 0, "mode": "legacy"}}


def code_of(fn):
    try:
        fn()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None


def test_logs(t, aws):
    aws.reset()
    events = [{"timestamp": 1000 + i, "stream": f"s{i % 2}", "message": f"req-{i % 3} line {i}"} for i in range(7)]
    aws.control("logs/fixture", {"groups": {"/aws/lambda/f": events}})
    aws.control("logs/config", {"page_size": 2, "empty_pages": 1})
    logs = boto3_client(aws, service="logs", **NO_RETRY)
    pages = list(logs.get_paginator("filter_log_events").paginate(logGroupName="/aws/lambda/f", filterPattern='"req-1"'))
    t.eq([len(p["events"]) for p in pages], [0, 2], "logs: an empty page first, then the matches")
    t.eq([e["message"] for p in pages for e in p["events"]], ["req-1 line 1", "req-1 line 4"], "logs: quoted term filter")
    got = logs.filter_log_events(logGroupName="/aws/lambda/f", startTime=1002, endTime=1004, limit=10)
    t.ok(got["events"] == [] and "nextToken" in got, "logs: the empty page carries a token")
    got = logs.filter_log_events(logGroupName="/aws/lambda/f", startTime=1002, endTime=1004, nextToken=got["nextToken"])
    t.eq([e["timestamp"] for e in got["events"]], [1002, 1003], "logs: start and end inclusive, page size 2")
    t.eq(code_of(lambda: logs.filter_log_events(logGroupName="/aws/lambda/none")), ("ResourceNotFoundException", 400), "logs: unknown group")
    t.eq(code_of(lambda: logs.filter_log_events(logGroupName="/aws/lambda/f", nextToken="zzz")), ("InvalidParameterException", 400), "logs: bad token")
    t.eq(code_of(lambda: logs.filter_log_events(logGroupName="/aws/lambda/f", limit=10001)), ("InvalidParameterException", 400), "logs: limit over 10000")
    aws.queue_faults("FilterLogEvents", ["throttle"])
    t.eq(code_of(lambda: logs.filter_log_events(logGroupName="/aws/lambda/f")), ("ThrottlingException", 400), "logs: throttle fault")
    t.eq(code_of(lambda: boto3_client(aws, credentials=("AKIDEXAMPLE", "wrong", None), service="logs", **NO_RETRY).filter_log_events(logGroupName="/aws/lambda/f")),
         ("InvalidSignatureException", 400), "logs: a bad signature")
    try:
        aws.control("logs/fixture", {"groups": {"bad name!": []}})
        t.ok(False, "logs: a bad fixture is refused")
    except ControlError as e:
        t.eq(e.status, 400, "logs: a bad fixture is refused")


def test_lambda(t, aws):
    aws.reset()
    aws.control("lambda/fixture", {"functions": [{"name": f"fn{i}", "code_size": 10 * i, "versions": [{"version": "1", "code_size": i}]} for i in range(5)],
                                   "account": {"total_code_size_limit": 1000}})
    aws.control("lambda/config", {"page_size": 2})
    lam = boto3_client(aws, service="lambda", **NO_RETRY)
    pages = list(lam.get_paginator("list_functions").paginate())
    t.eq([[f["FunctionName"] for f in p["Functions"]] for p in pages], [["fn0", "fn1"], ["fn2", "fn3"], ["fn4"]], "lambda: ListFunctions by Marker")
    vers = lam.list_versions_by_function(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:fn3")["Versions"]
    t.eq([(v["Version"], v["CodeSize"], v["FunctionArn"].rsplit(":", 1)[1]) for v in vers], [("$LATEST", 30, "$LATEST"), ("1", 3, "1")], "lambda: versions by ARN")
    s = lam.get_account_settings()
    t.eq((s["AccountLimit"]["TotalCodeSize"], s["AccountUsage"]["TotalCodeSize"], s["AccountUsage"]["FunctionCount"]), (1000, 110, 5), "lambda: account settings")
    r = lam.invoke(FunctionName="fn1", InvocationType="Event", Payload=b'{"a": [1]}')
    t.eq(r["StatusCode"], 202, "lambda: Invoke Event is 202")
    t.eq([(i["function"], i["invocation_type"], i["payload"]) for i in aws.control("lambda/invocations")], [("fn1", "Event", {"a": [1]})], "lambda: the payload recorded")
    t.eq(code_of(lambda: lam.invoke(FunctionName="fn1", InvocationType="Event", Payload=b"not json")), ("InvalidRequestContentException", 400), "lambda: a payload that is not JSON")
    t.eq(code_of(lambda: lam.list_versions_by_function(FunctionName="nope")), ("ResourceNotFoundException", 404), "lambda: unknown function")
    t.eq(code_of(lambda: lam.list_functions(Marker="bogus")), ("InvalidParameterValueException", 400), "lambda: bad marker")
    aws.queue_faults("Invoke", ["throttle"])
    try:
        lam.invoke(FunctionName="fn1", InvocationType="Event", Payload=b"{}")
        t.ok(False, "lambda: throttle fault as Lambda's 429")
    except ClientError as e:
        t.eq((e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["ResponseMetadata"]["HTTPHeaders"].get("retry-after")),
             ("TooManyRequestsException", 429, "1"), "lambda: throttle fault as Lambda's 429")
    aws.reset()
    t.eq(aws.control("lambda/invocations"), [], "lambda: reset forgets invocations")


def test_lambda_sync(t, aws):
    aws.reset()
    aws.control("lambda/fixture", {"functions": [{"name": "s-lookup", "versions": [{"version": "7"}]}]})
    lam = boto3_client(aws, service="lambda", **NO_RETRY)
    arn7 = "arn:aws:lambda:us-east-1:123456789012:function:s-lookup:7"
    r = lam.invoke(FunctionName=arn7, Payload=b"{}")
    t.eq((r["StatusCode"], r["Payload"].read(), "FunctionError" in r), (200, b"null", False), "lambda sync: no answer set is null")
    aws.control("lambda/answers", {"function": "s-lookup", "qualifier": "7", "payload": {"statusCode": 200, "body": "ok\n"}})
    aws.control("lambda/answers", {"function": "s-lookup", "qualifier": None, "payload": {"errorMessage": "boom"}, "function_error": "Unhandled"})
    r = lam.invoke(FunctionName=arn7, InvocationType="RequestResponse", Payload=b'{"path": "/health"}')
    t.eq((r["StatusCode"], json.loads(r["Payload"].read()), r.get("FunctionError"), r.get("ExecutedVersion")),
         (200, {"statusCode": 200, "body": "ok\n"}, None, "7"), "lambda sync: the answer set for the version")
    r = lam.invoke(FunctionName="s-lookup", Qualifier="$LATEST", Payload=b"{}")
    t.eq((json.loads(r["Payload"].read()), r.get("FunctionError")), ({"errorMessage": "boom"}, "Unhandled"), "lambda sync: FunctionError as boto3 reads it")
    inv = aws.control("lambda/invocations")
    t.eq([(i["target"], i["function"], i["qualifier"], i["invocation_type"], i["payload"]) for i in inv],
         [(arn7, "s-lookup", "7", "RequestResponse", {}), (arn7, "s-lookup", "7", "RequestResponse", {"path": "/health"}),
          ("s-lookup", "s-lookup", "$LATEST", "RequestResponse", {})], "lambda sync: every invocation recorded with its ARN and qualifier")
    t.eq(code_of(lambda: lam.invoke(FunctionName="s-lookup:8", Payload=b"{}")), ("ResourceNotFoundException", 404), "lambda sync: an unknown version")
    try:
        aws.control("lambda/answers", {"function": "s-lookup", "function_error": "Maybe"})
        t.ok(False, "lambda sync: a bad answer is refused")
    except ControlError as e:
        t.eq(e.status, 400, "lambda sync: a bad answer is refused")


def test_codedeploy(t, aws):
    aws.reset()
    cd = boto3_client(aws, service="codedeploy", **NO_RETRY)
    r = cd.put_lifecycle_event_hook_execution_status(deploymentId="d-ABCDEF123", lifecycleEventHookExecutionId="exec-1", status="Succeeded")
    t.eq(r["lifecycleEventHookExecutionId"], "exec-1", "codedeploy: the answer names the execution")
    cd.put_lifecycle_event_hook_execution_status(deploymentId="d-ABCDEF123", lifecycleEventHookExecutionId="exec-2", status="Failed")
    t.eq(aws.control("codedeploy/reports"),
         [{"deploymentId": "d-ABCDEF123", "lifecycleEventHookExecutionId": "exec-1", "status": "Succeeded"},
          {"deploymentId": "d-ABCDEF123", "lifecycleEventHookExecutionId": "exec-2", "status": "Failed"}], "codedeploy: reports recorded in order")
    t.eq(code_of(lambda: cd.put_lifecycle_event_hook_execution_status(deploymentId="d-ABCDEF123", lifecycleEventHookExecutionId="exec-1", status="Failed")),
         ("LifecycleEventAlreadyCompletedException", 400), "codedeploy: a second report of one execution")
    t.eq(code_of(lambda: cd.put_lifecycle_event_hook_execution_status(deploymentId="nope", lifecycleEventHookExecutionId="exec-3", status="Failed")),
         ("InvalidDeploymentIdException", 400), "codedeploy: a malformed deployment id")
    t.eq(code_of(lambda: cd.put_lifecycle_event_hook_execution_status(lifecycleEventHookExecutionId="exec-3", status="Failed")),
         ("DeploymentIdRequiredException", 400), "codedeploy: no deployment id")
    t.eq(code_of(lambda: cd.put_lifecycle_event_hook_execution_status(deploymentId="d-ABCDEF123", lifecycleEventHookExecutionId="exec-3", status="Pending")),
         ("InvalidLifecycleEventHookExecutionStatusException", 400), "codedeploy: a hook reports Succeeded or Failed only")
    aws.queue_faults("PutLifecycleEventHookExecutionStatus", ["error:DeploymentDoesNotExistException:400"])
    t.eq(code_of(lambda: cd.put_lifecycle_event_hook_execution_status(deploymentId="d-ABCDEF123", lifecycleEventHookExecutionId="exec-3", status="Failed")),
         ("DeploymentDoesNotExistException", 400), "codedeploy: a queued error fault")
    t.eq(code_of(lambda: cd.list_applications()), ("UnsupportedOperation", 400), "codedeploy: an operation the double lacks")
    t.eq(code_of(lambda: boto3_client(aws, credentials=(LONG_TERM[0], "bad", None), service="codedeploy", **NO_RETRY).put_lifecycle_event_hook_execution_status(
        deploymentId="d-ABCDEF123", lifecycleEventHookExecutionId="exec-4", status="Failed")), ("InvalidSignatureException", 400), "codedeploy: a bad signature")
    t.eq(len(aws.control("codedeploy/reports")), 2, "codedeploy: refused reports are not recorded")


def test_cloudwatch(t, aws):
    aws.reset()
    cw = boto3_client(aws, service="cloudwatch", **NO_RETRY)
    cw.put_metric_data(Namespace="ebssh", MetricData=[
        {"MetricName": "A", "Value": 1.5, "Unit": "Percent", "Dimensions": [{"Name": "x", "Value": "y"}, {"Name": "z", "Value": "w"}]},
        {"MetricName": "B", "Value": 7, "Unit": "Bytes"}])
    data = aws.control("monitoring/data")
    t.eq([(d["metric_name"], d["value"], d["unit"], d["dimensions"]) for d in data],
         [("A", 1.5, "Percent", {"x": "y", "z": "w"}), ("B", 7.0, "Bytes", {})], "cloudwatch: data recorded as botocore sent them")
    t.eq(code_of(lambda: cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[{"MetricName": "A", "Value": 1}])), ("InvalidParameterValue", 400), "cloudwatch: AWS/ namespaces refused")
    aws.queue_faults("PutMetricData", ["throttle"])
    t.eq(code_of(lambda: cw.put_metric_data(Namespace="n", MetricData=[{"MetricName": "A", "Value": 1}])), ("Throttling", 400), "cloudwatch: throttle fault in XML")
    t.eq(code_of(lambda: boto3_client(aws, credentials=(LONG_TERM[0], "bad", None), service="cloudwatch", **NO_RETRY).put_metric_data(Namespace="n", MetricData=[{"MetricName": "A", "Value": 1}])),
         ("SignatureDoesNotMatch", 403), "cloudwatch: a bad signature")
    t.eq(code_of(lambda: cw.list_metrics()), ("InvalidAction", 400), "cloudwatch: an operation the double lacks")


def post(url, body, ctype="application/json"):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def test_slack_double(t, slack):
    slack.clear()
    t.eq(post(slack.url + "/services/a/b/c", b'{"text": "hi"}')[:2], (200, "ok"), "slack: a message is ok")
    t.eq(post(slack.url + "/services/a/b/c", b"{}")[:2], (400, "invalid_payload"), "slack: no text is invalid_payload")
    t.eq(post(slack.url + "/x", json.dumps({"text": "x" * 40001}).encode())[:2], (400, "msg_too_long"), "slack: over 40000 characters")
    slack.queue_faults(["429:2", "500"])
    s, body, headers = post(slack.url + "/x", b'{"text": "a"}')
    t.eq((s, body, headers.get("Retry-After")), (429, "rate_limited", "2"), "slack: 429 with Retry-After")
    t.eq(post(slack.url + "/x", b'{"text": "a"}')[0], 500, "slack: 500 on demand")
    t.eq([p["status"] for p in slack.posts()], [200, 400, 400, 429, 500], "slack: every post recorded with its answer")


def main():
    t = Tap()
    with AwsDouble() as aws:
        for fn in (test_logs, test_lambda, test_lambda_sync, test_codedeploy, test_cloudwatch):
            t.run(fn, aws)
    with SlackDouble() as slack:
        t.run(test_slack_double, slack)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
