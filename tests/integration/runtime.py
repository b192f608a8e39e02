#!/usr/bin/python3
"""build/bootstrap under the Runtime API double (tests/doubles/runtime_api.py)
and the AWS double: API Gateway 1.0, 2.0 and Function URL events answered in
their shapes, every route case of tests/doubles/route_cases.py, bad events
reported to /error while the loop goes on, other event kinds, the trace id,
init errors, a stale connection retried once, a response too large, the log
lines (every one JSON with time, level and message; an invocation's lines
with its Lambda request id, API Gateway's request id and the trace id, and
none of another invocation's). Prints TAP."""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.dont_write_bytecode = True
ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ["EBSSH_BUILD"]
VECTORS = os.environ.get("EBSSH_VECTORS") or os.path.join(ROOT, "tests", "vectors")
BOOTSTRAP = os.path.join(BUILD, "bootstrap")
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import route_cases  # noqa: E402
from harness import AwsDouble  # noqa: E402
from child import sanitizer_clean  # noqa: E402
from route_cases import SECRETS, aws_env  # noqa: E402
from tap import Tap  # noqa: E402
from runtime_api import Client as RuntimeApi  # noqa: E402

EVENTS = os.path.join(VECTORS, "events")
TRACE = "Root=1-65f0a1b2-0123456789abcdef01234567;Parent=1a2b3c4d5e6f7a8b;Sampled=1"
API_KEY = "k3y-Sup3r-S3cr3t-4pi-KEY"
ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ID_FIELDS = ("request_id", "api_request_id", "trace_id")


def vector(*parts):
    with open(os.path.join(EVENTS, *parts), encoding="utf-8") as f:
        return json.load(f)


def v1_event(method, path, query=None, headers=None, body=None, b64=False):
    """An API Gateway REST (payload 1.0) proxy event, from the powertools sample."""
    ev = vector("powertools-python", "apiGatewayProxyEvent.json")
    hdrs = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "x-api-key": API_KEY}
    hdrs.update(headers or {})
    ev.update({"resource": "/{proxy+}", "path": path, "httpMethod": method,
               "headers": hdrs, "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
               "queryStringParameters": dict(query) if query else None,
               "multiValueQueryStringParameters":
                   {k: [v] for k, v in query.items()} if query else None,
               "pathParameters": {"proxy": path.lstrip("/")},
               "body": body, "isBase64Encoded": b64})
    ev["requestContext"].update({"httpMethod": method, "path": "/prod" + path,
                                 "resourcePath": "/{proxy+}", "stage": "prod"})
    return ev


def v2_event(method, path, query=None, headers=None, stage="$default", body=None):
    """An HTTP API (payload 2.0) event; on a named stage rawPath starts with it."""
    ev = vector("powertools-python", "apiGatewayProxyV2Event_GET.json")
    raw = path if stage == "$default" else "/" + stage + path
    hdrs = {"host": "api-id.execute-api.us-east-1.amazonaws.com", "x-api-key": API_KEY}
    hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
    ev.pop("cookies", None)
    ev.update({"rawPath": raw, "rawQueryString": urllib.parse.urlencode(query or {}),
               "headers": hdrs, "queryStringParameters": dict(query) if query else None,
               "pathParameters": None, "body": body, "isBase64Encoded": False})
    if not query:
        ev.pop("queryStringParameters")
    ev["requestContext"]["http"].update({"method": method, "path": raw})
    ev["requestContext"]["stage"] = stage
    return ev


def url_event(method, path, query=None, headers=None):
    """A Function URL event (payload 2.0)."""
    ev = vector("powertools-python", "lambdaFunctionUrlEvent.json")
    hdrs = dict(ev["headers"])
    hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
    ev.update({"rawPath": path, "rawQueryString": urllib.parse.urlencode(query or {}),
               "headers": hdrs})
    if query:
        ev["queryStringParameters"] = dict(query)
    else:
        ev.pop("queryStringParameters", None)
    ev["requestContext"]["http"].update({"method": method, "path": path})
    return ev


def header(doc, name):
    for k, v in (doc.get("headers") or {}).items():
        if k.lower() == name.lower():
            return v
    return None


def decode_answer(entry):
    """(status, headers with lowercase names, body text) of a proxy answer."""
    doc = json.loads(entry["body"])
    body = doc.get("body") or ""
    if doc.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    headers = {k.lower(): v for k, v in (doc.get("headers") or {}).items()}
    return doc["statusCode"], headers, body


