#!/usr/bin/python3
"""The cost of `ebssh-proxy --auth iam` against API-key mode (issue 15 item 7:
within 1.02x): the same lookup, `ebssh-proxy --print --cache-ttl 0 NAME` (so
every run asks the service; the answer cache would hide the request), against
the same loopback double (answers 200 to anything, checks nothing), in
three modes:

  api-key        EBSSH_API_KEY, today's behaviour
  iam, profile   --auth iam --aws-profile bench: keys from ~/.aws/credentials
  iam, env       --auth iam, session credentials from AWS_ACCESS_KEY_ID,
                 AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (what a cached
                 assumed-role or SSO login amounts to: no STS call)

Measured: instructions of the proxy process under callgrind (the machine is
noisy; instruction counts are not), and wall time (median of --runs,
interleaved). Prints a Markdown table with the ratios to api-key mode.

    bench/proxy_iam.py [--runs N] [--no-callgrind]
"""

import argparse
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
    args = ["--print", "--cache-ttl", "0", "demo-env"]
    return [
        ("api-key", dict(base, EBSSH_API_KEY="k-0123456789abcdef"), args),
        ("iam, profile", base, ["--auth", "iam", "--aws-profile", "bench", "--aws-region", "eu-west-1"] + args),
        ("iam, env (session)", dict(base, AWS_ACCESS_KEY_ID="ASIABENCH00000000000", AWS_SECRET_ACCESS_KEY="s" * 40,
                                    AWS_SESSION_TOKEN="t" * 600, AWS_REGION="eu-west-1"), ["--auth", "iam"] + args),
    ]


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-callgrind", action="store_true")
    a = ap.parse_args()
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
    wall = {name: [] for name, _, _ in ms}
    for name, env, args in ms * 3:  # warm-up
        subprocess.run([PROXY] + args, env=env, capture_output=True, check=True)
    for _ in range(a.runs):
        for name, env, args in ms:
            t0 = time.perf_counter()
            p = subprocess.run([PROXY] + args, env=env, capture_output=True)
            wall[name].append(time.perf_counter() - t0)
            if p.returncode != 0:
                sys.exit("%s failed: %s" % (name, p.stderr.decode()))
    ins = {}
    if not a.no_callgrind and shutil.which("valgrind"):
        for name, env, args in ms:
            ins[name] = instructions([PROXY] + args, env)
    srv.shutdown()
    shutil.rmtree(home)
    ref_w = statistics.median(wall["api-key"])
    print("| mode | instructions | ratio | median ms | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, _, _ in ms:
        w = statistics.median(wall[name])
        i = ins.get(name)
        print("| %s | %s | %s | %.2f | %.3fx |" % (
            name, "%d" % i if i else "-", "%.4fx" % (i / ins["api-key"]) if i else "-", w * 1000, w / ref_w))
    if ins:
        worst = max(ins[n] / ins["api-key"] for n in ins)
        print("\nworst IAM/API-key instruction ratio: %.4fx (%s 1.02x)" % (worst, "within" if worst <= 1.02 else "OVER"))


if __name__ == "__main__":
    main()
