#!/usr/bin/python3
"""One version, the VERSION file's (util/version.h): the --version of
ebssh-proxy, ebssh-api and bootstrap (with the libcurl each links: the lean
build's version and configure line, or "(system)"; for bootstrap and
ebssh-api the lean OpenSSL's, when they link it), bootstrap's start line, the AWS User-Agent
ebssh/<version> as the AWS double's call log records it (the prefix the
audit tests/audit/aws_actions.py counts as the code's), ebssh-proxy's lookup
User-Agent, the generated man page's .TH header; a change of VERSION
rebuilds every object and the man page (make -n -W VERSION); and no C
source spells a version (the scanner is run on planted lines first, where
it must fail). The zip's name and bytes: tests/integration/package_repro.py.
TAP on stdout."""

import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("EBSSH_BUILD") or os.path.join(ROOT, "build")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

import harness  # noqa: E402

harness.isolate_aws(os.environ)

from harness import SESSION, AwsDouble  # noqa: E402
from proxy_fakes import FakeService, Home, run  # noqa: E402
from tap import Tap  # noqa: E402

PYTHON = "/usr/bin/python3"
SUITE = "integration/version.py (its own log)"
VERSION_RE = r"[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?"
# The C the project compiles (the libraries, the mains, tests, fuzz targets).
C_DIRS = ["util", "aws", "gcp", "lambda", "proxy", "fuzz", os.path.join("tests", "unit"), os.path.join("tests", "tools"),
          "bench"]


def read_version():
    with open(os.path.join(ROOT, "VERSION"), encoding="utf-8") as f:
        return f.read()


VERSION = read_version().strip()


def case_version_file(t):
    text = read_version()
    t.ok(re.fullmatch(VERSION_RE + r"\n", text), "VERSION holds one line, a version like 0.2.0", repr(text))


def curl_lines_wrong(lines, curl_shared, builds):
    """Why the libcurl lines of a --version (after the program's own) do not
    say the libcurl the program links, or None. curl_shared: ldd lists a
    libcurl.so; builds: the texts of build/curl-*/ebssh-curl.txt."""
    if curl_shared:
        if len(lines) != 1 or not re.fullmatch(r"libcurl [0-9]+\.[0-9]+\.[0-9]+\S* \(system\)", lines[0]):
            return "a system libcurl build should say 'libcurl X (system)' and no more"
        return None
    if len(lines) != 2 or not re.fullmatch(r"libcurl [0-9]+\.[0-9]+\.[0-9]+ \(Debian [^)]+\)", lines[0]):
        return "a lean build should say 'libcurl X (Debian V)' then its configure line"
    # --with-openssl=OPENSSL_PREFIX: built against the lean OpenSSL.
    conf = [re.sub(r"^--with-openssl=OPENSSL_PREFIX$", "--with-openssl", c) for c in lines[1].split()]
    if conf[:1] != ["configure"] or not {"--disable-shared", "--with-openssl", "--disable-ftp",
                                         "--without-nghttp2", "--prefix=PREFIX"} <= set(conf):
        return "the configure line is not the lean one"
    if ROOT in lines[1]:
        return "the configure line names the checkout's path"
    if "\n".join(lines) + "\n" not in builds:
        return "the lines are no build/curl-*/ebssh-curl.txt"
    return None


def openssl_lines_wrong(lines, builds):
    """Why the lean OpenSSL lines of a --version (after libcurl's) do not say
    a lean OpenSSL build, or None. builds: the texts of
    build/openssl-*/ebssh-openssl.txt."""
    if len(lines) != 2 or not re.fullmatch(r"OpenSSL [0-9]+\.[0-9]+\.[0-9]+ \(Debian [^)]+\)", lines[0]):
        return "a lean OpenSSL should say 'OpenSSL X (Debian V...)' then its Configure line"
    conf = lines[1].split()
    if conf[:1] != ["Configure"] or not {"no-shared", "no-legacy", "no-des", "no-tls1", "--prefix=PREFIX"} <= set(conf):
        return "the Configure line is not the lean one"
    if ROOT in lines[1]:
        return "the Configure line names the checkout's path"
    if "\n".join(lines) + "\n" not in builds:
        return "the lines are no build/openssl-*/ebssh-openssl.txt"
    return None


