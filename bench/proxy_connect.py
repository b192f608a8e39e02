#!/usr/bin/python3
"""Connection time: `ssh HOST true` through ebssh-proxy with a warm and a
cold cache, against direct ssh to the instance and against the blog's
one-liner, all to a real sshd on 127.0.0.2 (tests/lib/sshd.py); the lookup
service is build/ebssh-api over the AWS double.

    bench/proxy_connect.py [--runs N] [--hyperfine]

Each command runs N times (default 20) after 3 warm-up runs, the commands
interleaved run by run so that a change in the machine's load hits them
all alike; "cold" removes ebssh-proxy's cache directory before each run
(not timed). Also timed: ebssh-proxy --fdpass (no relay), and socat as the
ProxyCommand, told the address: what any ProxyCommand costs or saves
against direct ssh. Prints a Markdown table: median and mean milliseconds
per connection and the ratios to direct ssh; below it, the pieces, with
their CPU time (wait4): ebssh-proxy --print with a warm and a cold cache,
the one-liner's curl alone, and an empty C program built plain and linked
with ebssh-proxy's libraries (what loading them costs every start). The run
fails if a warm-cache run reached the lookup service. --hyperfine also
runs the connections under hyperfine (not interleaved) as a cross-check.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxy_lib as lib  # noqa: E402


def spawn_timed(argv, env, errpath):
    """Runs argv (stdin and stdout /dev/null, stderr to errpath); returns
    (seconds, CPU seconds of it and the children it waited for, exit
    status)."""
    fa = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
          (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
          (os.POSIX_SPAWN_OPEN, 2, errpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=fa)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.perf_counter()
    return t1 - t0, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status)


class Case:
    def __init__(self, name, argv, prepare=None, connection=True):
        self.name = name
        self.argv = argv
        self.prepare = prepare
        self.connection = connection
        self.wall = []
        self.cpu = []


def run_cases(cases, runs, warmup, env, tmp):
    err = os.path.join(tmp, "stderr")
    for i in range(warmup + runs):
        for c in cases:
            if c.prepare:
                c.prepare()
            wall, cpu, status = spawn_timed(c.argv, env, err)
            if status != 0:
                with open(err, errors="replace") as f:
                    sys.exit("%s: exit %d: %s" % (c.name, status, f.read()[-800:]))
            if i >= warmup:
                c.wall.append(wall * 1000)
                c.cpu.append(cpu * 1000)
        if i % 5 == 4:
            lib.log("round %d/%d" % (i + 1, warmup + runs))


def hyperfine(cases, runs, env, tmp, cache_dir):
    out = os.path.join(tmp, "hyperfine.json")
    argv = ["hyperfine", "-N", "--style", "none", "--runs", str(runs), "--warmup", "3",
            "--export-json", out]
    for c in cases:
        argv += ["--prepare", ("rm -rf " + cache_dir) if c.prepare else "true",
                 "-n", c.name, " ".join(c.argv)]
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return {r["command"]: r for r in json.load(f)["results"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--hyperfine", action="store_true", help="also cross-check with hyperfine")
    args = ap.parse_args()
    lib.need("ssh", "sshd", "curl", "perl", "cc", *(["hyperfine"] if args.hyperfine else []))
    lib.ensure_built()
    info = lib.machine()
    tmp = tempfile.mkdtemp(prefix="ebssh-bench-")
    ssh = shutil.which("ssh")

    with lib.Fleet(1, first=2, log_level="ERROR") as fleet, \
            lib.LookupService(lib.demo_fixture(lib.ENV_NAME, fleet)) as svc:
        lo = lib.Localhost()
        try:
            env = fleet.env()
            inst = fleet.instances[0]
            cache_dir = fleet.cache_dir()
            pattern = lib.ENV_NAME + "*"
            cfg_direct = fleet.write_ssh_config(inst.ip, "none", extra=["HostKeyAlias inst1"])
            proxy = fleet.proxy_command(svc.url, cache_ttl=86400, api_key=svc.key)
            cfg_proxy = fleet.write_ssh_config(pattern, proxy)
            cfg_fdpass = fleet.write_ssh_config(pattern, proxy.replace(" %h", " --fdpass %h"),
                                                extra=["ProxyUseFdpass yes"])
            cfg_blog = fleet.write_ssh_config(pattern, lib.one_liner(svc.url, svc.key, lo.config))
            cfg_socat = fleet.write_ssh_config(pattern, "socat - TCP:%s:%%p" % inst.ip)

            def cold():
                shutil.rmtree(cache_dir, ignore_errors=True)

            cases = [
                Case("direct ssh", [ssh, "-F", cfg_direct, inst.ip, "true"]),
                Case("ebssh-proxy, warm cache", [ssh, "-F", cfg_proxy, lib.ALIAS, "true"]),
                Case("ebssh-proxy, cold cache", [ssh, "-F", cfg_proxy, lib.ALIAS, "true"], cold),
                Case("ebssh-proxy --fdpass, warm cache", [ssh, "-F", cfg_fdpass, lib.ALIAS, "true"]),
                Case("blog one-liner", [ssh, "-F", cfg_blog, lib.ALIAS, "true"]),
                Case("socat, address known (no lookup)", [ssh, "-F", cfg_socat, lib.ALIAS, "true"]),
                Case("ebssh-proxy --print, warm cache",
                     [lib.PROXY, "--endpoint", svc.url, "--api-key", svc.key, "--cache-ttl", "86400",
                      "--print", lib.ALIAS], connection=False),
                Case("ebssh-proxy --print, cold cache",
                     [lib.PROXY, "--endpoint", svc.url, "--api-key", svc.key, "--print", lib.ALIAS],
                     cold, connection=False),
                Case("curl (the one-liner's lookup)",
                     [shutil.which("curl"), "-s", "-H", "x-api-key: " + svc.key,
                      svc.url + "/eb/%s/ip/1" % lib.ENV_NAME], connection=False),
                Case("an empty C program", [os.path.join(lib.TOOLS, "proxy_empty")],
                     connection=False),
                Case("the same, linked with ebssh-proxy's libraries",
                     [os.path.join(lib.TOOLS, "proxy_empty_libs")], connection=False),
            ]
            # Each way must reach the right instance before it is timed.
            for c in cases:
                if not c.connection:
                    continue
                p = subprocess.run(c.argv[:-1] + ["echo $INSTANCE"], env=env, capture_output=True,
                                   text=True, timeout=60)
                if p.returncode != 0 or p.stdout.strip() != inst.instance_id:
                    sys.exit("%s reached %r (exit %d): %s" % (c.name, p.stdout.strip(), p.returncode,
                                                              p.stderr.strip()))
            before = len(svc.lookups())
            run_cases(cases, args.runs, args.warmup, env, tmp)
            lookups = len(svc.lookups()) - before
            # Cold runs, the one-liner and curl ask; warm ones never may.
            asking = sum(1 for c in cases if c.prepare or "blog" in c.name or "curl" in c.name)
            if lookups != asking * (args.runs + args.warmup):
                sys.exit("%d lookups reached the service, expected %d"
                         % (lookups, asking * (args.runs + args.warmup)))
            hf = hyperfine([c for c in cases if c.connection], args.runs, env, tmp, cache_dir) \
                if args.hyperfine else None
        finally:
            lo.stop()
            shutil.rmtree(tmp, ignore_errors=True)

    direct = cases[0]
    d_med, d_mean = statistics.median(direct.wall), statistics.mean(direct.wall)
    print("\n".join("- " + line for line in info))
    print("- %d runs of each after %d warm-up runs, interleaved; %d lookups reached the service"
          " (none from warm-cache runs)\n" % (args.runs, args.warmup, lookups))
    print("| `ssh bench1 true` | median ms | mean ms (± sd) | min ms | median / direct "
          "| mean / direct | CPU ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    pieces = False
    for c in cases:
        med, mean = statistics.median(c.wall), statistics.mean(c.wall)
        sd = statistics.stdev(c.wall) if len(c.wall) > 1 else 0.0
        ratios = ["%.3fx" % (med / d_med), "%.3fx" % (mean / d_mean)] if c.connection else ["", ""]
        if not c.connection and not pieces:
            pieces = True
            print("| *the pieces* | | | | | | |")
        # ssh does not wait for its ProxyCommand: its CPU would be missing.
        cpu = "" if c.connection else "%.2f" % statistics.median(c.cpu)
        print("| %s | %.1f | %.1f (± %.1f) | %.1f | %s | %s | %s |"
              % (c.name, med, mean, sd, min(c.wall), ratios[0], ratios[1], cpu))
    warm = statistics.median(cases[1].wall)
    socat = statistics.median(next(c for c in cases if c.name.startswith("socat")).wall)
    print("\nebssh-proxy with a warm cache against socat as the ProxyCommand: %.3fx (%+.1f ms, medians)"
          % (warm / socat, warm - socat))
    if hf:
        print("\nhyperfine %s, the same commands one after the other (%d runs each):\n"
              % (lib.first_line(["hyperfine", "--version"]).split()[-1], args.runs))
        print("| `ssh bench1 true` | median ms | mean ms (± sd) | median / direct | mean / direct |")
        print("|---|---:|---:|---:|---:|")
        hd = hf[direct.name]
        for c in [c for c in cases if c.connection]:
            r = hf[c.name]
            print("| %s | %.1f | %.1f (± %.1f) | %.3fx | %.3fx |"
                  % (c.name, r["median"] * 1000, r["mean"] * 1000, r["stddev"] * 1000,
                     r["median"] / hd["median"], r["mean"] / hd["mean"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
