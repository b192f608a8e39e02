#!/usr/bin/env python3
# test-python: tools
"""The audit of every AWS action the code calls (issue 11, docs/aws-actions.md).

It runs last in an unfiltered tests/run, when every suite has left its AWS
requests in the run's call log ($EBSSH_CALL_LOG: one JSON line per request a
double answered, tests/doubles/awsdouble/calllog.py), and fails when

  1. the code called an action that docs/aws-actions.md has no row for (a
     request from the code: User-Agent "ebssh/...", aws/client.c; a line
     without a user_agent counts as the code's);
  2. a row's IAM permission is not granted by deploy/template.yaml to each
     role its Role cell names (a Lambda function's role: the lookup
     function's LookupRole, the pre-traffic hook's PreTrafficHookRole; the
     template as CloudFormation gets it: the SAM
     transform run by the SAM translator, so SAM policy templates and the
     roles SAM makes are expanded; wildcards grant what they match; a Deny
     takes away; conditions are not evaluated);
  3. the template grants a function's role an action no row of that role
     needs (least privilege: an action granted for no code);
  4. a row says a suite exercises the action against a double (ebssh's or
     moto) and the call log shows no such call by the code from that suite;
  5. a permission of the table or of the template is no IAM action (IAM's
     list as cfn-lint ships it, which cfn-lint itself does not apply to SAM
     templates);
  6. an operation the C code names (a string literal in aws/*.c naming an
     operation of botocore's model of ec2, monitoring, logs, lambda, sts,
     codedeploy or sqs;
     REST paths are not read) has no row;
  7. the call log is empty or unreadable (the logging broke).

Every failure names the action, the permission and where to fix it. The
check functions are pure; the suite runs each first on synthetic input
where it must fail (and pass), then on this run's table, template and log.
By hand: EBSSH_CALL_LOG=<a kept log directory> <tools python> this file;
EBSSH_KEEP_CALL_LOG=<dir> makes the audit copy the run's log there.
TAP on stdout.
"""

import copy
import fnmatch
import glob
import json
import os
import re
import shutil
import sys

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import strict_yaml  # noqa: E402
from tap import Tap, diag  # noqa: E402

TABLE = os.path.join(ROOT, "docs", "aws-actions.md")
TEMPLATE = os.path.join(ROOT, "deploy", "template.yaml")
TABLE_NAME = "docs/aws-actions.md"
TEMPLATE_NAME = "deploy/template.yaml"
HEADER = ["Service", "API action", "IAM permission", "Role", "Code", "Why", "Against the double", "Against moto"]
CODE = HEADER.index("Code")
DOUBLE_COLUMNS = {"ebssh": "Against the double", "moto": "Against moto"}
CODE_AGENT = "ebssh/"
SUITE_DIRS = ("unit", "integration", "e2e", "audit")
# AWS managed policies whose content the audit knows (none can be read
# offline). AWSLambdaBasicExecutionRole is what SAM gives a role it makes:
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
KNOWN_MANAGED = {
    "service-role/AWSLambdaBasicExecutionRole": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
}


class Row:
    """One row of the table."""

    def __init__(self, line, service, action, permissions, code, why, suites, roles=("LookupRole",)):
        self.line = line
        self.service = service
        self.action = action
        self.permissions = permissions  # ["ec2:DescribeInstances", ...]
        self.roles = list(roles)  # the template's roles that need them: ["LookupRole", ...]
        self.code = code
        self.why = why
        self.suites = suites  # {"ebssh": [suite, ...], "moto": [...]}

    def __repr__(self):
        return f"{self.service} {self.action} ({TABLE_NAME}:{self.line})"


# --- reading: the table ------------------------------------------------------


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _plain(cell):
    return cell.replace("`", "").strip()


