#!/usr/bin/python3
"""Relay throughput of ebssh-proxy against socat, `ssh -W` through
localhost's sshd and the blog's one-liner, on loopback, as ssh uses a
ProxyCommand: proxy_pump (bench/tools) runs each as `sh -c "exec ..."` on
two pipes and pushes BYTES through it with read/write, to proxy_endpoint
on 127.0.0.2, which greets, discards and sends without copying.

    bench/proxy_relay.py [--bytes N] [--reps R] [--also LABEL=PATH]...

For each relay and each direction (up: stdin to the instance; down: the
instance to stdout; both: at once, BYTES each way) it times R runs,
interleaved, from the endpoint's greeting (the relay is up) to the end,
and prints the medians as a Markdown table (and the fastest runs as a
second one): MiB/s, the ratio to socat, and CPU seconds per GiB moved -- the ProxyCommand's with its children
(wait4), plus for the ssh relays localhost's sshd (the times its
listener reaped). "endpoints alone" is proxy_pump on the socket itself,
no relay and no pipes: what the two ends manage by themselves.
ebssh-proxy answers from a warm cache. --also adds rows for other builds of
ebssh-proxy (the same cache serves them), to judge a change to the relay.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxy_lib as lib  # noqa: E402

MODES = ("up", "down", "both")
GiB = 1 << 30
MiB = 1 << 20


def run_pump(mode, nbytes, target, env, sshd_pid):
    """One run; returns the pump's key=value line as a dict (floats), plus
    'hop' (sshd CPU seconds) and 'stderr'."""
    before = lib.children_cpu(sshd_pid) if sshd_pid else 0.0
    argv = [os.path.join(lib.TOOLS, "proxy_pump"), mode, str(nbytes)]
    argv += ["-t", lib.INSTANCE_IP, str(target)] if isinstance(target, int) else ["-c", target]
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("%s %s failed (%d): %s %s" % (mode, target, p.returncode, p.stdout.strip(),
                                                         p.stderr.strip()[-800:]))
    out = {k: float(v) for k, v in (kv.split("=") for kv in p.stdout.split())}
    hop = 0.0
    if sshd_pid:
        # The connection's sshd processes are reaped by the listener just
        # after ssh leaves; wait for their times to land in its cutime.
        deadline = time.monotonic() + 2
        while True:
            time.sleep(0.1)
            hop = lib.children_cpu(sshd_pid) - before
            if hop > 0 or time.monotonic() > deadline:
                break
    out["hop"] = hop
    out["stderr"] = p.stderr
    return out


def check_endpoint(endpoint, mode, nbytes):
    line = endpoint.stdout.readline().split()
    want_in = 0 if mode == "down" else nbytes
    want_out = 0 if mode == "up" else nbytes
    if line != [mode, "received", str(want_in), "sent", str(want_out)]:
        raise RuntimeError("endpoint saw %s, expected %s received %d sent %d"
                           % (" ".join(line), mode, want_in, want_out))


def fmt(x, digits=0):
    return "%.*f" % (digits, x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bytes", type=int, default=GiB, help="per direction and run (default 1 GiB)")
    ap.add_argument("--reps", type=int, default=3, help="runs per relay and direction (default 3)")
    ap.add_argument("--also", action="append", default=[], metavar="LABEL=PATH",
                    help="another ebssh-proxy build to time alongside (repeatable)")
    args = ap.parse_args()
    lib.need("socat", "ssh", "sshd", "curl", "perl", "cc")
    lib.ensure_built()
    info = lib.machine()

    with lib.Fleet(1, first=2, log_level="ERROR") as fleet, \
            lib.LookupService(lib.demo_fixture(lib.ENV_NAME, fleet)) as svc:
        env = fleet.env()
        lo = lib.Localhost()
        endpoint = subprocess.Popen([os.path.join(lib.TOOLS, "proxy_endpoint"), lib.INSTANCE_IP,
                                     str(args.bytes)], stdout=subprocess.PIPE, text=True,
                                    preexec_fn=lib.die_with_parent)
        try:
            ports = {}
            for _ in MODES:
                name, port = endpoint.stdout.readline().split()
                ports[name] = int(port)
            proxy = "%s --endpoint %s --api-key %s --cache-ttl 86400 %%h %%p" % (lib.PROXY, svc.url,
                                                                              svc.key)
            others = [(label, proxy.replace(lib.PROXY, path, 1), lib.ALIAS, None)
                      for label, path in (a.split("=", 1) for a in args.also)]
            # Warm ebssh-proxy's cache (and check the lookup works).
            p = subprocess.run([lib.PROXY, "--endpoint", svc.url, "--api-key", svc.key, "--print",
                                lib.ALIAS], env=env, capture_output=True, text=True)
            if p.stdout.strip() != lib.INSTANCE_IP:
                sys.exit("lookup failed: %s %s" % (p.stdout, p.stderr))
            lo_pid = lo.pid
            relays = [  # name, ProxyCommand, its %h, the sshd whose CPU counts too
                ("ebssh-proxy", proxy, lib.ALIAS, None),
                *others,
                ("socat", "socat - TCP:%h:%p", lib.INSTANCE_IP, None),
                ("ssh -W via localhost", "ssh -F %s -W %%h:%%p localhost" % lo.config, lib.INSTANCE_IP, lo_pid),
                ("blog one-liner", lib.one_liner(svc.url, svc.key, lo.config), lib.ALIAS, lo_pid),
                ("endpoints alone (no relay)", None, None, None),
            ]
            results = {(r[0], m): [] for r in relays for m in MODES}
            total = args.reps * len(MODES) * len(relays)
            done = 0
            for _ in range(args.reps):
                for mode in MODES:
                    for name, command, host, pid in relays:
                        done += 1
                        lib.log("[%d/%d] %s %s" % (done, total, name, mode))
                        target = lib.expand(command, host, ports[mode]) if command else ports[mode]
                        r = run_pump(mode, args.bytes, target, env, pid)
                        check_endpoint(endpoint, mode, args.bytes)
                        results[(name, mode)].append(r)
        finally:
            endpoint.kill()
            endpoint.wait()
            lo.stop()

    print("\n".join("- " + line for line in info))
    print("- %d run(s) of %d MiB per direction and relay, interleaved; medians\n"
          % (args.reps, args.bytes // MiB))
    print("| relay | up MiB/s | down MiB/s | both: MiB/s each way | vs socat (up / down / both) "
          "| CPU s/GiB up | down | both | setup ms |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|")
    med = {}
    for (name, mode), runs in results.items():
        wall = statistics.median(r["wall"] for r in runs)
        moved = args.bytes * (2 if mode == "both" else 1)
        cpu = statistics.median(r["user"] + r["sys"] + r["hop"] for r in runs)
        hop = statistics.median(r["hop"] for r in runs)
        med[(name, mode)] = {"mibs": args.bytes / MiB / wall, "cpu": cpu / (moved / GiB),
                             "hop": hop / (moved / GiB),
                             "setup": statistics.median(r["setup"] for r in runs) * 1000}
    for name, _, _, pid in relays:
        row = [name]
        row += [fmt(med[(name, m)]["mibs"]) for m in MODES]
        row.append(" / ".join("%.2fx" % (med[(name, m)]["mibs"] / med[("socat", m)]["mibs"])
                              for m in MODES))
        for m in MODES:
            c = med[(name, m)]
            row.append("%.2f (sshd %.2f)" % (c["cpu"], c["hop"]) if pid else
                       ("-" if name.startswith("endpoints") else "%.2f" % c["cpu"]))
        row.append(fmt(statistics.median(med[(name, m)]["setup"] for m in MODES), 1))
        print("| " + " | ".join(row) + " |")
    if args.reps > 1:
        # Other work on the machine only ever slows a run down: the fastest
        # run of each is the other fair summary.
        best = {k: args.bytes / MiB / min(r["wall"] for r in runs) for k, runs in results.items()}
        print("\nThe fastest of the %d runs:\n" % args.reps)
        print("| relay | up MiB/s | down MiB/s | both: MiB/s each way | vs socat (up / down / both) |")
        print("|---|---:|---:|---:|---|")
        for name, _, _, _ in relays:
            row = [name] + [fmt(best[(name, m)]) for m in MODES]
            row.append(" / ".join("%.2fx" % (best[(name, m)] / best[("socat", m)]) for m in MODES))
            print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
