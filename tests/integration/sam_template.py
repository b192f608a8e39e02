#!/usr/bin/python3
"""deploy/template.yaml: valid YAML (CloudFormation's short tags included; no
key twice, tests/lib/strict_yaml.py) with the resources the product and issues
3, 6 and 13 ask for (the alias, the deployment and its pre-traffic hook, the
alarms and their topic, the refused self-subscription; every API URL of the
docs on the template's stage) (the AMI backup's schedule, IAM and error alarm), the
configuration build/bootstrap reads from its environment, least-privilege IAM,
and references that all resolve; then the same checks against broken copies,
to show that each of them can fail. TAP on stdout. Needs python3-yaml (make
deps)."""

import copy
import glob
import os
import re
import sys

import yaml

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, "deploy", "template.yaml")
# The sources linked into build/bootstrap (the Makefile's UTIL_SRC, AWS_SRC,
# LAMBDA_SRC and lambda/front/runtime_main.c): whatever configuration they read
# from the environment, the template must set.
BOOTSTRAP_SRC = ("util/*.c", "aws/*.c", "lambda/*.c", "lambda/front/*.c", "lambda/router/*.c",
                 "lambda/ops/*.c")
BOOTSTRAP_SRC_OUT = {"lambda/front/serve_main.c"}  # build/ebssh-api's main
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import strict_yaml  # noqa: E402
from tap import Tap  # noqa: E402


PSEUDO = {"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
          "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}
# What SAM lets a template reference on its own resources beyond Ref and GetAtt.
SAM_REFS = {"AWS::Serverless::Api": {"Stage", "Deployment", "RootResourceId"},
            "AWS::Serverless::Function": {"Alias", "Version"}}
# Resources SAM adds for a function with a DeploymentPreference, which the
# template may name (the hook role's grant names the CodeDeploy application).
SAM_DEPLOY_RESOURCES = {"ServerlessDeploymentApplication"}
ALIAS = {"Ref": "LookupFunction.Alias"}
# Every alarm notifies the stack's topic, or the one AlarmTopicArn names.
TOPIC = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}


def walk(node):
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def references(node):
    """Every (kind, name) that node refers to: Ref, GetAtt and ${...} in Sub."""
    out = []
    for x in walk(node):
        if not isinstance(x, dict) or len(x) != 1:
            continue
        (k, v), = x.items()
        if k == "Ref":
            out.append(("Ref", v))
        elif k == "Fn::GetAtt":
            out.append(("GetAtt", v[0] if isinstance(v, list) else v.split(".")[0]))
        elif k == "Fn::Sub":
            s = v[0] if isinstance(v, list) else v
            local = set(v[1]) if isinstance(v, list) and len(v) > 1 else set()
            for var in re.findall(r"\$\{([^!}][^}]*)\}", s):
                if var not in local:
                    out.append(("Sub", var))
    return out


def sub_text(v):
    if isinstance(v, dict) and "Fn::Sub" in v:
        s = v["Fn::Sub"]
        return s[0] if isinstance(s, list) else s
    return None


def res(t, name):
    return t.get("Resources", {}).get(name, {})


def props(t, name):
    return res(t, name).get("Properties", {})


# Names build/bootstrap reads that are not the template's to set: those the
# Lambda runtime sets or reserves (AWS_*, _X_AMZN_TRACE_ID, LAMBDA_TASK_ROOT,
# TZ: "Defined runtime environment variables" in the Lambda developer guide),
# the system's (HOME, TZDIR, SSL_CERT_FILE), and ebssh's EBSSH_* tuning for
# tests (aws/client.h; docs/notifications.md: "For tests only").
NOT_CONFIG = re.compile(r"AWS_|_X_AMZN_|LAMBDA_|EBSSH_|(HOME|TZ|TZDIR|SSL_CERT_FILE)$")


def config_vars():
    """The environment variables build/bootstrap's sources read by name
    (getenv("NAME"), env_ms("NAME", ...), lambda/config.c's env("NAME")),
    less NOT_CONFIG: the function's
    configuration, which the template must set."""
    names = set()
    for pattern in BOOTSTRAP_SRC:
        for path in glob.glob(os.path.join(ROOT, pattern)):
            if os.path.relpath(path, ROOT) in BOOTSTRAP_SRC_OUT:
                continue
            with open(path, encoding="utf-8") as f:
                names.update(re.findall(r'\b(?:getenv|env_ms|env)\("([A-Za-z_][A-Za-z0-9_]*)"', f.read()))
    return sorted(n for n in names if not NOT_CONFIG.match(n))


# --- The checks: each returns None when good, else why not ------------------------

def c_transform(t):
    if t.get("Transform") != "AWS::Serverless-2016-10-31":
        return "Transform is %r" % t.get("Transform")


def c_types(t):
    want = {"LookupFunction": "AWS::Serverless::Function", "LookupApi": "AWS::Serverless::Api",
            "LookupRole": "AWS::IAM::Role", "LookupLogGroup": "AWS::Logs::LogGroup",
            "LookupApiInvokePermission": "AWS::Lambda::Permission",
            "LookupApiKey": "AWS::ApiGateway::ApiKey",
            "LookupUsagePlan": "AWS::ApiGateway::UsagePlan",
            "LookupUsagePlanKey": "AWS::ApiGateway::UsagePlanKey",
            "BackupScheduleRule": "AWS::Events::Rule",
            "BackupSchedulePermission": "AWS::Lambda::Permission",
            "AlarmTopic": "AWS::SNS::Topic",
            "FunctionErrorsAlarm": "AWS::CloudWatch::Alarm",
            "StorageAlarm": "AWS::CloudWatch::Alarm",
            "PipelineNotifyRule": "AWS::Events::Rule",
            "PipelineNotifyPermission": "AWS::Lambda::Permission",
            "PreTrafficHookFunction": "AWS::Serverless::Function",
            "PreTrafficHookRole": "AWS::IAM::Role",
            "PreTrafficHookLogGroup": "AWS::Logs::LogGroup",
            "AsyncFailureQueue": "AWS::SQS::Queue",
            "BackupQueue": "AWS::SQS::Queue",
            "BackupDeadLetterQueue": "AWS::SQS::Queue",
            "BackupDeadLetterAlarm": "AWS::CloudWatch::Alarm",
            "ApiAccessLogGroup": "AWS::Logs::LogGroup",
            "CanaryErrorsAlarm": "AWS::CloudWatch::Alarm",
            "Api5xxAlarm": "AWS::CloudWatch::Alarm",
            "Dashboard": "AWS::CloudWatch::Dashboard"}
    bad = ["%s is %r, not %s" % (k, res(t, k).get("Type"), v)
           for k, v in want.items() if res(t, k).get("Type") != v]
    return "\n".join(bad) or None


