"""An SQS event source mapping, simulated: what Lambda's poller does with a
queue and a function that reports partial batch failures, for build/bootstrap
under the Runtime API double (tests/doubles/runtime_api.py).

What it follows, from AWS's documentation:
- "Using Lambda with Amazon SQS" and "Handling errors for an SQS event
  source in Lambda" (docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
  .../services-sqs-errorhandling.html): the poller receives up to BatchSize
  messages, invokes the function synchronously with {"Records": [...]}
  (messageId, receiptHandle, body, attributes with ApproximateReceiveCount,
  eventSource "aws:sqs", eventSourceARN, awsRegion), and when the function
  succeeds deletes the batch.
- "Implementing partial batch responses" (same pages, with
  FunctionResponseTypes ReportBatchItemFailures): the function answers
  {"batchItemFailures": [{"itemIdentifier": messageId}]}; Lambda deletes
  every message not named there; an empty list (or null) means all
  succeeded; an itemIdentifier that is empty or names no message of the
  batch, or an answer that cannot be read, fails the whole batch; a failed
  invocation (an error) fails the whole batch. Failed messages become
  visible again when their visibility timeout ends, with
  ApproximateReceiveCount one higher, and after the queue's
  maxReceiveCount receives SQS moves them to the dead-letter queue
  (RedrivePolicy).

The queue is moto's SQS (tests/doubles/moto_server.py, driven with boto3:
SQS's receive count and redrive to the dead-letter queue are moto's, as
SQS's are AWS's). To keep the tests free of timings, a failed message's
visibility timeout is ended at once (ChangeMessageVisibility 0) instead of
waited for: the next poll may receive it again, as after the timeout.

    esm = EventSourceMapping(sqs, queue_url, rt, queue_arn)
    stats = esm.drain()          # until the queue has nothing visible left
"""

import json
import threading
import time
import uuid

BATCH_SIZE = 10


class EventSourceMapping:
    def __init__(self, sqs, queue_url, runtime, queue_arn, region="us-east-1", batch_size=BATCH_SIZE,
                 deadline_s=28, invoke_timeout=120):
        self.sqs = sqs
        self.queue_url = queue_url
        self.rt = runtime
        self.queue_arn = queue_arn
        self.region = region
        self.batch_size = batch_size
        self.deadline_s = deadline_s
        self.invoke_timeout = invoke_timeout
        self.invocations = 0
        self.done = 0          # records deleted (succeeded)
        self.failed = 0        # records named in batchItemFailures (or of failed batches)
        self.batch_errors = []  # why whole batches failed
        self.answers = []      # each invocation's result (runtime double's record)
        self.lock = threading.Lock()

    def _event(self, msgs):
        return {"Records": [{
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {k: v for k, v in m.get("Attributes", {}).items()},
            "messageAttributes": {},
            "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        } for m in msgs]}

    def _invoke(self, event):
        """Invokes the function once; (result record) from the Runtime API double.
        Other pollers' invocations may finish first: waits until this one's is there."""
        rid = str(uuid.uuid4())
        self.rt.enqueue({"event": event, "request_id": rid,
                         "deadline_ms": int((time.time() + self.deadline_s) * 1000)})
        end = time.monotonic() + self.invoke_timeout
        seen = 0
        while time.monotonic() < end:
            res = self.rt.wait(seen + 1, timeout=max(1, int(end - time.monotonic())))
            invs = res.get("invocations", [])
            for inv in invs:
                if inv.get("request_id") == rid:
                    return inv
            seen = len(invs)
        raise RuntimeError("the function did not answer invocation %s" % rid)

    def failed_ids(self, inv, msgs):
        """The message ids to keep (not delete), following the partial batch
        response rules above; a whole-batch failure keeps them all."""
        ids = [m["MessageId"] for m in msgs]
        if inv.get("kind") != "response":
            self.batch_errors.append("the invocation failed: %s" % inv.get("body", "")[:300])
            return set(ids)
        try:
            doc = json.loads(inv.get("body") or "null")
        except ValueError:
            self.batch_errors.append("an answer that is no JSON")
            return set(ids)
        if not isinstance(doc, dict):
            return set()
        items = doc.get("batchItemFailures")
        if items is None:
            return set()
        if not isinstance(items, list):
            self.batch_errors.append("batchItemFailures is no list")
            return set(ids)
        keep = set()
        for it in items:
            mid = it.get("itemIdentifier") if isinstance(it, dict) else None
            if not mid or mid not in ids:
                self.batch_errors.append("an itemIdentifier naming no record: %r" % (it,))
                return set(ids)
            keep.add(mid)
        return keep

    def poll(self):
        """One poll: receive, invoke, delete what succeeded, make the rest
        visible again. The number of messages received (0: none visible)."""
        got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size,
                                       AttributeNames=["All"], WaitTimeSeconds=0)
        msgs = got.get("Messages", [])
        if not msgs:
            return 0
        inv = self._invoke(self._event(msgs))
        with self.lock:
            self.invocations += 1
            self.answers.append(inv)
            keep = self.failed_ids(inv, msgs)
        done = [m for m in msgs if m["MessageId"] not in keep]
        for i in range(0, len(done), 10):
            part = done[i:i + 10]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(part)])
        with self.lock:
            self.done += len(done)
            self.failed += len(keep)
        for m in msgs:
            if m["MessageId"] in keep:
                # the visibility timeout ends now (see the header)
                self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=0)
        return len(msgs)

    def drain(self, max_polls=100000, concurrency=1):
        """Polls until a poll receives nothing, with concurrency pollers at
        once (Lambda's MaximumConcurrency; each needs a bootstrap of its
        own waiting on the Runtime API double); returns self."""
        if concurrency <= 1:
            for _ in range(max_polls):
                if self.poll() == 0:
                    return self
            raise RuntimeError("the queue did not drain in %d polls" % max_polls)
        errors = []

        def poller():
            try:
                for _ in range(max_polls):
                    if self.poll() == 0:
                        return
            except Exception as ex:  # noqa: BLE001
                errors.append(ex)

        threads = [threading.Thread(target=poller) for _ in range(concurrency)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            raise errors[0]
        # a poller that found nothing may have stopped while others' failed
        # records were becoming visible again: finish alone
        return self.drain(max_polls)


def make_queues(sqs, name, visibility=180, max_receive=3):
    """A work queue with a dead-letter queue, as deploy/template.yaml makes
    them: (queue_url, queue_arn, dlq_url)."""
    dlq_url = sqs.create_queue(QueueName=name + "-dlq", Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": str(visibility),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}),
    })["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq_url


def drain_all(sqs, url):
    """Every message body left in a queue (received and deleted)."""
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                                  WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
