#!/usr/bin/python3
"""A double of the AWS Lambda Runtime API, for tests of build/bootstrap.

Serves /2018-06-01/runtime/... on 127.0.0.1 as AWS's runtime-api.yaml (the
OpenAPI description of the Runtime API published with the Lambda developer
guide) describes, strictly: other paths answer 404, other methods
405, unknown or already answered request ids 400, a /response body over the
payload cap 413, each with the documented ErrorResponse JSON body.

Prints "PORT n" on its first stdout line once it listens.

Invocations are queued from --events FILE (a JSON list) or by
POST /__control/enqueue with one item or a list of items. An item is
    {"event": <any JSON>}               the event, sent as JSON
    {"raw": "<text>"}                   the event bytes as given (malformed events)
with optional "request_id", "trace_id" (null: no Lambda-Runtime-Trace-Id
header), "deadline_ms" (absolute; default now + 30 s) and
"function_arn". GET /next blocks until an item is queued.

Control endpoints (all under /__control/):
    POST enqueue        queue items; answers {"request_ids": [...]}
    GET  results        {"invocations": [...], "init_errors": [...],
                         "next_calls": n, "dropped": n, "queued": n}
                        each invocation: request_id, kind ("response" or
                        "error"), status (what the double answered), headers
                        (as received), body (text)
    POST wait           body {"count": n, "timeout": s}: blocks until n
                        results (invocation and init errors) are recorded;
                        answers the results, or 408 with them on timeout
    POST drop           body {"count": n, "path": "next"|"response"|"error"}:
                        the next n such requests get their connection closed
                        without an answer (a stale keep-alive connection)
    POST set            body {"max_payload": n} changes the /response cap
    POST shutdown       from now on /next answers 500 (a container error:
                        the runtime must exit promptly)
"""

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from child import read_port, stop_process

PREFIX = "/2018-06-01/runtime"
DEFAULT_MAX_PAYLOAD = 6291556  # 6 MiB + 100 bytes: Lambda's synchronous cap


