#!/usr/bin/python3
"""A Google Cloud Storage double for the tests: the GCS JSON API and Google's
OAuth 2.0 token endpoint, on loopback, as Google documents them.

  gcs_double.py --key-file SA.json [--port 0]   prints "PORT <n>", then serves

Needs the `cryptography` module (Debian's python3-cryptography, or the tools'
Python). Storage (every request with `Authorization: Bearer <token>` the
double issued and not expired; 401 otherwise):

  POST /upload/storage/v1/b/{bucket}/o?uploadType=resumable[&name=]
       body: the object resource (name, contentType, contentEncoding, metadata,
       crc32c, md5Hash); X-Upload-Content-Type / -Length headers
       -> 200, Location: the session URI (...&upload_id=ID)
  PUT  {session URI}  Content-Range: bytes A-B/TOTAL | A-B/* | A-*/TOTAL | A-*/*
       (Google's Node client streams one request as A-*/TOTAL) -> 308 with
       Range: bytes=0-N (incomplete) or 200 with the object resource (done);
       a chunk that is not the last must be a multiple of 256 KiB (else 400),
       must start at or before the persisted offset (bytes already persisted
       are skipped); Content-Range: bytes */* or */TOTAL (no body) is a status
       query: 308 (+Range once bytes are persisted) or 200. The final request
       may carry X-Goog-Hash: crc32c=...,md5=.... The double computes CRC32C
       (Castagnoli) and MD5 of the received bytes; a given hash (in the
       initiating resource or X-Goog-Hash) that does not match -> 400 and the
       session is gone (410 after). A session URI answers without a token as
       GCS does (the upload id is the credential), but a token given there
       must be valid.
  POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name=N   (body = bytes)
  POST /upload/storage/v1/b/{bucket}/o?uploadType=multipart      (multipart/related:
       the JSON resource, then the bytes)
  GET  /storage/v1/b/{bucket}/o/{object}            the object resource
  GET  /storage/v1/b/{bucket}/o/{object}?alt=media  the bytes (also
       /download/storage/v1/b/...), with X-Goog-Hash, X-Goog-Generation,
       X-Goog-Stored-Content-Encoding
  Object names are URL-encoded in paths ("a/b c" is a%2Fb%20c).

Token endpoint (never needs a token): POST /token, form
grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT. The JWT
must be RS256, signed by the private key of a --key-file service account (iss
= its client_email; the double derives the public key from private_key),
aud = this double's /token URL (or an --accept-aud URL), iat not in the
future (60 s of skew), exp after now and at most 3600 s after iat, a scope.
Errors as Google answers them: 400 {"error": "invalid_grant" |
"unsupported_grant_type" | "invalid_scope" | "invalid_request",
"error_description"}. Success: {"access_token", "expires_in" (--token-seconds,
default 3600), "token_type": "Bearer"}. A storage token needs a scope
naming devstorage.* or cloud-platform (read_only only reads): 403 otherwise.

Control (never needs a token, never logged in the call log):
  POST /__control/faults  {"faults": [{"chunk": N, "status": 503|429|500}]}: the
                          Nth data PUT to any session from now gets that status
                          (nothing of its body persisted, unless "persist": B
                          is given: its first B bytes, a multiple of 256 KiB,
                          are kept before the error, as when a connection
                          breaks mid-chunk); {"chunk": N, "expire_tokens":
                          true}: every issued token expires just before the
                          Nth data PUT is served (that PUT, made with a bearer
                          token, gets 401; its retry counts as the Nth);
                          {"corrupt": K}: the next K completed uploads get one
                          byte flipped before hashing (so a given hash no
                          longer matches: 400)
  POST /__control/expire-tokens   every issued token expires now
  POST /__control/config  {"token_seconds": N}
  GET  /__control/requests   [{"method", "path", "status", "content_range",
                              "auth"}]   DELETE forgets them
  GET  /__control/objects    [{"bucket", "name", "size", "crc32c", "md5Hash",
                              "resource"}] (resource: the object resource)
  GET  /__control/tokens     [{"iss", "aud", "scope", "expires_in"}] issued
  POST /__control/reset      objects, sessions, tokens, faults, requests
  GET  /__control/health

When $EBSSH_CALL_LOG names a directory, each answered storage or token
request appends a line to $EBSSH_CALL_LOG/gcs-<pid>.jsonl (awsdouble/calllog.py's
format, "double": "gcs", "service": "storage" or "oauth2", "action": the JSON
API method: objects.insert, objects.get, token, ...).

From a test: `with GcsDouble(key_file) as gcs: gcs.url ... gcs.token_uri`.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

from awsdouble.calllog import CallLog
from child import die_with_parent, read_port, serve_until_signal, stop_process

CHUNK_QUANTUM = 256 * 1024
MAX_BODY = 1 << 31
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SKEW = 60
STORAGE_SCOPES = (
    "https://www.googleapis.com/auth/devstorage.read_write",
    "https://www.googleapis.com/auth/devstorage.full_control",
    "https://www.googleapis.com/auth/cloud-platform",
)
READ_SCOPES = STORAGE_SCOPES + ("https://www.googleapis.com/auth/devstorage.read_only",)


# --- CRC32C (Castagnoli, reflected polynomial 0x82F63B78) --------------------

def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data, crc=0):
    """CRC32C of data continuing crc (0 to start)."""
    crc ^= 0xFFFFFFFF
    t = _CRC_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc32c_b64(data):
    """The crc32c field of an object resource: base64 of the big-endian CRC."""
    return base64.b64encode(crc32c(data).to_bytes(4, "big")).decode()


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


# --- state -------------------------------------------------------------------


class State:
    def __init__(self, keys, token_seconds, audiences):
        self.lock = threading.Lock()
        self.keys = keys  # client_email -> public key
        self.token_seconds = token_seconds
        self.audiences = audiences  # extra accepted aud values
        self.reset()

    def reset(self):
        self.tokens = {}  # token -> {"expires": t, "scope": [...], "iss", "aud"}
        self.sessions = {}  # upload id -> session dict
        self.objects = {}  # (bucket, name) -> {"resource", "data"}
        self.chunk_faults = {}  # nth data PUT -> (status, bytes persisted first)
        self.expire_at = set()  # nth data PUT before which every token expires
        self.chunk_count = 0
        self.corrupt = 0
        self.requests = []
        self.generation = int(time.time() * 1000000)


def _b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class ApiError(Exception):
    def __init__(self, status, message, reason="invalid", headers=()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.headers = list(headers)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gcs-double"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("gcs double: " + (fmt % args) + "\n")

    # -- plumbing --

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
                if len(out) > MAX_BODY:
                    raise ApiError(413, "too large")
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ApiError(413, "too large")
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, body=b"", ctype="application/json; charset=UTF-8", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, indent=1).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if body or status not in (308,):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._status = status

    def _error(self, err):
        body = {"error": {"code": err.status, "message": err.message,
                          "errors": [{"message": err.message, "domain": "global", "reason": err.reason}]}}
        self._send(err.status, body, headers=err.headers)

    def _record(self, service, action):
        st = self.server.state
        entry = {"method": self.command, "path": self.path, "status": getattr(self, "_status", 0),
                 "content_range": self.headers.get("Content-Range"),
                 "auth": bool(self.headers.get("Authorization")), "action": action}
        with st.lock:
            st.requests.append(entry)
        if self.server.calllog is not None:
            self.server.calllog.record(service, action, entry["status"], self.headers.get("User-Agent"))

    def _base(self):
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return f"http://{host}"

    def _token(self, session=False, read=False):
        """Checks the bearer token; a session URI may go without one."""
        st = self.server.state
        auth = self.headers.get("Authorization")
        if not auth:
            if session:
                return
            raise ApiError(401, "Anonymous caller does not have storage.objects access.", "required",
                           [("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')])
        m = re.match(r"Bearer\s+(\S+)$", auth)
        with st.lock:
            tok = st.tokens.get(m.group(1)) if m else None
        if tok is None or tok["expires"] <= time.time():
            raise ApiError(401, "Invalid Credentials", "authError",
                           [("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/", error="invalid_token"')])
        if not any(s in (READ_SCOPES if read else STORAGE_SCOPES) for s in tok["scope"]):
            raise ApiError(403, "Insufficient Permission: Request had insufficient authentication scopes.",
                           "insufficientPermissions")

    # -- verbs --

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method):
        url = urlsplit(self.path)
        path = url.path
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if path.startswith("/__control/"):
            try:
                return self._control(method, path[len("/__control/"):])
            except (ValueError, KeyError, TypeError) as e:
                return self._send(400, {"error": str(e)})
        service, action = "storage", ""
        try:
            if path == "/token" and method == "POST":
                service, action = "oauth2", "token"
                return self._token_endpoint()
            m = re.match(r"^/upload/storage/v1/b/([^/]+)/o$", path)
            if m and method == "POST":
                action = "objects.insert"
                return self._insert(unquote(m.group(1)), query)
            if m and method == "PUT" and "upload_id" in query:
                action = "objects.insert"
                return self._session_put(query["upload_id"])
            m = re.match(r"^/(download/)?storage/v1/b/([^/]+)/o/(.+)$", path)
            if m and method == "GET":
                action = "objects.get"
                media = bool(m.group(1)) or query.get("alt") == "media"
                return self._get(unquote(m.group(2)), unquote(m.group(3)), media)
            if m and method == "DELETE":
                action = "objects.delete"
                return self._delete(unquote(m.group(2)), unquote(m.group(3)))
            raise ApiError(404, "Not Found", "notFound")
        except ApiError as e:
            self._error(e)
        finally:
            if action:
                self._record(service, action)

    # -- token endpoint --

    def _token_endpoint(self):
        st = self.server.state
        form = {k: v[0] for k, v in parse_qs(self._body().decode("utf-8", "replace")).items()}

        def bad(status, error, desc):
            self._send(status, {"error": error, "error_description": desc})

        if form.get("grant_type") != JWT_BEARER:
            return bad(400, "unsupported_grant_type", "Invalid grant_type: " + form.get("grant_type", ""))
        assertion = form.get("assertion", "")
        parts = assertion.split(".")
        if len(parts) != 3:
            return bad(400, "invalid_request", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            sig = _b64url_decode(parts[2])
        except ValueError:
            return bad(400, "invalid_grant", "Invalid JWT: could not decode")
        if header.get("alg") != "RS256":
            return bad(400, "invalid_grant", "Invalid JWT: alg must be RS256")
        key = st.keys.get(claims.get("iss"))
        if key is None:
            return bad(400, "invalid_grant", "Invalid grant: account not found")
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        try:
            key.verify(sig, (parts[0] + "." + parts[1]).encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return bad(400, "invalid_grant", "Invalid JWT Signature.")
        own = self._base() + "/token"
        if claims.get("aud") not in [own] + st.audiences:
            return bad(400, "invalid_grant", f"Invalid JWT: aud {claims.get('aud')!r} is not {own}")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or iat > now + SKEW or exp <= now \
                or exp - iat > 3600 or exp <= iat:
            return bad(400, "invalid_grant",
                       "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                       "Check your iat and exp values in the JWT claim.")
        scope = str(claims.get("scope") or "").split()
        if not scope:
            return bad(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        token = "ya29.double-" + secrets.token_urlsafe(24)
        with st.lock:
            seconds = st.token_seconds
            st.tokens[token] = {"expires": now + seconds, "scope": scope, "iss": claims["iss"],
                                "aud": claims["aud"], "expires_in": seconds}
        self._send(200, {"access_token": token, "expires_in": seconds, "token_type": "Bearer"})

    # -- storage --

    def _resource(self, bucket, name, meta, data, generation):
        base = self._base()
        res = {
            "kind": "storage#object",
            "id": f"{bucket}/{name}/{generation}",
            "selfLink": f"{base}/storage/v1/b/{bucket}/o/{quote(name, safe='')}",
            "mediaLink": f"{base}/download/storage/v1/b/{bucket}/o/{quote(name, safe='')}?generation={generation}&alt=media",
            "name": name,
            "bucket": bucket,
            "generation": str(generation),
            "metageneration": "1",
            "contentType": meta.get("contentType") or "application/octet-stream",
            "storageClass": "STANDARD",
            "size": str(len(data)),
            "md5Hash": md5_b64(data),
            "crc32c": crc32c_b64(data),
            "etag": base64.b64encode(str(generation).encode()).decode().rstrip("="),
            "timeCreated": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        }
        res["updated"] = res["timeCreated"]
        for k in ("contentEncoding", "contentDisposition", "contentLanguage", "cacheControl"):
            if meta.get(k):
                res[k] = meta[k]
        if meta.get("metadata"):
            res["metadata"] = {str(k): str(v) for k, v in meta["metadata"].items()}
        return res

    def _finish(self, bucket, meta, data, goog_hash=None):
        """Checks the hashes and stores the object; returns its resource."""
        st = self.server.state
        with st.lock:
            corrupt = st.corrupt > 0
            if corrupt:
                st.corrupt -= 1
        if corrupt:
            data = bytearray(data)
            if data:
                data[len(data) // 2] ^= 0x01
            else:
                data = bytearray(b"\x01")
            data = bytes(data)
        given = {"crc32c": meta.get("crc32c"), "md5": meta.get("md5Hash")}
        for part in (goog_hash or "").split(","):
            k, _, v = part.strip().partition("=")
            if k in given and v:
                if given[k] and given[k] != v:
                    raise ApiError(400, f"Provided {k} {v!r} and the object resource's {given[k]!r} differ.")
                given[k] = v
        got = {"crc32c": crc32c_b64(data), "md5": md5_b64(data)}
        for k, label in (("crc32c", "CRC32C"), ("md5", "MD5")):
            if given[k] and given[k] != got[k]:
                raise ApiError(400, f'Provided {label} "{given[k]}" doesn\'t match calculated {label} "{got[k]}".')
        with st.lock:
            st.generation += 1
            gen = st.generation
        res = self._resource(bucket, meta["name"], meta, data, gen)
        with st.lock:
            st.objects[(bucket, meta["name"])] = {"resource": res, "data": data}
        return res

    def _insert(self, bucket, query):
        self._token()
        kind = query.get("uploadType")
        body = self._body()
        if kind == "resumable":
            try:
                meta = json.loads(body) if body.strip() else {}
            except ValueError:
                raise ApiError(400, "Parse Error", "parseError")
            if not isinstance(meta, dict):
                raise ApiError(400, "Parse Error", "parseError")
            meta = dict(meta)
            meta["name"] = meta.get("name") or query.get("name")
            if not meta["name"]:
                raise ApiError(400, "Required", "required")
            meta.setdefault("contentType", self.headers.get("X-Upload-Content-Type"))
            total = self.headers.get("X-Upload-Content-Length")
            upload_id = "ADPycd-" + secrets.token_urlsafe(24)
            with self.server.state.lock:
                self.server.state.sessions[upload_id] = {
                    "bucket": bucket, "meta": meta, "data": bytearray(),
                    "total": int(total) if total else None, "done": None, "gone": False}
            loc = f"{self._base()}/upload/storage/v1/b/{quote(bucket, safe='')}/o?uploadType=resumable&upload_id={upload_id}"
            if meta["name"] and "name" in query:
                loc += "&name=" + quote(meta["name"], safe="")
            return self._send(200, b"", headers=[("Location", loc), ("X-GUploader-UploadID", upload_id)])
        if kind == "media":
            if not query.get("name"):
                raise ApiError(400, "Required", "required")
            meta = {"name": query["name"], "contentType": self.headers.get("Content-Type")}
            return self._send(200, self._finish(bucket, meta, body, self.headers.get("X-Goog-Hash")))
        if kind == "multipart":
            meta, data, ctype = self._multipart(body)
            meta = dict(meta)
            meta["name"] = meta.get("name") or query.get("name")
            if not meta["name"]:
                raise ApiError(400, "Required", "required")
            meta.setdefault("contentType", ctype)
            return self._send(200, self._finish(bucket, meta, data, self.headers.get("X-Goog-Hash")))
        raise ApiError(400, f"Invalid upload type {kind!r}", "invalidParameter")

    def _multipart(self, body):
        m = re.search(r'boundary="?([^";]+)"?', self.headers.get("Content-Type", ""))
        if not m or "multipart/related" not in self.headers.get("Content-Type", ""):
            raise ApiError(400, "multipart/related with a boundary expected")
        delim = b"--" + m.group(1).encode()
        parts = []
        for chunk in body.split(delim)[1:]:
            if chunk.startswith(b"--"):
                break
            chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
            head, sep, content = chunk.partition(b"\r\n\r\n")
            if not sep:
                raise ApiError(400, "a multipart part without headers")
            if content.endswith(b"\r\n"):
                content = content[:-2]
            headers = {}
            for line in head.decode("latin-1").split("\r\n"):
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            parts.append((headers, content))
        if len(parts) != 2:
            raise ApiError(400, f"multipart: 2 parts expected, {len(parts)} given")
        try:
            meta = json.loads(parts[0][1])
        except ValueError:
            raise ApiError(400, "Parse Error", "parseError")
        return meta, parts[1][1], parts[1][0].get("content-type")

    def _session_put(self, upload_id):
        st = self.server.state
        if not self.headers.get("Content-Range", "").startswith("bytes */"):
            with st.lock:
                if st.chunk_count + 1 in st.expire_at:
                    st.expire_at.discard(st.chunk_count + 1)
                    for t in st.tokens.values():
                        t["expires"] = 0
        self._token(session=True)
        with st.lock:
            s = st.sessions.get(upload_id)
        if s is None:
            raise ApiError(404, "No such upload session", "notFound")
        body = self._body()
        if s["gone"]:
            raise ApiError(410, "The upload session failed and is gone", "gone")
        if s["done"] is not None:
            return self._send(200, s["done"])
        cr = self.headers.get("Content-Range", "")
        m = re.match(r"^bytes (\*|(\d+)-(\d+|\*))/(\*|\d+)$", cr.strip())
        if not m:
            raise ApiError(400, f"Bad Content-Range {cr!r}", "badRequest")
        total = None if m.group(4) == "*" else int(m.group(4))
        if total is not None:
            if s["total"] is not None and s["total"] != total:
                raise ApiError(400, f"Content-Range total {total} differs from the session's {s['total']}")
            s["total"] = total
        have = len(s["data"])
        if m.group(1) == "*":  # a status query (or finalization with */N)
            if body:
                raise ApiError(400, "A status query has no body")
            if s["total"] is not None and have == s["total"] and total is not None:
                return self._complete(s, upload_id)
            return self._incomplete(have)
        with st.lock:
            st.chunk_count += 1
            fault, persist = st.chunk_faults.pop(st.chunk_count, (None, 0))
        start = int(m.group(2))
        if fault:
            if persist and have >= start:
                s["data"] += body[have - start:persist]
            raise ApiError(fault, "Backend Error" if fault >= 500 else "The rate of change requests is too high.",
                           "backendError" if fault >= 500 else "rateLimitExceeded")
        if m.group(3) != "*":
            end = int(m.group(3))
            if end < start or end - start + 1 != len(body):
                raise ApiError(400, f"Content-Range {cr!r} does not match the {len(body)} bytes sent")
        if start > have:
            raise ApiError(400, f"Invalid request. According to the Content-Range header, the upload offset is "
                                f"{start} byte(s), which exceeds already uploaded size of {have} byte(s).")
        new = body[have - start:]
        last = m.group(3) == "*" and total is None or (s["total"] is not None and start + len(body) >= s["total"])
        if s["total"] is not None and start + len(body) > s["total"]:
            raise ApiError(400, f"{start + len(body)} bytes exceed the declared size {s['total']}")
        if not last and len(body) % CHUNK_QUANTUM:
            raise ApiError(400, f"Invalid request. The number of bytes uploaded is required to be a multiple of "
                                f"{CHUNK_QUANTUM} bytes, except for the final request; {len(body)} sent.")
        s["data"] += new
        if last:
            s["total"] = len(s["data"])
            return self._complete(s, upload_id)
        return self._incomplete(len(s["data"]))

    def _incomplete(self, have):
        hdrs = [("Range", f"bytes=0-{have - 1}")] if have else []
        return self._send(308, b"", headers=hdrs)

    def _complete(self, s, upload_id):
        try:
            res = self._finish(s["bucket"], s["meta"], bytes(s["data"]), self.headers.get("X-Goog-Hash"))
        except ApiError:
            s["gone"] = True
            s["data"] = bytearray()
            raise
        s["done"] = res
        s["data"] = bytearray()
        return self._send(200, res)

    def _lookup(self, bucket, name):
        with self.server.state.lock:
            obj = self.server.state.objects.get((bucket, name))
        if obj is None:
            raise ApiError(404, f"No such object: {bucket}/{name}", "notFound")
        return obj

    def _get(self, bucket, name, media):
        self._token(read=True)
        obj = self._lookup(bucket, name)
        res = obj["resource"]
        if not media:
            return self._send(200, res)
        hdrs = [("X-Goog-Hash", f"crc32c={res['crc32c']},md5={res['md5Hash']}"),
                ("X-Goog-Generation", res["generation"]), ("X-Goog-Metageneration", "1"),
                ("X-Goog-Stored-Content-Length", res["size"]),
                ("X-Goog-Stored-Content-Encoding", res.get("contentEncoding", "identity"))]
        if res.get("contentEncoding"):
            hdrs.append(("Content-Encoding", res["contentEncoding"]))
        return self._send(200, obj["data"], res["contentType"], hdrs)

    def _delete(self, bucket, name):
        self._token()
        self._lookup(bucket, name)
        with self.server.state.lock:
            self.server.state.objects.pop((bucket, name), None)
        return self._send(204, b"")

    # -- control --

    def _control(self, method, route):
        st = self.server.state
        data = json.loads(self._body() or b"null") if method in ("POST", "PUT") else None
        if route == "health":
            return self._send(200, {"ok": True})
        if route == "faults" and method == "POST":
            with st.lock:
                for f in data.get("faults", []):
                    n = int(f["chunk"])
                    if f.get("expire_tokens"):
                        st.expire_at.add(st.chunk_count + n)
                        continue
                    status, persist = int(f["status"]), int(f.get("persist", 0))
                    if status not in (429, 500, 503):
                        raise ValueError("a chunk fault's status is 429, 500 or 503")
                    if persist < 0 or persist % CHUNK_QUANTUM:
                        raise ValueError("persist is a multiple of 256 KiB")
                    st.chunk_faults[st.chunk_count + n] = (status, persist)
                st.corrupt += int(data.get("corrupt", 0))
            return self._send(200, {"ok": True})
        if route == "expire-tokens" and method == "POST":
            with st.lock:
                for t in st.tokens.values():
                    t["expires"] = 0
            return self._send(200, {"ok": True})
        if route == "config" and method == "POST":
            with st.lock:
                st.token_seconds = int(data["token_seconds"])
            return self._send(200, {"ok": True})
        if route == "requests":
            with st.lock:
                if method == "DELETE":
                    st.requests = []
                    return self._send(200, {"ok": True})
                return self._send(200, list(st.requests))
        if route == "objects" and method == "GET":
            with st.lock:
                objs = [{"bucket": b, "name": n, "size": len(o["data"]), "crc32c": o["resource"]["crc32c"],
                         "md5Hash": o["resource"]["md5Hash"], "resource": o["resource"]}
                        for (b, n), o in st.objects.items()]
            return self._send(200, objs)
        if route == "tokens" and method == "GET":
            with st.lock:
                toks = [{k: t[k] for k in ("iss", "aud", "scope", "expires_in")} for t in st.tokens.values()]
            return self._send(200, toks)
        if route == "reset" and method == "POST":
            with st.lock:
                st.reset()
            return self._send(200, {"ok": True})
        return self._send(404, {"error": "no such control route"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, verbose=False):
        super().__init__(addr, Handler)
        self.state = state
        self.verbose = verbose
        self.calllog = CallLog.from_environment(double="gcs")


def load_keys(paths):
    """client_email -> public key, from service-account JSON files."""
    from cryptography.hazmat.primitives import serialization
    keys = {}
    for p in paths:
        with open(p) as f:
            sa = json.load(f)
        priv = serialization.load_pem_private_key(sa["private_key"].encode(), password=None)
        keys[sa["client_email"]] = priv.public_key()
    return keys


def main(argv=None):
    ap = argparse.ArgumentParser(description="GCS JSON API and OAuth token endpoint double")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--key-file", action="append", default=[], help="a service-account JSON key (repeatable)")
    ap.add_argument("--token-seconds", type=int, default=3600, help="expires_in of issued tokens")
    ap.add_argument("--accept-aud", action="append", default=[],
                    help="another JWT aud the token endpoint accepts besides its own /token URL")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    state = State(load_keys(args.key_file), args.token_seconds, args.accept_aud)
    return serve_until_signal(Server((args.host, args.port), state, args.verbose), args.port_file)


# -- for tests ---------------------------------------------------------------


def make_service_account(path, token_uri, email="backup@ebssh-test.iam.gserviceaccount.com", project="ebssh-test"):
    """Writes a service-account key JSON (a fresh 2048-bit RSA key) to path,
    shaped as Google's console gives it; returns the dict."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    sa = {"type": "service_account", "project_id": project, "private_key_id": secrets.token_hex(20),
          "private_key": pem, "client_email": email, "client_id": "1" + "0" * 20,
          "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
          "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
          "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/" + quote(email),
          "universe_domain": "googleapis.com"}
    with open(path, "w") as f:
        json.dump(sa, f)
    return sa


