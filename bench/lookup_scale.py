#!/usr/bin/python3
"""The cost of a lookup against the size of the group (issue 18).

For each fleet size (4, 100, 1,000 and 5,000 instances by default) of one
Elastic Beanstalk environment, as the AWS double describes it (EC2-sized
instances: 2-3 network interfaces with secondary addresses, volumes, tags;
tests/doubles/awsdouble/fixtures.py fleet()), in pages of up to 1,000:

  lookup   GET /eb/{env}/ip/2 through build/ebssh-api against the double:
           instructions of the route (callgrind, --toggle-collect=routes_ip),
           CPU ms of ebssh-api (/proc/<pid>/task/*/schedstat) and wall ms at
           the client, cold (the first lookup of a fresh process) and warm (the
           median of the next ones), and ebssh-api's peak RSS (VmHWM).
  parse    the DescribeInstances parse alone (bench/tools/ec2_parse.c) over
           the same pages as the double renders them: instructions
           (callgrind, --toggle-collect=ec2_parse_describe_instances), CPU ms
           cold and warm, peak RSS; once against the product's aws/ec2.c and
           once against aws/ec2.c and aws/xml.c of --baseline (built from
           `git show` into <build>/bench/lookup/, never into the product).

Prints markdown tables and writes a plot of instructions per lookup against
size (docs/lookup_scale.png with matplotlib, else docs/lookup_scale.svg
written by this script).

  bench/lookup_scale.py [--sizes 4,100,1000,5000] [--baseline REV]
                        [--lookups 5] [--no-callgrind] [--plot PATH]

Runs on Debian's /usr/bin/python3; EBSSH_BUILD picks the build (build/).
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))

from benchlib import BUILD, ROOT  # noqa: E402
from harness import AwsDouble  # noqa: E402

# The revision whose parser this bench compares against ("today's": main before
# issue 18, the same parser as 35d25d3 on branch h-parse).
BASELINE = "2948eff"
ENV = "my-env-fleet"
OUT = os.path.join(BUILD, "bench", "lookup")
PAGE = 1000  # the most EC2 puts on one page


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, **kw)


# -- builds ---------------------------------------------------------------------


def pkg_flags():
    out = subprocess.run(["pkg-config", "--cflags", "--libs", "libcurl", "jansson", "openssl", "expat"],
                         capture_output=True, text=True, check=True).stdout.split()
    return out + ["-lpthread", "-lz"]


def build_tools(baseline):
    """<OUT>/ec2_parse (the product's parser) and <OUT>/ec2_parse_base
    (baseline's aws/ec2.c and aws/xml.c, with its aws/ec2.h and aws/xml.h)."""
    sh("make", "-s", "-C", ROOT, "BUILD=" + BUILD, "-j2", os.path.join(BUILD, "ebssh-api"),
       os.path.join(BUILD, "libebssh-aws.a"))
    os.makedirs(OUT, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    tool = os.path.join(HERE, "tools", "ec2_parse.c")
    common = ["-std=c11", "-D_GNU_SOURCE", "-O2", "-g", "-Wall", "-Wextra", "-Werror"]
    lib = os.path.join(BUILD, "libebssh-aws.a")
    sh(cc, *common, "-I", ROOT, "-o", os.path.join(OUT, "ec2_parse"), tool, lib, *pkg_flags())
    base = os.path.join(OUT, "base")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(os.path.join(base, "aws"))
    for f in ("aws/ec2.c", "aws/ec2.h", "aws/xml.c", "aws/xml.h"):
        text = subprocess.run(["git", "-C", ROOT, "show", f"{baseline}:{f}"], capture_output=True,
                              check=True).stdout
        with open(os.path.join(base, f), "wb") as fh:
            fh.write(text)
    # The baseline's files first; "../util/x.h" and the other aws headers
    # resolve against the tree (-I ROOT/aws).
    sh(cc, *common, "-I", base, "-I", ROOT, "-I", os.path.join(ROOT, "aws"),
       "-o", os.path.join(OUT, "ec2_parse_base"), tool,
       os.path.join(base, "aws", "ec2.c"), os.path.join(base, "aws", "xml.c"), lib, *pkg_flags())


# -- pages ----------------------------------------------------------------------


def render_pages(n):
    """The double's DescribeInstances answers for a fleet of n, as files."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
    from awsdouble import ec2, models
    from awsdouble.fixtures import Fixture

    fx = Fixture({"fleet": {"count": n, "environment": ENV}})
    op = models.operation("ec2", "DescribeInstances")
    paths = []
    for k in range(0, n, PAGE):
        page = fx.ordered[k:k + PAGE]
        token = f"token-{k + PAGE}" if k + PAGE < n else None
        body = ec2.ec2proto.document("DescribeInstancesResponse", ec2.XMLNS, "59dbff89-35bd-4eac-99ed-be587EXAMPLE",
                                     op.output_shape, {"Reservations": fx.reservations(page), "NextToken": token},
                                     extra=ec2.Ec2Service._extra(op))
        path = os.path.join(OUT, f"page-{n}-{k // PAGE}.xml")
        with open(path, "wb") as f:
            f.write(body)
        paths.append(path)
    return paths


def callgrind_total(out):
    """The instructions a callgrind output file counted; removes the file."""
    total = 0
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    os.unlink(out)
    return total


def callgrind(cmd, toggle):
    """Instructions inside toggle (inclusive) while cmd runs."""
    fd, out = tempfile.mkstemp(prefix="callgrind.", dir=OUT)
    os.close(fd)
    sh("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", f"--toggle-collect={toggle}", *cmd,
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return callgrind_total(out)


def parse_alone(tool, pages, n, with_callgrind):
    rounds = max(3, min(50, 20000 // n))
    res = json.loads(subprocess.run([tool, str(rounds)] + pages, capture_output=True, text=True,
                                    check=True).stdout)
    assert res["instances"] == n, res
    if with_callgrind:
        res["ir"] = callgrind([tool, "1"] + pages, "ec2_parse_describe_instances")
    return res


# -- lookups through ebssh-api ----------------------------------------------------


def task_cpu_ns(pid):
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def api_env(aws, home):
    env = aws.client_env(base={"PATH": "/usr/bin:/bin", "HOME": home})
    env.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                "AWS_EC2_METADATA_DISABLED": "true", "EBSSH_AWS_TIMEOUT_MS": "120000"})
    return env


class Api:
    """ebssh-api (possibly under valgrind) on a free loopback port."""

    def __init__(self, cmd, env, home):
        self.log = os.path.join(home, "api.log")
        self.proc = subprocess.Popen(cmd + [os.path.join(BUILD, "ebssh-api"), "--listen", "127.0.0.1:0",
                                            "--threads", "2"],
                                     env=env, stdout=subprocess.DEVNULL, stderr=open(self.log, "w"))
        deadline = time.time() + 60
        self.url = None
        while time.time() < deadline and self.url is None:
            with open(self.log) as f:
                for line in f:
                    if "listening on" in line:
                        self.url = "http://" + line.split("listening on")[1].split()[0].rstrip(",;")
            time.sleep(0.05)
        if self.url is None:
            self.stop()
            raise RuntimeError("ebssh-api did not start: " + open(self.log).read())

    def get(self, path):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        t0 = time.monotonic()
        body = opener.open(self.url + path, timeout=600).read().decode()
        return body, (time.monotonic() - t0) * 1000

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=600)


def lookups(n, k, with_callgrind, aws):
    aws.set_fixture({"fleet": {"count": n, "environment": ENV}})
    home = tempfile.mkdtemp(prefix="ebssh-home-", dir=OUT)
    env = api_env(aws, home)
    path = f"/eb/{ENV}/ip/2"
    api = Api([], env, home)
    try:
        pid = api.proc.pid
        c0 = task_cpu_ns(pid)
        body, cold_wall = api.get(path)
        cold_cpu = (task_cpu_ns(pid) - c0) / 1e6
        walls, cpus = [], []
        for _ in range(k):
            c0 = task_cpu_ns(pid)
            b, w = api.get(path)
            cpus.append((task_cpu_ns(pid) - c0) / 1e6)
            walls.append(w)
            assert b == body
        rss = vm_hwm_kib(pid)
    finally:
        api.stop()
    assert body.strip() and "." in body, body
    res = {"cold_wall_ms": cold_wall, "cold_cpu_ms": cold_cpu, "warm_wall_ms": statistics.median(walls),
           "warm_cpu_ms": statistics.median(cpus), "peak_rss_kib": rss}
    if with_callgrind:
        extra = max(1, k // 2)
        one = callgrind_api(env, home, path, 1)
        more = callgrind_api(env, home, path, 1 + extra)
        res["cold_ir"] = one
        res["warm_ir"] = (more - one) // extra
    return res


def callgrind_api(env, home, path, count):
    fd, out = tempfile.mkstemp(prefix="callgrind.", dir=OUT)
    os.close(fd)
    api = Api(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--toggle-collect=routes_ip"],
              env, home)
    try:
        for _ in range(count):
            api.get(path)
    finally:
        api.stop()
    return callgrind_total(out)


# -- report -----------------------------------------------------------------------


def fmt(v, d=1):
    return "-" if v is None else f"{v:,.{d}f}"


def plot(path, sizes, series):
    """Instructions per lookup against instances, log-log; series is
    [(label, [value or None per size])]."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if path.endswith(".png"):
            path = path[:-4] + ".svg"
        write_svg(path, sizes, series)
        return path
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, ys in series:
        pts = [(x, y) for x, y in zip(sizes, ys) if y]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("instances in the environment")
    ax.set_ylabel("instructions (callgrind)")
    ax.legend()
    fig.savefig(path, dpi=100)
    return path


def write_svg(path, sizes, series):
    import math

    w, h, ml, mr, mt, mb = 720, 440, 80, 200, 30, 50
    vals = [y for _, ys in series for y in ys if y]
    xs = [x for x in sizes if x > 0]
    lx0, lx1 = math.log10(min(xs)), math.log10(max(xs))
    ly0, ly1 = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
    lx1 = lx1 if lx1 > lx0 else lx0 + 1
    ly1 = ly1 if ly1 > ly0 else ly0 + 1

    def px(x):
        return ml + (math.log10(x) - lx0) / (lx1 - lx0) * (w - ml - mr)

    def py(y):
        return h - mb - (math.log10(y) - ly0) / (ly1 - ly0) * (h - mt - mb)

    colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{ml}" y="18" font-size="14">Instructions per lookup against instances (log-log)</text>']
    for e in range(int(ly0), int(ly1) + 1):
        y = py(10 ** e)
        out.append(f'<line x1="{ml}" y1="{y:.1f}" x2="{w - mr}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{ml - 6}" y="{y + 4:.1f}" text-anchor="end">1e{e}</text>')
    for x in sizes:
        X = px(x)
        out.append(f'<line x1="{X:.1f}" y1="{mt}" x2="{X:.1f}" y2="{h - mb}" stroke="#eee"/>')
        out.append(f'<text x="{X:.1f}" y="{h - mb + 16}" text-anchor="middle">{x:,}</text>')
    out.append(f'<text x="{(ml + w - mr) / 2:.0f}" y="{h - 12}" text-anchor="middle">instances</text>')
    out.append(f'<rect x="{ml}" y="{mt}" width="{w - ml - mr}" height="{h - mt - mb}" fill="none" stroke="#333"/>')
    for i, (label, ys) in enumerate(series):
        c = colors[i % len(colors)]
        pts = [(px(x), py(y)) for x, y in zip(sizes, ys) if y]
        if pts:
            out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                       % (c, " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)))
        for a, b in pts:
            out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{c}"/>')
        ly = mt + 20 + 20 * i
        out.append(f'<line x1="{w - mr + 10}" y1="{ly}" x2="{w - mr + 30}" y2="{ly}" stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{w - mr + 36}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="4,100,1000,5000")
    ap.add_argument("--baseline", default=BASELINE, help="the revision whose parser is compared")
    ap.add_argument("--lookups", type=int, default=5, help="warm lookups per size")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--no-api", action="store_true", help="the parse alone")
    ap.add_argument("--plot", default=os.path.join(ROOT, "docs", "lookup_scale.png"))
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    cg = not a.no_callgrind
    build_tools(a.baseline)
    rows = {}
    aws = None if a.no_api else AwsDouble(max_skew=None).start()
    try:
        for n in sizes:
            log(f"lookup_scale: {n} instances")
            pages = render_pages(n)
            r = {"pages": len(pages), "bytes": sum(os.path.getsize(p) for p in pages)}
            r["base"] = parse_alone(os.path.join(OUT, "ec2_parse_base"), pages, n, cg)
            r["lean"] = parse_alone(os.path.join(OUT, "ec2_parse"), pages, n, cg)
            if aws is not None:
                r["api"] = lookups(n, a.lookups, cg, aws)
            rows[n] = r
            log(json.dumps(r))
    finally:
        if aws is not None:
            aws.stop()
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    base = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", a.baseline], capture_output=True, text=True).stdout.strip()
    print(f"lookup_scale.py, {datetime.date.today()}, HEAD {rev}, baseline {base}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs; pages of {PAGE}; warm = median of {a.lookups}\n")
    print("| instances | pages | XML bytes/instance | parse Ir/instance, baseline | parse Ir/instance, lean | lean/baseline "
          "| parse CPU ms cold / warm, baseline | parse CPU ms cold / warm, lean | parse peak RSS KiB, baseline / lean |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in rows.items():
        b, l = r["base"], r["lean"]
        bi, li = (b.get("ir", 0) / n or None), (l.get("ir", 0) / n or None)
        ratio = f"{li / bi:.2f}" if bi and li else "-"
        print(f"| {n:,} | {r['pages']} | {r['bytes'] / n:,.0f} | {fmt(bi, 0)} | {fmt(li, 0)} | {ratio} "
              f"| {fmt(b['cold_ms'], 2)} / {fmt(b['warm_ms'], 2)} | {fmt(l['cold_ms'], 2)} / {fmt(l['warm_ms'], 2)} "
              f"| {b['peak_rss_kib']:,} / {l['peak_rss_kib']:,} |")
    if not a.no_api:
        print("\n| instances | lookup Ir cold | lookup Ir warm | CPU ms cold | CPU ms warm | wall ms cold | wall ms warm "
              "| ebssh-api peak RSS KiB |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n, r in rows.items():
            p = r["api"]
            print(f"| {n:,} | {fmt(p.get('cold_ir'), 0)} | {fmt(p.get('warm_ir'), 0)} | {fmt(p['cold_cpu_ms'], 2)} "
                  f"| {fmt(p['warm_cpu_ms'], 2)} | {fmt(p['cold_wall_ms'], 1)} | {fmt(p['warm_wall_ms'], 1)} "
                  f"| {p['peak_rss_kib']:,} |")
    if cg:
        series = [("parse, baseline", [rows[n]["base"].get("ir") for n in sizes]),
                  ("parse, lean", [rows[n]["lean"].get("ir") for n in sizes])]
        if not a.no_api:
            series.append(("lookup (routes_ip), warm", [rows[n]["api"].get("warm_ir") for n in sizes]))
        path = plot(a.plot, sizes, series)
        print(f"\nplot: {os.path.relpath(path, ROOT)}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({str(k): v for k, v in rows.items()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
