"""End to end with real OpenSSH: three sshd "instances" on 127.0.0.2-4, the AWS
double holding an Elastic Beanstalk environment whose running instances are
they (oldest first), build/ebssh-api in front of it, and ssh, scp and rsync
going through build/ebssh-proxy as their ProxyCommand. Each instance has its
own host key and known_hosts names it under its aliases with
StrictHostKeyChecking yes, so reaching the wrong instance fails.

Covered: aliases (NAMEN, NAME.N, NAME, --index), scp of 40 MiB both ways,
rsync -e ssh of a tree both ways, `ssh host cat` with stdin EOF, a download
with stdin at EOF, --fdpass with ProxyUseFdpass (no relay process left),
the service down with and without a cached answer, a burst of parallel ssh
costing one lookup, and --jump through a fourth sshd as bastion to private
addresses (proxy_jump.py tests --jump's own cases against an echo server)."""

import concurrent.futures
import hashlib
import os
import signal
import subprocess
import sys
import time

ROOT = os.environ.get("EBSSH_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from sshd import BUILD, Fleet, LookupService, demo_fixture, missing_tools  # noqa: E402
from tap import Tap, diag  # noqa: E402

ENV = "myenv-demo"
PRIV = "myenv-priv"
MIB = 1 << 20


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    return h.hexdigest()


def random_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MIB)
            f.write(os.urandom(n))
            left -= n
    return sha256_file(path)


class Ctx:
    """The fleet, the service and the ssh_config the cases share."""

    def __init__(self, fleet, svc):
        self.fleet = fleet
        self.svc = svc
        self.dir = fleet.dir
        self.env = fleet.env()
        self.cfg = fleet.write_ssh_config(ENV + "*", self.proxy())

    def proxy(self, *extra, ttl=30):
        return self.fleet.proxy_command(self.svc.url, cache_ttl=ttl, api_key=self.svc.key, extra=extra)

    def ssh(self, *args, input=None, stdin=None, timeout=60, cfg=None):
        """ssh -F cfg ARGS; returns (rc, stdout bytes, stderr text)."""
        p = subprocess.run(["ssh", "-F", cfg or self.cfg, *args], input=input,
                           stdin=stdin if input is None else None, capture_output=True,
                           env=self.env, timeout=timeout)
        return p.returncode, p.stdout, p.stderr.decode(errors="replace")

    def run(self, argv, timeout=120):
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=self.env, timeout=timeout)
        return p.returncode, p.stderr.decode(errors="replace")

    def lookups(self, path):
        return sum(1 for r in self.svc.lookups() if r["path"] == path)


def test_aliases(t, c):
    ids = c.fleet.ids
    for alias, want, what in [
        (ENV + "2", ids[1], "NAMEN: ssh myenv-demo2 reaches instance 2"),
        (ENV + ".3", ids[2], "NAME.N: ssh myenv-demo.3 reaches instance 3"),
        (ENV, ids[0], "NAME: ssh myenv-demo reaches the oldest instance"),
    ]:
        rc, out, err = c.ssh(alias, "echo $INSTANCE")
        t.eq((rc, out.decode(), err), (0, want + "\n", ""), what)

    rc, out, err = c.ssh("-o", "ProxyCommand=" + c.proxy("--index", "2"), "-o", "HostKeyAlias=inst2",
                         ENV, "echo $INSTANCE")
    t.eq((rc, out.decode(), err), (0, ids[1] + "\n", ""), "--index 2: instance 2 whatever the alias says")

    rc, out, err = c.ssh("-o", "HostKeyAlias=inst1", ENV + "2", "echo $INSTANCE")
    t.ok(rc == 255 and out == b"" and "Host key verification failed" in err,
         "instance 2 does not pass for instance 1: its host key is refused", err)

    rc, out, err = c.ssh(ENV + "4", "true")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    t.ok(rc == 255 and lines and lines[0].startswith("ebssh-proxy: ") and "404" in err,
         "an index past the end: ebssh-proxy's one-line 404, ssh fails", err)
    c.ssh(ENV + "4", "true")
    t.eq(c.lookups("/eb/%s/ip/4" % ENV), 2, "a 404 is not cached: the next ssh asks again")


