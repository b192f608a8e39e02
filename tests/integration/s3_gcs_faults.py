#!/usr/bin/env python3
# test-python: tools
"""The S3 -> GCS backup (issue 16) under GCS faults, end to end: build/bootstrap
under the Runtime API double, S3 (a versioned bucket) and KMS from moto, GCS
from tests/doubles/gcs_double.py (World of tests/integration/s3_gcs_backup.py).
Objects are larger than two of the 8 MiB chunks, so faults land mid-upload.

- GCS answers 503 to the second chunk after keeping its first 768 KiB (a
  connection broken mid-chunk): the function asks GCS where it stands and
  resends from the offset GCS reports; the double's request log shows no
  byte before it sent again, and the object is whole (size, MD5; the CRC32C
  checked by GCS against X-Goog-Hash);
- GCS answers 429 to the last chunk after keeping 256 KiB of it: resumed the
  same way, the last request still carrying the hashes;
- every access token expires before the second chunk (the double refuses it
  with 401): the function gets a new token and goes on; two token requests;
- Content-Type, Content-Encoding and x-amz-meta-* reach the GCS object
  resource (contentType, contentEncoding, metadata), with the S3 ETag and
  version id as custom metadata (s3-etag, s3-version-id);
- sizes at the chunk's edges through the whole path (S3's Content-Length
  announced to GCS): 0 bytes, exactly 8 MiB, 16 MiB.
"""

import hashlib
import os
import sys
import tempfile

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import s3_gcs_backup as base  # noqa: E402
from s3_gcs_backup import SRC, DST, World, ok, put, s3_event, s3_record, sns_event  # noqa: E402
from gcs_double import md5_b64  # noqa: E402

MIB = 1 << 20
CHUNK = 8 * MIB
QUANTUM = 256 * 1024


