"""The lookup routes' cases, shared by the two front doors' suites
(tests/integration/runtime.py through bootstrap, serve.py through ebssh-api),
against the AWS double's bundled fixture (fixtures/instances.json).

A front door supplies send(method, path, query, headers) -> (status,
headers with lowercase names, body text); run() drives every case through
it and reports TAP lines through tap.ok(cond, name, diag).
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

# The AWS double's session key (fixtures/credentials.json): its token must be signed.
ACCESS_KEY = "ASIAIOSFODNN7EXAMPLE"
SECRET_KEY = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQDEXAMPLEtoken+with/slashes+and=="
SECRETS = (SECRET_KEY, TOKEN, "Signature=", "Credential=")


class AwsDouble:
    """tests/doubles/aws_double.py as a child process; None-safe via available()."""

    PATH = os.path.join(HERE, "aws_double.py")

    @classmethod
    def available(cls):
        return os.path.exists(cls.PATH)

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, self.PATH, *args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError("AWS double did not start: %r" % line)
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def control(self, method, what, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/__control/" + what, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def aws_env(aws_url):
    """The environment of a program under test: only the double's AWS settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("_X_AMZN_TRACE_ID", "EBSSH_API_KEY")}
    env.update({
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": TOKEN,
        "AWS_ENDPOINT_URL_EC2": aws_url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "EBSSH_AWS_RETRY_BASE_MS": "1",
        "EBSSH_AWS_TIMEOUT_MS": "3000",
    })
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
    aws.control("POST", "reset", {})
    if not spec:
        return
    if "config" in spec:
        aws.control("POST", "config", spec["config"])
    if "faults" in spec:
        aws.control("POST", "faults", {"action": "DescribeInstances", "faults": spec["faults"]})


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
    aws.control("POST", "reset", {})
