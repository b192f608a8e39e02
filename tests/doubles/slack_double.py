#!/usr/bin/python3
"""A Slack double for the tests: an HTTP server on loopback that takes the
JSON posts ebssh sends to incoming webhooks and to a slash command's
response_url, and records them.

  slack_double.py [--port 0]        prints "PORT <n>" (flushed), then serves

Any POST outside /__control/ is a post: recorded with its path, headers
and body (parsed as JSON when it is), answered 200 "ok" as Slack does, or
by the next queued fault:
  429:N            429 "rate_limited" with Retry-After: N
  429              429 without Retry-After
  500 / 503        that status, "internal_error"
  error:STATUS:TEXT that status and body
  reset            the connection closed with an RST, no answer
A post that is not JSON, or JSON without "text", "blocks" or "attachments",
is answered 400 "invalid_payload" (and recorded) as Slack does; one whose
text is over 40000 characters 400 "msg_too_long".

Control (never recorded):
  GET    /__control/posts    [{"path", "body" (parsed) or "raw", "status", "content_type", "time"}]
  DELETE /__control/posts    forgets them
  POST   /__control/faults   {"faults": ["429:1", "500"]}, one used per post
  GET    /__control/health   {"ok": true}

From a test: `with SlackDouble() as slack: ... slack.url ... slack.posts()`.
"""

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from child import die_with_parent, read_port, serve_until_signal, stop_process

MAX_BODY = 4 * 1024 * 1024
TEXT_LIMIT = 40000


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.posts = []
        self.faults = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "slack-double"

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("too large")
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, body, ctype="text/plain; charset=utf-8", headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.server.state
        if self.path == "/__control/health":
            return self._send(200, json.dumps({"ok": True}), "application/json")
        if self.path == "/__control/posts":
            with st.lock:
                return self._send(200, json.dumps(st.posts), "application/json")
        return self._send(404, "no_service")

    def do_DELETE(self):
        st = self.server.state
        if self.path == "/__control/posts":
            with st.lock:
                st.posts = []
            return self._send(200, json.dumps({"ok": True}), "application/json")
        return self._send(404, "no_service")

    def do_POST(self):
        st = self.server.state
        try:
            raw = self._body()
        except ValueError:
            self.close_connection = True
            return self._send(413, "too large")
        if self.path == "/__control/faults":
            try:
                faults = json.loads(raw)["faults"]
                for f in faults:
                    _check_fault(f)
            except (ValueError, KeyError, TypeError) as e:
                return self._send(400, json.dumps({"error": str(e)}), "application/json")
            with st.lock:
                st.faults.extend(faults)
            return self._send(200, json.dumps({"queued": len(faults)}), "application/json")
        entry = {
            "path": self.path,
            "content_type": self.headers.get("Content-Type"),
            "user_agent": self.headers.get("User-Agent"),
            "time": time.time(),
            "status": None,
        }
        try:
            entry["body"] = json.loads(raw)
        except ValueError:
            entry["raw"] = raw.decode("utf-8", "replace")
        with st.lock:
            fault = st.faults.pop(0) if st.faults else None
            st.posts.append(entry)
        if fault == "reset":
            entry["status"] = "reset"
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return None
        if fault is not None:
            if fault.startswith("429"):
                hdrs = [("Retry-After", fault.split(":", 1)[1])] if ":" in fault else []
                entry["status"] = 429
                return self._send(429, "rate_limited", headers=hdrs)
            if fault.startswith("error:"):
                _, status, text = fault.split(":", 2)
                entry["status"] = int(status)
                return self._send(int(status), text)
            entry["status"] = int(fault)
            return self._send(int(fault), "internal_error")
        body = entry.get("body")
        if not isinstance(body, dict) or not any(k in body for k in ("text", "blocks", "attachments")):
            entry["status"] = 400
            return self._send(400, "invalid_payload")
        if isinstance(body.get("text"), str) and len(body["text"]) > TEXT_LIMIT:
            entry["status"] = 400
            return self._send(400, "msg_too_long")
        entry["status"] = 200
        return self._send(200, "ok")


def _check_fault(f):
    if not isinstance(f, str):
        raise ValueError("a fault is a string")
    if f in ("reset", "429", "500", "503"):
        return
    if f.startswith("429:") and f[4:].strip():
        return
    if f.startswith("error:") and len(f.split(":", 2)) == 3 and f.split(":", 2)[1].isdigit():
        return
    raise ValueError(f"unknown fault {f!r}")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr):
        super().__init__(addr, Handler)
        self.state = State()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Slack webhook / response_url double")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    return serve_until_signal(Server((args.host, args.port)))


# -- for tests ---------------------------------------------------------------


class SlackDouble:
    """The double as a child process of the test; stopped with the `with`."""

    def __init__(self, start_timeout=15):
        self.proc = None
        self.url = None
        self.start_timeout = start_timeout

    def start(self):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-B", os.path.abspath(__file__), "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            preexec_fn=die_with_parent,
        )
        try:
            self.url = f"http://127.0.0.1:{read_port(self.proc, self.start_timeout, 'the Slack double')}"
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        stop_process(proc)
        proc.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _call(self, method, path, obj=None):
        data = None if obj is None else json.dumps(obj).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=10) as resp:
            return json.loads(resp.read())

    def posts(self):
        return self._call("GET", "/__control/posts")

    def clear(self):
        return self._call("DELETE", "/__control/posts")

    def queue_faults(self, faults):
        return self._call("POST", "/__control/faults", {"faults": list(faults)})


if __name__ == "__main__":
    sys.exit(main())
