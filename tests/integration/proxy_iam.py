#!/usr/bin/env python3
# test-python: tools
"""ebssh-proxy --auth iam against an API Gateway double on 127.0.0.1 that
checks SigV4 for execute-api the way API Gateway's AWS_IAM authorization
does, with botocore's own signer as the verifier: for each request it
recomputes the Authorization header with botocore.auth.SigV4Auth over the
request as received (its method, path and query as on the wire, the headers
the client listed as signed, the client's X-Amz-Date) and the secret it
knows for the access key, and compares it byte for byte with the one sent;
unknown keys, wrong secrets, expired session tokens, stale dates and
unsigned requests get API Gateway's 403s; a small policy table gives the
"not authorized to perform: execute-api:Invoke" refusal.

Covered: signed requests accepted (static keys, session credentials, a
stage path with a %-escape, --known-hosts, config `auth = iam`); refusals
quoted with the request id and the docs/iam.md hint; --aws-profile over
AWS_PROFILE over aws_profile; the region from an execute-api host (through
http_proxy, so the host is API Gateway's name while the double is on
loopback) over AWS_REGION, and a custom domain that needs --aws-region,
AWS_REGION or the profile's region; an assume-role profile makes one STS
AssumeRole (moto) for two connections (the AWS CLI's disk cache); the API
key from --api-key-file, and --api-key scrubbed from /proc/PID/cmdline
while the proxy waits on a slow answer. TAP.
"""

import datetime
import glob
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

import http.server  # noqa: E402

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from proxy_fakes import PROXY, Home  # noqa: E402
from tap import Tap  # noqa: E402

ACCOUNT = "123456789012"
API_ID = "abc123defg"
ALICE = ("AKIAALICE00000000001", "alice-secret/abc+def")
BOB = ("AKIABOB0000000000002", "bob-secret")
CAROL = ("AKIACAROL00000000003", "carol-secret")
TEMP = ("ASIATEMP000000000004", "temp-secret", "session-token-valid")
OLD = ("ASIAOLD0000000000005", "old-secret", "session-token-expired")


