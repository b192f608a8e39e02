"""build/ebssh-proxy against a fake lookup service on 127.0.0.1 (which checks
x-api-key and records every request) and TCP listeners on 127.0.0.2 standing
in for instances: --print, the cache (a burst costs one lookup, ttl 0 still
records, the stale fallback and its limits, 404 never from the cache), answers
that are not IP literals, malformed aliases that never reach the service,
configuration precedence, the relay with half-close, --fdpass, and the exit
statuses."""

import json
import os
import socket
import stat
import subprocess
import sys
import time

ROOT = os.environ.get("EBSSH_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from proxy_fakes import INSTANCE_IP, KEY, PROXY, FakeService, Home, Instance, free_port, run  # noqa: E402
from tap import Tap  # noqa: E402


def one_line_errors(t, err, name):
    lines = err.splitlines()
    t.ok(
        lines and all(l.startswith("ebssh-proxy: ") for l in lines),
        name + ": stderr lines start with 'ebssh-proxy: '",
        err,
    )


def test_print(t, svc, inst):
    home = Home()
    svc.set("/eb/demo-env/ip/2", 200, "127.0.0.2\n")
    rc, out, err = run(home, svc, "--print", "demo-env2")
    t.eq((rc, out, err), (0, "127.0.0.2\n", ""), "--print demo-env2 prints the address")
    h = svc.last_headers()
    t.eq(h.get("x-api-key"), KEY, "the API key is sent as x-api-key")
    t.eq(h.get("accept"), "text/plain", "Accept: text/plain")
    t.ok(h.get("user-agent", "").startswith("ebssh-proxy/"), "User-Agent names ebssh-proxy", h)

    svc.set("/eb/demo-env/ip/3", 200, "2001:db8::3")
    rc, out, _ = run(home, svc, "--print", "demo-env.3", "22")
    t.eq((rc, out), (0, "2001:db8::3\n"), "NAME.N form, IPv6 answer without newline")

    svc.set("/eb/app-v2/ip/4?address=private", 200, "10.0.0.4\n")
    rc, out, _ = run(home, svc, "--print", "--index", "4", "--address", "private", "app-v2")
    t.eq((rc, out), (0, "10.0.0.4\n"), "--index N takes HOST as the name; --address private")
    t.eq(svc.requests[-1][0], "/eb/app-v2/ip/4?address=private", "the private route was asked")

    svc.set("/asg/web_group/ip/1", 200, "127.0.0.9\n")
    rc, out, _ = run(home, svc, "--print", "--asg", "web_group")
    t.eq((rc, out), (0, "127.0.0.9\n"), "--asg asks /asg/{group}/ip/{n}")


def test_cache_burst(t, svc, inst):
    home = Home()
    path = "/eb/burst-env/ip/1"
    svc.set(path, 200, "127.0.0.2\n")
    outs = [run(home, svc, "--print", "burst-env")[:2] for _ in range(5)]
    t.eq(outs, [(0, "127.0.0.2\n")] * 5, "five runs answer the same")
    t.eq(svc.count(path), 1, "a burst of five costs one lookup")
    d = os.path.join(home.cache, "ebssh")
    f = home.cache_file(svc.url, "burst-env", 1)
    t.eq(stat.S_IMODE(os.stat(d).st_mode), 0o700, "cache directory is 0700")
    t.eq(stat.S_IMODE(os.stat(f).st_mode), 0o600, "cache file is 0600")
    t.eq(sorted(os.listdir(d)), [os.path.basename(f), os.path.basename(f) + ".lock"],
         "one entry and its lookup lock, no temporary file left")
    t.eq(stat.S_IMODE(os.stat(f + ".lock").st_mode), 0o600, "lock file is 0600")
    with open(f) as fh:
        text = fh.read()
    t.ok(text.startswith("ebssh-cache 1\n127.0.0.2\n"), "the entry records the answer", text)

    # a different index, address kind or endpoint is a different entry
    svc.set("/eb/burst-env/ip/2", 200, "127.0.0.3\n")
    rc, out, _ = run(home, svc, "--print", "burst-env2")
    t.eq((rc, out, svc.count("/eb/burst-env/ip/2")), (0, "127.0.0.3\n", 1), "another index is asked")

    # once the entry is older than the ttl, the service is asked again
    os.utime(f)  # (mtime is not what counts: the time inside the entry is)
    with open(f, "w") as fh:
        fh.write("ebssh-cache 1\n127.0.0.2\n%d\n" % (int(time.time()) - 31))
    run(home, svc, "--print", "burst-env")
    t.eq(svc.count(path), 2, "an entry older than 30 s is not served")
    run(home, svc, "--print", "--cache-ttl", "3600", "burst-env")
    t.eq(svc.count(path), 2, "... but the fresh answer just recorded is")

    # a cache directory others may write to is not used, with a warning
    os.chmod(d, 0o777)
    rc, out, err = run(home, svc, "--print", "burst-env")
    t.ok(rc == 0 and out == "127.0.0.2\n" and "warning: cache disabled" in err and "writable" in err,
         "an unsafe cache directory: warned about, not used, the lookup still works", err)
    t.eq(svc.count(path), 3, "... (the service was asked)")
    os.chmod(d, 0o700)


def test_ttl_zero_and_stale(t, svc, inst):
    home = Home()
    path = "/eb/stale-env/ip/1"
    svc.set(path, 200, "127.0.0.2\n")
    for _ in range(2):
        run(home, svc, "--print", "--cache-ttl", "0", "stale-env")
    t.eq(svc.count(path), 2, "--cache-ttl 0 asks every time")
    t.ok(os.path.exists(home.cache_file(svc.url, "stale-env", 1)), "--cache-ttl 0 still records")

    svc.set(path, 503, json.dumps({"message": "AWS still throttles", "code": "Throttled"}))
    rc, out, err = run(home, svc, "--print", "--cache-ttl", "0", "stale-env")
    t.eq((rc, out), (0, "127.0.0.2\n"), "service answering 503: the stale answer is used")
    t.eq(len(err.splitlines()), 1, "with exactly one line on stderr")
    t.ok(
        err.startswith("ebssh-proxy: warning: ") and "503" in err and "AWS still throttles" in err
        and "cached" in err,
        "the warning says why and that the answer is cached",
        err,
    )

    # the service unreachable altogether (nothing listens on that port)
    dead = "http://127.0.0.1:%d" % free_port("127.0.0.1")
    svc_dead = type("Dead", (), {"url": dead})()
    entry = home.cache_file(dead, "stale-env", 1)
    os.makedirs(os.path.dirname(entry), exist_ok=True)
    with open(entry, "w") as fh:
        fh.write("ebssh-cache 1\n127.0.0.5\n%d\n" % (int(time.time()) - 3 * 3600))
    os.chmod(entry, 0o600)
    rc, out, err = run(home, svc_dead, "--print", "stale-env")
    t.eq((rc, out), (0, "127.0.0.5\n"), "service unreachable: a 3 h old answer is used")
    t.ok("warning" in err and "unreachable" in err and "3 h" in err, "the warning says so", err)

    with open(entry, "w") as fh:
        fh.write("ebssh-cache 1\n127.0.0.5\n%d\n" % (int(time.time()) - 24 * 3600 - 5))
    rc, out, err = run(home, svc_dead, "--print", "stale-env")
    t.eq((rc, out), (3, ""), "an answer older than 24 h is not used (exit 3)")
    one_line_errors(t, err, "unreachable, nothing usable")
    t.ok("unreachable" in err and "stale-env" in err, "the error names the alias and cause", err)

    rc, out, err = run(Home(), svc_dead, "--print", "stale-env")
    t.eq((rc, out), (3, ""), "service down and nothing cached: exit 3")


def test_404_never_from_cache(t, svc, inst):
    home = Home()
    path = "/eb/gone-env/ip/1"
    svc.set(path, 200, "127.0.0.2\n")
    run(home, svc, "--print", "gone-env")
    svc.set(path, 404, json.dumps({"message": "no instance 1 in gone-env", "code": "NotFound"}))
    rc, out, err = run(home, svc, "--print", "--cache-ttl", "0", "gone-env")
    t.eq((rc, out), (3, ""), "404 with a cached answer: not answered from the cache (exit 3)")
    t.ok("404" in err and "no instance 1 in gone-env" in err, "the service's message is shown", err)
    one_line_errors(t, err, "404")

    svc.set("/eb/other-env/ip/1", 200, "127.0.0.2\n")
    run(home, svc, "--print", "other-env")
    for status in (400, 403):
        svc.set("/eb/other-env/ip/1", status, json.dumps({"message": "no"}))
        rc, out, _ = run(home, svc, "--print", "--cache-ttl", "0", "other-env")
        t.eq((rc, out), (3, ""), "%d is not answered from the cache either" % status)


def test_not_an_ip(t, svc, inst):
    home = Home()
    for i, body in enumerate(
        ["evil.example.com\n", "127.0.0.2\n127.0.0.3\n", "127.0.0.2; rm -rf ~\n", "0.0.0.0\n", "<html>hi</html>"]
    ):
        path = "/eb/weird-env/ip/%d" % (i + 1)
        svc.set(path, 200, body)
        rc, out, err = run(home, svc, "--print", "weird-env.%d" % (i + 1))
        t.eq((rc, out), (3, ""), "answer %r refused (exit 3)" % body)
        t.ok(not os.path.exists(home.cache_file(svc.url, "weird-env", i + 1)), "... and not recorded")
    one_line_errors(t, err, "refused answer")
    t.ok("not an IP address" in err, "the error says it is not an IP address", err)


def test_bad_alias_no_request(t, svc, inst):
    home = Home()
    before = svc.count()
    for alias in ["env", "env.0", "my-env;id", "$(touch x)", "-oProxyCommand=x", "my-env.", ".2", "envé", "a" * 300]:
        rc, out, err = run(home, svc, "--print", "--", alias)
        t.ok(rc == 2 and out == "" and "alias" in err, "malformed alias %r: exit 2" % alias[:20], err)
    rc, out, err = run(home, svc, "--print", "-oProxyCommand=x")
    t.ok(rc == 2 and out == "" and "unknown option" in err, "an alias like an option: exit 2", err)
    t.eq(svc.count(), before, "no malformed alias ever reached the service")
    t.ok(not os.path.exists(os.path.join(home.cache, "ebssh")), "nor touched the cache")


def test_config(t, svc, inst):
    home = Home()
    svc.set("/eb/conf-env/ip/1", 200, "127.0.0.2\n")
    home.write_config("# ebssh\nendpoint = %s/\napi_key = %s\n" % (svc.url, KEY))
    rc, out, err = run(home, svc, "--print", "conf-env", EBSSH_ENDPOINT=None, EBSSH_API_KEY=None)
    t.eq((rc, out, err), (0, "127.0.0.2\n", ""), "endpoint and key from the configuration file")

    home.write_config("endpoint = http://127.0.0.1:1\napi_key = wrong\n")
    rc, out, err = run(home, svc, "--print", "--cache-ttl", "0", "conf-env", EBSSH_API_KEY=None)
    t.eq(rc, 3, "the file's key is used when the environment has none: refused (exit 3)")
    t.ok("403" in err and "API key" in err, "a refused key is named as such", err)
    rc, out, _ = run(home, svc, "--print", "--cache-ttl", "0", "conf-env")
    t.eq((rc, out), (0, "127.0.0.2\n"), "the environment wins over the file")
    rc, out, _ = run(home, svc, "--print", "--cache-ttl", "0", "--api-key", "nope", "conf-env")
    t.eq(rc, 3, "the flag wins over the environment")
    rc, out, _ = run(
        home, svc, "--print", "--cache-ttl", "0", "--endpoint", svc.url, "conf-env", EBSSH_ENDPOINT="http://127.0.0.1:1"
    )
    t.eq((rc, out), (0, "127.0.0.2\n"), "--endpoint wins over EBSSH_ENDPOINT")

    path = home.write_config("api_key = %s\n" % KEY, mode=0o644)
    rc, out, err = run(home, svc, "--print", "--cache-ttl", "0", "conf-env", EBSSH_API_KEY=None)
    t.ok(rc == 0 and "warning" in err and path in err and "chmod 600" in err,
         "a world-readable file with an api_key is warned about", err)

    home.write_config("endpoint = %s\nbogus = 1\n" % svc.url)
    rc, out, err = run(home, svc, "--print", "conf-env", EBSSH_ENDPOINT=None)
    t.ok(rc == 2 and "line 2: unknown key" in err, "a bad configuration file: exit 2, line named", err)
    rc, out, err = run(Home(), None, "--print", "conf-env", EBSSH_ENDPOINT=None)
    t.ok(rc == 2 and "no lookup service endpoint" in err, "no endpoint anywhere: exit 2", err)
    rc, out, err = run(Home(), svc, "--print", "conf-env", EBSSH_ENDPOINT="ftp://x")
    t.ok(rc == 2 and "EBSSH_ENDPOINT" in err, "a bad endpoint: exit 2, its source named", err)


def test_usage(t, svc, inst):
    home = Home()
    for args, what in [
        ([], "no HOST"),
        (["demo-env"], "no PORT without --print"),
        (["demo-env", "0"], "port 0"),
        (["demo-env", "65536"], "port 65536"),
        (["demo-env", "22x"], "port 22x"),
        (["demo-env", "22", "extra"], "extra argument"),
        (["--index", "0", "demo-env", "22"], "--index 0"),
        (["--address", "both", "demo-env", "22"], "--address both"),
        (["--cache-ttl", "-1", "demo-env", "22"], "--cache-ttl -1"),
        (["--timeout", "0", "demo-env", "22"], "--timeout 0"),
        (["--bogus", "demo-env", "22"], "unknown option"),
        (["--print", "--fdpass", "demo-env", "22"], "--print with --fdpass"),
    ]:
        rc, out, err = run(home, svc, *args)
        t.ok(rc == 2 and out == "" and len(err.splitlines()) == 1 and err.startswith("ebssh-proxy: "),
             "usage error, exit 2: " + what, err)
    rc, out, _ = run(home, svc, "--help")
    t.ok(rc == 0 and "ProxyCommand ebssh-proxy %h %p" in out and "exit status" in out, "--help", out)
    rc, out, _ = run(home, svc, "--version")
    t.ok(rc == 0 and out.startswith("ebssh-proxy "), "--version", out)


def test_relay(t, svc, inst):
    home = Home()
    svc.set("/eb/relay-env/ip/1", 200, INSTANCE_IP + "\n")
    rc, out, err = run(home, svc, "relay-env", str(inst.port), input=b"hello\n")
    t.eq((rc, out, err), (0, "hello\nbye\n", ""), "relay: echo, then stdin EOF half-closes, then bye")

    rc, out, err = run(home, svc, "-v", "relay-env", str(inst.port), input=b"x")
    lines = err.splitlines()
    t.ok(rc == 0 and len(lines) >= 5 and all(l.startswith("ebssh-proxy: ") for l in lines),
         "-v: one 'ebssh-proxy:' line per step", err)
    t.ok(KEY not in err, "-v never shows the API key")
    t.ok("cached answer 127.0.0.2" in err and "connected" in err and "relay" in err, "-v names the steps", err)

    # a few MiB both ways through pipes (ssh's setup), intact
    data = os.urandom(8 << 20)
    p = subprocess.Popen([PROXY, "relay-env", str(inst.port)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=home.env(svc))
    out, err = p.communicate(data, timeout=60)
    t.ok(p.returncode == 0 and out == data + b"bye\n", "8 MiB echoed intact (%d bytes back)" % len(out), err)


def test_connect_failure(t, svc, inst):
    home = Home()
    svc.set("/eb/closed-env/ip/1", 200, INSTANCE_IP + "\n")
    port = free_port(INSTANCE_IP)
    rc, out, err = run(home, svc, "closed-env", str(port))
    t.eq(rc, 4, "connection refused: exit 4")
    t.ok("closed-env" in err and "%s port %d" % (INSTANCE_IP, port) in err and "refused" in err,
         "the error names the alias, the address and the cause", err)
    one_line_errors(t, err, "connect failure")

    # a fresh cached answer that no longer works: asked again once
    svc.set("/eb/moved-env/ip/1", 200, "127.0.0.3\n")
    run(home, svc, "--print", "moved-env")
    svc.set("/eb/moved-env/ip/1", 200, INSTANCE_IP + "\n")
    before = svc.count("/eb/moved-env/ip/1")
    rc, out, err = run(home, svc, "moved-env", str(inst.port), input=b"ok\n")
    t.eq((rc, out), (0, "ok\nbye\n"), "a stale cached address is looked up again after a failed connect")
    t.eq(svc.count("/eb/moved-env/ip/1"), before + 1, "... with one more lookup")


def test_fdpass(t, svc, inst):
    home = Home()
    svc.set("/eb/fdpass-env/ip/1", 200, INSTANCE_IP + "\n")
    ours, theirs = socket.socketpair()
    p = subprocess.Popen([PROXY, "--fdpass", "fdpass-env", str(inst.port)], stdin=subprocess.DEVNULL,
                         stdout=theirs, stderr=subprocess.PIPE, env=home.env(svc))
    theirs.close()
    ours.settimeout(10)
    msg, fds, _, _ = socket.recv_fds(ours, 16, 1)
    rc = p.wait(timeout=10)
    err = p.stderr.read().decode()
    t.ok(rc == 0 and msg == b"\0" and len(fds) == 1, "--fdpass: one byte and one fd, exit 0", err)
    if fds:
        conn = socket.socket(fileno=fds[0])
        conn.settimeout(10)
        conn.sendall(b"direct\n")
        conn.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            got += chunk
        conn.close()
        t.eq(got, b"direct\nbye\n", "the passed socket talks to the instance directly")
    ours.close()
    rc, out, err = run(home, svc, "--fdpass", "fdpass-env", str(inst.port))
    t.ok(rc == 1 and "ProxyUseFdpass" in err, "--fdpass with a pipe as stdout: a clear error", err)


def main():
    t = Tap()
    if not os.access(PROXY, os.X_OK):
        t.ok(False, "build/ebssh-proxy exists")
        return t.done()
    svc = FakeService()
    inst = Instance()
    try:
        for fn in (test_print, test_cache_burst, test_ttl_zero_and_stale, test_404_never_from_cache,
                   test_not_an_ip, test_bad_alias_no_request, test_config, test_usage, test_relay,
                   test_connect_failure, test_fdpass):
            t.run(fn, svc, inst)
    finally:
        svc.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