def test_scp(t, c):
    src = os.path.join(c.dir, "scp-src.bin")
    want = random_file(src, 40 * MIB)
    remote = os.path.join(c.dir, "scp-remote.bin")
    back = os.path.join(c.dir, "scp-back.bin")
    start = time.monotonic()
    rc, err = c.run(["scp", "-q", "-F", c.cfg, src, "%s.3:%s" % (ENV, remote)])
    up = time.monotonic() - start
    t.ok(rc == 0 and os.path.exists(remote) and sha256_file(remote) == want,
         "scp 40 MiB up to instance 3: sha256 intact (%.1f s)" % up, err)
    start = time.monotonic()
    rc, err = c.run(["scp", "-q", "-F", c.cfg, "%s3:%s" % (ENV, remote), back])
    down = time.monotonic() - start
    t.ok(rc == 0 and os.path.exists(back) and sha256_file(back) == want,
         "scp 40 MiB down from instance 3: sha256 intact (%.1f s)" % down, err)
    for p in (src, remote, back):
        os.unlink(p)


def tree_digest(root):
    """{relative path: sha256 or "->target" or "dir"} of everything under root."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = "->" + os.readlink(p)
            elif os.path.isdir(p):
                out[rel] = "dir"
            else:
                out[rel] = sha256_file(p) + " %o" % (os.stat(p).st_mode & 0o777)
    return out


def test_rsync(t, c):
    src = os.path.join(c.dir, "rs-src")
    os.makedirs(os.path.join(src, "a", "b", "c"))
    os.makedirs(os.path.join(src, "empty-dir"))
    for i in range(30):
        random_file(os.path.join(src, "a", "f%02d" % i), (i * 7919) % 65536)
    random_file(os.path.join(src, "a", "b", "c", "big.bin"), 6 * MIB)
    open(os.path.join(src, "empty"), "w").close()
    os.chmod(os.path.join(src, "a", "f03"), 0o640)
    os.symlink("a/b/c/big.bin", os.path.join(src, "link"))
    want = tree_digest(src)
    ssh = "ssh -F " + c.cfg
    remote = os.path.join(c.dir, "rs-remote")
    back = os.path.join(c.dir, "rs-back")
    rc, err = c.run(["rsync", "-a", "-e", ssh, src + "/", "%s2:%s/" % (ENV, remote)])
    t.ok(rc == 0 and tree_digest(remote) == want, "rsync -a -e 'ssh -F cfg' a tree up to instance 2", err)
    rc, err = c.run(["rsync", "-a", "-e", ssh, "%s.2:%s/" % (ENV, remote), back + "/"])
    t.ok(rc == 0 and tree_digest(back) == want, "rsync the tree back down: identical", err)
    random_file(os.path.join(src, "a", "f05"), 1234)
    with open(os.path.join(src, "a", "b", "c", "big.bin"), "r+b") as f:
        f.seek(3 * MIB)
        f.write(b"changed in the middle")
    # rsync's quick check compares size and mtime: a same-size edit within the
    # second of the first copy must still look changed, as any real edit does.
    big = os.path.join(src, "a", "b", "c", "big.bin")
    st = os.stat(big)
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
    rc, err = c.run(["rsync", "-a", "-e", ssh, src + "/", "%s2:%s/" % (ENV, remote)])
    t.ok(rc == 0 and tree_digest(remote) == tree_digest(src), "rsync again after changes: the delta applied",
         err)


def test_stdin_eof(t, c):
    data = os.urandom(5 * MIB + 123)
    rc, out, err = c.ssh(ENV + "2", "cat", input=data)
    t.ok(rc == 0 and out == data, "ssh host cat: 5 MiB, then stdin EOF; all of it back, exit 0 (%d bytes)"
         % len(out), err)

    rc, out, err = c.ssh(ENV + "2", "cat; echo done-after-eof", input=b"x")
    t.eq((rc, out, err), (0, b"xdone-after-eof\n", ""), "the remote sees EOF and goes on writing")

    rc, out, err = c.ssh(ENV + "3", "cat >/dev/null; exit 7", input=b"y" * MIB)
    t.eq((rc, err), (7, ""), "the remote exit status comes back through the relay")


def test_download_stdin_closed(t, c):
    path = os.path.join(c.dir, "download.bin")
    rc, out, err = c.ssh(ENV + "3", "head -c 20M /dev/urandom | tee %s" % path, stdin=subprocess.DEVNULL)
    ok = rc == 0 and len(out) == 20 * MIB and hashlib.sha256(out).hexdigest() == sha256_file(path)
    t.ok(ok, "download with stdin at EOF (</dev/null): 20 MiB, sha256 as written (%d bytes)" % len(out), err)
    os.unlink(path)

    rc, out, err = c.ssh("-n", ENV + "3", "head -c 3M /dev/zero")
    t.ok(rc == 0 and out == bytes(3 * MIB), "ssh -n: 3 MiB of zeros", err)


def proxy_children(pid):
    """The ebssh-proxy processes whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == pid and comm == "ebssh-proxy":
            out.append(int(d))
    return out


