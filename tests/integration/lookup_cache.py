#!/usr/bin/python3
"""The lookup cache (LOOKUP_CACHE_SECONDS, lambda/router/lookup_cache.h)
through build/ebssh-api and build/bootstrap against the AWS double, counted
in the double's request log:

  - a burst of 200 lookups of one environment makes one DescribeInstances
    call; the kept list answers until LOOKUP_CACHE_SECONDS, then a new one
    (never staler than that); with 0 every lookup calls;
  - under EC2's rate limit (the double's token bucket: 100, 20 a second), a
    burst of 500 lookups across 10 environments answers every one, no 503;
    throttled fetches are retried (aws/client.c's backoff) out of the
    client's sight; without the cache the same burst reaches the bucket's
    end and 503s do reach the client;
  - bootstrap under the Runtime API double: two invocations within the
    window make one call;
  - a bad LOOKUP_CACHE_SECONDS stops ebssh-api at start.
Prints TAP."""

import concurrent.futures
import http.client
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ["EBSSH_BUILD"]
API = os.path.join(BUILD, "ebssh-api")
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from api_server import ApiServer  # noqa: E402
from harness import AwsDouble  # noqa: E402
from route_cases import aws_env  # noqa: E402
from tap import Tap  # noqa: E402

ENVS = ["fleet-env-%02d" % i for i in range(10)]


def fleet(ip_base=1):
    """10 environments of 3 running instances each."""
    out = []
    for e, env in enumerate(ENVS):
        for i in range(3):
            out.append({"id": "i-%08x" % (e * 16 + i + 1), "state": "running",
                        "launch_time": "2024-01-01T00:00:0%dZ" % i,
                        "public_ip": "198.51.%d.%d" % (e, ip_base + i),
                        "private_ip": "10.%d.0.%d" % (e, i + 1),
                        "tags": {"elasticbeanstalk:environment-name": env}})
    return out


def api(aws, seconds, threads=8, **extra):
    env = aws_env(aws)
    if seconds is None:
        env.pop("LOOKUP_CACHE_SECONDS", None)  # the default
    else:
        env["LOOKUP_CACHE_SECONDS"] = str(seconds)
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return ApiServer(["--listen", "127.0.0.1:0", "--threads", str(threads)], env)


def get(srv, path):
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=60)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def burst(srv, paths, workers=20):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda p: get(srv, p), paths))


def describes(aws):
    return [r for r in aws.requests() if r["action"] == "DescribeInstances"]


def test_one_call_per_burst(t, aws):
    aws.clear_requests()
    srv = api(aws, 60)
    try:
        answers = burst(srv, ["/eb/%s/ip/%d" % (ENVS[0], 1 + i % 3) for i in range(200)])
        t.ok(all(s == 200 for s, _ in answers), "200 lookups of one environment: all answered",
             [a for a in answers if a[0] != 200][:3])
        t.eq(len(describes(aws)), 1, "... with one DescribeInstances call")
        t.eq(answers[0][1], "198.51.0.1\n", "... the right address")
        status, body = get(srv, "/eb/%s/instances" % ENVS[0])
        t.ok(status == 200 and len(json.loads(body)["instances"]) == 3 and len(describes(aws)) == 1,
             "/instances answers from the same kept list", body)
        status, body = get(srv, "/eb/%s/ip?address=private" % ENVS[0])
        t.ok(status == 200 and body == "10.0.0.1\n10.0.0.2\n10.0.0.3\n" and len(describes(aws)) == 1,
             "private addresses from the same kept list", body)
        aws.set_fixture(fleet(ip_base=101))
        t.eq(get(srv, "/eb/%s/ip/1" % ENVS[0]), (200, "198.51.0.1\n"),
             "EC2 changed: within the window, the kept list answers")
        t.eq(len(describes(aws)), 1, "... with no call")
        get(srv, "/eb/%s/ip" % ENVS[1])
        t.eq(len(describes(aws)), 2, "another environment: its own call")
        status, body = get(srv, "/asg/%s/ip" % ENVS[0])
        t.ok(len(describes(aws)) == 3, "an Auto Scaling group of the same name: another key", body)
    finally:
        srv.stop()
        aws.set_fixture(fleet())


def test_expiry(t, aws):
    aws.clear_requests()
    srv = api(aws, 1)
    try:
        t.eq(get(srv, "/eb/%s/ip/1" % ENVS[2]), (200, "198.51.2.1\n"), "1 s cache: first answer")
        aws.set_fixture(fleet(ip_base=101))
        time.sleep(1.2)  # past LOOKUP_CACHE_SECONDS: the answer must be new
        t.eq(get(srv, "/eb/%s/ip/1" % ENVS[2]), (200, "198.51.2.101\n"),
             "after LOOKUP_CACHE_SECONDS: EC2's new answer, never the stale one")
        t.eq(len(describes(aws)), 2, "... from a second DescribeInstances call")
    finally:
        srv.stop()
        aws.set_fixture(fleet())


def test_off(t, aws):
    aws.clear_requests()
    srv = api(aws, 0)
    try:
        answers = burst(srv, ["/eb/%s/ip" % ENVS[3]] * 20)
        t.ok(all(s == 200 for s, _ in answers), "LOOKUP_CACHE_SECONDS=0: 20 lookups answered")
        t.eq(len(describes(aws)), 20, "... each with its own DescribeInstances call")
    finally:
        srv.stop()


