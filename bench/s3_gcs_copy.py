#!/usr/bin/env python3
# test-python: tools
"""S3 -> GCS copy (issue 16 item 7): ebssh's streamed copy against the seed's
way rebuilt with the official Node clients, through the same doubles, in
the same run.

    $(scripts/tools-python.sh) bench/s3_gcs_copy.py [--sizes 1,64,1024] [--reps 3]
        [--big-reps 1] [--big-gib 2] [--json FILE]
    ... --sizes 1 --reps 1 --big-gib 0      a smoke run (seconds)

Needs the tools' Python (moto), `make` (build/bootstrap; EBSSH_BUILD picks
another build directory), `make deps` (bench/node/node_modules), cc.

The doubles: S3 and KMS from moto's server (tests/lib/moto_aws.py), GCS from
tests/doubles/gcs_double.py run by bench/lib/gcs_double_fast.py (the same
double with its CRC32C in C: its Python one takes 0.2 s per MiB). Each
object (random bytes) is put into S3 once; sizes of 1 GiB and more by a
multipart upload (64 MiB parts), so their ETag is not an MD5.

Each run is a fresh process that first copies a 1 KiB object (untimed: KMS
Decrypt, the GCS token, connections; a warm container), then the object:
  - ebssh: build/bootstrap under the Runtime API double
    (tests/doubles/runtime_api.py) with GCS_BUCKET, GC_CREDENTIAL (the key
    KMS-encrypted in moto), STORAGE_EMULATOR_HOST; the event an S3 record
    delivered through SNS (the seed's path). Time: from handing the event to
    the Runtime API double to the invocation's response being recorded.
  - seed: `node bench/s3_gcs_seed.js` (GetObject to a file in a temporary
    directory, then bucket.upload with validation 'crc32c', resumable). Time:
    the script's own, GetObject sent to the upload's answer; Node's start-up
    (process start to the modules loaded) is reported apart.
Peak RSS: VmHWM of the process's /proc/PID/status (ebssh: read by this
script after the response; Node: read by the script itself after the copy).
Every copy is checked: the GCS object's size and CRC32C are those of the S3
object's bytes. The GCS double is reset before each run (ebssh skips an
object already there with the same hash).

Then --big-gib N (default 2; 0: none): one ebssh-only copy of N GiB; its peak
RSS must be under 64 MiB (issue 16 item 3), else the exit status is 1.

Prints a Markdown table (medians; ratios ebssh/seed throughput and seed/ebssh
memory; the issue's goal at 1 GiB: >= 2x throughput, <= 1/4 memory) on
stdout, progress on stderr.
"""

import argparse
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(HERE, "lib"))

from child import die_with_parent, read_port, stop_process  # noqa: E402
from gcs_double import make_service_account  # noqa: E402
from gcs_double_fast import load as load_crc32c  # noqa: E402
from moto_aws import MotoAws  # noqa: E402
from runtime_api import Client as RuntimeApi  # noqa: E402

BUILD = os.environ.get("EBSSH_BUILD") or os.path.join(ROOT, "build")
BOOTSTRAP = os.path.join(BUILD, "bootstrap")
NODE_DIR = os.path.join(HERE, "node")
SEED_JS = os.path.join(HERE, "s3_gcs_seed.js")
GTOKEN_URL = "https://www.googleapis.com/oauth2/v4/token"
SRC = "ebssh-bench-src"
DST = "ebssh-bench-gcs"
WARMUP_KEY = "warmup/1k.bin"
MIB = 1 << 20
RSS_LIMIT_KIB = 64 * 1024
GOAL_SIZE_MIB = 1024


def log(msg):
    sys.stderr.write(f"[s3_gcs_copy] {msg}\n")
    sys.stderr.flush()


def crc_b64(crc):
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


