#!/usr/bin/env python3
# test-python: tools
"""The S3 -> GCS backup's redrive (issue 16 item 5): the shell loop of
docs/s3-gcs-backup.md ("## Redrive"), its text run as written by bash with
awscli v1 (`aws` on PATH: the tools Python's `python -m awscli
--endpoint-url $AWS_ENDPOINT_URL`, moto's) and jq,
against moto's CloudFormation, SQS and SNS.

The stack (moto CloudFormation) holds the dead-letter queue and the retry
topic under the template's names and output; an SQS queue subscribed to the
retry topic stands in for the retry stage's subscription. The DLQ holds
Lambda destination records of really failed events: build/bootstrap is
invoked with the first stage's SNS event and then with the retry stage's
doubly wrapped one while GCS refuses every upload (a corrupted byte), and
each failure's answer goes into the record Lambda would write
(requestPayload, responsePayload). After the cause is gone:

- the doc's loop empties the DLQ and publishes one message per record to
  the retry topic;
- each message, handed to the real bootstrap as the retry stage receives it
  (an SNS event), copies its object whole to GCS;
- a second run of the loop is a no-op (nothing published), and the same
  messages handed again leave GCS unchanged.
"""

import json
import os
import re
import stat
import subprocess
import sys
import tempfile

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import s3_gcs_backup as base  # noqa: E402
from s3_gcs_backup import World, ok, put, s3_event, s3_record, same_bytes, sns_event  # noqa: E402

DOC = os.path.join(ROOT, "docs", "s3-gcs-backup.md")
STACK = "ebssh"
REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-s3-gcs"


def redrive_text():
    """The ```sh block of the doc's Redrive section, as written."""
    with open(DOC) as f:
        doc = f.read()
    m = re.search(r"^## Redrive\n(.*?)^## ", doc, re.S | re.M)
    block = re.search(r"```sh\n(.*?)```", m.group(1), re.S) if m else None
    return block.group(1) if block else None


# Stack resources under the names deploy/template.yaml gives them.
STACK_TEMPLATE = {
    "Resources": {
        "S3BackupRetryTopic": {"Type": "AWS::SNS::Topic",
                               "Properties": {"TopicName": f"{STACK}-s3-gcs-retry"}},
        "S3BackupDeadLetterQueue": {"Type": "AWS::SQS::Queue",
                                    "Properties": {"QueueName": f"{STACK}-s3-gcs-dlq",
                                                   "MessageRetentionPeriod": 1209600}},
    },
    "Outputs": {"S3BackupDeadLetterQueueUrl": {"Value": {"Ref": "S3BackupDeadLetterQueue"}}},
}


def destination_record(request_payload, failure, function):
    """What Lambda sends an on-failure destination after the retries."""
    return {"version": "1.0", "timestamp": "2024-05-01T09:31:00.000Z",
            "requestContext": {"requestId": "4d9a5a3e-2b6f-4bd1-9c39-7d0d0e0f1a2b",
                               "functionArn": function + ":$LATEST", "condition": "RetriesExhausted",
                               "approximateInvokeCount": 3},
            "requestPayload": request_payload,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": failure}


def sns_event_from_envelope(env):
    """The SNS event Lambda gives a function subscribed to the topic, from
    the envelope SNS delivered to the SQS subscriber."""
    sns = {k: env.get(k) for k in ("Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
                                    "SignatureVersion", "Signature", "SigningCertUrl", "UnsubscribeUrl")}
    sns["MessageAttributes"] = env.get("MessageAttributes", {})
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                         "EventSubscriptionArn": env.get("TopicArn", "") + ":retry-stage", "Sns": sns}]}


def run_doc(cmd, tmp, env):
    return subprocess.run(["bash", "-c", "set -o pipefail\n" + cmd], cwd=tmp, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=300)


