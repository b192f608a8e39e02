#!/usr/bin/env python3
"""The AMI backup of one fleet, two ways, on the same doubles (issue 14):

  fan-out     the scheduled run with BACKUP_QUEUE_URL: one invocation lists
              the fleet and queues one item per instance (SendMessageBatch,
              moto's SQS), then tests/lib/esm_sim.py delivers the items in
              batches of 10 to --concurrency bootstraps at once (the stack's
              event source mapping's MaximumConcurrency, 5)
  sequential  the scheduled run without a queue: backup_run, every instance
              in one invocation (given all the time it needs here; on Lambda
              it has 28 s)

Both run build/bootstrap under the Runtime API double against the AWS double
(tests/doubles/aws_double.py) with N instances of one Elastic Beanstalk
environment (a shared Name tag), every EC2 call answered after
--latency-ms (the double's "slow" fault on every action: a round trip to
EC2, which the double alone answers in about a millisecond). Measured: instances backed up per
minute (wall clock, from the scheduled event to the last item done), EC2
calls per instance (the double's request log), SQS calls of the code per
instance (SendMessageBatch; the event source mapping's receive and delete
calls are Lambda's, not the function's), and invocations. Every image is
checked made exactly once. Prints a Markdown table; --json FILE keeps the
figures.

    <tools python> bench/backup_fanout.py [--instances 200] [--latency-ms 50]
                                          [--concurrency 5] [--json FILE]
"""

import argparse
import json
import math
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("EBSSH_BUILD", os.path.join(ROOT, "build"))

import backup_queue as bq  # noqa: E402

STAMP = "20240503T0930Z"
EVENT_TIME = "2024-05-03T09:30:00Z"


def measure(mode, n, latency_ms, concurrency):
    fan = mode == "fan-out"
    w = bq.World(queue=fan, bootstraps=concurrency if fan else 1)
    try:
        w.fresh(bq.fleet_fixture(n, prefix="i-0f"))
        if latency_ms:
            w.aws.queue_faults("*", ["slow:%g" % (latency_ms / 1000.0)] * (6 * n + 20))
        started = time.monotonic()
        kind, body = w.invoke(bq.scheduled(EVENT_TIME), deadline_s=3600)
        invocations = 1
        if mode == "fan-out":
            esm = w.esm().drain(concurrency=concurrency)
            invocations += esm.invocations
        seconds = time.monotonic() - started
        made = bq.creates_ok(w.aws, STAMP)
        ok = kind == "response" and len(made) == n and all(c == 1 for c in made.values())
        ec2 = len([r for r in w.aws.requests() if r.get("service") in (None, "ec2")])
        sqs = math.ceil(n / 10) if mode == "fan-out" else 0
        return {"mode": mode, "instances": n, "latency_ms": latency_ms,
                "concurrency": concurrency if fan else 1, "seconds": round(seconds, 2),
                "per_minute": round(n * 60 / seconds, 1), "ec2_calls": ec2,
                "ec2_per_instance": round(ec2 / n, 2), "sqs_per_instance": round(sqs / n, 2),
                "invocations": invocations, "every_instance_once": ok}
    finally:
        w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", type=int, default=200)
    ap.add_argument("--latency-ms", type=float, default=50)
    ap.add_argument("--concurrency", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = [measure("sequential", args.instances, args.latency_ms, 1),
            measure("fan-out", args.instances, args.latency_ms, args.concurrency)]
    seq, fan = rows
    print("| way | instances | bootstraps | seconds | instances/min | EC2 calls/instance | SQS calls/instance (code) "
          "| invocations | each imaged once |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d | %d | %.1f | %.0f | %.2f | %.2f | %d | %s |" % (
            r["mode"], r["instances"], r["concurrency"], r["seconds"], r["per_minute"], r["ec2_per_instance"],
            r["sqs_per_instance"], r["invocations"], "yes" if r["every_instance_once"] else "NO"))
    print()
    print("fan-out / sequential: instances per minute x%.2f, EC2 calls per instance x%.2f "
          "(%g ms per EC2 call; %s, %s, %d cores)" % (
              fan["per_minute"] / seq["per_minute"], fan["ec2_per_instance"] / seq["ec2_per_instance"],
              args.latency_ms, time.strftime("%Y-%m-%d"), platform.machine(), os.cpu_count()))
    print("sequential within Lambda's 28 s (25 s of work): about %d instances"
          % int(seq["per_minute"] / 60 * 25))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0 if all(r["every_instance_once"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
