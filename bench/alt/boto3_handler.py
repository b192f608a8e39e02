"""The lookup as a Python 3 + boto3 Lambda handler: the approach ebssh
replaces, measured beside it by bench/lambda_cold_start.py (run by
bench/alt/python_runtime.py, with Debian's python3-boto3).

It does what bootstrap does for the routes the bench sends, the way such a
handler is usually written: the EC2 client is made once, at import (the init
phase); each invocation reads the API Gateway event (payload 1.0 `path` or
2.0 `rawPath`), checks the name, pages through DescribeInstances with the
same filters as ebssh (the environment's tag, instance-state-name=running,
MaxResults 1000), keeps the instances with the asked address, sorts them by
launch time then instance id, and answers text; one JSON log line per
invocation on stderr.

    GET /health                    200 "ok\\n"
    GET /eb/{env}/ip[/{n}]         200 the public IPs (or the n-th), one a line
    GET /asg/{group}/ip[/{n}]      the same for aws:autoscaling:groupName

The botocore of Debian 12 (1.29) does not read AWS_ENDPOINT_URL_EC2, so the
endpoint (the AWS double) is passed explicitly when that variable is set.
"""

import json
import os
import re
import sys
import time

import boto3
from botocore.exceptions import BotoCoreError, ClientError

EC2 = boto3.client(
    "ec2",
    region_name=os.environ.get("AWS_REGION"),
    endpoint_url=os.environ.get("AWS_ENDPOINT_URL_EC2") or os.environ.get("AWS_ENDPOINT_URL") or None,
)

EB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{2,38})[A-Za-z0-9]$")
ASG_NAME = re.compile(r"^[\x21-\x39\x3b-\x7e]{1,255}$")
ROUTE = re.compile(r"^/(eb|asg)/([^/]+)/ip(?:/([^/]+))?$")
TEXT = {"Content-Type": "text/plain; charset=utf-8"}


def answer(status, body, headers=TEXT):
    return {"statusCode": status, "headers": dict(headers), "body": body, "isBase64Encoded": False}


def problem(status, message):
    return answer(status, json.dumps({"message": message}) + "\n",
                  {"Content-Type": "application/json"})


def lookup(kind, name, address):
    tag = "tag:aws:autoscaling:groupName" if kind == "asg" else "tag:elasticbeanstalk:environment-name"
    pages = EC2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": tag, "Values": [name]},
                 {"Name": "instance-state-name", "Values": ["running"]}],
        PaginationConfig={"PageSize": 1000},
    )
    key = "PrivateIpAddress" if address == "private" else "PublicIpAddress"
    found = []
    for page in pages:
        for reservation in page.get("Reservations", []):
            for inst in reservation.get("Instances", []):
                if inst.get("State", {}).get("Name") == "running" and inst.get(key):
                    found.append((inst["LaunchTime"], inst["InstanceId"], inst[key]))
    found.sort(key=lambda t: (t[0], t[1]))
    return [ip for _, _, ip in found]


def route(method, path, query):
    if path == "/health":
        return "health", answer(200, "ok\n")
    m = ROUTE.match(path)
    if not m:
        return None, problem(404, "no such route")
    if method != "GET":
        return None, problem(405, "method not allowed")
    kind, name, index = m.groups()
    if not (EB_NAME if kind == "eb" else ASG_NAME).match(name):
        return kind + "-ip", problem(400, "bad name")
    n = None
    if index is not None:
        if not re.match(r"^[1-9][0-9]{0,3}$", index):
            return kind + "-ip", problem(400, "bad index")
        n = int(index)
    address = (query or {}).get("address", "public")
    try:
        ips = lookup(kind, name, address)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = 503 if code in ("RequestLimitExceeded", "Throttling") else 502
        return kind + "-ip", problem(status, "DescribeInstances failed")
    except BotoCoreError:
        return kind + "-ip", problem(502, "DescribeInstances failed")
    if not ips:
        return kind + "-ip", problem(404, "no running instance")
    if n is not None:
        if n > len(ips):
            return kind + "-ip", problem(404, "no instance %d" % n)
        ips = [ips[n - 1]]
    return kind + "-ip", answer(200, "".join(ip + "\n" for ip in ips))


def handler(event, context):
    start = time.monotonic()
    if "rawPath" in event:  # payload 2.0: on a named stage the path starts with it
        method = event["requestContext"]["http"]["method"]
        path = event["rawPath"]
        stage = event["requestContext"].get("stage", "$default")
        if stage != "$default" and path.startswith("/" + stage + "/"):
            path = path[len(stage) + 1:]
    else:
        method = event["httpMethod"]
        path = event["path"]
    name, resp = route(method, path, event.get("queryStringParameters"))
    sys.stderr.write(json.dumps({
        "request_id": context.aws_request_id, "route": name, "method": method,
        "status": resp["statusCode"], "duration_ms": round((time.monotonic() - start) * 1e3, 3),
    }) + "\n")
    return resp