def drain(sqs, url):
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def suite(w, tmp):
    cmd = redrive_text()
    ok(cmd is not None and "aws sqs receive-message" in cmd and "aws sns publish" in cmd
       and "aws sqs delete-message" in cmd, "the doc's Redrive section has the shell loop", cmd)
    if cmd is None:
        return
    cfn, sqs, sns = w.moto.client("cloudformation"), w.moto.client("sqs"), w.moto.client("sns")
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(STACK_TEMPLATE))
    out = cfn.describe_stacks(StackName=STACK)["Stacks"][0].get("Outputs", [])
    dlq = [o["OutputValue"] for o in out if o["OutputKey"] == "S3BackupDeadLetterQueueUrl"][0]
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-s3-gcs-retry"
    stage_q = sqs.create_queue(QueueName="retry-stage")["QueueUrl"]
    stage_arn = sqs.get_queue_attributes(QueueUrl=stage_q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=stage_arn)

    # events that really failed twice (GCS refuses a corrupted copy)
    objects = {"dead/a.bin": os.urandom(200 * 1024 + 1), "dead/with space+plus.txt": b"redrive me\n" * 5000,
               "dead/c.bin": os.urandom(1024 * 1024)}
    encoded = {"dead/a.bin": "dead/a.bin", "dead/with space+plus.txt": "dead/with+space%2Bplus.txt",
               "dead/c.bin": "dead/c.bin"}
    for key, data in objects.items():
        put(w, key, data)
        first = sns_event(s3_event(s3_record(encoded[key], size=len(data))))
        w.gcs.control("POST", "faults", {"corrupt": 1})
        kind1, fail1 = w.invoke(first)
        retry = sns_event(destination_record(first, fail1, FUNCTION))
        retry["Records"][0]["Sns"]["TopicArn"] = topic
        w.gcs.control("POST", "faults", {"corrupt": 1})
        kind2, fail2 = w.invoke(retry)
        ok(kind1 == "error" and kind2 == "error" and key not in w.objects(),
           f"{key}: the first and the retry stage both failed", (fail1, fail2))
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(destination_record(retry, fail2, FUNCTION + "-retry")))

    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir)
    aws = os.path.join(bindir, "aws")
    with open(aws, "w") as f:
        # awscli v1 sends sqs to queue.amazonaws.com in us-east-1 unless
        # --endpoint-url is given (AWS_ENDPOINT_URL is not enough)
        f.write(f'#!/bin/sh\nexec "{sys.executable}" -m awscli --endpoint-url "$AWS_ENDPOINT_URL" "$@"\n')
    os.chmod(aws, stat.S_IRWXU)
    env = dict(w.env, PATH=bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin"), stack=STACK,
               region=REGION, account=ACCOUNT, AWS_DEFAULT_REGION=REGION, AWS_PAGER="")
    for k in ("AWS_LAMBDA_RUNTIME_API", "GC_CREDENTIAL"):
        env.pop(k, None)

    p = run_doc(cmd, tmp, env)
    left = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
    ok(p.returncode == 0 and left.get("ApproximateNumberOfMessages") == "0"
       and left.get("ApproximateNumberOfMessagesNotVisible") == "0",
       "the doc's loop ran and emptied the dead-letter queue", p.stdout.decode("utf-8", "replace") + str(left))
    delivered = [json.loads(b) for b in drain(sqs, stage_q)]
    ok(len(delivered) == len(objects) and all(d.get("TopicArn") == topic for d in delivered),
       f"{len(objects)} messages published to the retry topic", delivered)

    events = [sns_event_from_envelope(d) for d in delivered]
    copied = 0
    for ev in events:
        kind, body = w.invoke(ev)
        copied += kind == "response" and body.get("copied") == 1
    ok(copied == len(objects), "each redriven message, handed to the retry stage, copies its object", copied)
    for key, data in objects.items():
        same, o = same_bytes(w, key, data)
        ok(same, f"{key}: whole in GCS after the redrive", o)

    p = run_doc(cmd, tmp, env)
    again = drain(sqs, stage_q)
    ok(p.returncode == 0 and again == [], "a second redrive finds nothing and publishes nothing",
       p.stdout.decode("utf-8", "replace") + str(again))
    uploads = len(w.uploads())
    unchanged = 0
    for ev in events:
        kind, body = w.invoke(ev)
        unchanged += kind == "response" and body.get("unchanged") == 1
    ok(unchanged == len(objects) and len(w.uploads()) == uploads,
       "the same messages again: unchanged, no new upload", unchanged)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        w = World(tmp)
        try:
            suite(w, tmp)
        finally:
            w.close()
    return base.T.done()


if __name__ == "__main__":
    sys.exit(main())
