#!/usr/bin/python3
"""The AWS double's call log (tests/doubles/awsdouble/calllog.py), what
tests/audit/aws_actions.py reads: the operation named for each protocol
(Query Action, JSON X-Amz-Target, Smithy RPC v2 path, REST paths through
botocore's model), and a live double writing one line per answered request,
before the answer, in the shared format, from boto3 and from the C code
(build/tests/ec2_describe), under concurrency, and going on answering when
the log cannot be written. The double here logs into a directory of its
own, not the run's. TAP on stdout."""

import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from contextlib import redirect_stderr

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("EBSSH_BUILD") or os.path.join(ROOT, "build")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

import harness  # noqa: E402

harness.isolate_aws(os.environ)

from awsdouble import calllog  # noqa: E402
from harness import SESSION, AwsDouble, boto3_client  # noqa: E402
from tap import Tap  # noqa: E402

SUITE = "integration/call_log.py (its own log)"
KEYS = ["double", "suite", "service", "action", "status", "user_agent"]


def case_operation_names(t):
    op = calllog.operation
    t.eq(op("ec2", "POST", "/", {"Action": "DescribeInstances", "Version": "2016-11-15"}, None), "DescribeInstances",
         "Query: the Action parameter")
    t.eq(op("logs", "POST", "/", {}, "Logs_20140328.FilterLogEvents"), "FilterLogEvents", "JSON: X-Amz-Target")
    t.eq(op("monitoring", "POST", "/service/GraniteServiceVersion20100801/operation/PutMetricData", {}, None),
         "PutMetricData", "Smithy RPC v2: the operation in the path")
    rest = [
        ("GET", "/2015-03-31/functions/", {}, "ListFunctions"),
        ("GET", "/2015-03-31/functions", {}, "ListFunctions"),
        ("GET", "/2015-03-31/functions/my-fn/versions", {"MaxItems": "2"}, "ListVersionsByFunction"),
        ("GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af", {}, "GetFunction"),
        ("POST", "/2015-03-31/functions/my-fn%3A3/invocations", {}, "Invoke"),
        ("GET", "/2016-08-19/account-settings/", {}, "GetAccountSettings"),
        ("DELETE", "/2015-03-31/functions/my-fn", {}, "DeleteFunction"),
        ("GET", "/2015-03-31/nothing/here", {}, ""),
        ("PATCH", "/2015-03-31/functions/", {}, ""),
    ]
    got = [(m, p, op("lambda", m, p, q, None)) for m, p, q, _ in rest]
    t.eq(got, [(m, p, want) for m, p, _, want in rest], "REST (lambda): method and path matched to botocore's model")
    t.eq(op("nosuchservice", "GET", "/x", {}, None), "", "a service botocore does not know: no operation, no crash")


def read_lines(directory):
    """{file name: [parsed line]} of the call log directory."""
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            out[name] = [json.loads(line) for line in f]
    return out