def parse_table(text):
    """(rows, problems) of the one table whose header is HEADER."""
    rows, problems, header_at = [], [], None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith("|") and [_plain(c) for c in _cells(line)] == HEADER:
            if header_at is not None:
                problems.append(f"{TABLE_NAME}:{i + 1}: a second actions table (one is the rule)")
            header_at = i
    if header_at is None:
        return [], [f"{TABLE_NAME}: no table with the header | {' | '.join(HEADER)} |"]
    seen = {}
    for i in range(header_at + 2, len(lines)):
        line = lines[i]
        if not line.lstrip().startswith("|"):
            break
        cells, where = _cells(line), f"{TABLE_NAME}:{i + 1}"
        if len(cells) != len(HEADER):
            problems.append(f"{where}: {len(cells)} cells, not {len(HEADER)}")
            continue
        service, action = _plain(cells[0]), _plain(cells[1])
        permissions = re.findall(r"`([a-z0-9-]+:[A-Za-z0-9*?]+)`", cells[2])
        # "—": no role of the template, the caller's own AWS identity (the
        # credential chain of ebssh-proxy and ebssh-api: STS, the SSO portal).
        roles = [] if cells[3].strip().startswith("—") else re.findall(r"`([A-Za-z0-9]+)`", cells[3])
        suites = {d: re.findall(r"`((?:%s)/[^`]+)`" % "|".join(SUITE_DIRS), cells[HEADER.index(col)])
                  for d, col in DOUBLE_COLUMNS.items()}
        if not re.fullmatch(r"[a-z0-9-]+", service) or not re.fullmatch(r"[A-Z][A-Za-z0-9]+", action):
            problems.append(f"{where}: service {service!r} or action {action!r} is not a signing name and an operation")
            continue
        if not permissions and not (cells[3].strip().startswith("—") and _plain(cells[2]).startswith("none")):
            problems.append(f"{where}: {service} {action} names no IAM permission (`service:Action`)")
        own = cells[3].strip().startswith("—")
        if (own and "`" in cells[3]) or (not roles and not own) or (
                roles and re.sub(r"`[A-Za-z0-9]+`", "", cells[3]).replace(",", "").strip()):
            problems.append(f"{where}: {service} {action}: the Role cell {cells[3]!r} is not `Role`, ... "
                            f"(the template's logical id of each function role that needs the permission)")
        for col in [HEADER[CODE]] + list(DOUBLE_COLUMNS.values()):
            cell = cells[HEADER.index(col)]
            rest = re.sub(r"`(?:%s)/[^`]+`" % "|".join(SUITE_DIRS), "", cell).replace(",", "").strip()
            if not cell or (col != HEADER[CODE] and rest not in ("", "—")):
                problems.append(f"{where}: {service} {action}: the {col!r} cell {cell!r} is not "
                                + ("filled" if col == HEADER[CODE] else "`suite`, ... or —"))
        if (service, action) in seen:
            problems.append(f"{where}: {service} {action} has a row already, line {seen[(service, action)]}")
        seen[(service, action)] = i + 1
        rows.append(Row(i + 1, service, action, permissions, cells[CODE], cells[CODE + 1], suites, roles))
    if not rows:
        problems.append(f"{TABLE_NAME}: the actions table has no rows")
    return rows, problems


# --- reading: the call log ----------------------------------------------------

LOG_KEYS = {"double": str, "suite": str, "service": str, "action": str, "status": int}
# Doubles of services that are not AWS (Google Cloud Storage and its token
# endpoint, tests/doubles/gcs_double.py): their lines are no AWS action.
NOT_AWS = {"gcs"}