def c_function(t):
    p = props(t, "LookupFunction")
    want = {"Runtime": "provided.al2023", "Architectures": [{"Ref": "Architecture"}], "Handler": "bootstrap",
            "MemorySize": {"Ref": "LookupMemorySize"}, "Timeout": 28}
    bad = ["%s is %r, not %r" % (k, p.get(k), v) for k, v in want.items() if p.get(k) != v]
    # docs/deploy.md's Sizing section chooses the default.
    memory = t.get("Parameters", {}).get("LookupMemorySize", {})
    if (memory.get("Default"), memory.get("MinValue"), memory.get("MaxValue")) != (256, 128, 10240):
        bad.append("LookupMemorySize is %r, not 256 MB by default within Lambda's 128..10240" % memory)
    cache = t.get("Parameters", {}).get("LookupCacheSeconds", {})
    if (cache.get("Default"), cache.get("MinValue"), cache.get("MaxValue")) != (5, 0, 300):
        bad.append("LookupCacheSeconds is %r, not 5 s by default within 0..300" % cache)
    return "\n".join(bad) or None


def c_architecture(t):
    """Parameter Architecture (x86_64 by default, or arm64) is every function's."""
    p = t.get("Parameters", {}).get("Architecture", {})
    bad = []
    if (p.get("Type"), p.get("Default"), sorted(p.get("AllowedValues", []))) != \
            ("String", "x86_64", ["arm64", "x86_64"]):
        bad.append("parameter Architecture is %r, not x86_64 by default, or arm64" % p)
    functions = [k for k, v in t.get("Resources", {}).items()
                 if v.get("Type") == "AWS::Serverless::Function"]
    bad += ["%s: Architectures %r" % (k, props(t, k).get("Architectures")) for k in functions
            if props(t, k).get("Architectures") != [{"Ref": "Architecture"}]]
    if not functions:
        bad.append("no function")
    return "\n".join(bad) or None


def c_timeout(t):
    timeout = props(t, "LookupFunction").get("Timeout")
    if not isinstance(timeout, int) or not 1 <= timeout < 29:
        return "Timeout %r must be under API Gateway's 29 s" % timeout


def c_codeuri(t):
    uri = props(t, "LookupFunction").get("CodeUri")
    path = os.path.normpath(os.path.join(os.path.dirname(TEMPLATE), str(uri)))
    if path != os.path.join(ROOT, "build", "lambda.zip"):
        return "CodeUri %r is %s, not build/lambda.zip (make package)" % (uri, path)


# The S3 -> GCS backup's configuration: its two functions' environment.
S3_BACKUP_VARS = ["GCS_BUCKET", "GC_CREDENTIAL", "SKIP_KEY_REGEX", "RETRY_SNS_TOPIC_ARN", "PROJECT_ID"]


def c_env(t):
    have = props(t, "LookupFunction").get("Environment", {}).get("Variables", {})
    want = config_vars()
    for fn in ("S3BackupFunction", "S3BackupRetryFunction"):
        env = props(t, fn).get("Environment", {}).get("Variables", {})
        lacking = [v for v in S3_BACKUP_VARS if v not in env or v not in want]
        if lacking:
            return "%s lacks %s (or the sources no longer read them)" % (fn, lacking)
    want = [v for v in want if v not in S3_BACKUP_VARS]
    missing = [v for v in want if v not in have]
    if not want:
        return "found no configuration variables in build/bootstrap's sources"
    if missing:
        return "missing %s (have %s)" % (missing, sorted(have))
    reserved = [v for v in have if v.startswith("AWS_") or v.startswith("_")]
    if reserved:
        return "sets Lambda's reserved %s" % reserved


# The pre-traffic hook's configuration (its own function's environment).
HOOK_VARS = {"EBSSH_HOOK_TARGET": {"Ref": "LookupFunction.Version"},
             "EBSSH_HOOK_ENVIRONMENT": {"Ref": "CanaryEnvironment"}}


def hook_vars_read():
    """The EBSSH_HOOK_* names build/bootstrap's sources read."""
    names = set()
    for pattern in BOOTSTRAP_SRC:
        for path in glob.glob(os.path.join(ROOT, pattern)):
            with open(path, encoding="utf-8") as f:
                names.update(re.findall(r'"(EBSSH_HOOK_[A-Z0-9_]+)"', f.read()))
    return names


def c_hook_env(t):
    """The hook function sets exactly its two variables: the new version and
    the environment to look up; every EBSSH_HOOK_* the sources read is one."""
    have = props(t, "PreTrafficHookFunction").get("Environment", {}).get("Variables", {})
    if have != HOOK_VARS:
        return "hook environment %r, want %r" % (have, HOOK_VARS)
    unknown = sorted(hook_vars_read() - set(HOOK_VARS))
    if unknown:
        return "the sources read %s, which the hook function does not set" % unknown


def c_api(t):
    p = props(t, "LookupApi")
    if p.get("StageName") != "v1":
        return "StageName is %r" % p.get("StageName")
    tr = p.get("DefinitionBody", {}).get("Fn::Transform", {})
    loc = tr.get("Parameters", {}).get("Location")
    if tr.get("Name") != "AWS::Include" or not loc:
        return "DefinitionBody is not an AWS::Include: %r" % p.get("DefinitionBody")
    path = os.path.normpath(os.path.join(os.path.dirname(TEMPLATE), loc))
    if path != os.path.join(ROOT, "deploy", "openapi.cfn.yaml") or not os.path.isfile(path):
        return "AWS::Include Location %r is %s, not deploy/openapi.cfn.yaml" % (loc, path)
    if "DefinitionUri" in p:
        return "both DefinitionUri and DefinitionBody"