class State:
    def __init__(self, max_payload):
        self.cond = threading.Condition()
        self.queue = []
        self.pending = {}  # request id -> item handed out by /next, not yet answered
        self.invocations = []
        self.init_errors = []
        self.next_calls = 0
        self.dropped = 0
        self.drops = {"next": 0, "response": 0, "error": 0}
        self.max_payload = max_payload
        self.shutdown = False

    def results(self):
        return {
            "invocations": list(self.invocations),
            "init_errors": list(self.init_errors),
            "next_calls": self.next_calls,
            "dropped": self.dropped,
            "queued": len(self.queue),
        }

    def enqueue(self, items):
        ids = []
        for item in items:
            if not isinstance(item, dict) or ("event" not in item and "raw" not in item):
                raise ValueError("an item needs \"event\" or \"raw\"")
            item = dict(item)
            item.setdefault("request_id", str(uuid.uuid4()))
            item.setdefault(
                "trace_id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            )
            item.setdefault("function_arn",
                            "arn:aws:lambda:eu-west-1:123456789012:function:ebssh")
            ids.append(item["request_id"])
            self.queue.append(item)
        self.cond.notify_all()
        return ids


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API
    server_version = "RuntimeApiDouble/1"
    sys_version = ""

    def setup(self):
        super().setup()
        # No Nagle: headers and body are separate writes, and a delayed ACK
        # would add 40 ms to every exchange.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # quiet; tests read results instead
        pass

    @property
    def state(self):
        return self.server.state

    # -- plumbing ---------------------------------------------------------

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, status, obj=None, raw=None, headers=(), ctype="application/json"):
        data = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, etype, message):
        self.answer(status, {"errorMessage": message, "errorType": etype})

    def drop(self, kind):
        """Closes the connection without answering when a drop is armed."""
        with self.state.cond:
            if self.state.drops.get(kind, 0) <= 0:
                return False
            self.state.drops[kind] -= 1
            self.state.dropped += 1
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return True

    def route(self, method):
        path = self.path
        if path.startswith("/__control/"):
            return self.control(method, path[len("/__control/"):])
        if not path.startswith(PREFIX + "/"):
            self.read_body()
            return self.error(404, "NotFound", "unknown path " + path.split("?")[0])
        rest = path[len(PREFIX) + 1:]
        if "?" in rest:
            self.read_body()
            return self.error(404, "NotFound", "unexpected query string")
        parts = rest.split("/")
        if parts == ["invocation", "next"]:
            if method != "GET":
                self.read_body()
                return self.error(405, "MethodNotAllowed", "use GET")
            return self.next()
        if parts == ["init", "error"]:
            if method != "POST":
                return self.error(405, "MethodNotAllowed", "use POST")
            return self.init_error()
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            if method != "POST":
                return self.error(405, "MethodNotAllowed", "use POST")
            return self.post_result(urllib.parse.unquote(parts[1]), parts[2])
        self.read_body()
        return self.error(404, "NotFound", "unknown path " + path)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")

    # -- the Runtime API --------------------------------------------------

    def next(self):
        st = self.state
        with st.cond:
            st.next_calls += 1
        if self.drop("next"):
            return
        with st.cond:
            while not st.queue and not st.shutdown:
                st.cond.wait(0.5)
            if st.shutdown:
                item = None
            else:
                item = st.queue.pop(0)
                st.pending[item["request_id"]] = item
        if item is None:
            return self.error(500, "Runtime.ContainerError", "the double is shutting down")
        if "raw" in item:
            data = item["raw"].encode()
        else:
            data = json.dumps(item["event"]).encode()
        deadline = item.get("deadline_ms", int(time.time() * 1000) + 30000)
        headers = [
            ("Lambda-Runtime-Aws-Request-Id", item["request_id"]),
            ("Lambda-Runtime-Deadline-Ms", str(deadline)),
            ("Lambda-Runtime-Invoked-Function-Arn", item["function_arn"]),
        ]
        if item["trace_id"] is not None:
            headers.append(("Lambda-Runtime-Trace-Id", item["trace_id"]))
        self.answer(200, raw=data, headers=headers)

    def record(self, kind, request_id, status, body):
        entry = {
            "request_id": request_id,
            "kind": kind,
            "status": status,
            "headers": {k: v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        with self.state.cond:
            if kind == "init_error":
                self.state.init_errors.append(entry)
            else:
                self.state.invocations.append(entry)
            self.state.cond.notify_all()

    def init_error(self):
        body = self.read_body()
        if self.drop("error"):
            return
        self.record("init_error", None, 202, body)
        self.answer(202, {"status": "OK"})

    def post_result(self, request_id, kind):
        n = int(self.headers.get("Content-Length") or 0)
        st = self.state
        if kind == "response" and n > st.max_payload:
            self.rfile.read(n)
            if self.drop(kind):
                return
            self.record(kind, request_id, 413, b"")
            return self.error(
                413, "RequestEntityTooLarge",
                "Exceeded maximum allowed payload size (%d bytes)." % st.max_payload)
        body = self.rfile.read(n) if n else b""
        if self.drop(kind):
            return
        with st.cond:
            known = st.pending.pop(request_id, None) is not None
        if not known:
            self.record(kind, request_id, 400, body)
            return self.error(400, "InvalidRequestID", "Invalid request ID")
        self.record(kind, request_id, 202, body)
        self.answer(202, {"status": "OK"})

    # -- control ----------------------------------------------------------

    def control(self, method, what):
        body = self.read_body()
        st = self.state
        try:
            arg = json.loads(body) if body else {}
        except ValueError:
            return self.answer(400, {"message": "bad JSON"})
        if what == "results" and method == "GET":
            with st.cond:
                return self.answer(200, st.results())
        if what == "enqueue" and method == "POST":
            items = arg if isinstance(arg, list) else [arg]
            try:
                with st.cond:
                    ids = st.enqueue(items)
            except ValueError as exc:
                return self.answer(400, {"message": str(exc)})
            return self.answer(200, {"request_ids": ids})
        if what == "wait" and method == "POST":
            count = int(arg.get("count", 1))
            end = time.time() + float(arg.get("timeout", 10))
            with st.cond:
                while len(st.invocations) + len(st.init_errors) < count:
                    left = end - time.time()
                    if left <= 0:
                        return self.answer(408, st.results())
                    st.cond.wait(left)
                return self.answer(200, st.results())
        if what == "drop" and method == "POST":
            kind = arg.get("path", "next")
            if kind not in st.drops:
                return self.answer(400, {"message": "path must be next, response or error"})
            with st.cond:
                st.drops[kind] += int(arg.get("count", 1))
            return self.answer(200, {})
        if what == "set" and method == "POST":
            with st.cond:
                if "max_payload" in arg:
                    st.max_payload = int(arg["max_payload"])
            return self.answer(200, {})
        if what == "shutdown" and method == "POST":
            with st.cond:
                st.shutdown = True
                st.cond.notify_all()
            return self.answer(200, {})
        return self.answer(404, {"message": "unknown control " + what})


class Client:
    """For tests: starts the double as a child process and drives it.

        rt = Client()                  # or Client("--max-payload", "100")
        rt.address                     # for AWS_LAMBDA_RUNTIME_API
        ids = rt.enqueue({"event": {...}})
        res = rt.wait(1)               # the results once one is recorded
        rt.shutdown(); rt.close()
    """

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE)
        try:
            self.port = read_port(self.proc, 30, "the runtime API double")
        except RuntimeError:
            self.close()
            raise
        self.address = "127.0.0.1:%d" % self.port

    def call(self, method, what, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request("http://%s/__control/%s" % (self.address, what),
                                     data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def enqueue(self, *items):
        status, ans = self.call("POST", "enqueue", list(items))
        if status != 200:
            raise RuntimeError("enqueue: %s" % ans)
        return ans["request_ids"]

    def results(self):
        return self.call("GET", "results")[1]

    def wait(self, count, timeout=10):
        """The results once count are recorded (or whatever is there on timeout)."""
        return self.call("POST", "wait", {"count": count, "timeout": timeout},
                         timeout=timeout + 10)[1]

    def drop(self, count=1, path="next"):
        self.call("POST", "drop", {"count": count, "path": path})

    def set(self, **kw):
        self.call("POST", "set", kw)

    def shutdown(self):
        self.call("POST", "shutdown", {})

    def close(self):
        stop_process(self.proc)
        self.proc.stdout.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--events", help="a JSON list of items to queue at start")
    ap.add_argument("--max-payload", type=int, default=DEFAULT_MAX_PAYLOAD)
    args = ap.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.state = State(args.max_payload)
    if args.events:
        with open(args.events, encoding="utf-8") as f, server.state.cond:
            server.state.enqueue(json.load(f))
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
