#!/usr/bin/python3
"""Strict host key checking end to end, with real OpenSSH on both sides.

One real sshd per "instance" (127.0.0.2 and 127.0.0.3, each with its own
host keys and SetEnv INSTANCE=<its id>), the AWS double whose fixture has
those two instances in one environment with each sshd's public host keys in
its console output, build/ebssh-api on 127.0.0.1, and ssh -F with

    ProxyCommand      build/ebssh-proxy %h %p
    KnownHostsCommand build/ebssh-proxy --known-hosts %H
    StrictHostKeyChecking yes, UserKnownHostsFile /dev/null

Checks: ssh reaches the right instance for each alias (with ssh's
"[alias]:port" %H and the plain alias), scp too; when an instance's console
shows another instance's keys, or no keys, ssh refuses ("Host key
verification failed") and runs nothing; after a replacement (new instance,
new keys, the same IP reused, indexes shifted) ssh trusts the new instance
through the service alone. Needs root (sshd), OpenSSH and the two binaries.
Every process started here dies with the test (PR_SET_PDEATHSIG, and
terminate at the end). Prints TAP."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ["EBSSH_BUILD"]
API = os.path.join(BUILD, "ebssh-api")
PROXY = os.path.join(BUILD, "ebssh-proxy")
SSHD = "/usr/sbin/sshd"
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from api_server import ApiServer  # noqa: E402
from child import die_with_parent, sanitizer_clean, stop_process  # noqa: E402
from harness import AwsDouble  # noqa: E402
from route_cases import aws_env  # noqa: E402
from sshd import free_common_port  # noqa: E402
from tap import Tap  # noqa: E402

API_KEY = "e2e-hostkeys-api-key-0123456789"
ENV = "e2e-env"
IDS = ["i-0e2e00000000000a1", "i-0e2e00000000000b2", "i-0e2e00000000000c3"]
IPS = ["127.0.0.2", "127.0.0.3"]
REFUSED = "Host key verification failed"


def keygen(path, kind):
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "root@" + os.path.basename(path),
                    "-f", path], check=True, stdin=subprocess.DEVNULL)
    with open(path + ".pub") as f:
        return f.read().strip()


class Sshd:
    """One instance: sshd -D -f CONFIG on ip:port with fresh host keys."""

    def __init__(self, tmp, name, ip, port, instance_id, authorized):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.ip, self.port, self.instance_id = ip, port, instance_id
        self.pubs = [keygen(os.path.join(self.dir, "ssh_host_%s_key" % k), k)
                     for k in ("ecdsa", "ed25519")]
        cfg = os.path.join(self.dir, "sshd_config")
        with open(cfg, "w") as f:
            f.write("ListenAddress %s:%d\n" % (ip, port))
            for k in ("ecdsa", "ed25519"):
                f.write("HostKey %s/ssh_host_%s_key\n" % (self.dir, k))
            f.write("AuthorizedKeysFile %s\nPidFile %s/sshd.pid\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                    "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
                    "SetEnv INSTANCE=%s\nSubsystem sftp /usr/lib/openssh/sftp-server\n"
                    "LogLevel ERROR\n" % (authorized, self.dir, instance_id))
        self.log = open(os.path.join(self.dir, "sshd.log"), "w")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", cfg], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     preexec_fn=lambda: die_with_parent(signal.SIGKILL))
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection((ip, port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("sshd on %s:%d did not start: %s" %
                                       (ip, port, open(self.log.name).read()))
                time.sleep(0.05)

    def stop(self):
        stop_process(self.proc)
        self.log.close()


def instance(iid, ip, launch, host_keys, state="running"):
    return {"id": iid, "state": state, "launch_time": launch, "public_ip": ip if state == "running" else None,
            "private_ip": "10.0.9.%d" % (IDS.index(iid) + 10), "az": "us-east-1a",
            "tags": {"elasticbeanstalk:environment-name": ENV, "Name": ENV},
            "host_keys": host_keys}


class World:
    def __init__(self, tmp):
        self.tmp = tmp
        self.home = os.path.join(tmp, "home")
        os.makedirs(self.home, mode=0o700)
        self.key = os.path.join(tmp, "id_ed25519")
        keygen(self.key, "ed25519")
        self.authorized = os.path.join(tmp, "authorized_keys")
        shutil.copy(self.key + ".pub", self.authorized)
        self.port = free_common_port(IPS)
        self.sshd = [Sshd(tmp, "a", IPS[0], self.port, IDS[0], self.authorized),
                     Sshd(tmp, "b", IPS[1], self.port, IDS[1], self.authorized)]
        self.fixture = [instance(IDS[0], IPS[0], "2024-05-01T09:30:00.000Z", self.sshd[0].pubs),
                        instance(IDS[1], IPS[1], "2024-05-01T09:31:00.000Z", self.sshd[1].pubs)]
        self.aws = AwsDouble().start()
        self.aws.set_fixture(self.fixture)
        self.api = ApiServer(["--listen", "127.0.0.1:0", "--api-key", API_KEY], aws_env(self.aws))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("EBSSH_", "XDG_"))}
        self.env.update({"HOME": self.home, "EBSSH_ENDPOINT": self.api.url,
                         "EBSSH_API_KEY": API_KEY, "NO_PROXY": "127.0.0.1", "SHELL": "/bin/sh"})
        common = ("    StrictHostKeyChecking yes\n    UserKnownHostsFile /dev/null\n"
                  "    GlobalKnownHostsFile /dev/null\n    UpdateHostKeys no\n    CheckHostIP no\n"
                  "    BatchMode yes\n    IdentitiesOnly yes\n    IdentityFile %s\n"
                  "    User root\n    ConnectTimeout 20\n    LogLevel ERROR\n" % self.key)
        # ssh's own port: %H is "[alias]:port", the proxy connects to %p.
        self.cfg_port = os.path.join(tmp, "ssh_config_port")
        with open(self.cfg_port, "w") as f:
            f.write("Host %s*\n    Port %d\n    ProxyCommand %s --cache-ttl 0 %%h %%p\n"
                    "    KnownHostsCommand %s --cache-ttl 0 --known-hosts %%H\n%s"
                    % (ENV, self.port, PROXY, PROXY, common))
        # ssh thinks port 22 (%H is the bare alias); the proxy is told the real one.
        self.cfg_plain = os.path.join(tmp, "ssh_config_plain")
        with open(self.cfg_plain, "w") as f:
            f.write("Host %s*\n    ProxyCommand %s --cache-ttl 0 %%h %d\n"
                    "    KnownHostsCommand %s --cache-ttl 0 --known-hosts %%H\n%s"
                    % (ENV, PROXY, self.port, PROXY, common))

    def ssh(self, alias, command, cfg=None):
        p = subprocess.run(["ssh", "-F", cfg or self.cfg_port, alias, command], env=self.env,
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def known_hosts(self, host):
        p = subprocess.run([PROXY, "--cache-ttl", "0", "--known-hosts", host], env=self.env,
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def set_console(self, iid, host_keys):
        self.aws.control("console", {"instance_id": iid, "host_keys": host_keys})

    def stop(self):
        rc, log = self.api.stop(), self.api.stderr()
        self.aws.stop()
        for s in self.sshd:
            s.stop()
        return rc, log


def bare(pubs):
    return ["%s %s" % tuple(p.split()[:2]) for p in pubs]


def test_reach(t, w):
    for alias, cfg, want in (("%s1" % ENV, w.cfg_port, IDS[0]), ("%s2" % ENV, w.cfg_port, IDS[1]),
                             ("%s.2" % ENV, w.cfg_port, IDS[1]), (ENV, w.cfg_port, IDS[0]),
                             ("%s1" % ENV, w.cfg_plain, IDS[0]), ("%s2" % ENV, w.cfg_plain, IDS[1])):
        rc, out, err = w.ssh(alias, "echo $INSTANCE", cfg)
        t.ok(rc == 0 and out == want + "\n",
             "ssh %s (%s) reaches %s, its host key checked strictly"
             % (alias, "[alias]:port" if cfg == w.cfg_port else "plain alias", want), (rc, out, err))


def test_known_hosts_lines(t, w):
    host = "[%s1]:%d" % (ENV, w.port)
    rc, out, err = w.known_hosts(host)
    want = "".join("%s %s\n" % (host, k) for k in bare(w.sshd[0].pubs))
    t.ok(rc == 0 and out == want, "--known-hosts prints sshd's real host keys for ssh's %H",
         (rc, out, err))


def test_scp(t, w):
    src = os.path.join(w.tmp, "payload")
    with open(src, "w") as f:
        f.write("hello instance 2\n")
    dst = os.path.join(w.tmp, "copied")
    p = subprocess.run(["scp", "-q", "-F", w.cfg_port, src, "%s2:%s" % (ENV, dst)], env=w.env,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    t.ok(p.returncode == 0 and open(dst).read() == "hello instance 2\n",
         "scp through the same entry", (p.returncode, p.stderr))


def test_other_keys_refused(t, w):
    marker = os.path.join(w.tmp, "ran-on-1")
    w.set_console(IDS[0], w.sshd[1].pubs)  # instance 1's console shows instance 2's keys
    rc, out, err = w.ssh("%s1" % ENV, "touch %s; echo $INSTANCE" % marker)
    t.ok(rc == 255 and out == "" and REFUSED in err and not os.path.exists(marker),
         "the console shows another key: ssh refuses, nothing runs", (rc, out, err))
    rc, out, err = w.ssh("%s1" % ENV, "echo $INSTANCE", w.cfg_plain)
    t.ok(rc == 255 and REFUSED in err, "the same with the plain alias", (rc, out, err))
    w.set_console(IDS[0], None)  # no keys printed yet
    rc, out, err = w.ssh("%s1" % ENV, "touch %s" % marker)
    # ebssh-proxy --known-hosts exits 3 with nothing printed; ssh (9.2) stops
    # at "KnownHostsCommand failed" (its first call, for the algorithm order).
    t.ok(rc == 255 and (REFUSED in err or "KnownHostsCommand failed" in err) and
         "no SSH host keys yet" in err and not os.path.exists(marker),
         "a console without keys: ssh refuses, and says why", (rc, out, err))
    w.set_console(IDS[0], w.sshd[0].pubs[1:])  # only the Ed25519 key: still the right host
    rc, out, err = w.ssh("%s1" % ENV, "echo $INSTANCE")
    t.ok(rc == 0 and out == IDS[0] + "\n", "one of the host's keys is enough", (rc, out, err))
    w.set_console(IDS[0], w.sshd[0].pubs)
    rc, out, err = w.ssh("%s1" % ENV, "echo $INSTANCE")
    t.ok(rc == 0 and out == IDS[0] + "\n", "the right keys again: ssh connects", (rc, out, err))


def test_replacement(t, w):
    # Instance 1 terminates; a new instance gets the same IP, with new host keys.
    w.sshd[0].stop()
    w.sshd[0] = Sshd(w.tmp, "c", IPS[0], w.port, IDS[2], w.authorized)
    old = w.fixture[0]
    w.fixture = [instance(IDS[0], IPS[0], old["launch_time"], old["host_keys"], "terminated"),
                 w.fixture[1],
                 instance(IDS[2], IPS[0], "2024-05-02T08:00:00.000Z", w.sshd[0].pubs)]
    w.aws.set_fixture(w.fixture)
    got = [w.ssh(a, "echo $INSTANCE") for a in ("%s1" % ENV, "%s2" % ENV)]
    t.ok([g[0] for g in got] == [0, 0] and [g[1] for g in got] == [IDS[1] + "\n", IDS[2] + "\n"],
         "after a replacement: indexes shift and the new instance is trusted through the service",
         got)
    # An impostor at the reused IP with the old instance's keys is not.
    w.set_console(IDS[2], old["host_keys"])
    rc, out, err = w.ssh("%s2" % ENV, "echo $INSTANCE")
    t.ok(rc == 255 and REFUSED in err, "the new instance's IP answering with other keys: refused",
         (rc, out, err))
    w.set_console(IDS[2], w.sshd[0].pubs)


def main():
    t = Tap()
    missing = [p for p in (API, PROXY, SSHD) if not os.access(p, os.X_OK)] + \
        [p for p in ("ssh", "scp", "ssh-keygen") if not shutil.which(p)]
    if missing or os.geteuid() != 0:
        t.skip("host keys end to end", "needs root and %s" % (missing or "OpenSSH"))
        return t.done()
    os.makedirs("/run/sshd", exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="ebssh-e2e-hostkeys-")
    w = None
    try:
        w = World(tmp)
        for fn in (test_reach, test_known_hosts_lines, test_scp, test_other_keys_refused,
                   test_replacement):
            t.run(fn, w)
    except Exception as e:  # noqa: BLE001 - a setup failure is one failed test
        t.ok(False, "setup", repr(e))
    finally:
        if w:
            rc, log = w.stop()
            t.ok(rc == 0 and sanitizer_clean(log),
                 "ebssh-api stopped cleanly", log[-1500:])
        shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