# The compiler line OpenSSL_version() holds, in a program that links the
# lean OpenSSL (scripts/openssl-lean.sh's CFLAGS), not in Debian's.
LEAN_OPENSSL_MARK = b"-Os -ffunction-sections -fdata-sections -DOPENSSL_USE_NODELETE"


def case_openssl(t):
    """bootstrap and ebssh-api link the lean OpenSSL when make deps fetched its
    source (and libcurl is the lean one) and say so; ebssh-proxy links
    Debian's (libssh2 needs it) and says nothing of OpenSSL."""
    builds = []
    for path in sorted(glob.glob(os.path.join(ROOT, "build", "openssl-*", "ebssh-openssl.txt"))):
        with open(path, encoding="utf-8") as f:
            builds.append(f.read())
    lean = ["OpenSSL 3.0.22 (Debian 3.0.22-1~deb12u2)",
            "Configure linux-x86_64 --prefix=PREFIX no-shared no-legacy no-des no-tls1"]
    planted = {
        "no Configure line": (lean[:1], [lean[0] + "\n"]),
        "no such build": (lean, []),
        "a curl line": (["libcurl 7.88.1 (Debian 7.88.1-10+deb12u15)", lean[1]], []),
        "checkout path": ([lean[0], lean[1] + " CC=" + ROOT + "/cc"], [lean[0] + "\n" + lean[1] + " CC=" + ROOT + "/cc\n"]),
    }
    refused = {name: openssl_lines_wrong(*args) is not None for name, args in planted.items()}
    t.eq(refused, {name: True for name in planted}, "the --version OpenSSL check refuses planted wrong lines")
    t.ok(openssl_lines_wrong(lean, ["\n".join(lean) + "\n"]) is None, "the --version OpenSSL check accepts right ones")
    lean_src = bool(glob.glob(os.path.join(ROOT, ".deps", "src", "openssl-*", "Configure"))
                    and glob.glob(os.path.join(ROOT, ".deps", "src", "curl-*", "configure")))
    for prog in ("ebssh-proxy", "ebssh-api", "bootstrap"):
        exe = os.path.join(BUILD, prog)
        p = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
        lines = p.stdout.splitlines()
        with open(exe, "rb") as f:
            linked = LEAN_OPENSSL_MARK in f.read()
        curl_lines = 1 if re.fullmatch(r"libcurl \S+ \(system\)", (lines[1:2] or [""])[0]) else 2
        rest = lines[1 + curl_lines:]
        if prog == "ebssh-proxy" or not lean_src:
            t.ok(p.returncode == 0 and not rest and not linked,
                 f"{prog} links Debian's OpenSSL and names none", (p.stdout, linked))
        else:
            wrong = openssl_lines_wrong(rest, builds)
            t.ok(p.returncode == 0 and wrong is None and linked,
                 f"{prog} links the lean OpenSSL and says which", (wrong, p.stdout, linked))


def case_flags(t):
    builds = []
    for path in sorted(glob.glob(os.path.join(ROOT, "build", "curl-*", "ebssh-curl.txt"))):
        with open(path, encoding="utf-8") as f:
            builds.append(f.read())
    # The check itself, on planted outputs first: each must be refused.
    lean = ["libcurl 7.88.1 (Debian 7.88.1-10+deb12u15)",
            "configure --prefix=PREFIX --disable-shared --with-openssl --disable-ftp --without-nghttp2"]
    planted = {
        "lean lines, shared libcurl": (lean, True, ["\n".join(lean) + "\n"]),
        "system line, static libcurl": (["libcurl 7.88.1 (system)"], False, []),
        "lean lines, no such build": (lean, False, []),
        "no configure line": (lean[:1], False, [lean[0] + "\n"]),
        "checkout path": ([lean[0], lean[1] + " CC=" + ROOT + "/cc"], False,
                          [lean[0] + "\n" + lean[1] + " CC=" + ROOT + "/cc\n"]),
    }
    refused = {name: curl_lines_wrong(*args) is not None for name, args in planted.items()}
    t.eq(refused, {name: True for name in planted}, "the --version libcurl check refuses planted wrong lines")
    t.ok(curl_lines_wrong(lean, False, ["\n".join(lean) + "\n"]) is None
         and curl_lines_wrong(["libcurl 7.88.1 (system)"], True, []) is None,
         "the --version libcurl check accepts right ones")
    for prog in ("ebssh-proxy", "ebssh-api", "bootstrap"):
        exe = os.path.join(BUILD, prog)
        p = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
        lines = p.stdout.splitlines()
        t.eq((p.returncode, lines[:1], p.stderr), (0, [f"{prog} {VERSION}"], ""), f"{prog} --version says VERSION")
        ldd = subprocess.run(["ldd", exe], capture_output=True, text=True, timeout=30).stdout
        curl_lines = lines[1:2] if "libcurl" in ldd else lines[1:3]
        wrong = curl_lines_wrong(curl_lines, "libcurl" in ldd, builds)
        t.ok(wrong is None, f"{prog} --version says the libcurl it links ({'shared' if 'libcurl' in ldd else 'static'})",
             (wrong, p.stdout, ldd))


