#!/usr/bin/python3
"""The cost of `ebssh-proxy --auth iam` against API-key mode (issue 15 item 7:
"connection time within 1.02x"), in three modes, each against the same
loopback lookup double (answers 200 "127.0.0.2" to anything, checks nothing),
always with --cache-ttl 0 (every run asks the service and so signs in IAM
mode; the answer cache would hide the request):

  api-key        EBSSH_API_KEY, today's behaviour
  iam, profile   --auth iam --aws-profile bench: keys from ~/.aws/credentials
  iam, env       --auth iam, session credentials from AWS_ACCESS_KEY_ID,
                 AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (what a cached
                 assumed-role or SSO login amounts to: no STS call)

Two measures, each a Markdown table with the ratios to api-key mode:

1. The proxy alone (the worst case: nothing else to dilute the signing):
   `ebssh-proxy --print --cache-ttl 0 demo-env`. Instructions of the process
   under callgrind (the machine is noisy; instruction counts are not), and
   wall time (median of --runs, interleaved).

2. The whole connection, what the issue calls connection time:
   `ssh -F none -o ProxyCommand="ebssh-proxy MODE --cache-ttl 0 %n %p" ...
   demo-env true` against a real sshd on 127.0.0.2 (tests/lib/sshd.py's
   one-instance fleet: test host key, user key, StrictHostKeyChecking yes).
   Client-side instructions: `valgrind --tool=callgrind --trace-children=yes`
   on ssh, summed over every process it leaves an output file for (ssh, and
   the ProxyCommand: ssh runs `$SHELL -c "exec COMMAND"`, SHELL=/bin/sh, so
   the shell becomes ebssh-proxy; the shell's few instructions before its
   exec are not dumped by callgrind), median of --cg-runs; and wall time,
   median of --connection-runs, interleaved. The server side (sshd) is not
   counted: it is the same for every mode.

    bench/proxy_iam.py [--runs N] [--no-callgrind]
                       [--connection-runs N] [--cg-runs K] [--no-connection]
"""

import argparse
import glob
import http.server
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("EBSSH_BUILD", os.path.join(ROOT, "build"))
PROXY = os.path.join(BUILD, "ebssh-proxy")
NAME = "demo-env"


class Double(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        data = b"127.0.0.2\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def modes(home, url):
    base = {"PATH": "/usr/bin:/bin", "HOME": home, "XDG_CONFIG_HOME": os.path.join(home, "cfg"),
            "XDG_CACHE_HOME": os.path.join(home, "cache"), "EBSSH_ENDPOINT": url + "/v1",
            "AWS_EC2_METADATA_DISABLED": "true", "NO_PROXY": "127.0.0.1"}
    # (name, environment, the mode's own options)
    return [
        ("api-key", dict(base, EBSSH_API_KEY="k-0123456789abcdef"), []),
        ("iam, profile", base, ["--auth", "iam", "--aws-profile", "bench", "--aws-region", "eu-west-1"]),
        ("iam, env (session)", dict(base, AWS_ACCESS_KEY_ID="ASIABENCH00000000000", AWS_SECRET_ACCESS_KEY="s" * 40,
                                    AWS_SESSION_TOKEN="t" * 600, AWS_REGION="eu-west-1"), ["--auth", "iam"]),
    ]


def print_args(flags):
    return flags + ["--print", "--cache-ttl", "0", NAME]


def instructions(argv, env):
    out = tempfile.mktemp(prefix="ebssh-callgrind-")
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + argv, env=env,
                       capture_output=True, text=True)
    if os.path.exists(out):
        os.unlink(out)
    if p.returncode != 0 or p.stdout != "127.0.0.2\n":
        sys.exit("callgrind run failed: %s %s" % (p.stdout, p.stderr))
    m = re.search(r"Collected : (\d+)", p.stderr)
    return int(m.group(1))


def proxy_alone(ms, runs, callgrind):
    """Table 1: {name: [wall seconds]}, {name: instructions}."""
    wall = {name: [] for name, _, _ in ms}
    for name, env, flags in ms * 3:  # warm-up
        subprocess.run([PROXY] + print_args(flags), env=env, capture_output=True, check=True)
    for _ in range(runs):
        for name, env, flags in ms:
            t0 = time.perf_counter()
            p = subprocess.run([PROXY] + print_args(flags), env=env, capture_output=True)
            wall[name].append(time.perf_counter() - t0)
            if p.returncode != 0:
                sys.exit("%s failed: %s" % (name, p.stderr.decode()))
    ins = {}
    if callgrind:
        for name, env, flags in ms:
            ins[name] = instructions([PROXY] + print_args(flags), env)
    return wall, ins