class Bootstrap:
    """build/bootstrap as a child process, its stderr in a file."""

    def __init__(self, env):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([BOOTSTRAP], env=env, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self, timeout=20):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "timeout"

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self, rt):
        """Stops it the way Lambda's container error does: /next answers 500."""
        rt.shutdown()
        rc = self.wait()
        if self.proc.poll() is None:
            self.proc.kill()
        return rc


def runtime_env(rt, aws, **extra):
    env = aws_env(aws)
    env.update({"AWS_LAMBDA_RUNTIME_API": rt.address, "AWS_LAMBDA_FUNCTION_NAME": "ebssh",
                "HOME": tempfile.gettempdir()})
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


class Session:
    """One bootstrap under one Runtime API double; invoke() waits for the answer."""

    def __init__(self, aws, **extra):
        self.rt = RuntimeApi()
        self.boot = Bootstrap(runtime_env(self.rt, aws, **extra))
        self.count = 0

    def invoke(self, *items, timeout=15, extra=0):
        """Queues items; waits for their records (extra: records beyond one each)."""
        ids = self.rt.enqueue(*items)
        self.count += len(ids) + extra
        res = self.rt.wait(self.count, timeout)
        by_id = {}
        for entry in res["invocations"]:
            by_id.setdefault(entry["request_id"], []).append(entry)
        return [by_id.get(i, []) for i in ids]

    def last(self, item, timeout=15):
        """The final entry recorded for one item (the answer or the error)."""
        entries = self.invoke(item, timeout=timeout)[0]
        return entries[-1] if entries else None

    def close(self):
        rc = self.boot.stop(self.rt)
        self.rt.close()
        return rc


def error_ok(entry, etype):
    if not entry or entry["kind"] != "error" or entry["headers"].get(ERROR_TYPE) != etype:
        return False
    try:
        doc = json.loads(entry["body"])
    except ValueError:
        return False
    return (entry["headers"].get("Content-Type") == "application/vnd.aws.lambda.error+json"
            and doc.get("errorType") == etype and isinstance(doc.get("errorMessage"), str)
            and doc["errorMessage"] != "" and doc.get("stackTrace") == [])


def log_lines(text):
    """(every stderr line parsed as JSON or None, the lines that are not log lines)."""
    docs, bad = [], []
    for line in text.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            d = None
        if (isinstance(d, dict) and isinstance(d.get("time"), str) and TIME_RE.match(d["time"])
                and d.get("level") in ("INFO", "WARN", "ERROR")
                and isinstance(d.get("message"), str) and d["message"]):
            docs.append(d)
        else:
            bad.append(line)
    return docs, bad


def lines_of(s, request_id, tries=100):
    """The log lines of one invocation, once its summary line is written."""
    mine = []
    for _ in range(tries):  # the summary line follows the answer
        docs, _ = log_lines(s.boot.stderr())
        mine = [d for d in docs if d.get("request_id") == request_id]
        if any(d["message"] == "invocation" for d in mine):
            break
        time.sleep(0.05)
    return mine


def test_shapes(tap, s):
    """The three HTTP event kinds, each answered in its own shape."""
    e = s.last({"event": v1_event("GET", "/health")})
    doc = json.loads(e["body"]) if e else {}
    tap.ok(e and e["kind"] == "response" and e["status"] == 202
           and e["headers"].get("Content-Type") == "application/json"
           and doc.get("statusCode") == 200 and doc.get("body") == "ok\n"
           and doc.get("isBase64Encoded") is False
           and (header(doc, "Content-Type") or "").startswith("text/plain")
           and set(doc) <= {"statusCode", "headers", "multiValueHeaders", "body",
                            "isBase64Encoded"},
           "REST 1.0 event: /health answered in the 1.0 shape", e)

    e = s.last({"event": v2_event("GET", "/health")})
    doc = json.loads(e["body"]) if e else {}
    tap.ok(e and e["kind"] == "response" and doc.get("statusCode") == 200
           and doc.get("body") == "ok\n" and "multiValueHeaders" not in doc
           and set(doc) <= {"statusCode", "headers", "cookies", "body", "isBase64Encoded"},
           "HTTP API 2.0 event: /health answered in the 2.0 shape", e)

    e = s.last({"event": v2_event("GET", "/health", stage="prod")})
    doc = json.loads(e["body"]) if e else {}
    tap.ok(e and doc.get("statusCode") == 200 and doc.get("body") == "ok\n",
           "HTTP API 2.0 event on a named stage: /prod/health is /health", e)

    e = s.last({"event": url_event("GET", "/health")})
    doc = json.loads(e["body"]) if e else {}
    tap.ok(e and doc.get("statusCode") == 200 and doc.get("body") == "ok\n"
           and "multiValueHeaders" not in doc,
           "Function URL event: /health answered in the 2.0 shape", e)

    e = s.last({"event": v1_event("GET", "/eb/x/ip")})
    doc = json.loads(e["body"]) if e else {}
    tap.ok(e and doc.get("statusCode") == 400 and json.loads(doc.get("body") or "{}").get(
        "message"), "REST 1.0 event: a malformed name is a 400 JSON answer", e)

    ev = v1_event("GET", "/health")
    ev["body"] = base64.b64encode(b"\x00\x01binary").decode()
    ev["isBase64Encoded"] = True
    e = s.last({"event": ev})
    doc = json.loads(e["body"]) if e else {}
    tap.ok(e and doc.get("statusCode") == 200, "REST 1.0 event with a base64 body", e)


