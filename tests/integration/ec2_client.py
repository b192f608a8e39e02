"""The AWS layer (credentials, endpoint, SigV4, http, retries, EC2 XML) end to
end against the AWS double: build/tests/ec2_describe is driven with a session
token and every injected fault must come back as its typed error."""

import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("EBSSH_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

from harness import SESSION, AwsDouble  # noqa: E402
from tap import Tap  # noqa: E402

BUILD = os.environ["EBSSH_BUILD"]
DRIVER = os.path.join(BUILD, "tests", "ec2_describe")
PROD = "tag:elasticbeanstalk:environment-name=my-env-production"


def driver_env(aws, creds=SESSION, **extra):
    home = tempfile.mkdtemp(prefix="ebssh-home-")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_EC2": aws.url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "EBSSH_AWS_RETRY_BASE_MS": "20",
        "EBSSH_AWS_TIMEOUT_MS": "3000",
    }
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    if creds:
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = creds[0], creds[1]
        if creds[2]:
            env["AWS_SESSION_TOKEN"] = creds[2]
    env.update(extra)
    return env


def describe(aws, *filters, timeout=60, **env):
    proc = subprocess.run(
        [DRIVER, *filters],
        env=driver_env(aws, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        out = {"unparsed": proc.stdout}
    return proc.returncode, out, proc.stderr


def all_ids(aws):
    rc, out, _ = describe(aws)
    return sorted(i["id"] for i in out.get("instances", []))


def case_pages_with_throttles(t, aws):
    """3+ pages, 2 injected throttles, session token: every instance comes back."""
    aws.clear_requests()
    aws.queue_faults("DescribeInstances", ["throttle", "throttle"])
    rc, out, err = describe(aws)
    t.eq(rc, 0, "3 pages with 2 throttles: success")
    got = sorted(i["id"] for i in out.get("instances", []))
    t.eq(got, EXPECTED_ALL, "3 pages with 2 throttles: every instance, once")
    log = [r for r in aws.requests() if r.get("action") == "DescribeInstances"]
    pages = [r for r in log if r.get("status") == 200]
    t.ok(len(pages) >= 3, "the answer took at least 3 pages", log)
    t.eq(len(log) - len(pages), 2, "two throttled attempts were retried")
    t.ok(all(r.get("verified") for r in log), "every request verified by botocore", log)
    t.ok(all(r.get("had_token") for r in log), "every request carried the session token", log)


def case_fault(t, aws, fault, want_code, want_aws_code=None, want_status=None, **env):
    aws.clear_requests()
    aws.queue_faults("DescribeInstances", [fault] * 3)
    started = time.monotonic()
    rc, out, err = describe(aws, PROD, **env)
    elapsed = time.monotonic() - started
    e = out.get("error", {})
    t.eq((rc, e.get("code")), (1, want_code), f"{fault} x3: typed error {want_code}")
    if want_aws_code is not None:
        t.eq(e.get("aws_code"), want_aws_code, f"{fault} x3: AWS code {want_aws_code}")
    if want_status is not None:
        t.eq(e.get("http_status"), want_status, f"{fault} x3: HTTP status {want_status}")
    t.ok(elapsed < 30, f"{fault} x3: no hang ({elapsed:.1f}s)")
    left = aws.pending_faults()
    return left, err


def case_retries_then_succeeds(t, aws, fault):
    aws.queue_faults("DescribeInstances", [fault])
    rc, out, _ = describe(aws, PROD)
    t.ok(rc == 0 and len(out.get("instances", [])) > 0, f"one {fault} then success", out)


def case_auth_failure(t, aws):
    aws.clear_requests()
    bad = (SESSION[0], "not-the-secret", SESSION[2])
    rc, out, _ = describe(aws, PROD, creds=bad)
    e = out.get("error", {})
    t.eq((e.get("code"), e.get("aws_code"), e.get("http_status")), ("aws_error", "AuthFailure", 401),
         "wrong secret: AuthFailure 401")
    t.ok(e.get("request_id"), "AuthFailure carries AWS's request id", e)
    log = [r for r in aws.requests() if r.get("action") == "DescribeInstances"]
    t.eq(len(log), 1, "AuthFailure (4xx) is not retried")
    text = json.dumps(out)
    t.ok("not-the-secret" not in text and "Signature=" not in text, "no secret in the error", text)
    rc, out, _ = describe(aws, PROD, creds=(SESSION[0], SESSION[1], "wrong-token"))
    t.eq(out.get("error", {}).get("aws_code"), "AuthFailure", "wrong session token: AuthFailure")


def case_no_credentials(t, aws):
    rc, out, _ = describe(aws, PROD, creds=None)
    t.eq(out.get("error", {}).get("code"), "credentials", "no credentials anywhere: credentials error")


def case_filter(t, aws):
    rc, out, _ = describe(aws, PROD, "instance-state-name=running")
    ids = [i["id"] for i in out.get("instances", [])]
    t.ok(rc == 0 and ids and all(i["state"] == "running" for i in out["instances"]),
         "filters reach EC2: only running instances of the environment", out)
    rc, out, _ = describe(aws, "tag:elasticbeanstalk:environment-name=no-such-env")
    t.eq((rc, out.get("instances")), (0, []), "unknown environment: empty list, not an error")


EXPECTED_ALL = []


def case_fleet(t):
    """EC2-sized answers: a generated fleet of 2,345 instances with 2-3
    interfaces each, in pages of 1,000 (the most EC2 allows)."""
    from awsdouble.fixtures import fleet

    want = fleet(2345, "my-env-fleet")
    with AwsDouble(credentials=[SESSION]) as aws:
        aws.set_fixture({"fleet": {"count": 2345, "environment": "my-env-fleet"}})
        rc, out, _ = describe(aws, "tag:elasticbeanstalk:environment-name=my-env-fleet", timeout=120)
        got = out.get("instances", [])
        t.ok(len(got) == 2345, "fleet: every instance", (len(got), out.get("error")))
        got_t = [(i["id"], i["private_ip"], i["public_ip"]) for i in got]
        want_t = [(i["id"], i["private_ip"], i["public_ip"]) for i in want]
        diff = [(g, w) for g, w in zip(got_t, want_t) if g != w][:3]
        t.ok(got_t == want_t, "fleet: each instance's own addresses, not its interfaces'", diff)
        log = [r for r in aws.requests() if r.get("action") == "DescribeInstances"]
        t.eq([r["params"].get("MaxResults") for r in log], ["1000"] * 3, "fleet: three pages of up to 1,000")
        rc, out, _ = describe(aws, "tag:elasticbeanstalk:environment-name=my-env-other")
        t.eq(out.get("instances"), [], "fleet: another environment lists none")


def main():
    t = Tap()
    if not os.path.exists(DRIVER):
        t.ok(False, f"{DRIVER} exists")
        return t.done()
    with AwsDouble(page_size=2, credentials=[SESSION]) as aws:
        with open(os.path.join(ROOT, "tests", "doubles", "fixtures", "instances.json")) as f:
            EXPECTED_ALL.extend(sorted(i["id"] for i in json.load(f)["instances"]))
        t.ok(len(EXPECTED_ALL) >= 7, "the fixture has instances enough for 3+ pages", EXPECTED_ALL)
        t.run(case_pages_with_throttles, aws)
        t.run(case_fault, aws, "throttle", "throttled", "RequestLimitExceeded", 503)
        t.run(case_fault, aws, "500", "aws_error", None, 500)
        t.run(case_fault, aws, "slow:3", "timeout", None, None, EBSSH_AWS_TIMEOUT_MS="600")
        t.run(case_fault, aws, "reset", "network")
        aws.reset()
        aws.queue_faults("DescribeInstances", ["truncate"])
        rc, out, _ = describe(aws, PROD)
        t.eq(out.get("error", {}).get("code"), "parse", "truncated XML: parse error")
        for fault in ("throttle", "500", "reset"):
            t.run(case_retries_then_succeeds, aws, fault)
        t.run(case_auth_failure, aws)
        t.run(case_no_credentials, aws)
        t.run(case_filter, aws)
    t.run(case_fleet)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
