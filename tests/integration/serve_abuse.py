#!/usr/bin/python3
"""build/ebssh-api under abuse, against the AWS double: slow clients (a byte
at a time) are closed by the header and body deadlines, with a JSON line each;
many of them open at once do not stop a lookup; long ops requests (held in the
double by its "hold" fault) run on the ops workers and do not stop lookups on
a single polling thread; ops beyond the queue bound get 503 OpsBusy with
Retry-After; a stop with ops in flight is clean. Behaviour only, never a
timing: a lookup answers while the others are open, a slow client gets closed.
Prints TAP."""

import http.client
import json
import os
import signal
import socket
import sys
import threading
import time

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
from route_cases import PROD, aws_env  # noqa: E402
from tap import Tap  # noqa: E402

LOOKUP = "/eb/my-env-production/ip"
OPS = "/lambda/storage"   # ops class; its first AWS call is Lambda's ListFunctions
SAFETY = 60               # a test's own bound against a hang, never an assertion


OPS_KEY = "serve-abuse-ops-key-0123456789"  # the ops routes need the ops key (issue 15)


def env_of(aws):
    env = aws_env(aws)
    env["EBSSH_AWS_TIMEOUT_MS"] = "300000"  # a held call waits for its release
    env["EBSSH_OPS_API_KEY"] = OPS_KEY
    return env


def request(srv, method, path, timeout=SAFETY):
    """(status, headers lowercase, body bytes)."""
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=timeout)
    try:
        conn.request(method, path, headers={"x-api-key": OPS_KEY})  # opens every route
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def wait_until(cond, what):
    deadline = time.monotonic() + SAFETY
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    raise RuntimeError("never happened: " + what)


def log_lines(srv):
    out = []
    for line in srv.stderr().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


class Trickler(threading.Thread):
    """A client that sends head, then one byte of tail every `every`
    seconds, until the server closes the connection (closed is then set) or
    stop is set. A tail that runs out starts over (the request never ends)."""

    def __init__(self, srv, head, tail=b"X-Slow: abcdefghijklmnopqrstuvwxyz\r\n", every=0.2):
        super().__init__(daemon=True)
        self.sock = socket.create_connection((srv.host, srv.port), timeout=SAFETY)
        self.sock.sendall(head)
        self.tail, self.every = tail, every
        self.closed = threading.Event()
        self.stop = threading.Event()
        self.sent = len(head)

    def run(self):
        i = 0
        try:
            while not self.stop.wait(self.every):
                self.sock.send(self.tail[i % len(self.tail):i % len(self.tail) + 1])
                self.sent += 1
                i += 1
        except OSError:
            self.closed.set()
        finally:
            self.sock.close()


def test_deadlines(tap, aws):
    # The idle timeout is long: only the deadlines can close these.
    srv = ApiServer(["--listen", "127.0.0.1:0", "--timeout", "3600", "--header-timeout", "1",
                     "--body-timeout", "1"], env_of(aws))
    try:
        t = Trickler(srv, b"GET /health HTTP/1.1\r\nHost: x\r\n")
        t.start()
        t.closed.wait(SAFETY)
        tap.ok(t.closed.is_set() and t.sent > 3,
               "headers a byte at a time: the connection is closed by --header-timeout",
               t.sent)
        b = Trickler(srv, b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n",
                     tail=b"y")
        b.start()
        b.closed.wait(SAFETY)
        tap.ok(b.closed.is_set(), "a body a byte at a time: closed by --body-timeout", b.sent)
        st, h, body = request(srv, "GET", "/health")
        tap.ok(st == 200 and body == b"ok\n", "a prompt request still answers", (st, body))
        # A keep-alive connection serves several requests within the deadlines.
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=SAFETY)
        got = []
        for _ in range(3):
            conn.request("GET", "/health")
            r = conn.getresponse()
            got.append((r.status, r.read()))
        conn.close()
        tap.ok(got == [(200, b"ok\n")] * 3, "prompt requests on one kept-alive connection", got)
    finally:
        rc = srv.stop()
    lines = [d for d in log_lines(srv) if d.get("event") == "slow-client-closed"]
    phases = sorted(d.get("phase") for d in lines)
    tap.ok(phases == ["body", "headers"] and all(d.get("remote") == "127.0.0.1"
                                                 and d.get("limit_s") == 1 for d in lines),
           "one JSON line per slow connection closed, naming its phase", lines)
    tap.ok("abcdefghij" not in srv.stderr(), "the slow-client lines hold no header value",
           srv.stderr()[-800:])
    tap.ok(rc == 0 and sanitizer_clean(srv.stderr()), "stopped cleanly", (rc, srv.stderr()[-800:]))


def test_many_slow_clients(tap, aws):
    srv = ApiServer(["--listen", "127.0.0.1:0", "--threads", "2", "--header-timeout", "600",
                     "--timeout", "3600"], env_of(aws))
    slow = []
    try:
        slow = [Trickler(srv, b"GET /health HTTP/1.1\r\nHost: x\r\n", every=0.5)
                for _ in range(100)]
        for t in slow:
            t.start()
        answers = [request(srv, "GET", LOOKUP) for _ in range(5)]
        still_open = sum(not t.closed.is_set() for t in slow)
        tap.ok([a[0] for a in answers] == [200] * 5 and answers[0][2].decode() == PROD,
               "100 slow clients open: lookups answer", [a[:1] for a in answers])
        tap.ok(still_open == 100, "... while all 100 slow clients are still open", still_open)
    finally:
        for t in slow:
            t.stop.set()
        for t in slow:
            t.join(SAFETY)
        rc = srv.stop()
    tap.ok(rc == 0 and sanitizer_clean(srv.stderr()), "stopped cleanly", (rc, srv.stderr()[-800:]))


