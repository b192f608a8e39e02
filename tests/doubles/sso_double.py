#!/usr/bin/env python3
"""A double of the IAM Identity Center (SSO) portal's GetRoleCredentials
and of SSO OIDC's CreateToken (the refresh of an access token), on
loopback, for tests/integration/credentials_oracle.py.

    python3 tests/doubles/sso_double.py --token TOKEN[,TOKEN...] [--port 0]
                 [--expire-seconds 3600] [--client ID:SECRET]
                 [--refresh-token TOKEN[,TOKEN...]] [--token-seconds 3600]

Serves what botocore's sso model (sso-2019-06-10, rest-json, unsigned)
calls: GET /federation/credentials?role_name=R&account_id=A with the header
x-amz-sso_bearer_token. A token among --token answers 200
{"roleCredentials": {"accessKeyId": "ASIASSO<n>", "secretAccessKey",
"sessionToken", "expiration": <ms since the epoch>}} (n counts the answers);
any other token 401 UnauthorizedException, as the portal answers an expired
or signed-out token; a missing role_name, account_id or token 400. The key
is derived from the role and account: "ASIASSO<n>" and the secret
"sso-secret-<role>-<account>".

CreateToken is what botocore's sso-oidc model (sso-oidc-2019-06-10,
rest-json, unsigned) sends: POST /token with the JSON body {"clientId",
"clientSecret", "grantType", "refreshToken"}. With the --client pair,
grantType "refresh_token" and a refresh token among --refresh-token it
answers 200 {"accessToken": "sso-access-token-refreshed-<n>", "tokenType":
"Bearer", "expiresIn": --token-seconds, "refreshToken":
"sso-refresh-token-<n>"}; the new access token is then valid at the portal
and the new refresh token at /token, and the one used is spent (OIDC
rotates refresh tokens). Errors as the OIDC API reference lists them, with
the x-amzn-ErrorType header and the body {"error", "error_description"}:
an unknown client 401 InvalidClientException, another grant type 400
UnsupportedGrantTypeException, a refresh token not (or no longer) valid 400
InvalidGrantException, a body that is not that JSON 400
InvalidRequestException.

GET /_calls answers the list of requests it got ([{"role_name",
"account_id", "token", "status"}] for the portal, [{"action":
"CreateToken", "body", "content_type", "user_agent", "status"}] for /token), and each
answered portal or OIDC request appends
the run's call-log line (tests/doubles/awsdouble/calllog.py's format,
"double": "ebssh" (the project's own doubles all say so), service
"awsssoportal" action "GetRoleCredentials", or service "sso-oauth" action
"CreateToken") to $EBSSH_CALL_LOG/sso-<pid>.jsonl when EBSSH_CALL_LOG is set. Prints
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
    def __init__(self, tokens, expire_seconds, client, refresh_tokens, token_seconds):
        self.tokens = set(tokens)
        self.expire_seconds = expire_seconds
        self.client = client
        self.refresh_tokens = set(refresh_tokens)
        self.token_seconds = token_seconds
        self.calls = []
        self.answered = 0
        self.refreshed = 0
        self.lock = threading.Lock()


def log_call(status, user_agent, service="awsssoportal", action="GetRoleCredentials"):
    d = os.environ.get("EBSSH_CALL_LOG")
    if not d:
        return
    line = json.dumps({"double": "ebssh", "suite": os.environ.get("EBSSH_SUITE", ""),
                       "service": service, "action": action,
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

    def do_POST(self):
        st = self.server.state
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path != "/token":
            return self.send_json(404, {"message": "not found"})
        status, obj, headers = create_token(st, raw)
        with st.lock:
            st.calls.append({"action": "CreateToken", "body": raw.decode("utf-8", "replace"),
                             "content_type": self.headers.get("Content-Type"),
                             "user_agent": self.headers.get("User-Agent"), "status": status})
        log_call(status, self.headers.get("User-Agent"), "sso-oauth", "CreateToken")
        self.send_json(status, obj, headers)

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


def oidc_error(status, code, error, description):
    return status, {"error": error, "error_description": description}, [("x-amzn-ErrorType", code)]


def create_token(st, raw):
    """CreateToken's answer: (status, body, headers)."""
    try:
        req = json.loads(raw)
    except ValueError:
        req = None
    if not isinstance(req, dict) or not all(isinstance(req.get(k), str) for k in ("clientId", "clientSecret", "grantType")):
        return oidc_error(400, "InvalidRequestException", "invalid_request", "clientId, clientSecret and grantType are required")
    if st.client is None or (req["clientId"], req["clientSecret"]) != st.client:
        return oidc_error(401, "InvalidClientException", "invalid_client", "Invalid client provided")
    if req["grantType"] != "refresh_token":
        return oidc_error(400, "UnsupportedGrantTypeException", "unsupported_grant_type", "Unsupported grant type")
    with st.lock:
        if req.get("refreshToken") not in st.refresh_tokens:
            return oidc_error(400, "InvalidGrantException", "invalid_grant", "Invalid refresh token provided")
        st.refresh_tokens.discard(req["refreshToken"])
        st.refreshed += 1
        n = st.refreshed
        access, refresh = f"sso-access-token-refreshed-{n}", f"sso-refresh-token-{n}"
        st.tokens.add(access)
        st.refresh_tokens.add(refresh)
    return 200, {"accessToken": access, "tokenType": "Bearer", "expiresIn": st.token_seconds, "refreshToken": refresh}, []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default="", help="comma-separated valid access tokens")
    ap.add_argument("--expire-seconds", type=int, default=3600)
    ap.add_argument("--client", default="", help="ID:SECRET of the registered OIDC client")
    ap.add_argument("--refresh-token", default="", help="comma-separated valid refresh tokens")
    ap.add_argument("--token-seconds", type=int, default=3600, help="CreateToken's expiresIn")
    args = ap.parse_args()
    client = tuple(args.client.split(":", 1)) if ":" in args.client else None
    server = http.server.ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.state = State([t for t in args.token.split(",") if t], args.expire_seconds, client,
                         [t for t in args.refresh_token.split(",") if t], args.token_seconds)
    return serve_until_signal(server)


if __name__ == "__main__":
    sys.exit(main())