def read_call_log(directory):
    """(lines, problems): every line of every *.jsonl file in directory."""
    lines, problems = [], []
    for path in sorted(glob.glob(os.path.join(directory, "*.jsonl"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, text in enumerate(f, 1):
                try:
                    entry = json.loads(text)
                except ValueError:
                    entry = None
                if not isinstance(entry, dict) or any(not isinstance(entry.get(k), t) for k, t in LOG_KEYS.items()):
                    problems.append(f"{os.path.basename(path)}:{n}: not a call log line: {text.strip()[:200]}")
                    continue
                if entry["double"] in NOT_AWS:
                    continue
                lines.append(entry)
    return lines, problems


def from_code(entry):
    """Whether the project's code made the request (aws/client.c's agent).
    A double that records no user_agent leaves it unknown: counted as the
    code's, so that no call of the code goes unaudited."""
    agent = entry.get("user_agent")
    return agent is None or agent.startswith(CODE_AGENT)


# --- reading: the template's grants ---------------------------------------------


def sam_expand(template, openapi=None):
    """The template as CloudFormation deploys it: the SAM transform (by the
    SAM translator, with the managed policy names cfn-lint ships), the
    function's local CodeUri replaced by an S3 one (the translator takes
    nothing else; `sam package` does the same) and AWS::Include inlined."""
    from cfnlint.data import Serverless
    from cfnlint.helpers import load_resource
    from samtranslator.parser import parser
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(template)
    for res in template.get("Resources", {}).values():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://audit-bucket/" + os.path.basename(props["CodeUri"])
        body = props.get("DefinitionBody")
        if isinstance(body, dict) and "Fn::Transform" in body:
            if openapi is None:
                raise ValueError("an AWS::Include body and no document to include")
            props["DefinitionBody"] = copy.deepcopy(openapi)
    if "Transform" not in template:
        return template
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator's ARNs need one
    translator = Translator(managed_policy_map=load_resource(Serverless, "ManagedPolicies.json"),
                            sam_parser=parser.Parser())
    return translator.translate(sam_template=template, parameter_values={})


def _as_list(v):
    return v if isinstance(v, list) else [v]


def _ref_name(v):
    """The resource a {Ref: X} or {Fn::GetAtt: [X, Arn]} names, else None."""
    if isinstance(v, dict) and len(v) == 1:
        (k, x), = v.items()
        if k == "Ref" and isinstance(x, str):
            return x
        if k == "Fn::GetAtt":
            return (x[0] if isinstance(x, list) else str(x).split(".")[0]) or None
    return None


def _statements(doc, where, problems):
    """The statements of a policy document; Fn::If branches both count."""
    out = []
    for s in _as_list((doc or {}).get("Statement", [])):
        if isinstance(s, dict) and list(s) == ["Fn::If"] and len(s["Fn::If"]) == 3:
            out += [b for b in s["Fn::If"][1:] if isinstance(b, dict) and b != {"Ref": "AWS::NoValue"}]
        elif isinstance(s, dict):
            out.append(s)
        else:
            problems.append(f"{where}: a statement that is no mapping: {s!r}")
    return [(s, where) for s in out]


def role_statements(cfn, role):
    """(statements, problems): every policy statement that applies to the
    role resource `role` of the deployed template cfn."""
    problems, found = [], []
    resources = cfn.get("Resources", {})
    props = resources.get(role, {}).get("Properties", {})
    for pol in props.get("Policies", []) or []:
        found += _statements(pol.get("PolicyDocument"), f"{role} policy {pol.get('PolicyName')}", problems)
    for arn in props.get("ManagedPolicyArns", []) or []:
        name = _ref_name(arn)
        text = arn if isinstance(arn, str) else json.dumps(arn)
        if name in resources:
            continue  # a managed policy of the template: read below through its Roles
        known = next((acts for suffix, acts in KNOWN_MANAGED.items() if text.endswith(":policy/" + suffix)), None)
        if known is None:
            problems.append(f"{role}: managed policy {text} cannot be read offline; write its statements "
                            f"into {TEMPLATE_NAME} instead")
        else:
            found.append(({"Effect": "Allow", "Action": known}, f"{role} managed policy {text}"))
    for name, res in resources.items():
        p = res.get("Properties", {})
        if res.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            if any(_ref_name(r) == role for r in _as_list(p.get("Roles", []))) or any(
                    _ref_name(a) == name for a in props.get("ManagedPolicyArns", []) or []):
                found += _statements(p.get("PolicyDocument"), f"{name} ({res['Type']})", problems)
        elif res.get("Type") == "AWS::IAM::RolePolicy" and _ref_name(p.get("RoleName")) == role:
            found += _statements(p.get("PolicyDocument"), f"{name} (AWS::IAM::RolePolicy)", problems)
    return found, problems


def function_grants(cfn):
    """(allow, deny, problems): the IAM actions granted to (and denied to)
    the roles of the template's Lambda functions, as [(pattern, where)]."""
    by_role, problems = role_grants(cfn)
    return ([g for a, _ in by_role.values() for g in a], [g for _, d in by_role.values() for g in d], problems)


def role_grants(cfn):
    """({role: (allow, deny)}, problems): function_grants for each function
    role of the template, by the role's logical id."""
    by_role, problems = {}, []
    resources = cfn.get("Resources", {})
    functions = [n for n, r in resources.items() if r.get("Type") == "AWS::Lambda::Function"]
    if not functions:
        problems.append(f"{TEMPLATE_NAME}: no Lambda function after the SAM transform")
    for fn in functions:
        role = _ref_name(resources[fn].get("Properties", {}).get("Role"))
        if resources.get(role, {}).get("Type") != "AWS::IAM::Role":
            problems.append(f"{fn}: its Role is not a role of {TEMPLATE_NAME}; its permissions cannot be audited")
            continue
        if role in by_role:
            continue  # two functions sharing a role: its grants once
        allow, deny = by_role.setdefault(role, ([], []))
        statements, more = role_statements(cfn, role)
        problems += more
        for s, where in statements:
            if "NotAction" in s:
                problems.append(f"{where}: NotAction grants everything but a list; name the actions instead")
                continue
            for action in _as_list(s.get("Action", [])):
                if not isinstance(action, str):
                    problems.append(f"{where}: an action that is no string: {action!r}")
                    continue
                (deny if s.get("Effect") == "Deny" else allow).append((action, f"{fn} role {role}: {where}"))
    return by_role, problems


def _matches(pattern, action):
    """IAM action matching: case-insensitive, * and ? wildcards."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


# --- the checks: each returns a list of failure messages --------------------------


def _fix_row(service, action):
    return (f"add a row for {service} {action} to {TABLE_NAME} (its IAM permission, the module, why, the suites) "
            f"and grant the permission in {TEMPLATE_NAME}")


def check_log_in_table(rows, lines):
    """1. Every action the code called has a row."""
    known = {(r.service, r.action) for r in rows}
    out, seen = [], set()
    for e in lines:
        if not from_code(e) or (e["service"], e["action"]) in known or (e["service"], e["action"]) in seen:
            continue
        seen.add((e["service"], e["action"]))
        suites = sorted({x["suite"] or "?" for x in lines
                         if from_code(x) and (x["service"], x["action"]) == (e["service"], e["action"])})
        if not e["action"]:
            out.append(f"the code made a {e['service']} request naming no operation (suites {', '.join(suites)}, "
                       f"{e['double']} double): find it in aws/*.c")
        else:
            out.append(f"the code calls {e['service']} {e['action']} (suites {', '.join(suites)}), which "
                       f"{TABLE_NAME} does not list: {_fix_row(e['service'], e['action'])}")
    return out


def _granted(permission, allow, deny):
    by = [where for p, where in allow if _matches(p, permission)]
    denied = [where for p, where in deny if _matches(p, permission)]
    return by and not denied, denied


def check_table_granted(rows, grants):
    """2. Every permission of every row is granted to each role the row
    names; grants is {role: (allow, deny)}, a function role's grants."""
    out = []
    for r in rows:
        for role in r.roles:
            if role not in grants:
                out.append(f"{TABLE_NAME}:{r.line}: {r.service} {r.action} names the role {role}, which is no "
                           f"Lambda function's role in {TEMPLATE_NAME} (they are {', '.join(sorted(grants))})")
                continue
            allow, deny = grants[role]
            for perm in r.permissions:
                ok, denied = _granted(perm, allow, deny)
                if not ok:
                    why = f"denied by {'; '.join(denied)}" if denied else "not granted"
                    out.append(f"{r.service} {r.action} needs {perm}, {why} to {role} in {TEMPLATE_NAME}: allow "
                               f"{perm} in {role}'s policy, or drop the role or the row if no code of that function "
                               f"calls {r.action} ({TABLE_NAME}:{r.line})")
    return out


def check_grants_needed(rows, grants):
    """3. Every action granted to a role (a pattern counts when it matches)
    is the permission of some row naming that role."""
    out = []
    for role, (allow, _) in sorted(grants.items()):
        needed = {p for r in rows if role in r.roles for p in r.permissions}
        for pattern, where in allow:
            if not any(_matches(pattern, p) for p in needed):
                out.append(f"{TEMPLATE_NAME} grants {pattern} ({where}), which no row of {TABLE_NAME} with the "
                           f"role {role} needs: remove it from the policy, or add the row of the code that calls it")
    return out


def check_claims(rows, lines, existing_suites):
    """4. Every suite a row names made that call, from the code, against
    that double, in this run."""
    calls = {(e["double"], e["suite"], e["service"], e["action"]) for e in lines if from_code(e)}
    out = []
    for r in rows:
        for double, suites in r.suites.items():
            for suite in suites:
                if suite not in existing_suites:
                    out.append(f"{TABLE_NAME}:{r.line} says {suite} exercises {r.service} {r.action} against "
                               f"{double}, but there is no such suite in tests/")
                elif (double, suite, r.service, r.action) not in calls:
                    out.append(f"{TABLE_NAME}:{r.line} says {suite} exercises {r.service} {r.action} "
                               f"({', '.join(r.permissions)}) against {double}, but the call log has no such "
                               f"call by the code from {suite}: fix the row's '{DOUBLE_COLUMNS[double]}' cell "
                               f"or the suite")
    return out


def check_iam_names(rows, allow, iam):
    """5. Permissions are IAM actions: iam maps a lower-case service prefix
    to its lower-case action names."""
    out = []
    for r in rows:
        for perm in r.permissions:
            svc, _, act = perm.lower().partition(":")
            if act not in iam.get(svc, ()):
                out.append(f"{TABLE_NAME}:{r.line}: {perm} ({r.service} {r.action}) is no IAM action "
                           f"(IAM's service prefix for the signing name monitoring is cloudwatch)")
    for pattern, where in allow:
        svc, _, act = pattern.lower().partition(":")
        if pattern != "*" and not any(fnmatch.fnmatchcase(a, act) for a in iam.get(svc, ())):
            out.append(f"{TEMPLATE_NAME} grants {pattern} ({where}), which is no IAM action: fix its spelling")
    return out


def check_c_named(rows, named):
    """6. Every operation the C code names has a row; named maps
    (service, operation) to the files naming it."""
    known = {(r.service, r.action) for r in rows}
    return [f"{', '.join(sorted(files))} names the {svc} operation {op}, which {TABLE_NAME} does not list: "
            f"{_fix_row(svc, op)} (or remove the code)"
            for (svc, op), files in sorted(named.items()) if (svc, op) not in known]


def check_log_present(lines, problems):
    """7. The doubles logged, every line readable."""
    out = list(problems)
    if not lines:
        out.append("the call log is empty: the doubles stopped logging their requests "
                   "(tests/doubles/awsdouble/calllog.py; tests/run's EBSSH_CALL_LOG)")
    elif not any(e["double"] == "ebssh" and from_code(e) for e in lines):
        out.append("the call log holds no call of the code to the project's double (tests/doubles/harness.py "
                   "must pass EBSSH_CALL_LOG and EBSSH_SUITE through)")
    return out


# --- facts of this checkout ---------------------------------------------------------


def iam_actions():
    """IAM's actions by service prefix, as cfn-lint ships them."""
    from cfnlint.data import AdditionalSpecs
    from cfnlint.helpers import load_resource

    data = load_resource(AdditionalSpecs, "Policies.json")
    return {svc.lower(): {a.lower() for a in v.get("Actions", {})} for svc, v in data.items()}


C_SERVICES = {"ec2": "ec2", "monitoring": "cloudwatch", "logs": "logs", "lambda": "lambda", "sts": "sts",
              "codedeploy": "codedeploy", "sqs": "sqs"}


def c_named_operations(c_files):
    """{(signing name, operation): {file}} for string literals of C files
    that name an operation of those services (or an X-Amz-Target)."""
    import botocore.session

    session = botocore.session.get_session()
    ops = {svc: set(session.get_service_model(model).operation_names) for svc, model in C_SERVICES.items()}
    prefixes = {session.get_service_model(m).metadata.get("targetPrefix"): s for s, m in C_SERVICES.items()}
    named = {}
    for path in c_files:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
        for lit in re.findall(r'"((?:[^"\\\n]|\\.)*)"', text):
            head, _, tail = lit.rpartition(".")
            hits = [(prefixes[head], tail)] if head in prefixes and tail in ops[prefixes[head]] else \
                [(svc, lit) for svc, names in ops.items() if lit in names]
            for key in hits:
                named.setdefault(key, set()).add(os.path.relpath(path, ROOT))
    return named


def existing_suites():
    out = set()
    for d in SUITE_DIRS:
        for path in glob.glob(os.path.join(ROOT, "tests", d, "*")):
            if path.endswith((".py", ".sh")):
                out.add(f"{d}/{os.path.basename(path)}")
            elif d == "unit" and path.endswith(".c"):
                out.add(f"unit/{os.path.basename(path)[:-2]}")
    return out


# --- the self-test: each check must fail where it should ------------------------------------


def _row(service, action, perms, ebssh=(), moto=(), roles=("LookupRole",)):
    return Row(0, service, action, list(perms), "aws/x.c", "why", {"ebssh": list(ebssh), "moto": list(moto)}, roles)


def _g(allow, deny=(), role="LookupRole"):
    return {role: (list(allow), list(deny))}


def _line(action, suite="integration/a.py", service="ec2", double="ebssh", agent="ebssh/0.1"):
    return {"double": double, "suite": suite, "service": service, "action": action, "status": 200,
            "user_agent": agent}


def self_test_table(t):
    head = "| " + " | ".join(HEADER) + " |\n|" + "---|" * len(HEADER) + "\n"
    good = ("| `ec2` | `CreateImage` | `ec2:CreateImage`, `ec2:CreateTags` | `LookupRole`, `HookRole` | aws/x.c | why "
            "| `integration/a.py` | — |\n")
    rows, problems = parse_table("# T\n\n" + head + good + "\nafter\n")
    t.ok(not problems and len(rows) == 1 and rows[0].permissions == ["ec2:CreateImage", "ec2:CreateTags"]
         and rows[0].roles == ["LookupRole", "HookRole"]
         and rows[0].suites == {"ebssh": ["integration/a.py"], "moto": []} and rows[0].line == 5,
         "self-test: a table row reads as service, action, permissions, roles and suites", (problems, rows))
    bad = {
        "a row given twice": good + good,
        "a row of seven cells": "| `ec2` | `CreateImage` | `ec2:CreateImage` | `LookupRole` | x | y | — |\n",
        "a row naming no role": good.replace("`LookupRole`, `HookRole`", ""),
        "a role not in backticks": good.replace("`LookupRole`, `HookRole`", "LookupRole"),
        "a suite not in backticks": good.replace("`integration/a.py`", "integration/a.py"),
        "no permission": good.replace("`ec2:CreateImage`, `ec2:CreateTags`", "CreateImage"),
        "no permission and a role": good.replace("`ec2:CreateImage`, `ec2:CreateTags`", "none: x"),
        "a caller's-own row with a role too": good.replace("`LookupRole`, `HookRole`", "— `LookupRole`"),
    }
    for what, body in bad.items():
        t.ok(parse_table(head + body)[1], f"self-test: the table parser refuses {what}")
    own = good.replace("`LookupRole`, `HookRole`", "— (the caller's own identity)")
    rows, problems = parse_table(head + own.replace("`ec2:CreateImage`, `ec2:CreateTags`", "none: a token"))
    t.ok(not problems and rows and rows[0].roles == [] and rows[0].permissions == [],
         "self-test: a row of the caller's own identity (Role —) may name no role and no IAM permission",
         (problems, rows))
    t.ok(parse_table("no table here\n")[1], "self-test: a document without the table is refused")


def self_test(t):
    rows = [_row("ec2", "DescribeInstances", ["ec2:DescribeInstances"], ebssh=["integration/a.py"]),
            _row("ec2", "CreateImage", ["ec2:CreateImage", "ec2:CreateTags"], moto=["integration/m.py"])]
    lines = [_line("DescribeInstances"), _line("CreateImage", "integration/m.py", double="moto")]
    allow = [("ec2:DescribeInstances", "t"), ("ec2:CreateImage", "t"), ("ec2:CreateTags", "t")]
    suites = {"integration/a.py", "integration/m.py"}

    t.eq(check_log_in_table(rows, lines), [], "self-test 1: a log of listed actions passes")
    got = check_log_in_table(rows, lines + [_line("RunInstances", "integration/b.py")])
    t.ok(len(got) == 1 and "ec2 RunInstances" in got[0] and "integration/b.py" in got[0] and TABLE_NAME in got[0],
         "self-test 1: an unlisted action the code calls fails, naming it, the suite and the table", got)
    t.eq(check_log_in_table(rows, lines + [_line("RunInstances", agent="Boto3/1.43 md/Botocore#1.43")]), [],
         "self-test 1: a test's own boto3 call (setting up the world) is not the code's")
    t.eq(len(check_log_in_table(rows, [dict(_line("RunInstances"), user_agent=None)])), 1,
         "self-test 1: a call of unknown origin counts as the code's")
    t.eq(len(check_log_in_table(rows[1:], lines)), 1, "self-test 1: removing a called action's row fails")

    t.eq(check_table_granted(rows, _g(allow)), [], "self-test 2: a template granting every row passes")
    got = check_table_granted(rows, _g(allow[:2]))
    t.ok(len(got) == 1 and "ec2:CreateTags" in got[0] and "CreateImage" in got[0] and TEMPLATE_NAME in got[0],
         "self-test 2: a permission the template lacks fails, naming it, the action and the template", got)
    t.eq(check_table_granted(rows, _g([("ec2:Describe*", "t"), ("ec2:Create*", "t")])), [],
         "self-test 2: wildcards grant what they match")
    t.eq(len(check_table_granted(rows, _g(allow, [("ec2:CreateT?gs", "t")]))), 1,
         "self-test 2: a Deny takes a grant away")
    t.eq(check_table_granted(rows, _g([(a.upper(), w) for a, w in allow])), [],
         "self-test 2: IAM action names match without regard to case")
    two = dict(_g(allow[:1]), **_g(allow[1:], role="HookRole"))
    got = check_table_granted(rows, two)
    t.ok(len(got) == 2 and all("to LookupRole" in g and "CreateImage" in g for g in got),
         "self-test 2: a permission granted to another function's role only fails", got)
    got = check_table_granted([_row("ec2", "CreateImage", ["ec2:CreateImage"], roles=["NoSuchRole"])], _g(allow))
    t.ok(len(got) == 1 and "NoSuchRole" in got[0], "self-test 2: a row naming a role the template lacks fails", got)

    t.eq(check_grants_needed(rows, _g(allow)), [], "self-test 3: grants every row needs pass")
    got = check_grants_needed(rows, _g(allow + [("ec2:TerminateInstances", "LookupRole")]))
    t.ok(len(got) == 1 and "ec2:TerminateInstances" in got[0] and "LookupRole" in got[0],
         "self-test 3: a grant no row needs fails, naming it and where it is granted", got)
    t.eq(len(check_grants_needed(rows, _g([("s3:*", "t")]))), 1, "self-test 3: a wildcard matching no row fails")
    t.eq(len(check_grants_needed(rows[:1], _g(allow))), 2, "self-test 3: removing a row leaves its grants unneeded")
    got = check_grants_needed(rows, dict(_g(allow), **_g([("ec2:CreateImage", "HookRole")], role="HookRole")))
    t.ok(len(got) == 1 and "HookRole" in got[0] and "ec2:CreateImage" in got[0],
         "self-test 3: a grant needed by another role's rows only fails", got)

    t.eq(check_claims(rows, lines, suites), [], "self-test 4: claims the log bears out pass")
    got = check_claims([_row("ec2", "DescribeInstances", ["ec2:DescribeInstances"], moto=["integration/a.py"])],
                       lines, suites)
    t.ok(len(got) == 1 and "moto" in got[0] and "integration/a.py" in got[0],
         "self-test 4: a claim against the wrong double fails", got)
    got = check_claims(rows, [_line("DescribeInstances", agent="Boto3/1.26"), lines[1]], suites)
    t.eq(len(got), 1, "self-test 4: a claim borne out only by a test's boto3 call fails")
    got = check_claims(rows, lines, {"integration/a.py"})
    t.ok(len(got) == 1 and "no such suite" in got[0], "self-test 4: a claim naming a missing suite fails", got)

    iam = {"ec2": {"describeinstances", "createimage", "createtags"}, "cloudwatch": {"putmetricdata"}}
    t.eq(check_iam_names(rows, allow + [("ec2:Describe*", "t")], iam), [], "self-test 5: IAM actions pass")
    got = check_iam_names([_row("monitoring", "PutMetricData", ["monitoring:PutMetricData"])],
                          [("ec2:DescribeInstance", "t")], iam)
    t.ok(len(got) == 2 and "monitoring:PutMetricData" in got[0] and "ec2:DescribeInstance " in got[1],
         "self-test 5: a permission under the signing name, and a misspelt grant, fail", got)

    t.eq(check_c_named(rows, {("ec2", "CreateImage"): {"aws/ec2_images.c"}}), [], "self-test 6: named and listed passes")
    got = check_c_named(rows, {("ec2", "CopyImage"): {"aws/ec2_images.c"}})
    t.ok(len(got) == 1 and "CopyImage" in got[0] and "aws/ec2_images.c" in got[0],
         "self-test 6: an operation the C code names without a row fails", got)

    t.ok(check_log_present([], []) != [], "self-test 7: an empty call log fails")
    t.ok(check_log_present([_line("X", agent="Boto3")], []) != [], "self-test 7: a log without the code's calls fails")
    t.eq(check_log_present(lines, []), [], "self-test 7: a log of the code's calls passes")

    with_sam = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {"F": {
        "Type": "AWS::Serverless::Function",
        "Properties": {"CodeUri": "../build/f.zip", "Handler": "h", "Runtime": "provided.al2023",
                       "Policies": [{"EC2DescribePolicy": {}}, "AWSLambdaBasicExecutionRole",
                                    {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}]}}}}
    allow, _, problems = function_grants(sam_expand(with_sam))
    got = sorted(a for a, _ in allow)
    t.ok(not problems and {"ec2:DescribeInstances", "logs:PutLogEvents", "s3:GetObject"} <= set(got),
         "self-test: SAM policy templates, managed policies and inline statements of a function SAM makes a "
         "role for are all read", (got, problems))


# --- this run ------------------------------------------------------------------------


def audit(t):
    problems_of = {}
    with open(TABLE, encoding="utf-8") as f:
        rows, problems_of["table"] = parse_table(f.read())
    t.ok(rows and not problems_of["table"], f"{TABLE_NAME} holds one well-formed actions table ({len(rows)} rows)",
         "\n".join(problems_of["table"]))

    log_dir = os.environ.get("EBSSH_CALL_LOG", "")
    if log_dir and os.environ.get("EBSSH_KEEP_CALL_LOG"):
        shutil.copytree(log_dir, os.environ["EBSSH_KEEP_CALL_LOG"], dirs_exist_ok=True)
    lines, log_problems = read_call_log(log_dir) if log_dir and os.path.isdir(log_dir) else \
        ([], [f"EBSSH_CALL_LOG={log_dir!r} is no directory (run me from tests/run)"])
    counts = {}
    for e in lines:
        counts[e["double"]] = counts.get(e["double"], 0) + 1
    diag("call log: %s" % (", ".join(f"{n} lines from {d}" for d, n in sorted(counts.items())) or "nothing"))
    fails = check_log_present(lines, log_problems)
    t.ok(not fails, "7. the call log holds the code's calls, every line readable", "\n".join(fails))

    fails = check_log_in_table(rows, lines)
    t.ok(not fails, "1. every action the code called in this run has a row", "\n".join(fails))

    try:
        template = strict_yaml.load_file(TEMPLATE, cfn=True)
        openapi = strict_yaml.load_file(os.path.join(ROOT, "openapi", "ebssh.yaml"))
        grants, grant_problems = role_grants(sam_expand(template, openapi))
    except Exception as e:  # noqa: BLE001 - a template the audit cannot read fails it, with the reason
        template = None
        grants, grant_problems = {}, [f"{TEMPLATE_NAME} cannot be expanded: {type(e).__name__}: {e}"]
    allow = [g for a, _ in grants.values() for g in a]
    t.ok(allow and not grant_problems, f"{TEMPLATE_NAME}: the function roles' grants read ({len(allow)}, roles "
         f"{', '.join(sorted(grants))})", "\n".join(grant_problems))
    fails = check_table_granted(rows, grants)
    t.ok(not fails, "2. the template grants every permission of the table to each role the row names",
         "\n".join(fails))
    fails = check_grants_needed(rows, grants)
    t.ok(not fails, "3. the template grants no role anything the table does not need for it", "\n".join(fails))
    fails = check_claims(rows, lines, existing_suites())
    t.ok(not fails, "4. every suite the table names made its call against its double in this run", "\n".join(fails))
    fails = check_iam_names(rows, allow, iam_actions())
    t.ok(not fails, "5. every permission in the table and the template is an IAM action", "\n".join(fails))
    named = c_named_operations(sorted(glob.glob(os.path.join(ROOT, "aws", "*.c"))))
    fails = check_c_named(rows, named)
    t.ok(named and not fails, f"6. every operation aws/*.c names ({len(named)}) has a row", "\n".join(fails))
    if template is not None:
        t.run(broken_copies, rows, lines, template, openapi)


def _drop_action(node, action):
    """Removes action from every Action list under node; how many it removed."""
    n = 0
    if isinstance(node, dict):
        acts = node.get("Action")
        if isinstance(acts, list) and action in acts:
            n += acts.count(action)
            node["Action"] = [a for a in acts if a != action]
        n += sum(_drop_action(v, action) for v in node.values())
    elif isinstance(node, list):
        n += sum(_drop_action(v, action) for v in node)
    return n


def broken_copies(t, rows, lines, template, openapi):
    """The checks fail on this run's own table and template, each broken
    once: a row of a called action removed, a granted permission removed."""
    called = {(e["service"], e["action"]) for e in lines if from_code(e)}
    shared = {p for r in rows for p in r.permissions if sum(p in x.permissions for x in rows) > 1}
    row = next((r for r in rows if (r.service, r.action) in called and not set(r.permissions) & shared), None)
    if row is None:
        t.ok(False, "broken copies: a row of a called action with a permission of its own",
             "none in this run's log and table")
        return
    perm = row.permissions[0]
    others = [r for r in rows if r is not row]
    grants, _ = role_grants(sam_expand(template, openapi))
    fails = check_log_in_table(others, lines)
    t.ok(any(f"{row.service} {row.action}" in f for f in fails),
         f"broken copy: the table without its {row.service} {row.action} row fails check 1", fails)
    fails = check_grants_needed(others, grants)
    t.ok(any(perm in f for f in fails), f"broken copy: ... and check 3 (the template grants {perm} for no row)", fails)
    crippled = copy.deepcopy(template)
    removed = _drop_action(crippled, perm)
    grants, _ = role_grants(sam_expand(crippled, openapi))
    fails = check_table_granted(rows, grants)
    t.ok(removed and any(perm in f and row.action in f for f in fails),
         f"broken copy: the template without {perm} fails check 2", (removed, fails))


def main():
    t = Tap()
    t.run(self_test_table)
    t.run(self_test)
    t.run(audit)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
