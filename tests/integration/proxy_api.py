"""ebssh-proxy against the real lookup service: build/ebssh-api over the AWS
double's bundled fixture. The client and the routes must agree on every
answer: aliases to routes, public and private addresses, Auto Scaling
groups, 404 past the end, 403 for a wrong key, and the stale cache when
AWS keeps throttling (503)."""

import json
import os
import re
import sys

ROOT = os.environ.get("EBSSH_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

from api_server import ApiServer  # noqa: E402
from harness import AwsDouble  # noqa: E402
from proxy_fakes import KEY, Home, run  # noqa: E402
from route_cases import aws_env  # noqa: E402
from tap import Tap  # noqa: E402

BUILD = os.environ["EBSSH_BUILD"]
API = os.path.join(BUILD, "ebssh-api")


def main():
    t = Tap()
    if not os.access(API, os.X_OK):
        t.skip("proxy against ebssh-api", "no %s" % API)
        return t.done()
    aws = AwsDouble().start()
    try:
        api = ApiServer(["--listen", "127.0.0.1:0", "--api-key", KEY], aws_env(aws))
        try:
            cases(t, aws, api)
        finally:
            api.stop()
    finally:
        aws.stop()
    return t.done()


def cases(t, aws, api):
    svc = type("Svc", (), {"url": api.url})()
    home = Home()
    for args, want, what in [
        (["my-env-production"], "54.210.1.12\n", "NAME: the oldest instance"),
        (["my-env-production2"], "54.210.1.11\n", "NAMEN: the 2nd"),
        (["my-env-production.3"], "54.210.1.13\n", "NAME.N: the 3rd (tie broken by id)"),
        (["--address", "private", "my-env-production.4"], "10.0.3.15\n", "--address private"),
        (["--asg", "web-asg2"], "44.200.10.2\n", "--asg"),
        (["--index", "2", "my-env-staging"], "3.91.0.21\n", "--index"),
    ]:
        rc, out, err = run(home, svc, "--print", "--cache-ttl", "0", *args)
        t.eq((rc, out, err), (0, want, ""), "ebssh-api answers " + what)

    rc, out, err = run(home, svc, "--print", "my-env-production4")
    t.ok(rc == 3 and out == "" and "404" in err, "past the end: the service's 404, exit 3", err)
    rc, out, err = run(home, svc, "--print", "no-such-env")
    t.ok(rc == 3 and "404" in err, "unknown environment: 404, exit 3", err)
    err_404 = err
    rc, out, err = run(home, svc, "--print", "--cache-ttl", "0", "--api-key", "wrong-key-000",
                       "my-env-production")
    t.ok(rc == 3 and "403" in err and "API key" in err, "a wrong key: 403, exit 3", err)
    err_403 = err

    # The id ebssh-proxy's error quotes is the one ebssh-api logged for that request.
    logged = {}
    for line in api.stderr().splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if isinstance(d, dict) and d.get("request_id"):
            logged[d["request_id"]] = d.get("status")
    for status, e in (("404", err_404), ("403", err_403)):
        m = re.search(r"request id ([0-9a-f]+)", e)
        t.ok(m is not None and str(logged.get(m.group(1))) == status,
             "the %s error quotes the request id of ebssh-api's access-log line" % status,
             (e, m and m.group(1), len(logged)))

    aws.queue_faults("DescribeInstances", ["throttle"] * 3)
    rc, out, err = run(home, svc, "--print", "--cache-ttl", "0", "my-env-production2")
    t.ok(rc == 0 and out == "54.210.1.11\n" and "warning" in err and "503" in err,
         "AWS throttling (503): the cached answer, with a warning", err)
    aws.reset()
    aws.queue_faults("DescribeInstances", ["throttle"] * 3)
    rc, out, err = run(Home(), svc, "--print", "my-env-production2")
    t.ok(rc == 3 and "503" in err, "AWS throttling and nothing cached: exit 3", err)
    aws.reset()


if __name__ == "__main__":
    sys.exit(main())
