"""ebssh-proxy's lookups honour the proxy variables as libcurl reads them
(issue 17, "nothing lost"): a forward proxy on loopback (CONNECT and
absolute-URI GET, every request counted) between build/ebssh-proxy --print
and the fake lookup service, over http:// and over https:// (a TLS front
whose CA this suite makes, given by SSL_CERT_FILE). https_proxy/HTTPS_PROXY
tunnel an https:// lookup with CONNECT; http_proxy (lowercase only: libcurl
ignores HTTP_PROXY, the httpoxy rule) sends an http:// lookup as an
absolute-URI GET; NO_PROXY/no_proxy naming the host goes direct; a proxy
that is down fails the lookup rather than being skipped."""

import os
import sys
import tempfile

ROOT = os.environ.get("EBSSH_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from fwdproxy import ForwardProxy  # noqa: E402
from proxy_fakes import FakeService, Home, free_port, run  # noqa: E402
from tap import Tap  # noqa: E402
from tlsfix import Ca, TlsFront  # noqa: E402

PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
              "no_proxy", "NO_PROXY")


SEQ = [0]


def fresh_name():
    """An environment name not used before (letters: a trailing number would be an index)."""
    SEQ[0] += 1
    return "pxenv-" + "".join(chr(ord("a") + int(d)) for d in str(SEQ[0]))


class Endpoint:
    def __init__(self, url, **env):
        self.url = url
        self.env = env


def lookup(t, svc, fwd, ep, name, via, **env):
    """One --print with a fresh cache; via is the proxy method expected
    ("GET", "CONNECT") or None for a direct request."""
    env_name = fresh_name()
    path = "/eb/%s/ip/1" % env_name
    svc.set(path, 200, "127.0.0.7\n")
    home = Home()
    extra = {k: None for k in PROXY_VARS}
    extra.update(ep.env)
    extra.update(env)
    before_svc, before_get, before_connect = svc.count(path), fwd.count("GET"), fwd.count("CONNECT")
    rc, out, err = run(home, None, "--print", "--cache-ttl", "0", env_name, EBSSH_ENDPOINT=ep.url, **extra)
    t.eq((rc, out), (0, "127.0.0.7\n"), name + ": the address comes back" + (" " + err if rc else ""))
    t.eq(svc.count(path) - before_svc, 1, name + ": the service answered once")
    got = (fwd.count("GET") - before_get, fwd.count("CONNECT") - before_connect)
    want = {None: (0, 0), "GET": (1, 0), "CONNECT": (0, 1)}[via]
    t.eq(got, want, name + ": " + ("went direct" if via is None else "went through the proxy as " + via))
    if via == "GET":
        t.eq(fwd.requests[-1][1], ep.url + path, name + ": the proxy was asked the absolute URI")
    elif via == "CONNECT":
        t.eq(fwd.requests[-1][1], ep.url.split("://", 1)[1], name + ": the proxy was asked to CONNECT to the host")


def dead_proxy(t, svc, ep, name, **env):
    env_name = fresh_name()
    path = "/eb/%s/ip/1" % env_name
    svc.set(path, 200, "127.0.0.7\n")
    extra = {k: None for k in PROXY_VARS}
    extra.update(ep.env)
    extra.update(env)
    rc, out, err = run(Home(), None, "--print", "--cache-ttl", "0", env_name, EBSSH_ENDPOINT=ep.url, **extra)
    t.ok(rc != 0 and out == "", name + ": the lookup fails", (rc, out, err))
    t.eq(svc.count(path), 0, name + ": no request reached the service")


def main():
    t = Tap()
    svc = FakeService()
    fwd = ForwardProxy()
    tmp = tempfile.mkdtemp(prefix="ebssh-pxtls-")
    ca = Ca(tmp)
    front = TlsFront(("127.0.0.1", svc.server.server_address[1]), *ca.server_cert("lookup", ips=["127.0.0.1"]))
    plain = Endpoint(svc.url)
    tls = Endpoint(front.url, SSL_CERT_FILE=ca.path)
    down = "http://127.0.0.1:%d" % free_port("127.0.0.1")
    try:
        t.run(lookup, svc, fwd, plain, "http, no proxy variable", None)
        t.run(lookup, svc, fwd, plain, "http, http_proxy", "GET", http_proxy=fwd.url)
        t.run(lookup, svc, fwd, plain, "http, HTTP_PROXY (ignored by libcurl)", None, HTTP_PROXY=fwd.url)
        t.run(lookup, svc, fwd, plain, "http, HTTPS_PROXY only", None, HTTPS_PROXY=fwd.url)
        t.run(lookup, svc, fwd, plain, "http, ALL_PROXY", "GET", ALL_PROXY=fwd.url)
        t.run(lookup, svc, fwd, plain, "http, http_proxy and NO_PROXY=127.0.0.1", None,
              http_proxy=fwd.url, NO_PROXY="127.0.0.1")
        t.run(lookup, svc, fwd, plain, "http, http_proxy and no_proxy=*", None, http_proxy=fwd.url, no_proxy="*")
        t.run(lookup, svc, fwd, tls, "https, no proxy variable", None)
        t.run(lookup, svc, fwd, tls, "https, HTTPS_PROXY", "CONNECT", HTTPS_PROXY=fwd.url)
        t.run(lookup, svc, fwd, tls, "https, https_proxy", "CONNECT", https_proxy=fwd.url)
        t.run(lookup, svc, fwd, tls, "https, http_proxy only", None, http_proxy=fwd.url)
        t.run(lookup, svc, fwd, tls, "https, HTTPS_PROXY and NO_PROXY=127.0.0.1", None,
              HTTPS_PROXY=fwd.url, NO_PROXY="127.0.0.1")
        t.run(lookup, svc, fwd, tls, "https, HTTPS_PROXY and no_proxy=example.com,127.0.0.1", None,
              HTTPS_PROXY=fwd.url, no_proxy="example.com,127.0.0.1")
        t.run(lookup, svc, fwd, tls, "https, HTTPS_PROXY and NO_PROXY=example.com", "CONNECT",
              HTTPS_PROXY=fwd.url, NO_PROXY="example.com")
        t.run(dead_proxy, svc, tls, "https, HTTPS_PROXY down", HTTPS_PROXY=down)
        t.run(dead_proxy, svc, plain, "http, http_proxy down", http_proxy=down)
    finally:
        front.close()
        fwd.close()
        svc.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
