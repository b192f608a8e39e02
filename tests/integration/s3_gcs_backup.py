#!/usr/bin/env python3
# test-python: tools
"""The S3 -> GCS backup (issue 16): build/bootstrap under the Runtime API
double, S3 and KMS from moto (tests/doubles/moto_server.py), GCS from
tests/doubles/gcs_double.py (its token endpoint checks the RS256 JWT of a
service-account key made here, KMS-encrypted into GC_CREDENTIAL).

- an SNS-delivered event (the seed's path): copied, the GCS object's CRC32C
  and MD5 those of the S3 bytes; a key matching SKIP_KEY_REGEX skipped with a
  log line; the same event again: unchanged, no new upload;
- the direct S3 form with an encoded key ('+' and %XX), the SQS form (body an
  SNS envelope, and a bare S3 event), the retry topic's doubly wrapped form;
- NoSuchKey: logged, the invocation succeeds (not retried forever);
- a byte corrupted on its way to GCS: GCS refuses it, the invocation fails;
- KMS AccessDenied on Decrypt (a stub KMS endpoint: moto enforces no key
  policy): the invocation fails, naming GC_CREDENTIAL; the key's text
  appears in no log line;
- a 64 MiB object (EBSSH_S3GCS_BIG_MIB) with the bootstrap's peak RSS
  (VmHWM) under 48 MiB: the body is streamed, never held whole.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

from gcs_double import GcsDouble, crc32c_b64, make_service_account, md5_b64  # noqa: E402
from moto_aws import MotoAws  # noqa: E402
from runtime_api import Client as RuntimeApi  # noqa: E402
from tap import Tap  # noqa: E402

BUILD = os.environ["EBSSH_BUILD"]
BOOTSTRAP = os.path.join(BUILD, "bootstrap")
ASAN = "asan" in BUILD or os.path.exists(os.path.join(BUILD, ".san"))
BIG_MIB = int(os.environ.get("EBSSH_S3GCS_BIG_MIB") or 64)
RSS_LIMIT_KIB = (96 if ASAN else 48) * 1024
SRC = "ebssh-src"
DST = "ebssh-gcs-backup"

T = Tap()
ok = T.ok


def s3_record(key_encoded, etag=None, size=None, name="ObjectCreated:Put"):
    obj = {"key": key_encoded, "sequencer": "0A1B2C3D4E5F678901"}
    if etag:
        obj["eTag"] = etag
    if size is not None:
        obj["size"] = size
    return {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2024-05-01T09:30:00.000Z", "eventName": name,
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "backup",
                   "bucket": {"name": SRC, "arn": "arn:aws:s3:::" + SRC}, "object": obj}}


def s3_event(*records):
    return {"Records": list(records)}


def sns_event(message_obj):
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                         "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:uploads:1",
                         "Sns": {"Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                                 "TopicArn": "arn:aws:sns:us-east-1:123456789012:uploads",
                                 "Subject": "Amazon S3 Notification", "Message": json.dumps(message_obj),
                                 "Timestamp": "2024-05-01T09:30:01.000Z"}}]}


def sqs_event(*bodies):
    return {"Records": [{"messageId": "m-%d" % i, "receiptHandle": "rh", "body": json.dumps(b),
                         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                         "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:s3-gcs-dlq"}
                        for i, b in enumerate(bodies)]}


def retry_event(first_stage_event):
    """The retry topic's message: the first stage's on-failure destination
    record (its requestPayload the SNS event), delivered by SNS again."""
    record = {"version": "1.0", "timestamp": "2024-05-01T09:31:00.000Z",
              "requestContext": {"requestId": "r-1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:s3-gcs:$LATEST",
                                 "condition": "RetriesExhausted", "approximateInvokeCount": 3},
              "requestPayload": first_stage_event,
              "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
              "responsePayload": {"errorMessage": "timeout", "errorType": "Function.S3BackupFailed"}}
    return sns_event(record)


class World:
    def __init__(self, tmp, extra_env=None):
        self.tmp = tmp
        sa_path = os.path.join(tmp, "sa.json")
        make_service_account(sa_path, "http://127.0.0.1:1/token")
        self.gcs = GcsDouble([sa_path]).start()
        with open(sa_path) as f:
            sa = json.load(f)
        sa["token_uri"] = self.gcs.token_uri
        self.sa_text = json.dumps(sa)
        self.private_key_line = sa["private_key"].splitlines()[1]
        self.moto = MotoAws().start()
        self.s3 = self.moto.client("s3")
        self.s3.create_bucket(Bucket=SRC)
        self.kms = self.moto.client("kms")
        self.key_id = self.kms.create_key(Description="ebssh GC_CREDENTIAL")["KeyMetadata"]["KeyId"]
        blob = self.kms.encrypt(KeyId=self.key_id, Plaintext=self.sa_text.encode())["CiphertextBlob"]
        self.credential = base64.b64encode(blob).decode()
        self.rt = RuntimeApi()
        self.log = tempfile.TemporaryFile()
        env = self.moto.client_env()
        env.update({"AWS_LAMBDA_RUNTIME_API": self.rt.address, "AWS_LAMBDA_FUNCTION_NAME": "ebssh-s3-gcs",
                    "HOME": tmp, "GCS_BUCKET": DST, "GC_CREDENTIAL": self.credential,
                    "SKIP_KEY_REGEX": "^(_sandbox|test)", "STORAGE_EMULATOR_HOST": self.gcs.url,
                    "RETRY_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:s3-gcs-retry",
                    "PROJECT_ID": "ebssh-test", "EBSSH_AWS_RETRY_BASE_MS": "2",
                    # the client's default per-attempt timeout (7 s): the
                    # streamed GetObject must not be bound by it
                    "EBSSH_AWS_TIMEOUT_MS": "3000"})
        env.update(extra_env or {})
        self.env = env
        self.boot = subprocess.Popen([BOOTSTRAP], env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def invoke(self, event):
        before = len(self.rt.results().get("invocations", []))
        rid = self.rt.enqueue({"event": event, "deadline_ms": int((time.time() + 600) * 1000)})[0]
        for _ in range(600):
            res = self.rt.results()
            if len(res.get("invocations", [])) > before or self.boot.poll() is not None:
                break
            time.sleep(1)
        found = [x for x in res.get("invocations", []) if x["request_id"] == rid]
        if not found:
            return "none", "the bootstrap exited (%s) or never answered:\n%s" % (self.boot.poll(), self.stderr()[-3000:])
        inv = found[0]
        body = inv["body"]
        try:
            body = json.loads(body) if isinstance(body, (str, bytes)) else body
        except ValueError:
            pass
        return inv["kind"], body

    def objects(self):
        return {o["name"]: o for o in self.gcs.control("GET", "objects") if o["bucket"] == DST}

    def uploads(self):
        return [r for r in self.gcs.control("GET", "requests")
                if r["method"] == "POST" and r["path"].startswith("/upload/")]

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def vm_hwm_kib(self):
        with open(f"/proc/{self.boot.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None

    def close(self):
        self.rt.shutdown()
        try:
            self.boot.wait(10)
        except subprocess.TimeoutExpired:
            self.boot.kill()
            self.boot.wait()
        self.rt.close()
        self.moto.stop()
        self.gcs.stop()


def put(w, key, data, **kw):
    return w.s3.put_object(Bucket=SRC, Key=key, Body=data, **kw)["ETag"].strip('"')


def same_bytes(w, key, data):
    o = w.objects().get(key)
    return o is not None and o["crc32c"] == crc32c_b64(data) and o["md5Hash"] == md5_b64(data) \
        and int(o["size"]) == len(data), o


def main():
    with tempfile.TemporaryDirectory() as tmp:
        w = World(tmp)
        try:
            suite(w)
        finally:
            w.close()
        log = w.stderr()
        ok(w.credential not in log and w.private_key_line not in log and "BEGIN PRIVATE KEY" not in log,
           "neither GC_CREDENTIAL nor the decrypted key appears in the logs")


def suite(w):
    a = os.urandom(300 * 1024 + 7)
    etag_a = put(w, "reports/2024/a.bin", a, ContentType="application/octet-stream",
                 Metadata={"owner": "ops"})
    put(w, "_sandbox/x.bin", b"sandbox")
    ev = sns_event(s3_event(s3_record("reports/2024/a.bin", etag_a, len(a)),
                            s3_record("_sandbox/x.bin", size=7)))
    kind, body = w.invoke(ev)
    ok(kind == "response" and body.get("copied") == 1 and body.get("skipped") == 1
       and body.get("workflow") == "s3-gcs-backup", "SNS event: one copied, one skipped", body)
    same, o = same_bytes(w, "reports/2024/a.bin", a)
    ok(same, "the GCS object has the S3 object's CRC32C, MD5 and size", o)
    ok("_sandbox/x.bin" not in w.objects() and "skipped by SKIP_KEY_REGEX" in w.stderr(),
       "the skipped key is not copied and a log line says so")

    uploads = len(w.uploads())
    kind, body = w.invoke(ev)
    ok(kind == "response" and body.get("unchanged") == 1 and body.get("copied") == 0
       and len(w.uploads()) == uploads, "the same event again: unchanged, no new upload", body)

    b = b"plus and space\n" * 1000
    put(w, "in box/a+b é.txt", b, ContentType="text/plain")
    kind, body = w.invoke(s3_event(s3_record("in+box/a%2Bb+%C3%A9.txt", size=len(b))))
    ok(kind == "response" and body.get("copied") == 1 and same_bytes(w, "in box/a+b é.txt", b)[0],
       "direct S3 event, key decoded ('+' a space, %XX)", body)

    c = os.urandom(1024 * 1024 + 3)
    etag_c = put(w, "sqs/c.bin", c)
    d = os.urandom(5000)
    put(w, "sqs/d.bin", d)
    envelope = {"Type": "Notification", "Message": json.dumps(s3_event(s3_record("sqs/c.bin", etag_c)))}
    kind, body = w.invoke(sqs_event(envelope, s3_event(s3_record("sqs/d.bin"))))
    ok(kind == "response" and body.get("copied") == 2 and body.get("batchItemFailures") == []
       and same_bytes(w, "sqs/c.bin", c)[0] and same_bytes(w, "sqs/d.bin", d)[0],
       "SQS batch (an SNS envelope and a bare S3 event): both copied, no item failure", body)

    e = os.urandom(70000)
    put(w, "retry/e.bin", e)
    kind, body = w.invoke(retry_event(sns_event(s3_event(s3_record("retry/e.bin")))))
    ok(kind == "response" and body.get("copied") == 1 and same_bytes(w, "retry/e.bin", e)[0],
       "the retry topic's doubly wrapped SNS form: copied", body)

    kind, body = w.invoke(sns_event(s3_event(s3_record("deleted/gone.bin"))))
    ok(kind == "response" and body.get("gone") == 1 and body.get("failed") == 0
       and "NoSuchKey" in w.stderr(), "NoSuchKey: logged, the invocation succeeds", body)

    f = os.urandom(600 * 1024)
    put(w, "corrupt/f.bin", f)
    w.gcs.control("POST", "faults", {"corrupt": 1})
    kind, body = w.invoke(s3_event(s3_record("corrupt/f.bin")))
    ok(kind == "error" and "corrupt/f.bin" not in w.objects(),
       "a byte corrupted on its way to GCS: refused by GCS, the invocation fails", body)
    kind, body = w.invoke(s3_event(s3_record("corrupt/f.bin")))
    ok(kind == "response" and body.get("copied") == 1 and same_bytes(w, "corrupt/f.bin", f)[0],
       "the retried event then copies it", body)

    big = hashlib.sha256(b"seed").digest() * (BIG_MIB * 1024 * 1024 // 32)
    etag_big = put(w, "big/object.bin", big)
    kind, body = w.invoke(s3_event(s3_record("big/object.bin", etag_big, len(big))))
    hwm = w.vm_hwm_kib()
    ok(kind == "response" and body.get("copied") == 1 and same_bytes(w, "big/object.bin", big)[0],
       f"a {BIG_MIB} MiB object copied", body)
    ok(hwm is not None and hwm < RSS_LIMIT_KIB,
       f"the bootstrap's peak RSS stayed under {RSS_LIMIT_KIB // 1024} MiB ({hwm} KiB) for {BIG_MIB} MiB",
       hwm)


class DenyingKms:
    """KMS answering every call AccessDeniedException (JSON 1.1, as KMS does
    for a role without kms:Decrypt); moto enforces no key policy."""

    def __init__(self):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                Handler.targets.append(self.headers.get("X-Amz-Target"))
                body = json.dumps({"__type": "AccessDeniedException", "message":
                                   "User: arn:aws:sts::123456789012:assumed-role/s3-gcs/fn is not "
                                   "authorized to perform: kms:Decrypt"}).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("x-amzn-RequestId", "4d3c3b1a-0000-4000-8000-000000000001")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        Handler.targets = []
        self.targets = Handler.targets
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def kms_refused():
    """KMS refuses GC_CREDENTIAL's Decrypt (AccessDenied): a clear failure,
    the invocation fails (Lambda retries it, then the retry topic)."""
    kms = DenyingKms()
    with tempfile.TemporaryDirectory() as tmp:
        w = World(tmp, extra_env={"AWS_ENDPOINT_URL_KMS": kms.url})
        try:
            put(w, "k.bin", b"x")
            kind, body = w.invoke(sns_event(s3_event(s3_record("k.bin"))))
            msg = json.dumps(body)
            ok(kind == "error" and "GC_CREDENTIAL" in msg and "S3BackupFailed" in msg,
               "KMS refuses the key: the invocation fails naming GC_CREDENTIAL (the retry path)", body)
            ok(w.objects() == {} and "kms:Decrypt" in msg and kms.targets[:1] == ["TrentService.Decrypt"],
               "AccessDeniedException from TrentService.Decrypt; nothing reached GCS", kms.targets)
        finally:
            w.close()
            kms.close()


if __name__ == "__main__":
    main()
    kms_refused()
    sys.exit(T.done())
