#!/usr/bin/python3
"""The repository stands on its own: no tracked file reads or points at the
reference folder that sits beside the checkout on the developers' machines
(`../shared`), and the test material it used to hold lives in tests/vectors.
A fresh clone has nothing beside it; a path out of the repository would work
here and fail there. TAP on stdout."""

import os
import re
import subprocess
import sys

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from tap import Tap  # noqa: E402

# This file names the folder to forbid it; it alone is not searched.
SELF = "tests/integration/standalone.py"
SIBLING = re.compile(r"\.\./" + "shared" + r"\b|" + "shared" + r"/(vectors|SPEC\.md|FACTS\.md|ARCHITECTURE\.md)")


def tracked_files():
    """Every file git tracks, or None outside a git checkout (a tarball)."""
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [p for p in out.decode("utf-8", "replace").split("\0") if p]


def offenders(paths):
    """(path, line number, line) of every line naming the sibling folder."""
    found = []
    for rel in paths:
        if rel == SELF:
            continue
        path = os.path.join(ROOT, rel)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        if b"\0" in data[:4096]:
            continue  # binary
        for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if SIBLING.search(line):
                found.append((rel, n, line.strip()))
    return found


def main():
    t = Tap()
    paths = tracked_files()
    if paths is None:
        t.skip("no tracked file names ../shared", "not a git checkout")
        return t.done()
    t.ok(len(paths) > 100, "git lists the repository's files", len(paths))
    bad = offenders(paths)
    t.ok(not bad, "no tracked file reads or points at ../shared",
         "\n".join(f"{p}:{n}: {line}" for p, n, line in bad))
    # The pattern itself can fail: a line as the old Makefile had it is caught.
    t.eq(len(offenders_in_text("VECTORS ?= $(CURDIR)/../" + "shared/vectors")), 1,
         "the check catches a default path into the sibling folder")
    t.eq(len(offenders_in_text("see docs/architecture.md; shared lock; shared_ptr")), 0,
         "the check leaves the word 'shared' alone")
    vectors = os.path.join(ROOT, "tests", "vectors")
    t.ok(os.path.isfile(os.path.join(vectors, "PROVENANCE.tsv")), "tests/vectors has its provenance file")
    with open(os.path.join(ROOT, "tests", "run"), encoding="utf-8") as f:
        t.ok("$EBSSH_ROOT/tests/vectors" in f.read(), "tests/run's vectors default is tests/vectors")
    return t.done()


def offenders_in_text(text):
    return [line for line in text.splitlines() if SIBLING.search(line)]


if __name__ == "__main__":
    sys.exit(main())