class IamDouble:
    """API Gateway with AWS_IAM on the lookup routes, on 127.0.0.1; also
    an HTTP proxy (absolute-form request targets), so that a client told
    http_proxy reaches it under an execute-api host name."""

    def __init__(self):
        self.keys = {ALICE[0]: (ALICE[1], None, "user/alice"), BOB[0]: (BOB[1], None, "user/bob"),
                     CAROL[0]: (CAROL[1], None, "user/carol"),
                     TEMP[0]: (TEMP[1], TEMP[2], "assumed-role/ebssh-dev/temp"),
                     OLD[0]: (OLD[1], OLD[2], "assumed-role/ebssh-dev/old")}
        self.expired_tokens = {OLD[2]}
        self.allowed = {"user/alice", "user/carol", "assumed-role/ebssh-dev/temp"}
        self.region = "eu-west-1"
        self.cache_dirs = []  # ~/.aws/cli/cache dirs whose credentials are known too
        self.routes = {}
        self.delay = 0
        self.log = []
        self.lock = threading.Lock()
        dbl = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                status, body, rec = dbl.answer(self)
                with dbl.lock:
                    dbl.log.append(rec)
                    rid = "rid-%d" % len(dbl.log)
                if dbl.delay:
                    time.sleep(dbl.delay)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if status == 200 else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", rid)
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def secret_of(self, akid):
        if akid in self.keys:
            return self.keys[akid]
        for d in self.cache_dirs:  # credentials the proxy got from STS (moto)
            for path in glob.glob(os.path.join(d, "*.json")):
                with open(path) as f:
                    c = json.load(f).get("Credentials", {})
                if c.get("AccessKeyId") == akid:
                    return c["SecretAccessKey"], c.get("SessionToken"), "assumed-role/ebssh-cached/session"
        return None

    def answer(self, h):
        target = h.path
        if target.startswith("http://"):  # as a proxy
            u = urllib.parse.urlsplit(target)
            target = u.path + ("?" + u.query if u.query else "")
        headers = {k.lower(): v for k, v in h.headers.items()}
        rec = {"target": target, "headers": headers, "ok": False}
        auth = headers.get("authorization")
        if not auth:
            return 403, json.dumps({"message": "Missing Authentication Token"}), rec
        try:
            algo, rest = auth.split(" ", 1)
            parts = dict(p.strip().split("=", 1) for p in rest.split(","))
            akid, date, region, service, term = parts["Credential"].split("/")
            signed = parts["SignedHeaders"].split(";")
        except ValueError:
            return 403, json.dumps({"message": "Authorization header requires 'Credential' parameter."}), rec
        rec.update(akid=akid, region=region, service=service, signed=signed)
        known = self.secret_of(akid)
        if known is None:
            return 403, json.dumps({"message": "The security token included in the request is invalid."}), rec
        secret, token, who = known
        sent_token = headers.get("x-amz-security-token")
        if sent_token in self.expired_tokens:
            return 403, json.dumps({"message": "The security token included in the request is expired"}), rec
        if token != sent_token:
            return 403, json.dumps({"message": "The security token included in the request is invalid."}), rec
        amz_date = headers.get("x-amz-date", "")
        try:
            t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            return 403, json.dumps({"message": "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}), rec
        if abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) > 300:
            return 403, json.dumps({"message": "Signature expired: %s is now earlier than ..." % amz_date}), rec
        # botocore recomputes the signature over the request as received
        host = headers["host"]
        req = AWSRequest(method=h.command, url="http://" + host + target,
                         headers={k: v for k, v in h.headers.items() if k.lower() in signed and k.lower() != "authorization"})
        req.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(akid, secret, token), service, region)
        creq = signer.canonical_request(req)
        sts = signer.string_to_sign(req, creq)
        want = "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s" % (
            signer.scope(req), signer.signed_headers(signer.headers_to_sign(req)), signer.signature(sts, req))
        rec["want"] = want
        required = {"host", "x-amz-date"} | ({"x-amz-security-token"} if token else set())
        if auth != want or not required <= set(signed) or service != "execute-api" or date != amz_date[:8]:
            return 403, json.dumps({"message": "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}), rec
        if region != self.region:
            return 403, json.dumps({"message": "Credential should be scoped to a valid region. "}), rec
        rec["ok"] = True
        rec["who"] = who
        path = urllib.parse.urlsplit(target).path
        stage, _, route = path.lstrip("/").partition("/")
        arn = "arn:aws:execute-api:%s:%s:%s/%s/GET/%s" % (region, ACCOUNT, API_ID, stage, route)
        if who not in self.allowed:
            return 403, json.dumps({"Message": "User: arn:aws:iam::%s:%s is not authorized to perform: execute-api:Invoke on resource: %s" % (ACCOUNT, who, arn)}), rec
        r = self.routes.get(target)
        if r is None:
            return 404, json.dumps({"message": "no such environment"}), rec
        return r[0], r[1], rec

    def last(self):
        with self.lock:
            return self.log[-1] if self.log else {}

    def count(self):
        with self.lock:
            return len(self.log)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def eq(t, got, want, name, detail=None):
    return t.ok(got == want, name, "got:  %r\nwant: %r\n%s" % (got, want, "" if detail is None else detail))


def aws_files(home, config="", credentials=""):
    d = os.path.join(home.dir, ".aws")
    os.makedirs(d, exist_ok=True)
    for name, text in (("config", config), ("credentials", credentials)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(d, name), 0o600)


def env_of(home, endpoint, **extra):
    env = home.env(None, EBSSH_ENDPOINT=endpoint, EBSSH_API_KEY=None, AWS_EC2_METADATA_DISABLED="true",
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    for k in ("LSAN_OPTIONS",):
        if k in os.environ:
            env[k] = os.environ[k]
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def run(env, *args, timeout=30):
    p = subprocess.run([PROXY, *args], env=env, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


CREDS = ("[alice]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
         "[bob]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
         "[carol]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
         "[wrong]\naws_access_key_id = %s\naws_secret_access_key = not-the-secret\n") % (
    ALICE + BOB + CAROL + (ALICE[0],))


def test_signed(t, d):
    home = Home()
    aws_files(home, credentials=CREDS)
    ep = d.url + "/v1"
    d.routes["/v1/eb/demo-env/ip/2"] = (200, "127.0.0.2\n")
    env = env_of(home, ep)
    rc, out, err = run(env, "--auth", "iam", "--aws-profile", "alice", "--aws-region", "eu-west-1", "--print", "demo-env2")
    rec = d.last()
    eq(t, (rc, out, err), (0, "127.0.0.2\n", ""), "a request signed with the profile's keys is accepted", rec)
    t.ok(rec.get("ok") and rec["headers"].get("authorization") == rec.get("want"),
         "the Authorization header is botocore's for the same request, key and time", rec)
    eq(t, (rec.get("service"), rec.get("region")), ("execute-api", "eu-west-1"), "scope: execute-api in eu-west-1")
    t.ok("x-api-key" not in rec["headers"] and "x-amz-security-token" not in rec["headers"],
         "no API key and no session token header for static keys", rec["headers"])
    eq(t, sorted(rec.get("signed", [])), ["accept", "host", "x-amz-date"], "signed headers: accept, host, x-amz-date (not User-Agent)")

    # private address: the query is signed canonicalised
    d.routes["/v1/eb/demo-env/ip/1?address=private"] = (200, "10.0.0.1\n")
    rc, out, err = run(env, "--auth", "iam", "--aws-profile", "alice", "--aws-region", "eu-west-1",
                       "--print", "--address", "private", "demo-env")
    eq(t, (rc, out), (0, "10.0.0.1\n"), "the query ?address=private is signed as botocore signs it", err)

    # a stage path with a %-escape: the path as sent, encoded once more (botocore's rule)
    d.routes["/st%40ge/eb/demo-env/ip/1"] = (200, "127.0.0.3\n")
    rc, out, err = run(env_of(home, d.url + "/st%40ge"), "--auth", "iam", "--aws-profile", "alice",
                       "--aws-region", "eu-west-1", "--print", "--cache-ttl", "0", "demo-env")
    eq(t, (rc, out), (0, "127.0.0.3\n"), "a path with a %-escape signs as botocore's", (err, d.last().get("want")))

    # session credentials from the environment: X-Amz-Security-Token sent and signed
    env2 = dict(env, AWS_ACCESS_KEY_ID=TEMP[0], AWS_SECRET_ACCESS_KEY=TEMP[1], AWS_SESSION_TOKEN=TEMP[2])
    rc, out, err = run(env2, "--auth", "iam", "--aws-region", "eu-west-1", "--print", "--cache-ttl", "0", "demo-env2")
    rec = d.last()
    eq(t, (rc, out), (0, "127.0.0.2\n"), "session credentials are accepted", err)
    t.ok(rec["headers"].get("x-amz-security-token") == TEMP[2] and "x-amz-security-token" in rec.get("signed", []),
         "the session token is sent and signed", rec)

    # config file: auth = iam, aws_profile, aws_region; an API key configured too is sent as well
    home.write_config("endpoint = %s\nauth = iam\naws_profile = carol\naws_region = eu-west-1\napi_key = k-123\n" % ep)
    rc, out, err = run(env_of(home, None), "--print", "--cache-ttl", "0", "-v", "demo-env2")
    rec = d.last()
    eq(t, (rc, out, rec.get("akid")), (0, "127.0.0.2\n", CAROL[0]), "config: auth = iam, aws_profile = carol", err)
    t.ok("auth iam" in err and "region eu-west-1 (from aws_region)" in err, "-v says the auth and where the region came from", err)
    eq(t, rec["headers"].get("x-api-key"), "k-123", "an API key configured in IAM mode is sent too (and signed)")
    t.ok("x-api-key" in rec.get("signed", []), "x-api-key is among the signed headers", rec.get("signed"))

    # --known-hosts: the hostkeys route is signed too
    d.routes["/v1/eb/demo-env/hostkeys/1"] = (200, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
    rc, out, err = run(env, "--auth", "iam", "--aws-profile", "alice", "--aws-region", "eu-west-1",
                       "--known-hosts", "demo-env")
    eq(t, (rc, out.split(" ")[:2]), (0, ["demo-env", "ssh-ed25519"]), "--known-hosts in IAM mode: signed and accepted", err)
    t.ok(d.last().get("ok"), "the hostkeys request was verified", d.last())

    # api-key mode is unchanged: no signature (--auth over the file's auth = iam)
    rc, out, err = run(dict(env, EBSSH_API_KEY="k"), "--auth", "api-key", "--print", "--cache-ttl", "0", "demo-env2")
    t.ok(rc == 3 and "authorization" not in d.last()["headers"], "--auth api-key (the default) sends no signature", err)
    t.ok("Missing Authentication Token" in err and "API key missing or refused" in err,
         "an unsigned request's 403 is API Gateway's, quoted", err)


def test_refused(t, d):
    home = Home()
    aws_files(home, credentials=CREDS)
    env = env_of(home, d.url + "/v1")
    base = ("--auth", "iam", "--aws-region", "eu-west-1", "--print", "--cache-ttl", "0")
    d.routes["/v1/eb/demo-env/ip/1"] = (200, "127.0.0.2\n")

    rc, out, err = run(env, *base, "--aws-profile", "wrong", "demo-env")
    eq(t, (rc, out), (3, ""), "a wrong secret: refused, exit 3")
    t.ok("403 (not authorized)" in err and "signature we calculated does not match" in err, "... with API Gateway's message", err)
    t.ok("(request id rid-" in err and "docs/iam.md" in err, "... the request id and the hint", err)
    eq(t, len(err.splitlines()), 1, "one line")

    env2 = dict(env, AWS_ACCESS_KEY_ID=OLD[0], AWS_SECRET_ACCESS_KEY=OLD[1], AWS_SESSION_TOKEN=OLD[2])
    rc, out, err = run(env2, *base, "demo-env")
    t.ok(rc == 3 and "security token included in the request is expired" in err, "an expired session token is refused", err)

    env3 = dict(env, AWS_ACCESS_KEY_ID="AKIANOBODY0000000000", AWS_SECRET_ACCESS_KEY="x")
    rc, out, err = run(env3, *base, "demo-env")
    t.ok(rc == 3 and "security token included in the request is invalid" in err, "an unknown key is refused", err)

    rc, out, err = run(env, *base, "--aws-profile", "bob", "demo-env")
    want = "User: arn:aws:iam::%s:user/bob is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:eu-west-1:%s:%s/v1/GET/eb/demo-env/ip/1" % (ACCOUNT, ACCOUNT, API_ID)
    t.ok(rc == 3 and want in err, "a signed caller without the policy: API Gateway's Message quoted whole", err)
    t.ok("execute-api:Invoke on this route (the IAM policy of docs/iam.md)" in err, "... and the hint", err)

    rc, out, err = run(env, *base, "--aws-profile", "nosuch", "demo-env")
    t.ok(rc == 3 and "nosuch" in err and "no AWS credentials" in err, "a missing profile is named", err)
    n = d.count()
    t.ok(all(r.get("akid") != "nosuch" for r in d.log[-1:]) and n == d.count(), "... and nothing was sent", err)

    rc, out, err = run(env, "--auth", "iam", "--print", "demo-env", "--aws-profile", "alice")
    eq(t, rc, 2, "a custom domain with no region anywhere: exit 2")
    t.ok("--aws-region" in err and "AWS_REGION" in err and "cannot tell the AWS region" in err, "... saying how to give one", err)

    rc, out, err = run(env, "--auth", "nope", "--print", "demo-env")
    t.ok(rc == 2 and "--auth: api-key or iam" in err, "--auth takes api-key or iam", err)


def test_profiles_and_regions(t, d):
    home = Home()
    aws_files(home, config="[profile carol]\nregion = eu-west-1\n[profile alice]\nregion = us-west-2\n", credentials=CREDS)
    d.routes["/v1/eb/demo-env/ip/1"] = (200, "127.0.0.2\n")
    env = env_of(home, d.url + "/v1")
    base = ("--auth", "iam", "--print", "--cache-ttl", "0", "demo-env")

    rc, out, err = run(dict(env, AWS_PROFILE="alice"), *base, "--aws-profile", "carol")
    eq(t, (rc, d.last().get("akid")), (0, CAROL[0]), "--aws-profile wins over AWS_PROFILE", err)
    eq(t, d.last().get("region"), "eu-west-1", "a custom domain takes the profile's region")
    rc, out, err = run(dict(env, AWS_PROFILE="carol"), *base)
    eq(t, (rc, d.last().get("akid")), (0, CAROL[0]), "AWS_PROFILE alone is used", err)
    home.write_config("auth = iam\naws_profile = alice\n")
    rc, out, err = run(dict(env, AWS_PROFILE="carol"), *base)
    eq(t, (rc, d.last().get("akid")), (0, CAROL[0]), "AWS_PROFILE wins over the file's aws_profile", err)
    rc, out, err = run(dict(env, AWS_REGION="eu-west-1"), *base)
    eq(t, (rc, d.last().get("akid"), d.last().get("region")), (0, ALICE[0], "eu-west-1"),
         "the file's aws_profile; AWS_REGION over the profile's region for a custom domain", err)
    rc, out, err = run(env, *base)
    t.ok(rc == 3 and d.last().get("region") == "us-west-2", "alice's own region (us-west-2) is used, and refused here", err)
    home.write_config("")

    # an execute-api host: the region from it, over AWS_REGION (http_proxy brings it to the double)
    ep = "http://%s.execute-api.eu-west-1.amazonaws.com/v1" % API_ID
    penv = dict(env_of(home, ep), http_proxy=d.url, AWS_REGION="us-east-1")
    rc, out, err = run(penv, "--auth", "iam", "--aws-profile", "alice", "-v", "--print", "--cache-ttl", "0", "demo-env")
    rec = d.last()
    eq(t, (rc, out), (0, "127.0.0.2\n"), "an execute-api host: accepted", err)
    eq(t, (rec.get("region"), rec["headers"].get("host")), ("eu-west-1", "%s.execute-api.eu-west-1.amazonaws.com" % API_ID),
         "the region is the host's, not AWS_REGION's; Host is the API's name")
    t.ok("from the endpoint's host" in err, "-v says the region came from the host", err)
    rc, out, err = run(penv, "--auth", "iam", "--aws-profile", "alice", "--aws-region", "us-west-2", "--print", "--cache-ttl", "0", "demo-env")
    t.ok(rc == 3 and d.last().get("region") == "us-west-2", "--aws-region overrides the host (and here is wrong)", err)


def moto_assume_roles():
    n = 0
    for path in glob.glob(os.path.join(os.environ.get("EBSSH_CALL_LOG", "/nonexistent"), "moto-*.jsonl")):
        with open(path) as f:
            for line in f:
                if json.loads(line).get("action") == "AssumeRole":
                    n += 1
    return n


def test_assume_role_cache(t, d):
    from moto_aws import MotoAws

    if not os.environ.get("EBSSH_CALL_LOG"):
        import tempfile
        os.environ["EBSSH_CALL_LOG"] = tempfile.mkdtemp(prefix="ebssh-calls-")
    home = Home()
    aws_files(home, config="[profile dev]\nrole_arn = arn:aws:iam::%s:role/ebssh-dev\nsource_profile = alice\n" % ACCOUNT,
              credentials=CREDS)
    d.cache_dirs.append(os.path.join(home.dir, ".aws", "cli", "cache"))
    d.allowed.add("assumed-role/ebssh-cached/session")
    d.routes["/v1/eb/demo-env/ip/1"] = (200, "127.0.0.2\n")
    with MotoAws() as moto:
        env = env_of(home, d.url + "/v1", AWS_ENDPOINT_URL_STS=moto.url, AWS_REGION="eu-west-1",
                     EBSSH_CALL_LOG=os.environ["EBSSH_CALL_LOG"])
        before = moto_assume_roles()
        outs = [run(env, "--auth", "iam", "--aws-profile", "dev", "--print", "--cache-ttl", "0", "demo-env") for _ in range(2)]
        eq(t, [o[:2] for o in outs], [(0, "127.0.0.2\n")] * 2, "an assume-role profile: two connections accepted", outs)
        t.ok(d.last().get("akid", "").startswith("ASIA") and d.last().get("ok"), "signed with the role's session credentials", d.last())
        eq(t, moto_assume_roles() - before, 1, "two connections, one STS AssumeRole (the disk cache)")


def test_secrets(t, d):
    from proxy_fakes import FakeService

    svc = FakeService()
    try:
        home = Home()
        svc.set("/eb/demo-env/ip/1", 200, "127.0.0.2\n")
        keyfile = os.path.join(home.dir, "key")
        with open(keyfile, "w") as f:
            f.write("  %s  \n" % svc.key)
        os.chmod(keyfile, 0o600)
        env = home.env(svc, EBSSH_API_KEY=None)
        rc, out, err = run(env, "--api-key-file", keyfile, "--print", "--cache-ttl", "0", "demo-env")
        eq(t, (rc, out, err, svc.last_headers().get("x-api-key")), (0, "127.0.0.2\n", "", svc.key), "--api-key-file: the key, trimmed")
        os.chmod(keyfile, 0o644)
        rc, out, err = run(env, "--api-key-file", keyfile, "--print", "--cache-ttl", "0", "demo-env")
        t.ok(rc == 0 and "warning: the API key file" in err and "chmod 600" in err, "a key file others may read: a warning", err)
        home.write_config("endpoint = %s\napi_key_file = ~/key\n" % svc.url)
        rc, out, err = run(home.env(None, EBSSH_API_KEY=None, EBSSH_ENDPOINT=None), "--print", "--cache-ttl", "0", "demo-env")
        eq(t, (rc, svc.last_headers().get("x-api-key")), (0, svc.key), "config api_key_file = ~/key", err)
        rc, out, err = run(env, "--api-key-file", keyfile, "--api-key", "x", "--print", "demo-env")
        t.ok(rc == 2 and "do not go together" in err, "--api-key with --api-key-file: refused", err)
        with open(keyfile, "w") as f:
            f.write("key1\nkey2\n")
        rc, out, err = run(env, "--api-key-file", keyfile, "--print", "demo-env")
        t.ok(rc == 2 and "more than one line" in err, "a key file of two lines is refused", err)

        # --api-key is scrubbed from argv: read /proc/PID/cmdline while the proxy waits
        gate = threading.Event()
        orig = FakeService.__dict__.get("set")
        svc.set("/eb/slow-env/ip/1", 200, "127.0.0.2\n")
        slow = IamDoubleSlow(svc, gate)
        secret = svc.key
        p = subprocess.Popen([PROXY, "--api-key", secret, "--print", "--cache-ttl", "0", "slow-env"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        cmdline = b""
        for _ in range(200):
            if slow.waiting.is_set():
                with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                    cmdline = f.read()
                break
            time.sleep(0.05)
        gate.set()
        out, err = p.communicate(timeout=30)
        t.ok(cmdline and secret.encode() not in cmdline and b"--api-key" in cmdline,
             "while the proxy runs, /proc/PID/cmdline holds no API key", cmdline)
        eq(t, (p.returncode, out), (0, b"127.0.0.2\n"), "... and the key was used", err)
        eq(t, svc.last_headers().get("x-api-key"), secret, "the header carried the real key")
        del orig
        slow.restore()
    finally:
        svc.stop()


class IamDoubleSlow:
    """Holds FakeService's answers to slow-env until gate is set."""

    def __init__(self, svc, gate):
        self.svc = svc
        self.waiting = threading.Event()
        handler = svc.server.RequestHandlerClass
        self.handler = handler
        self.orig = handler.do_GET
        outer = self

        def do_get(h):
            if "slow-env" in h.path:
                outer.waiting.set()
                gate.wait(20)
            return outer.orig(h)

        handler.do_GET = do_get

    def restore(self):
        self.handler.do_GET = self.orig


def main():
    t = Tap()
    d = IamDouble()
    try:
        for fn in (test_signed, test_refused, test_profiles_and_regions, test_assume_role_cache, test_secrets):
            t.run(fn, d)
    finally:
        d.stop()
    sys.exit(t.done())


if __name__ == "__main__":
    main()
