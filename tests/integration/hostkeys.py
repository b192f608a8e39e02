#!/usr/bin/python3
"""Host keys end to end without ssh: the AWS double's GetConsoleOutput seen
by boto3 (EC2's shape, wrapped base64, no output yet, Latest on a non-Nitro
instance, the 64 KiB tail, the console control), build/ebssh-api's
/hostkeys routes against it (the same instance as /ip/{n}, text and JSON,
the Latest-then-snapshot fallback in the request log, 404 NoHostKeys, AWS
errors), and build/ebssh-proxy --known-hosts against ebssh-api (both forms
of %H, the cache and its stale fallback, nothing printed on a refused or
missing answer). Prints TAP."""

import base64
import concurrent.futures
import copy
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.dont_write_bytecode = True
ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ["EBSSH_BUILD"]
API = os.path.join(BUILD, "ebssh-api")
PROXY = os.path.join(BUILD, "ebssh-proxy")
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from api_server import ApiServer  # noqa: E402
from child import sanitizer_clean  # noqa: E402
from harness import AwsDouble, boto3_client  # noqa: E402
from route_cases import aws_env  # noqa: E402
from tap import Tap  # noqa: E402

API_KEY = "hostkeys-test-key-0123456789"
FIXTURE = os.path.join(ROOT, "tests", "doubles", "fixtures", "instances.json")
# my-env-production, public order: 60002, 60001, 60003; private adds 60005 last.
PROD_PUBLIC = ["i-0a1b2c3d4e5f60002", "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60003"]
PROD_PRIVATE = PROD_PUBLIC + ["i-0a1b2c3d4e5f60005"]


def make_keys(tmp, name, types=("ed25519", "ecdsa")):
    """ssh-keygen host keys; returns their public lines ("type base64 comment")."""
    lines = []
    for t in types:
        path = os.path.join(tmp, f"{name}_{t}")
        subprocess.run(["ssh-keygen", "-q", "-t", t, "-N", "", "-C", f"root@{name}", "-f", path],
                       check=True, stdin=subprocess.DEVNULL)
        with open(path + ".pub") as f:
            lines.append(f.read().strip())
    return lines


def bare(lines):
    return ["%s %s" % tuple(line.split()[:2]) for line in lines]


