#!/usr/bin/python3
"""The arm64 Lambda zip answers an API Gateway event under qemu-user.

Builds it itself (`make package ARCH=arm64`: Debian's aarch64-linux-gnu-gcc
and the arm64 -dev packages, into build/arm64, the zip into a temporary
directory), checks that every ELF in it is AArch64 with the arm64 loader,
unzips it into a root holding only /var/task and an empty /tmp, copies
/usr/bin/qemu-aarch64-static in (binfmt_misc may be missing in a container,
so qemu runs bootstrap explicitly: `chroot ROOT /qemu-aarch64-static
/var/task/bootstrap`), and sends it the invocations of
tests/integration/package_chroot.sh (tests/lib/lambda_chroot.py) through the
Runtime API double. `make deps` installs the cross compiler, the arm64
libraries and qemu-user-static; a missing one fails, never skips. Skipped
only when not root (chroot), and in the sanitizer build's run (the arm64
package does not depend on EBSSH_BUILD: the normal run checks it). TAP.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

sys.dont_write_bytecode = True
ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get("EBSSH_BUILD") or os.path.join(ROOT, "build")
VECTORS = os.environ.get("EBSSH_VECTORS") or os.path.join(ROOT, "tests", "vectors")
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from child import stop_process  # noqa: E402
from lambda_chroot import check_health, empty_root, health_events, lambda_env  # noqa: E402
from runtime_api import Client as RuntimeApi  # noqa: E402
from tap import Tap, diag  # noqa: E402

QEMU = "/usr/bin/qemu-aarch64-static"
EPOCH = 1765000000  # 2025-12-06T05:46:40Z, an even second (zip keeps those)
LOADER = "ld-linux-aarch64.so.1"


def version():
    with open(os.path.join(ROOT, "VERSION"), encoding="utf-8") as f:
        return f.readline().strip()


def elf_machine(path):
    """readelf's Machine line for path, or None when it is no ELF."""
    p = subprocess.run(["readelf", "-h", path], capture_output=True, text=True, check=False)
    for line in p.stdout.splitlines():
        if line.strip().startswith("Machine:"):
            return line.split(":", 1)[1].strip()
    return None


def sanitizer_build():
    p = subprocess.run(["readelf", "-d", os.path.join(BUILD, "bootstrap")], capture_output=True,
                       text=True, check=False)
    return any(s in p.stdout for s in ("libasan", "libubsan", "liblsan", "libtsan"))


def build(t, out_dir):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "BUILD", "CC", "TZ")}
    env["SOURCE_DATE_EPOCH"] = str(EPOCH)
    zip_path = os.path.join(out_dir, "lambda-arm64.zip")
    p = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "-j2", "package", "ARCH=arm64",
                        "BUILD=" + os.path.join(ROOT, "build", "arm64"), "LAMBDA_ZIP=" + zip_path],
                       env=env, capture_output=True, text=True, check=False)
    t.ok(p.returncode == 0 and os.path.isfile(zip_path), "make package ARCH=arm64 makes the zip",
         (p.stdout + p.stderr)[-3000:])
    for line in p.stdout.splitlines():
        if line.startswith("package:"):
            diag(line)
    return zip_path if p.returncode == 0 else None


def check_zip(t, zip_path):
    release = os.path.join(os.path.dirname(zip_path), "ebssh-lambda-%s-arm64.zip" % version())
    same = os.path.isfile(release) and open(release, "rb").read() == open(zip_path, "rb").read()
    t.ok(same, "the release copy is ebssh-lambda-%s-arm64.zip" % version(),
         sorted(os.listdir(os.path.dirname(zip_path))))
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
    t.ok(modes.get("bootstrap") == 0o755 and "lib/" + LOADER in names and "lib/libc.so.6" in names,
         "bootstrap (0755) at the zip root, %s and libc in lib/" % LOADER, names)


