"""build/ebssh-api as a child process of a test.

    api = ApiServer(["--listen", "127.0.0.1:0", "--api-key", KEY], aws_env(aws))
    ... api.url, api.host, api.port ...
    rc = api.stop()                 # SIGTERM; its exit status, or "timeout"
    text = api.stderr()             # everything it wrote on stderr

The port comes from its "listening on HOST:PORT" line (IPv6 hosts in
brackets). Its stderr goes to a temporary file, or is appended to log_path
(stderr() then reads what this process added). It dies with the test
(PR_SET_PDEATHSIG).
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

from child import die_with_parent, stop_process  # noqa: E402

_LISTENING = re.compile(r"listening on (\[[0-9a-f:.]+\]|[0-9.]+):(\d+)")


def api_path():
    return os.path.join(os.environ.get("EBSSH_BUILD", os.path.join(ROOT, "build")), "ebssh-api")


class ApiServer:
    def __init__(self, args, env, timeout=10, log_path=None):
        self.log = open(log_path, "ab+") if log_path else tempfile.TemporaryFile()
        self.log.seek(0, os.SEEK_END)
        self._start = self.log.tell()
        self.proc = subprocess.Popen([api_path(), *args], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.log,
                                     preexec_fn=die_with_parent)
        self.host = self.port = self.url = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = _LISTENING.search(self.stderr())
            if m:
                self.host, self.port = m.group(1).strip("[]"), int(m.group(2))
                self.url = "http://%s:%d" % (m.group(1), self.port)
                return
            time.sleep(0.02)
        stop_process(self.proc, sig=signal.SIGKILL)
        raise RuntimeError("ebssh-api did not start: %s" % self.stderr())

    def stderr(self):
        self.log.seek(self._start)
        return self.log.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        return stop_process(self.proc, timeout, sig, timed_out="timeout")