def test_rate_limit(t, aws):
    # EC2's bucket; the service as deployed: the default cache and the
    # default retries (EBSSH_AWS_RETRY_BASE_MS unset: botocore's backoff).
    aws.clear_requests()
    aws.ratelimit(enabled=True, capacity=100, refill_per_second=20)
    srv = api(aws, None, EBSSH_AWS_RETRY_BASE_MS=None)
    try:
        paths = ["/eb/%s/ip/%d" % (ENVS[i % 10], 1 + i % 3) for i in range(500)]
        answers = burst(srv, paths, workers=25)
        bad = [a for a in answers if a[0] != 200]
        t.ok(not bad, "500 lookups across 10 environments under EC2's rate limit: every one "
             "answered, no 503", bad[:3])
        calls = describes(aws)
        t.ok(10 <= len(calls) <= 100, "... with at most one call per environment per window "
             "(%d calls)" % len(calls), len(calls))
        t.ok(answers[0] == (200, "198.51.0.1\n") and answers[11] == (200, "198.51.1.3\n"),
             "... each the right address", answers[:12])

        # A drained bucket: the first tries find no token; the service's
        # retries (botocore's backoff: up to 1 s, then 2 s; 3 attempts) come
        # back after the test has put tokens back, as soon as it saw the
        # first 503 (a retry sooner than that is a few-ms chance). A new
        # ebssh-api: nothing kept yet.
        srv.stop()
        srv = api(aws, None, threads=16, EBSSH_AWS_RETRY_BASE_MS=None)
        aws.clear_requests()
        aws.ratelimit(capacity=100, refill_per_second=0, tokens=0)
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            futs = [pool.submit(get, srv, "/eb/%s/ip/1" % ENVS[i]) for i in range(10)]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(f.done() for f in futs):
                if aws.ratelimit()["throttled"]:
                    break
            aws.ratelimit(tokens=100)
            answers = [f.result() for f in futs]
        log = describes(aws)
        throttled = [r for r in log if r["fault"] == "ratelimit"]
        t.ok(throttled, "drained bucket: fetches throttled (%d 503s)" % len(throttled), len(throttled))
        t0 = min(r["time"] for r in log) if log else 0
        t.ok(all(a[0] == 200 for a in answers) and answers[4] == (200, "198.51.4.1\n"),
             "... and no 503 reached the client: the retries waited for the tokens",
             "%r\n%s" % (answers, "\n".join("%.3f %s %s %s" % (r["time"] - t0, r["fault"], r["status"], r["params"].get("Filter.1.Value.1")) for r in log)))
    finally:
        srv.stop()
        aws.ratelimit(enabled=False)

    # Without the cache the same burst outruns the bucket (no refill here,
    # quick retries): 503s reach the client. What the cache prevents.
    aws.clear_requests()
    aws.ratelimit(enabled=True, capacity=100, refill_per_second=0)
    srv = api(aws, 0)
    try:
        answers = burst(srv, ["/eb/%s/ip" % ENVS[i % 10] for i in range(150)], workers=25)
        n503 = sum(1 for s, _ in answers if s == 503)
        t.ok(n503 >= 50, "without the cache, 150 lookups through a bucket of 100: %d 503s reach "
             "the client" % n503, answers[-1])
    finally:
        srv.stop()
        aws.ratelimit(enabled=False)


def test_bootstrap(t, aws):
    from runtime import Session, decode_answer, v2_event  # noqa: E402

    for seconds, want in (("60", 1), ("0", 2)):
        aws.clear_requests()
        s = Session(aws, LOOKUP_CACHE_SECONDS=seconds)
        try:
            a = s.last({"event": v2_event("GET", "/eb/%s/ip/1" % ENVS[5])})
            b = s.last({"event": v2_event("GET", "/eb/%s/ip/2" % ENVS[5])})
            got = [decode_answer(x)[::2] if x and x["kind"] == "response" else x for x in (a, b)]
            t.eq(got, [(200, "198.51.5.1\n"), (200, "198.51.5.2\n")],
                 "bootstrap, LOOKUP_CACHE_SECONDS=%s: two invocations answered" % seconds)
            t.eq(len(describes(aws)), want, "... with %d DescribeInstances call%s" %
                 (want, "" if want == 1 else "s"))
        finally:
            s.close()


def test_bad_setting(t, aws):
    env = aws_env(aws)
    env["LOOKUP_CACHE_SECONDS"] = "5s"
    p = subprocess.run([API, "--listen", "127.0.0.1:0"], env=env, capture_output=True, text=True,
                       timeout=20)
    t.ok(p.returncode == 2 and "LOOKUP_CACHE_SECONDS is a whole number of seconds from 0 to 300"
         in p.stderr, "a bad LOOKUP_CACHE_SECONDS stops ebssh-api at start", p.stderr)


def main():
    t = Tap()
    aws = AwsDouble().start()
    try:
        aws.set_fixture(fleet())
        for case in (test_one_call_per_burst, test_expiry, test_off, test_rate_limit,
                     test_bootstrap, test_bad_setting):
            t.run(case, aws)
    finally:
        aws.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
