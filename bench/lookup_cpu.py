#!/usr/bin/python3
"""ebssh-api's CPU per /eb/{env}/ip lookup against the size of the
environment, with the lookup cache off (every lookup lists and parses the
whole environment) and on (a warm, kept list): the figures docs/deploy.md's
sizing section stands on.

For each size N (default 4, 100, 1000): the AWS double serves one
environment of N running instances (its own DescribeInstances rendering,
one page), ebssh-api answers K sequential /eb/{env}/ip/2 lookups, and its
CPU (utime + stime of /proc/<pid>/stat, as bench/api_wrk.sh reads it) over
the K lookups, divided by K, is the CPU per lookup. Prints a markdown table.

    bench/lookup_cpu.py [N ...]          (EBSSH_BUILD=build by default)
"""

import http.client
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("EBSSH_BUILD", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from api_server import ApiServer  # noqa: E402
from harness import AwsDouble  # noqa: E402
from route_cases import aws_env  # noqa: E402

ENV = "sizing-env"
TICK = os.sysconf("SC_CLK_TCK")


def fleet(n):
    return [{"id": "i-%08x" % (i + 1), "state": "running",
             "launch_time": "2024-01-01T%02d:%02d:%02dZ" % (i // 3600 % 24, i // 60 % 60, i % 60),
             "public_ip": "198.51.%d.%d" % (i // 250, i % 250 + 1),
             "private_ip": "10.0.%d.%d" % (i // 250, i % 250 + 1),
             "tags": {"elasticbeanstalk:environment-name": ENV, "Name": ENV}} for i in range(n)]


def cpu_ms(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / TICK


def lookups(api, k):
    conn = http.client.HTTPConnection(api.host, api.port, timeout=120)
    for _ in range(k):
        conn.request("GET", "/eb/%s/ip/2" % ENV)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError("lookup: %d" % r.status)
    conn.close()


def measure(aws, seconds, k):
    env = aws_env(aws)
    env["LOOKUP_CACHE_SECONDS"] = str(seconds)
    api = ApiServer(["--listen", "127.0.0.1:0", "--threads", "1"], env)
    try:
        lookups(api, 3)  # warm: the AWS client, the connection, the kept list
        before, t0 = cpu_ms(api.proc.pid), time.monotonic()
        lookups(api, k)
        return (cpu_ms(api.proc.pid) - before) / k, (time.monotonic() - t0) * 1000 / k
    finally:
        api.stop()


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [4, 100, 1000]
    print("| instances | XML bytes per answer | CPU ms/lookup, cache off | wall ms/lookup, cache off "
          "| CPU ms/lookup, kept list |")
    print("|---:|---:|---:|---:|---:|")
    aws = AwsDouble().start()
    try:
        for n in sizes:
            aws.set_fixture(fleet(n))
            k = max(20, min(400, 8000 // n))
            aws.clear_requests()
            off_cpu, off_wall = measure(aws, 0, k)
            on_cpu, _ = measure(aws, 300, 2000)
            xml = aws_xml_bytes(aws)
            print("| %d | %s | %.2f | %.1f | %.3f |" % (n, xml, off_cpu, off_wall, on_cpu), flush=True)
    finally:
        aws.stop()


def aws_xml_bytes(aws):
    """The size of one DescribeInstances answer, asked with botocore's signing."""
    import botocore.session  # noqa: E402
    from harness import SESSION  # noqa: E402

    s = botocore.session.get_session()
    c = s.create_client("ec2", region_name="us-east-1", endpoint_url=aws.url,
                        aws_access_key_id=SESSION[0], aws_secret_access_key=SESSION[1],
                        aws_session_token=SESSION[2])
    sizes = []
    c.meta.events.register("after-call.ec2.DescribeInstances",
                           lambda http_response, **kw: sizes.append(len(http_response.content)))
    c.describe_instances(Filters=[{"Name": "tag:elasticbeanstalk:environment-name", "Values": [ENV]}])
    return "{:,}".format(sizes[0]) if sizes else "?"


if __name__ == "__main__":
    sys.exit(main())