def case_live(t, aws, log_dir):
    once = {"total_max_attempts": 1}  # no retry, of a reset connection either
    ec2 = boto3_client(aws, retries=once)
    lam = boto3_client(aws, service="lambda", retries=once)
    logs = boto3_client(aws, service="logs", retries=once)
    cw = boto3_client(aws, service="cloudwatch", retries=once)
    sts = boto3_client(aws, service="sts", retries=once)

    def calls():
        return [line for lines in read_lines(log_dir).values() for line in lines]

    ec2.describe_instances()
    got = calls()
    t.ok(len(got) == 1 and got[0]["action"] == "DescribeInstances" and got[0]["status"] == 200,
         "a client that has its answer finds its line already written", got)
    t.eq(sorted(got[0]) if got else None, sorted(KEYS), "a line holds exactly the shared keys")
    t.ok(got and got[0]["double"] == "ebssh" and got[0]["suite"] == SUITE
         and got[0]["user_agent"].startswith("Boto3/"),
         "double ebssh, the suite from EBSSH_SUITE, the request's User-Agent", got[:1])

    def attempt(fn, **kw):
        try:
            fn(**kw)
        except Exception:  # noqa: BLE001 - the refusal is the point; its line is checked
            pass

    attempt(ec2.describe_regions)
    attempt(logs.filter_log_events, logGroupName="/aws/lambda/none")
    lam.list_functions()
    attempt(lam.get_function, FunctionName="none")
    cw.put_metric_data(Namespace="ebssh", MetricData=[{"MetricName": "m", "Value": 1.0}])
    attempt(sts.get_caller_identity)
    aws.queue_faults("DescribeInstances", ["reset"])
    attempt(ec2.describe_instances)
    try:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(aws.url + "/", timeout=30).read()
    except urllib.error.HTTPError:
        pass
    got = [(c["service"], c["action"], c["status"]) for c in calls()[1:]]
    want = [
        ("ec2", "DescribeRegions", 400),
        ("logs", "FilterLogEvents", 400),
        ("lambda", "ListFunctions", 200),
        ("lambda", "GetFunction", 404),
        ("monitoring", "PutMetricData", 200),
        ("sts", "GetCallerIdentity", 401),
        ("ec2", "DescribeInstances", 0),
        ("ec2", "", 401),
    ]
    t.eq(got, want, "one line per request, each protocol's operation named, refused ones too; reset is status 0")

    driver = os.path.join(BUILD, "tests", "ec2_describe")
    before = len(calls())
    proc = subprocess.run([driver], env=aws.client_env(SESSION), capture_output=True, text=True, timeout=60)
    mine = calls()[before:]
    with open(os.path.join(ROOT, "VERSION"), encoding="utf-8") as f:
        agent = "ebssh/" + f.readline().strip()
    t.ok(proc.returncode == 0 and [(c["action"], c["user_agent"]) for c in mine] == [("DescribeInstances", agent)],
         f"the C code's request is logged with its agent {agent} (what the audit counts as the code's)",
         (proc.returncode, proc.stderr[-500:], mine))

    before = len(calls())
    errors = []

    def worker():
        client = boto3_client(aws, service="cloudwatch", retries={"max_attempts": 1})
        for i in range(10):
            try:
                client.put_metric_data(Namespace="ebssh", MetricData=[{"MetricName": "m", "Value": float(i)}])
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    try:
        got = calls()[before:]
    except ValueError as e:
        got = e
    t.ok(not errors and isinstance(got, list) and len(got) == 80
         and all(c["action"] == "PutMetricData" and c["status"] == 200 for c in got),
         "80 concurrent requests: 80 whole lines (one write each, O_APPEND)",
         errors[:3] or (got if not isinstance(got, list) else len(got)))
    files = list(read_lines(log_dir))
    t.eq(files, [f"ebssh-{aws.proc.pid}.jsonl"], "one file, named by the double and its pid")


def case_unwritable(t):
    t.eq(calllog.CallLog.from_environment({}), None, "no EBSSH_CALL_LOG: no call log")
    with tempfile.TemporaryDirectory() as d:
        log = calllog.CallLog(os.path.join(d, "gone"), "s")
        err = io.StringIO()
        with redirect_stderr(err):
            log.record("ec2", "DescribeInstances", 200, "x")
            log.record("ec2", "DescribeInstances", 200, "x")
        log.close()
    said = err.getvalue()
    t.ok(said.count("cannot append to the call log") == 1 and "gone" in said,
         "a log that cannot be written is said once on stderr, with its path", said)


def main():
    t = Tap()
    t.run(case_operation_names)
    t.run(case_unwritable)
    with tempfile.TemporaryDirectory() as log_dir:
        saved = {k: os.environ.get(k) for k in ("EBSSH_CALL_LOG", "EBSSH_SUITE")}
        os.environ.update(EBSSH_CALL_LOG=log_dir, EBSSH_SUITE=SUITE)
        try:
            aws = AwsDouble().start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        try:
            t.run(case_live, aws, log_dir)
        finally:
            aws.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
