#!/usr/bin/python3
"""tests/lib/strict_yaml.py, the tests' one YAML loader: it refuses a key
given twice where PyYAML's safe_load keeps the last one (the defect that hid
deploy/template.yaml's first `Conditions:`), reads CloudFormation's short
tags as their long form, reads the project's YAML files, and is the only
loader any test uses. TAP on stdout."""

import os
import re
import sys

import yaml

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import strict_yaml  # noqa: E402
from tap import Tap  # noqa: E402

TEMPLATE = os.path.join(ROOT, "deploy", "template.yaml")
OPENAPI = os.path.join(ROOT, "openapi", "ebssh.yaml")

# The shape of the defect: a second top-level Conditions block.
TWO_CONDITIONS = """\
Conditions:
  HasSlackWebhook: !Not [!Equals [!Ref SlackWebhookUrl, ""]]

Conditions:
  HasAlarmEmail: !Not [!Equals [!Ref AlarmEmail, ""]]
Resources: {}
"""


def refusal(text, cfn=True):
    """The DuplicateKeyError loading text raises, or None when it loads."""
    try:
        strict_yaml.load(text, cfn=cfn)
    except strict_yaml.DuplicateKeyError as e:
        return e
    return None


class LaxCfnLoader(yaml.SafeLoader):
    """PyYAML's safe loader as it comes, CloudFormation tags read as null."""


LaxCfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def check_duplicates(t):
    lax = yaml.load(TWO_CONDITIONS, Loader=LaxCfnLoader)
    t.eq(sorted(lax["Conditions"]), ["HasAlarmEmail"],
         "PyYAML's own loader drops the first Conditions without a word (why this loader exists)")
    e = refusal(TWO_CONDITIONS)
    t.ok(e is not None, "a second top-level Conditions is refused")
    t.ok(e is not None and "'Conditions'" in str(e) and "first on line 1" in str(e) and "line 4" in str(e),
         "the error names the key, the first line and the duplicate's line", e)
    t.ok(isinstance(e, yaml.YAMLError), "the refusal is a yaml.YAMLError (callers catch one type)")
    cases = [
        ("a nested block mapping", "a:\n  b: 1\n  c: 2\n  b: 3\n", False),
        ("a flow mapping", "a: {x: 1, y: 2, x: 1}\n", False),
        ("a mapping under a short tag", "a: !Sub\n  - ${X}\n  - {X: 1, X: 2}\n", True),
        ("keys equal once read (1 and 0x1)", "1: a\n0x1: b\n", False),
        ("a mapping in a list", "- {k: 1}\n- k: 1\n  k: 2\n", False),
    ]
    for name, text, cfn in cases:
        t.ok(refusal(text, cfn) is not None, "refused: a duplicate key in " + name)


def check_allowed(t):
    t.eq(strict_yaml.load("a: 1\nb:\n  a: 2\n"), {"a": 1, "b": {"a": 2}},
         "the same key in two different mappings is no duplicate")
    t.eq(strict_yaml.load("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  x: 3\n")["m"], {"x": 3, "y": 2},
         "a merge key's values yield to the mapping's own (YAML's meaning, no duplicate)")
    try:
        strict_yaml.load("a: !Ref X\n")
        plain = "accepted"
    except yaml.YAMLError:
        plain = "refused"
    t.eq(plain, "refused", "without cfn=True a CloudFormation tag is no YAML it knows")