class Connection:
    """ssh to NAME through ebssh-proxy, against a one-instance sshd fleet on
    127.0.0.2 (tests/lib/sshd.py); nothing read from ~/.ssh."""

    def __init__(self, home):
        sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
        from sshd import Fleet, missing_tools
        if missing_tools():
            sys.exit("the whole connection needs " + ", ".join(missing_tools()))
        self.fleet = Fleet(1, log_level="ERROR").start()
        inst = self.fleet.instances[0]
        if inst.ip != "127.0.0.2":
            sys.exit("the fleet is not on 127.0.0.2")
        self.known = os.path.join(home, "known_hosts")
        with open(self.known, "w") as f:
            f.write(self.fleet.known_hosts_line(NAME, inst))

    def stop(self):
        self.fleet.stop()

    def argv(self, flags):
        proxy = " ".join([PROXY] + flags + ["--cache-ttl", "0", "%n", "%p"])
        opts = {
            "ProxyCommand": proxy, "User": self.fleet.user, "Port": str(self.fleet.port),
            "IdentityFile": self.fleet.user_key, "IdentitiesOnly": "yes", "IdentityAgent": "none",
            "BatchMode": "yes", "UserKnownHostsFile": self.known, "GlobalKnownHostsFile": "/dev/null",
            "StrictHostKeyChecking": "yes", "CheckHostIP": "no", "UpdateHostKeys": "no",
            "ControlMaster": "no", "ControlPath": "none", "ConnectTimeout": "60", "LogLevel": "ERROR",
        }
        argv = ["ssh", "-F", "none"]
        for k, v in opts.items():
            argv += ["-o", "%s=%s" % (k, v)]
        return argv + [NAME, "true"]

    @staticmethod
    def env(env):
        return dict(env, SHELL="/bin/sh", LC_ALL="C")

    def run(self, name, env, flags):
        p = subprocess.run(self.argv(flags), env=self.env(env), stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=120)
        if p.returncode != 0 or p.stdout or p.stderr:
            sys.exit("ssh, %s: exit %d: %s" % (name, p.returncode, p.stderr.decode(errors="replace")[-800:]))

    def callgrind(self, name, env, flags):
        """{command: instructions} of every process callgrind dumped (ssh,
        ebssh-proxy), ssh's exit checked."""
        d = tempfile.mkdtemp(prefix="ebssh-cg-conn-")
        try:
            argv = ["valgrind", "--tool=callgrind", "--trace-children=yes",
                    "--callgrind-out-file=%s/cg.%%p" % d, "--log-file=%s/vg.%%p" % d] + self.argv(flags)
            p = subprocess.run(argv, env=self.env(env), stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=600)
            if p.returncode != 0 or p.stdout or p.stderr:
                sys.exit("callgrind ssh, %s: exit %d: %s" % (name, p.returncode,
                                                              p.stderr.decode(errors="replace")[-800:]))
            # ssh does not wait for its ProxyCommand (it sends it SIGHUP on
            # exit): wait until every valgrind has written its summary.
            deadline = time.monotonic() + 60
            while True:
                logs = glob.glob(os.path.join(d, "vg.*"))
                done = 0
                for path in logs:
                    with open(path, errors="replace") as f:
                        done += "Collected :" in f.read()
                if done == len(logs):
                    break
                if time.monotonic() > deadline:
                    sys.exit("callgrind ssh, %s: a process did not finish (%d of %d)" % (name, done, len(logs)))
                time.sleep(0.05)
            per = {}
            for path in sorted(glob.glob(os.path.join(d, "cg.*"))):
                with open(path, errors="replace") as f:
                    text = f.read()
                cmd = re.search(r"^cmd: *(\S*)", text, re.M)
                tot = re.search(r"^(?:totals|summary): *(\d+)", text, re.M)
                if not tot:
                    sys.exit("no totals in %s" % path)
                prog = os.path.basename(cmd.group(1)) if cmd else "?"
                per[prog] = per.get(prog, 0) + int(tot.group(1))
            if set(per) != {"ssh", "ebssh-proxy"}:
                sys.exit("callgrind ssh, %s: unexpected processes %s" % (name, per))
            return per
        finally:
            shutil.rmtree(d, ignore_errors=True)


