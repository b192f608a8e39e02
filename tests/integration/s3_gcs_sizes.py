#!/usr/bin/python3
"""gcp/gcs.c's resumable upload against the GCS double
(tests/doubles/gcs_double.py) at the sizes where chunking has edges, with
the default 8 MiB chunk, the size announced (X-Upload-Content-Length and
Content-Range totals, as lambda/ops/s3_backup.c does with S3's
Content-Length) and not: 0, 1, 256 KiB, exactly 8 MiB, 16 MiB, 8 MiB + 1.
The driver is build/tests/gcs_put (tests/tools/gcs_put.c).

Each upload must finish whole (size, MD5 of the stored bytes; the double
checks the CRC32C and MD5 given in X-Goog-Hash) and the request that finished
the object must be the one carrying the hashes: for a known size that is the
data PUT that reaches the total (GCS finishes the object on it), for an
unknown size an empty "bytes */N" after a multiple of the chunk. A wrong
CRC32C given at the end is refused by the double (HTTP 400) at both edges.
"""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from gcs_double import GcsDouble, make_service_account, md5_b64  # noqa: E402
from tap import Tap  # noqa: E402

GCS_PUT = os.path.join(os.environ["EBSSH_BUILD"], "tests", "gcs_put")
MIB = 1 << 20
BUCKET = "ebssh-sizes"
T = Tap()
ok = T.ok


def put(gcs, sa_path, name, data, known, *extra):
    args = [GCS_PUT, sa_path, BUCKET, name, "0"] + list(extra)
    if known:
        args.append(f"--size={len(data)}")
    env = dict(os.environ, STORAGE_EMULATOR_HOST=gcs.url)
    p = subprocess.run(args, input=data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=300)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def session_puts(gcs):
    """The Content-Range of each PUT to a session since the last reset."""
    return [r["content_range"] for r in gcs.requests() if r["method"] == "PUT"]


def expected(size, known):
    """The PUTs' Content-Ranges the 8 MiB chunking must produce."""
    chunk = 8 * MIB
    total = str(size) if known else "*"
    out, start = [], 0
    while size - start > chunk or (not known and size - start == chunk):
        out.append(f"bytes {start}-{start + chunk - 1}/{total}")
        start += chunk
    out.append(f"bytes {start}-{size - 1}/{size}" if size > start else f"bytes */{size}")
    return out


def main():
    sizes = [0, 1, 256 * 1024, 8 * MIB, 16 * MIB, 8 * MIB + 1]
    with tempfile.TemporaryDirectory() as tmp:
        sa_path = os.path.join(tmp, "sa.json")
        make_service_account(sa_path, "http://127.0.0.1:1/token")
        with GcsDouble([sa_path]) as gcs:
            with open(sa_path) as f:
                sa = json.load(f)
            sa["token_uri"] = gcs.token_uri
            with open(sa_path, "w") as f:
                json.dump(sa, f)
            for size in sizes:
                data = os.urandom(size)
                for known in (True, False):
                    label = f"{size} bytes, size {'known' if known else 'unknown'}"
                    name = f"sizes/{size}-{'known' if known else 'unknown'}"
                    gcs.control("DELETE", "requests")
                    rc, out = put(gcs, sa_path, name, data, known)
                    obj = {o["name"]: o for o in gcs.objects()}.get(name)
                    ok(rc == 0 and out.startswith(f"ok {size} ") and obj is not None
                       and obj["size"] == size and obj["md5Hash"] == md5_b64(data),
                       f"{label}: uploaded whole, hashes checked by GCS", out + str(obj))
                    ranges = session_puts(gcs)
                    ok(ranges == expected(size, known),
                       f"{label}: PUTs {expected(size, known)}", ranges)
            for size in (8 * MIB, 16 * MIB):
                for known in (True, False):
                    rc, out = put(gcs, sa_path, f"bad/{size}-{known}", os.urandom(size), known, "--bad-crc")
                    ok(rc == 1 and out.startswith("error service_error 400 ") and "CRC32C" in out,
                       f"{size} bytes, size {'known' if known else 'unknown'}: a wrong CRC32C is refused by GCS",
                       out)
            names = {o["name"] for o in gcs.objects()}
            ok(not any(x.startswith("bad/") for x in names), "no refused upload left an object", names)
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