def c_openapi_refs(t):
    """The OpenAPI file's Fn::Sub variables name resources and pseudo parameters of this
    template (the include makes them part of it)."""
    doc = strict_yaml.load_file(os.path.join(ROOT, "deploy", "openapi.cfn.yaml"))
    refs = references(doc)
    if not refs:
        return "the OpenAPI file refers to nothing of the template"
    bad = [v for _, v in refs
           if v not in PSEUDO and v.split(".")[0] not in t.get("Resources", {})]
    if bad:
        return "unknown in the template: %s" % sorted(set(bad))
    if any(v == "LookupFunction.Arn" for _, v in refs) and \
            res(t, "LookupFunction").get("Type") != "AWS::Serverless::Function":
        return "LookupFunction is not the function"


def statements(t):
    out = []
    for pol in props(t, "LookupRole").get("Policies", []):
        st = pol.get("PolicyDocument", {}).get("Statement", [])
        out.extend(st if isinstance(st, list) else [st])
    return out


def as_list(v):
    return v if isinstance(v, list) else [v]


# IAM accepts only "*" for these (no resource-level permissions).
DESCRIBE_ONLY_STAR = {"ec2:DescribeInstances", "ec2:DescribeImages", "ec2:DescribeSnapshots"}
# The AMI backup's (docs/backup.md).
BACKUP_ACTIONS = ["ec2:CreateImage", "ec2:CreateTags", "ec2:DescribeImages", "ec2:DeregisterImage",
                  "ec2:DeleteSnapshot", "ec2:DescribeSnapshots"]


def c_iam_actions(t):
    st = statements(t)
    actions = sorted({a for s in st if s.get("Effect") == "Allow" for a in as_list(s.get("Action"))})
    want = sorted(["ec2:DescribeInstances", "ec2:GetConsoleOutput", "logs:CreateLogStream",
                   "logs:PutLogEvents", "sqs:SendMessage"] + BACKUP_ACTIONS + ISSUE_7_8_ACTIONS
                  + BACKUP_QUEUE_ESM_ACTIONS)
    if actions != want:
        return "allowed actions %s, want exactly %s" % (actions, want)
    if any("NotAction" in s or "NotResource" in s for s in st):
        return "NotAction/NotResource widen a policy"
    rp = props(t, "LookupRole")
    if rp.get("ManagedPolicyArns") or props(t, "LookupFunction").get("Policies"):
        return "managed or SAM policies add permissions"


# The event source mapping of the backup's work queue reads it with the role.
BACKUP_QUEUE_ESM_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
BACKUP_QUEUE_ARN = {"Fn::GetAtt": ["BackupQueue", "Arn"]}


# Issues 7 and 8: the log search, invoking itself, the storage report and metric.
ISSUE_7_8_ACTIONS = ["logs:FilterLogEvents", "lambda:InvokeFunction", "lambda:ListFunctions",
                     "lambda:ListVersionsByFunction", "lambda:GetAccountSettings",
                     "cloudwatch:PutMetricData"]
# Actions IAM offers no resource-level permission for: "*" is their only resource.
STAR_ONLY = DESCRIBE_ONLY_STAR | {"lambda:ListFunctions", "lambda:GetAccountSettings",
                                  "cloudwatch:PutMetricData"}
SELF_ARN = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-lookup:live"


