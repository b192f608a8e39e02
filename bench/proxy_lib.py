"""Shared by bench/proxy_relay.py and bench/proxy_connect.py: building what
they need, the stand-ins (tests/lib/sshd.py's loopback sshd fleet and the
lookup service, ebssh-api over the AWS double), the ProxyCommands compared,
and a description of the machine for docs/benchmarks.md.

The blog's one-liner, which ebssh-proxy replaces, is reproduced as a shell
ProxyCommand: curl asks the lookup service for the address, perl splits
the alias (`bench1` -> `bench/ip/1`), and a second ssh connection to
localhost's sshd forwards the stream with -W. "localhost" is a real sshd
on 127.0.0.1 (a one-instance fleet). On a laptop the inner ssh would find
its key and known host in ~/.ssh; ssh takes ~ from the password database,
not $HOME, so here `-F FILE` names a throw-away config instead: the only
change to the one-liner.
"""

import ctypes
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.abspath(os.environ.get("EBSSH_BUILD", os.path.join(ROOT, "build")))
os.environ["EBSSH_BUILD"] = BUILD  # read by tests/lib/sshd.py at import
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from sshd import Fleet, LookupService, demo_fixture  # noqa: E402,F401

PROXY = os.path.join(BUILD, "ebssh-proxy")
TOOLS = os.path.join(BUILD, "bench")
ENV_NAME = "bench"  # the Elastic Beanstalk environment of the stand-in instance
ALIAS = "bench1"  # its first instance, as ssh's %h
INSTANCE_IP = "127.0.0.2"

# The blog's ProxyCommand; {url} and {key} are the lookup service's, {cfg}
# the ssh_config describing localhost (see above).
ONE_LINER = (
    "ssh -F {cfg} -A localhost -W $(curl -s -H 'x-api-key: {key}' {url}/eb/"
    "$(perl -e '$ARGV[0] =~ /^(.*?)(\\d*)$/; print \"$1/ip/\", $2 || 1' %h)):%p"
)


def die_with_parent():
    """preexec_fn: the child gets SIGTERM when this script dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def ensure_built():
    """build/ebssh-proxy and build/ebssh-api (make), and the tools of
    bench/tools/ (cc, into <build>/bench/)."""
    if not all(os.access(os.path.join(BUILD, p), os.X_OK) for p in ("ebssh-proxy", "ebssh-api")):
        log("building ebssh (make)")
        subprocess.run(["make", "-s", "-C", ROOT, "BUILD=" + BUILD, "-j2",
                        os.path.join(BUILD, "ebssh-proxy"), os.path.join(BUILD, "ebssh-api")],
                       check=True)
    os.makedirs(TOOLS, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    builds = [(src[:-2], src, []) for src in sorted(os.listdir(os.path.join(HERE, "tools")))
              if src.startswith("proxy_") and src.endswith(".c")]
    # proxy_empty once more, linked with the libraries ebssh-proxy loads.
    builds.append(("proxy_empty_libs", "proxy_empty.c",
                   ["-Wl,--no-as-needed"] + ["-l:" + n for n in needed(PROXY) if not n.startswith("libc.")]))
    for name, src, libs in builds:
        path = os.path.join(HERE, "tools", src)
        out = os.path.join(TOOLS, name)
        if os.path.exists(out) and os.path.getmtime(out) >= max(os.path.getmtime(path),
                                                                 os.path.getmtime(PROXY)):
            continue
        subprocess.run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out, path] + libs,
                       check=True)


def needed(binary):
    """The DT_NEEDED sonames of an ELF file (readelf)."""
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


class Localhost:
    """sshd on 127.0.0.1 playing localhost for `ssh localhost -W`; config is
    an ssh_config for it (key, port, known_hosts); pid its listener's."""

    def __init__(self):
        self.fleet = Fleet(1, first=1, ids=["localhost"], log_level="ERROR").start()
        self.config = self.fleet.write_ssh_config("localhost", "none", names=["localhost"])
        self.pid = self.fleet.instances[0].pid

    def stop(self):
        self.fleet.stop()


def one_liner(url, key, cfg):
    return ONE_LINER.format(url=url, key=key, cfg=cfg)


def expand(command, host, port):
    """What ssh makes of a ProxyCommand's %h and %p."""
    return command.replace("%h", host).replace("%p", str(port))


def children_cpu(pid):
    """CPU seconds (user+sys) of pid and the children it has reaped."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def first_line(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except OSError:
        return "missing"
    text = (p.stdout + p.stderr).strip()
    return text.splitlines()[0] if text else "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine():
    """Lines describing this run: date, machine, versions."""
    commit = first_line(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "HEAD", "--", "proxy", "bench"]).returncode
    socat = first_line(["sh", "-c", "socat -V | grep 'socat version'"])
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return [
        "date: %s" % time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine: %s, %d CPUs, %s, Linux %s, load average before the run %s"
        % (cpu_model(), os.cpu_count() or 0, _mem(), platform.release(), load),
        "ebssh: %s (commit %s%s)" % (first_line([PROXY, "--version"]), commit,
                                     ", uncommitted changes" if dirty else ""),
        "others: %s; %s; %s; %s"
        % (first_line(["ssh", "-V"]), re.sub(r" on .*", "", socat),
           first_line(["curl", "--version"]).split(" (")[0],
           re.sub(r".*\((v[0-9.]+)\).*", r"perl \1", first_line(["sh", "-c", "perl -v | sed -n 2p"]))),
    ]


def _mem():
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        return "%.0f GiB RAM" % (kb / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        return "? RAM"


def need(*tools):
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        sys.exit("missing: %s (scripts/deps.sh installs them)" % ", ".join(missing))
