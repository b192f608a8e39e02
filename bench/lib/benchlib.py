"""Shared plumbing of the bench scripts (bench/*.py), on Debian's /usr/bin/python3.

- RuntimeApi: the Runtime API double of tests/doubles/runtime_api.py, served
  from a thread of the bench process, with a CLOCK_MONOTONIC timestamp of
  every /next it receives and of every /response or /error it records, so a
  run can be timed from the moment its process is spawned.
- The AWS double (tests/doubles/harness.AwsDouble) and its environment.
- API Gateway events, the package unzipped into an empty root, statistics,
  a process's CPU time and peak RSS, and the markdown tables the scripts print.

Timestamps are time.monotonic_ns() (CLOCK_MONOTONIC, shared by every process
of the machine).
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("EBSSH_BUILD") or os.path.join(ROOT, "build")
VECTORS = os.environ.get("EBSSH_VECTORS") or os.path.join(ROOT, "tests", "vectors")
PYTHON = "/usr/bin/python3"
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

import harness  # noqa: E402
import runtime_api  # noqa: E402
from harness import SESSION  # noqa: E402

ENV_NAME = "my-env-production"
# What /eb/my-env-production/ip answers with the AWS double's bundled fixture.
EXPECTED_IP = "54.210.1.12\n54.210.1.11\n54.210.1.13\n"


def now_ns():
    return time.monotonic_ns()


# -- the Runtime API double, timed -------------------------------------------


class TimedState(runtime_api.State):
    def __init__(self, max_payload=runtime_api.DEFAULT_MAX_PAYLOAD):
        super().__init__(max_payload)
        self.next_ns = []  # when each GET /next was received
        self.result_ns = []  # when each /response, /error or /init/error was recorded


class TimedHandler(runtime_api.Handler):
    def next(self):
        t = now_ns()
        with self.state.cond:
            self.state.next_ns.append(t)
        super().next()

    def record(self, kind, request_id, status, body):
        t = now_ns()
        with self.state.cond:
            self.state.result_ns.append(t)
        super().record(kind, request_id, status, body)


class RuntimeApi:
    """The Runtime API double on 127.0.0.1, served by a thread of this
    process. Each run (one bootstrap process) gets a fresh state: begin()."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), TimedHandler)
        self.server.daemon_threads = True
        self.server.state = TimedState()
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                       daemon=True)
        self.thread.start()

    @property
    def state(self):
        return self.server.state

    def begin(self, *events):
        """A fresh state with these events queued; returns it."""
        st = TimedState()
        with st.cond:
            st.enqueue([{"event": ev} for ev in events])
        self.server.state = st
        return st

    def enqueue(self, *events):
        st = self.state
        with st.cond:
            return st.enqueue([{"event": ev} for ev in events])

    def wait_results(self, count, timeout=60):
        """Blocks until count results are recorded; returns the state."""
        st = self.state
        end = time.monotonic() + timeout
        with st.cond:
            while len(st.invocations) + len(st.init_errors) < count:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError("%d of %d results after %ss: %s" % (
                        len(st.invocations) + len(st.init_errors), count, timeout,
                        st.results()))
                st.cond.wait(left)
        return st

    def wait_next(self, count, timeout=60):
        """Blocks until count /next calls were received."""
        st = self.state
        end = time.monotonic() + timeout
        while True:
            with st.cond:
                if len(st.next_ns) >= count:
                    return st
            if time.monotonic() > end:
                raise TimeoutError("no /next after %ss" % timeout)
            time.sleep(0.0005)

    def shutdown_runtime(self):
        """From now on /next answers 500: the runtime under test exits."""
        st = self.state
        with st.cond:
            st.shutdown = True
            st.cond.notify_all()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# -- the AWS double --------------------------------------------------------------


AwsDouble = harness.AwsDouble


# -- events --------------------------------------------------------------------


def apigw_event(path, method="GET", headers=None):
    """An API Gateway REST (payload 1.0) proxy event, from the powertools sample."""
    with open(os.path.join(VECTORS, "events", "powertools-python", "apiGatewayProxyEvent.json"),
              encoding="utf-8") as f:
        ev = json.load(f)
    hdrs = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "Accept": "*/*"}
    hdrs.update(headers or {})
    ev.update({"resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": hdrs,
               "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
               "queryStringParameters": None, "multiValueQueryStringParameters": None,
               "pathParameters": {"proxy": path.lstrip("/")}, "body": None,
               "isBase64Encoded": False})
    ev["requestContext"].update({"httpMethod": method, "path": "/prod" + path,
                                 "resourcePath": "/{proxy+}", "stage": "prod"})
    return ev


def answer_of(entry):
    """(statusCode, body) of a recorded /response."""
    doc = json.loads(entry["body"])
    return doc.get("statusCode"), doc.get("body")


# -- environments ----------------------------------------------------------------