def connection(ms, home, runs, cg_runs):
    """Table 2: {name: [wall seconds]}, {name: [{command: instructions}]}."""
    c = Connection(home)
    try:
        wall = {name: [] for name, _, _ in ms}
        cg = {name: [] for name, _, _ in ms}
        for name, env, flags in ms * 2:  # warm-up
            c.run(name, env, flags)
        for i in range(runs):
            for name, env, flags in ms:
                t0 = time.perf_counter()
                c.run(name, env, flags)
                wall[name].append(time.perf_counter() - t0)
            if i % 10 == 9:
                print("connection round %d/%d" % (i + 1, runs), file=sys.stderr, flush=True)
        for i in range(cg_runs):
            for name, env, flags in ms:
                cg[name].append(c.callgrind(name, env, flags))
            print("callgrind round %d/%d" % (i + 1, cg_runs), file=sys.stderr, flush=True)
        return wall, cg
    finally:
        c.stop()


def median_int(xs):
    return int(statistics.median(xs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30, help="proxy alone: wall-time runs per mode")
    ap.add_argument("--no-callgrind", action="store_true", help="no callgrind at all")
    ap.add_argument("--connection-runs", type=int, default=30, help="whole connection: wall-time runs per mode")
    ap.add_argument("--cg-runs", type=int, default=3, help="whole connection: callgrind runs per mode")
    ap.add_argument("--no-connection", action="store_true", help="the proxy alone only")
    a = ap.parse_args()
    callgrind = not a.no_callgrind and shutil.which("valgrind")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Double)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    home = tempfile.mkdtemp(prefix="ebssh-bench-iam-")
    os.makedirs(os.path.join(home, ".aws"))
    with open(os.path.join(home, ".aws", "credentials"), "w") as f:
        f.write("[bench]\naws_access_key_id = AKIABENCH00000000000\naws_secret_access_key = %s\n" % ("s" * 40))
    with open(os.path.join(home, ".aws", "config"), "w") as f:
        f.write("[profile bench]\nregion = eu-west-1\n")
    ms = modes(home, url)
    try:
        wall, ins = proxy_alone(ms, a.runs, callgrind)
        if not a.no_connection:
            cwall, cg = connection(ms, home, a.connection_runs, a.cg_runs if callgrind else 0)
    finally:
        srv.shutdown()
        shutil.rmtree(home)

    print("### The proxy alone: `ebssh-proxy --print --cache-ttl 0 %s` (%d wall runs)\n" % (NAME, a.runs))
    ref_w = statistics.median(wall["api-key"])
    print("| mode | instructions | ratio | median ms | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, _, _ in ms:
        w = statistics.median(wall[name])
        i = ins.get(name)
        print("| %s | %s | %s | %.2f | %.3fx |" % (
            name, "%d" % i if i else "-", "%.4fx" % (i / ins["api-key"]) if i else "-", w * 1000, w / ref_w))
    if ins:
        worst = max(ins[n] / ins["api-key"] for n in ins if n != "api-key")
        print("\nproxy alone, worst IAM/API-key instruction ratio: %.4fx (%s 1.02x)"
              % (worst, "within" if worst <= 1.02 else "OVER"))
    if a.no_connection:
        return
    print("\n### The whole connection: `ssh ... %s true` through ebssh-proxy --cache-ttl 0 "
          "(%d wall runs, %d callgrind runs)\n" % (NAME, a.connection_runs, len(cg["api-key"])))
    ref_w = statistics.median(cwall["api-key"])
    tot = {n: median_int([sum(r.values()) for r in cg[n]]) for n in cg if cg[n]}
    print("| mode | instructions (ssh + proxy) | ratio | of which ssh | of which proxy | median ms | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, _, _ in ms:
        w = statistics.median(cwall[name])
        if tot:
            i = tot[name]
            cells = ["%d" % i, "%.4fx" % (i / tot["api-key"]), "%d" % median_int([r["ssh"] for r in cg[name]]),
                     "%d" % median_int([r["ebssh-proxy"] for r in cg[name]])]
        else:
            cells = ["-"] * 4
        print("| %s | %s | %.2f | %.3fx |" % (name, " | ".join(cells), w * 1000, w / ref_w))
    if tot:
        spread = {n: (min(sum(r.values()) for r in cg[n]), max(sum(r.values()) for r in cg[n])) for n in cg}
        print("\ncallgrind runs, min-max per mode: " +
              "; ".join("%s %d-%d" % (n, lo, hi) for n, (lo, hi) in spread.items()))
        worst = max(tot[n] / tot["api-key"] for n in tot if n != "api-key")
        print("whole connection, worst IAM/API-key instruction ratio: %.4fx (%s 1.02x)"
              % (worst, "within" if worst <= 1.02 else "OVER"))
    worst_w = max(statistics.median(cwall[n]) for n in cwall if n != "api-key") / ref_w
    print("whole connection, worst IAM/API-key wall ratio (medians): %.3fx (%s 1.02x)"
          % (worst_w, "within" if worst_w <= 1.02 else "over"))


if __name__ == "__main__":
    main()