def blob(size, seed):
    """size bytes, cheap to make and unlike any other seed's."""
    block = hashlib.sha256(seed.encode()).digest() * (MIB // 32)
    return (block * (size // len(block) + 1))[:size]


def whole(w, key, data):
    o = w.objects().get(key)
    return o is not None and o["size"] == len(data) and o["md5Hash"] == md5_b64(data), o


def data_puts(w):
    """(first, last_or_None, status) of each PUT with a body to a session."""
    out = []
    for r in w.gcs.requests():
        cr = r.get("content_range") or ""
        if r["method"] != "PUT" or not cr.startswith("bytes ") or cr.startswith("bytes */"):
            continue
        span = cr[len("bytes "):].split("/")[0]
        first, _, last = span.partition("-")
        out.append((int(first), int(last), r["status"]))
    return out


def tiles(puts, persisted, size):
    """The bytes the accepted PUTs (and the faulted one's persisted part)
    carried cover [0, size) once: nothing before a resume offset resent."""
    spans = sorted([(f, l + 1) for f, l, st in puts if st in (200, 308)] + list(persisted))
    at = 0
    for f, end in spans:
        if f != at:
            return False
        at = end
    return at == size


def invoke_key(w, key):
    return w.invoke(sns_event(s3_event(s3_record(key))))


def fault_resumes(w, key, size, fault_chunk, status, persist, label):
    data = blob(size, key)
    put(w, key, data)
    w.gcs.control("DELETE", "requests")
    w.gcs.control("POST", "faults", {"faults": [{"chunk": fault_chunk, "status": status, "persist": persist}]})
    kind, body = invoke_key(w, key)
    ok(kind == "response" and body.get("copied") == 1 and body.get("failed") == 0,
       f"GCS {status} mid-upload ({label}): the invocation succeeds", body)
    puts = data_puts(w)
    faulted = [p for p in puts if p[2] == status]
    fstart = faulted[0][0] if faulted else None
    after = puts[puts.index(faulted[0]) + 1] if faulted and puts.index(faulted[0]) + 1 < len(puts) else None
    queries = [r for r in w.gcs.requests() if r["method"] == "PUT" and (r["content_range"] or "").startswith("bytes */")
               and r["status"] == 308]
    ok(len(faulted) == 1 and fstart == (fault_chunk - 1) * CHUNK and after is not None
       and after[0] == fstart + persist and len(queries) >= 1,
       f"GCS {status}: a status query, then the upload resumes at the offset GCS reports "
       f"({fstart}+{persist}), not at the chunk's start", puts)
    ok(tiles(puts, [(fstart, fstart + persist)] if faulted else [], size),
       f"GCS {status}: no byte GCS had kept was sent again", puts)
    same, o = whole(w, key, data)
    ok(same and len(w.uploads()) == 1, f"GCS {status}: one upload session, the object whole and hash-correct", o)
    return puts


def suite(w):
    w.s3.put_bucket_versioning(Bucket=SRC, VersioningConfiguration={"Status": "Enabled"})

    # 503 in the second of three chunks, 768 KiB of it kept by GCS
    fault_resumes(w, "faults/503.bin", 2 * CHUNK + 300 * 1024, 2, 503, 3 * QUANTUM, "second chunk")
    # 429 on the last chunk (the one with the hashes), 256 KiB of it kept
    puts = fault_resumes(w, "faults/429.bin", 2 * CHUNK + 700 * 1024, 3, 429, QUANTUM, "last chunk")
    hashed = [r for r in w.gcs.requests() if r["method"] == "PUT" and r["status"] == 200]
    ok(len(hashed) == 1 and hashed[0]["content_range"].endswith("/%d" % (2 * CHUNK + 700 * 1024)),
       "GCS 429 on the last chunk: its resumed rest finished the object", puts)

    # an access token refused mid-copy (401): a new token, the copy goes on
    key = "faults/token.bin"
    data = blob(CHUNK + 500 * 1024, key)
    put(w, key, data)
    w.gcs.control("DELETE", "requests")
    w.gcs.control("POST", "faults", {"faults": [{"chunk": 2, "expire_tokens": True}]})
    kind, body = invoke_key(w, key)
    reqs = w.gcs.requests()
    tokens = [r for r in reqs if r["action"] == "token"]
    refused = [r for r in reqs if r["status"] == 401]
    ok(kind == "response" and body.get("copied") == 1, "a token refused mid-copy: the invocation succeeds", body)
    ok(len(refused) == 1 and refused[0]["method"] == "PUT" and len(tokens) == 1,
       "the double refused the expired token once (401) and the function asked for a new one", reqs)
    ok(whole(w, key, data)[0] and len(w.uploads()) == 1, "the object is whole, in one upload session", w.objects().get(key))
    all_tokens = w.gcs.control("GET", "tokens")
    ok(len(all_tokens) == 2, "two token requests over the container's life (the first, the renewal)", all_tokens)

    # object metadata carried over
    key = "meta/report.csv.gz"
    data = blob(CHUNK + 12345, key)
    resp = w.s3.put_object(Bucket=SRC, Key=key, Body=data, ContentType="text/csv", ContentEncoding="gzip",
                           Metadata={"owner": "ops", "Project-Name": "ebssh"})
    etag, version = resp["ETag"].strip('"'), resp.get("VersionId")
    kind, body = invoke_key(w, key)
    o = w.objects().get(key) or {}
    res = o.get("resource", {})
    md = res.get("metadata", {})
    ok(kind == "response" and body.get("copied") == 1 and whole(w, key, data)[0], "a gzip-encoded CSV copied", body)
    ok(res.get("contentType") == "text/csv" and res.get("contentEncoding") == "gzip",
       "Content-Type and Content-Encoding reach the GCS object", res)
    ok(md.get("owner") == "ops" and md.get("project-name") == "ebssh",
       "x-amz-meta-* reach the GCS object's metadata", md)
    ok(version and md.get("s3-etag") == etag and md.get("s3-version-id") == version,
       f"the S3 ETag and version id ({version}) are GCS custom metadata", md)

    # sizes at the chunk's edges, the size announced from S3's Content-Length
    for size in (0, CHUNK, 2 * CHUNK):
        key = f"edges/{size}.bin"
        data = blob(size, key)
        put(w, key, data)
        w.gcs.control("DELETE", "requests")
        kind, body = invoke_key(w, key)
        ranges = [r["content_range"] for r in w.gcs.requests() if r["method"] == "PUT"]
        last = "bytes */0" if size == 0 else "bytes %d-%d/%d" % (size - CHUNK, size - 1, size)
        ok(kind == "response" and body.get("copied") == 1 and whole(w, key, data)[0]
           and ranges and ranges[-1] == last and len(ranges) == max(1, size // CHUNK),
           f"{size} bytes through the whole path: the last data PUT names the total ({last})",
           f"{body}\n{ranges}\n{w.stderr()[-2000:]}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        w = World(tmp)
        try:
            suite(w)
        finally:
            w.close()
    return base.T.done()


if __name__ == "__main__":
    sys.exit(main())
