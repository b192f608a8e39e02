#!/usr/bin/python3
"""build/ebssh-api's two caller classes (issue 15) against the AWS double:
the lookup key (--api-key-file, EBSSH_API_KEY, --api-key scrubbed from
/proc/PID/cmdline) and the ops key (--ops-api-key-file, EBSSH_OPS_API_KEY).
A lookup key on an ops route is API Gateway's 403 {"message":"Forbidden"}
with x-amzn-ErrorType ForbiddenException; the ops key opens every route;
without an ops key the ops routes are off (403 OpsKeyNotConfigured); no
lookup key beyond loopback without --no-auth is a start-up error naming the
options; key files are refused when missing, empty or world-readable; the
access log names the key class, never a key. Prints TAP."""

import http.client
import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ["EBSSH_BUILD"]
API = os.path.join(BUILD, "ebssh-api")
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from api_server import ApiServer  # noqa: E402
from child import sanitizer_clean  # noqa: E402
from harness import AwsDouble  # noqa: E402
from route_cases import aws_env  # noqa: E402
from tap import Tap  # noqa: E402

LOOKUP_KEY = "L00kup-key-of-the-team-0123456789"
OPS_KEY = "0ps-key-of-the-operators-9876543210"
FORBIDDEN = b'{"message":"Forbidden"}'
OPS_ROUTES = (("POST", "/backup/ami?dry_run=true"), ("GET", "/logs/bad.name/abcdefgh-1"),
              ("GET", "/lambda/storage"))
LOOKUP = "/eb/x/ip"  # a bad name: 400 from the router, no AWS call


