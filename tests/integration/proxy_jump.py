"""ebssh-proxy --jump through a real OpenSSH sshd on 127.0.0.3 as the bastion
(throw-away host and user keys), to a TCP echo "instance" on 127.0.0.2:
identity file and ssh-agent authentication, unknown, changed and hashed
host keys, a refused key, a channel to a closed port, a large transfer with
half-close, and an idle relay that sleeps."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("EBSSH_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from proxy_fakes import INSTANCE_IP, PROXY, FakeService, Home, Instance, free_port, run  # noqa: E402
from sshd import Fleet, missing_tools  # noqa: E402
from tap import Tap  # noqa: E402

BASTION_IP = "127.0.0.3"


def keygen(path, kind="ed25519"):
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "test", "-f", path], check=True)
    with open(path + ".pub") as f:
        return f.read().split()[:2]  # [type, base64]


def fingerprint(pub_path):
    out = subprocess.run(["ssh-keygen", "-lf", pub_path], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


class Bastion:
    """The bastion: a one-instance sshd fleet (tests/lib/sshd.py) on 127.0.0.3."""

    def __init__(self, tmp):
        self.dir = tmp
        self.fleet = Fleet(1, first=3, log_level="ERROR").start()
        inst = self.fleet.instances[0]
        self.host_key = inst.host_key
        self.host_pub = inst.host_pub.split()
        self.user_key = self.fleet.user_key
        self.other_key = os.path.join(tmp, "other_ed25519")
        keygen(self.other_key)
        self.port = self.fleet.port

    def known_line(self, name=None):
        return "[%s]:%d %s %s\n" % (name or BASTION_IP, self.port, self.host_pub[0], self.host_pub[1])

    def spec(self):
        return "%s@%s:%d" % (self.fleet.user, BASTION_IP, self.port)

    def stop(self):
        self.fleet.stop()


def jump_home(bastion, known=None):
    home = Home()
    os.makedirs(os.path.join(home.dir, ".ssh"), mode=0o700, exist_ok=True)
    with open(os.path.join(home.dir, ".ssh", "known_hosts"), "w") as f:
        f.write(bastion.known_line() if known is None else known)
    return home


def test_identity_and_half_close(t, svc, inst, b):
    home = jump_home(b)
    svc.set("/eb/jump-env/ip/1", 200, INSTANCE_IP + "\n")
    rc, out, err = run(home, svc, "--jump", b.spec(), "--jump-identity", b.user_key, "jump-env",
                       str(inst.port), input=b"hello\n", SSH_AUTH_SOCK=None)
    t.eq((rc, out, err), (0, "hello\nbye\n", ""), "--jump with an identity file: echo, half-close, bye")

    data = os.urandom(8 << 20)
    p = subprocess.Popen([PROXY, "--jump", b.spec(), "--jump-identity", b.user_key, "jump-env",
                          str(inst.port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=home.env(svc, SSH_AUTH_SOCK=None))
    out, err = p.communicate(data, timeout=120)
    t.ok(p.returncode == 0 and out == data + b"bye\n",
         "8 MiB through the bastion intact (%d bytes back)" % len(out), err.decode())


def test_agent(t, svc, inst, b):
    home = jump_home(b)
    sock = os.path.join(b.dir, "agent.sock")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 5
        while not os.path.exists(sock) and time.time() < deadline:
            time.sleep(0.05)
        env = dict(os.environ, SSH_AUTH_SOCK=sock)
        subprocess.run(["ssh-add", "-q", b.user_key], env=env, check=True, capture_output=True)
        svc.set("/eb/jump-env/ip/1", 200, INSTANCE_IP + "\n")
        rc, out, err = run(home, svc, "-v", "--jump", b.spec(), "jump-env", str(inst.port),
                           input=b"agent\n", SSH_AUTH_SOCK=sock)
        t.eq((rc, out), (0, "agent\nbye\n"), "--jump with ssh-agent")
        t.ok("with agent key" in err, "-v says the agent's key was used", err)
    finally:
        agent.terminate()
        agent.wait(timeout=5)


def test_host_keys(t, svc, inst, b):
    svc.set("/eb/jump-env/ip/1", 200, INSTANCE_IP + "\n")
    fp = fingerprint(b.host_key + ".pub")
    args = ("--jump", b.spec(), "--jump-identity", b.user_key, "jump-env", str(inst.port))

    rc, out, err = run(jump_home(b, known=""), svc, *args, SSH_AUTH_SOCK=None)
    t.eq((rc, out), (4, ""), "unknown bastion host key: refused, exit 4")
    t.ok("unknown host key ED25519 " + fp in err and "refused" in err,
         "the error shows the key's fingerprint as ssh-keygen -l does", err)

    other = keygen(os.path.join(b.dir, "impostor_%d" % time.time_ns()))
    changed = "[%s]:%d %s %s\n" % (BASTION_IP, b.port, other[0], other[1])
    rc, out, err = run(jump_home(b, known=changed), svc, *args, SSH_AUTH_SOCK=None)
    t.ok(rc == 4 and "HOST KEY CHANGED" in err and fp in err, "a changed host key: refused, exit 4", err)

    ecdsa = keygen(os.path.join(b.dir, "ecdsa_%d" % time.time_ns()), "ecdsa")
    only_other_type = "[%s]:%d %s %s\n" % (BASTION_IP, b.port, ecdsa[0], ecdsa[1])
    rc, out, err = run(jump_home(b, known=only_other_type), svc, *args, SSH_AUTH_SOCK=None)
    t.ok(rc == 4 and "unknown host key ED25519" in err,
         "a key of another type only: the bastion's key is unknown, refused", err)

    home = jump_home(b)
    kh = os.path.join(home.dir, ".ssh", "known_hosts")
    with open(kh, "w") as f:
        f.write("# comment\n@cert-authority *.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE\n"
                "sk.example.com sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t\n"
                + changed.replace(BASTION_IP, "127.0.0.9") + b.known_line())
    subprocess.run(["ssh-keygen", "-H", "-f", kh], check=True, capture_output=True)
    with open(kh) as f:
        hashed = f.read()
    rc, out, err = run(home, svc, *args, input=b"h\n", SSH_AUTH_SOCK=None)
    t.ok(rc == 0 and out == "h\nbye\n" and "|1|" in hashed,
         "hashed known_hosts among lines libssh2 cannot read: accepted", err)


def test_refusals(t, svc, inst, b):
    home = jump_home(b)
    svc.set("/eb/jump-env/ip/1", 200, INSTANCE_IP + "\n")
    rc, out, err = run(home, svc, "--jump", b.spec(), "--jump-identity", b.other_key, "jump-env",
                       str(inst.port), SSH_AUTH_SOCK=None)
    t.ok(rc == 4 and "no key accepted" in err and "bastion %s port %d" % (BASTION_IP, b.port) in err,
         "a key the bastion does not accept: exit 4, bastion named", err)

    closed = free_port(INSTANCE_IP)
    rc, out, err = run(home, svc, "--jump", b.spec(), "--jump-identity", b.user_key, "jump-env",
                       str(closed), SSH_AUTH_SOCK=None)
    t.ok(rc == 4 and "channel to %s port %d" % (INSTANCE_IP, closed) in err,
         "the instance's port closed: exit 4, address named", err)

    down = free_port(BASTION_IP)
    rc, out, err = run(home, svc, "--jump", "%s:%d" % (BASTION_IP, down), "jump-env", "22",
                       SSH_AUTH_SOCK=None)
    t.ok(rc == 4 and "refused" in err, "the bastion down: exit 4", err)

    for args, what in [
        (["--jump", "", "jump-env", "22"], "empty --jump"),
        (["--jump", "-oProxyCommand=x", "jump-env", "22"], "--jump like an option"),
        (["--jump", "a b", "jump-env", "22"], "--jump with a space"),
        (["--jump", "h:0", "jump-env", "22"], "--jump port 0"),
        (["--jump", "h", "--fdpass", "jump-env", "22"], "--jump with --fdpass"),
        (["--jump-identity", "k", "jump-env", "22"], "--jump-identity alone"),
    ]:
        rc, out, err = run(home, svc, *args)
        t.ok(rc == 2 and err.startswith("ebssh-proxy: "), "usage error, exit 2: " + what, err)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_idle_sleeps(t, svc, inst, b):
    home = jump_home(b)
    svc.set("/eb/jump-env/ip/1", 200, INSTANCE_IP + "\n")
    p = subprocess.Popen([PROXY, "--jump", b.spec(), "--jump-identity", b.user_key, "jump-env",
                          str(inst.port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=home.env(svc, SSH_AUTH_SOCK=None))
    p.stdin.write(b"x")
    p.stdin.flush()
    t.eq(p.stdout.read(1), b"x", "the jump relay is up")
    time.sleep(0.3)
    before = cpu_ticks(p.pid)
    time.sleep(1.0)
    used = cpu_ticks(p.pid) - before
    t.ok(used <= 2, "an idle jump relay sleeps (%d ticks of CPU in 1 s)" % used)
    p.stdin.close()
    rest = p.stdout.read()
    p.wait(timeout=10)
    t.ok(p.returncode == 0 and rest == b"bye\n", "and ends cleanly at stdin EOF", p.stderr.read())


def main():
    t = Tap()
    if missing_tools():
        t.skip("jump tests", "missing " + ", ".join(missing_tools()))
        return t.done()
    svc = FakeService()
    inst = Instance()
    tmp = tempfile.mkdtemp(prefix="ebssh-jump-")
    b = Bastion(tmp)
    try:
        for fn in (test_identity_and_half_close, test_agent, test_host_keys, test_refusals,
                   test_idle_sleeps):
            t.run(fn, svc, inst, b)
    finally:
        b.stop()
        svc.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
