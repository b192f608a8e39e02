#!/usr/bin/python3
"""tests/doubles/aws_double.py with TCP_NODELAY on its connections, for the
benches (same flags, same answers).

The double writes an answer's headers and its body in two sends; on a
keep-alive connection Nagle's algorithm then holds the body until the
client's delayed ACK, about 40 ms later, so every request after a
connection's first would take 40 ms more, whoever the client is. The
Runtime API double sets TCP_NODELAY for the same reason."""

import os
import socket
import sys

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

import aws_double  # noqa: E402
from awsdouble import server  # noqa: E402

_setup = server.Handler.setup


def _setup_nodelay(self):
    _setup(self)
    self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


server.Handler.setup = _setup_nodelay

if __name__ == "__main__":
    sys.exit(aws_double.main())