def case_proxy_agent(t):
    svc = FakeService()
    try:
        svc.set("/eb/demo-env/ip/1", 200, "127.0.0.2\n")
        rc, out, err = run(Home(), svc, "--print", "demo-env1")
        agent = svc.last_headers().get("user-agent")
        t.ok(rc == 0 and agent == f"ebssh-proxy/{VERSION}", "the lookup's User-Agent is ebssh-proxy/<VERSION>",
             (rc, out, err, agent))
    finally:
        svc.stop()


def code_agent_prefix():
    """The audit's mark of the code's requests (tests/audit/aws_actions.py)."""
    with open(os.path.join(ROOT, "tests", "audit", "aws_actions.py"), encoding="utf-8") as f:
        m = re.search(r'^CODE_AGENT = "([^"]*)"', f.read(), re.M)
    return m.group(1) if m else None


def case_aws_agent(t, aws, log_dir):
    driver = os.path.join(BUILD, "tests", "ec2_describe")
    p = subprocess.run([driver], env=aws.client_env(SESSION), capture_output=True, text=True, timeout=60)
    lines = []
    for name in sorted(os.listdir(log_dir)):
        with open(os.path.join(log_dir, name), encoding="utf-8") as f:
            lines += [json.loads(line) for line in f]
    agents = [(c["action"], c["user_agent"]) for c in lines]
    t.eq((p.returncode, agents), (0, [("DescribeInstances", f"ebssh/{VERSION}")]),
         "the AWS double logs the C code's User-Agent as ebssh/<VERSION>")
    prefix = code_agent_prefix()
    t.ok(prefix == "ebssh/" and all(a.startswith(prefix) for _, a in agents),
         "the audit's CODE_AGENT prefix recognises it as the code's", (prefix, agents))


def case_bootstrap(t):
    """bootstrap says its version once its init is done (no invocation yet)."""
    double = subprocess.Popen([PYTHON, os.path.join(ROOT, "tests", "doubles", "runtime_api.py")],
                              stdout=subprocess.PIPE, text=True)
    boot = None
    log = tempfile.TemporaryFile()
    try:
        port = double.stdout.readline().split()[1]
        env = harness.isolate_aws(dict(os.environ))
        env.update(AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}", AWS_REGION="us-east-1",
                   AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret", AWS_SESSION_TOKEN="token",
                   AWS_LAMBDA_FUNCTION_NAME="ebssh")
        boot = subprocess.Popen([os.path.join(BUILD, "bootstrap")], env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
        found = []
        for _ in range(200):
            log.seek(0)
            text = log.read().decode("utf-8", "replace")
            found = []
            for line in text.splitlines():
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if isinstance(doc, dict) and "version" in doc:
                    found.append(doc)
            if found or boot.poll() is not None:
                break
            time.sleep(0.05)
        t.ok(len(found) == 1 and found[0].get("version") == VERSION and found[0].get("level") == "INFO"
             and found[0].get("message") == f"ebssh {VERSION} started",
             "bootstrap logs its version (VERSION) once at init, a JSON line (lambda/log.h)", text)
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/__control/shutdown", data=b"{}",
                                                      method="POST"), timeout=10).read()
        boot.wait(20)
    finally:
        if boot and boot.poll() is None:
            boot.kill()
            boot.wait()
        double.kill()
        double.wait()
        log.close()


def th_fields(text):
    for line in text.splitlines():
        if line.startswith(".TH "):
            return shlex.split(line)
    return None


