#!/usr/bin/python3
"""A double of the two AWS credential endpoints a program meets off a laptop.

Serves, on 127.0.0.1 and an ephemeral port printed alone on the first line
of stdout:

- the container credentials endpoint (ECS/EKS): GET /container/... or
  /v2/credentials/...; when --container-token is given, the Authorization
  header must equal it (401 otherwise);
- IMDSv2: PUT /latest/api/token (needs X-aws-ec2-metadata-token-ttl-seconds,
  1 to 21600), then GET /latest/meta-data/iam/security-credentials/ and
  .../<role> with X-aws-ec2-metadata-token (401 without a valid one);
- GET /_stats: what it saw, as JSON.

Every credentials answer carries a fresh key id (ASIACONTAINER1, 2, ... and
ASIAIMDS1, 2, ...) so a client's refresh is visible, and expires
--expire-seconds from now. --fail-after N answers 500 once N credentials
were served; --refuse-token answers the token PUT 403; --no-role answers
the role list 404. The double exits by itself after --lifetime seconds.
"""
import argparse
import datetime
import json
import secrets
import sys
import threading
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROLES = "/latest/meta-data/iam/security-credentials/"


def iso(seconds_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=seconds_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.tokens = set()
        self.stats = {
            "container_gets": 0,
            "token_puts": 0,
            "role_gets": 0,
            "imds_creds_gets": 0,
            "unauthorized": 0,
            "served": 0,
            "last_ttl": None,
            "last_accept": None,
        }

    def count(self, key):
        with self.lock:
            self.stats[key] += 1

    def serve_credentials(self):
        """The next credentials number, or None when told to fail."""
        with self.lock:
            if (self.args.fail_after is not None
                    and self.stats["served"] >= self.args.fail_after):
                return None
            self.stats["served"] += 1
            return self.stats["served"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set in main

    def log_message(self, fmt, *args):  # quiet: stdout carries the port
        sys.stderr.write("double: " + (fmt % args) + "\n")

    def answer(self, status, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def drain(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)

    def credentials(self, prefix, secret, imds):
        n = self.state.serve_credentials()
        if n is None:
            return self.answer(500, json.dumps(
                {"code": "InternalError", "message": "told to fail"}))
        body = {
            "AccessKeyId": "%s%d" % (prefix, n),
            "SecretAccessKey": secret,
            "Token": "token-%d" % n,
            "Expiration": iso(self.state.args.expire_seconds),
        }
        if imds:
            body.update({"Code": "Success", "Type": "AWS-HMAC",
                         "LastUpdated": iso(0)})
        else:
            body["RoleArn"] = "arn:aws:iam::123456789012:role/ebssh-test"
        self.answer(200, json.dumps(body))

    def imds_token_ok(self):
        token = self.headers.get("X-aws-ec2-metadata-token")
        if token is None or token not in self.state.tokens:
            self.state.count("unauthorized")
            self.answer(401, "", "text/plain")
            return False
        return True

    def do_PUT(self):
        self.drain()
        args = self.state.args
        if self.path != "/latest/api/token":
            return self.answer(404, "", "text/plain")
        self.state.count("token_puts")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        self.state.stats["last_ttl"] = ttl
        if args.refuse_token:
            return self.answer(403, "", "text/plain")
        if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.answer(400, "", "text/plain")
        token = "imds-" + secrets.token_hex(16)
        with self.state.lock:
            self.state.tokens.add(token)
        self.answer(200, token, "text/plain")

    def do_GET(self):
        self.drain()
        args = self.state.args
        path = self.path
        if path == "/_stats":
            return self.answer(200, json.dumps(self.state.stats))
        if path.startswith("/container") or path.startswith("/v2/credentials"):
            self.state.count("container_gets")
            self.state.stats["last_accept"] = self.headers.get("Accept")
            if (args.container_token is not None
                    and self.headers.get("Authorization") != args.container_token):
                self.state.count("unauthorized")
                return self.answer(401, json.dumps({
                    "code": "Unauthorized",
                    "message": "Authorization header missing or wrong"}))
            return self.credentials("ASIACONTAINER", "container-secret", False)
        if path == ROLES:
            if not self.imds_token_ok():
                return None
            self.state.count("role_gets")
            if args.no_role:
                return self.answer(404, "", "text/plain")
            return self.answer(200, args.role + "\n", "text/plain")
        if path.startswith(ROLES):
            if not self.imds_token_ok():
                return None
            self.state.count("imds_creds_gets")
            if path[len(ROLES):] != args.role:
                return self.answer(404, "", "text/plain")
            return self.credentials("ASIAIMDS", "imds-secret", True)
        return self.answer(404, "", "text/plain")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--container-token")
    ap.add_argument("--expire-seconds", type=int, default=3600)
    ap.add_argument("--fail-after", type=int)
    ap.add_argument("--refuse-token", action="store_true")
    ap.add_argument("--no-role", action="store_true")
    ap.add_argument("--role", default="ebssh-test-role")
    ap.add_argument("--lifetime", type=float, default=120)
    args = ap.parse_args()

    Handler.state = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    timer = threading.Timer(args.lifetime, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