def lambda_env(rt, aws, **extra):
    """A Lambda-like environment, built from nothing (as Lambda does; usable
    inside the empty root): the Runtime API, the function's settings and the
    session key of the AWS double."""
    ak, sk, tok = SESSION
    env = {
        "AWS_LAMBDA_RUNTIME_API": rt.address,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": ak,
        "AWS_SECRET_ACCESS_KEY": sk,
        "AWS_SESSION_TOKEN": tok,
        "AWS_ENDPOINT_URL": aws.url,
        "AWS_ENDPOINT_URL_EC2": aws.url,
        "AWS_LAMBDA_FUNCTION_NAME": "ebssh",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    env.update(extra)
    return env


# -- the package in an empty root ---------------------------------------------------


def package_root(zip_path):
    """Unzips the package into a fresh empty root (only var/task and tmp);
    returns the root's path (remove it with shutil.rmtree)."""
    root = tempfile.mkdtemp(prefix="ebssh-bench-root-")
    os.makedirs(os.path.join(root, "var", "task"))
    os.makedirs(os.path.join(root, "tmp"))
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    subprocess.run(["unzip", "-q", zip_path, "-d", os.path.join(root, "var", "task")], check=True)
    return root


def remove_root(root):
    shutil.rmtree(root, ignore_errors=True)


def spawn_timed(argv, root=None, **popen):
    """Starts argv (chroot-ed into root when given) and returns (Popen,
    t_exec): the CLOCK_MONOTONIC time taken in the child just before it
    calls execve, so that the parent's fork (Python forks, rather than
    vforks, when there is a preexec_fn: ~1.5 ms of this machine) is not
    counted against the program started."""
    r, w = os.pipe()

    def before_exec():
        if root:
            os.chroot(root)
            os.chdir("/")
        os.write(w, b"%d" % time.monotonic_ns())

    try:
        proc = subprocess.Popen(argv, preexec_fn=before_exec, close_fds=True, **popen)
    finally:
        os.close(w)
    with os.fdopen(r, "rb") as f:
        t = f.read()
    return proc, int(t)


# -- a process's resources -------------------------------------------------------------


def cpu_ns(pid):
    """CPU time (user + system) so far of every live thread of pid, in ns,
    from /proc/<pid>/task/*/schedstat (nanosecond accounting); threads
    already gone are not counted (the bench processes have one thread)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def proc_cpu_s(pid):
    """CPU seconds (user + system) of pid, threads gone included, from
    /proc/<pid>/stat (clock-tick resolution: 10 ms)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def status_kb(pid, field):
    """A field of /proc/<pid>/status in kB (VmHWM: peak RSS, VmRSS)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


# -- numbers and tables -----------------------------------------------------------------


def pct(values, p):
    """The p-th percentile (nearest rank) of values."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def median(values):
    return statistics.median(values)


def ms(ns):
    return ns / 1e6


def fmt(x, unit=""):
    if x != x:  # NaN
        return "n/a"
    if abs(x) >= 100:
        s = "%.0f" % x
    elif abs(x) >= 10:
        s = "%.1f" % x
    elif abs(x) >= 1:
        s = "%.2f" % x
    else:
        s = "%.3f" % x
    return s + (" " + unit if unit else "")


def ratio(a, b):
    """a / b as "12.3x"."""
    if not b:
        return "n/a"
    r = a / b
    return ("%.0fx" if r >= 100 else "%.1fx" if r >= 10 else "%.2fx") % r


def table(header, rows):
    """A markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def machine():
    """One line on the machine the numbers come from."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    nproc = os.cpu_count()
    kernel = os.uname().release
    gcc = subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True).stdout.strip()
    py = sys.version.split()[0]
    load = "%.2f %.2f %.2f" % os.getloadavg()
    return "%s, nproc %s, kernel %s, gcc %s, Python %s, load average %s" % (
        model or "unknown CPU", nproc, kernel, gcc, py, load)


# -- callgrind ------------------------------------------------------------------------


def parse_callgrind(path):
    """Reads a callgrind output file (events: Ir). Returns (total,
    self_cost, inclusive_cost): the costs keyed by (object, function);
    inclusive = self + the calls the function makes (recursion counted
    again; the code measured here does not recurse through its hot paths)."""
    names = {"ob": {}, "fn": {}, "fl": {}}
    kinds = {"ob": "ob", "cob": "ob", "fn": "fn", "cfn": "fn", "fl": "fl", "fi": "fl", "fe": "fl",
             "cfi": "fl", "cfl": "fl"}

    def name(kind, val):
        m = re.match(r"^\((\d+)\)(?: (.*))?$", val)
        if not m:
            return val
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), "?")

    npos = 1
    total = None
    obj = fn = "?"
    call = False
    self_cost, incl = {}, {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                cost = int(parts[npos]) if len(parts) > npos else 0
                key = (obj, fn)
                incl[key] = incl.get(key, 0) + cost
                if call:
                    call = False
                else:
                    self_cost[key] = self_cost.get(key, 0) + cost
                continue
            k, _, v = line.rstrip("\n").partition("=")
            if k in kinds and _:
                n = name(kinds[k], v)
                if k == "ob":
                    obj = n
                elif k == "fn":
                    fn = n
            elif k == "calls":
                call = True
            elif line.startswith("positions:"):
                npos = len(line.split()) - 1
            elif line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
    if total is None:
        total = sum(self_cost.values())
    return total, self_cost, incl
