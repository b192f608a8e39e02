#!/usr/bin/env python3
# test-python: tools
"""deploy/template.yaml as CloudFormation deploys it: the SAM translator (the
same expansion as tests/audit/aws_actions.py: AWS::Include inlined, the SAM
transform run with the template's parameter defaults) and assertions on the
resources it produces (issue 13):

  - the alias live, its CodeDeploy deployment group rolled back on the
    deployment alarms, the pre-traffic hook in the alias's UpdatePolicy;
  - every API Gateway integration URI naming the alias;
  - the stage's JSON access log to a log group with retention;
  - the EventInvokeConfig of the alias with its SQS on-failure destination
    (14 days, an alarm, the role's sqs:SendMessage), and every asynchronous
    source (rules, the log subscription, the self-invocation) on the alias;
  - the hook role's permission to report its status and invoke versions;
  - nothing invoking $LATEST (the unqualified function);
  - every alarm notifying the topic, ALARM and OK;
  - docs/deploy.md's "What the stack contains" table naming exactly the
    translated resources.

Then broken copies of the template, each translated, must fail the check
that covers them. TAP on stdout.
"""

import copy
import json
import os
import re
import sys

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "audit"))

import strict_yaml  # noqa: E402
from aws_actions import sam_expand, role_statements  # noqa: E402
from tap import Tap  # noqa: E402

TEMPLATE = os.path.join(ROOT, "deploy", "template.yaml")
OPENAPI = os.path.join(ROOT, "deploy", "openapi.cfn.yaml")  # what the template includes
DEPLOY_DOC = os.path.join(ROOT, "docs", "deploy.md")
FN = "LookupFunction"
HOOK = "PreTrafficHookFunction"
QUEUE_ARN = {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]}
TOPIC = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}


def walk(node):
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def of_type(cfn, kind):
    return {n: r for n, r in cfn["Resources"].items() if r.get("Type") == kind}


def props(cfn, name):
    return cfn["Resources"].get(name, {}).get("Properties", {})


def alias_id(cfn):
    """The logical id of the alias live of the function, or None."""
    for n, r in of_type(cfn, "AWS::Lambda::Alias").items():
        p = r.get("Properties", {})
        if p.get("FunctionName") == {"Ref": FN} and p.get("Name") == "live":
            return n
    return None


def as_list(v):
    return v if isinstance(v, list) else [v]


def sub_text(v):
    if isinstance(v, dict) and "Fn::Sub" in v:
        s = v["Fn::Sub"]
        return s[0] if isinstance(s, list) else s
    return None


def unqualified(v):
    """Whether v names the function itself ($LATEST when invoked)."""
    if v in ({"Ref": FN}, {"Fn::GetAtt": [FN, "Arn"]}):
        return True
    s = sub_text(v)
    return s is not None and bool(re.search(r"\$\{%s(\.Arn)?\}(?!:)" % FN, s))


# --- the checks: each returns None when good, else why not ---------------------------


def c_alias_deployment(cfn):
    a = alias_id(cfn)
    if not a:
        return "no alias live of %s" % FN
    alias = cfn["Resources"][a]
    version = (alias.get("Properties", {}).get("FunctionVersion") or {}).get("Fn::GetAtt", [None])[0]
    if cfn["Resources"].get(version, {}).get("Type") != "AWS::Lambda::Version":
        return "the alias points at %r, not a published version" % version
    up = alias.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate", {})
    group = (up.get("DeploymentGroupName") or {}).get("Ref")
    if up.get("BeforeAllowTrafficHook") != {"Ref": HOOK}:
        return "UpdatePolicy %r runs no pre-traffic hook %s" % (up, HOOK)
    g = props(cfn, group)
    if cfn["Resources"].get(group, {}).get("Type") != "AWS::CodeDeploy::DeploymentGroup":
        return "the alias's deployment group %r is none" % group
    ac = g.get("AlarmConfiguration", {})
    alarms = [x.get("Name") for x in ac.get("Alarms", [])]
    if ac.get("Enabled") is not True or alarms != [{"Ref": "CanaryErrorsAlarm"}, {"Ref": "Api5xxAlarm"}]:
        return "deployment alarms %r" % ac
    rb = g.get("AutoRollbackConfiguration", {})
    if rb.get("Enabled") is not True or "DEPLOYMENT_STOP_ON_ALARM" not in rb.get("Events", []):
        return "no rollback on alarm: %r" % rb
    cfg = json.dumps(g.get("DeploymentConfigName"))
    if "Canary10Percent5Minutes" not in cfg:
        return "DeploymentConfigName %s is not the default Canary10Percent5Minutes" % cfg
    dims = {d["Name"]: d["Value"] for d in props(cfn, "CanaryErrorsAlarm").get("Dimensions", [])}
    if "Ref" not in json.dumps(dims.get("ExecutedVersion")) or version not in json.dumps(dims.get("ExecutedVersion")):
        return "the rollback alarm does not watch the new version %s: %r" % (version, dims)


