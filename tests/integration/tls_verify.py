"""TLS verifies certificates (issue 17, "nothing lost"): build/tests/ec2_describe
(aws/client over aws/http, libcurl with OpenSSL) calls EC2 DescribeInstances at
an https:// endpoint (AWS_ENDPOINT_URL_EC2) on loopback, a TLS front whose
certificate a CA made by this suite signed, relaying to the AWS double. The
call succeeds with that CA through SSL_CERT_FILE and through AWS_CA_BUNDLE
(AWS_CA_BUNDLE first when both are set), and is refused, with an error
naming the certificate and no request reaching the double, without the CA
and with a certificate for another host name."""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.environ.get("EBSSH_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

from harness import SESSION, AwsDouble  # noqa: E402
from tap import Tap  # noqa: E402
from tlsfix import Ca, TlsFront  # noqa: E402

BUILD = os.environ["EBSSH_BUILD"]
DRIVER = os.path.join(BUILD, "tests", "ec2_describe")
DEBIAN_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def describe(url, home, **extra):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_EC2": url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": SESSION[0],
        "AWS_SECRET_ACCESS_KEY": SESSION[1],
        "AWS_SESSION_TOKEN": SESSION[2],
        "EBSSH_AWS_RETRY_BASE_MS": "10",
        "EBSSH_AWS_TIMEOUT_MS": "3000",
    }
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    env.update({k: v for k, v in extra.items() if v is not None})
    proc = subprocess.run([DRIVER], env=env, capture_output=True, text=True, timeout=60)
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        out = {"unparsed": proc.stdout, "stderr": proc.stderr}
    return proc.returncode, out


def calls(aws):
    return len([r for r in aws.requests() if r.get("action") == "DescribeInstances"])


def accepted(t, aws, front, home, name, **env):
    before, hs = calls(aws), front.handshakes
    rc, out = describe(front.url, home, **env)
    t.ok(rc == 0 and len(out.get("instances", [])) > 0, name + ": DescribeInstances answered over TLS", out)
    t.ok(front.handshakes > hs and calls(aws) > before, name + ": through the TLS front to the double")


def refused(t, aws, front, home, name, wrong_name=False, **env):
    """A refused chain aborts the handshake (an unknown-CA alert); a wrong
    host name is found by curl after OpenSSL's handshake, and the connection
    is dropped before any request."""
    before, refusals = calls(aws), front.refused
    rc, out = describe(front.url, home, **env)
    err = out.get("error", {})
    msg = (err.get("message") or "").lower()
    t.ok(rc == 1 and err.get("code") == "network", name + ": refused as a network error", out)
    t.ok("certificate" in msg, name + ": the error names the certificate", out)
    if wrong_name:
        t.ok("127.0.0.1" in msg, name + ": the error names the host", out)
    else:
        t.ok(front.refused > refusals, name + ": the client aborted the handshake", front.refusals[-3:])
    t.eq(calls(aws) - before, 0, name + ": no request reached the double")


def main():
    t = Tap()
    if not os.path.exists(DRIVER):
        t.ok(False, f"{DRIVER} exists")
        return t.done()
    tmp = tempfile.mkdtemp(prefix="ebssh-tls-")
    home = tempfile.mkdtemp(prefix="ebssh-home-")
    ca = Ca(tmp)
    good = ca.server_cert("loopback", dns=["localhost"], ips=["127.0.0.1"])
    wrong = ca.server_cert("elsewhere", dns=["elsewhere.example"])
    other_ca = Ca(tempfile.mkdtemp(prefix="ebssh-tls-other-"), cn="another CA")
    with AwsDouble(credentials=[SESSION]) as aws:
        front = TlsFront(("127.0.0.1", aws.port), *good)
        t.run(accepted, aws, front, home, "SSL_CERT_FILE=the CA", SSL_CERT_FILE=ca.path)
        t.run(accepted, aws, front, home, "AWS_CA_BUNDLE=the CA", AWS_CA_BUNDLE=ca.path)
        t.run(
            accepted, aws, front, home, "AWS_CA_BUNDLE wins over SSL_CERT_FILE",
            AWS_CA_BUNDLE=ca.path, SSL_CERT_FILE=other_ca.path,
        )
        t.run(refused, aws, front, home, "no CA given (the system's roots)")
        t.run(refused, aws, front, home, "SSL_CERT_FILE=another CA", SSL_CERT_FILE=other_ca.path)
        t.run(
            refused, aws, front, home, "AWS_CA_BUNDLE=another CA over SSL_CERT_FILE=the CA",
            AWS_CA_BUNDLE=other_ca.path, SSL_CERT_FILE=ca.path,
        )
        if os.path.exists(DEBIAN_BUNDLE):
            t.run(refused, aws, front, home, "SSL_CERT_FILE=Debian's bundle", SSL_CERT_FILE=DEBIAN_BUNDLE)
        front.set_cert(*wrong)
        t.run(refused, aws, front, home, "a certificate for another host name", True, SSL_CERT_FILE=ca.path)
        t.run(refused, aws, front, home, "another host name, CA via AWS_CA_BUNDLE", True, AWS_CA_BUNDLE=ca.path)
        front.set_cert(*good)
        t.run(accepted, aws, front, home, "the right certificate again", AWS_CA_BUNDLE=ca.path)
        front.close()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