def case_man_page(t):
    with open(os.path.join(ROOT, "docs", "ebssh-proxy.1"), encoding="utf-8") as f:
        source = f.read()
    path = os.path.join(BUILD, "ebssh-proxy.1")
    built = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    src_th, th = th_fields(source), th_fields(built)
    t.ok(src_th and src_th[4] == "ebssh @VERSION@", "the source's .TH names the placeholder, no version", src_th)
    t.ok(th and th[1:3] == ["EBSSH-PROXY", "1"] and th[4] == f"ebssh {VERSION}",
         "the built man page's .TH header names ebssh <VERSION>", (path, th))
    t.eq(built.replace(f"ebssh {VERSION}", "ebssh @VERSION@", 1), source,
         "the built man page is the source but for its header")


def dry_make(target, *extra):
    p = subprocess.run(["make", "-n", "-C", ROOT, f"BUILD={BUILD}", "-W", "VERSION", *extra, target],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def case_rebuild(t):
    rc, out = dry_make(os.path.join(BUILD, "ebssh-proxy"))
    compiles = [line for line in out.splitlines() if " -c " in line]
    t.ok(rc == 0 and any("proxy/main.c" in c for c in compiles) and any("aws/client.c" in c for c in compiles)
         and all(f"-DEBSSH_VERSION='\"{VERSION}\"'" in c for c in compiles) and len(compiles) > 20,
         "a new VERSION recompiles every object of ebssh-proxy, each with -DEBSSH_VERSION", out[-3000:])
    rc, out = dry_make(os.path.join(BUILD, "ebssh-proxy.1"))
    t.ok(rc == 0 and "docs/ebssh-proxy.1" in out, "and regenerates the man page", out[-2000:])


def hardcoded(text, version):
    """The lines of C text that spell a version: [(line number, line)]."""
    rules = [
        re.compile(r'#\s*define\s+\w*VERSION\w*\s+"v?[0-9]+\.[0-9]'),  # a version macro set in the source
        re.compile(r'"[^"\n]*\bebssh[\w-]*[/ ]v?[0-9]+\.[0-9]'),  # "ebssh/0.1", "ebssh-api 1.0"
        re.compile(r"(?<![0-9A-Za-z.])" + re.escape(version) + r"(?![0-9A-Za-z])"),  # VERSION itself
    ]
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if any(r.search(line) for r in rules)]


def c_sources():
    for d in C_DIRS:
        for dirpath, _, names in os.walk(os.path.join(ROOT, d)):
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    yield os.path.join(dirpath, name)


def case_no_hardcoded(t):
    planted = {
        '#define EBSSH_PROXY_VERSION "0.1.0"': True,
        '\thh[nh++] = (struct http_header){"User-Agent", "ebssh/0.1"};': True,
        '\tputs("ebssh-api 3.4");': True,
        f'\tputs(PROG " {VERSION}");': True,
        f" * the release, {VERSION}, ...": True,
        '#define API_VERSION        "2018-06-01"': False,
        '\t{"203.0.113", 0, 0, "is not an IP address"},': False,
        '\t{"User-Agent", "ebssh/" EBSSH_VERSION},': False,
        '\tputs(PROG " " EBSSH_VERSION);': False,
        f'\tip = "10.{VERSION}";': False,
    }
    got = {line: bool(hardcoded(line, VERSION)) for line in planted}
    t.eq(got, planted, "the scanner flags planted versions (macro, agent, VERSION itself), not dates or IPs")
    hits, files = [], 0
    for path in c_sources():
        files += 1
        with open(path, encoding="utf-8", errors="replace") as f:
            hits += [f"{os.path.relpath(path, ROOT)}:{n}: {line.strip()}" for n, line in hardcoded(f.read(), VERSION)]
    t.ok(files > 100 and not hits, f"no C source of {files} spells a version (util/version.h is the one way)",
         "\n".join(hits))


def main():
    t = Tap()
    t.run(case_version_file)
    t.run(case_flags)
    t.run(case_openssl)
    t.run(case_proxy_agent)
    with tempfile.TemporaryDirectory() as log_dir:
        saved = {k: os.environ.get(k) for k in ("EBSSH_CALL_LOG", "EBSSH_SUITE")}
        os.environ.update(EBSSH_CALL_LOG=log_dir, EBSSH_SUITE=SUITE)
        try:
            aws = AwsDouble().start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        try:
            t.run(case_aws_agent, aws, log_dir)
        finally:
            aws.stop()
    t.run(case_bootstrap)
    t.run(case_man_page)
    t.run(case_rebuild)
    t.run(case_no_hardcoded)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