def children_during(c, args):
    """Starts ssh ARGS (its remote command prints "up" and sleeps); returns
    (ebssh-proxy children seen while the session is up, rc, out, err)."""
    p = subprocess.Popen(["ssh", "-F", c.cfg, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=c.env)
    first = p.stdout.readline()
    kids = proxy_children(p.pid) if first == b"up\n" else None
    rest, err = p.communicate(timeout=30)
    return kids, p.returncode, first + rest, err.decode(errors="replace")


def test_fdpass(t, c):
    fd = ["-o", "ProxyCommand=" + c.proxy("--fdpass"), "-o", "ProxyUseFdpass=yes"]
    rc, out, err = c.ssh(*fd, ENV + "3", "echo $INSTANCE")
    t.eq((rc, out.decode(), err), (0, c.fleet.ids[2] + "\n", ""), "--fdpass with ProxyUseFdpass yes: instance 3")

    data = os.urandom(8 * MIB)
    rc, out, err = c.ssh(*fd, ENV + "2", "cat", input=data)
    t.ok(rc == 0 and out == data, "--fdpass: 8 MiB through cat, stdin EOF, intact", err)

    kids, rc, out, err = children_during(c, [*fd, ENV + "2", "echo up; sleep 1; echo $INSTANCE"])
    t.ok(kids == [] and rc == 0 and out.decode() == "up\n%s\n" % c.fleet.ids[1],
         "--fdpass: no ebssh-proxy left while the session runs", (kids, rc, out, err))
    kids, rc, out, err = children_during(c, [ENV + "2", "echo up; sleep 0.3"])
    t.ok(kids and len(kids) == 1 and rc == 0, "(the relay, for contrast, is ssh's child meanwhile)",
         (kids, rc, out, err))


def test_service_down(t, c):
    ids = c.fleet.ids
    rc, out, err = c.ssh(ENV + ".2", "echo $INSTANCE")  # records an answer for .2
    t.eq((rc, out.decode()), (0, ids[1] + "\n"), "a good answer recorded for instance 2")
    status = c.svc.stop_api()
    t.eq(status, 0, "ebssh-api stopped cleanly (SIGTERM, exit 0)")
    try:
        fresh = ["-o", "ProxyCommand=" + c.proxy(ttl=0)]
        rc, out, err = c.ssh(*fresh, ENV + "2", "echo $INSTANCE")
        lines = [ln for ln in err.splitlines() if ln.strip()]
        t.ok(rc == 0 and out.decode() == ids[1] + "\n" and len(lines) == 1
             and lines[0].startswith("ebssh-proxy: ") and "warning" in lines[0],
             "service down, a cached answer: ssh works, one warning line on stderr", err)

        c.fleet.clear_cache()
        rc, out, err = c.ssh(*fresh, ENV + "2", "echo $INSTANCE")
        lines = [ln for ln in err.splitlines() if ln.strip()]
        t.ok(rc == 255 and out == b"" and lines and lines[0].startswith("ebssh-proxy: ")
             and ENV + "2" in lines[0] and "Traceback" not in err,
             "service down, nothing cached: one ebssh-proxy: line naming the alias, ssh fails", err)
        diag("service down: " + (lines[0] if lines else "(nothing on stderr)"))
    finally:
        c.svc.start_api()
    rc, out, err = c.ssh(*fresh, ENV + "2", "echo $INSTANCE")
    t.eq((rc, out.decode(), err), (0, ids[1] + "\n", ""), "service back on its port: asked again, no warning")


def test_burst(t, c):
    c.fleet.clear_cache()
    path = "/eb/%s/ip/3" % ENV
    before = c.lookups(path)

    def one(_):
        return c.ssh(ENV + "3", "echo $INSTANCE")

    rc, out, err = one(0)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(one, range(10)))
    good = sum(1 for r in results if r[0] == 0 and r[1].decode() == c.fleet.ids[2] + "\n")
    n = c.lookups(path) - before
    t.ok(rc == 0 and good == 10 and n == 1,
         "a burst of 1 + 10 parallel ssh to instance 3 costs one lookup (%d ok, %d lookups)" % (good, n),
         [r[2] for r in results if r[0] != 0])

    c.fleet.clear_cache()
    path = "/eb/%s/ip/1" % ENV
    before = c.lookups(path)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: c.ssh(ENV + "1", "true"), range(10)))
    n = c.lookups(path) - before
    t.ok(all(r[0] == 0 for r in results) and n == 1,
         "10 parallel ssh with a cold cache all connect, for one lookup (%d lookups)" % n,
         [r[2] for r in results if r[0] != 0])


