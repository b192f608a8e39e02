#!/usr/bin/python3
"""The Lambda side of ebssh against the Python 3 + boto3 handler it replaces,
both under the same Runtime API double (tests/doubles/runtime_api.py, served
from this process with timestamps) and the same AWS double
(tests/doubles/aws_double.py). Prints markdown tables; --json FILE also
writes the raw numbers.

Runtimes measured (each as its own process, spawned by this script):
  package   build/lambda.zip unzipped into an empty root (only /var/task and
            /tmp), /var/task/bootstrap run chroot-ed into it (needs root)
  plain     build/bootstrap, linked against the system's libraries
  python    /usr/bin/python3 bench/alt/python_runtime.py with
            _HANDLER=boto3_handler.handler (bench/alt/boto3_handler.py)

What is measured:
  cold      --runs times per runtime, interleaved, after --warmup unmeasured
            runs: one /eb/{env}/ip event is queued, the process is started;
            from its execve (timestamped in the child just before the call)
            to the first GET /next received by the double, and to the first
            /response received (the answer is checked)
  warm      one process per runtime: --requests /eb/{env}/ip invocations
            one after another (each queued while the runtime waits in /next);
            queued -> /response received per invocation; the process's CPU
            time (user + system, /proc/<pid>/task/*/schedstat, nanoseconds)
            over them divided by their count; then the same for /health (no
            AWS call); peak RSS (VmHWM) at the end
  callgrind build/bootstrap under valgrind --tool=callgrind: instructions of a
            session of --callgrind-requests /eb/{env}/ip requests minus those
            of a session of none, per request, and the functions they go to;
            also a session of one request (the first request's one-time costs)

Timings are execve-to-event on this machine with a warm page cache: the start
of a process, not Lambda's sandbox creation. The doubles are Python and their
own time is inside the wall-clock figures (the same for every runtime); the
CPU figures are the runtime's process only.

  bench/lambda_cold_start.py [--runs 50] [--requests 500] [--only package,plain,python]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

import benchlib as bl  # noqa: E402

ALT = os.path.join(bl.ROOT, "bench", "alt")
GOAL_FIRST_NEXT_MS = 20.0
GOAL_CPU_MS = 1.0
GOAL_RSS_KB = 16 * 1024
GOAL_FIRST_ANSWER_RATIO = 10.0


class Runtime:
    """How to spawn one runtime under test."""

    def __init__(self, key, label, argv, env_extra=None, root=None):
        self.key, self.label, self.argv = key, label, argv
        self.env_extra = env_extra or {}
        self.root = root

    def spawn(self, rt, aws, log):
        """Starts it; returns (Popen, the time just before its execve)."""
        env = bl.lambda_env(rt, aws, **self.env_extra)
        return bl.spawn_timed(self.argv, root=self.root, env=env, stdin=subprocess.DEVNULL,
                              stdout=log, stderr=log, cwd=None if self.root else "/")


def stop(rt, proc, timeout=20):
    """Ends a runtime the way Lambda's container error does (/next answers
    500); returns (exit status, CPU seconds of its whole life)."""
    rt.shutdown_runtime()
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, ru.ru_utime + ru.ru_stime
        if time.monotonic() > deadline:
            proc.kill()
            _, status, ru = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            raise RuntimeError("%s did not exit when /next answered 500" % proc.args)
        time.sleep(0.002)


def check_answer(st, what):
    entry = st.invocations[0]
    if entry["kind"] != "response":
        raise RuntimeError("%s: %s %s" % (what, entry["kind"], entry["body"][:300]))
    status, body = bl.answer_of(entry)
    if status != 200 or body != bl.EXPECTED_IP:
        raise RuntimeError("%s answered %s %r" % (what, status, body))


def cold_run(rt, aws, runtime, log):
    event = bl.apigw_event("/eb/%s/ip" % bl.ENV_NAME)
    st = rt.begin(event)
    proc, t0 = runtime.spawn(rt, aws, log)
    rt.wait_results(1, timeout=60)
    stop(rt, proc)
    check_answer(st, runtime.label)
    return st.next_ns[0] - t0, st.result_ns[0] - t0


def cold(rt, aws, runtimes, runs, warmup, logdir):
    out = {r.key: {"first_next_ns": [], "first_answer_ns": []} for r in runtimes}
    for i in range(warmup + runs):
        for r in runtimes:
            with open(os.path.join(logdir, r.key + ".cold.log"), "ab") as log:
                nxt, ans = cold_run(rt, aws, r, log)
            if i >= warmup:
                out[r.key]["first_next_ns"].append(nxt)
                out[r.key]["first_answer_ns"].append(ans)
    return out


def invoke_series(rt, proc, event, count, aws=None):
    """count invocations one after another, each queued while the runtime
    waits in /next; returns (latencies in ns, CPU ns of the process, CPU
    seconds of the AWS double)."""
    st = rt.state
    lat = []
    aws0 = bl.proc_cpu_s(aws.proc.pid) if aws else 0.0
    cpu0 = bl.cpu_ns(proc.pid)
    threads = bl.threads(proc.pid)
    for _ in range(count):
        with st.cond:
            done = len(st.invocations)
            nexts = len(st.next_ns)
        t = bl.now_ns()
        rt.enqueue(event)
        rt.wait_results(done + 1)
        lat.append(st.result_ns[done] - t)
        entry = st.invocations[done]
        if entry["kind"] != "response" or bl.answer_of(entry)[0] != 200:
            raise RuntimeError("invocation failed: %s" % entry)
        rt.wait_next(nexts + 1)  # back in /next: the invocation's work is done
    cpu = bl.cpu_ns(proc.pid) - cpu0
    aws_cpu = (bl.proc_cpu_s(aws.proc.pid) - aws0) if aws else 0.0
    if bl.threads(proc.pid) != threads:
        raise RuntimeError("thread count changed; schedstat of live threads is not the whole")
    return lat, cpu, aws_cpu


def warm(rt, aws, runtime, requests, logdir):
    rt.begin()
    with open(os.path.join(logdir, runtime.key + ".warm.log"), "ab") as log:
        proc, _ = runtime.spawn(rt, aws, log)
        try:
            rt.wait_next(1)
            ip = bl.apigw_event("/eb/%s/ip" % bl.ENV_NAME)
            health = bl.apigw_event("/health")
            invoke_series(rt, proc, ip, 10)  # warm up: connections, lazy loading
            ip_lat, ip_cpu, aws_cpu = invoke_series(rt, proc, ip, requests, aws)
            invoke_series(rt, proc, health, 10)
            h_lat, h_cpu, _ = invoke_series(rt, proc, health, requests)
            hwm = bl.status_kb(proc.pid, "VmHWM")
            rss = bl.status_kb(proc.pid, "VmRSS")
            nthreads = bl.threads(proc.pid)
        finally:
            stop(rt, proc)
    return {
        "ip_latency_ns": ip_lat, "ip_cpu_ns_per_request": ip_cpu / requests,
        "aws_double_cpu_ns_per_request": aws_cpu * 1e9 / requests,
        "health_latency_ns": h_lat, "health_cpu_ns_per_request": h_cpu / requests,
        "peak_rss_kb": hwm, "rss_kb": rss, "threads": nthreads,
    }


# -- where python's start goes ---------------------------------------------------

PY_PHASES = """
import time
t0 = time.monotonic_ns()
import boto3
t1 = time.monotonic_ns()
c = boto3.client("ec2", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                 aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
t2 = time.monotonic_ns()
c.get_paginator("describe_instances")
t3 = time.monotonic_ns()
print(t0, t1, t2, t3)
"""


def python_phases(runs, pycache):
    """Medians (ns) of python3's own start (execve to the first line of a
    script), `import boto3`, boto3.client("ec2"), and its paginator."""
    out = {"interpreter": [], "import_boto3": [], "client": [], "paginator": []}
    for _ in range(runs + 1):
        proc, t_exec = bl.spawn_timed([bl.PYTHON, "-c", PY_PHASES], stdout=subprocess.PIPE,
                                      stdin=subprocess.DEVNULL,
                                      env={"PYTHONPYCACHEPREFIX": pycache, "PATH": "/usr/bin:/bin"})
        text = proc.communicate()[0]
        t0, t1, t2, t3 = (int(x) for x in text.split())
        out["interpreter"].append(t0 - t_exec)
        out["import_boto3"].append(t1 - t0)
        out["client"].append(t2 - t1)
        out["paginator"].append(t3 - t2)
    return {k: bl.median(v[1:]) for k, v in out.items()}


# -- callgrind -----------------------------------------------------------------------


def callgrind_session(rt, aws, requests, outfile, logdir):
    rt.begin()
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outfile,
            os.path.join(bl.BUILD, "bootstrap")]
    with open(os.path.join(logdir, "callgrind.log"), "ab") as log:
        env = bl.lambda_env(rt, aws, EBSSH_AWS_TIMEOUT_MS="30000")
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        rt.wait_next(1, timeout=120)
        ip = bl.apigw_event("/eb/%s/ip" % bl.ENV_NAME)
        st = rt.state
        for i in range(requests):
            rt.enqueue(ip)
            rt.wait_results(i + 1, timeout=120)
            if bl.answer_of(st.invocations[i])[0] != 200:
                raise RuntimeError("callgrind run: %s" % st.invocations[i])
            rt.wait_next(i + 2, timeout=120)
        stop(rt, proc, timeout=120)


def short_object(path):
    """libcrypto.so.3 -> libcrypto; the program -> bootstrap."""
    base = os.path.basename(path)
    return re.sub(r"\.so[.\d]*$", "", base) if base else "?"


def callgrind(rt, aws, requests, logdir):
    """Sessions of 0, 1 and `requests` requests. Per request: (K - 0) / K;
    the first request: 1 - 0; each later one, the breakdown's base:
    (K - 1) / (K - 1)."""
    files = {}
    for k in (0, 1, requests):
        files[k] = os.path.join(logdir, "callgrind.%d.out" % k)
        callgrind_session(rt, aws, k, files[k], logdir)
    t0, s0, _ = bl.parse_callgrind(files[0])
    start_obj = {}
    for (obj, _), v in s0.items():
        start_obj[short_object(obj)] = start_obj.get(short_object(obj), 0) + v
    t1, s1, i1 = bl.parse_callgrind(files[1])
    tk, sk, ik = bl.parse_callgrind(files[requests])
    later = requests - 1

    def per(a, b):
        return {k: (b.get(k, 0) - a.get(k, 0)) / later for k in set(a) | set(b)}

    self_per, incl_per = per(s1, sk), per(i1, ik)
    by_obj = {}
    for (obj, _), v in self_per.items():
        by_obj[short_object(obj)] = by_obj.get(short_object(obj), 0) + v
    top_self = sorted(self_per.items(), key=lambda kv: -kv[1])[:12]
    # The program's own functions, inclusive: where a request's work starts.
    prog = os.path.realpath(os.path.join(bl.BUILD, "bootstrap"))
    own = [(k, v) for k, v in incl_per.items()
           if os.path.realpath(k[0]) == prog and k[1] not in ("main", "(below main)")]
    top_own = sorted(own, key=lambda kv: -kv[1])[:16]
    return {"startup_instructions": t0, "instructions_per_request": (tk - t0) / requests,
            "first_request_instructions": t1 - t0,
            "later_request_instructions": (tk - t1) / later,
            "requests": requests,
            "startup_by_object": sorted(start_obj.items(), key=lambda kv: -kv[1]),
            "by_object": sorted(by_obj.items(), key=lambda kv: -kv[1]),
            "top_self": [[short_object(o), f, v] for (o, f), v in top_self],
            "top_inclusive": [[f, v] for (_, f), v in top_own]}


# -- report --------------------------------------------------------------------------


def passfail(ok):
    return "**pass**" if ok else "**FAIL**"


def report(res, runtimes, args):
    keys = [r.key for r in runtimes]
    label = {r.key: r.label for r in runtimes}
    ebssh = [k for k in keys if k != "python"]
    has_py = "python" in keys
    lines = []
    say = lines.append

    say("Machine: %s. Date: %s." % (bl.machine(), time.strftime("%Y-%m-%d %H:%M %Z")))
    say("")
    if "cold" in res:
        c = res["cold"]
        say("### Cold start (%d runs per runtime, interleaved; ms from execve)" % args.runs)
        say("")
        rows = []
        for k in keys:
            n, a = c[k]["first_next_ns"], c[k]["first_answer_ns"]
            row = [label[k], bl.fmt(bl.ms(bl.median(n))), bl.fmt(bl.ms(bl.pct(n, 90))),
                   bl.fmt(bl.ms(bl.median(a))), bl.fmt(bl.ms(bl.pct(a, 90)))]
            if has_py:
                row.append("1x" if k == "python" else bl.ratio(
                    bl.median(c["python"]["first_answer_ns"]), bl.median(a)))
            rows.append(row)
        hdr = ["runtime", "to first /next, median", "p90", "to first answer, median", "p90"]
        if has_py:
            hdr.append("first answer: python / this")
        say(bl.table(hdr, rows))
        say("")
    if "python_phases" in res:
        ph = res["python_phases"]
        say("Where python3 + boto3's start goes (medians of separate runs of each step):")
        say("")
        say(bl.table(["step", "ms"], [
            ["python3 itself: execve to a script's first line", bl.fmt(bl.ms(ph["interpreter"]))],
            ["import boto3", bl.fmt(bl.ms(ph["import_boto3"]))],
            ["boto3.client(\"ec2\")", bl.fmt(bl.ms(ph["client"]))],
            ["its describe_instances paginator", bl.fmt(bl.ms(ph["paginator"]))]]))
        say("")
    if "warm" in res:
        w = res["warm"]
        say("### Warm invocations (%d per route, one after another; one process per runtime)"
            % args.requests)
        say("")
        rows = []
        for k in keys:
            x = w[k]
            rows.append([label[k],
                         bl.fmt(bl.ms(bl.median(x["ip_latency_ns"]))),
                         bl.fmt(bl.ms(bl.pct(x["ip_latency_ns"], 90))),
                         bl.fmt(bl.ms(x["ip_cpu_ns_per_request"])),
                         bl.fmt(bl.ms(x["aws_double_cpu_ns_per_request"])),
                         bl.fmt(bl.ms(bl.median(x["health_latency_ns"]))),
                         bl.fmt(bl.ms(x["health_cpu_ns_per_request"])),
                         bl.fmt(x["peak_rss_kb"] / 1024.0), x["threads"]])
        say(bl.table(["runtime", "ip: queued to answer, median ms", "p90 ms", "ip: CPU ms/request",
                      "AWS double's CPU ms/request", "health: median ms", "health: CPU ms/request", "peak RSS MB", "threads"],
                     rows))
        say("")
        if has_py:
            rows = []
            for k in ebssh:
                x, p = w[k], w["python"]
                rows.append([label[k],
                             bl.ratio(bl.median(p["ip_latency_ns"]), bl.median(x["ip_latency_ns"])),
                             bl.ratio(p["ip_cpu_ns_per_request"], x["ip_cpu_ns_per_request"]),
                             bl.ratio(bl.median(p["health_latency_ns"]),
                                      bl.median(x["health_latency_ns"])),
                             bl.ratio(p["health_cpu_ns_per_request"],
                                      x["health_cpu_ns_per_request"]),
                             bl.ratio(p["peak_rss_kb"], x["peak_rss_kb"])])
            say("Ratios, python / ebssh (higher: ebssh better):")
            say("")
            say(bl.table(["runtime", "ip latency", "ip CPU", "health latency", "health CPU",
                          "peak RSS"], rows))
            say("")
    if "callgrind" in res:
        g = res["callgrind"]
        say("### Instructions (callgrind, build/bootstrap; %d requests minus none)" % g["requests"])
        say("")
        say(bl.table(["", "instructions"], [
            ["start, first /next, exit (no request)", "{:,}".format(g["startup_instructions"])],
            ["the first request (one-time costs included)",
             "{:,}".format(g["first_request_instructions"])],
            ["each later request ((%d requests - 1) / %d)" % (g["requests"], g["requests"] - 1),
             "{:,.0f}".format(g["later_request_instructions"])],
            ["**per /eb/{env}/ip request ((%d requests - none) / %d)**" % (g["requests"],
                                                                         g["requests"]),
             "**{:,.0f}**".format(g["instructions_per_request"])]]))
        say("")
        st0 = g["startup_instructions"]
        say("Start to first /next and exit, by library (self cost; ld-linux is the dynamic "
            "loader: mapping and relocating the libraries):")
        say("")
        say(bl.table(["library", "instructions", "share"],
                     [[o, "{:,.0f}".format(v), "%.1f%%" % (100.0 * v / st0)]
                      for o, v in g["startup_by_object"][:8]]))
        say("")
        tot = g["later_request_instructions"]

        def share(v):
            return "%.1f%%" % (100.0 * v / tot)

        say("Each later request, by library (self cost):")
        say("")
        say(bl.table(["library", "instructions", "share"],
                     [[o, "{:,.0f}".format(v), share(v)] for o, v in g["by_object"]
                      if v >= tot * 0.005]))
        say("")
        say("Each later request, bootstrap's own functions (inclusive: with what they call):")
        say("")
        say(bl.table(["function", "instructions", "share"],
                     [[f, "{:,.0f}".format(v), share(v)] for f, v in g["top_inclusive"]]))
        say("")
        say("Each later request, top functions (self cost):")
        say("")
        say(bl.table(["library", "function", "instructions", "share"],
                     [[o, f, "{:,.0f}".format(v), share(v)] for o, f, v in g["top_self"]]))
        say("")

    goals = []
    main_key = "package" if "package" in keys else ("plain" if "plain" in keys else None)
    if main_key and "cold" in res:
        med = bl.ms(bl.median(res["cold"][main_key]["first_next_ns"]))
        goals.append(["start to first /next, median (%s)" % label[main_key], "<= 20 ms",
                      bl.fmt(med, "ms"), passfail(med <= GOAL_FIRST_NEXT_MS)])
    if main_key and "warm" in res:
        cpu = bl.ms(res["warm"][main_key]["ip_cpu_ns_per_request"])
        goals.append(["CPU per /eb/{env}/ip request (%s)" % label[main_key], "< 1 ms",
                      bl.fmt(cpu, "ms"), passfail(cpu < GOAL_CPU_MS)])
        rss = res["warm"][main_key]["peak_rss_kb"]
        goals.append(["peak RSS over %d + %d requests (%s)" % (args.requests, args.requests,
                                                               label[main_key]),
                      "< 16 MB", bl.fmt(rss / 1024.0, "MB"), passfail(rss < GOAL_RSS_KB)])
    if main_key and has_py and "cold" in res:
        r = bl.median(res["cold"]["python"]["first_answer_ns"]) / bl.median(
            res["cold"][main_key]["first_answer_ns"])
        goals.append(["first answer vs python + boto3 (%s)" % label[main_key], ">= 10x faster",
                      "%.1fx" % r, passfail(r >= GOAL_FIRST_ANSWER_RATIO)])
    if goals:
        say("### Goals (issue 3)")
        say("")
        say(bl.table(["goal", "target", "measured", ""], goals))
        say("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=50, help="cold starts per runtime (50)")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured cold starts first (2)")
    ap.add_argument("--requests", type=int, default=500, help="warm invocations per route (500)")
    ap.add_argument("--callgrind-requests", type=int, default=100,
                    help="requests of the callgrind session (100; at least 2)")
    ap.add_argument("--only", default="package,plain,python",
                    help="runtimes, comma-separated (package, plain, python)")
    ap.add_argument("--skip", default="", help="phases to skip: cold,warm,callgrind")
    ap.add_argument("--zip", default=os.path.join(bl.BUILD, "lambda.zip"))
    ap.add_argument("--json", help="also write the raw numbers here")
    ap.add_argument("--keep", action="store_true", help="keep the logs and callgrind files")
    args = ap.parse_args()
    only = [k for k in args.only.split(",") if k]
    if args.callgrind_requests < 2:
        ap.error("--callgrind-requests: at least 2")
    skip = set(k for k in args.skip.split(",") if k)

    logdir = tempfile.mkdtemp(prefix="ebssh-bench-")
    root = None
    runtimes = []
    notes = []
    if "package" in only:
        if os.geteuid() != 0:
            notes.append("package: skipped (chroot needs root)")
        elif not os.path.exists(args.zip):
            notes.append("package: skipped (%s missing: make package)" % args.zip)
        else:
            root = bl.package_root(args.zip)
            runtimes.append(Runtime("package", "ebssh package (chroot)", ["/var/task/bootstrap"],
                                    root=root))
    if "plain" in only:
        runtimes.append(Runtime("plain", "ebssh build/bootstrap", [os.path.join(bl.BUILD,
                                                                                "bootstrap")]))
    if "python" in only:
        runtimes.append(Runtime("python", "python3 + boto3",
                                [bl.PYTHON, os.path.join(ALT, "python_runtime.py")],
                                {"_HANDLER": "boto3_handler.handler", "LAMBDA_TASK_ROOT": ALT,
                                 "PYTHONPYCACHEPREFIX": os.path.join(logdir, "pycache")}))
    if not runtimes:
        sys.exit("lambda_cold_start: nothing to measure (%s)" % "; ".join(notes))

    res = {}
    rt = bl.RuntimeApi()
    try:
        with bl.AwsDouble() as aws:
            if "cold" not in skip:
                res["cold"] = cold(rt, aws, runtimes, args.runs, args.warmup, logdir)
            if "cold" not in skip and "python" in only:
                res["python_phases"] = python_phases(min(args.runs, 20),
                                                     os.path.join(logdir, "pycache"))
            if "warm" not in skip:
                res["warm"] = {r.key: warm(rt, aws, r, args.requests, logdir) for r in runtimes}
            if "callgrind" not in skip and "plain" in only:
                if shutil.which("valgrind") and shutil.which("callgrind_annotate"):
                    res["callgrind"] = callgrind(rt, aws, args.callgrind_requests, logdir)
                else:
                    notes.append("callgrind: skipped (valgrind missing)")
    finally:
        rt.close()
        if root:
            bl.remove_root(root)
        if args.keep:
            print("logs in %s" % logdir, file=sys.stderr)
        else:
            shutil.rmtree(logdir, ignore_errors=True)

    print(report(res, runtimes, args))
    for n in notes:
        print("Note: " + n)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": bl.machine(), "args": vars(args), "results": res}, f, indent=1)


if __name__ == "__main__":
    main()
