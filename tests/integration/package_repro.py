#!/usr/bin/python3
"""The Lambda zip is reproducible and names its release (scripts/package.sh).

Builds bootstrap twice from copies of the source at two different paths,
with different build directories (with the lean libcurl and OpenSSL when
the checkout has make deps' curl and openssl sources: one copy builds
libcurl.a and libcrypto.a at its own path, the other takes the checkout's), then packages each: the first with TZ=UTC
and umask 022, the second after touching its files, with TZ=Pacific/Chatham,
umask 077 and the other copy's package.sh and LICENSE. Same
SOURCE_DATE_EPOCH: the same bytes, and the release file
ebssh-lambda-<VERSION>-<arch>.zip next to it is the same file. The zip's
entries are sorted files with fixed modes, every mtime SOURCE_DATE_EPOCH and
no extra field. A different SOURCE_DATE_EPOCH gives other bytes (the
comparison can fail); its default is the checkout's last commit time, and
outside git 1980-01-01. Skipped for a sanitizer build (package.sh refuses
one, and the normal build's run covers it). TAP on stdout."""

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("EBSSH_BUILD") or os.path.join(ROOT, "build")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from tap import Tap  # noqa: E402

# What building bootstrap and packaging it read.
SOURCE = ["Makefile", "VERSION", "LICENSE", "util", "aws", "gcp", "lambda", "proxy", "scripts"]
EPOCH = 1765000000  # 2025-12-06T05:46:40Z (an even second: zip keeps those)
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z
ARCHES = {"x86_64": "x86_64", "aarch64": "arm64"}


def version():
    with open(os.path.join(ROOT, "VERSION"), encoding="utf-8") as f:
        return f.readline().strip()


def copy_source(dest, lean_build=False):
    """A copy of what the build reads. When the checkout has Debian's curl
    source (.deps/src, make deps), the copy sees it too (a link: read only),
    so both copies make the lean build; with lean_build the copy also gets the
    checkout's build/curl-*/ and build/openssl-*/ (libcurl.a, libssl.a,
    libcrypto.a, headers, ebssh-curl.txt, ebssh-openssl.txt, times kept: not
    built again), the other copy builds its own at its own path."""
    os.makedirs(dest)
    for name in SOURCE:
        src = os.path.join(ROOT, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dest, name), ignore=shutil.ignore_patterns("build"))
        else:
            shutil.copy2(src, os.path.join(dest, name))
    if glob.glob(os.path.join(ROOT, ".deps", "src", "curl-*", "configure")):
        os.symlink(os.path.join(ROOT, ".deps"), os.path.join(dest, ".deps"))
        if lean_build:
            for txt in (glob.glob(os.path.join(ROOT, "build", "curl-*", "ebssh-curl.txt"))
                        + glob.glob(os.path.join(ROOT, "build", "openssl-*", "ebssh-openssl.txt"))):
                curl_dir = os.path.dirname(txt)
                shutil.copytree(curl_dir, os.path.join(dest, "build", os.path.basename(curl_dir)),
                                ignore=shutil.ignore_patterns("obj", "build.log"))


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GIT_") and k not in ("SOURCE_DATE_EPOCH", "EBSSH_VERSION", "TZ")}
    env.update(extra)
    return env


def build(src, build_dir):
    p = subprocess.run(["make", "-s", "-j2", "-C", src, f"BUILD={build_dir}", f"{build_dir}/bootstrap"],
                       env=clean_env(), capture_output=True, text=True, timeout=900)
    return p.returncode, p.stdout + p.stderr


def package(script_root, bootstrap, out, umask=0o022, **env):
    old = os.umask(umask)
    try:
        p = subprocess.run([os.path.join(script_root, "scripts", "package.sh"), bootstrap, out],
                           env=clean_env(**env), capture_output=True, text=True, timeout=600)
    finally:
        os.umask(old)
    return p.returncode, p.stdout + p.stderr


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def zip_time(epoch):
    return time.gmtime(epoch + epoch % 2)[:6]  # zip rounds an odd second up


def git_time():
    p = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%ct"], env=clean_env(),
                       capture_output=True, text=True)
    return int(p.stdout) if p.returncode == 0 and p.stdout.strip().isdigit() else None


def check_layout(t, path, epoch):
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
    names = [i.filename for i in infos]
    t.ok(names == sorted(names) and not any(n.endswith("/") for n in names),
         "entries sorted by name, files only", names[:20])
    want = {"bootstrap", "LICENSE", "lib/libc.so.6", "zone-rules.txt"}
    t.ok(want <= set(names) and not any(n.startswith("zoneinfo/") for n in names),
         "bootstrap, LICENSE, libc, the zones' rules; no zone files", sorted(want - set(names)))
    bad_time = [(i.filename, i.date_time) for i in infos if i.date_time != zip_time(epoch)]
    t.ok(infos and not bad_time, f"every mtime is SOURCE_DATE_EPOCH {epoch} in UTC", bad_time[:10])
    t.ok(infos and not [i.filename for i in infos if i.extra], "no extra fields (no owner, no second time)",
         [(i.filename, i.extra) for i in infos if i.extra][:5])

    def mode_of(name):
        return 0o100755 if name == "bootstrap" or name.startswith("lib/ld-") else 0o100644

    bad_mode = [(i.filename, oct(i.external_attr >> 16)) for i in infos
                if i.create_system != 3 or i.external_attr >> 16 != mode_of(i.filename)]
    t.ok(infos and not bad_mode, "fixed modes: 0755 for bootstrap and the loader, 0644 for the rest", bad_mode[:10])


