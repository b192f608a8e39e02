"""A forward HTTP proxy on 127.0.0.1 for the test suites: CONNECT host:port
(a tunnel, for https://) and absolute-URI requests (GET http://host:port/path,
for http://), each recorded as (method, target) in .requests."""

import socket
import threading
import urllib.parse

from relay import relay


class ForwardProxy:
    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self._accept, daemon=True).start()

    def count(self, method=None):
        with self.lock:
            return sum(1 for m, _ in self.requests if method is None or m == method)

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_head(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return None, b""
            data += chunk
            if len(data) > 65536:
                return None, b""
        head, rest = data.split(b"\r\n\r\n", 1)
        return head.decode("latin-1").split("\r\n"), rest

    def _serve(self, conn):
        conn.settimeout(10)
        try:
            lines, rest = self._read_head(conn)
            if not lines:
                return
            method, target, _ = lines[0].split(" ", 2)
            with self.lock:
                self.requests.append((method, target))
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                back = socket.create_connection((host, int(port)), timeout=10)
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    back.sendall(rest)
            else:
                u = urllib.parse.urlsplit(target)
                if u.scheme != "http" or not u.hostname:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                back = socket.create_connection((u.hostname, u.port or 80), timeout=10)
                path = u.path + ("?" + u.query if u.query else "")
                headers = [h for h in lines[1:] if not h.lower().startswith(("proxy-", "connection:"))]
                head = "\r\n".join(["%s %s HTTP/1.1" % (method, path)] + headers + ["Connection: close", "", ""])
                back.sendall(head.encode("latin-1") + rest)
            relay(conn, back)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    def close(self):
        self.sock.close()
