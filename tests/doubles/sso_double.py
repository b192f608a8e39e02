#!/usr/bin/env python3
"""A double of the IAM Identity Center (SSO) portal's GetRoleCredentials,
on loopback, for tests/integration/credentials_oracle.py.

    python3 tests/doubles/sso_double.py --token TOKEN[,TOKEN...] [--port 0]
                 [--expire-seconds 3600]

Serves what botocore's sso model (sso-2019-06-10, rest-json, unsigned)
calls: GET /federation/credentials?role_name=R&account_id=A with the header
x-amz-sso_bearer_token. A token among --token answers 200
{"roleCredentials": {"accessKeyId": "ASIASSO<n>", "secretAccessKey",
"sessionToken", "expiration": <ms since the epoch>}} (n counts the answers);
any other token 401 UnauthorizedException, as the portal answers an expired
or signed-out token; a missing role_name, account_id or token 400. The key
is derived from the role and account: "ASIASSO<n>" and the secret
"sso-secret-<role>-<account>".

GET /_calls answers the list of requests it got ([{"role_name",
"account_id", "token", "status"}]), and each answered portal request appends
the run's call-log line (tests/doubles/awsdouble/calllog.py's format,
"double": "ebssh" (the project's own doubles all say so), service "awsssoportal", action "GetRoleCredentials") to
$EBSSH_CALL_LOG/sso-<pid>.jsonl when EBSSH_CALL_LOG is set. Prints
"PORT <n>" once it listens; serves until SIGTERM.
"""

import argparse
import http.server
import json
import os
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from child import serve_until_signal  # noqa: E402


class State:
    def __init__(self, tokens, expire_seconds):
        self.tokens = set(tokens)
        self.expire_seconds = expire_seconds
        self.calls = []
        self.answered = 0
        self.lock = threading.Lock()


def log_call(status, user_agent):
    d = os.environ.get("EBSSH_CALL_LOG")
    if not d:
        return
    line = json.dumps({"double": "ebssh", "suite": os.environ.get("EBSSH_SUITE", ""),
                       "service": "awsssoportal", "action": "GetRoleCredentials",
                       "status": status, "user_agent": user_agent or ""}) + "\n"
    fd = os.open(os.path.join(d, f"sso-{os.getpid()}.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.server.state
        url = urlsplit(self.path)
        if url.path == "/_calls":
            with st.lock:
                return self.send_json(200, list(st.calls))
        if url.path != "/federation/credentials":
            return self.send_json(404, {"message": "not found"})
        q = parse_qs(url.query)
        role = q.get("role_name", [None])[0]
        account = q.get("account_id", [None])[0]
        token = self.headers.get("x-amz-sso_bearer_token")
        if not role or not account or not token:
            status, obj = 400, {"message": "role_name, account_id and the bearer token are required"}
            headers = [("x-amzn-ErrorType", "InvalidRequestException")]
        elif token not in st.tokens:
            status, obj = 401, {"message": "Session token not found or invalid"}
            headers = [("x-amzn-ErrorType", "UnauthorizedException")]
        else:
            with st.lock:
                st.answered += 1
                n = st.answered
            status, headers = 200, []
            obj = {"roleCredentials": {
                "accessKeyId": f"ASIASSO{n}",
                "secretAccessKey": f"sso-secret-{role}-{account}",
                "sessionToken": f"sso-session-token-{n}",
                "expiration": int((time.time() + st.expire_seconds) * 1000),
            }}
        with st.lock:
            st.calls.append({"role_name": role, "account_id": account, "token": token, "status": status})
        log_call(status, self.headers.get("User-Agent"))
        self.send_json(status, obj, headers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default="", help="comma-separated valid access tokens")
    ap.add_argument("--expire-seconds", type=int, default=3600)
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.state = State([t for t in args.token.split(",") if t], args.expire_seconds)
    return serve_until_signal(server)


if __name__ == "__main__":
    sys.exit(main())