def request(srv, method, path, key=None):
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
    try:
        conn.request(method, path, headers={"x-api-key": key} if key else {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def forbidden(answer):
    st, h, body = answer
    return (st == 403 and body == FORBIDDEN and h.get("x-amzn-errortype") == "ForbiddenException"
            and h.get("content-type") == "application/json")


def ops_off(answer):
    st, h, body = answer
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    return (st == 403 and doc.get("code") == "OpsKeyNotConfigured"
            and "--ops-api-key-file" in doc.get("message", "")
            and h.get("x-amzn-errortype") == "ForbiddenException")


def key_file(d, name, text, mode=0o600):
    path = os.path.join(d, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def log_lines(srv):
    out = []
    for line in srv.stderr().splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if isinstance(d, dict) and "status" in d:
            out.append(d)
    return out


def test_two_keys(tap, aws, d):
    srv = ApiServer(["--listen", "127.0.0.1:0", "--api-key-file", key_file(d, "lookup", LOOKUP_KEY + "\n"),
                     "--ops-api-key-file", key_file(d, "ops", OPS_KEY + "\r\nsecond line\n")], aws_env(aws))
    try:
        a = request(srv, "GET", LOOKUP, LOOKUP_KEY)
        tap.ok(a[0] == 400, "the lookup key (from its file, line end stripped) opens a lookup", a)
        a = request(srv, "GET", LOOKUP, OPS_KEY)
        tap.ok(a[0] == 400, "the ops key (CRLF stripped, only the first line) opens a lookup too", a)
        for method, path in OPS_ROUTES:
            a = request(srv, method, path, LOOKUP_KEY)
            tap.ok(forbidden(a), "the lookup key on %s %s: API Gateway's 403" % (method, path), a)
            a = request(srv, method, path)
            tap.ok(forbidden(a), "no key on %s %s: 403" % (method, path), a)
            a = request(srv, method, path, OPS_KEY + "x")
            tap.ok(forbidden(a), "the ops key plus a byte on %s %s: 403" % (method, path), a)
        a = request(srv, "GET", "/logs/bad.name/abcdefgh-1", OPS_KEY)
        tap.ok(a[0] == 400 and json.loads(a[2]).get("code") == "InvalidName",
               "the ops key on GET /logs reaches the route (its own 400)", a)
        a = request(srv, "GET", "/lambda/storage", OPS_KEY)
        tap.ok(a[0] != 403, "the ops key on GET /lambda/storage is served", a[:2])
        a = request(srv, "POST", "/slack/logsearch")
        tap.ok(a[0] != 403, "/slack/logsearch needs no key (Slack signs it)", a)
        a = request(srv, "GET", LOOKUP)
        tap.ok(forbidden(a), "no key on a lookup: 403", a)
    finally:
        rc = srv.stop()
    text = srv.stderr()
    lines = log_lines(srv)
    classes = {(x.get("path"), x.get("key")) for x in lines}
    tap.ok(("/eb/x/ip", "lookup") in classes and ("/eb/x/ip", "ops") in classes
           and ("/lambda/storage", "lookup") in classes and ("/lambda/storage", "ops") in classes
           and ("/lambda/storage", "none") in classes,
           "the access log names the key class that matched", sorted(map(str, classes)))
    tap.ok(LOOKUP_KEY not in text and OPS_KEY not in text and "second line" not in text,
           "the log holds neither key")
    tap.ok(rc == 0 and sanitizer_clean(text), "clean stop", (rc, text[-1500:]))


def test_no_ops_key(tap, aws):
    env = dict(aws_env(aws), EBSSH_API_KEY=LOOKUP_KEY)
    srv = ApiServer(["--listen", "127.0.0.1:0"], env)
    try:
        a = request(srv, "GET", "/lambda/storage", LOOKUP_KEY)
        tap.ok(ops_off(a), "a lookup key only: the ops routes are off, 403 OpsKeyNotConfigured", a)
        a = request(srv, "POST", "/backup/ami", OPS_KEY)
        tap.ok(ops_off(a), "... whatever key comes", a)
        a = request(srv, "GET", LOOKUP, LOOKUP_KEY)
        tap.ok(a[0] == 400, "EBSSH_API_KEY is the lookup key", a)
        tap.ok("ops routes off" in srv.stderr(), "the start-up line says the ops routes are off",
               srv.stderr())
    finally:
        srv.stop()
    srv = ApiServer(["--listen", "127.0.0.1:0"], aws_env(aws))
    try:
        a = request(srv, "GET", LOOKUP)
        tap.ok(a[0] == 400, "no key at all, on loopback: the lookups are open", a)
        a = request(srv, "GET", "/logs/bad.name/abcdefgh-1")
        tap.ok(ops_off(a), "... and the ops routes are off", a)
    finally:
        srv.stop()
    srv = ApiServer(["--listen", "127.0.0.1:0"], dict(aws_env(aws), EBSSH_OPS_API_KEY=OPS_KEY))
    try:
        a = request(srv, "GET", LOOKUP)
        tap.ok(a[0] == 400, "an ops key only (EBSSH_OPS_API_KEY): the lookups are open on loopback", a)
        a = request(srv, "GET", "/logs/bad.name/abcdefgh-1")
        tap.ok(forbidden(a), "... the ops routes need it", a)
        a = request(srv, "GET", "/logs/bad.name/abcdefgh-1", OPS_KEY)
        tap.ok(a[0] == 400, "... and open to it", a)
    finally:
        srv.stop()


def start_error(args, env):
    p = subprocess.run([API, *args], env=env, capture_output=True, text=True, timeout=10)
    return p.returncode, p.stderr


def one_error(tap, r, what, *words):
    rc, err = r
    tap.ok(rc == 2 and err.startswith("ebssh-api: ") and len(err.splitlines()) == 1
           and all(w in err for w in words), "%s: one 'ebssh-api:' line naming %s, status 2"
           % (what, ", ".join(words)), r)


def test_listen_rules(tap, aws, d):
    env = aws_env(aws)
    for addr in ("0.0.0.0:0", "[::]:0", "10.255.255.1:0", "192.0.2.1:0"):
        # refused before any bind: no address beyond loopback is touched
        one_error(tap, start_error(["--listen", addr], env), "no lookup key on %s" % addr,
                  "refusing", "--api-key-file", "--no-auth", addr)
    # With --no-auth (or a key) the rule passes; 192.0.2.1 (TEST-NET-1) is no
    # address of this host, so the bind fails after it: the rule let it through.
    for args, what in ((["--no-auth"], "--no-auth"), (["--api-key-file", key_file(d, "listen", LOOKUP_KEY)], "a lookup key")):
        rc, err = start_error(["--listen", "192.0.2.1:0", *args], env)
        tap.ok(rc != 0 and "cannot listen on 192.0.2.1:0" in err and "refusing" not in err,
               "%s beyond loopback passes the rule (then the bind fails: not our address)" % what,
               (rc, err))
    srv = ApiServer(["--listen", "127.0.0.2:0"], env)
    tap.ok(srv.host == "127.0.0.2" and request(srv, "GET", "/health")[0] == 200,
           "127.0.0.2 is loopback: no key needed")
    srv.stop()
    one_error(tap, start_error(["--no-auth", "--api-key", LOOKUP_KEY], env),
              "--no-auth with a key", "--no-auth", "contradict")


def test_key_files(tap, aws, d):
    env = aws_env(aws)
    missing = os.path.join(d, "nope")
    one_error(tap, start_error(["--api-key-file", missing], env), "a missing key file",
              "--api-key-file", missing)
    one_error(tap, start_error(["--ops-api-key-file", missing], env), "a missing ops key file",
              "--ops-api-key-file", missing)
    empty = key_file(d, "empty", "")
    one_error(tap, start_error(["--api-key-file", empty], env), "an empty key file", empty, "empty")
    blank = key_file(d, "blank", "\nkey on the second line\n")
    one_error(tap, start_error(["--ops-api-key-file", blank], env), "a key file with an empty first line",
              blank, "empty")
    world = key_file(d, "world", LOOKUP_KEY, 0o644)
    one_error(tap, start_error(["--api-key-file", world], env), "a world-readable key file",
              world, "chmod 600")
    one_error(tap, start_error(["--api-key-file", d], env), "a directory as key file", "regular file")
    same = key_file(d, "same", LOOKUP_KEY)
    one_error(tap, start_error(["--api-key-file", same, "--ops-api-key-file", same], env),
              "the same key for both classes", "the same")
    one_error(tap, start_error(["--api-key", "x", "--api-key-file", same], env),
              "--api-key and --api-key-file", "--api-key-file")
    group = key_file(d, "group", LOOKUP_KEY, 0o640)
    srv = ApiServer(["--listen", "127.0.0.1:0", "--api-key-file", group], env)
    try:
        tap.ok("warning" in srv.stderr() and "group" in srv.stderr()
               and request(srv, "GET", LOOKUP, LOOKUP_KEY)[0] == 400,
               "a group-readable key file: a warning, then served", srv.stderr())
    finally:
        srv.stop()


def test_argv_scrub(tap, aws):
    for args in (["--api-key", LOOKUP_KEY], ["--api-key=" + LOOKUP_KEY], ["-k" + LOOKUP_KEY]):
        srv = ApiServer(["--listen", "127.0.0.1:0", *args], aws_env(aws))
        try:
            with open("/proc/%d/cmdline" % srv.proc.pid, "rb") as f:
                cmdline = f.read()
            a = request(srv, "GET", LOOKUP, LOOKUP_KEY)
            # the arguments around it are still there: the read sees argv
            tap.ok(LOOKUP_KEY.encode() not in cmdline and b"--listen\x00127.0.0.1:0" in cmdline
                   and a[0] == 400,
                   "%s: scrubbed from /proc/PID/cmdline, and still the key" % args[0][:9],
                   (cmdline, a[0]))
        finally:
            srv.stop()


def main():
    tap = Tap()
    if not os.access(API, os.X_OK):
        tap.ok(False, "%s exists" % API)
        sys.exit(tap.done())
    aws = AwsDouble().start()
    try:
        with tempfile.TemporaryDirectory() as d:
            test_two_keys(tap, aws, d)
            test_no_ops_key(tap, aws)
            test_listen_rules(tap, aws, d)
            test_key_files(tap, aws, d)
            test_argv_scrub(tap, aws)
    finally:
        aws.stop()
    sys.exit(tap.done())


if __name__ == "__main__":
    main()
