#!/usr/bin/python3
"""The lean build against today's dynamic one, side by side in one run
(issue 17's figures), with the previous figures of docs/benchmarks.md as a
third column and the issue's goals marked met or not.

    bench/lean.py [--lean DIR] [--dyn DIR] [--runs N] [--proxy-runs N] [--plain]
                  [--no-callgrind] [--json FILE]

--lean is the build measured (default $EBSSH_BUILD, else build/); --dyn the
dynamically linked build (default build/dyn), made when its programs are
missing with `make BUILD=DIR CURL=system` (CURL=system: the system's
libcurl, linked dynamically). For each build:

  zip        scripts/package.sh DIR/bootstrap into a scratch directory: bytes
  libraries  the shared objects `ldd DIR/bootstrap` (and ebssh-proxy) lists,
             the loader counted (the package carries it), linux-vdso not
  first /next  the package unzipped into an empty root and run chroot-ed into
             it (bench/lambda_cold_start.py's cold runs: execve to the first
             GET /next the Runtime API double receives), the builds
             interleaved run by run; median ms. Needs root; without it,
             DIR/bootstrap itself
  instructions callgrind: bootstrap started, first /next, told to exit
             (lambda_cold_start.py's session of no request: the 14.4 M of
             docs/benchmarks.md)
  --print    `ebssh-proxy --print` with a warm cache (the lookup service,
             tests/lib/proxy_fakes.py's fake, is asked once, before), spawned
             and reaped as bench/proxy_connect.py does: wall and CPU (wait4) ms,
             medians; the builds interleaved

The goals: zip <= 3 MB; first /next <= half of the dynamic build's median in
this run; instructions <= 1/3 of the previous 14.4 M; --print warm <= 2.5 ms
wall and <= 2 ms CPU. Prints Markdown; --json also writes the numbers.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "lib"))

import benchlib as bl  # noqa: E402
import lambda_cold_start as lcs  # noqa: E402
import proxy_connect  # noqa: E402
import proxy_fakes  # noqa: E402

# docs/benchmarks.md before the lean build (issue 17 quotes them).
PREVIOUS = {"zip_bytes": 8.6e6, "first_next_ms": 5.60, "instructions": 14421998,
            "print_wall_ms": 5.6, "print_cpu_ms": 5.35, "libraries": 34}
GOAL_ZIP = 3e6
GOAL_INSTRUCTIONS = PREVIOUS["instructions"] / 3
GOAL_PRINT_WALL_MS = 2.5
GOAL_PRINT_CPU_MS = 2.0


def log(msg):
    print("lean: " + msg, file=sys.stderr, flush=True)


def ensure_dyn(d):
    if all(os.path.exists(os.path.join(d, p)) for p in ("bootstrap", "ebssh-proxy")):
        return
    log("building %s (make BUILD=%s CURL=system)" % (d, d))
    rel = os.path.relpath(d, bl.ROOT)
    subprocess.run(["make", "-j2", "--no-print-directory", "BUILD=" + rel, "CURL=system",
                    rel + "/bootstrap", rel + "/ebssh-proxy"], cwd=bl.ROOT, check=True,
                   stdout=sys.stderr)  # make's lines are progress, not the table


def libraries(prog):
    """The shared objects ldd lists, the loader included (as the package
    carries it), linux-vdso not; none when static."""
    out = subprocess.run(["ldd", prog], capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        name = os.path.basename(line.strip().split(" ", 1)[0])
        if ("=>" in line or line.strip().startswith("/")) and not name.startswith("linux-vdso"):
            libs.append(name)
    return libs


def package(key, d, scratch):
    """The zip's path, or (None, why) when package.sh refuses (a sanitizer build)."""
    out = os.path.join(scratch, key, "lambda.zip")
    os.makedirs(os.path.dirname(out))
    proc = subprocess.run([os.path.join(bl.ROOT, "scripts", "package.sh"), os.path.join(d, "bootstrap"),
                           out], cwd=bl.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        return None, (proc.stderr.strip().splitlines() or ["status %d" % proc.returncode])[-1]
    return out, None


def start_instructions(rt, aws, key, d, logdir):
    """lambda_cold_start's callgrind session of no request, on d's bootstrap."""
    out = os.path.join(logdir, "callgrind.%s.out" % key)
    saved, bl.BUILD = bl.BUILD, d
    try:
        lcs.callgrind_session(rt, aws, 0, out, logdir)
    finally:
        bl.BUILD = saved
    return bl.parse_callgrind(out)[0]


def print_warm(builds, runs, logdir):
    """ebssh-proxy --print, warm cache, each build's own cache; medians."""
    svc = proxy_fakes.FakeService()
    svc.set("/eb/bench-env/ip/1", 200, "127.0.0.2\n")
    res = {}
    try:
        envs = {}
        for key, d in builds:
            home = proxy_fakes.Home()
            envs[key] = home.env(svc)
            argv = [os.path.join(d, "ebssh-proxy"), "--print", "--cache-ttl", "3600", "bench-env"]
            proc = subprocess.run(argv, env=envs[key], capture_output=True, text=True)
            if proc.returncode != 0 or proc.stdout != "127.0.0.2\n":
                sys.exit("lean: %s --print: %s %s" % (key, proc.stdout, proc.stderr))
            res[key] = {"argv": argv, "wall": [], "cpu": []}
        asked = svc.count()
        err = os.path.join(logdir, "print.err")
        for i in range(3 + runs):
            for key, _ in builds:
                wall, cpu, status = proxy_connect.spawn_timed(res[key]["argv"], envs[key], err)
                if status != 0:
                    sys.exit("lean: %s --print exited %d" % (key, status))
                if i >= 3:
                    res[key]["wall"].append(wall * 1000)
                    res[key]["cpu"].append(cpu * 1000)
        if svc.count() != asked:
            sys.exit("lean: a warm-cache --print asked the lookup service")
    finally:
        svc.stop()
    return {k: {"wall_ms": statistics.median(v["wall"]), "cpu_ms": statistics.median(v["cpu"])}
            for k, v in res.items()}


def measure(args):
    builds = [("lean", os.path.abspath(args.lean)), ("dyn", os.path.abspath(args.dyn))]
    logdir = tempfile.mkdtemp(prefix="ebssh-bench-lean-")
    res = {k: {"dir": d} for k, d in builds}
    roots = []
    notes = []
    try:
        for key, d in builds:
            res[key]["libraries"] = libraries(os.path.join(d, "bootstrap"))
            res[key]["proxy_libraries"] = libraries(os.path.join(d, "ebssh-proxy"))
            zpath, why = package(key, d, logdir)
            if zpath:
                res[key]["zip_bytes"] = os.path.getsize(zpath)
                res[key]["zip"] = zpath
            else:
                notes.append("%s: no zip (%s)" % (key, why))
        runtimes = []
        chroot = os.geteuid() == 0 and not args.plain and all("zip" in res[k] for k, _ in builds)
        for key, d in builds:
            if chroot:
                root = bl.package_root(res[key]["zip"])
                roots.append(root)
                runtimes.append(lcs.Runtime(key, key + " package (chroot)", ["/var/task/bootstrap"],
                                            root=root))
            else:
                runtimes.append(lcs.Runtime(key, key + " bootstrap", [os.path.join(d, "bootstrap")]))
        if not chroot:
            notes.append("first /next of DIR/bootstrap, not of the package in a chroot (%s)"
                         % ("--plain" if args.plain else "not root" if os.geteuid() else "no zip"))
        rt = bl.RuntimeApi()
        try:
            with bl.AwsDouble() as aws:
                log("first /next: %d runs per build" % args.runs)
                cold = lcs.cold(rt, aws, runtimes, args.runs, 2, logdir)
                for key, _ in builds:
                    res[key]["first_next_ms"] = bl.median(cold[key]["first_next_ns"]) / 1e6
                if args.no_callgrind:
                    notes.append("callgrind: skipped (--no-callgrind)")
                elif shutil.which("valgrind"):
                    for key, d in builds:
                        log("callgrind: %s" % key)
                        res[key]["instructions"] = start_instructions(rt, aws, key, d, logdir)
                else:
                    notes.append("callgrind: skipped (valgrind missing)")
        finally:
            rt.close()
        log("ebssh-proxy --print, warm: %d runs per build" % args.proxy_runs)
        for key, v in print_warm(builds, args.proxy_runs, logdir).items():
            res[key]["print_wall_ms"], res[key]["print_cpu_ms"] = v["wall_ms"], v["cpu_ms"]
    finally:
        for r in roots:
            bl.remove_root(r)
        shutil.rmtree(logdir, ignore_errors=True)
    for key, _ in builds:
        res[key].pop("zip", None)
    return res, notes


def goals(res):
    lean, dyn = res["lean"], res["dyn"]
    out = {"zip_bytes": lean.get("zip_bytes", GOAL_ZIP + 1) <= GOAL_ZIP,
           "first_next_ms": lean["first_next_ms"] <= dyn["first_next_ms"] / 2,
           "print_wall_ms": lean["print_wall_ms"] <= GOAL_PRINT_WALL_MS,
           "print_cpu_ms": lean["print_cpu_ms"] <= GOAL_PRINT_CPU_MS}
    if "instructions" in lean:
        out["instructions"] = lean["instructions"] <= GOAL_INSTRUCTIONS
    return out


def report(res, notes):
    lean, dyn = res["lean"], res["dyn"]
    met = goals(res)
    mb = lambda b: "%.2f MB" % (b / 1e6)  # noqa: E731
    ms = lambda x: "%.2f ms" % x  # noqa: E731
    mi = lambda x: "{:,}".format(int(x))  # noqa: E731
    rows = [
        ("build/lambda.zip", "zip_bytes", mb, "<= 3 MB"),
        ("start to first /next, median", "first_next_ms", ms,
         "<= 1/2 of dynamic (%s)" % ms(dyn["first_next_ms"] / 2)),
        ("instructions, execve to first /next and exit", "instructions", mi,
         "<= 1/3 of 14.4 M (%s)" % mi(GOAL_INSTRUCTIONS)),
        ("ebssh-proxy --print, warm cache, wall (median)", "print_wall_ms", ms, "<= 2.5 ms"),
        ("ebssh-proxy --print, warm cache, CPU (median)", "print_cpu_ms", ms, "<= 2 ms"),
    ]
    lines = ["### Lean build against the dynamic build (bench/lean.py)", "",
             "lean: `%s`; dynamic: `%s`" % (os.path.relpath(lean["dir"], bl.ROOT),
                                            os.path.relpath(dyn["dir"], bl.ROOT)), "",
             "| | lean | dynamic (this run) | previous (docs/benchmarks.md) | goal | met |",
             "|---|---:|---:|---:|---|---|"]
    for label, key, f, goal in rows:
        if key not in lean and key not in dyn:
            continue
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            label, f(lean[key]) if key in lean else "-", f(dyn[key]) if key in dyn else "-",
            f(PREVIOUS[key]), goal,
            "**met**" if met[key] else "**not met**"))
    lines.append("| shared libraries of bootstrap (ldd) | %d | %d | %d | only the C library | %s |" % (
        len(lean["libraries"]), len(dyn["libraries"]), PREVIOUS["libraries"],
        "**met**" if all(l.startswith(("libc.so", "libm.so", "ld-linux")) for l in lean["libraries"])
        else "**not met**"))
    lines.append("| shared libraries of ebssh-proxy (ldd) | %d | %d | | | |" % (
        len(lean["proxy_libraries"]), len(dyn["proxy_libraries"])))
    lines += ["", "bootstrap's libraries, lean: %s" % (", ".join(lean["libraries"]) or "none (static)")]
    for n in notes:
        lines.append("Note: " + n)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lean", default=bl.BUILD, help="the lean build directory ($EBSSH_BUILD or build)")
    ap.add_argument("--dyn", default=os.path.join(bl.ROOT, "build", "dyn"),
                    help="the dynamic build directory (build/dyn; made when missing)")
    ap.add_argument("--runs", type=int, default=30, help="cold starts per build (30)")
    ap.add_argument("--proxy-runs", type=int, default=50, help="--print runs per build (50)")
    ap.add_argument("--plain", action="store_true", help="time DIR/bootstrap, not the package in a chroot")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    ap.add_argument("--json", help="also write the numbers here")
    args = ap.parse_args()
    ensure_dyn(os.path.abspath(args.dyn))
    for d in (args.lean, args.dyn):
        for p in ("bootstrap", "ebssh-proxy"):
            if not os.path.exists(os.path.join(d, p)):
                sys.exit("lean: %s missing" % os.path.join(d, p))
    res, notes = measure(args)
    print(report(res, notes))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": bl.machine(), "args": vars(args), "results": res,
                       "previous": PREVIOUS, "goals_met": goals(res)}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
