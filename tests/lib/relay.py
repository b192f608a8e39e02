"""A two-way byte relay between two connected sockets, for the test suites'
loopback forward proxy (fwdproxy.py) and TLS front (tlsfix.py)."""

import socket
import threading


def _pump(src, dst):
    """Copies src to dst until src ends or fails, then shuts both down so
    the other direction's recv() returns too."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(a, b, timeout=10):
    """Relays a <-> b until either side ends, then closes both."""
    back = threading.Thread(target=_pump, args=(b, a), daemon=True)
    back.start()
    _pump(a, b)
    back.join(timeout)
    for s in (a, b):
        s.close()