class Api(ApiServer):
    def __init__(self, aws):
        super().__init__(["--listen", "127.0.0.1:0", "--api-key", API_KEY], aws_env(aws))

    def get(self, path, accept=None):
        req = urllib.request.Request(self.url + path, headers={"x-api-key": API_KEY})
        if accept:
            req.add_header("Accept", accept)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=20) as r:
                return r.status, r.headers.get("Content-Type"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read().decode()


def console_calls(aws):
    return [(r["params"].get("InstanceId"), r["params"].get("Latest"), r["status"])
            for r in aws.requests() if r.get("action") == "GetConsoleOutput"]


# ---- the double ----

def test_double(tap, aws, keys):
    ec2 = boto3_client(aws, retries={"max_attempts": 1})
    raw_bodies = []
    ec2.meta.events.register("after-call.ec2.GetConsoleOutput",
                             lambda http_response, **kw: raw_bodies.append(http_response.content))
    iid = PROD_PUBLIC[0]
    out = ec2.get_console_output(InstanceId=iid)
    tap.eq((out["InstanceId"], "Output" in out), (iid, True),
           "double: GetConsoleOutput through botocore's parser")
    text = out.get("Output", "")  # botocore decodes the base64 itself
    block = "-----BEGIN SSH HOST KEY KEYS-----\r\n" + "\r\n".join(keys[iid]) + \
        "\r\n-----END SSH HOST KEY KEYS-----\r\n"
    tap.ok(block in text and "<14>" in text and "cloud-init" in text and "\x1b[0;32m" in text,
           "double: a cloud-init console around the fixture's host_keys", text[-800:])
    m = re.search(rb"<instanceId>(.*)</instanceId>\s*<timestamp>.*</timestamp>\s*"
                  rb"<output>([^<]*)</output>", raw_bodies[-1] if raw_bodies else b"", re.S)
    raw = m.group(2).decode() if m else ""
    tap.ok(m and all(len(x) <= 76 for x in raw.split("\n")) and raw.count("\n") > 10 and
           base64.b64decode(raw).decode() == text,
           "double: EC2's element order, base64 wrapped at 76 columns", raw_bodies[-1:])
    out = ec2.get_console_output(InstanceId="i-0ee0000000000bad1")
    tap.ok("Output" not in out and out["InstanceId"] == "i-0ee0000000000bad1",
           "double: an instance that printed nothing has no <output>", out)
    for iid_bad, code in (("i-0000000000000dead", "InvalidInstanceID.NotFound"),
                          ("i-XYZ", "InvalidInstanceID.Malformed")):
        try:
            ec2.get_console_output(InstanceId=iid_bad)
            got = None
        except ec2.exceptions.ClientError as e:
            got = e.response["Error"]["Code"]
        tap.eq(got, code, f"double: {code}")
    aws.control("console", {"instance_id": iid, "nitro": False})
    try:
        ec2.get_console_output(InstanceId=iid, Latest=True)
        got = None
    except ec2.exceptions.ClientError as e:
        got = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
    tap.eq(got, ("UnsupportedOperation", 400), "double: Latest on a non-Nitro instance: 400")
    out = ec2.get_console_output(InstanceId=iid, Latest=False)
    tap.ok("Output" in out, "double: the snapshot still answers without Latest")
    aws.control("console", {"instance_id": iid, "nitro": None})
    big = "".join("[%12.6f] line %d\r\n" % (i / 1000, i) for i in range(5000)) + "THE END\r\n"
    aws.control("console", {"instance_id": PROD_PUBLIC[2], "console_output": big})
    text = ec2.get_console_output(InstanceId=PROD_PUBLIC[2])["Output"].encode()
    tap.ok(len(text) == 65536 and text.endswith(b"THE END\r\n"),
           "double: the last 64 KiB of a longer console", len(text))
    aws.control("console", {"instance_id": PROD_PUBLIC[2], "console_output": None})
    try:
        aws.control("console", {"instance_id": "i-0000000000000dead", "host_keys": []})
        got = None
    except Exception as e:  # noqa: BLE001
        got = getattr(e, "status", e)
    tap.eq(got, 400, "double: the console control refuses an unknown instance")


# ---- ebssh-api ----

def test_api(tap, aws, api, keys):
    st, ctype, body = api.get("/eb/my-env-production/hostkeys")
    want = "".join(k + "\n" for k in bare(keys[PROD_PUBLIC[0]]))
    tap.ok(st == 200 and ctype.startswith("text/plain") and body == want,
           "api: /hostkeys is instance 1's keys as text lines", (st, ctype, body))
    for addr, ids in (("", PROD_PUBLIC), ("?address=private", PROD_PRIVATE)):
        got = []
        for n in range(1, len(ids) + 2):
            st, _, body = api.get(f"/eb/my-env-production/hostkeys/{n}{addr}", "application/json")
            st_ip, _, body_ip = api.get(f"/eb/my-env-production/ip/{n}{addr}", "application/json")
            if st != 200:
                got.append((st, st_ip))
                continue
            j, j_ip = json.loads(body), json.loads(body_ip)
            got.append((j["instance_id"], j_ip["instances"][0]["instance_id"],
                        ["%s %s" % (k["type"], k["key"]) for k in j["keys"]] ==
                        bare(keys[j["instance_id"]])))
        want = [(i, i, True) for i in ids] + [(404, 404)]
        tap.eq(got, want, "api: hostkeys/{n}%s is the instance of ip/{n}, with its keys" % addr)
    st, _, body = api.get("/asg/web-asg/hostkeys/2", "application/json")
    j = json.loads(body) if st == 200 else {}
    tap.ok(st == 200 and j.get("group") == "web-asg" and j.get("index") == 2,
           "api: the /asg twin", (st, body))

    aws.clear_requests()
    aws.control("console", {"instance_id": PROD_PUBLIC[1], "nitro": False})
    st, _, body = api.get("/eb/my-env-production/hostkeys/2")
    calls = console_calls(aws)
    tap.ok(st == 200 and body == "".join(k + "\n" for k in bare(keys[PROD_PUBLIC[1]])) and
           calls == [(PROD_PUBLIC[1], "true", 400), (PROD_PUBLIC[1], None, 200)],
           "api: Latest refused (not Nitro), then the boot snapshot", (st, body, calls))
    aws.control("console", {"instance_id": PROD_PUBLIC[1], "nitro": None})

    aws.control("console", {"instance_id": PROD_PUBLIC[0], "host_keys": None,
                            "console_output": "[    0.000000] Linux version 6.1\r\n"})
    st, ctype, body = api.get("/eb/my-env-production/hostkeys/1")
    j = json.loads(body) if ctype == "application/json" else {}
    tap.ok(st == 404 and j.get("code") == "NoHostKeys" and "no SSH host keys yet" in
           j.get("message", "") and PROD_PUBLIC[0] in j.get("message", ""),
           "api: a console without the block: 404 NoHostKeys that says so", (st, body))
    aws.control("console", {"instance_id": PROD_PUBLIC[0], "console_output": None,
                            "host_keys": keys[PROD_PUBLIC[0]]})

    aws.queue_faults("GetConsoleOutput", ["throttle", "throttle", "throttle"])
    st, _, body = api.get("/eb/my-env-production/hostkeys/1")
    tap.ok(st == 503 and json.loads(body).get("code") == "Throttled",
           "api: GetConsoleOutput still throttled after the retries: 503", (st, body))
    aws.queue_faults("GetConsoleOutput", ["error:UnauthorizedOperation:403:You are not "
                                          "authorized to perform this operation."])
    st, _, body = api.get("/eb/my-env-production/hostkeys/1")
    j = json.loads(body)
    tap.ok(st == 502 and j.get("code") == "AwsError" and "UnauthorizedOperation" in j["message"],
           "api: no ec2:GetConsoleOutput permission: 502 naming AWS's code", (st, body))
    aws.queue_faults("GetConsoleOutput", [])


# ---- ebssh-proxy --known-hosts ----

class TextService:
    """Answers every GET with 200 and one text body (after a pause, when
    given), and counts the requests: a service that says what a test wants,
    a bad body or a burst's one answer."""

    def __init__(self, body, pause=0):
        self.count = 0
        lock = threading.Lock()
        owner = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                with lock:
                    owner.count += 1
                if pause:
                    time.sleep(pause)
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def known_hosts(home, endpoint, host, *extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EBSSH_", "XDG_"))}
    env.update({"HOME": home, "EBSSH_ENDPOINT": endpoint, "EBSSH_API_KEY": API_KEY,
                "NO_PROXY": "127.0.0.1"})
    p = subprocess.run([PROXY, "--known-hosts", host, *extra], env=env, capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def test_proxy(tap, aws, api, keys, tmp):
    home = tempfile.mkdtemp(dir=tmp)
    rc, out, err = known_hosts(home, api.url, "my-env-production2", "--cache-ttl", "0")
    want = "".join("my-env-production2 %s\n" % k for k in bare(keys[PROD_PUBLIC[1]]))
    tap.ok(rc == 0 and out == want, "proxy: known_hosts lines for the alias", (rc, out, err))
    rc, out, err = known_hosts(home, api.url, "[my-env-production.3]:2222")
    want = "".join("[my-env-production.3]:2222 %s\n" % k for k in bare(keys[PROD_PUBLIC[2]]))
    tap.ok(rc == 0 and out == want, "proxy: [alias]:port as ssh passes %H for another port",
           (rc, out, err))
    rc, out, err = known_hosts(home, api.url, "my-env-production", "--address", "private",
                               "--index", "4")
    want = "".join("my-env-production %s\n" % k for k in bare(keys[PROD_PRIVATE[3]]))
    tap.ok(rc == 0 and out == want, "proxy: --address private --index 4", (rc, out, err))

    # The cache: a fresh entry answers without the service; a stale one when it fails.
    aws.clear_requests()
    rc1, out1, _ = known_hosts(home, api.url, "my-env-production1")
    rc2, out2, err2 = known_hosts(home, api.url, "my-env-production1")
    tap.ok(rc1 == 0 and rc2 == 0 and out1 == out2 and out1 and len(console_calls(aws)) == 1,
           "proxy: a fresh cached answer is used without asking", (rc2, err2))
    rc, out, err = known_hosts(home, "http://127.0.0.1:1", "my-env-production1")
    tap.ok(rc == 3 and out == "", "proxy: the cache is per endpoint", (rc, out, err))
    rc, out, err = known_hosts(home, api.url, "my-env-production1", "--cache-ttl", "0")
    tap.ok(rc == 0 and out == out1 and len(console_calls(aws)) == 2,
           "proxy: --cache-ttl 0 asks every time", (rc, err))
    aws.queue_faults("DescribeInstances", ["500"] * 3)  # ebssh-api's three attempts
    rc, out, err = known_hosts(home, api.url, "my-env-production1", "--cache-ttl", "0")
    tap.ok(rc == 0 and out == out1 and "warning" in err and "cached" in err and
           not aws.pending_faults(),
           "proxy: service failing (502): the cached keys, with a warning", (rc, out, err))

    # No keys: nothing printed, exit 3, the service's reason on stderr.
    aws.control("console", {"instance_id": PROD_PUBLIC[0], "host_keys": None})
    rc, out, err = known_hosts(home, api.url, "my-env-production1", "--cache-ttl", "0")
    tap.ok(rc == 3 and out == "" and "no SSH host keys yet" in err,
           "proxy: 404 NoHostKeys: nothing printed, exit 3, not the cache", (rc, out, err))
    aws.control("console", {"instance_id": PROD_PUBLIC[0], "host_keys": keys[PROD_PUBLIC[0]]})
    rc, out, err = known_hosts(home, api.url, "nope-env", "--cache-ttl", "0")
    tap.ok(rc == 3 and out == "", "proxy: unknown environment: exit 3", (rc, out, err))
    for host in ("my env", "[my-env]:0", "[my-env]", "-x", "my-env.0"):
        rc, out, err = known_hosts(home, api.url, host)
        tap.ok(rc == 2 and out == "" and err.startswith("ebssh-proxy:"),
               "proxy: malformed %%H %r: exit 2, no lookup" % host, (rc, out, err))

    good = bare(keys[PROD_PUBLIC[0]])
    for name, body in (("a comment line", good[0] + "\n# hello\n"),
                       ("a marker line", "@cert-authority * " + good[0] + "\n"),
                       ("a wildcard host", "* " + good[0] + "\n"),
                       ("a truncated key", good[0][:-8] + "\n"),
                       ("an address", "127.0.0.2\n"),
                       ("CRLF", good[0] + "\r\n")):
        bad = TextService(body)
        try:
            rc, out, err = known_hosts(home, bad.url, "my-env-production1", "--cache-ttl", "0")
        finally:
            bad.stop()
        tap.ok(rc == 3 and out == "" and "refused" in err,
               "proxy: a 200 with %s is refused whole, nothing printed" % name, (rc, out, err))
    entries = os.listdir(os.path.join(home, ".cache", "ebssh"))
    tap.ok(entries and all(re.fullmatch(r"[0-9a-f]{64}(\.lock)?", e) for e in entries),
           "proxy: cache entries (and their lookup locks) are hashed names only", entries)
    test_proxy_burst(tap, keys, tmp)


def test_proxy_burst(tap, keys, tmp):
    """ssh runs KnownHostsCommand for every connection: five at once on a
    cold cache make one lookup (the single-flight lock), and all five print
    the same lines."""
    home = tempfile.mkdtemp(dir=tmp)
    lines = bare(keys[PROD_PUBLIC[0]])
    slow = TextService("".join(k + "\n" for k in lines), 0.5)
    try:
        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            runs = list(pool.map(lambda _: known_hosts(home, slow.url, "burst-env1"), range(5)))
    finally:
        slow.stop()
    want = "".join("burst-env1 %s\n" % k for k in lines)
    tap.eq([(rc, out) for rc, out, _ in runs], [(0, want)] * 5, "proxy: a cold burst of five all print the keys")
    tap.eq(slow.count, 1, "proxy: a cold burst of five --known-hosts makes one lookup")


def main():
    tap = Tap()
    for prog in (API, PROXY):
        if not os.access(prog, os.X_OK):
            tap.ok(False, "%s exists" % prog)
            sys.exit(tap.done())
    tmp = tempfile.mkdtemp(prefix="ebssh-hostkeys-")
    with open(FIXTURE) as f:
        fixture = json.load(f)
    keys = {}
    for inst in fixture["instances"]:
        if inst["state"] == "running" and inst.get("tags"):
            keys[inst["id"]] = make_keys(tmp, inst["id"])
            inst["host_keys"] = keys[inst["id"]]
    aws = AwsDouble().start()
    api = None
    try:
        aws.set_fixture(copy.deepcopy(fixture))
        api = Api(aws)
        tap.run(test_double, aws, keys)
        aws.set_fixture(copy.deepcopy(fixture))
        tap.run(test_api, aws, api, keys)
        aws.set_fixture(copy.deepcopy(fixture))
        tap.run(test_proxy, aws, api, keys, tmp)
    finally:
        if api:
            rc, log = api.stop(), api.stderr()
            tap.ok(rc == 0 and sanitizer_clean(log),
                   "ebssh-api stopped cleanly", log[-1500:])
        aws.stop()
        subprocess.run(["rm", "-rf", tmp])
    sys.exit(tap.done())


if __name__ == "__main__":
    main()
