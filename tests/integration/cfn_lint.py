#!/usr/bin/env python3
# test-python: tools
"""deploy/template.yaml passes cfn-lint (AWS's CloudFormation linter, with
the SAM translator: nobody here wrote it) with no finding at all, errors,
warnings and informational alike; each finding is printed with its rule,
line and message. Then broken copies of the template, each made the way a
real defect would be, must be reported under the rule that covers it (so a
clean result means the linter looked). TAP on stdout.

The linter runs as its command line does (cfnlint.runner.main) in the
tools' Python, with HOME pointing at an empty directory so that no user's
~/.cfnlintrc can silence a rule; the only rule configuration it sees is the
template's own Metadata cfn-lint section.
"""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from tap import Tap, diag  # noqa: E402

TEMPLATE = os.path.join(ROOT, "deploy", "template.yaml")
RUN_CFN_LINT = "import sys; from cfnlint.runner import main; sys.exit(main())"


def cfn_lint(paths, home):
    """cfn-lint's findings on the templates at paths, in one run: (exit
    status, {path: [finding dicts]}). Every rule class is on (-c I adds the
    informational rules to the default errors and warnings)."""
    proc = subprocess.run(
        [sys.executable, "-c", RUN_CFN_LINT, "--format", "json", "--include-checks", "I", "--"] + list(paths),
        cwd=home,
        env=dict(os.environ, HOME=home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=600,
    )
    try:
        findings = json.loads(proc.stdout or "[]")
    except ValueError:
        raise RuntimeError(f"cfn-lint (status {proc.returncode}) printed no JSON:\n{proc.stdout}\n{proc.stderr}") from None
    by_path = {p: [] for p in paths}
    for f in findings:
        name = f.get("Filename", "")
        key = next((p for p in paths if os.path.abspath(p) == os.path.abspath(os.path.join(home, name))), None)
        if key is None:
            raise RuntimeError(f"cfn-lint reported on {name!r}, which it was not given")
        by_path[key].append(f)
    return proc.returncode, by_path


def describe(finding):
    """One line per finding: RULE line:column message."""
    start = finding.get("Location", {}).get("Start", {})
    return "%s %s:%s %s" % (
        finding.get("Rule", {}).get("Id", "?"),
        start.get("LineNumber", "?"),
        start.get("ColumnNumber", "?"),
        finding.get("Message", ""),
    )


# Broken copies: (what, the text to replace, its replacement, the rule that
# must report it). Each is a defect that reached, or could reach, this file.
BREAKAGES = [
    (
        "Conditions given twice (the defect of issue 11)",
        '  HasAlarmEmail: !Not [!Equals [!Ref AlarmEmail, ""]]\n',
        '\nConditions:\n  HasAlarmEmail: !Not [!Equals [!Ref AlarmEmail, ""]]\n',
        "E0000",
    ),
    ("a Ref to a resource that does not exist", "KeyId: !Ref LookupApiKey\n", "KeyId: !Ref LookupApiKee\n", "E1020"),
    ("a condition nothing uses", "  HasAlarmEmail: !Not", "  Unused: !Equals [!Ref NotifyTz, UTC]\n  HasAlarmEmail: !Not", "W8001"),
    ("a Lambda timeout over Lambda's 900 s", "      Timeout: 28\n", "      Timeout: 1000\n", "E3034"),
    (
        "a log group without its deletion policy",
        "  LookupLogGroup:\n    Type: AWS::Logs::LogGroup\n    DeletionPolicy: Delete\n",
        "  LookupLogGroup:\n    Type: AWS::Logs::LogGroup\n",
        "I3011",
    ),
]


def main():
    t = Tap()
    with open(TEMPLATE, encoding="utf-8") as f:
        original = f.read()
    with tempfile.TemporaryDirectory() as home:
        copies = []
        for i, (what, old, new, rule) in enumerate(BREAKAGES):
            if original.count(old) != 1:
                t.ok(False, f"broken copy: {what}", f"the template holds {old!r} {original.count(old)} times, not once")
                continue
            path = os.path.join(home, f"broken-{i}.yaml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(original.replace(old, new))
            copies.append((path, what, rule))
        try:
            version = subprocess.run(
                [sys.executable, "-c", "import cfnlint.version as v; print(v.__version__)"],
                stdout=subprocess.PIPE, text=True, timeout=60,
            ).stdout.strip()
            status, findings = cfn_lint([TEMPLATE] + [c[0] for c in copies], home)
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
            t.ok(False, "cfn-lint runs on deploy/template.yaml and its broken copies", e)
            return t.done()
        diag(f"cfn-lint {version} ({sys.executable})")
        mine = findings[TEMPLATE]
        t.ok(status != 0, "cfn-lint exits non-zero when it finds something (the broken copies)", status)
        t.ok(not mine, "deploy/template.yaml: cfn-lint finds nothing (errors, warnings, informational)",
             "\n".join(describe(f) for f in mine))
        for path, what, rule in copies:
            rules = sorted({f.get("Rule", {}).get("Id") for f in findings[path]})
            t.ok(rule in rules, f"cfn-lint reports {rule} on a copy with {what}",
                 f"rules {rules}:\n" + "\n".join(describe(f) for f in findings[path]))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