def c_api_uri(cfn):
    a = alias_id(cfn)
    body = props(cfn, "LookupApi").get("Body", {})
    uris = [op["x-amazon-apigateway-integration"].get("uri")
            for path in body.get("paths", {}).values() for op in path.values()
            if isinstance(op, dict) and "x-amazon-apigateway-integration" in op]
    if not uris:
        return "no integrations in the API"
    want = "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${%s}/invocations" % a
    bad = [u for u in uris if sub_text(u) != want]
    if bad:
        return "%d of %d integration URIs do not name the alias %s: %r" % (len(bad), len(uris), a, bad[0])


ACCESS_FIELDS = {"requestId": "$context.requestId", "requestTime": "$context.requestTime",
                 "sourceIp": "$context.identity.sourceIp", "caller": "$context.identity.caller",
                 "userArn": "$context.identity.userArn",
                 "apiKeyId": "$context.identity.apiKeyId", "resourcePath": "$context.resourcePath",
                 "httpMethod": "$context.httpMethod", "status": "$context.status",
                 "responseLatency": "$context.responseLatency"}


def c_access_log(cfn):
    stages = of_type(cfn, "AWS::ApiGateway::Stage")
    if len(stages) != 1:
        return "stages %s" % sorted(stages)
    (name, stage), = stages.items()
    p = stage["Properties"]
    if p.get("StageName") != "v1":
        return "stage %r" % p.get("StageName")
    s = p.get("AccessLogSetting") or {}
    group = (s.get("DestinationArn") or {}).get("Fn::GetAtt", [None])[0]
    if cfn["Resources"].get(group, {}).get("Type") != "AWS::Logs::LogGroup" or \
            not props(cfn, group).get("RetentionInDays"):
        return "access logs go to %r, not a log group with retention" % s.get("DestinationArn")
    try:
        fmt = json.loads(s.get("Format", ""))
    except ValueError as e:
        return "the access log format is no JSON: %s" % e
    bad = {k: fmt.get(k) for k, v in ACCESS_FIELDS.items() if fmt.get(k) != v}
    if bad:
        return "access log fields %r, want %r" % (bad, {k: ACCESS_FIELDS[k] for k in bad})