def sns_event(key, etag, size):
    record = {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
              "eventTime": "2024-05-01T09:30:00.000Z", "eventName": "ObjectCreated:Put",
              "s3": {"s3SchemaVersion": "1.0", "configurationId": "backup",
                     "bucket": {"name": SRC, "arn": "arn:aws:s3:::" + SRC},
                     "object": {"key": key, "size": size, "eTag": etag, "sequencer": "0A1B2C3D4E5F678901"}}}
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                         "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:uploads:1",
                         "Sns": {"Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                                 "TopicArn": "arn:aws:sns:us-east-1:123456789012:uploads",
                                 "Subject": "Amazon S3 Notification",
                                 "Message": json.dumps({"Records": [record]}),
                                 "Timestamp": "2024-05-01T09:30:01.000Z"}}]}


def cpu_s(pid):
    """User + system CPU seconds of a process (its threads included)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


class FastGcs:
    """tests/doubles/gcs_double.py under bench/lib/gcs_double_fast.py."""

    def __init__(self, lib, key_file):
        args = [sys.executable, "-B", os.path.join(HERE, "lib", "gcs_double_fast.py"), lib,
                "--port", "0", "--key-file", key_file, "--accept-aud", GTOKEN_URL]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     preexec_fn=die_with_parent)
        try:
            self.url = f"http://127.0.0.1:{read_port(self.proc, 20, 'the GCS double')}"
        except RuntimeError:
            self.stop()
            raise

    def control(self, method, route, obj=None):
        import urllib.request
        data = None if obj is None else json.dumps(obj).encode()
        req = urllib.request.Request(f"{self.url}/__control/{route}", data=data, method=method)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=60) as resp:
            return json.loads(resp.read())

    def object(self, name):
        for o in self.control("GET", "objects"):
            if o["bucket"] == DST and o["name"] == name:
                return o
        return None

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc.stdout.close()
            self.proc = None


class Bench:
    def __init__(self, tmp, crc_lib):
        self.tmp = tmp
        self.crc = load_crc32c(crc_lib)
        key_file = os.path.join(tmp, "sa.json")
        make_service_account(key_file, "http://127.0.0.1:1/token")
        self.gcs = FastGcs(crc_lib, key_file)
        with open(key_file) as f:
            sa = json.load(f)
        sa["token_uri"] = self.gcs.url + "/token"
        self.key_file = os.path.join(tmp, "sa-with-token-uri.json")
        with open(self.key_file, "w") as f:
            json.dump(sa, f)
        self.moto = MotoAws().start()
        self.s3 = self.moto.client("s3")
        self.s3.create_bucket(Bucket=SRC)
        kms = self.moto.client("kms")
        key_id = kms.create_key(Description="ebssh bench GC_CREDENTIAL")["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key_id, Plaintext=json.dumps(sa).encode())["CiphertextBlob"]
        self.credential = base64.b64encode(blob).decode()
        self.objects = {}
        self.put(WARMUP_KEY, 1024)

    def put(self, key, size):
        """Random bytes of size into S3 under key (through a file: 2 GiB are
        never held here); remembers (size, etag, crc32c base64)."""
        path = os.path.join(self.tmp, "object.bin")
        crc = 0
        with open(path, "wb") as f:
            left = size
            while left:
                piece = os.urandom(min(left, 16 * MIB))
                crc = self.crc(piece, crc)
                f.write(piece)
                left -= len(piece)
        from boto3.s3.transfer import TransferConfig
        cfg = TransferConfig(multipart_threshold=GOAL_SIZE_MIB * MIB, multipart_chunksize=64 * MIB,
                             max_concurrency=2)
        t0 = time.monotonic()
        self.s3.upload_file(path, SRC, key, Config=cfg, ExtraArgs={"ContentType": "application/octet-stream"})
        os.unlink(path)
        etag = self.s3.head_object(Bucket=SRC, Key=key)["ETag"].strip('"')
        self.objects[key] = (size, etag, crc_b64(crc))
        log(f"put {key} ({size} bytes) into moto's S3 in {time.monotonic() - t0:.1f} s")

    def check(self, key):
        size, _, crc = self.objects[key]
        o = self.gcs.object(key)
        if o is None or int(o["size"]) != size or o["crc32c"] != crc:
            raise RuntimeError(f"GCS object {key}: {o}, expected size {size} crc32c {crc}")

    def run_ebssh(self, key):
        self.gcs.control("POST", "reset")
        rt = RuntimeApi()
        out = open(os.path.join(self.tmp, "bootstrap.log"), "wb")
        env = self.moto.client_env()
        env.update({"AWS_LAMBDA_RUNTIME_API": rt.address, "AWS_LAMBDA_FUNCTION_NAME": "ebssh-s3-gcs",
                    "HOME": self.tmp, "GCS_BUCKET": DST, "GC_CREDENTIAL": self.credential,
                    "STORAGE_EMULATOR_HOST": self.gcs.url, "PROJECT_ID": "ebssh-test",
                    "RETRY_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:s3-gcs-retry"})
        boot = subprocess.Popen([BOOTSTRAP], env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        try:
            for i, k in enumerate((WARMUP_KEY, key)):
                size, etag, _ = self.objects[k]
                deadline = int((time.time() + 900) * 1000)
                cpu0 = (self.doubles_cpu(), cpu_s(boot.pid))
                t0 = time.monotonic()
                rt.enqueue({"event": sns_event(k, etag, size), "deadline_ms": deadline})
                res = rt.wait(i + 1, timeout=900)
                t1 = time.monotonic()
                cpu1 = (self.doubles_cpu(), cpu_s(boot.pid))
                invs = res.get("invocations", [])
                if len(invs) != i + 1 or invs[-1]["kind"] != "response":
                    raise RuntimeError(f"ebssh: no response for {k}: {invs[-1:] or res}; see {out.name}")
                body = json.loads(invs[-1]["body"])
                if body.get("copied") != 1:
                    raise RuntimeError(f"ebssh: {k} not copied: {body}")
                self.check(k)
            hwm = vm_hwm_kib(boot.pid)
        finally:
            rt.shutdown()
            try:
                boot.wait(20)
            except subprocess.TimeoutExpired:
                boot.kill()
                boot.wait()
            rt.close()
            out.close()
        return {"copy_s": t1 - t0, "hwm_kib": hwm, "cpu_s": cpu1[1] - cpu0[1],
                "moto_cpu_s": cpu1[0]["moto"] - cpu0[0]["moto"], "gcs_cpu_s": cpu1[0]["gcs"] - cpu0[0]["gcs"]}

    def run_seed(self, key):
        self.gcs.control("POST", "reset")
        cfg = {"s3_endpoint": self.moto.url, "region": "us-east-1", "src_bucket": SRC,
               "gcs_endpoint": self.gcs.url, "key_file": self.key_file, "dst_bucket": DST,
               "tmp_dir": tempfile.mkdtemp(dir=self.tmp), "warmup_key": WARMUP_KEY, "key": key}
        cfg_path = os.path.join(self.tmp, "seed.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        env = self.moto.client_env()
        env["NODE_PATH"] = os.path.join(NODE_DIR, "node_modules")
        cpu0 = self.doubles_cpu()
        t0 = time.monotonic()
        p = subprocess.run(["node", SEED_JS, cfg_path], env=env, capture_output=True, text=True,
                           timeout=1800, preexec_fn=die_with_parent)
        wall = time.monotonic() - t0
        cpu1 = self.doubles_cpu()
        if p.returncode != 0:
            raise RuntimeError(f"node: exit {p.returncode}: {p.stderr[-3000:]}")
        r = json.loads(p.stdout.strip().splitlines()[-1])
        os.rmdir(cfg["tmp_dir"])
        self.check(key)
        return {"copy_s": r["copy_ms"] / 1000, "hwm_kib": r["vm_hwm_kib"], "startup_s": r["startup_ms"] / 1000,
                "download_s": r["download_ms"] / 1000, "upload_s": r["upload_ms"] / 1000, "process_s": wall,
                "cpu_s": r["cpu_ms"] / 1000,
                "moto_cpu_s": cpu1["moto"] - cpu0["moto"], "gcs_cpu_s": cpu1["gcs"] - cpu0["gcs"]}

    def doubles_cpu(self):
        return {"moto": cpu_s(self.moto.proc.pid), "gcs": cpu_s(self.gcs.proc.pid)}

    def close(self):
        self.moto.stop()
        self.gcs.stop()


def med(runs, field):
    return statistics.median(r[field] for r in runs)


def fmt_size(mib):
    return f"{mib // 1024} GiB" if mib >= 1024 and mib % 1024 == 0 else f"{mib} MiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1,64,1024", help="object sizes in MiB, comma-separated")
    ap.add_argument("--reps", type=int, default=3, help="runs per size and way (medians)")
    ap.add_argument("--big-reps", type=int, default=1, help="runs per way for sizes of 1 GiB and more")
    ap.add_argument("--big-gib", type=int, default=2, help="the ebssh-only RSS check's size in GiB (0: none)")
    ap.add_argument("--json", help="also write every run's figures here")
    ap.add_argument("--from-json", help="print the tables of an earlier run's --json FILE; run nothing")
    args = ap.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            results = json.load(f)
        results["sizes"] = {int(k): v for k, v in results["sizes"].items()}
        args.reps, args.big_reps = results.get("reps", args.reps), results.get("big_reps", args.big_reps)
        print(report(results, args, results.get("load")))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    for what, path in (("build/bootstrap (make)", BOOTSTRAP),
                       ("bench/node/node_modules (make deps)", os.path.join(NODE_DIR, "node_modules", "@aws-sdk"))):
        if not os.path.exists(path):
            sys.exit(f"s3_gcs_copy: {path} missing: {what}")
    lib = os.path.join(BUILD, "bench", "s3gcs", "libcrc32c.so")
    os.makedirs(os.path.dirname(lib), exist_ok=True)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-I", ROOT, os.path.join(ROOT, "util", "crc32c.c"),
                    "-o", lib, "-lcrypto", "-lpthread"], check=True)

    results = {"sizes": {}, "big": None, "reps": args.reps, "big_reps": args.big_reps,
               "load": open("/proc/loadavg").read().split()[:3]}
    failed = False
    with tempfile.TemporaryDirectory(prefix="s3gcs-bench-") as tmp:
        b = Bench(tmp, lib)
        try:
            for mib in sizes:
                key = f"objects/{mib}MiB.bin"
                b.put(key, mib * MIB)
                reps = args.big_reps if mib >= 1024 else args.reps
                runs = {"ebssh": [], "seed": []}
                for i in range(reps):
                    for way in ("ebssh", "seed"):
                        r = b.run_ebssh(key) if way == "ebssh" else b.run_seed(key)
                        runs[way].append(r)
                        log(f"{fmt_size(mib)} {way} #{i + 1}: {r['copy_s']:.3f} s, "
                            f"{mib / r['copy_s']:.1f} MiB/s, VmHWM {r['hwm_kib'] / 1024:.1f} MiB, CPU s: "
                            f"client {r['cpu_s']:.2f} moto {r['moto_cpu_s']:.2f} gcs {r['gcs_cpu_s']:.2f}")
                results["sizes"][mib] = runs
                b.s3.delete_object(Bucket=SRC, Key=key)
            if args.big_gib:
                key = f"objects/{args.big_gib}GiB.bin"
                b.put(key, args.big_gib << 30)
                r = b.run_ebssh(key)
                results["big"] = {"gib": args.big_gib, **r}
                log(f"{args.big_gib} GiB ebssh: {r['copy_s']:.1f} s, VmHWM {r['hwm_kib'] / 1024:.1f} MiB")
                failed = r["hwm_kib"] >= RSS_LIMIT_KIB
        finally:
            b.close()

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(report(results, args, results["load"]))
    return 1 if failed else 0


def report(results, args, load_at_start):
    load = open("/proc/loadavg").read().split()[:3]
    out = [f"S3 -> GCS copy, {platform.node()}, {os.cpu_count()} CPUs, load average "
           f"{' '.join(load_at_start or ['?'])} at the start, {' '.join(load)} at the end "
           f"(medians of {args.reps}, {args.big_reps} at 1 GiB and more)", "",
           "| size | ebssh s | ebssh MiB/s | seed s | seed MiB/s | seed download s | seed upload s "
           "| Node start-up s | ebssh VmHWM MiB | seed VmHWM MiB | throughput ebssh/seed | memory seed/ebssh |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    goal = None
    for mib, runs in results["sizes"].items():
        e, s = runs["ebssh"], runs["seed"]
        et, st = med(e, "copy_s"), med(s, "copy_s")
        eh, sh = med(e, "hwm_kib") / 1024, med(s, "hwm_kib") / 1024
        out.append(f"| {fmt_size(mib)} | {et:.3f} | {mib / et:.1f} | {st:.3f} | {mib / st:.1f} "
                   f"| {med(s, 'download_s'):.3f} | {med(s, 'upload_s'):.3f} | {med(s, 'startup_s'):.3f} "
                   f"| {eh:.1f} | {sh:.1f} | {st / et:.2f}x | {sh / eh:.2f}x |")
        if mib == GOAL_SIZE_MIB:
            goal = (st / et, sh / eh)
    out += ["", "The fastest run of each (other work on the machine only ever slows a run down):", "",
            "| size | ebssh s | ebssh MiB/s | seed s | seed MiB/s | throughput ebssh/seed |", "|---|---|---|---|---|---|"]
    for mib, runs in results["sizes"].items():
        et, st = min(r["copy_s"] for r in runs["ebssh"]), min(r["copy_s"] for r in runs["seed"])
        out.append(f"| {fmt_size(mib)} | {et:.3f} | {mib / et:.1f} | {st:.3f} | {mib / st:.1f} | {st / et:.2f}x |")
    out += ["", "CPU seconds per copy (medians; the doubles' over the same interval):", "",
            "| size | ebssh | seed (Node) | moto, ebssh's copy | moto, seed's copy | GCS double, ebssh's copy "
            "| GCS double, seed's copy | client CPU seed/ebssh |", "|---|---|---|---|---|---|---|---|"]
    for mib, runs in results["sizes"].items():
        e, s = runs["ebssh"], runs["seed"]
        ratio = f"{med(s, 'cpu_s') / med(e, 'cpu_s'):.2f}x" if med(e, "cpu_s") > 0 else "-"
        out.append(f"| {fmt_size(mib)} | {med(e, 'cpu_s'):.2f} | {med(s, 'cpu_s'):.2f} | {med(e, 'moto_cpu_s'):.2f} "
                   f"| {med(s, 'moto_cpu_s'):.2f} | {med(e, 'gcs_cpu_s'):.2f} | {med(s, 'gcs_cpu_s'):.2f} | {ratio} |")
    out.append("")
    if goal:
        out.append(f"Goal at 1 GiB (>= 2x throughput, <= 1/4 memory): throughput {goal[0]:.2f}x "
                   f"{'met' if goal[0] >= 2 else 'NOT met'}; memory seed/ebssh {goal[1]:.2f}x "
                   f"{'met' if goal[1] >= 4 else 'NOT met'}.")
    else:
        out.append("Goal at 1 GiB: not measured in this run (no 1024 in --sizes).")
    big = results.get("big")
    if big:
        hwm = big["hwm_kib"] / 1024
        out.append(f"{big['gib']} GiB, ebssh only: {big['copy_s']:.1f} s "
                   f"({big['gib'] * 1024 / big['copy_s']:.1f} MiB/s), peak RSS (VmHWM) {hwm:.1f} MiB: "
                   f"{'under' if hwm < 64 else 'NOT under'} 64 MiB.")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
