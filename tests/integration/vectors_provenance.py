#!/usr/bin/python3
"""tests/vectors/PROVENANCE.tsv accounts for every file of tests/vectors: one
row per file, no row without its file, and each row with its source, the path
there, a version (a commit, or "n/a (...)" for an issue thread or a web page)
and an SPDX licence id (NOASSERTION only with a note saying what the material
is). Then the same checks on broken copies, to show each can fail. TAP."""

import csv
import os
import re
import shutil
import sys
import tempfile

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VECTORS = os.path.join(ROOT, "tests", "vectors")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from tap import Tap  # noqa: E402

COLUMNS = ["local_path", "source", "source_path", "version", "licence", "note"]
OWN = {"README.md", "PROVENANCE.tsv"}  # the folder's own files, not vectors
LICENCES = {"Apache-2.0", "MIT", "MIT-0", "NOASSERTION"}
COMMIT = re.compile(r"[0-9a-f]{40}")


def read_rows(folder):
    """The header and the rows of folder/PROVENANCE.tsv."""
    with open(os.path.join(folder, "PROVENANCE.tsv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return (rows[0], rows[1:]) if rows else ([], [])


def vector_files(folder):
    """Every file under folder but its own README and PROVENANCE, relative."""
    out = set()
    for dirpath, _, files in os.walk(folder):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), folder)
            if rel not in OWN:
                out.add(rel)
    return out


def row_problems(row):
    """What is wrong with one row, as a list of sentences."""
    if len(row) != len(COLUMNS):
        return ["has %d fields, not %d" % (len(row), len(COLUMNS))]
    r = dict(zip(COLUMNS, row))
    bad = ["no %s" % c for c in COLUMNS[:5] if not r[c].strip()]
    if r["licence"] and r["licence"] not in LICENCES:
        bad.append("licence %r is not one of %s" % (r["licence"], sorted(LICENCES)))
    if r["licence"] == "NOASSERTION" and not r["note"].strip():
        bad.append("NOASSERTION without a note saying what the material is")
    if r["version"] and not (COMMIT.fullmatch(r["version"]) or r["version"].startswith("n/a (")):
        bad.append("version %r is neither a commit nor 'n/a (...)'" % r["version"])
    if r["source"].startswith("github.com/") and not r["source_path"].startswith("issues/") \
            and not COMMIT.fullmatch(r["version"]):
        bad.append("a file of a repository without its commit")
    return bad


def problems(folder):
    """Every way folder's PROVENANCE.tsv and its files disagree."""
    header, rows = read_rows(folder)
    out = []
    if header != COLUMNS:
        out.append("header is %r, not %r" % (header, COLUMNS))
    seen = {}
    for i, row in enumerate(rows, start=2):
        path = row[0] if row else ""
        out += ["line %d (%s): %s" % (i, path, p) for p in row_problems(row)]
        if path in seen:
            out.append("line %d: %s has a row already (line %d)" % (i, path, seen[path]))
        seen.setdefault(path, i)
    files = vector_files(folder)
    out += ["%s has no row" % p for p in sorted(files - set(seen))]
    out += ["line %d: %s is no file here" % (seen[p], p) for p in sorted(set(seen) - files)]
    return out


def broken_copy(tmp, name, change):
    """A copy of tests/vectors under tmp/name with change(folder) applied."""
    folder = os.path.join(tmp, name)
    shutil.copytree(VECTORS, folder)
    change(folder)
    return folder


def rewrite_rows(folder, edit):
    """Rewrites folder/PROVENANCE.tsv with edit(rows) -> rows (header kept)."""
    header, rows = read_rows(folder)
    with open(os.path.join(folder, "PROVENANCE.tsv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_NONE, lineterminator="\n")
        w.writerows([header] + edit(rows))


def with_licence(rows, value):
    return [rows[0][:4] + [value] + rows[0][5:]] + rows[1:]


def add_file(folder):
    with open(os.path.join(folder, "ec2", "unlisted.xml"), "w", encoding="utf-8") as f:
        f.write("<Response/>\n")


BROKEN = [
    ("a file without a row", add_file, "ec2/unlisted.xml has no row"),
    ("a row without its file",
     lambda d: os.remove(os.path.join(d, "cloudwatch", "jclouds-VoidResponse.xml")),
     "cloudwatch/jclouds-VoidResponse.xml is no file here"),
    ("a row without a licence", lambda d: rewrite_rows(d, lambda rows: with_licence(rows, "")),
     "no licence"),
    ("a licence that is no SPDX id we know",
     lambda d: rewrite_rows(d, lambda rows: with_licence(rows, "Apache 2")),
     "is not one of"),
    ("a file of a repository without its commit",
     lambda d: rewrite_rows(d, lambda rows: [r if r[0] != "ec2/botocore-_retry.json"
                                             else r[:3] + ["n/a (main)"] + r[4:] for r in rows]),
     "without its commit"),
    ("a row twice", lambda d: rewrite_rows(d, lambda rows: rows + rows[:1]), "has a row already"),
]


def main():
    t = Tap()
    found = problems(VECTORS)
    t.ok(not found, "tests/vectors/PROVENANCE.tsv has one complete row per file (%d files)"
         % len(vector_files(VECTORS)), "\n".join(found))
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, change, want) in enumerate(BROKEN):
            found = problems(broken_copy(tmp, "copy%d" % i, change))
            t.ok(any(want in p for p in found), "a broken copy is refused: %s" % name,
                 "want a problem with %r, got %s" % (want, found))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