def c_async(cfn):
    a = alias_id(cfn)
    configs = of_type(cfn, "AWS::Lambda::EventInvokeConfig")
    mine = [p["Properties"] for p in configs.values() if p["Properties"].get("FunctionName") == {"Ref": FN}]
    if len(mine) != 1:
        return "%d EventInvokeConfigs of %s" % (len(mine), FN)
    c = mine[0]
    if c.get("Qualifier") != "live":
        return "the EventInvokeConfig is for %r, not the alias live" % c.get("Qualifier")
    if not isinstance(c.get("MaximumRetryAttempts"), int) or not isinstance(c.get("MaximumEventAgeInSeconds"), int):
        return "retries and age unset: %r" % c
    if c.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination") != QUEUE_ARN:
        return "on failure %r, not the queue" % c.get("DestinationConfig")
    if props(cfn, "AsyncFailureQueue").get("MessageRetentionPeriod") != 1209600:
        return "the queue keeps messages %r s, not 14 days" % props(cfn, "AsyncFailureQueue").get(
            "MessageRetentionPeriod")
    alarm = [n for n, r in of_type(cfn, "AWS::CloudWatch::Alarm").items()
             if r["Properties"].get("Namespace") == "AWS/SQS"
             and r["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
             and {"Name": "QueueName", "Value": {"Fn::GetAtt": ["AsyncFailureQueue", "QueueName"]}}
             in r["Properties"].get("Dimensions", [])
             and r["Properties"].get("Threshold") == 0
             and r["Properties"].get("ComparisonOperator") == "GreaterThanThreshold"]
    if not alarm:
        return "no alarm on messages arriving in the queue"
    role = (props(cfn, FN).get("Role") or {}).get("Fn::GetAtt", [None])[0]
    st, _ = role_statements(cfn, role)
    if not any("sqs:SendMessage" in as_list(s.get("Action")) and s.get("Resource") == QUEUE_ARN for s, _ in st):
        return "the function's role %s may not send to the queue" % role
    # Every asynchronous source invokes the alias, which has the config.
    sources = []
    for n, r in of_type(cfn, "AWS::Events::Rule").items():
        sources += [(n, t.get("Arn")) for t in r["Properties"].get("Targets", [])]
    for n, r in of_type(cfn, "AWS::Logs::SubscriptionFilter").items():
        sources.append((n, r["Properties"].get("DestinationArn")))
    if len(sources) < 4:
        return "only %d asynchronous sources: %r" % (len(sources), sources)
    bad = [(n, v) for n, v in sources if v != {"Ref": a}]
    if bad:
        return "asynchronous sources not on the alias %s: %r" % (a, bad)
    invoke_self = [s.get("Resource") for s, _ in st if "lambda:InvokeFunction" in as_list(s.get("Action"))]
    if [sub_text(r) or "" for r in invoke_self] != [
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-lookup:live"]:
        return "the self-invocation may invoke %r, not only the alias" % invoke_self


def c_hook_role(cfn):
    hook = props(cfn, HOOK)
    if not hook:
        return "no %s" % HOOK
    role = (hook.get("Role") or {}).get("Fn::GetAtt", [None])[0]
    st, problems = role_statements(cfn, role)
    if problems:
        return "; ".join(problems)
    grants = {}
    for s, _ in st:
        for act in as_list(s.get("Action")):
            grants.setdefault(act, []).extend(sub_text(r) or r for r in as_list(s.get("Resource")))
    report = grants.get("codedeploy:PutLifecycleEventHookExecutionStatus", [])
    app = "ServerlessDeploymentApplication"
    if report != ["arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:${%s}/*" % app]:
        return "the hook may report on %r" % report
    if cfn["Resources"].get(app, {}).get("Type") != "AWS::CodeDeploy::Application":
        return "%s is no CodeDeploy application" % app
    if grants.get("lambda:InvokeFunction") != [
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-lookup:*"]:
        return "the hook may invoke %r" % grants.get("lambda:InvokeFunction")
    env = hook.get("Environment", {}).get("Variables", {})
    version = (env.get("EBSSH_HOOK_TARGET") or {}).get("Ref", "")
    if cfn["Resources"].get(version, {}).get("Type") != "AWS::Lambda::Version":
        return "EBSSH_HOOK_TARGET %r is not the new version" % env.get("EBSSH_HOOK_TARGET")
    if not (sub_text(hook.get("FunctionName")) or "").startswith("CodeDeployHook_"):
        return "CodeDeploy's role may not invoke %r" % hook.get("FunctionName")


# --- caller classes (issue 15) ------------------------------------------------------------

OPS_PATHS = {"/backup/ami", "/logs/{function}/{request_id}", "/lambda/storage"}
OPEN_PATHS = {"/health", "/slack/logsearch"}
COMBOS = [(la, oa) for la in ("API_KEY", "AWS_IAM") for oa in ("API_KEY", "AWS_IAM")]


def resolve(node, cfn, params):
    """node with every Fn::If decided as CloudFormation would, for params
    (the template's parameters; conditions of the form Fn::Equals [Ref P, V])."""
    if isinstance(node, list):
        return [resolve(v, cfn, params) for v in node]
    if not isinstance(node, dict):
        return node
    if list(node) == ["Fn::If"]:
        cond, yes, no = node["Fn::If"]
        a, b = cfn["Conditions"][cond]["Fn::Equals"]
        a = params[a["Ref"]] if isinstance(a, dict) else a
        b = params[b["Ref"]] if isinstance(b, dict) else b
        return resolve(yes if a == b else no, cfn, params)
    return {k: resolve(v, cfn, params) for k, v in node.items()}


def method_auth(body, op):
    """(authorizationType, apiKeyRequired) API Gateway's import gives op: a
    requirement on an apiKey scheme named x-api-key requires the key; one on
    a scheme with x-amazon-apigateway-authtype awsSigv4 is AWS_IAM."""
    schemes = body.get("components", {}).get("securitySchemes", {})
    auth, key = "NONE", False
    for req in op.get("security", body.get("security", [])):
        for name in req:
            sch = schemes[name]
            if sch.get("x-amazon-apigateway-authtype") == "awsSigv4":
                auth = "AWS_IAM"
            elif sch.get("type") == "apiKey" and sch.get("name") == "x-api-key" and sch.get("in") == "header":
                key = True
    return auth, key


def c_auth_per_class(cfn):
    """For each LookupAuth x OpsAuth: every lookup method, every ops method
    and the open ones get the authorization their parameter names."""
    p = cfn.get("Parameters", {})
    if p.get("LookupAuth", {}).get("Default") != "API_KEY" or p.get("OpsAuth", {}).get("Default") != "AWS_IAM":
        return "LookupAuth / OpsAuth defaults %r %r" % (p.get("LookupAuth"), p.get("OpsAuth"))
    for name in ("LookupAuth", "OpsAuth"):
        if sorted(p[name].get("AllowedValues", [])) != ["API_KEY", "AWS_IAM"]:
            return "%s allows %r" % (name, p[name].get("AllowedValues"))
    bad = []
    for la, oa in COMBOS:
        body = resolve(props(cfn, "LookupApi").get("Body", {}), cfn, {"LookupAuth": la, "OpsAuth": oa})
        n = 0
        for path, item in body.get("paths", {}).items():
            for method, op in item.items():
                if not isinstance(op, dict) or "x-amazon-apigateway-integration" not in op:
                    continue
                n += 1
                mode = None if path in OPEN_PATHS else oa if path in OPS_PATHS else la
                want = ("NONE", False) if mode is None else ("AWS_IAM", False) if mode == "AWS_IAM" else ("NONE", True)
                got = method_auth(body, op)
                if got != want:
                    bad.append("LookupAuth=%s OpsAuth=%s: %s %s is %r, want %r" % (la, oa, method, path, got, want))
        if n < 15:
            bad.append("only %d methods" % n)
    return "\n".join(bad) or None


def c_keys_and_plans(cfn):
    bad = []
    plans = of_type(cfn, "AWS::ApiGateway::UsagePlan")
    if sorted(plans) != ["LookupUsagePlan", "OpsUsagePlan"]:
        bad.append("usage plans %s" % sorted(plans))
    want = {"LookupUsagePlan": ("ThrottleRateLimit", "ThrottleBurstLimit", "DailyQuota"),
            "OpsUsagePlan": ("OpsThrottleRateLimit", "OpsThrottleBurstLimit", "OpsDailyQuota")}
    for plan, (rate, burst, quota) in want.items():
        q = props(cfn, plan)
        if (q.get("Throttle") != {"RateLimit": {"Ref": rate}, "BurstLimit": {"Ref": burst}}
                or q.get("Quota") != {"Limit": {"Ref": quota}, "Period": "DAY"}):
            bad.append("%s limits %r %r" % (plan, q.get("Throttle"), q.get("Quota")))
        if not q.get("ApiStages"):
            bad.append("%s has no API stage" % plan)
    links = {(props(cfn, n).get("KeyId") or {}).get("Ref"): (props(cfn, n).get("UsagePlanId") or {}).get("Ref")
             for n in of_type(cfn, "AWS::ApiGateway::UsagePlanKey")}
    if links != {"LookupApiKey": "LookupUsagePlan", "OpsApiKey": "OpsUsagePlan"}:
        bad.append("keys in plans %r" % links)
    if sorted(of_type(cfn, "AWS::ApiGateway::ApiKey")) != ["LookupApiKey", "OpsApiKey"]:
        bad.append("API keys %s" % sorted(of_type(cfn, "AWS::ApiGateway::ApiKey")))
    env = props(cfn, FN).get("Environment", {}).get("Variables", {})
    if env.get("OPS_API_KEY_ID") != {"Ref": "OpsApiKey"}:
        bad.append("OPS_API_KEY_ID is %r" % env.get("OPS_API_KEY_ID"))
    outs = cfn.get("Outputs", {})
    if outs.get("ApiKeyId", {}).get("Value") != {"Ref": "LookupApiKey"} or \
            outs.get("OpsApiKeyId", {}).get("Value") != {"Ref": "OpsApiKey"}:
        bad.append("key id outputs %r %r" % (outs.get("ApiKeyId"), outs.get("OpsApiKeyId")))
    return "\n".join(bad) or None


def c_generated_in_sync(cfn):
    """deploy/openapi.cfn.yaml is what scripts/openapi_cfn.py makes of openapi/ebssh.yaml."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import openapi_cfn  # noqa: E402
    with open(OPENAPI, encoding="utf-8") as f:
        have = f.read()
    if have != openapi_cfn.render():
        return "deploy/openapi.cfn.yaml is stale: run scripts/openapi_cfn.py"


PROSE = {"description", "summary", "example", "examples", "Description", "AlarmDescription"}


def without_prose(node):
    if isinstance(node, dict):
        return {k: without_prose(v) for k, v in node.items() if k not in PROSE}
    if isinstance(node, list):
        return [without_prose(v) for v in node]
    return node


def c_no_latest(cfn):
    """Nothing invokes the unqualified function: no permission, rule target,
    subscription, integration or invoke config names it, and no $LATEST."""
    bad = []
    for n, r in cfn["Resources"].items():
        p = r.get("Properties", {})
        t = r.get("Type")
        if t == "AWS::Lambda::Permission" and unqualified(p.get("FunctionName")):
            bad.append("%s: FunctionName %r" % (n, p.get("FunctionName")))
        if t == "AWS::Events::Rule":
            bad += ["%s: target %r" % (n, x.get("Arn")) for x in p.get("Targets", []) if unqualified(x.get("Arn"))]
        if t == "AWS::Logs::SubscriptionFilter" and unqualified(p.get("DestinationArn")):
            bad.append("%s: DestinationArn %r" % (n, p.get("DestinationArn")))
        if t == "AWS::Lambda::EventInvokeConfig" and p.get("Qualifier") in (None, "$LATEST"):
            bad.append("%s: Qualifier %r" % (n, p.get("Qualifier")))
        if t == "AWS::ApiGateway::RestApi":
            bad += ["%s: uri %r" % (n, x["uri"]) for x in walk(p.get("Body", {}))
                    if isinstance(x, dict) and "uri" in x and unqualified(x["uri"])]
    # $LATEST as a qualifier or a value anywhere but in prose (the API's
    # descriptions and examples of /lambda/storage mention it).
    named = sorted({m for m in re.findall(r'[^"\s]*:\$LATEST\b[^"]*|"\$LATEST"', json.dumps(without_prose(cfn)))})
    if named:
        bad.append("$LATEST is named: %s" % named)
    return "\n".join(bad) or None


def c_alarms(cfn):
    alarms = of_type(cfn, "AWS::CloudWatch::Alarm")
    bad = ["%s: %s %r" % (n, k, r["Properties"].get(k)) for n, r in alarms.items()
           for k in ("AlarmActions", "OKActions") if r["Properties"].get(k) != [TOPIC]]
    metrics = {(r["Properties"].get("Namespace"), r["Properties"].get("MetricName")) for r in alarms.values()}
    want = {("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles"), ("AWS/ApiGateway", "5XXError"),
            ("AWS/ApiGateway", "Latency"), ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
            ("ebssh", "BackupFailures"), ("ebssh", "LambdaCodeStorageLimitPercent")}
    if want - metrics:
        bad.append("no alarm on %s" % sorted(want - metrics))
    filters = [r["Properties"] for r in of_type(cfn, "AWS::Logs::MetricFilter").values()
               if any(m.get("MetricName") == "BackupFailures" and m.get("MetricNamespace") == "ebssh"
                      for m in r["Properties"].get("MetricTransformations", []))]
    if [f.get("FilterPattern") for f in filters] != [
            '{ $.message = "invocation" && $.route = "ami-backup" && $.level = "ERROR" }']:
        bad.append("backup failure filter %r" % filters)
    dash = of_type(cfn, "AWS::CloudWatch::Dashboard")
    if len(dash) != 1:
        bad.append("dashboards %s" % sorted(dash))
    else:
        body = sub_text(next(iter(dash.values()))["Properties"].get("DashboardBody")) or ""
        try:
            widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
        except (ValueError, KeyError) as e:
            bad.append("the dashboard is no JSON with widgets: %s" % e)
        else:
            shown = {m[1] for w in widgets for m in w["properties"]["metrics"]}
            need = {"Count", "Errors", "Latency", "Throttles", "BackupFailures", "LambdaCodeStorageLimitPercent"}
            if need - shown:
                bad.append("the dashboard lacks %s" % sorted(need - shown))
    return "\n".join(bad) or None


def normalise(name, kind):
    """SAM's hashed logical ids (a version, an API deployment) as the docs
    write them: the hash as <hash>."""
    if kind in ("AWS::Lambda::Version", "AWS::ApiGateway::Deployment"):
        return re.sub(r"[0-9a-f]{10}$", "<hash>", name)
    return name


def doc_resources(text):
    """The logical ids of the first column of docs/deploy.md's table under
    the heading "What the stack contains"."""
    m = re.search(r"^#+ What the stack contains\s*$(.*?)(?=^#)", text + "\n#", re.M | re.S)
    if not m:
        return None
    out = []
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and len(cells) > 1:
            out += re.findall(r"^`([A-Za-z0-9<>]+)`$", cells[0])
    return out


def c_doc_table(cfn, doc_text):
    listed = doc_resources(doc_text)
    if listed is None:
        return "docs/deploy.md has no section \"What the stack contains\""
    have = sorted(normalise(n, r["Type"]) for n, r in cfn["Resources"].items())
    missing = sorted(set(have) - set(listed))
    extra = sorted(set(listed) - set(have))
    twice = sorted({x for x in listed if listed.count(x) > 1})
    bad = []
    if missing:
        bad.append("the table lacks %s" % missing)
    if extra:
        bad.append("the table lists %s, which the stack does not contain" % extra)
    if twice:
        bad.append("listed twice: %s" % twice)
    return "\n".join(bad) or None


BACKUP_QUEUE_ARN = {"Fn::GetAtt": ["BackupQueue", "Arn"]}
DLQ_ARN = {"Fn::GetAtt": ["BackupDeadLetterQueue", "Arn"]}
ALARM_TOPIC = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}


def c_backup_queue(cfn):
    """The AMI backup's work queue (issue 14): its redrive to a 14-day
    dead-letter queue with an alarm to the stack's topic, a visibility
    timeout of at least 6 times the function's, one event source mapping on
    the alias with partial batch responses, the queue's URL in the
    environment and the role's permissions on it."""
    q, dlq = props(cfn, "BackupQueue"), props(cfn, "BackupDeadLetterQueue")
    timeout = props(cfn, FN).get("Timeout")
    if not isinstance(q.get("VisibilityTimeout"), int) or not isinstance(timeout, int) \
            or q["VisibilityTimeout"] < 6 * timeout:
        return "visibility timeout %r, not >= 6 x the function's %r" % (q.get("VisibilityTimeout"), timeout)
    rp = q.get("RedrivePolicy") or {}
    if rp.get("deadLetterTargetArn") != DLQ_ARN or not isinstance(rp.get("maxReceiveCount"), int) \
            or not 1 < rp["maxReceiveCount"] <= 10:
        return "redrive policy %r, not to the dead-letter queue after a few receives" % rp
    if dlq.get("MessageRetentionPeriod") != 1209600:
        return "the dead-letter queue keeps messages %r s, not 14 days" % dlq.get("MessageRetentionPeriod")
    if not isinstance(q.get("MessageRetentionPeriod"), int) or \
            q["MessageRetentionPeriod"] >= dlq["MessageRetentionPeriod"]:
        return "the queue's retention %r is not shorter than the dead-letter queue's" % q.get(
            "MessageRetentionPeriod")
    alarms = [r["Properties"] for r in of_type(cfn, "AWS::CloudWatch::Alarm").values()
              if r["Properties"].get("Namespace") == "AWS/SQS"
              and {"Name": "QueueName", "Value": {"Fn::GetAtt": ["BackupDeadLetterQueue", "QueueName"]}}
              in r["Properties"].get("Dimensions", [])]
    if len(alarms) != 1:
        return "%d alarms on the dead-letter queue" % len(alarms)
    al = alarms[0]
    if al.get("MetricName") != "ApproximateNumberOfMessagesVisible" or al.get("Threshold") != 1 or \
            al.get("ComparisonOperator") != "GreaterThanOrEqualToThreshold":
        return "the dead-letter alarm does not fire on one message: %r" % al
    if al.get("AlarmActions") != [ALARM_TOPIC] or al.get("OKActions") != [ALARM_TOPIC]:
        return "the dead-letter alarm's actions %r / %r, not the alarm topic" % (
            al.get("AlarmActions"), al.get("OKActions"))
    maps = [r["Properties"] for r in of_type(cfn, "AWS::Lambda::EventSourceMapping").values()]
    mine = [m for m in maps if m.get("EventSourceArn") == BACKUP_QUEUE_ARN]
    if len(mine) != 1:
        return "%d event source mappings on the backup queue" % len(mine)
    m = mine[0]
    if m.get("FunctionName") != {"Ref": alias_id(cfn)}:
        return "the event source mapping invokes %r, not the alias live" % m.get("FunctionName")
    if m.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
        return "FunctionResponseTypes %r: failed records would retry the whole batch" % m.get(
            "FunctionResponseTypes")
    if m.get("BatchSize") != 10:
        return "batch size %r, not 10" % m.get("BatchSize")
    env = props(cfn, FN).get("Environment", {}).get("Variables", {})
    if env.get("BACKUP_QUEUE_URL") != {"Ref": "BackupQueue"}:
        return "BACKUP_QUEUE_URL is %r, not the queue's URL" % env.get("BACKUP_QUEUE_URL")
    role = (props(cfn, FN).get("Role") or {}).get("Fn::GetAtt", [None])[0]
    st, _ = role_statements(cfn, role)
    allowed = {a for s, _ in st if s.get("Resource") == BACKUP_QUEUE_ARN for a in as_list(s.get("Action"))}
    need = {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    if not need <= allowed:
        return "the role lacks %s on the backup queue" % sorted(need - allowed)


def m_no_batch_failures(t, _o):
    del t["Resources"][FN]["Properties"]["Events"]["BackupQueueItems"]["Properties"]["FunctionResponseTypes"]


def m_short_visibility(t, _o):
    t["Resources"]["BackupQueue"]["Properties"]["VisibilityTimeout"] = 30


def m_dlq_alarm_no_ok(t, _o):
    del t["Resources"]["BackupDeadLetterAlarm"]["Properties"]["OKActions"]


def m_no_esm_permission(t, _o):
    for p in t["Resources"]["LookupRole"]["Properties"]["Policies"]:
        p["PolicyDocument"]["Statement"] = [s for s in p["PolicyDocument"]["Statement"]
                                            if s.get("Sid") != "BackupQueueConsume"]


CHECKS = [
    ("the backup queue: visibility >= 6 x timeout, redrive to a 14-day DLQ with an alarm to the topic, "
     "an event source mapping on live with ReportBatchItemFailures, BACKUP_QUEUE_URL, the role's sqs actions",
     c_backup_queue),
    ("alias live on a published version; its deployment group rolls back on the alarms; the hook runs first",
     c_alias_deployment),
    ("every API integration URI names the alias", c_api_uri),
    ("stage v1 writes JSON access logs (request id, time, caller, key, IP, route, status, latency) with retention",
     c_access_log),
    ("asynchronous invocations: the alias's invoke config, its SQS destination (14 days, alarm, grant), "
     "every source on the alias", c_async),
    ("the hook's role reports to this stack's deployment groups and invokes versions; its target is the version",
     c_hook_role),
    ("nothing invokes $LATEST", c_no_latest),
    ("alarms (errors, throttles, API 5xx and p99, queue, backups, storage) notify ALARM and OK; "
     "backup filter; dashboard", c_alarms),
    ("each LookupAuth x OpsAuth: lookups, ops routes and open routes get their authorization "
     "(AWS_IAM, or the API key) in the imported body", c_auth_per_class),
    ("two API keys, two usage plans with their own limits, OPS_API_KEY_ID = the ops key, both ids output",
     c_keys_and_plans),
    ("deploy/openapi.cfn.yaml is in sync with openapi/ebssh.yaml", c_generated_in_sync),
]


# --- broken copies -----------------------------------------------------------------------


def tprops(t, name):
    return t["Resources"][name]["Properties"]


def m_no_alias(t, o):
    del tprops(t, FN)["AutoPublishAlias"]
    del tprops(t, FN)["DeploymentPreference"]
    del tprops(t, FN)["EventInvokeConfig"]


def m_no_rollback_alarms(t, o):
    del tprops(t, FN)["DeploymentPreference"]["Alarms"]


def m_no_hook(t, o):
    del tprops(t, FN)["DeploymentPreference"]["Hooks"]


def m_uri_latest(t, o):
    for x in walk(o):
        if isinstance(x, dict) and "uri" in x:
            x["uri"] = {"Fn::Sub": sub_text(x["uri"]).replace("${LookupFunction.Alias}", "${LookupFunction.Arn}")}
            break


def m_no_access_log(t, o):
    del tprops(t, "LookupApi")["AccessLogSetting"]


def m_access_no_key(t, o):
    tprops(t, "LookupApi")["AccessLogSetting"]["Format"] = '{"requestId":"$context.requestId"}'


def m_no_invoke_config(t, o):
    del tprops(t, FN)["EventInvokeConfig"]["DestinationConfig"]


def m_rule_latest(t, o):
    tprops(t, "BackupScheduleRule")["Targets"][0]["Arn"] = {"Fn::GetAtt": [FN, "Arn"]}


def m_hook_latest(t, o):
    tprops(t, HOOK)["Environment"]["Variables"]["EBSSH_HOOK_TARGET"] = {
        "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:x:$LATEST"}


def m_perm_latest(t, o):
    tprops(t, "LookupApiInvokePermission")["FunctionName"] = {"Ref": FN}


def m_no_report(t, o):
    st = tprops(t, "PreTrafficHookRole")["Policies"][0]["PolicyDocument"]["Statement"]
    st[:] = [s for s in st if s.get("Sid") != "ReportHookStatus"]


def m_no_ok(t, o):
    del tprops(t, "ApiLatencyAlarm")["OKActions"]


def m_no_throttle_alarm(t, o):
    del t["Resources"]["FunctionThrottlesAlarm"]


def m_ops_open(t, o):
    o["paths"]["/backup/ami"]["post"]["security"] = []


def m_lookup_fixed(t, o):
    o["paths"]["/eb/{env}/ip"]["get"]["security"] = [{"api_key": []}]


def m_ops_env(t, o):
    tprops(t, FN)["Environment"]["Variables"]["OPS_API_KEY_ID"] = {"Ref": "LookupApiKey"}


def m_one_plan(t, o):
    del t["Resources"]["OpsUsagePlanKey"]


MUTATIONS = [
    ("an SQS event without partial batch responses", m_no_batch_failures, c_backup_queue),
    ("a visibility timeout shorter than 6 x the function's", m_short_visibility, c_backup_queue),
    ("a dead-letter alarm without OK actions", m_dlq_alarm_no_ok, c_backup_queue),
    ("a role the event source mapping cannot read the queue with", m_no_esm_permission, c_backup_queue),
    ("an ops route left open", m_ops_open, c_auth_per_class),
    ("a lookup route that ignores LookupAuth", m_lookup_fixed, c_auth_per_class),
    ("OPS_API_KEY_ID naming the lookup key", m_ops_env, c_keys_and_plans),
    ("the ops key in no plan", m_one_plan, c_keys_and_plans),
    ("no alias", m_no_alias, c_alias_deployment),
    ("no alias (so the API invokes $LATEST)", m_no_alias, c_no_latest),
    ("a deployment without alarms", m_no_rollback_alarms, c_alias_deployment),
    ("a deployment without the hook", m_no_hook, c_alias_deployment),
    ("an integration URI on $LATEST", m_uri_latest, c_api_uri),
    ("an integration URI on $LATEST", m_uri_latest, c_no_latest),
    ("no access log", m_no_access_log, c_access_log),
    ("an access log of the request id only", m_access_no_key, c_access_log),
    ("an invoke config without a destination", m_no_invoke_config, c_async),
    ("a schedule on $LATEST", m_rule_latest, c_async),
    ("a schedule on $LATEST", m_rule_latest, c_no_latest),
    ("an API permission on $LATEST", m_perm_latest, c_no_latest),
    ("a hook target naming $LATEST", m_hook_latest, c_no_latest),
    ("a hook that may not report", m_no_report, c_hook_role),
    ("an alarm without OK actions", m_no_ok, c_alarms),
    ("no throttles alarm", m_no_throttle_alarm, c_alarms),
]


def run(fn, *args):
    try:
        return fn(*args)
    except Exception as ex:  # noqa: BLE001 - a check that crashes fails, with its reason
        return "%s: %s" % (type(ex).__name__, ex)


def main():
    t = Tap()
    try:
        tpl = strict_yaml.load_file(TEMPLATE, cfn=True)
        api = strict_yaml.load_file(OPENAPI)
        cfn = sam_expand(tpl, api)
    except Exception as ex:  # noqa: BLE001
        t.ok(False, "the SAM translator expands deploy/template.yaml", "%s: %s" % (type(ex).__name__, ex))
        return t.done()
    t.ok(True, "the SAM translator expands deploy/template.yaml (%d resources)" % len(cfn["Resources"]))
    for name, fn in CHECKS:
        why = run(fn, cfn)
        t.ok(why is None, name, why)
    with open(DEPLOY_DOC, encoding="utf-8") as f:
        doc = f.read()
    why = run(c_doc_table, cfn, doc)
    t.ok(why is None, "docs/deploy.md's \"What the stack contains\" lists every translated resource, once", why)

    for what, mutate, fn in MUTATIONS:
        t2, o2 = copy.deepcopy(tpl), copy.deepcopy(api)
        mutate(t2, o2)
        try:
            broken = sam_expand(t2, o2)
        except Exception as ex:  # noqa: BLE001 - a copy the translator refuses proves nothing
            t.ok(False, "%s rejects %s" % (fn.__name__, what), "the translator refused it: %s" % ex)
            continue
        t.ok(run(fn, broken) is not None, "%s rejects %s" % (fn.__name__, what))
    gone = copy.deepcopy(cfn)
    del gone["Resources"]["Dashboard"]
    t.ok(run(c_doc_table, gone, doc) is not None, "c_doc_table rejects a table listing a resource the stack lacks")
    t.ok(run(c_doc_table, cfn, doc.replace("`AsyncFailureQueue`", "`AsyncQueue`")) is not None,
         "c_doc_table rejects a table missing a resource")
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
