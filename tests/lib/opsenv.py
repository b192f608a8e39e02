"""Shared by the integration suites of issues 7 and 8: the environment in
which build/tests/ops_driver talks to the AWS double and the Slack double,
signed Slack requests, and running the driver.

    with AwsDouble() as aws, SlackDouble() as slack:
        env = driver_env(aws, slack)
        out = route(env, "GET", "/logs/my-fn/<id>")
        out = route(env, "POST", "/slack/logsearch", body=b, headers=slack_headers(b))
        out = event(env, {...})
"""

import hashlib
import hmac
import json
import os
import subprocess
import tempfile
import time

from harness import SESSION

BUILD = os.environ.get("EBSSH_BUILD", "build")
DRIVER = os.path.join(BUILD, "tests", "ops_driver")
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
WEBHOOK_SECRET = "T0000/B0000/XXXXwebhookSECRETpartXXXX"
SELF = "ebssh-api"


def driver_env(aws, slack, creds=SESSION, **extra):
    home = tempfile.mkdtemp(prefix="ebssh-home-")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": aws.url,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "EBSSH_AWS_RETRY_BASE_MS": "20",
        "EBSSH_AWS_TIMEOUT_MS": "5000",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_WEBHOOK_URL": f"{slack.url}/services/{WEBHOOK_SECRET}",
        "EBSSH_SLACK_RESPONSE_URL_PREFIX": f"{slack.url}/commands/",
        "EBSSH_SLACK_RETRY_BASE_MS": "50",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = creds[0], creds[1]
    if creds[2]:
        env["AWS_SESSION_TOKEN"] = creds[2]
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


SANITIZER_REPORTS = []  # (args, stderr) of runs where ASan/UBSan/LSan spoke, or rc 23


def sanitizer_reports():
    """What the sanitizers said in any run so far (empty when clean)."""
    return list(SANITIZER_REPORTS)


class Run:
    """One driver run: .out (parsed stdout), .stdout, .stderr, .rc, .seconds."""

    def __init__(self, proc, seconds):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.seconds = seconds
        try:
            self.out = json.loads(proc.stdout.splitlines()[0]) if proc.stdout else None
        except ValueError:
            self.out = None

    def __repr__(self):
        return f"Run(rc={self.rc}, out={self.out!r}, stderr={self.stderr[-2000:]!r})"


def _run(env, args, stdin=None, timeout=120):
    start = time.monotonic()
    proc = subprocess.run(
        [DRIVER, *args], env=env, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if "Sanitizer" in proc.stderr or "runtime error:" in proc.stderr or proc.returncode not in (0, 1, 2):
        SANITIZER_REPORTS.append((args, proc.returncode, proc.stderr[-4000:]))
    return Run(proc, time.monotonic() - start)


def route(env, method, path, headers=None, query=None, body=None, run_async=False, timeout=120):
    args = ["route", method, path]
    for k, v in (headers or {}).items():
        args += ["-H", f"{k}: {v}"]
    for k, v in (query or {}).items():
        args += ["-q", f"{k}={v}"]
    stdin = None
    if body is not None:
        args += ["-f", "-"]
        stdin = body if isinstance(body, str) else body.decode()
    if run_async:
        args.append("--async")
    return _run(env, args, stdin=stdin, timeout=timeout)


def event(env, obj, timeout=120):
    text = obj if isinstance(obj, str) else json.dumps(obj)
    return _run(env, ["event", "-"], stdin=text, timeout=timeout)


def slack_headers(body, secret=SIGNING_SECRET, ts=None):
    ts = str(int(time.time()) if ts is None else ts)
    raw = body if isinstance(body, bytes) else body.encode()
    sig = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={sig}",
    }
