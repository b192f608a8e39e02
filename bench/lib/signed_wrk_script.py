#!/usr/bin/python3
"""Prints a wrk Lua script that sends the AWS double the very request
ebssh-api sends it for /eb/{env}/ip (a SigV4-signed EC2 DescribeInstances
with the environment's tag filter, instance-state-name=running and
MaxResults=1000), signed once with botocore: the double alone under wrk
(bench/api_wrk.sh). Sends it once first and fails unless it answers 200
with instances. The signature stays valid for the double's clock-skew
window (900 s).

    signed_wrk_script.py URL ENV_NAME > describe.lua
"""

import http.client
import os
import sys
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

import benchlib as bl  # noqa: E402


def lua(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main():
    url, env_name = sys.argv[1], sys.argv[2]
    form = urllib.parse.urlencode([
        ("Action", "DescribeInstances"), ("Version", "2016-11-15"),
        ("Filter.1.Name", "tag:elasticbeanstalk:environment-name"),
        ("Filter.1.Value.1", env_name),
        ("Filter.2.Name", "instance-state-name"), ("Filter.2.Value.1", "running"),
        ("MaxResults", "1000")])
    req = AWSRequest(method="POST", url=url + "/", data=form,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(*bl.SESSION), "ec2", "us-east-1").add_auth(req)
    prepared = req.prepare()
    headers = {k: v for k, v in prepared.headers.items()}

    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("POST", "/", body=form, headers=headers)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200 or b"<instancesSet>" not in body:
        sys.exit("signed_wrk_script: the double answered %d: %s" % (r.status, body[:300]))

    print("-- A signed DescribeInstances for %s (bench/lib/signed_wrk_script.py)" % env_name)
    print('wrk.method = "POST"')
    print("wrk.body = " + lua(form))
    print("wrk.headers[\"Host\"] = " + lua(u.netloc))
    for k, v in headers.items():
        if k.lower() in ("host", "content-length"):
            continue
        print("wrk.headers[%s] = %s" % (lua(k), lua(v)))


if __name__ == "__main__":
    main()