def mtimes(path):
    with zipfile.ZipFile(path) as z:
        return {i.date_time for i in z.infolist()}


def main():
    t = Tap()
    ldd = subprocess.run(["ldd", os.path.join(BUILD, "bootstrap")], capture_output=True, text=True)
    if any(s in ldd.stdout for s in ("libasan", "libubsan", "libtsan", "liblsan")):
        t.skip("reproducible package", "sanitizer build is not what we ship")
        return t.done()
    v = version()
    arch = ARCHES.get(os.uname().machine, os.uname().machine)
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a", "ebssh"), os.path.join(tmp, "other", "place", "src")
        copy_source(a, lean_build=True)
        copy_source(b)
        rc_a, out_a = build(a, "build")
        rc_b, out_b = build(b, os.path.join(b, "b", "uild"))
        boot_a, boot_b = os.path.join(a, "build", "bootstrap"), os.path.join(b, "b", "uild", "bootstrap")
        t.ok(rc_a == 0 and rc_b == 0, "bootstrap builds in two checkouts, two build directories", out_a + out_b)
        if rc_a or rc_b:
            return t.done()
        lean = bool(glob.glob(os.path.join(ROOT, ".deps", "src", "curl-*", "configure")))
        libs = [sorted(line.split()[0] for line in subprocess.run(["ldd", boot], capture_output=True, text=True)
                       .stdout.splitlines() if "libcurl" in line) for boot in (boot_a, boot_b)]
        t.ok(libs == [[], []] if lean else libs[0] == libs[1] != [],
             "both link " + ("the lean libcurl (.deps/src: make deps)" if lean else "the system's libcurl"), libs)

        z1 = os.path.join(tmp, "p1", "lambda.zip")
        rc1, log1 = package(ROOT, boot_a, z1, TZ="UTC", SOURCE_DATE_EPOCH=str(EPOCH))
        for f in (boot_b, os.path.join(b, "LICENSE")):
            os.utime(f, None)
        z2 = os.path.join(tmp, "p", "2", "lambda.zip")
        rc2, log2 = package(b, boot_b, z2, umask=0o077, TZ="Pacific/Chatham", SOURCE_DATE_EPOCH=str(EPOCH))
        t.ok(rc1 == 0 and rc2 == 0, "package.sh makes both zips", log1 + log2)
        if rc1 or rc2:
            return t.done()
        t.eq(digest(z2), digest(z1), "the same source gives the same zip bytes (other checkout, build directory, "
             "mtimes, TZ and umask)")
        release = os.path.join(tmp, "p1", f"ebssh-lambda-{v}-{arch}.zip")
        t.ok(os.path.exists(release) and digest(release) == digest(z1),
             f"the release file ebssh-lambda-{v}-{arch}.zip (VERSION, arch) holds the same bytes",
             sorted(os.listdir(os.path.join(tmp, "p1"))))
        check_layout(t, z1, EPOCH)

        z3 = os.path.join(tmp, "p3", "lambda.zip")
        rc3, log3 = package(ROOT, boot_a, z3, SOURCE_DATE_EPOCH=str(EPOCH + 86400))
        t.ok(rc3 == 0 and digest(z3) != digest(z1) and mtimes(z3) == {zip_time(EPOCH + 86400)},
             "another SOURCE_DATE_EPOCH gives other bytes (the comparison can fail)", log3)

        commit = git_time()
        if commit is None:
            t.skip("default SOURCE_DATE_EPOCH in a git checkout", "the source is not a git checkout")
        else:
            z4 = os.path.join(tmp, "p4", "lambda.zip")
            rc4, log4 = package(ROOT, boot_a, z4)
            t.ok(rc4 == 0 and mtimes(z4) == {zip_time(max(commit, ZIP_EPOCH))},
                 "SOURCE_DATE_EPOCH defaults to the last commit's time", (log4, commit, mtimes(z4)))
        z5 = os.path.join(tmp, "p5", "lambda.zip")
        rc5, log5 = package(b, boot_b, z5)
        t.ok(rc5 == 0 and mtimes(z5) == {zip_time(ZIP_EPOCH)},
             "outside git it defaults to 1980-01-01T00:00:00Z", (log5, mtimes(z5) if rc5 == 0 else None))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
