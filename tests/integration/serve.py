#!/usr/bin/python3
"""build/ebssh-api over HTTP against the AWS double: every route case of
tests/doubles/route_cases.py, the API key (403 as API Gateway answers it,
/health open), x-amzn-RequestId on every answer (the id of its access-log
line), request size bounds (413), idle timeouts, concurrency, the
access log, IPv6, options and errors, a clean stop on SIGTERM and SIGINT.
Prints TAP."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ["EBSSH_BUILD"]
API = os.path.join(BUILD, "ebssh-api")
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import route_cases  # noqa: E402
from api_server import ApiServer  # noqa: E402
from child import sanitizer_clean  # noqa: E402
from harness import AwsDouble  # noqa: E402
from route_cases import SECRETS, aws_env  # noqa: E402
from tap import Tap  # noqa: E402

KEY = "Th1s-is-the-4PI-key-0123456789"
FORBIDDEN = b'{"message":"Forbidden"}'


class Server(ApiServer):
    """ebssh-api as a child process, with requests to it."""

    def request(self, method, path, headers=None, body=None, query=None, conn=None):
        """(status, headers lowercase, body bytes)."""
        if query:
            path += "?" + urllib.parse.urlencode(query)
        own = conn is None
        if own:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            if own:
                conn.close()


def test_api_key(tap, srv):
    st, h, body = srv.request("GET", "/health")
    tap.ok(st == 200 and body == b"ok\n", "/health answers without the API key", (st, body))
    for name, headers in (("no key", {}), ("a wrong key", {"x-api-key": "nope"}),
                          ("the key minus its last byte", {"x-api-key": KEY[:-1]}),
                          ("the key plus a byte", {"x-api-key": KEY + "x"}),
                          ("the key in another header", {"Authorization": KEY})):
        st, h, body = srv.request("GET", "/eb/my-env-production/ip", headers)
        tap.ok(st == 403 and body == FORBIDDEN and h.get("content-type") == "application/json",
               "%s: 403 {\"message\":\"Forbidden\"} as API Gateway answers" % name, (st, h, body))
    st, h, body = srv.request("GET", "/nope")
    tap.ok(st == 403 and body == FORBIDDEN, "unknown routes need the key too", (st, body))
    st, h, body = srv.request("GET", "/eb/x/ip", {"X-Api-Key": KEY})
    tap.ok(st == 400 and json.loads(body).get("message"),
           "the right key (header name in any case) reaches the router", (st, body))


def test_requests(tap, srv):
    key = {"x-api-key": KEY}
    st, h, body = srv.request("GET", "/heal%74h", key)
    tap.ok(st == 200 and body == b"ok\n", "the path is percent-decoded", (st, body))
    st, h, body = srv.request("GET", "/eb/my-env-production/ip", key,
                              query={"address": "both"})
    tap.ok(st == 400, "query parameters reach the router", (st, body))
    st, h, body = srv.request("POST", "/health", key, body=b"x" * (1024 * 1024))
    tap.ok(st == 405 and h.get("allow") == "GET", "a 1 MiB body is read (405 from the router)",
           (st, h, body[:200]))
    # Answered from the headers alone, before any of the body is sent.
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    s.sendall(("POST /health HTTP/1.1\r\nHost: x\r\nx-api-key: %s\r\n"
               "Content-Length: %d\r\n\r\n" % (KEY, 1024 * 1024 + 1)).encode())
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
        data = s.recv(4096)
        if not data:
            break
        answer += data
    s.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    tap.ok(head.startswith(b"HTTP/1.1 413 ") and json.loads(body or b"{}").get("message"),
           "a body over 1 MiB (Content-Length): 413 before it is sent", answer[:300])

    def chunks():
        for _ in range(40):
            yield b"y" * 32768
    st, h, body = srv.request("POST", "/health", key,  # a generator: chunked
                              body=chunks())
    tap.ok(st == 413, "a chunked body over 1 MiB: 413", (st, body[:200]))

    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    a = srv.request("GET", "/health", conn=conn)
    b = srv.request("GET", "/eb/x/ip", key, conn=conn)
    conn.close()
    tap.ok(a[0] == 200 and b[0] == 400, "two requests on one keep-alive connection", (a, b))

    results = []

    def one():
        results.append(srv.request("GET", "/health")[0])
    threads = [threading.Thread(target=one) for _ in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tap.ok(results == [200] * 48, "48 concurrent requests all answered", results)


def raw_answer(srv, data):
    """Sends data on a fresh connection; (status, headers lowercase) of the answer."""
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    s.sendall(data)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
    s.close()
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1]) if head and head[0].startswith("HTTP/") else 0
    return status, {k.strip().lower(): v.strip() for k, _, v in
                    (line.partition(":") for line in head[1:])}


def request_ids(tap, srv):
    """Every answer, the static ones too, carries x-amzn-RequestId; returns
    [(status, id)] for the access-log check after the stop."""
    key = {"x-api-key": KEY}
    seen = []
    for method, path, headers in (("GET", "/health", {}), ("GET", "/health", {}),
                                  ("GET", "/eb/my-env-production/ip", {}),  # 403
                                  ("GET", "/eb/x/ip", key),                  # 400
                                  ("GET", "/nope/nope", key),                # 404
                                  ("DELETE", "/health", key),                # 405
                                  ("GET", "/eb/my-env-production/ip", key)):  # 200
        st, h, body = srv.request(method, path, headers)
        seen.append((st, h.get("x-amzn-requestid")))
    seen.append(raw_answer(srv, ("POST /health HTTP/1.1\r\nHost: x\r\nx-api-key: %s\r\n"
                                 "Content-Length: %d\r\n\r\n" % (KEY, 2 << 20)).encode()))
    seen[-1] = (seen[-1][0], seen[-1][1].get("x-amzn-requestid"))
    statuses = [st for st, _ in seen]
    ids = [rid for _, rid in seen]
    tap.ok(statuses == [200, 200, 403, 400, 404, 405, 200, 413],
           "request-id probes answered as expected", seen)
    tap.ok(all(rid and len(rid) == 24 and all(c in "0123456789abcdef" for c in rid)
               for rid in ids),
           "x-amzn-RequestId on every answer, the static 403 and 413 too", seen)
    tap.ok(len(set(ids)) == len(ids), "a different request id per request", ids)
    return seen


def check_logged_ids(tap, text, seen):
    logged = {}
    for line in text.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("request_id"):
            logged.setdefault(d["request_id"], []).append(d.get("status"))
    tap.ok(all(logged.get(rid) == [st] for st, rid in seen),
           "the access-log line of each answer names its request id",
           [(st, rid, logged.get(rid)) for st, rid in seen])


def test_timeout(tap, aws):
    srv = Server(["--listen", "127.0.0.1:0", "--timeout", "1"], aws_env(aws))
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finished
    start = time.time()
    try:
        data = s.recv(100)
    except OSError:
        data = b""
    took = time.time() - start
    s.close()
    tap.ok(data == b"" and took < 8, "an idle connection is closed after --timeout",
           (data, took))
    rc = srv.stop()
    tap.ok(rc == 0, "stopped", rc)


def test_access_log(tap, srv, text):
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    fields = {"time", "remote", "method", "path", "status", "bytes", "duration_ms"}
    ok_lines = [d for d in lines if fields <= set(d)]
    health = [d for d in ok_lines if d["path"] == "/health" and d["status"] == 200]
    forb = [d for d in ok_lines if d["status"] == 403]
    tap.ok(health and health[0]["remote"] == "127.0.0.1" and health[0]["method"] == "GET"
           and health[0]["bytes"] == 3 and forb,
           "one JSON access-log line per request", text[-1500:])
    leaked = [s for s in SECRETS + (KEY, "x-api-key") if s.lower() in text.lower()]
    tap.ok(not leaked, "the log holds no API key, AWS key or signature", leaked)


def test_options(tap, aws):
    env = aws_env(aws)
    p = subprocess.run([API, "--help"], env=env, capture_output=True, text=True, timeout=10)
    tap.ok(p.returncode == 0 and "--listen" in p.stdout and "--api-key" in p.stdout,
           "--help", p)
    p = subprocess.run([API, "--version"], env=env, capture_output=True, text=True, timeout=10)
    tap.ok(p.returncode == 0 and p.stdout.startswith("ebssh-api "), "--version", p)
    for args, what in ((["--bogus"], "an unknown option"),
                       (["--listen", "localhost"], "a --listen without a port"),
                       (["--listen", "300.1.1.1:80"], "a bad IPv4 address"),
                       (["--listen", "[::1]80"], "a bad IPv6 form"),
                       (["--listen", "127.0.0.1:70000"], "a port past 65535"),
                       (["--threads", "0"], "zero threads"),
                       (["--threads"], "an option without its value"),
                       (["--ops-threads", "65"], "too many ops threads"),
                       (["extra"], "a stray argument")):
        p = subprocess.run([API, *args], env=env, capture_output=True, text=True, timeout=10)
        tap.ok(p.returncode == 2 and p.stderr.startswith("ebssh-api: ")
               and len(p.stderr.splitlines()) == 1,
               "%s: one 'ebssh-api:' line, status 2" % what, p)
    noregion = dict(env, AWS_CONFIG_FILE="/nonexistent/config")
    del noregion["AWS_REGION"]
    p = subprocess.run([API, "--listen", "127.0.0.1:0"], env=noregion, capture_output=True,
                       text=True, timeout=10)
    tap.ok(p.returncode == 2 and p.stderr.startswith("ebssh-api: ")
           and "region" in p.stderr.lower() and len(p.stderr.splitlines()) == 1,
           "no AWS region: a start-up error", p)
    srv = Server(["--listen", "127.0.0.1:0"], env)
    p = subprocess.run([API, "--listen", "127.0.0.1:%d" % srv.port], env=env,
                       capture_output=True, text=True, timeout=10)
    tap.ok(p.returncode != 0 and "ebssh-api: " in p.stderr and "127.0.0.1:%d" % srv.port
           in p.stderr, "a port in use: an error naming it", p)
    srv.stop()


def test_env_key_and_ipv6(tap, aws):
    env = aws_env(aws)
    env["EBSSH_API_KEY"] = KEY
    srv = Server(["--listen", "127.0.0.1:0"], env)
    a = srv.request("GET", "/eb/x/ip")
    b = srv.request("GET", "/eb/x/ip", {"x-api-key": KEY})
    tap.ok(a[0] == 403 and b[0] == 400, "EBSSH_API_KEY sets the key", (a, b))
    srv.stop()

    srv = Server(["--listen", "127.0.0.1:0"], aws_env(aws))
    a = srv.request("GET", "/eb/x/ip")
    tap.ok(a[0] == 400, "without a key every route is open", a)
    srv.stop()

    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        return tap.skip("--listen [::1]:0", "no IPv6 loopback")
    srv = Server(["--listen", "[::1]:0"], aws_env(aws))
    a = srv.request("GET", "/health")
    tap.ok(srv.host == "::1" and a[0] == 200, "--listen [::1]:0 serves over IPv6", a)
    rc = srv.stop(signal.SIGINT)
    tap.ok(rc == 0 and sanitizer_clean(srv.stderr()), "SIGINT: clean exit, status 0",
           (rc, srv.stderr()[-1500:]))


def main():
    tap = Tap()
    if not os.access(API, os.X_OK):
        tap.ok(False, "%s exists" % API)
        sys.exit(tap.done())
    aws = AwsDouble().start()
    try:
        srv = Server(["--listen", "127.0.0.1:0", "--api-key", KEY, "--threads", "3"],
                     aws_env(aws))
        try:
            test_api_key(tap, srv)
            test_requests(tap, srv)
            seen = request_ids(tap, srv)
            def send(method, path, query, headers):
                st, h, body = srv.request(method, path, dict(headers, **{"x-api-key": KEY}),
                                          query=query)
                return st, h, body.decode("utf-8", "replace")
            route_cases.run(tap, aws, send, "ebssh-api")
        finally:
            rc = srv.stop()
        text = srv.stderr()
        test_access_log(tap, srv, text)
        check_logged_ids(tap, text, seen)
        tap.ok(rc == 0 and "stopping" in text and sanitizer_clean(text),
               "SIGTERM: clean exit, status 0", (rc, text[-1500:]))
        test_timeout(tap, aws)
        test_options(tap, aws)
        test_env_key_and_ipv6(tap, aws)
    finally:
        aws.stop()
    sys.exit(tap.done())


if __name__ == "__main__":
    main()
