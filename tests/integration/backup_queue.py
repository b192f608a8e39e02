#!/usr/bin/env python3
# test-python: tools
"""The AMI backup at fleet scale (issue 14, item 5): build/bootstrap under the
Runtime API double, EC2 from the AWS double (tests/doubles/aws_double.py, its
fault queue), the work queue and its dead-letter queue from moto's SQS
(tests/doubles/moto_server.py), and tests/lib/esm_sim.py as Lambda's event
source mapping with partial batch responses between them.

- the scheduled run (rule *-ami-backup) with BACKUP_QUEUE_URL queues one
  item per tagged instance (SendMessageBatch, AWS JSON 1.0) and reports it;
  the items, consumed, make one image per instance;
- a retried item (the same item twice; a CreateImage whose answer was lost)
  makes one image;
- a poison item is reported as a failure each time and ends in the DLQ;
- a deadline already spent queues nothing and says so (partial, not_started);
- 2,000 tagged instances of one Elastic Beanstalk environment (one shared Name
  tag) through the fan-out with throttling injected on CreateImage and
  DescribeImages: every instance imaged exactly once (the images CreateImage
  made per instance, and the live ones, in the double's state);
  EBSSH_FANOUT_FLEET sets the size (the ASan build uses 300: say so);
- POST /backup/ami through the route driver: 202 with what it queued,
  ?wait=true for a small fleet (200, the synchronous report), 400
  FleetTooLarge for a larger one, ?reboot=true in the items.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

from esm_sim import EventSourceMapping, drain_all, make_queues  # noqa: E402
from harness import SESSION, AwsDouble  # noqa: E402
from moto_aws import MotoAws  # noqa: E402
from runtime_api import Client as RuntimeApi  # noqa: E402
from tap import Tap  # noqa: E402

BUILD = os.environ["EBSSH_BUILD"]
BOOTSTRAP = os.path.join(BUILD, "bootstrap")
OPS_DRIVER = os.path.join(BUILD, "tests", "ops_driver")
ASAN = "asan" in BUILD or os.path.exists(os.path.join(BUILD, ".san"))
FLEET = int(os.environ.get("EBSSH_FANOUT_FLEET") or (300 if ASAN else 2000))
RUN_TIME = "2024-05-01T09:30:00Z"


def fleet_fixture(n, prefix="i-0f", name="my-env"):
    """n running instances of one Elastic Beanstalk environment: the same
    Name tag on all, tag backup = On."""
    return {"owner_id": "123456789012", "instances": [{
        "id": "%s%015x" % (prefix, i + 1), "state": "running",
        "launch_time": "2024-01-10T08:00:00.000Z", "private_ip": "10.9.%d.%d" % (i // 250, i % 250 + 1),
        "tags": {"Name": name, "backup": "On", "elasticbeanstalk:environment-name": name},
    } for i in range(n)]}


def scheduled(time_iso, rule="ebssh-ami-backup"):
    return {"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": time_iso, "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/" + rule], "detail": {}}


class World:
    def __init__(self, queue=True, bootstraps=1):
        self.aws = AwsDouble(max_skew=None).start()
        self.moto = MotoAws().start()
        self.sqs = self.moto.client("sqs")
        self.queue_url, self.queue_arn, self.dlq_url = make_queues(self.sqs, "ebssh-backup-items")
        self.rt = RuntimeApi()
        self.log = tempfile.TemporaryFile()
        env = self.aws.client_env(SESSION)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": self.rt.address, "AWS_LAMBDA_FUNCTION_NAME": "ebssh-lookup",
            "HOME": tempfile.gettempdir(), "AWS_ENDPOINT_URL_EC2": self.aws.url,
            "AWS_ENDPOINT_URL_SQS": self.moto.url, "BACKUP_QUEUE_URL": self.queue_url,
            "EBSSH_AWS_RETRY_BASE_MS": "2", "EBSSH_AWS_TIMEOUT_MS": "20000",
        })
        env.pop("BACKUP_TAG_KEY", None)
        if not queue:
            env.pop("BACKUP_QUEUE_URL")
        self.env = env
        self.boots = [subprocess.Popen([BOOTSTRAP], env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                       stderr=subprocess.STDOUT) for _ in range(bootstraps)]

    def invoke(self, event, deadline_s=600):
        before = len(self.rt.results().get("invocations", []))
        rid = self.rt.enqueue({"event": event, "deadline_ms": int((time.time() + deadline_s) * 1000)})[0]
        res = self.rt.wait(before + 1, timeout=900)
        inv = [x for x in res["invocations"] if x["request_id"] == rid][0]
        return inv["kind"], inv["body"]

    def esm(self):
        return EventSourceMapping(self.sqs, self.queue_url, self.rt, self.queue_arn)

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def route(self, method, path, query=None, **extra):
        env = dict(self.env)
        env.update(extra)
        args = [OPS_DRIVER, "route", method, path]
        for k, v in (query or {}).items():
            args += ["-q", "%s=%s" % (k, v)]
        p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        try:
            out = json.loads(p.stdout.splitlines()[0])
        except (ValueError, IndexError):
            return None, p.stdout + p.stderr
        body = out.get("body")
        try:
            body = json.loads(body) if isinstance(body, str) else body
        except ValueError:
            pass
        return out.get("status"), body

    def fresh(self, fixture, **config):
        self.aws.reset()
        self.aws.set_fixture(fixture)
        self.aws.config(image_pending_describes=0, **config)
        self.aws.clear_requests()
        drain_all(self.sqs, self.queue_url)
        drain_all(self.sqs, self.dlq_url)

    def close(self):
        self.rt.shutdown()
        for boot in self.boots:
            try:
                boot.wait(10)
            except subprocess.TimeoutExpired:
                boot.kill()
                boot.wait()
        self.rt.close()
        self.moto.stop()
        self.aws.stop()


def creates_ok(aws, stamp=None):
    """{instance id: images CreateImage made of it} in the double's state:
    every image ever made (deregistered ones too) whose SourceInstanceId is
    the instance, of this run's stamp when given. (The request log cannot
    say it: a "truncate" fault answers 200 whatever the call did.)"""
    out = {}
    for img in aws.images().get("images", []):
        iid = img.get("SourceInstanceId")
        if iid and (stamp is None or img.get("Name", "").endswith("-" + stamp)):
            out[iid] = out.get(iid, 0) + 1
    return out


def images_by_instance(aws):
    """{instance id: live images tagged ebssh:backup-of it} in the double's state."""
    out = {}
    for img in aws.images().get("images", []):
        tags = {x["Key"]: x["Value"] for x in img.get("Tags") or []}
        iid = tags.get("ebssh:backup-of")
        if iid and img.get("State") != "deregistered":
            out[iid] = out.get(iid, 0) + 1
    return out