def test_bad_events(tap, s):
    entries = s.invoke({"raw": "{\"version\": \"2.0\", "}, {"raw": "[1, 2"},
                       {"event": {"hello": "world"}}, {"event": [1, 2, 3]},
                       {"raw": ""}, {"event": v1_event("GET", "/health")})
    names = ["truncated JSON", "malformed JSON", "an object of no known kind",
             "a JSON array", "an empty payload"]
    for name, got in zip(names, entries):
        e = got[-1] if got else None
        tap.ok(error_ok(e, "Runtime.InvalidEvent"),
               "bad event (%s): /error with Runtime.InvalidEvent" % name, e)
    e = entries[-1][-1] if entries[-1] else None
    tap.ok(e and e["kind"] == "response" and json.loads(e["body"]).get("statusCode") == 200,
           "a good event after the bad ones is still answered", e)

    ev = v1_event("GET", "/health")
    del ev["httpMethod"]
    del ev["requestContext"]["httpMethod"]
    e = s.last({"event": ev})
    tap.ok(error_ok(e, "Runtime.InvalidEvent"), "a 1.0 event without a method: InvalidEvent", e)


def test_other_kinds(tap, s):
    """The non-HTTP events go to lambda/ops/dispatch.c's workflows; the detailed
    behaviour of each is tested in backup.py, storage_notify.py, logsearch.py."""
    cases = [
        ("a scheduled rule of no workflow (my-scheduled-rule)",
         vector("eventbridge", "scheduled-event-docs.json"), "Function.UnsupportedEvent",
         "my-scheduled-rule"),
        ("a CloudWatch Logs subscription with no SLACK_WEBHOOK_URL",
         vector("powertools-python", "cloudWatchLogEvent.json"), "Function.NotifyFailed",
         "SLACK_WEBHOOK_URL"),
        ("a CodePipeline job", vector("powertools-python", "codePipelineEvent.json"),
         "Function.UnsupportedEvent", "no workflow"),
    ]
    for name, ev, etype, words in cases:
        e = s.last({"event": ev})
        tap.ok(error_ok(e, etype) and words in e["body"], "%s: %s" % (name, etype), e)
    # The schedule named <stack>-ami-backup runs the backup: the double's
    # instances carry no backup tag, so it answers an empty report.
    ev = vector("eventbridge", "scheduled-event-docs.json")
    ev["resources"] = ["arn:aws:events:us-east-1:123456789012:rule/ebssh-stack-ami-backup"]
    e = s.last({"event": ev})
    doc = json.loads(e["body"]) if e and e["kind"] == "response" else {}
    tap.ok(doc.get("failed") == 0 and doc.get("instances") == [] and doc.get("dry_run") is False,
           "the <stack>-ami-backup schedule runs the AMI backup (an empty report here)", e)


def test_request_ids(tap, s):
    e = s.last({"event": v1_event("GET", "/health"), "request_id": "id with/odd chars"})
    tap.ok(e and e["kind"] == "response" and e["status"] == 202,
           "a request id with '/' and a space is percent-encoded in the URL", e)


def test_too_large(tap, s):
    s.rt.set(max_payload=20)
    got = s.invoke({"event": v1_event("GET", "/health")}, extra=1)[0]
    s.rt.set(max_payload=6291556)
    tap.ok(len(got) == 2 and got[0]["kind"] == "response" and got[0]["status"] == 413
           and error_ok(got[1], "Function.ResponseSizeTooLarge"),
           "a response the Runtime API refuses with 413 is reported to /error", got)
    e = s.last({"event": v1_event("GET", "/health")})
    tap.ok(e and e["kind"] == "response", "the loop goes on after a 413", e)