def c_iam_resources(t):
    bad = []
    fn_name = sub_text(props(t, "LookupFunction").get("FunctionName"))
    for s in statements(t):
        for a in as_list(s.get("Action")):
            rs = as_list(s.get("Resource"))
            subs = [sub_text(r) or "" for r in rs]
            if "*" in rs and a not in STAR_ONLY:
                bad.append("%s on *" % a)
            if a == "cloudwatch:PutMetricData" and \
                    s.get("Condition") != {"StringEquals": {"cloudwatch:namespace": "ebssh"}}:
                bad.append("%s without the namespace condition: %r" % (a, s.get("Condition")))
            if a == "logs:FilterLogEvents":
                # Issue 15: one ARN per item of LOGSEARCH_FUNCTIONS (Split of a Sub whose
                # ${Names} joins the items with the next ARN's prefix).
                split = rs[0].get("Fn::Split") if len(rs) == 1 and isinstance(rs[0], dict) else None
                sub = split[1] if split and len(split) == 2 and split[0] == "," else None
                text = sub_text(sub) if sub else (subs[0] if len(subs) == 1 else "")
                names = sub["Fn::Sub"][1].get("Names", {}).get("Fn::Join", [""])[0] \
                    if sub and isinstance(sub["Fn::Sub"], list) else None
                if not re.fullmatch(
                        r"arn:\$\{AWS::Partition\}:logs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
                        r"log-group:/aws/lambda/[^:*]*(\$\{\w+\})?[^:]*:\*", text or "") or \
                        (sub and names != ":*,arn:*:logs:*:*:log-group:/aws/lambda/"):
                    bad.append("%s on %r, not Lambda log groups" % (a, rs))
            elif a.startswith("logs:") and rs != [{"Fn::GetAtt": ["LookupLogGroup", "Arn"]}]:
                bad.append("%s on %r, not the function's log group" % (a, rs))
            if a == "lambda:InvokeFunction" and (subs != [SELF_ARN]
                                                 or fn_name != "${AWS::StackName}-lookup"):
                bad.append("%s on %r, not the function's alias live (%r)" % (a, rs, fn_name))
            if a == "sqs:SendMessage" and rs not in (
                    [{"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]}], [BACKUP_QUEUE_ARN]):
                bad.append("%s on %r, not the on-failure or the backup queue" % (a, rs))
            if a in BACKUP_QUEUE_ESM_ACTIONS and rs != [BACKUP_QUEUE_ARN]:
                bad.append("%s on %r, not the backup queue" % (a, rs))
            if a == "lambda:ListVersionsByFunction" and subs != [
                    "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*"]:
                bad.append("%s on %r, not this account's functions" % (a, rs))
    return "\n".join(bad) or None


def _arn_kinds(rs):
    """The resource types of ec2 ARNs ("image", "snapshot", "instance")."""
    out = set()
    for r in rs:
        text = sub_text(r) or (r if isinstance(r, str) else "")
        m = re.match(r"^arn:\$\{AWS::Partition\}:ec2:\$\{AWS::Region\}:(\$\{AWS::AccountId\})?:"
                     r"([a-z-]+)/\*$", text)
        out.add(m.group(2) if m else "?" + str(r))
    return out


def c_iam_backup(t):
    """CreateTags only within CreateImage; DeregisterImage and DeleteSnapshot only
    on what the backup tagged ebssh:managed = true; every backup action on
    instance, image or snapshot ARNs of this region (or * for Describe)."""
    bad = []
    for s in statements(t):
        acts = set(as_list(s.get("Action")))
        cond = s.get("Condition", {})
        kinds = _arn_kinds(as_list(s.get("Resource")))
        if acts & {"ec2:CreateImage", "ec2:CreateTags", "ec2:DeregisterImage", "ec2:DeleteSnapshot"}:
            allowed = {"instance", "image", "snapshot"} if "ec2:CreateImage" in acts else {"image", "snapshot"}
            if not kinds <= allowed:
                bad.append("%s on %s" % (sorted(acts), sorted(kinds)))
        if "ec2:CreateTags" in acts and cond != {"StringEquals": {"ec2:CreateAction": "CreateImage"}}:
            bad.append("ec2:CreateTags without the condition ec2:CreateAction = CreateImage: %r" % cond)
        if acts & {"ec2:DeregisterImage", "ec2:DeleteSnapshot"} and \
                cond != {"StringEquals": {"aws:ResourceTag/ebssh:managed": "true",
                                          "aws:ResourceTag/ebssh:stack": {"Ref": "AWS::StackName"}}}:
            bad.append("%s without the conditions aws:ResourceTag/ebssh:managed = true and "
                       "aws:ResourceTag/ebssh:stack = the stack's name: %r"
                       % (sorted(acts), cond))
        if "ec2:CreateImage" in acts and acts != {"ec2:CreateImage"}:
            bad.append("CreateImage shares a statement with %s" % sorted(acts))
    return "\n".join(bad) or None


def c_schedule(t):
    """An EventBridge rule named <stack>-ami-backup on a schedule, targeting the
    function, which that rule (only) may invoke."""
    p = props(t, "BackupScheduleRule")
    name = sub_text(p.get("Name")) or ""
    if not name.endswith("ami-backup") or "${AWS::StackName}" not in name:
        return "rule Name %r does not end in ami-backup (how the function knows the event)" % name
    if p.get("ScheduleExpression") != {"Ref": "BackupSchedule"}:
        return "ScheduleExpression %r" % p.get("ScheduleExpression")
    default = t.get("Parameters", {}).get("BackupSchedule", {}).get("Default", "")
    if not re.match(r"^(cron|rate)\(.+\)$", default):
        return "BackupSchedule default %r is no schedule expression" % default
    targets = p.get("Targets", [])
    if [x.get("Arn") for x in targets] != [ALIAS]:
        return "Targets %r" % targets
    if any("Input" in x or "InputPath" in x or "InputTransformer" in x for x in targets):
        return "the target rewrites the event (the function needs resources[0] and time)"
    perm = props(t, "BackupSchedulePermission")
    if perm != {"Action": "lambda:InvokeFunction", "FunctionName": ALIAS,
                "Principal": "events.amazonaws.com",
                "SourceArn": {"Fn::GetAtt": ["BackupScheduleRule", "Arn"]}}:
        return "permission %r" % perm


def c_alarm(t):
    """An alarm on the function's Errors (>= 1 in 60 s) that notifies the
    SNS topic, ALARM and OK."""
    p = props(t, "FunctionErrorsAlarm")
    want = {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Statistic": "Sum",
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1,
            "Period": 60, "EvaluationPeriods": 1, "TreatMissingData": "notBreaching"}
    bad = ["%s is %r, not %r" % (k, p.get(k), v) for k, v in want.items() if p.get(k) != v]
    if p.get("Dimensions") != [{"Name": "FunctionName", "Value": {"Ref": "LookupFunction"}}]:
        bad.append("Dimensions %r are not the function's" % p.get("Dimensions"))
    if res(t, "AlarmTopic").get("Type") != "AWS::SNS::Topic":
        bad.append("AlarmTopic is no SNS topic")
    return "\n".join(bad) or None


def c_alarm_actions(t):
    """Every alarm of the template notifies the topic on ALARM and on OK."""
    alarms = [n for n, r in t.get("Resources", {}).items() if r.get("Type") == "AWS::CloudWatch::Alarm"]
    bad = ["%s: %s %r" % (n, k, props(t, n).get(k)) for n in alarms for k in ("AlarmActions", "OKActions")
           if as_list(props(t, n).get(k)) != [TOPIC]]
    if len(alarms) < 8:
        bad.append("only %d alarms: %s" % (len(alarms), alarms))
    return "\n".join(bad) or None


def c_notify_self(t):
    """NotifyLogGroup = the function's own group is refused: the subscription
    then names a group that cannot exist."""
    cond = t.get("Conditions", {}).get("NotifyOwnLogGroup")
    own = {"Fn::Sub": "/aws/lambda/${AWS::StackName}-lookup"}
    if cond != {"Fn::Equals": [{"Ref": "NotifyLogGroup"}, own]}:
        return "NotifyOwnLogGroup is %r" % cond
    name = props(t, "LogsNotifySubscription").get("LogGroupName")
    iff = name.get("Fn::If") if isinstance(name, dict) else None
    if not iff or iff[0] != "NotifyOwnLogGroup" or iff[2] != {"Ref": "NotifyLogGroup"} or \
            not str(iff[1]).startswith("/REFUSED/"):
        return "the subscription does not refuse the own log group: %r" % name


HOOK_GRANTS = {
    "logs:CreateLogStream": {"Fn::GetAtt": ["PreTrafficHookLogGroup", "Arn"]},
    "logs:PutLogEvents": {"Fn::GetAtt": ["PreTrafficHookLogGroup", "Arn"]},
    "lambda:InvokeFunction": {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:"
                                         "function:${AWS::StackName}-lookup:*"},
    "codedeploy:PutLifecycleEventHookExecutionStatus": {
        "Fn::Sub": "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:"
                   "deploymentgroup:${ServerlessDeploymentApplication}/*"},
}


def c_hook(t):
    """The pre-traffic hook: named CodeDeployHook_* (what CodeDeploy's role may
    invoke), the same code, no alias or deployment of its own, time for two
    invocations of the new version; its role grants exactly its log group,
    invoking versions of the function and reporting to this stack's
    deployment groups; the function's DeploymentPreference runs it."""
    p = props(t, "PreTrafficHookFunction")
    bad = []
    if not (sub_text(p.get("FunctionName")) or "").startswith("CodeDeployHook_"):
        bad.append("FunctionName %r does not start with CodeDeployHook_" % p.get("FunctionName"))
    if p.get("CodeUri") != props(t, "LookupFunction").get("CodeUri") or p.get("Handler") != "bootstrap":
        bad.append("not the same bootstrap: %r %r" % (p.get("CodeUri"), p.get("Handler")))
    if "AutoPublishAlias" in p or "DeploymentPreference" in p:
        bad.append("the hook has an alias or a deployment of its own")
    if not isinstance(p.get("Timeout"), int) or p["Timeout"] < 2 * props(t, "LookupFunction").get("Timeout", 0):
        bad.append("Timeout %r is shorter than two invocations" % p.get("Timeout"))
    if p.get("Role") != {"Fn::GetAtt": ["PreTrafficHookRole", "Arn"]}:
        bad.append("Role %r" % p.get("Role"))
    grants = {}
    for pol in props(t, "PreTrafficHookRole").get("Policies", []):
        for st in as_list(pol.get("PolicyDocument", {}).get("Statement", [])):
            if st.get("Effect") != "Allow" or "Condition" in st:
                bad.append("statement %r" % st)
            for a in as_list(st.get("Action")):
                grants.setdefault(a, []).extend(as_list(st.get("Resource")))
    if props(t, "PreTrafficHookRole").get("ManagedPolicyArns"):
        bad.append("the hook role has managed policies")
    want = {a: [r] for a, r in HOOK_GRANTS.items()}
    if grants != want:
        bad.append("hook grants %r, want %r" % (grants, want))
    dp = props(t, "LookupFunction").get("DeploymentPreference", {})
    if dp.get("Hooks") != {"PreTraffic": {"Ref": "PreTrafficHookFunction"}}:
        bad.append("DeploymentPreference Hooks %r" % dp.get("Hooks"))
    group = sub_text(props(t, "PreTrafficHookLogGroup").get("LogGroupName"))
    if group != "/aws/lambda/" + (sub_text(p.get("FunctionName")) or "?") or \
            props(t, "PreTrafficHookLogGroup").get("RetentionInDays") != 14:
        bad.append("hook log group %r" % props(t, "PreTrafficHookLogGroup"))
    return "\n".join(bad) or None


def c_deployment(t):
    """Canary releases: alias live, DeploymentType (default
    Canary10Percent5Minutes, AllAtOnce allowed), rolled back on the new
    version's errors and the API's 5xx."""
    p = props(t, "LookupFunction")
    dp = p.get("DeploymentPreference", {})
    param = t.get("Parameters", {}).get("DeploymentType", {})
    bad = []
    if p.get("AutoPublishAlias") != "live":
        bad.append("AutoPublishAlias %r" % p.get("AutoPublishAlias"))
    if dp.get("Type") != {"Ref": "DeploymentType"} or param.get("Default") != "Canary10Percent5Minutes" \
            or "AllAtOnce" not in param.get("AllowedValues", []):
        bad.append("Type %r, parameter %r" % (dp.get("Type"), param))
    if dp.get("Alarms") != [{"Ref": "CanaryErrorsAlarm"}, {"Ref": "Api5xxAlarm"}] or dp.get("Enabled") is False:
        bad.append("Alarms %r" % dp.get("Alarms"))
    dims = {d["Name"]: d["Value"] for d in props(t, "CanaryErrorsAlarm").get("Dimensions", [])}
    if props(t, "CanaryErrorsAlarm").get("MetricName") != "Errors" or \
            dims.get("Resource") != {"Fn::Sub": "${LookupFunction}:live"} or \
            "LookupFunction.Version" not in repr(dims.get("ExecutedVersion")):
        bad.append("CanaryErrorsAlarm does not watch the new version behind live: %r" % dims)
    return "\n".join(bad) or None


CONSOLE_TAGS = {"elasticbeanstalk:environment-name", "aws:autoscaling:groupName"}
INSTANCE_ARN = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"


def c_iam_console(t):
    """ec2:GetConsoleOutput (the hostkeys routes): on instance ARNs only, each
    statement conditioned on the presence of an environment or group tag, and
    both tags covered."""
    bad, covered = [], set()
    for s in statements(t):
        if "ec2:GetConsoleOutput" not in as_list(s.get("Action")):
            continue
        rs = [sub_text(r) if isinstance(r, dict) else r for r in as_list(s.get("Resource"))]
        if rs != [INSTANCE_ARN]:
            bad.append("GetConsoleOutput on %r, not %s" % (rs, INSTANCE_ARN))
        if as_list(s.get("Action")) != ["ec2:GetConsoleOutput"]:
            bad.append("GetConsoleOutput shares a statement with %r" % s.get("Action"))
        cond = s.get("Condition") or {}
        null = cond.get("Null") or {}
        tags = {k[len("ec2:ResourceTag/"):] for k, v in null.items()
                if k.startswith("ec2:ResourceTag/") and v == "false"}
        if set(cond) != {"Null"} or len(tags) != 1 or not tags <= CONSOLE_TAGS:
            bad.append("GetConsoleOutput without a tag condition: %r" % cond)
        covered |= tags
    if covered != CONSOLE_TAGS:
        bad.append("consoles readable for tags %s, want %s" % (sorted(covered),
                                                              sorted(CONSOLE_TAGS)))
    return "\n".join(bad) or None


def c_storage_schedule(t):
    events = props(t, "LookupFunction").get("Events", {})
    names = [sub_text(e.get("Properties", {}).get("Name")) or e.get("Properties", {}).get("Name")
             for e in events.values() if e.get("Type") == "Schedule"]
    if not any(isinstance(nm, str) and nm.endswith("lambda-storage") for nm in names):
        return "no Schedule event whose rule name ends in lambda-storage: %r" % names


def c_storage_alarm(t):
    p = props(t, "StorageAlarm")
    want = {"Namespace": "ebssh", "MetricName": "LambdaCodeStorageLimitPercent", "Threshold": 80,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold"}
    bad = ["%s is %r, not %r" % (k, p.get(k), v) for k, v in want.items() if p.get(k) != v]
    return "\n".join(bad) or None


def c_secrets(t):
    params = t.get("Parameters", {})
    bad = [k for k in ("SlackSigningSecret", "SlackWebhookUrl")
           if params.get(k, {}).get("NoEcho") is not True]
    if bad:
        return "not NoEcho: %s" % bad
    var = props(t, "LookupFunction").get("Environment", {}).get("Variables", {})
    if var.get("SLACK_SIGNING_SECRET") != {"Ref": "SlackSigningSecret"} or \
            var.get("SLACK_WEBHOOK_URL") != {"Ref": "SlackWebhookUrl"}:
        return "the Slack variables do not come from the NoEcho parameters"


def c_notify_rule(t):
    pattern = props(t, "PipelineNotifyRule").get("EventPattern", {})
    if pattern != {"source": ["aws.codepipeline"],
                   "detail-type": ["CodePipeline Pipeline Execution State Change"]}:
        return "EventPattern %r" % pattern
    if [x.get("Arn") for x in props(t, "PipelineNotifyRule").get("Targets", [])] != [ALIAS]:
        return "Targets %r do not name the alias" % props(t, "PipelineNotifyRule").get("Targets")
    perm = props(t, "PipelineNotifyPermission")
    if perm.get("FunctionName") != ALIAS or perm.get("Principal") != "events.amazonaws.com" or \
            perm.get("SourceArn") != {"Fn::GetAtt": ["PipelineNotifyRule", "Arn"]}:
        return "permission %r" % perm


def c_iam_role(t):
    p = props(t, "LookupRole")
    st = p.get("AssumeRolePolicyDocument", {}).get("Statement", [])
    principals = [s.get("Principal") for s in st]
    if principals != [{"Service": "lambda.amazonaws.com"}]:
        return "trusts %r" % principals
    if props(t, "LookupFunction").get("Role") != {"Fn::GetAtt": ["LookupRole", "Arn"]}:
        return "the function does not use LookupRole"


def c_log_group(t):
    p = props(t, "LookupLogGroup")
    if p.get("RetentionInDays") != 14:
        return "RetentionInDays %r" % p.get("RetentionInDays")
    group = sub_text(p.get("LogGroupName"))
    name = sub_text(props(t, "LookupFunction").get("FunctionName"))
    if not group or not name or group != "/aws/lambda/" + name:
        return "log group %r is not /aws/lambda/ + function name %r" % (group, name)


def c_permission(t):
    p = props(t, "LookupApiInvokePermission")
    arn = sub_text(p.get("SourceArn")) or ""
    if (p.get("Action") != "lambda:InvokeFunction"
            or p.get("Principal") != "apigateway.amazonaws.com"
            or p.get("FunctionName") != ALIAS
            or not arn.startswith("arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                                  "${AWS::AccountId}:${LookupApi}/")):
        return "permission %r" % p


def c_usage_plan(t):
    p = props(t, "LookupUsagePlan")
    stages = p.get("ApiStages", [])
    if stages != [{"ApiId": {"Ref": "LookupApi"}, "Stage": {"Ref": "LookupApi.Stage"}}]:
        return "ApiStages %r" % stages
    th = p.get("Throttle", {})
    if "RateLimit" not in th or "BurstLimit" not in th:
        return "no throttling: %r" % th
    k = props(t, "LookupUsagePlanKey")
    if k != {"KeyId": {"Ref": "LookupApiKey"}, "KeyType": "API_KEY",
             "UsagePlanId": {"Ref": "LookupUsagePlan"}}:
        return "UsagePlanKey %r" % k
    if props(t, "LookupApiKey").get("Enabled") is not True:
        return "the API key is not enabled"


def c_refs(t):
    resources = t.get("Resources", {})
    params = t.get("Parameters", {})
    bad = []
    for kind, v in references(t):
        head, _, tail = v.partition(".")
        if kind == "Ref" and not tail and (v in params or v in resources or v in PSEUDO):
            continue
        if kind == "Ref" and tail and tail in SAM_REFS.get(resources.get(head, {}).get("Type"), ()):
            continue
        if kind == "GetAtt" and v in resources:
            continue
        if kind == "Sub" and (v in params or v in PSEUDO or head in resources):
            continue
        if v in SAM_DEPLOY_RESOURCES and any(
                "DeploymentPreference" in r.get("Properties", {}) for r in resources.values()):
            continue
        bad.append("%s %s" % (kind, v))
    used = {v for _, v in references(t)}
    unused = [p for p in params if p not in used]
    if unused:
        bad.append("unused parameters %s" % unused)
    return "\n".join(bad) or None


def c_outputs(t):
    o = t.get("Outputs", {})
    url = sub_text(o.get("ApiUrl", {}).get("Value")) or ""
    if "${LookupApi}" not in url or not url.startswith("https://") or not url.endswith("/v1"):
        return "ApiUrl %r" % url
    key = o.get("ApiKeyId", {})
    if key.get("Value") != {"Ref": "LookupApiKey"}:
        return "ApiKeyId %r" % key
    if "get-api-key" not in key.get("Description", "") or \
            "--include-value" not in key.get("Description", ""):
        return "ApiKeyId's description does not say how to read the key's value"


# Files whose URLs of the API must name the template's stage.
STAGE_DOCS = ("README.md", "ssh_config.example", "docs/*.md", "docs/ebssh-proxy.1", "bench/README.md")


def doc_texts():
    out = {}
    for pattern in STAGE_DOCS:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            with open(path, encoding="utf-8") as f:
                out[os.path.relpath(path, ROOT)] = f.read()
    return out


URL = re.compile(r"https://[A-Za-z0-9.{}\\-]*execute\\?-api[A-Za-z0-9.{}\\-]*amazonaws\.com(/[^\s`'\"\\)]*)?")


def stage_urls_wrong(t, texts):
    """(how many, the wrong ones): the execute-api URLs of texts, and those
    whose first path segment is not the template's stage (man pages escape
    - as \-)."""
    stage = props(t, "LookupApi").get("StageName")
    bad, n = [], 0
    for name, text in texts.items():
        for url in URL.findall(text):
            n += 1
            first = url.split("/")[1] if url else ""
            if first != stage:
                bad.append("%s: %r, not /%s" % (name, url or "(no path)", stage))
    return n, bad


def c_stage_urls(t):
    texts = doc_texts()
    n, bad = stage_urls_wrong(t, texts)
    if n < 3:
        return "only %d execute-api URLs in %s" % (n, sorted(texts))
    return "\n".join(bad) or None


CHECKS = [
    ("Transform is AWS::Serverless-2016-10-31", c_transform),
    ("every resource has its type", c_types),
    ("function: provided.al2023, Architecture, bootstrap, LookupMemorySize (256 MB), 28 s", c_function),
    ("parameter Architecture (x86_64 by default, or arm64) is every function's", c_architecture),
    ("function times out before API Gateway's 29 s", c_timeout),
    ("function code is build/lambda.zip", c_codeuri),
    ("function environment sets every variable build/bootstrap reads as configuration", c_env),
    ("API: stage v1, body = AWS::Include of deploy/openapi.cfn.yaml", c_api),
    ("the OpenAPI file's Fn::Sub names resolve in the template", c_openapi_refs),
    ("IAM allows exactly ec2:DescribeInstances, ec2:GetConsoleOutput, the backup's calls, "
     "the log writes and issues 7-8's actions", c_iam_actions),
    ("IAM: * only where IAM has no resources; logs, invoke and versions scoped", c_iam_resources),
    ("IAM: CreateTags only in CreateImage, rotation only of this stack's ebssh:managed resources",
     c_iam_backup),
    ("schedule: rule <stack>-ami-backup targets the function, which it may invoke", c_schedule),
    ("alarm on the function's Errors notifies an SNS topic", c_alarm),
    ("IAM: ec2:GetConsoleOutput only on instances tagged with an environment or group",
     c_iam_console),
    ("IAM role trusted by Lambda only and used by the function", c_iam_role),
    ("log group /aws/lambda/<function>, 14 days", c_log_group),
    ("API Gateway may invoke the function, for this API only", c_permission),
    ("usage plan with throttling binds the key to stage v1", c_usage_plan),
    ("every Ref, GetAtt and Sub resolves; every parameter used", c_refs),
    ("a schedule rule named ...lambda-storage runs the storage metric", c_storage_schedule),
    ("an alarm at 80 % of the code storage limit", c_storage_alarm),
    ("the Slack secrets are NoEcho parameters", c_secrets),
    ("CodePipeline execution state changes reach the function", c_notify_rule),
    ("outputs: API URL and key id, with how to read the key", c_outputs),
    ("the hook function sets EBSSH_HOOK_TARGET (the new version) and EBSSH_HOOK_ENVIRONMENT", c_hook_env),
    ("pre-traffic hook: CodeDeployHook_*, same bootstrap, its own role and log group, run by the deployment",
     c_hook),
    ("canary releases: alias live, DeploymentType, rollback on the new version's errors and the API 5xx",
     c_deployment),
    ("every alarm notifies the topic (the stack's or AlarmTopicArn), ALARM and OK", c_alarm_actions),
    ("NotifyLogGroup = the function's own log group is refused", c_notify_self),
    ("every API URL of the docs, ssh_config.example and the man page names the stage", c_stage_urls),
]


# --- Broken copies: each check must be able to fail --------------------------------

def m_action(t):
    statements(t)[1]["Action"].append("ec2:TerminateInstances")


def m_star(t):
    statements(t)[0]["Resource"] = "*"


def m_ref(t):
    props(t, "LookupUsagePlanKey")["KeyId"] = {"Ref": "LookupApiKee"}


def m_arch_fixed(t):
    props(t, "PreTrafficHookFunction")["Architectures"] = ["x86_64"]


def m_arch_any(t):
    del t["Parameters"]["Architecture"]["AllowedValues"]


def m_timeout(t):
    props(t, "LookupFunction")["Timeout"] = 30


def m_env(t):
    del props(t, "LookupFunction")["Environment"]["Variables"]["NOTIFY_TZ"]


def m_include(t):
    props(t, "LookupApi")["DefinitionBody"]["Fn::Transform"]["Parameters"]["Location"] = \
        "../openapi/other.yaml"


def m_logs(t):
    props(t, "LookupLogGroup")["RetentionInDays"] = 3653


def m_perm(t):
    props(t, "LookupApiInvokePermission")["Principal"] = "*"


def m_managed(t):
    props(t, "LookupRole")["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess"]


def m_console_star(t):
    statements(t)[2]["Resource"] = "*"


def m_console_untagged(t):
    del statements(t)[3]["Condition"]
def m_invoke_any(t):
    for s in statements(t):
        if s.get("Sid") == "InvokeSelf":
            s["Resource"] = "*"


def m_metric_any_namespace(t):
    for s in statements(t):
        if s.get("Sid") == "StorageMetric":
            del s["Condition"]


def m_logs_any_group(t):
    for s in statements(t):
        if s.get("Sid") == "SearchLogs":
            s["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}


def m_schedule_name(t):
    props(t, "LookupFunction")["Events"]["StorageSchedule"]["Properties"]["Name"] = "nightly"


def m_alarm(t):
    props(t, "StorageAlarm")["Threshold"] = 95


def m_echo(t):
    del t["Parameters"]["SlackWebhookUrl"]["NoEcho"]


def _statement(t, sid):
    return next(s for s in statements(t) if s.get("Sid") == sid)


def m_tags(t):
    del _statement(t, "BackupTagOnCreate")["Condition"]


def m_rotate(t):
    _statement(t, "BackupRotate")["Condition"] = {"StringEquals": {"aws:ResourceTag/backup": "On"}}


def m_create_star(t):
    _statement(t, "BackupCreateImage")["Resource"] = "*"


def m_rule_name(t):
    props(t, "BackupScheduleRule")["Name"] = {"Fn::Sub": "${AWS::StackName}-backup"}


def m_rule_target(t):
    props(t, "BackupScheduleRule")["Targets"][0]["Input"] = "{}"


def m_alarm_metric(t):
    props(t, "FunctionErrorsAlarm")["MetricName"] = "Invocations"


def m_alarm_action(t):
    props(t, "FunctionErrorsAlarm")["AlarmActions"] = []


def m_hook_var(t):
    props(t, "PreTrafficHookFunction")["Environment"]["Variables"]["EBSSH_HOOK_TARGET"] = \
        {"Fn::GetAtt": ["LookupFunction", "Arn"]}


def m_hook_name(t):
    props(t, "PreTrafficHookFunction")["FunctionName"] = {"Fn::Sub": "${AWS::StackName}-pre-traffic"}


def m_hook_grant(t):
    props(t, "PreTrafficHookRole")["Policies"][0]["PolicyDocument"]["Statement"][2]["Resource"] = "*"


def m_no_hook(t):
    del props(t, "LookupFunction")["DeploymentPreference"]["Hooks"]


def m_no_rollback_alarm(t):
    props(t, "LookupFunction")["DeploymentPreference"]["Alarms"] = [{"Ref": "Api5xxAlarm"}]


def m_no_ok(t):
    del props(t, "ApiLatencyAlarm")["OKActions"]


def m_self_notify(t):
    props(t, "LogsNotifySubscription")["LogGroupName"] = {"Ref": "NotifyLogGroup"}


def m_latest(t):
    props(t, "PipelineNotifyRule")["Targets"][0]["Arn"] = {"Fn::GetAtt": ["LookupFunction", "Arn"]}


MUTATIONS = [
    ("a hook target that is $LATEST", m_hook_var, c_hook_env),
    ("a hook CodeDeploy may not invoke", m_hook_name, c_hook),
    ("a hook that may report on any deployment", m_hook_grant, c_hook),
    ("a deployment without the hook", m_no_hook, c_hook),
    ("a deployment that ignores the new version's errors", m_no_rollback_alarm, c_deployment),
    ("an alarm without OK actions", m_no_ok, c_alarm_actions),
    ("a subscription to the function's own log group", m_self_notify, c_notify_self),
    ("a rule invoking $LATEST", m_latest, c_notify_rule),
    ("an extra EC2 action", m_action, c_iam_actions),
    ("log writes on every resource", m_star, c_iam_resources),
    ("a misspelt Ref", m_ref, c_refs),
    ("a function fixed to x86_64", m_arch_fixed, c_architecture),
    ("an Architecture of any value", m_arch_any, c_architecture),
    ("a 30 s timeout", m_timeout, c_timeout),
    ("a missing configuration variable", m_env, c_env),
    ("an include of another file", m_include, c_api),
    ("a 10-year log retention", m_logs, c_log_group),
    ("a permission for any principal", m_perm, c_permission),
    ("a managed policy", m_managed, c_iam_actions),
    ("CreateTags on any image", m_tags, c_iam_backup),
    ("rotation of images the backup did not tag", m_rotate, c_iam_backup),
    ("CreateImage on *", m_create_star, c_iam_resources),
    ("a rule name not ending in ami-backup", m_rule_name, c_schedule),
    ("a target that replaces the event", m_rule_target, c_schedule),
    ("an alarm on Invocations", m_alarm_metric, c_alarm),
    ("an alarm that notifies no one", m_alarm_action, c_alarm_actions),
    ("console output of every instance", m_console_star, c_iam_console),
    ("console output without a tag condition", m_console_untagged, c_iam_console),
    ("invoking any function", m_invoke_any, c_iam_resources),
    ("metrics in any namespace", m_metric_any_namespace, c_iam_resources),
    ("searching every log group", m_logs_any_group, c_iam_resources),
    ("a schedule not named ...lambda-storage", m_schedule_name, c_storage_schedule),
    ("an alarm at 95 %", m_alarm, c_storage_alarm),
    ("a webhook URL that echoes", m_echo, c_secrets),
]


def main():
    t = Tap()
    try:
        tpl = strict_yaml.load_file(TEMPLATE, cfn=True)
    except (OSError, yaml.YAMLError) as ex:
        t.ok(False, "deploy/template.yaml parses", ex)
        return t.done()
    t.ok(isinstance(tpl, dict) and "Resources" in tpl, "deploy/template.yaml parses")
    for name, fn in CHECKS:
        try:
            why = fn(tpl)
        except Exception as ex:  # a check that crashes is a failure with its reason
            why = "%s: %s" % (type(ex).__name__, ex)
        t.ok(why is None, name, why)
    for name, mutate, fn in MUTATIONS:
        broken = copy.deepcopy(tpl)
        mutate(broken)
        try:
            why = fn(broken)
        except Exception as ex:
            why = "%s: %s" % (type(ex).__name__, ex)
        t.ok(why is not None, "%s rejects %s" % (fn.__name__, name))
    stage = props(tpl, "LookupApi").get("StageName")
    _, wrong = stage_urls_wrong(tpl, {"a.1": "\\fBhttps://abc.execute\\-api.eu\\-west\\-1.amazonaws.com/prod\\fR",
                                   "b.md": "endpoint = https://x.execute-api.us-east-1.amazonaws.com/%s" % stage,
                                   "c": "https://x.execute-api.us-east-1.amazonaws.com/prod/eb/e/ip"})
    t.ok(len(wrong) == 2 and "a.1" in wrong[0] and "c:" in wrong[1],
         "stage_urls_wrong rejects /prod URLs (a man page's too) and accepts /%s" % stage, wrong)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