def check_cfn_tags(t):
    got = strict_yaml.load(
        "r: !Ref Bucket\nc: !Condition IsProd\ng: !GetAtt Role.Arn\ng2: !GetAtt [Role, Arn]\n"
        "s: !Sub 'arn:${AWS::Partition}:x'\nj: !Join ['', [a, b]]\nn: !Not [!Equals [!Ref P, '']]\n"
        "t:\n  Fn::Transform:\n    Name: AWS::Include\n",
        cfn=True,
    )
    t.eq(got["r"], {"Ref": "Bucket"}, "!Ref is {Ref: name}")
    t.eq(got["c"], {"Condition": "IsProd"}, "!Condition is {Condition: name}")
    t.eq(got["g"], {"Fn::GetAtt": ["Role", "Arn"]}, "!GetAtt A.B is Fn::GetAtt [A, B]")
    t.eq(got["g2"], {"Fn::GetAtt": ["Role", "Arn"]}, "!GetAtt [A, B] is Fn::GetAtt [A, B]")
    t.eq(got["s"], {"Fn::Sub": "arn:${AWS::Partition}:x"}, "!Sub is Fn::Sub")
    t.eq(got["j"], {"Fn::Join": ["", ["a", "b"]]}, "!Join is Fn::Join")
    t.eq(got["n"], {"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]}, "nested short tags nest")
    unknown = [tag for tag in strict_yaml.CFN_TAGS if not isinstance(
        strict_yaml.load("x: !%s [a]\n" % tag, cfn=True)["x"], dict)]
    t.eq(unknown, [], "every short tag of CFN_TAGS (%d) reads as a one-key mapping" % len(strict_yaml.CFN_TAGS))


def check_project_files(t):
    try:
        tpl = strict_yaml.load_file(TEMPLATE, cfn=True)
    except (OSError, yaml.YAMLError) as e:
        tpl = None
        t.ok(False, "deploy/template.yaml loads, no key twice", e)
    else:
        t.ok(isinstance(tpl, dict) and "Resources" in tpl, "deploy/template.yaml loads, no key twice")
    if tpl is not None:
        # Every condition a resource, an output or another condition names is
        # defined (a Conditions block lost to a duplicate key would not be).
        used = set()

        def walk(node):
            if isinstance(node, dict):
                for k, v in node.items():
                    if k in ("Condition", "Fn::If") and isinstance(v, str):
                        used.add(v)
                    elif k == "Fn::If" and isinstance(v, list) and v and isinstance(v[0], str):
                        used.add(v[0])
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk({k: tpl.get(k) for k in ("Resources", "Outputs", "Conditions")})
        defined = set(tpl.get("Conditions", {}))
        t.ok(len(used) >= 3 and used <= defined,
             "the template defines every condition it uses", sorted(used - defined))
        with open(TEMPLATE, encoding="utf-8") as f:
            text = f.read()
        doubled = text.replace("\nConditions:\n", "\nConditions:\n  HasNothing: !Equals [a, b]\n\nConditions:\n", 1)
        t.ok(doubled != text and refusal(doubled) is not None,
             "the template with its Conditions split in two is refused")
    try:
        api = strict_yaml.load_file(OPENAPI)
    except (OSError, yaml.YAMLError) as e:
        t.ok(False, "openapi/ebssh.yaml loads, no key twice", e)
    else:
        t.ok(isinstance(api, dict) and "paths" in api, "openapi/ebssh.yaml loads, no key twice")


# A call that reads YAML without the strict loader, in any language the tests use.
OTHER_LOADERS = re.compile(r"(?<![\w.])yaml\.(safe_load|load|full_load|unsafe_load|load_all|safe_load_all)\s*\(|Loader\s*=\s*yaml\.")


def check_only_loader(t):
    """No test reads YAML another way (strict_yaml.py itself excepted)."""
    here = os.path.abspath(__file__)
    lib = os.path.abspath(strict_yaml.__file__)
    bad = []
    for top in ("tests", "bench", "scripts"):
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            if "node_modules" in d or "__pycache__" in d:
                continue
            for name in files:
                path = os.path.join(d, name)
                if not name.endswith((".py", ".sh")) or os.path.abspath(path) in (here, lib):
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    for i, line in enumerate(f, 1):
                        if OTHER_LOADERS.search(line):
                            bad.append("%s:%d: %s" % (os.path.relpath(path, ROOT), i, line.strip()))
    t.eq(bad, [], "every test reads YAML through tests/lib/strict_yaml.py")
    t.ok(OTHER_LOADERS.search("doc = yaml." + "safe_load(text)") is not None
         and OTHER_LOADERS.search("doc = strict_yaml.load(text)") is None,
         "the scan sees a yaml.safe_load call, not strict_yaml.load")


def main():
    t = Tap()
    for fn in (check_duplicates, check_allowed, check_cfn_tags, check_project_files, check_only_loader):
        t.run(fn)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
