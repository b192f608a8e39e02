#!/usr/bin/python3
"""The GCS double (tests/doubles/gcs_double.py) proven by Google's own Node.js
client, @google-cloud/storage pinned in tests/node/package.json (installed by
`make deps`): tests/node/gcs_roundtrip.js uploads (resumable in 512 KiB chunks,
resumable in one streamed request, multipart) and reads back through the
double, with a service-account key this test generates whose token_uri is
the double's. Then, from Python, the double's token checks and faults."""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
from gcs_double import GcsDouble, crc32c, crc32c_b64, make_service_account, md5_b64  # noqa: E402

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402

NODE_DIR = os.path.join(ROOT, "tests", "node")
GTOKEN_AUD = "https://www.googleapis.com/oauth2/v4/token"
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
n = 0
failed = 0


def ok(cond, what, detail=""):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[-30:]:
            print("# " + line)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(sa, aud, scope=SCOPE, iat=None, exp=None, alg="RS256", key_pem=None):
    iat = int(time.time()) if iat is None else iat
    exp = iat + 3600 if exp is None else exp
    claims = {"iss": sa["client_email"], "aud": aud, "iat": iat, "exp": exp}
    if scope is not None:
        claims["scope"] = scope
    head = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + b64url(json.dumps(claims).encode())
    key = serialization.load_pem_private_key((key_pem or sa["private_key"]).encode(), password=None)
    return head + "." + b64url(key.sign(head.encode(), padding.PKCS1v15(), hashes.SHA256()))


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def token_request(gcs, assertion, grant="urn:ietf:params:oauth:grant-type:jwt-bearer"):
    body = urllib.parse.urlencode({"grant_type": grant, "assertion": assertion}).encode()
    st, _, out = http("POST", gcs.token_uri, body, {"Content-Type": "application/x-www-form-urlencoded"})
    return st, json.loads(out)


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def node_suite(tmp, sa_path, data_big, data_small):
    if not shutil.which("node") or not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@google-cloud", "storage")):
        ok(False, "Google's Node client is installed (tests/node/node_modules; run `make deps`)")
        return
    with GcsDouble([sa_path], accept_aud=[GTOKEN_AUD]) as gcs:
        sa = json.load(open(sa_path))
        sa["token_uri"] = gcs.token_uri
        key = os.path.join(tmp, "node-sa.json")
        json.dump(sa, open(key, "w"))
        big, small = os.path.join(tmp, "big.bin"), os.path.join(tmp, "small.txt")
        open(big, "wb").write(data_big)
        open(small, "wb").write(data_small)
        spec = [
            {"name": "dir/big file+1.bin", "file": big, "resumable": True, "chunkSize": 512 * 1024,
             "contentType": "application/x-ebssh-test", "metadata": {"s3-etag": "\"abc\"", "k": "v"}},
            {"name": "small.txt", "file": small, "resumable": False, "contentType": "text/plain",
             "metadata": {"a": "b"}},
            {"name": "one-shot.bin", "file": big, "resumable": True, "contentType": "application/octet-stream"},
        ]
        spec_path = os.path.join(tmp, "spec.json")
        json.dump(spec, open(spec_path, "w"))

        def run():
            p = subprocess.run(["node", os.path.join(NODE_DIR, "gcs_roundtrip.js"), gcs.url, key, "ebssh-backup",
                                spec_path], capture_output=True, text=True, timeout=300)
            return p, [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

        p, out = run()
        ok(p.returncode == 0 and len(out) == 3, "the Node client uploads three objects and reads them back",
           p.stderr)
        want = {"dir/big file+1.bin": data_big, "small.txt": data_small, "one-shot.bin": data_big}
        for o, s in zip(out, spec):
            d = want[o["name"]]
            m = o["metadata"]
            ok(o["downloaded_sha256"] == hashlib.sha256(d).hexdigest() and o["downloaded_size"] == len(d)
               and m["size"] in (str(len(d)), len(d)) and m["crc32c"] == crc32c_b64(d) and m["md5Hash"] == md5_b64(d)
               and m["contentType"] == s["contentType"] and m.get("metadata") == s.get("metadata")
               and m["name"] == s["name"] and m["bucket"] == "ebssh-backup",
               f"{o['name']}: bytes, crc32c, md5, type and metadata through the Node client", json.dumps(o)[:2000])
        reqs = gcs.requests()
        kinds = [(r["method"], r["status"], r["content_range"]) for r in reqs if "upload_id=" in r["path"]]
        ok(kinds[:3] == [("PUT", 308, "bytes 0-524287/*"), ("PUT", 308, "bytes 524288-1048575/*"),
                         ("PUT", 200, f"bytes 1048576-{len(data_big) - 1}/{len(data_big)}")],
           "the chunked upload went as three PUTs: 308, 308, 200", json.dumps(kinds))
        ok(any("uploadType=multipart" in r["path"] for r in reqs) and [r for r in reqs if r["action"] == "token"],
           "the small file went multipart; the client got its token from the double's /token",
           json.dumps(reqs)[:2000])
        tokens = gcs.control("GET", "tokens")
        ok(tokens and all(t["scope"] and t["iss"] == sa["client_email"] for t in tokens),
           "the tokens were issued to the key's client_email with a scope", json.dumps(tokens))

        gcs.control("DELETE", "requests")
        gcs.control("POST", "faults", {"faults": [{"chunk": 2, "status": 503}]})
        p, out = run()
        reqs = [(r["method"], r["status"], r["content_range"]) for r in gcs.requests() if "upload_id=" in r["path"]]
        ok(p.returncode == 0 and out and out[0]["downloaded_sha256"] == hashlib.sha256(data_big).hexdigest()
           and ("PUT", 503, "bytes 524288-1048575/*") in reqs and ("PUT", 308, "bytes */*") in reqs,
           "a 503 on the second chunk: the Node client asks the status, resumes, and the object is whole",
           p.stderr + json.dumps(reqs))
        after = reqs[reqs.index(("PUT", 308, "bytes */*")) + 1:]
        ok(after and after[0][2].startswith("bytes 524288-"), "it resumed from the offset the double reported",
           json.dumps(reqs))


def python_suite(tmp, sa_path, other_path):
    sa, other = json.load(open(sa_path)), json.load(open(other_path))
    with GcsDouble([sa_path], token_seconds=120) as gcs:
        aud = gcs.token_uri
        st, out = token_request(gcs, jwt(sa, aud))
        ok(st == 200 and out.get("token_type") == "Bearer" and out.get("expires_in") == 120
           and out.get("access_token"), "a good assertion gets a token with expires_in", out)
        tok = out.get("access_token", "")
        cases = [
            ("signed by another key", jwt(sa, aud, key_pem=other["private_key"]), "invalid_grant"),
            ("an unknown iss", jwt(other, aud), "invalid_grant"),
            ("aud not the token URL", jwt(sa, GTOKEN_AUD), "invalid_grant"),
            ("expired", jwt(sa, aud, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), "invalid_grant"),
            ("iat in the future", jwt(sa, aud, iat=int(time.time()) + 600), "invalid_grant"),
            ("lives over an hour", jwt(sa, aud, exp=int(time.time()) + 7200), "invalid_grant"),
            ("no scope", jwt(sa, aud, scope=None), "invalid_scope"),
            ("alg not RS256", jwt(sa, aud, alg="HS256"), "invalid_grant"),
        ]
        for what, assertion, err in cases:
            st, out = token_request(gcs, assertion)
            ok(st == 400 and out.get("error") == err, f"token refused: {what} ({err})", out)
        st, out = token_request(gcs, jwt(sa, aud), grant="client_credentials")
        ok(st == 400 and out.get("error") == "unsupported_grant_type", "another grant_type is refused", out)
        st, out = token_request(gcs, jwt(sa, aud, scope="https://www.googleapis.com/auth/userinfo.email"))
        base = gcs.url + "/upload/storage/v1/b/bkt/o"
        st2, _, _ = http("POST", base + "?uploadType=media&name=x", b"x", bearer(out["access_token"]))
        ok(st2 == 403, "a token without a storage scope gets 403", st2)

        st, _, _ = http("POST", base + "?uploadType=media&name=x", b"x")
        ok(st == 401, "no token: 401", st)
        st, _, _ = http("POST", base + "?uploadType=media&name=x", b"x", bearer("ya29.made-up"))
        ok(st == 401, "an unknown token: 401", st)

        data = os.urandom(3 * 256 * 1024 + 1000)
        q = 256 * 1024

        def start(meta, token):
            st, h, _ = http("POST", base + "?uploadType=resumable", json.dumps(meta).encode(),
                            {**bearer(token), "Content-Type": "application/json"})
            return st, h.get("Location")

        def put(loc, body, cr, token=None):
            st, h, out = http("PUT", loc, body, {**(bearer(token) if token else {}), "Content-Range": cr})
            return st, h.get("Range"), out

        st, loc = start({"name": "a/b c.bin", "crc32c": crc32c_b64(data), "md5Hash": md5_b64(data),
                         "contentType": "application/x-t", "contentEncoding": "gzip", "metadata": {"m": "1"}}, tok)
        ok(st == 200 and loc and "upload_id=" in loc, "a resumable session starts with a Location", (st, loc))
        r1 = put(loc, data[:q], f"bytes 0-{q - 1}/*", tok)
        ok(r1[:2] == (308, f"bytes=0-{q - 1}"), "a first chunk: 308 with Range", r1)
        gcs.control("POST", "faults", {"faults": [{"chunk": 1, "status": 429}]})
        r2 = put(loc, data[q:2 * q], f"bytes {q}-{2 * q - 1}/*", tok)
        ok(r2[0] == 429, "the queued 429 on the next chunk", r2)
        r3 = put(loc, b"", "bytes */*", tok)
        ok(r3[:2] == (308, f"bytes=0-{q - 1}"), "the status query says what was persisted", r3)
        r4 = put(loc, data[q:q + 1000], f"bytes {q}-{q + 999}/*", tok)
        ok(r4[0] == 400, "a non-final chunk not a multiple of 256 KiB: 400", r4)
        r5 = put(loc, data[:3 * q], f"bytes 0-{3 * q - 1}/*")
        ok(r5[:2] == (308, f"bytes=0-{3 * q - 1}"), "a chunk overlapping persisted bytes, no token (the session "
           "URI is the credential): the new bytes kept", r5)
        gcs.control("POST", "expire-tokens")
        r6 = put(loc, data[3 * q:], f"bytes {3 * q}-{len(data) - 1}/{len(data)}", tok)
        ok(r6[0] == 401, "an expired token on a session PUT: 401", r6)
        tok = token_request(gcs, jwt(sa, aud))[1]["access_token"]
        r7 = put(loc, data[3 * q:], f"bytes {3 * q}-{len(data) - 1}/{len(data)}", tok)
        res = json.loads(r7[2]) if r7[0] == 200 else {}
        ok(r7[0] == 200 and res.get("size") == str(len(data)) and res.get("crc32c") == crc32c_b64(data)
           and res.get("contentEncoding") == "gzip" and res.get("metadata") == {"m": "1"},
           "the last chunk with a fresh token: 200 and the object resource", r7)
        r8 = put(loc, b"", "bytes */*", tok)
        ok(r8[0] == 200, "a status query after the end: 200", r8)
        obj = gcs.url + "/storage/v1/b/bkt/o/" + urllib.parse.quote("a/b c.bin", safe="")
        st, _, out = http("GET", obj, None, bearer(tok))
        meta = json.loads(out) if st == 200 else {}
        ok(st == 200 and meta.get("name") == "a/b c.bin" and meta.get("md5Hash") == md5_b64(data)
           and meta.get("generation") and meta.get("contentType") == "application/x-t",
           "GET the object's metadata by its URL-encoded name", out[:500])
        st, h, out = http("GET", obj + "?alt=media", None, bearer(tok))
        st2, _, out2 = http("GET", obj.replace("/storage/", "/download/storage/"), None, bearer(tok))
        ok(st == 200 and out == data and out2 == data and f"crc32c={crc32c_b64(data)}" in h.get("X-Goog-Hash", ""),
           "alt=media and /download/ give the bytes, with X-Goog-Hash", (st, st2, h))

        st, loc = start({"name": "bad", "crc32c": crc32c_b64(b"other")}, tok)
        r = put(loc, b"abc", "bytes 0-2/3", tok)
        ok(r[0] == 400 and b"CRC32C" in r[2], "a crc32c that does not match the bytes: 400", r)
        ok(put(loc, b"", "bytes */*", tok)[0] == 410, "and the session is gone", "")
        st, loc = start({"name": "bad-md5"}, tok)
        r = put(loc, b"abc", "bytes 0-2/3", tok) if False else http(
            "PUT", loc, b"abc", {"Content-Range": "bytes 0-2/3", "X-Goog-Hash": "md5=" + md5_b64(b"abd")})
        ok(r[0] == 400, "an X-Goog-Hash md5 that does not match: 400", r)
        gcs.control("POST", "faults", {"corrupt": 1})
        st, loc = start({"name": "corrupt", "crc32c": crc32c_b64(data), "md5Hash": md5_b64(data)}, tok)
        r = put(loc, data, f"bytes 0-{len(data) - 1}/{len(data)}", tok)
        ok(r[0] == 400, "a byte corrupted in transit: the upload is rejected", r)
        ok(not [o for o in gcs.objects() if o["name"] in ("bad", "bad-md5", "corrupt")],
           "no rejected upload became an object", gcs.objects())
        st, loc = start({"name": "ok-after"}, tok)
        ok(put(loc, data, f"bytes 0-{len(data) - 1}/{len(data)}", tok)[0] == 200,
           "the corruption fault was used once", "")


def main():
    ok(crc32c(b"123456789") == 0xE3069283 and crc32c(bytes(32)) == 0x8A9136AA
       and crc32c(b"\xff" * 32) == 0x62A8AB43, "CRC32C: the check value and RFC 3720's vectors")
    with tempfile.TemporaryDirectory() as tmp:
        sa_path, other_path = os.path.join(tmp, "sa.json"), os.path.join(tmp, "other.json")
        make_service_account(sa_path, "http://127.0.0.1:1/token")
        make_service_account(other_path, "http://127.0.0.1:1/token", email="intruder@other.iam.gserviceaccount.com")
        python_suite(tmp, sa_path, other_path)
        node_suite(tmp, sa_path, os.urandom(1300000), b"hello, small file\n")
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