def check_repro(t, zip_path):
    """package.sh again on the same bootstrap, another TZ and umask: the same bytes."""
    again = os.path.join(os.path.dirname(zip_path), "again", "lambda.zip")
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH), TZ="Pacific/Chatham")
    p = subprocess.run(["sh", "-c", 'umask 077 && exec "$0" "$@"', os.path.join(ROOT, "scripts", "package.sh"),
                        os.path.join(ROOT, "build", "arm64", "bootstrap"), again],
                       env=env, capture_output=True, text=True, check=False)
    same = p.returncode == 0 and open(again, "rb").read() == open(zip_path, "rb").read()
    t.ok(same, "reproducible: packaged again (TZ, umask), the same bytes", p.stdout + p.stderr)


def check_elves(t, task):
    elves = {}
    for rel in ["bootstrap"] + ["lib/" + n for n in sorted(os.listdir(os.path.join(task, "lib")))]:
        elves[rel] = elf_machine(os.path.join(task, rel))
    t.ok(elves and all(m == "AArch64" for m in elves.values()),
         "bootstrap and its %d libraries are AArch64" % (len(elves) - 1), elves)
    p = subprocess.run(["readelf", "-l", "-d", os.path.join(task, "bootstrap")], capture_output=True,
                       text=True, check=False)
    t.ok("[Requesting program interpreter: /var/task/lib/%s]" % LOADER in p.stdout
         and "(RPATH)" in p.stdout and "[/var/task/lib]" in p.stdout,
         "interpreter /var/task/lib/%s, DT_RPATH /var/task/lib" % LOADER, p.stdout[-2000:])


def run_in_root(t, root):
    shutil.copy2(QEMU, os.path.join(root, "qemu-aarch64-static"))
    t.eq(sorted(os.listdir(root)), ["qemu-aarch64-static", "tmp", "var"],
         "the root holds only var/, tmp/ and qemu-aarch64-static")
    rt = RuntimeApi()
    boot = None
    err = os.path.join(root, "..", "boot.err")
    try:
        rt.enqueue(*health_events(VECTORS))
        with open(err, "wb") as errf:
            boot = subprocess.Popen([shutil.which("chroot") or "/usr/sbin/chroot", root,
                                     "/qemu-aarch64-static", "/var/task/bootstrap"],
                                    env=lambda_env(rt.address), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=errf)
        # qemu emulates every instruction: a generous bound, not a timing.
        r = rt.wait(3, timeout=120)
        with open(err, encoding="utf-8", errors="replace") as f:
            stderr = f.read()
        for passed, name in check_health(r):
            t.ok(passed, name + " (arm64, qemu-user)", "%s\n%s" % (r, stderr[-3000:]))
        rt.shutdown()
        try:
            rc = boot.wait(timeout=60)
        except subprocess.TimeoutExpired:
            rc = None
        t.eq(rc, 1, "bootstrap exits with status 1 when /next answers 500")
    finally:
        stop_process(boot)
        rt.close()


def main():
    t = Tap()
    if os.geteuid() != 0:
        t.skip("the arm64 package runs in an empty root under qemu-user", "chroot needs root")
        return t.done()
    if sanitizer_build():
        t.skip("the arm64 package runs in an empty root under qemu-user",
               "sanitizer build's run: the normal build's run checks the arm64 package")
        return t.done()
    missing = [x for x in ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-strip") if not shutil.which(x)]
    missing += [QEMU] if not os.access(QEMU, os.X_OK) else []
    if not t.ok(not missing, "the cross compiler and qemu-user-static are installed (make deps)",
                "missing: %s" % missing):
        return t.done()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        zip_path = build(t, out)
        if not zip_path:
            return t.done()
        check_zip(t, zip_path)
        check_repro(t, zip_path)
        root = os.path.join(tmp, "root")
        task = empty_root(zip_path, root)
        check_elves(t, task)
        run_in_root(t, root)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
