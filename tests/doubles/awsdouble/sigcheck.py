"""SigV4 verification with botocore's own signer.

verify() rebuilds a botocore AWSRequest from what arrived (method, path,
query, headers, body), takes the credential scope from the Authorization
header, looks the secret up in a CredentialStore and recomputes the
signature with botocore.auth.SigV4Auth at the request's own X-Amz-Date (no
clock is read for that), over exactly the headers the request says it
signed. The signatures are compared with hmac.compare_digest.

The query is normalised as AWS does before it is signed: each name and
value percent-decoded and re-encoded (RFC 3986 unreserved characters stay
as they are, the rest as %XX upper case), so a client that signs a query
it did not send that way fails here as it would at AWS.

A session key (one stored with a token) must send X-Amz-Security-Token
with that token and sign it; a long-term key must send none.
"""

import calendar
import datetime
import email.utils
import hashlib
import hmac
import re
import threading
from urllib.parse import quote, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<sig>[0-9a-f]{64})\s*$"
)
_AMZ_DATE = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")


class CredentialStore:
    """Known access keys: {access key: (secret, token or None)}."""

    def __init__(self):
        self._lock = threading.Lock()
        self._keys = {}

    def add(self, access_key, secret_key, token=None):
        with self._lock:
            self._keys[access_key] = (secret_key, token or None)

    def get(self, access_key):
        with self._lock:
            return self._keys.get(access_key)

    def clear(self):
        with self._lock:
            self._keys.clear()

    def access_keys(self):
        with self._lock:
            return sorted(self._keys)


class Verdict:
    """What verify() found. `ok` is True only when everything checked out;
    `code` is then None, else the AWS error code to answer
    (MissingAuthenticationToken, AuthFailure, RequestExpired) and `reason`
    says why, for the request log."""

    def __init__(self):
        self.ok = False
        self.code = None
        self.reason = None
        self.access_key = None
        self.region = None
        self.service = None
        self.signed_headers = []
        self.had_token = False
        self.token_signed = False
        self.timestamp = None

    def fail(self, code, reason):
        self.ok = False
        self.code = code
        self.reason = reason
        return self

    def as_dict(self):
        return {
            "verified": self.ok,
            "error": self.code,
            "reason": self.reason,
            "access_key": self.access_key,
            "region": self.region,
            "service": self.service,
            "signed_headers": self.signed_headers,
            "had_token": self.had_token,
            "token_signed": self.token_signed,
            "amz_date": self.timestamp,
        }


class _Verifier(SigV4Auth):
    """SigV4Auth over the headers the request names, not the ones botocore
    would pick."""

    def __init__(self, credentials, service, region, signed):
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request):
        out = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or []:
                out.add_header(name, value)
        return out


def canonical_query(raw_query):
    """AWS's normal form of a query string: names and values decoded, then
    encoded with only A-Z a-z 0-9 - _ . ~ left bare. Order is kept; the
    signer sorts."""
    if not raw_query:
        return ""
    pairs = []
    for pair in raw_query.split("&"):
        if pair == "":
            continue
        k, _, v = pair.partition("=")
        pairs.append(quote(unquote(k), safe="-_.~") + "=" + quote(unquote(v), safe="-_.~"))
    return "&".join(pairs)


def _timestamp(headers):
    amz = headers.get("X-Amz-Date")
    if amz is not None:
        return amz.strip() if _AMZ_DATE.match(amz.strip()) else None
    date = headers.get("Date")
    if date is None:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc)
    return dt.strftime("%Y%m%dT%H%M%SZ")


def verify(method, path, raw_query, headers, body, store, now=None, max_skew=900):
    """Checks one request. headers is a list of (name, value) pairs as they
    arrived; body bytes. now is a POSIX time (default: the clock); a
    max_skew of None skips the clock check. Returns a Verdict."""
    v = Verdict()
    hdrs = HTTPHeaders()
    for name, value in headers:
        hdrs.add_header(name, value)
    auth = hdrs.get("Authorization")
    token = hdrs.get("X-Amz-Security-Token")
    v.had_token = token is not None
    if auth is None:
        return v.fail("MissingAuthenticationToken", "no Authorization header")
    m = _AUTH.match(auth.strip())
    if not m:
        return v.fail("AuthFailure", "Authorization is not AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=")
    cred = m.group("cred").split("/")
    if len(cred) != 5 or cred[4] != "aws4_request":
        return v.fail("AuthFailure", "malformed credential scope")
    access_key, scope_date, region, service, _ = cred
    v.access_key, v.region, v.service = access_key, region, service
    signed = m.group("signed").split(";")
    v.signed_headers = signed
    if signed != sorted(set(signed)) or any(s != s.lower() for s in signed):
        return v.fail("AuthFailure", "SignedHeaders not lower case, sorted and unique")
    if "host" not in signed:
        return v.fail("AuthFailure", "host is not signed")
    for name in signed:
        if hdrs.get(name) is None:
            return v.fail("AuthFailure", f"signed header {name} is missing")
    ts = _timestamp(hdrs)
    v.timestamp = ts
    if ts is None:
        return v.fail("AuthFailure", "no usable X-Amz-Date or Date")
    if "x-amz-date" not in signed and ("date" not in signed or hdrs.get("X-Amz-Date") is not None):
        return v.fail("AuthFailure", "the date header is not signed")
    if scope_date != ts[:8]:
        return v.fail("AuthFailure", f"credential scope date {scope_date} is not the request's {ts[:8]}")
    v.token_signed = token is not None and "x-amz-security-token" in signed
    known = store.get(access_key)
    if known is None:
        return v.fail("AuthFailure", f"unknown access key {access_key}")
    secret, want_token = known
    if want_token is not None:
        if token is None:
            return v.fail("AuthFailure", "session key without X-Amz-Security-Token")
        if not hmac.compare_digest(token.encode(), want_token.encode()):
            return v.fail("AuthFailure", "X-Amz-Security-Token is not this key's token")
        if not v.token_signed:
            return v.fail("AuthFailure", "X-Amz-Security-Token is not signed")
    elif token is not None:
        return v.fail("AuthFailure", "X-Amz-Security-Token sent with a long-term key")
    content_sha = hdrs.get("X-Amz-Content-SHA256")
    if content_sha is not None and content_sha != "UNSIGNED-PAYLOAD":
        if content_sha != hashlib.sha256(body or b"").hexdigest():
            return v.fail("AuthFailure", "X-Amz-Content-SHA256 does not match the body")

    query = canonical_query(raw_query)
    url = "http://" + (hdrs.get("Host") or "localhost") + path + ("?" + query if query else "")
    req = AWSRequest(method=method, url=url, data=body or b"")
    req.headers = hdrs
    req.context["timestamp"] = ts
    signer = _Verifier(Credentials(access_key, secret, want_token), service, region, signed)
    canonical = signer.canonical_request(req)
    expected = signer.signature(signer.string_to_sign(req, canonical), req)
    if not hmac.compare_digest(expected, m.group("sig")):
        return v.fail("AuthFailure", "signature mismatch")
    if max_skew is not None:
        when = calendar.timegm(datetime.datetime.strptime(ts, "%Y%m%dT%H%M%SZ").timetuple())
        clock = now if now is not None else datetime.datetime.now(datetime.timezone.utc).timestamp()
        if abs(clock - when) > max_skew:
            return v.fail("RequestExpired", f"request time {ts} is more than {max_skew} s from the clock")
    v.ok = True
    return v
