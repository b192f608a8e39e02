"""The lookup routes' cases, shared by the two front doors' suites
(tests/integration/runtime.py through bootstrap, serve.py through ebssh-api),
against the AWS double's bundled fixture (fixtures/instances.json).

A front door supplies send(method, path, query, headers) -> (status,
headers with lowercase names, body text); run() drives every case through
it and reports TAP lines through tap.ok(cond, name, diag).
"""

import json
import os

from harness import SESSION

SECRETS = (SESSION[1], SESSION[2], "Signature=", "Credential=")


def aws_env(aws):
    """The environment of a program under test: the double's AWS settings
    (harness.client_env with the session key) and nothing of the user's."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("_X_AMZN_TRACE_ID", "EBSSH_API_KEY")}
    env = aws.client_env(SESSION, base=base)
    env.update({"EBSSH_AWS_RETRY_BASE_MS": "1", "EBSSH_AWS_TIMEOUT_MS": "3000",
                # The route cases change the double (faults, instances) between two
                # lookups of one environment: no lookup cache here.
                # tests/integration/lookup_cache.py tests the cache.
                "LOOKUP_CACHE_SECONDS": "0"})
    return env


PROD = "54.210.1.12\n54.210.1.11\n54.210.1.13\n"
PROD_PRIVATE = "10.0.2.12\n10.0.1.11\n10.0.1.13\n10.0.3.15\n"
JSON_ACCEPT = {"Accept": "application/json"}

# name, method, path, query, headers, setup, status, body (exact) or error code
CASES = [
    ("health", "GET", "/health", {}, {}, None, 200, "ok\n"),
    ("eb ip: running, oldest first, ties by id, address-less left out",
     "GET", "/eb/my-env-production/ip", {}, {}, None, 200, PROD),
    ("eb ip across one-instance pages", "GET", "/eb/my-env-production/ip", {}, {},
     {"config": {"page_size": 1}}, 200, PROD),
    ("eb ip/2", "GET", "/eb/my-env-production/ip/2", {}, {}, None, 200, "54.210.1.11\n"),
    ("eb ip/3 (tie broken by instance id)", "GET", "/eb/my-env-production/ip/3", {}, {}, None,
     200, "54.210.1.13\n"),
    ("eb ip ?address=private", "GET", "/eb/my-env-production/ip", {"address": "private"}, {},
     None, 200, PROD_PRIVATE),
    ("eb ip/4 ?address=private", "GET", "/eb/my-env-production/ip/4",
     {"address": "private"}, {}, None, 200, "10.0.3.15\n"),
    ("eb ip, stopped instance with an Elastic IP left out", "GET", "/eb/my-env-staging/ip", {},
     {}, None, 200, "3.91.0.22\n3.91.0.21\n"),
    ("eb ip, a name that prefixes others", "GET", "/eb/my-env/ip", {}, {}, None, 200,
     "18.200.5.5\n"),
    ("asg ip", "GET", "/asg/web-asg/ip", {}, {}, None, 200, "44.200.10.1\n44.200.10.2\n"),
    ("asg ip/2", "GET", "/asg/web-asg/ip/2", {}, {}, None, 200, "44.200.10.2\n"),
    ("eb ip JSON on Accept", "GET", "/eb/my-env-production/ip", {}, JSON_ACCEPT, None, 200,
     ("json", lambda d: d["environment"] == "my-env-production"
      and [i["ip"] for i in d["instances"]] == PROD.split()
      and [i["index"] for i in d["instances"]] == [1, 2, 3])),
    ("eb instances", "GET", "/eb/my-env-production/instances", {}, {}, None, 200,
     ("json", lambda d: [i["instance_id"] for i in d["instances"]] == [
         "i-0a1b2c3d4e5f60002", "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60003",
         "i-0a1b2c3d4e5f60005"])),
    ("index past the end: 404", "GET", "/eb/my-env-production/ip/4", {}, {}, None, 404,
     "NotFound"),
    ("unknown environment: 404", "GET", "/eb/no-such-env/ip", {}, {}, None, 404, "NotFound"),
    ("malformed name: 400", "GET", "/eb/x/ip", {}, {}, None, 400, None),
    ("malformed index: 400", "GET", "/eb/my-env-production/ip/0", {}, {}, None, 400, None),
    ("bad address kind: 400", "GET", "/eb/my-env-production/ip", {"address": "both"}, {}, None,
     400, None),
    ("unknown route: 404", "GET", "/nope", {}, {}, None, 404, "NotFound"),
    ("wrong method: 405", "POST", "/health", {}, {}, None, 405, "MethodNotAllowed"),
    ("AuthFailure: 502 that leaks nothing", "GET", "/eb/my-env-production/ip", {}, {},
     {"faults": ["authfailure"]}, 502, "AwsError"),
    ("throttled after every retry: 503", "GET", "/eb/my-env-production/ip", {}, {},
     {"faults": ["throttle", "throttle", "throttle"]}, 503, "Throttled"),
    ("throttled once, then answered", "GET", "/eb/my-env-production/ip", {}, {},
     {"faults": ["throttle"]}, 200, PROD),
    ("AWS internal error after every retry: 502", "GET", "/eb/my-env-production/ip", {}, {},
     {"faults": ["500", "500", "500"]}, 502, "AwsError"),
]


def setup(aws, spec):
    aws.reset()
    if not spec:
        return
    if "config" in spec:
        aws.config(**spec["config"])
    if "faults" in spec:
        aws.queue_faults("DescribeInstances", spec["faults"])


def check(tap, name, got, status, expect):
    got_status, headers, body = got
    diag = "got %s %r" % (got_status, body[:300])
    if got_status != status:
        return tap.ok(False, name, diag)
    leak = [s for s in SECRETS if s in body]
    if leak:
        return tap.ok(False, name + " (body leaks a secret)", diag)
    if isinstance(expect, tuple) and expect[0] == "json":
        try:
            ok = headers.get("content-type", "").startswith("application/json") and \
                expect[1](json.loads(body))
        except (ValueError, KeyError, TypeError, IndexError):
            ok = False
        return tap.ok(ok, name, diag)
    if status >= 400:
        try:
            doc = json.loads(body)
        except ValueError:
            return tap.ok(False, name + " (error body is not JSON)", diag)
        ok = isinstance(doc.get("message"), str) and isinstance(doc.get("code"), str)
        if expect is not None:
            ok = ok and doc["code"] == expect
        return tap.ok(ok and headers.get("content-type", "").startswith("application/json"),
                      name, diag)
    return tap.ok(body == expect, name, diag)


def run(tap, aws, send, prefix):
    """Every case through send; prefix names the front door in the TAP lines."""
    for name, method, path, query, headers, spec, status, expect in CASES:
        setup(aws, spec)
        got = send(method, path, query, headers)
        check(tap, "%s: %s" % (prefix, name), got, status, expect)
    aws.reset()