def test_dropped_response(tap, s):
    s.rt.drop(1, "response")
    e = s.last({"event": v1_event("GET", "/health")})
    res = s.rt.results()
    tap.ok(e and e["kind"] == "response" and e["status"] == 202 and res["dropped"] >= 1,
           "a /response whose connection is dropped is sent again", (e, res))


def test_log(tap, s, rid_item):
    e = s.last(rid_item)
    mine = [d for d in lines_of(s, rid_item["request_id"]) if d["message"] == "invocation"]
    text = s.boot.stderr()
    lines = [d for d in log_lines(text)[0] if d["message"] == "invocation"]
    d = mine[0] if mine else {}
    tap.ok(e and len(mine) == 1 and d.get("route") == "/health" and d.get("method") == "GET"
           and d.get("status") == 200 and isinstance(d.get("duration_ms"), (int, float))
           and d["duration_ms"] >= 0 and d.get("level") == "INFO" and "error" not in d,
           "one JSON log line per invocation: request id, route, method, status, duration",
           text[-2000:])
    leaked = [x for x in SECRETS + (API_KEY, "x-api-key", "X-Amz-Security-Token")
              if x.lower() in text.lower()]
    tap.ok(not leaked, "the log holds no key, token, signature or API key", leaked)
    bad = [d for d in lines if d.get("error")]
    tap.ok(lines and all(isinstance(d.get("route"), str) for d in lines) and bad
           and all(d["level"] == "ERROR" for d in bad)
           and all(d["level"] == "INFO" for d in lines if not d.get("error")),
           "failed invocations are logged with their error type, level ERROR", bad[:3])


def test_log_ids(tap, aws, s):
    """Each invocation's lines carry its own ids: Lambda's, API Gateway's
    requestContext.requestId (HTTP events only) and the trace id."""
    first = v1_event("GET", "/eb/my-env-production/ip")
    first["requestContext"]["requestId"] = "apigw-req-0001"
    trace1 = TRACE
    aws.reset()
    aws.queue_faults("DescribeInstances", ["authfailure"])
    e = s.last({"event": first, "request_id": "lambda-req-0001", "trace_id": trace1})
    aws.reset()
    one = lines_of(s, "lambda-req-0001")
    errors = [d for d in one if d["level"] == "ERROR" and d["message"] != "invocation"]
    tap.ok(e and e["kind"] == "response" and json.loads(e["body"])["statusCode"] == 502
           and len(one) >= 2 and errors
           and all(d.get("api_request_id") == "apigw-req-0001" and d.get("trace_id") == trace1
                   for d in one)
           and errors[0].get("route") == "/eb/{env}/ip" and errors[0].get("status") == 502
           and errors[0].get("aws_code") == "AuthFailure" and errors[0].get("error_code") == "aws_error",
           "a failing route: its error line and summary line carry API Gateway's request id "
           "and the trace id", one)

    # A workflow that fails (no SLACK_WEBHOOK_URL), without a trace id: no
    # API Gateway id, no trace id, none of the first invocation's.
    e = s.last({"event": vector("powertools-python", "cloudWatchLogEvent.json"),
                "request_id": "lambda-req-0002", "trace_id": None})
    two = lines_of(s, "lambda-req-0002")
    failed = [d for d in two if d["message"] != "invocation" and d["level"] == "ERROR"]
    summary = [d for d in two if d["message"] == "invocation"]
    tap.ok(error_ok(e, "Function.NotifyFailed") and failed and summary
           and summary[0]["level"] == "ERROR"
           and summary[0].get("error") == "Function.NotifyFailed"
           and "SLACK_WEBHOOK_URL" in failed[0]["message"]
           and all("api_request_id" not in d and "trace_id" not in d for d in two),
           "a failing workflow: its error line and summary carry its request id only", two)

    second = v2_event("GET", "/health")
    second["requestContext"]["requestId"] = "apigw-req-0003"
    s.last({"event": second, "request_id": "lambda-req-0003", "trace_id": trace1 + "3"})
    three = lines_of(s, "lambda-req-0003")
    tap.ok(three and all(d.get("api_request_id") == "apigw-req-0003"
                         and d.get("trace_id") == trace1 + "3" for d in three),
           "the next HTTP invocation carries its own ids", three)
    docs, _ = log_lines(s.boot.stderr())
    stray = [d for d in docs if d.get("request_id") != "lambda-req-0001"
             and (d.get("api_request_id") == "apigw-req-0001")]
    tap.ok(not stray, "no other line carries the first invocation's API Gateway id", stray)


