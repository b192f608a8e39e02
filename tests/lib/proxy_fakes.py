"""Doubles for ebssh-proxy's test suites: a fake lookup service on 127.0.0.1
(checks x-api-key, records every request), a TCP echo "instance" on
127.0.0.2, a throw-away HOME, and a runner for build/ebssh-proxy."""

import hashlib
import http.server
import json
import os
import socket
import subprocess
import tempfile
import threading

BUILD = os.environ.get("EBSSH_BUILD", "build")
PROXY = os.path.join(BUILD, "ebssh-proxy")
KEY = "test-key-0123456789abcdef"
INSTANCE_IP = "127.0.0.2"


class FakeService:
    """GET /eb/<env>/ip/<n> (and /asg/...): answers from self.routes, keyed
    by the path with its query; 403 without the right x-api-key; 404 JSON
    for anything unknown. Every request is recorded."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.key = KEY
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with fake.lock:
                    fake.requests.append((self.path, dict(self.headers.items())))
                    route = fake.routes.get(self.path)
                if fake.key is not None and self.headers.get("x-api-key") != fake.key:
                    status, body = 403, json.dumps({"message": "Forbidden"})
                elif route is None:
                    status, body = 404, json.dumps(
                        {"message": "no such environment", "code": "NotFound"}
                    )
                else:
                    status, body = route
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if status == 200 else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", "req-%d" % len(fake.requests))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, path, status, body):
        with self.lock:
            self.routes[path] = (status, body)

    def count(self, path=None):
        with self.lock:
            return sum(1 for p, _ in self.requests if path is None or p == path)

    def last_headers(self):
        with self.lock:
            return {k.lower(): v for k, v in self.requests[-1][1].items()}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Instance:
    """A TCP listener on 127.0.0.2: echoes what it reads; at EOF from the
    client it sends "bye\\n" and closes (so a half-close is visible)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((INSTANCE_IP, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.echo, args=(conn,), daemon=True).start()

    @staticmethod
    def echo(conn):
        with conn:
            while True:
                data = conn.recv(1 << 20)
                if not data:
                    break
                conn.sendall(data)
            conn.sendall(b"bye\n")


def free_port(host):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Home:
    """A fresh HOME with its own XDG config and cache directories."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ebssh-proxy-home-")
        self.config = os.path.join(self.dir, "config")
        self.cache = os.path.join(self.dir, "cache")

    def env(self, svc, **extra):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.dir,
            "XDG_CONFIG_HOME": self.config,
            "XDG_CACHE_HOME": self.cache,
            "EBSSH_ENDPOINT": svc.url if svc else "",
            "EBSSH_API_KEY": KEY,
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def write_config(self, text, mode=0o600):
        os.makedirs(os.path.join(self.config, "ebssh"), exist_ok=True)
        path = os.path.join(self.config, "ebssh", "config")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def cache_file(self, endpoint, name, index, kind="eb", address="public"):
        material = "ebssh-cache-key 1\n%s\n%s\n%s\n%d\n%s" % (endpoint, kind, name, index, address)
        key = hashlib.sha256(material.encode()).hexdigest()
        return os.path.join(self.cache, "ebssh", key)


def run(home, svc, *args, input=b"", env=None, timeout=30, **extra):
    proc = subprocess.run(
        [PROXY, *args],
        input=input,
        env=env if env is not None else home.env(svc, **extra),
        capture_output=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


