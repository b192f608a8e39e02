#!/usr/bin/python3
"""ebssh-proxy --jump when ssh goes away first: the proxy's stdout is a pipe
whose reader has closed, as when ssh exits before the instance's answer
arrives. The relay must see EPIPE, end the down direction, send the
channel's EOF when stdin ends and exit 0, not die by SIGPIPE (relay_run
always ignored it; jump_relay now shares that set-up)."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile

ROOT = os.environ.get("EBSSH_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from proxy_fakes import INSTANCE_IP, PROXY, FakeService, Instance  # noqa: E402
from proxy_jump import Bastion, jump_home  # noqa: E402
from sshd import missing_tools  # noqa: E402
from tap import Tap  # noqa: E402


def run_with_closed_stdout(args, env, data):
    """Runs the proxy with stdout a pipe nobody reads; returns (status, stderr)."""
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.Popen([PROXY, *args], stdin=subprocess.PIPE, stdout=w,
                             stderr=subprocess.PIPE, env=env)
    finally:
        os.close(w)
    _, err = p.communicate(data, timeout=60)
    return p.returncode, err.decode(errors="replace")


def test_ssh_gone_first(t, svc, inst, b):
    home = jump_home(b)
    svc.set("/eb/jump-env/ip/1", 200, INSTANCE_IP + "\n")
    args = ("--jump", b.spec(), "--jump-identity", b.user_key, "jump-env", str(inst.port))
    rc, err = run_with_closed_stdout(args, home.env(svc, SSH_AUTH_SOCK=None), b"echo me\n" * 512)
    t.ok(rc != -signal.SIGPIPE, "--jump with ssh gone: not killed by SIGPIPE", (rc, err))
    t.eq((rc, err), (0, ""), "--jump with ssh gone: the relay ends cleanly, exit 0, nothing said")
    t.ok(inst.connections >= 1, "the instance was reached through the bastion", inst.connections)


def main():
    t = Tap()
    if missing_tools():
        t.skip("jump tests", "missing " + ", ".join(missing_tools()))
        return t.done()
    svc = FakeService()
    inst = Instance()
    tmp = tempfile.mkdtemp(prefix="ebssh-jump-pipe-")
    b = Bastion(tmp)
    try:
        t.run(test_ssh_gone_first, svc, inst, b)
    finally:
        b.stop()
        svc.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