def test_every_line_json(tap, text, what):
    docs, bad = log_lines(text)
    tap.ok(docs and not bad, "%s: every stderr line is JSON with time, level and message" % what,
           bad[:5] or text[-1000:])


# An LD_PRELOAD shim that records what bootstrap does to _X_AMZN_TRACE_ID.
TRACE_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void note(const char *what, const char *value)
{
	const char *path = getenv("EBSSH_TRACE_LOG");
	FILE *f = path ? fopen(path, "a") : NULL;

	if (f) {
		fprintf(f, "%s %s\n", what, value ? value : "-");
		fclose(f);
	}
}

int setenv(const char *name, const char *value, int overwrite)
{
	int (*real)(const char *, const char *, int) =
		(int (*)(const char *, const char *, int))dlsym(RTLD_NEXT, "setenv");
	int rc = real(name, value, overwrite);

	if (strcmp(name, "_X_AMZN_TRACE_ID") == 0)
		note("set", getenv(name));
	return rc;
}

int unsetenv(const char *name)
{
	int (*real)(const char *) = (int (*)(const char *))dlsym(RTLD_NEXT, "unsetenv");
	int rc = real(name);

	if (strcmp(name, "_X_AMZN_TRACE_ID") == 0)
		note("unset", getenv(name));
	return rc;
}
"""


def test_trace(tap, aws):
    """_X_AMZN_TRACE_ID follows Lambda-Runtime-Trace-Id, set or unset per invocation
    (seen through an LD_PRELOAD shim over setenv and unsetenv)."""
    tmp = tempfile.mkdtemp()
    src, shim, log = (os.path.join(tmp, n) for n in ("shim.c", "shim.so", "trace.log"))
    with open(src, "w") as f:
        f.write(TRACE_SHIM)
    cc = subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", shim, src, "-ldl"],
                        capture_output=True, text=True)
    if cc.returncode != 0:
        return tap.skip("_X_AMZN_TRACE_ID", "cannot build the shim: " + cc.stderr[:200])
    asan = os.environ.get("ASAN_OPTIONS", "")
    s = Session(aws, LD_PRELOAD=shim, EBSSH_TRACE_LOG=log,
                ASAN_OPTIONS=(asan + ":" if asan else "") + "verify_asan_link_order=0")
    try:
        s.invoke({"event": v1_event("GET", "/health"), "trace_id": TRACE},
                 {"event": v1_event("GET", "/health"), "trace_id": None},
                 {"event": v1_event("GET", "/health"), "trace_id": TRACE + "2"})
    finally:
        rc = s.close()
    try:
        with open(log) as f:
            seen = f.read().splitlines()
    except OSError:
        seen = []
    tap.ok(seen == ["set " + TRACE, "unset -", "set " + TRACE + "2"] and rc == 1,
           "_X_AMZN_TRACE_ID set from Lambda-Runtime-Trace-Id, unset without it",
           (seen, rc, s.boot.stderr()[-800:]))
    for n in (src, shim, log):
        if os.path.exists(n):
            os.unlink(n)
    os.rmdir(tmp)


def test_routes(tap, aws, s):
    for fmt, make in (("1.0", v1_event), ("2.0", v2_event)):
        def send(method, path, query, headers, make=make):
            e = s.last({"event": make(method, path, query=query, headers=headers)})
            if not e or e["kind"] != "response":
                return 0, {}, json.dumps(e)
            return decode_answer(e)
        route_cases.run(tap, aws, send, "bootstrap " + fmt)


def test_init_errors(tap, aws):
    rt = RuntimeApi()
    boot = Bootstrap(runtime_env(rt, aws, AWS_REGION=None, AWS_DEFAULT_REGION=None,
                                 AWS_CONFIG_FILE="/nonexistent/config"))
    rc = boot.wait()
    res = rt.results()
    e = res["init_errors"][0] if res["init_errors"] else None
    tap.ok(rc not in (0, "timeout") and e is not None and res["next_calls"] == 0
           and e["headers"].get(ERROR_TYPE, "").startswith("Runtime.")
           and error_ok(dict(e, kind="error"), e["headers"].get(ERROR_TYPE))
           and "region" in json.loads(e["body"])["errorMessage"].lower(),
           "no region: /runtime/init/error, then a non-zero exit", (rc, res, boot.stderr()))
    tap.ok(sanitizer_clean(boot.stderr()), "init error path is sanitizer-clean", boot.stderr())
    test_every_line_json(tap, boot.stderr(), "no region")
    rt.close()

    rt = RuntimeApi()
    boot = Bootstrap(runtime_env(rt, aws, BACKUP_TAG_KEY="k" * 300))
    rc = boot.wait()
    docs, bad = log_lines(boot.stderr())
    tap.ok(rc not in (0, "timeout") and docs and not bad and docs[-1]["level"] == "ERROR"
           and "BACKUP_TAG_KEY" in docs[-1]["message"]
           and rt.results()["init_errors"],
           "a bad setting: the init error is a JSON line, level ERROR", (rc, boot.stderr()))
    rt.close()

    env = runtime_env(rt, aws)
    del env["AWS_LAMBDA_RUNTIME_API"]
    p = subprocess.run([BOOTSTRAP], env=env, capture_output=True, text=True, timeout=20)
    docs, bad = log_lines(p.stderr)
    tap.ok(p.returncode != 0 and len(docs) == 1 and not bad and docs[0]["level"] == "ERROR"
           and "AWS_LAMBDA_RUNTIME_API" in docs[0]["message"],
           "no AWS_LAMBDA_RUNTIME_API: one JSON stderr line, level ERROR, non-zero exit",
           p.stderr)


def test_stale(tap, aws):
    rt = RuntimeApi()
    rt.drop(1, "next")
    rt.enqueue({"event": v1_event("GET", "/health"), "request_id": "after-drop"})
    boot = Bootstrap(runtime_env(rt, aws))
    res = rt.wait(1)
    got = [e for e in res["invocations"] if e["request_id"] == "after-drop"]
    tap.ok(got and got[-1]["kind"] == "response" and res["dropped"] == 1
           and res["next_calls"] >= 2,
           "a /next whose connection is dropped is retried once", res)
    rc = boot.stop(rt)
    tap.ok(rc == 1 and sanitizer_clean(boot.stderr()),
           "a 500 from /next: clean exit with status 1", (rc, boot.stderr()[-1500:]))
    rt.close()

    rt = RuntimeApi()
    rt.drop(2, "next")
    rt.enqueue({"event": v1_event("GET", "/health")})
    boot = Bootstrap(runtime_env(rt, aws))
    rc = boot.wait()
    res = rt.results()
    docs, bad = log_lines(boot.stderr())
    tap.ok(rc not in (0, "timeout") and res["next_calls"] == 2 and res["dropped"] == 2
           and not bad and docs and docs[-1]["level"] == "ERROR" and "/next" in docs[-1]["message"]
           and sanitizer_clean(boot.stderr()),
           "only once: a second failure on /next ends the runtime (an ERROR line)",
           (rc, res, boot.stderr()))
    rt.close()


def main():
    tap = Tap()
    if not os.access(BOOTSTRAP, os.X_OK):
        tap.ok(False, "%s exists" % BOOTSTRAP)
        sys.exit(tap.done())
    aws = AwsDouble().start()
    try:
        s = Session(aws)
        try:
            test_shapes(tap, s)
            test_bad_events(tap, s)
            test_other_kinds(tap, s)
            test_request_ids(tap, s)
            test_too_large(tap, s)
            test_dropped_response(tap, s)
            test_routes(tap, aws, s)
            test_log(tap, s, {"event": v1_event("GET", "/health"), "request_id": "log-me"})
            test_log_ids(tap, aws, s)
        finally:
            rc = s.close()
        test_every_line_json(tap, s.boot.stderr(), "a session of every kind of invocation")
        last = (log_lines(s.boot.stderr())[0] or [{}])[-1]
        tap.ok(last.get("level") == "WARN" and "exiting" in last.get("message", "")
               and not any(k in last for k in ID_FIELDS),
               "the exit line is WARN after a 500 from /next, with no invocation's ids", last)
        tap.ok(rc == 1 and sanitizer_clean(s.boot.stderr()),
               "bootstrap exits cleanly when /next answers 500", (rc, s.boot.stderr()[-2000:]))
        test_trace(tap, aws)
        test_init_errors(tap, aws)
        test_stale(tap, aws)
    finally:
        aws.stop()
    sys.exit(tap.done())


if __name__ == "__main__":
    main()