def test_jump_private(t, c):
    """--jump through a 4th sshd (127.0.0.5) to the private addresses of an
    environment whose instances have no public IP, listed in reverse."""
    with Fleet(1, first=5, log_level="ERROR") as bastion:
        b = bastion.instances[0]
        ssh_dir = os.path.join(c.fleet.home, ".ssh")
        os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
        with open(os.path.join(ssh_dir, "known_hosts"), "w") as f:
            f.write("[%s]:%d %s\n" % (b.ip, b.port, b.host_pub))
        jump = "%s@%s:%d" % (bastion.user, b.ip, b.port)
        order = list(reversed(c.fleet.instances))
        cfg = c.fleet.write_ssh_config(
            PRIV + "*",
            c.proxy("--address", "private", "--jump", jump, "--jump-identity", bastion.user_key),
            aliases=c.fleet.aliases(PRIV, order))
        ids = c.fleet.ids
        for alias, want, what in [
            (PRIV, ids[2], "the 1st (oldest) private address is 127.0.0.4"),
            (PRIV + "3", ids[0], "the 3rd is 127.0.0.2"),
        ]:
            rc, out, err = c.ssh(alias, "echo $INSTANCE", cfg=cfg)
            t.eq((rc, out.decode(), err), (0, want + "\n", ""), "--jump bastion --address private: " + what)

        data = os.urandom(4 * MIB)
        rc, out, err = c.ssh(PRIV + ".2", "cat", input=data, cfg=cfg)
        t.ok(rc == 0 and out == data, "--jump: 4 MiB through cat and back, stdin EOF", err)

        rc, out, err = c.ssh("-o", "ProxyCommand=" + c.proxy("--jump", jump, "--jump-identity", bastion.user_key),
                             PRIV + "2", "true", cfg=cfg)
        t.ok(rc == 255 and "404" in err, "without --address private the environment has no address: 404", err)
        with open(os.path.join(ssh_dir, "known_hosts"), "w") as f:
            f.write("[%s]:%d %s\n" % (b.ip, b.port, c.fleet.instances[0].host_pub))
        rc, out, err = c.ssh(PRIV + "2", "true", cfg=cfg)
        t.ok(rc == 255 and out == b"" and "ebssh-proxy: " in err and "CHANGED" in err.upper(),
             "a bastion whose key does not match known_hosts: refused", err)


def main():
    t = Tap()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a timeout still tears everything down
    missing = missing_tools()
    for prog in ("ebssh-proxy", "ebssh-api"):
        if not os.access(os.path.join(BUILD, prog), os.X_OK):
            missing.append(os.path.join(BUILD, prog))
    if missing:
        t.skip("ssh through ebssh-proxy", "missing " + ", ".join(missing))
        return t.done()
    started = time.monotonic()
    with Fleet(3) as fleet:
        fixture = demo_fixture(ENV, fleet) + demo_fixture(
            PRIV, list(reversed(fleet.ips)), ids=["i-0e2f%013x" % i for i in (1, 2, 3)], private=True)
        with LookupService(fixture) as svc:
            c = Ctx(fleet, svc)
            for fn in (test_aliases, test_scp, test_rsync, test_stdin_eof, test_download_stdin_closed,
                       test_fdpass, test_burst, test_jump_private, test_service_down):
                t.run(fn, c)
    diag("suite took %.1f s" % (time.monotonic() - started))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