class GcsDouble:
    """The double as a child process of the test (the running Python, which
    needs `cryptography`); stopped with the `with`."""

    def __init__(self, key_files, token_seconds=None, accept_aud=(), start_timeout=15):
        self.key_files = list(key_files)
        self.token_seconds = token_seconds
        self.accept_aud = list(accept_aud)
        self.start_timeout = start_timeout
        self.proc = None
        self.url = None

    @property
    def token_uri(self):
        return self.url + "/token"

    def start(self):
        args = [sys.executable, "-B", os.path.abspath(__file__), "--port", "0"]
        for k in self.key_files:
            args += ["--key-file", k]
        for a in self.accept_aud:
            args += ["--accept-aud", a]
        if self.token_seconds is not None:
            args += ["--token-seconds", str(self.token_seconds)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     preexec_fn=die_with_parent)
        try:
            self.url = f"http://127.0.0.1:{read_port(self.proc, self.start_timeout, 'the GCS double')}"
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        stop_process(proc)
        proc.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def control(self, method, route, obj=None):
        data = None if obj is None else json.dumps(obj).encode()
        req = urllib.request.Request(f"{self.url}/__control/{route}", data=data, method=method)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=10) as resp:
            return json.loads(resp.read())

    def requests(self):
        return self.control("GET", "requests")

    def objects(self):
        return self.control("GET", "objects")


if __name__ == "__main__":
    sys.exit(main())