def queued_bodies(sqs, url):
    return [json.loads(m["Body"]) for m in drain_all(sqs, url)]


def main():
    t = Tap()
    w = None
    try:
        w = World()
        small_fleet(t, w)
        retried_item(t, w)
        poison_item(t, w)
        deadline_spent(t, w)
        post_route(t, w)
        fan_out_at_scale(t, w)
    except Exception as ex:  # noqa: BLE001
        import traceback
        t.ok(False, "the suite ran to its end", "%s\n%s" % (ex, traceback.format_exc()[-3000:]))
    finally:
        if w is not None:
            w.close()
    if w is not None:
        log = w.stderr()
        t.ok("Sanitizer" not in log and "runtime error:" not in log and
             all(b.returncode == 1 for b in w.boots),
             "the bootstraps exited as after a 500 from /next (status 1), no sanitizer report", log[-2000:])
    return t.done()


def small_fleet(t, w):
    w.fresh(fleet_fixture(5, prefix="i-0a"))
    kind, body = w.invoke(scheduled(RUN_TIME))
    rep = json.loads(body) if kind == "response" else {}
    ids = ["i-0a%015x" % (i + 1) for i in range(5)]
    t.ok(kind == "response" and rep.get("queued") == 5 and rep.get("instances") == ids
         and rep.get("fleet") == 5 and rep.get("time") == "20240501T0930Z" and "partial" not in rep,
         "the scheduled run queues one item per tagged instance and reports them", (kind, body[:500]))
    msgs = w.sqs.receive_message(QueueUrl=w.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    bodies = sorted((json.loads(m["Body"]) for m in msgs), key=lambda b: b["instance_id"])
    for m in msgs:
        w.sqs.change_message_visibility(QueueUrl=w.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    t.ok([b["instance_id"] for b in bodies] == ids and all(
        b == {"v": 1, "instance_id": b["instance_id"], "time": RUN_TIME, "on_demand": False, "reboot": False,
              "dry_run": False} for b in bodies),
         "each item is the shared body: v 1, the instance, the event's time, scheduled flags", bodies[:2])
    esm = w.esm().drain()
    made = creates_ok(w.aws)
    t.ok(esm.done == 5 and esm.failed == 0 and made == {i: 1 for i in ids} and not esm.batch_errors,
         "the items, consumed in one batch, image every instance once",
         (esm.done, esm.failed, made, esm.batch_errors, w.stderr()[-1500:]))
    ans = json.loads(esm.answers[0]["body"])
    t.ok(ans == {"batchItemFailures": []}, "a batch that all succeeded answers an empty batchItemFailures", ans)


def retried_item(t, w):
    w.fresh(fleet_fixture(3, prefix="i-0b"))
    ids = ["i-0b%015x" % (i + 1) for i in range(3)]
    # The first CreateImage makes the image but its answer is cut: that item fails
    w.aws.queue_faults("CreateImage", ["truncate"])
    item = {"v": 1, "instance_id": ids[0], "time": RUN_TIME, "on_demand": False, "reboot": False, "dry_run": False}
    for i in ids:
        w.sqs.send_message(QueueUrl=w.queue_url, MessageBody=json.dumps(dict(item, instance_id=i)))
    esm = w.esm()
    esm.poll()
    first = json.loads(esm.answers[0]["body"])["batchItemFailures"]
    t.ok(len(first) == 1, "a CreateImage whose answer was lost fails that item only", first)
    esm.drain()
    # the same item again (a retried scheduled run queues it twice)
    w.sqs.send_message(QueueUrl=w.queue_url, MessageBody=json.dumps(item))
    esm.drain()
    made, imgs = creates_ok(w.aws), images_by_instance(w.aws)
    t.ok(made == {i: 1 for i in ids} and imgs == {i: 1 for i in ids} and esm.failed == 1,
         "a retried item and an item queued twice make one image each", (made, imgs, esm.failed))
    counts = [json.loads(a["body"]) for a in esm.answers]
    t.ok(all(c["batchItemFailures"] == [] for c in counts[1:]),
         "the redelivered item succeeds (it finds its own image)", counts)


def poison_item(t, w):
    w.fresh(fleet_fixture(1, prefix="i-0c"))
    w.sqs.send_message(QueueUrl=w.queue_url, MessageBody="not an item")
    w.sqs.send_message(QueueUrl=w.queue_url, MessageBody=json.dumps(
        {"v": 1, "instance_id": "i-0c%015x" % 1, "time": RUN_TIME}))
    esm = w.esm().drain()
    dead = drain_all(w.sqs, w.dlq_url)
    t.ok([m["Body"] for m in dead] == ["not an item"] and esm.failed == 3 and esm.done == 1,
         "a poison item fails at each of its 3 receives and ends in the dead-letter queue; the good one is done",
         ([m["Body"] for m in dead], esm.failed, esm.done))
    log = [json.loads(line) for line in w.stderr().splitlines() if line.startswith("{")]
    refused = [x for x in log if x.get("level") == "ERROR" and "refused" in x.get("message", "")]
    t.ok(len(refused) >= 3 and all("not an item" not in json.dumps(x) for x in refused)
         and {x.get("receive_count") for x in refused} >= {1, 2, 3},
         "each refusal is one ERROR line with the message id and receive count, never the body", refused[-3:])


def deadline_spent(t, w):
    w.fresh(fleet_fixture(12, prefix="i-0d"))
    kind, body = w.invoke(scheduled("2024-05-02T09:30:00Z"), deadline_s=1)
    left = queued_bodies(w.sqs, w.queue_url)
    rep = {}
    try:
        rep = json.loads(json.loads(body).get("errorMessage", "{}"))
    except (ValueError, AttributeError):
        pass
    t.ok(kind == "error" and rep.get("queued") == 0 and rep.get("partial") is True
         and len(rep.get("not_started", [])) == 12 and rep.get("code") == "BackupPartial" and not left,
         "with its time spent the run queues nothing, says which were not queued, and fails (Lambda retries it)",
         (kind, body[:600], len(left)))


def post_route(t, w):
    w.fresh(fleet_fixture(3, prefix="i-0e"))
    st, body = w.route("POST", "/backup/ami", {"reboot": "true"})
    bodies = queued_bodies(w.sqs, w.queue_url)
    t.ok(st == 202 and body.get("queued") == 3 and len(body.get("instances", [])) == 3 and "time" in body
         and len(bodies) == 3 and all(b["on_demand"] and b["reboot"] for b in bodies),
         "POST /backup/ami?reboot=true queues on-demand items that may reboot and answers 202 with them",
         (st, body, bodies[:1]))
    st, body = w.route("POST", "/backup/ami", {"wait": "true"})
    t.ok(st == 200 and len(body.get("instances", [])) == 3 and not queued_bodies(w.sqs, w.queue_url)
         and creates_ok(w.aws) == {"i-0e%015x" % (i + 1): 1 for i in range(3)},
         "?wait=true with a small fleet runs the synchronous backup and answers its report", (st, body))
    w.fresh(fleet_fixture(21, prefix="i-0f"))
    st, body = w.route("POST", "/backup/ami", {"wait": "true"})
    t.ok(st == 400 and body.get("code") == "FleetTooLarge" and "21" in body.get("message", "")
         and not creates_ok(w.aws) and not queued_bodies(w.sqs, w.queue_url),
         "?wait=true with more than 20 instances is refused with a clear message", (st, body))
    st, body = w.route("POST", "/backup/ami", {"wait": "maybe"})
    t.ok(st == 400, "a wait that is neither true nor false is refused", (st, body))
    w.fresh(fleet_fixture(2, prefix="i-10"))
    st, body = w.route("POST", "/backup/ami", None, BACKUP_QUEUE_URL="")
    t.ok(st == 200 and len(body.get("instances", [])) == 2 and not queued_bodies(w.sqs, w.queue_url),
         "without BACKUP_QUEUE_URL (ebssh-api without a queue) POST runs synchronously", (st, body))


def fan_out_at_scale(t, w):
    n = FLEET
    w.fresh(fleet_fixture(n, prefix="i-0f"))
    ids = ["i-0f%015x" % (i + 1) for i in range(n)]
    # Throttling spread over the run: every 41st CreateImage and every 131st
    # DescribeImages starts 3 throttles in a row (the client's 3 attempts:
    # that item fails and is redelivered), the others pass ("slow:0"); one
    # CreateImage answer in 41 is cut (the image made, the answer lost). The
    # gaps are longer than two batches' calls, so that no item fails 3 times
    # in a row (its maxReceiveCount): none may reach the dead-letter queue.
    create = (["throttle"] * 3 + ["slow:0"] * 7 + ["truncate"] + ["slow:0"] * 30) * (n // 41 + 1)
    describe = (["throttle"] * 3 + ["slow:0"] * 128) * (n // 131 + 1)
    w.aws.queue_faults("CreateImage", create[:n])
    w.aws.queue_faults("DescribeImages", describe[:n])
    started = time.monotonic()
    kind, body = w.invoke(scheduled("2024-05-03T09:30:00Z"))
    rep = json.loads(body) if kind == "response" else {}
    t.ok(kind == "response" and rep.get("queued") == n and len(rep.get("instances", [])) == n,
         "the scheduled run with %d tagged instances queues %d items" % (n, n), (kind, body[:300]))
    esm = w.esm().drain()
    made, imgs = creates_ok(w.aws, "20240503T0930Z"), images_by_instance(w.aws)
    twice = {i: c for i, c in made.items() if c != 1}
    missing = [i for i in ids if made.get(i) != 1 or imgs.get(i) != 1]
    t.ok(not twice and not missing and len(made) == n,
         "%d instances through the fan-out with throttling: every one imaged exactly once, none twice "
         "(%d invocations, %d failed records redelivered, %.0f s)"
         % (n, esm.invocations, esm.failed, time.monotonic() - started),
         (dict(list(twice.items())[:5]), missing[:5], len(made)))
    dead = drain_all(w.sqs, w.dlq_url)
    t.ok(esm.failed > 0 and not dead and not esm.batch_errors,
         "throttled items were reported, redelivered and done; none reached the dead-letter queue",
         (esm.failed, len(dead), esm.batch_errors[:3]))
    t.ok(not w.aws.pending_faults(),
         "every injected fault was met", w.aws.pending_faults())


if __name__ == "__main__":
    sys.exit(main())