def start_ops(srv, n):
    """n ops requests, each on its own thread; returns (threads, answers list)."""
    answers = []
    lock = threading.Lock()

    def one():
        try:
            a = request(srv, "GET", OPS)
        except OSError as e:
            a = ("closed", {}, str(e).encode())
        with lock:
            answers.append(a)
    threads = [threading.Thread(target=one, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads, answers


def release_until_done(aws, threads):
    deadline = time.monotonic() + SAFETY
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        aws.release()
        time.sleep(0.05)


def test_long_ops(tap, aws):
    # One polling thread: an ops request on it would stop every lookup.
    srv = ApiServer(["--listen", "127.0.0.1:0", "--threads", "1", "--ops-threads", "2",
                     "--ops-queue", "2"], env_of(aws))
    threads = []
    try:
        aws.queue_faults("ListFunctions", ["hold"] * 4)
        threads, answers = start_ops(srv, 4)
        wait_until(lambda: aws.held() == 2, "two ops requests held in the double")
        # the other two wait in the queue: in flight, not answered
        wait_until(lambda: sum(d.get("path") == OPS for d in log_lines(srv)) == 0
                   and all(t.is_alive() for t in threads), "four ops in flight")
        looks = [request(srv, "GET", LOOKUP) for _ in range(5)]
        tap.ok([a[0] for a in looks] == [200] * 5 and looks[0][2].decode() == PROD,
               "4 long ops requests in flight: lookups answer on the one polling thread",
               [a[:1] for a in looks])
        tap.ok(aws.held() == 2 and all(t.is_alive() for t in threads) and not answers,
               "... while the ops requests are still in flight", (aws.held(), answers))
        st, h, body = request(srv, "GET", OPS)
        doc = json.loads(body or b"{}")
        tap.ok(st == 503 and doc.get("code") == "OpsBusy" and h.get("retry-after") == "1"
               and len(h.get("x-amzn-requestid", "")) == 24,
               "an ops request beyond the queue bound: 503 OpsBusy, Retry-After",
               (st, h, body))
        release_until_done(aws, threads)
        tap.ok(sorted(a[0] for a in answers) == [200] * 4,
               "released: all four ops requests answer 200", [a[:1] for a in answers])
    finally:
        aws.release()
        rc = srv.stop()
        aws.reset()
    text = srv.stderr()
    ops_lines = [d for d in log_lines(srv) if d.get("path") == OPS]
    tap.ok(sorted(d["status"] for d in ops_lines) == [200, 200, 200, 200, 503]
           and all(d.get("request_id") for d in ops_lines),
           "one access-log line per ops request, with its request id", ops_lines)
    tap.ok(rc == 0 and sanitizer_clean(text), "stopped cleanly", (rc, text[-800:]))


def test_stop_with_ops_in_flight(tap, aws):
    srv = ApiServer(["--listen", "127.0.0.1:0", "--ops-threads", "1", "--ops-queue", "2"],
                    env_of(aws))
    aws.queue_faults("ListFunctions", ["hold"] * 3)
    threads, answers = start_ops(srv, 3)
    wait_until(lambda: aws.held() == 1, "one ops request held, two queued")
    srv.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "stopping" in srv.stderr(), "the stop begins")
    # The queued ones are answered at once, the running one still is held.
    wait_until(lambda: len(answers) >= 2, "the queued ops requests answered")
    queued = sorted(a[0] for a in answers)
    still_held = aws.held()
    release_until_done(aws, threads)
    rc = srv.stop()
    text = srv.stderr()
    tap.ok(queued == [503, 503] and still_held == 1,
           "SIGTERM: waiting ops requests get 503 at once, the running one goes on",
           (queued, still_held))
    tap.ok(len(answers) == 3 and rc == 0 and sanitizer_clean(text),
           "SIGTERM with ops in flight: every request ends, clean exit, status 0",
           (answers, rc, text[-1500:]))
    aws.reset()


def test_options(tap, aws):
    import subprocess
    for args, what in ((["--ops-threads", "0"], "zero ops threads"),
                       (["--ops-queue", "-1"], "a negative ops queue"),
                       (["--header-timeout", "0"], "a zero header timeout"),
                       (["--body-timeout", "x"], "a body timeout that is no number")):
        p = subprocess.run([API, *args], env=env_of(aws), capture_output=True, text=True,
                           timeout=SAFETY)
        tap.ok(p.returncode == 2 and p.stderr.startswith("ebssh-api: ")
               and len(p.stderr.splitlines()) == 1,
               "%s: one 'ebssh-api:' line, status 2" % what, p)
    p = subprocess.run([API, "--help"], env=env_of(aws), capture_output=True, text=True,
                       timeout=SAFETY)
    tap.ok(p.returncode == 0 and all(o in p.stdout for o in (
        "--ops-threads", "--ops-queue", "--header-timeout", "--body-timeout"))
        and "/backup/ami  (ops)" in p.stdout and "/eb/{env}/ip\n" in p.stdout,
        "--help names the new options and marks the ops routes", p.stdout)


def main():
    tap = Tap()
    if not os.access(API, os.X_OK):
        tap.ok(False, "%s exists" % API)
        sys.exit(tap.done())
    aws = AwsDouble().start()
    try:
        test_deadlines(tap, aws)
        test_many_slow_clients(tap, aws)
        test_long_ops(tap, aws)
        test_stop_with_ops_in_flight(tap, aws)
        test_options(tap, aws)
    finally:
        aws.release()
        aws.stop()
    sys.exit(tap.done())


if __name__ == "__main__":
    main()
