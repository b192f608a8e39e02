#!/usr/bin/env python3
# test-python: tools
"""ebssh against an AWS nobody here wrote: moto's server (with the shims of
tests/doubles/moto_shims.py) holds a world built with boto3, and what
build/ebssh-api answers, and what build/bootstrap does with the scheduled
events under the Runtime API double, is compared with what boto3 reads back
from the same moto. Expected answers are derived from boto3's reading by the
documented rules (openapi/ebssh.yaml's routes, docs/backup.md, docs/logsearch.md,
docs/notifications.md), never written down as literals.

Cross-checked: /eb/{env}/ip, /eb/{env}/ip/{n}, ?address=private, Accept:
application/json, /asg/{group}/ip[/{n}], /eb/{env}/instances, the 404s
(unknown environment, stopped-only environment, no public address, n past
the end), /eb/{env}/hostkeys/{n} (GetConsoleOutput), /logs/{function}/{request_id} (text, JSON, window, 404s),
/lambda/storage, POST /backup/ami (dry run, a run, a second run that
rotates), and the schedules <stack>-ami-backup and <stack>-lambda-storage
(images and the metric land in moto). TAP.
"""

import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("EBSSH_BUILD") or os.path.join(ROOT, "build")
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from api_server import ApiServer  # noqa: E402
from child import die_with_parent, sanitizer_clean, stop_process  # noqa: E402
from moto_aws import MotoAws  # noqa: E402
from moto_world import World  # noqa: E402
from runtime_api import Client as RuntimeApi  # noqa: E402
from tap import Tap, diag  # noqa: E402

API_KEY = "moto-crosscheck-api-key-0123456789"
OPS_KEY = "moto-crosscheck-ops-key-0123456789"  # the ops routes' own key (issue 15)
OPS_PREFIXES = ("/backup/", "/logs/", "/lambda/")
EB_TAG = "elasticbeanstalk:environment-name"
ASG_TAG = "aws:autoscaling:groupName"
BACKUP_OF, MANAGED, STACK_TAG = "ebssh:backup-of", "ebssh:managed", "ebssh:stack"
STACK = "ebssh"  # ebssh:stack with neither EBSSH_STACK_NAME nor a function name but "ebssh"
MIN_INTERVAL = 3600  # BACKUP_MIN_INTERVAL's default
STORAGE_NAMESPACE = "ebssh"  # docs/notifications.md
STORAGE_METRICS = ("LambdaCodeStorageBytes", "LambdaCodeStorageLimitPercent")
DAY = 86400
NOW = time.time()


def iso(t):
    """Epoch seconds as ISO 8601 UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def stamp(t):
    """The backup's minute stamp (docs/backup.md): yyyymmddTHHMMZ."""
    return time.strftime("%Y%m%dT%H%MZ", time.gmtime(t))


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def ms_iso(ms):
    """Milliseconds since the epoch as the log search prints them."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


# -- the world ---------------------------------------------------------------


class Fleet:
    """Names of what build_world made; ids and contents come from moto."""

    ENV, ENV_INTERNAL, ENV_STOPPED = "web-prod", "web-internal", "web-stopped"
    ENV_GROUP = "awseb-e-abc123def4-stack-AWSEBAutoScalingGroup-1ABCDEF"
    GROUP = "batch-workers"
    FUNCTION = "orders-api"
    RIDS = ("c0ffee00-1111-2222-3333-444455556666", "deadbeef-0000-4000-8000-000000000002",
            "0badf00d-aaaa-4bbb-8ccc-dddddddddddd")
    NO_LINES_RID = "feedface-9999-4999-8999-999999999999"


def build_world(world):
    """Instances (launch times apart, ties, stopped and terminated ones,
    some without a public address), backups made on earlier days, log
    events of three requests, three functions with versions."""
    eb = {EB_TAG: Fleet.ENV, ASG_TAG: Fleet.ENV_GROUP}
    world.launch({**eb, "Name": "web-a"}, launch_time="2024-05-01T08:00:00Z")
    world.launch({**eb, "Name": "web-b"}, count=2, launch_time="2024-05-01T09:00:00Z")  # a tie
    world.launch({**eb, "Name": "web-c"}, launch_time="2024-05-01T10:00:00Z", public_ip=False)
    world.launch({**eb, "Name": "web-d"}, launch_time="2024-05-01T11:00:00Z")
    world.stop(world.launch({**eb, "Name": "web-old"}, launch_time="2024-04-30T07:00:00Z"))
    world.terminate(world.launch({**eb, "Name": "web-gone"}, launch_time="2024-04-30T06:00:00Z"))
    world.launch({EB_TAG: Fleet.ENV_INTERNAL, "Name": "internal-a"}, public_ip=False)
    world.stop(world.launch({EB_TAG: Fleet.ENV_STOPPED, "Name": "stopped-a"}))
    world.launch({ASG_TAG: Fleet.GROUP, "Name": "batch"}, launch_time="2024-05-02T00:00:00Z")
    world.launch({ASG_TAG: Fleet.GROUP, "Name": "batch"}, launch_time="2024-05-01T00:00:00Z")
    world.stop(world.launch({ASG_TAG: Fleet.GROUP, "Name": "batch"}, launch_time="2024-04-01T00:00:00Z"))

    # The backup's fleet (tests/integration/moto_backup.py has one sharing a
    # Name tag, as Elastic Beanstalk tags them).
    app = world.launch({"Name": "app-1", "backup": "On", "generation": "2"})[0]
    db = world.launch({"Name": "db-1", "backup": "ON", "generation": "1", "backup-reboot": "TRUE"})[0]
    world.stop([db])
    world.launch({"Name": "cache-1", "backup": "off"})
    world.launch({"Name": "misc-1", "Backup": "On"})  # tag keys are case-sensitive
    world.terminate(world.launch({"Name": "gone-1", "backup": "On"}))
    ours = {MANAGED: "true", STACK_TAG: STACK}
    for days in (3, 2, 1):
        t = NOW - days * DAY
        world.image_of(app, f"app-1-{app}-{stamp(t)}", {BACKUP_OF: app, **ours}, created=iso(t))
    world.image_of(db, f"db-1-{db}-{stamp(NOW - DAY)}", {BACKUP_OF: db, **ours}, created=iso(NOW - DAY))
    world.image_of(app, "app-1-by-hand", {"team": "ops"}, created=iso(NOW - 4 * DAY))  # not ours
    # A backup whose image is gone but whose snapshot was left behind.
    left = world.image_of(app, f"app-1-{app}-{stamp(NOW - 5 * DAY)}", {BACKUP_OF: app, **ours}, created=iso(NOW - 5 * DAY))
    world.ec2.deregister_image(ImageId=left)

    start = int((NOW - 3600) * 1000)
    r1, r2, r3 = Fleet.RIDS
    s1, s2 = "2024/05/01/[$LATEST]0123456789abcdef", "2024/05/01/[$LATEST]fedcba9876543210"
    world.log_events(Fleet.FUNCTION, [
        (start, s1, f"START RequestId: {r1} Version: $LATEST\n"),
        (start + 10, s1, f"START RequestId: {r2} Version: 2\n"),
        (start + 20, s1, f"{r1}\tERROR\tboom\nTraceback (most recent call last):\n"),
        (start + 20, s2, f"{r1}\tINFO\tretrying in another stream\n"),
        (start + 30, s1, f"{r2}\tINFO\tok\n"),
        (start + 40, s1, f"END RequestId: {r1}\n"),
        (start + 50, s2, f"START RequestId: {r3} Version: $LATEST\n"),
        (int((NOW - 2 * DAY) * 1000), s2, f"{r1}\tINFO\ta line two days old\n"),
    ])
    world.function(Fleet.FUNCTION, versions=[3000, 4500], latest=5200)
    world.function("report-cron", versions=[2000, 2000])  # a tie within a function
    world.function("tiny", latest=2000)  # and across functions
    return {"app": app, "db": db}


# -- what boto3 reads back ---------------------------------------------------


def all_instances(ec2):
    pages = ec2.get_paginator("describe_instances").paginate()
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def tags_of(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def running(ec2, key, name):
    """The running instances whose tag key is exactly name."""
    return [i for i in all_instances(ec2) if i["State"]["Name"] == "running" and tags_of(i).get(key) == name]


def ordered(instances, field):
    """The documented order (openapi/ebssh.yaml): oldest launch first, ties
    by instance id; instances without the asked address are left out."""
    with_address = [i for i in instances if i.get(field)]
    return sorted(with_address, key=lambda i: (i["LaunchTime"], i["InstanceId"]))


# -- HTTP --------------------------------------------------------------------


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def lines(self):
        return self.body.splitlines()

    def __repr__(self):
        return f"Answer({self.status}, {self.body[:600]!r})"


def call(api, method, path, accept=None):
    headers = {"x-api-key": OPS_KEY if path.startswith(OPS_PREFIXES) else API_KEY}
    if accept:
        headers["Accept"] = accept
    req = urllib.request.Request(api.url + path, method=method, headers=headers,
                                 data=b"" if method == "POST" else None)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=60) as resp:
            return Answer(resp.status, dict(resp.headers), resp.read().decode())
    except urllib.error.HTTPError as e:
        return Answer(e.code, dict(e.headers), e.read().decode())


# -- the shims, through boto3 --------------------------------------------------------


def check_shims(t, ec2, lam, ids):
    """What tests/doubles/moto_shims.py adds behaves as AWS documents it
    (each shim's docstring cites the page)."""
    from botocore.exceptions import ClientError

    world = read_backup_world(ec2)
    ours = [im for im in world["images"] if is_backup_of(im, ids["app"])]
    snaps = {s["SnapshotId"]: s for s in world["snapshots"]}
    t.ok(ours and all(is_backup_of(snaps.get(m["Ebs"]["SnapshotId"], {}), ids["app"]) for im in ours for m in im["BlockDeviceMappings"]),
         "shim: CreateImage tags the snapshots by the snapshot TagSpecification", ours)
    try:
        ec2.create_image(InstanceId=ids["app"], Name=ours[0]["Name"], NoReboot=True)
        code = None
    except ClientError as e:
        code = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
    t.eq(code, ("InvalidAMIName.Duplicate", 400), "shim: CreateImage refuses a name in use")
    snap = ours[0]["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    users = ec2.describe_images(Owners=["self"], Filters=[{"Name": "block-device-mapping.snapshot-id", "Values": [snap, "snap-0000000000000000f"]}])["Images"]
    t.eq([im["ImageId"] for im in users], [ours[0]["ImageId"]], "shim: DescribeImages filters by block-device-mapping.snapshot-id")
    account = ours[0]["OwnerId"]
    other = "111122223333" if account != "111122223333" else "444455556666"
    every = ec2.describe_snapshots()["Snapshots"]
    mine = sorted(s["SnapshotId"] for s in every if s["OwnerId"] == account)
    seen = {o: sorted(s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=[o])["Snapshots"]) for o in ("self", account, other, "amazon")}
    t.eq((seen["self"], seen[account], seen[other], seen["amazon"]), (mine, mine, [], sorted(set(s["SnapshotId"] for s in every) - set(mine))),
         "shim: DescribeSnapshots answers only the asked owners' snapshots")
    t.ok(mine, "the account has snapshots", every)
    rows, _, usage = read_storage(lam)
    settings = lam.get_account_settings()
    t.eq((usage, settings["AccountUsage"]["FunctionCount"]), (sum(r[2] for r in rows), len({r[0] for r in rows})),
         "shim: GetAccountSettings' usage is every version's package, and the function count")


# -- the lookups ----------------------------------------------------------------


def check_lookups(t, ec2, api):
    for route, key, name in (("eb", EB_TAG, Fleet.ENV), ("asg", ASG_TAG, Fleet.ENV_GROUP), ("asg", ASG_TAG, Fleet.GROUP)):
        insts = running(ec2, key, name)
        for address, field in (("public", "PublicIpAddress"), ("private", "PrivateIpAddress")):
            want = ordered(insts, field)
            query = "" if address == "public" else "?address=private"
            a = call(api, "GET", f"/{route}/{name}/ip{query}")
            t.eq((a.status, a.lines()), (200, [i[field] for i in want]),
                 f"/{route}/{name}/ip{query}: the {address} IPs, oldest launch first, ties by id")
            for n, inst in enumerate(want, start=1):
                a = call(api, "GET", f"/{route}/{name}/ip/{n}{query}")
                t.eq((a.status, a.lines()), (200, [inst[field]]), f"/{route}/{name}/ip/{n}{query}: the {n}. of that order")
            a = call(api, "GET", f"/{route}/{name}/ip/{len(want) + 1}{query}")
            t.eq((a.status, (a.json() or {}).get("code")), (404, "NotFound"), f"/{route}/{name}/ip/{len(want) + 1}{query}: n past the end is 404")
    insts = running(ec2, EB_TAG, Fleet.ENV)
    t.ok(len(insts) > len(ordered(insts, "PublicIpAddress")) and len({i["LaunchTime"] for i in insts}) < len(insts),
         "the world has a tie and an instance without a public address in the environment", insts)

    want = ordered(insts, "PublicIpAddress")
    a = call(api, "GET", f"/eb/{Fleet.ENV}/ip", accept="application/json")
    doc = a.json() or {}
    got = [(x.get("index"), x.get("instance_id"), x.get("ip"), x.get("private_ip"), x.get("public_ip")) for x in doc.get("instances", [])]
    t.eq((a.status, doc.get("environment"), doc.get("address"), got),
         (200, Fleet.ENV, "public", [(n, i["InstanceId"], i["PublicIpAddress"], i["PrivateIpAddress"], i["PublicIpAddress"])
                                    for n, i in enumerate(want, start=1)]),
         "/eb/{env}/ip with Accept: application/json: index, id and addresses as EC2 has them")
    t.eq([parse_time(x["launch_time"]) for x in doc.get("instances", [])], [i["LaunchTime"] for i in want],
         "/eb/{env}/ip JSON: launch times as EC2 has them")

    a = call(api, "GET", f"/eb/{Fleet.ENV}/instances")
    doc = a.json() or {}
    every = sorted(insts, key=lambda i: (i["LaunchTime"], i["InstanceId"]))
    got = [(x.get("index"), x.get("instance_id"), x.get("private_ip"), x.get("public_ip"),
            parse_time(x["launch_time"]) if x.get("launch_time") else None, x.get("availability_zone")) for x in doc.get("instances", [])]
    t.eq((a.status, doc.get("environment"), got),
         (200, Fleet.ENV, [(n, i["InstanceId"], i["PrivateIpAddress"], i.get("PublicIpAddress"), i["LaunchTime"],
                            i["Placement"]["AvailabilityZone"]) for n, i in enumerate(every, start=1)]),
         "/eb/{env}/instances: every running instance, with or without a public address")


def check_lookup_errors(t, ec2, api):
    names = {tags_of(i).get(EB_TAG) for i in all_instances(ec2)}
    unknown = "no-such-env"
    t.ok(unknown not in names, "boto3 sees no environment named no-such-env")
    for path in (f"/eb/{unknown}/ip", f"/eb/{unknown}/ip/1", f"/eb/{unknown}/instances"):
        a = call(api, "GET", path)
        t.eq((a.status, (a.json() or {}).get("code")), (404, "NotFound"), f"{path}: an unknown environment is 404")
    stopped = [i for i in all_instances(ec2) if tags_of(i).get(EB_TAG) == Fleet.ENV_STOPPED]
    t.ok(stopped and all(i["State"]["Name"] == "stopped" for i in stopped), "boto3: web-stopped has only stopped instances", stopped)
    a = call(api, "GET", f"/eb/{Fleet.ENV_STOPPED}/ip")
    t.eq((a.status, (a.json() or {}).get("code")), (404, "NotFound"), "/eb/{env}/ip: an environment with no running instance is 404")
    internal = running(ec2, EB_TAG, Fleet.ENV_INTERNAL)
    t.ok(internal and not any(i.get("PublicIpAddress") for i in internal), "boto3: web-internal has no public address", internal)
    a = call(api, "GET", f"/eb/{Fleet.ENV_INTERNAL}/ip")
    t.eq((a.status, (a.json() or {}).get("code")), (404, "NotFound"), "/eb/{env}/ip: no running instance with a public address is 404")
    a = call(api, "GET", f"/eb/{Fleet.ENV_INTERNAL}/ip?address=private")
    t.eq((a.status, a.lines()), (200, [i["PrivateIpAddress"] for i in ordered(internal, "PrivateIpAddress")]),
         "/eb/{env}/ip?address=private: their private addresses")


# -- host keys ---------------------------------------------------------------------


HOSTKEYS_BEGIN = "-----BEGIN SSH HOST KEY KEYS-----"  # cloud-init's block (docs/security.md)
HOSTKEYS_END = "-----END SSH HOST KEY KEYS-----"


def console_keys(text):
    """The (type, key) pairs of cloud-init's host key block in a console, as
    docs/security.md describes the block; [] without one."""
    if HOSTKEYS_BEGIN not in text:
        return []
    block = text.split(HOSTKEYS_BEGIN, 1)[1].split(HOSTKEYS_END, 1)[0]
    return sorted(tuple(line.split()[:2]) for line in block.splitlines() if len(line.split()) >= 2)


def check_hostkeys(t, moto, ec2, api):
    """/eb/{env}/hostkeys/{n} reads the n-th instance's console through
    GetConsoleOutput. The first instance gets a cloud-init boot log
    (tests/fixtures/console); the second keeps moto's fixed kernel log. What
    boto3 reads on each console decides the answer."""
    want = ordered(running(ec2, EB_TAG, Fleet.ENV), "PublicIpAddress")
    t.ok(len(want) >= 2, "boto3: the environment has two running instances with a public address", want)
    with open(os.path.join(ROOT, "tests", "fixtures", "console", "al2023-first-boot.txt"), encoding="utf-8") as f:
        moto.set_console(want[0]["InstanceId"], f.read())
    for n, inst in enumerate(want[:2], start=1):
        # botocore decodes the base64 Output itself (its decode_console_output handler).
        keys = console_keys(ec2.get_console_output(InstanceId=inst["InstanceId"]).get("Output", ""))
        a = call(api, "GET", f"/eb/{Fleet.ENV}/hostkeys/{n}")
        if keys:
            got = sorted(tuple(line.split()[:2]) for line in a.lines())
            t.eq((a.status, got), (200, keys), f"/eb/{{env}}/hostkeys/{n}: the host keys boto3 reads on the console")
        else:
            t.eq((a.status, (a.json() or {}).get("code")), (404, "NoHostKeys"),
                 f"/eb/{{env}}/hostkeys/{n}: a console without cloud-init's host keys (as boto3 reads it) is 404 NoHostKeys")
    t.ok(n == 2 and console_keys(ec2.get_console_output(InstanceId=want[0]["InstanceId"])["Output"]),
         "the first instance's console holds keys, so both answers were checked", want[:2])


# -- log search --------------------------------------------------------------------


def read_logs(logs, function, rid, start_ms, end_ms):
    """boto3's FilterLogEvents with the request id quoted, every page,
    ordered by timestamp then event id (docs/logsearch.md)."""
    events = []
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=f"/aws/lambda/{function}", filterPattern=f'"{rid}"', startTime=start_ms, endTime=end_ms)
    for page in pages:
        events += page["events"]
    return sorted(events, key=lambda e: (e["timestamp"], e["eventId"]))


def text_line(ev):
    message = ev["message"][:-1] if ev["message"].endswith("\n") else ev["message"]
    message = message.replace("\r", "\\r").replace("\n", "\\n")
    return f"{ms_iso(ev['timestamp'])}\t{ev['logStreamName']}\t{message}"


def check_logs(t, logs, api):
    r1, r2, r3 = Fleet.RIDS
    start, end = NOW - 2 * 3600, NOW + 60
    window = f"?start={iso(start)}&end={iso(end)}"
    for rid in (r1, r2, r3):
        want = read_logs(logs, Fleet.FUNCTION, rid, int(start) * 1000, int(end) * 1000)
        a = call(api, "GET", f"/logs/{Fleet.FUNCTION}/{rid}{window}")
        t.eq((a.status, a.lines()), (200, [text_line(e) for e in want]), f"/logs/{{fn}}/{rid[:8]}...: the request's lines, as FilterLogEvents reads them")
    want = read_logs(logs, Fleet.FUNCTION, r1, int(start) * 1000, int(end) * 1000)
    a = call(api, "GET", f"/logs/{Fleet.FUNCTION}/{r1}{window}", accept="application/json")
    doc = a.json() or {}
    t.eq((a.status, doc.get("log_group"), [(e.get("timestamp"), e.get("timestamp_ms"), e.get("stream"), e.get("message"), e.get("event_id"))
                                           for e in doc.get("events", [])]),
         (200, f"/aws/lambda/{Fleet.FUNCTION}", [(ms_iso(e["timestamp"]), e["timestamp"], e["logStreamName"], e["message"], e["eventId"])
                                                 for e in want]),
         "/logs/{fn}/{rid} JSON: every event with its stream, message and event id")
    t.ok(len({e["logStreamName"] for e in want}) == 2, "the request logged in two streams", want)

    # The default window is the 24 h before now: the two-day-old line is out.
    before = time.time()
    a = call(api, "GET", f"/logs/{Fleet.FUNCTION}/{r1}")
    want = read_logs(logs, Fleet.FUNCTION, r1, int((before - DAY) * 1000), int(time.time() * 1000))
    everything = read_logs(logs, Fleet.FUNCTION, r1, 0, int(time.time() * 1000))
    t.eq((a.status, a.lines()), (200, [text_line(e) for e in want]), "/logs/{fn}/{rid}: the default window, the last 24 h")
    t.ok(len(everything) > len(want), "a line of the request is older than the window", everything)

    a = call(api, "GET", f"/logs/{Fleet.FUNCTION}/{Fleet.NO_LINES_RID}")
    t.ok(not read_logs(logs, Fleet.FUNCTION, Fleet.NO_LINES_RID, 0, int(time.time() * 1000)), "boto3: no line of that request id")
    t.eq((a.status, (a.json() or {}).get("code")), (404, "NotFound"), "/logs/{fn}/{rid}: a request with no lines is 404")
    missing = "no-such-function"
    try:
        logs.filter_log_events(logGroupName=f"/aws/lambda/{missing}")
        code = None
    except logs.exceptions.ResourceNotFoundException as e:
        code = e.response["Error"]["Code"]
    a = call(api, "GET", f"/logs/{missing}/{r1}")
    t.eq((code, a.status, (a.json() or {}).get("code")), ("ResourceNotFoundException", 404, "NotFound"),
         "/logs/{fn}/{rid}: no log group (boto3: ResourceNotFoundException) is 404")


# -- Lambda storage ------------------------------------------------------------------


def read_storage(lam):
    """(rows, limit, account usage) from boto3: every function and every
    version (ListVersionsByFunction includes $LATEST), biggest first, ties
    by function, then $LATEST before numbered versions in numeric order."""
    rows = []
    for page in lam.get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            for vpage in lam.get_paginator("list_versions_by_function").paginate(FunctionName=fn["FunctionName"]):
                rows += [(fn["FunctionName"], v["Version"], v["CodeSize"]) for v in vpage["Versions"]]

    def version_key(v):
        return (0, 0) if v == "$LATEST" else (1, int(v))

    rows.sort(key=lambda r: (-r[2], r[0], version_key(r[1])))
    settings = lam.get_account_settings()
    return rows, settings["AccountLimit"]["TotalCodeSize"], settings["AccountUsage"]["TotalCodeSize"]


def check_storage(t, lam, api, region):
    rows, limit, usage = read_storage(lam)
    total = sum(r[2] for r in rows)
    a = call(api, "GET", "/lambda/storage")
    doc = a.json() or {}
    got = [(v.get("function"), v.get("version"), v.get("code_size")) for v in doc.get("versions", [])]
    t.eq((a.status, got), (200, rows), "/lambda/storage: every function and version, biggest first, ties by function then version")
    t.ok(len({r[2] for r in rows}) < len(rows), "the world has ties in code size", rows)
    t.eq((doc.get("total_bytes"), doc.get("limit_bytes"), doc.get("account_usage_bytes"), doc.get("functions"), doc.get("region")),
         (total, limit, usage, len({r[0] for r in rows}), region),
         "/lambda/storage: total, GetAccountSettings' limit and usage, function count")
    t.eq(doc.get("percent_of_limit"), round(total * 100 / limit, 3), "/lambda/storage: the share of the limit")


# -- the AMI backup ------------------------------------------------------------------


def read_backup_world(ec2):
    images = [im for page in ec2.get_paginator("describe_images").paginate(Owners=["self"]) for im in page["Images"]]
    snaps = [s for page in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"]) for s in page["Snapshots"]]
    return {"instances": all_instances(ec2), "images": images, "snapshots": snaps}


def is_backup_of(resource, instance_id):
    tags = tags_of(resource)
    return tags.get(BACKUP_OF) == instance_id and tags.get(MANAGED) == "true" and tags.get(STACK_TAG) == STACK


def is_rotatable(im, instance_id):
    """docs/backup.md: the three tags and a name <anything>-<instance>-<yyyymmddTHHMMZ>."""
    return is_backup_of(im, instance_id) and re.fullmatch(r".+-" + re.escape(instance_id) + r"-\d{8}T\d{4}Z", im.get("Name", "")) is not None


def expected_backup(world, run_time, dry_run, tag_key="backup", on_demand=True):
    """The report docs/backup.md says a run at run_time makes of the world
    boto3 read before it. image_created is "?" where the run makes a new
    image (its id is known only from the answer); kept lists it as "?"."""
    live = [im for im in world["images"] if im.get("State") != "deregistered"]
    out = []
    marked = [i for i in world["instances"]
              if tags_of(i).get(tag_key, "").lower() == "on" and i["State"]["Name"] in ("running", "stopped")]
    for inst in sorted(marked, key=lambda i: i["InstanceId"]):
        iid, tags = inst["InstanceId"], tags_of(inst)
        name = f"{tags.get('Name') or 'backup'}-{iid}-{stamp(run_time)}"
        generation = int(tags.get("generation", "3"))
        backups = [im for im in live if is_rotatable(im, iid)]
        no_reboot = on_demand or tags.get("backup-reboot", "").lower() != "true"
        made = [parse_time(im["CreationDate"]).timestamp() for im in backups if im["State"] != "failed"]
        if on_demand and made and run_time - max(made) < MIN_INTERVAL:
            newest = max((im for im in backups if im["State"] != "failed"), key=lambda im: parse_time(im["CreationDate"]))
            out.append({
                "instance_id": iid, "image_name": name, "image_created": None, "image_state": None, "already_existed": False,
                "generation": generation, "no_reboot": no_reboot, "kept": [], "deregistered": [], "snapshots_deleted": [],
                "snapshots_in_use": [], "errors": [], "skipped": "min-interval", "newest_backup": newest["ImageId"],
                "next_allowed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(parse_time(newest["CreationDate"]).timestamp()) + MIN_INTERVAL)),
                "message": "an on-demand backup within the minimum interval since the instance's newest backup: no image made, nothing rotated",
            })
            continue
        this = [im for im in backups if im["Name"] == name]
        image_id = this[0]["ImageId"] if this else (None if dry_run else "?")
        # moto makes images available at once; a dry run's new image would be pending
        state = this[0]["State"] if this else (None if dry_run else "available")
        others = [im for im in backups if im["ImageId"] != image_id]
        # newest first by creationDate, ties by image id (newest id first)
        others.sort(key=lambda im: (parse_time(im["CreationDate"]), im["ImageId"]), reverse=True)
        kept = [image_id] if image_id else []
        slots, drop = (1 if state == "available" else 0), []
        for im in others:
            if im["State"] == "available":
                if slots < generation:
                    kept.append(im["ImageId"])
                    slots += 1
                else:
                    drop.append(im)
            elif im["State"] in ("failed", "invalid", "error"):
                drop.append(im)
            else:
                kept.append(im["ImageId"])
        drop.reverse()  # deregistered oldest first
        gone = {im["ImageId"] for im in drop}
        deleted = []
        for im in drop:
            for m in im["BlockDeviceMappings"]:
                snap = m.get("Ebs", {}).get("SnapshotId")
                users = [u for u in live if u["ImageId"] not in gone and u["ImageId"] != im["ImageId"]
                         and any(x.get("Ebs", {}).get("SnapshotId") == snap for x in u["BlockDeviceMappings"])]
                if snap and not users and snap not in deleted:
                    deleted.append(snap)
        # snapshots left behind: ours, made by CreateImage of this instance
        # for an image that is gone, mapped by no live image, over an hour old
        live_ids = {im["ImageId"] for im in live} - gone
        mapped = {x.get("Ebs", {}).get("SnapshotId") for im in live if im["ImageId"] not in gone for x in im["BlockDeviceMappings"]}
        prefix = f"Created by CreateImage({iid}) for "
        for s in world["snapshots"]:
            source = s.get("Description", "")[len(prefix):].split(" ")[0] if s.get("Description", "").startswith(prefix) else None
            if (is_backup_of(s, iid) and source and source not in live_ids and s["SnapshotId"] not in mapped
                    and s["SnapshotId"] not in deleted and s["StartTime"].timestamp() < run_time - 3600):
                deleted.append(s["SnapshotId"])
        out.append({
            "instance_id": iid, "image_name": name, "image_created": image_id, "image_state": state if image_id else None,
            "already_existed": bool(this), "generation": generation, "no_reboot": no_reboot,
            "kept": kept, "deregistered": [im["ImageId"] for im in drop], "snapshots_deleted": deleted,
            "snapshots_in_use": [], "errors": [],
        })
    return {"dry_run": dry_run, "time": stamp(run_time), "tag_key": tag_key, "failed": 0, "instances": out}


def fill_new_images(expected, answer):
    """Puts the ids of the images the run made (from its answer) where the
    expectation has "?"."""
    made = {i["instance_id"]: i.get("image_created") for i in (answer or {}).get("instances", [])}
    for inst in expected["instances"]:
        if inst["image_created"] == "?":
            inst["image_created"] = made.get(inst["instance_id"])
            inst["kept"] = [made.get(inst["instance_id"]) if k == "?" else k for k in inst["kept"]]
    return expected


def image_ids(world):
    return sorted(im["ImageId"] for im in world["images"])


def snapshot_ids(world):
    return sorted(s["SnapshotId"] for s in world["snapshots"])


def check_backup_landed(t, ec2, before, answer, what):
    """After a real run, moto holds what the answer says: the new images
    (named, tagged, snapshots tagged), nothing deregistered or deleted is
    left, and every other image and snapshot is still there."""
    after = read_backup_world(ec2)
    by_id = {im["ImageId"]: im for im in after["images"]}
    snaps = {s["SnapshotId"]: s for s in after["snapshots"]}
    for inst in answer["instances"]:
        im = by_id.get(inst["image_created"])
        ok = bool(im) and im["Name"] == inst["image_name"] and is_backup_of(im, inst["instance_id"]) and all(
            is_backup_of(snaps.get(m["Ebs"]["SnapshotId"], {}), inst["instance_id"]) for m in im["BlockDeviceMappings"])
        t.ok(ok, f"{what}: {inst['instance_id']}'s image is in EC2, named and tagged, its snapshots tagged", im)
    gone_images = {i for inst in answer["instances"] for i in inst["deregistered"]}
    gone_snaps = {s for inst in answer["instances"] for s in inst["snapshots_deleted"]}
    made = {inst["image_created"] for inst in answer["instances"]}
    t.eq(image_ids(after), sorted((set(image_ids(before)) - gone_images) | made), f"{what}: EC2's images are the ones before, less the deregistered, plus the new")
    new_snaps = {m["Ebs"]["SnapshotId"] for i in made if i in by_id for m in by_id[i]["BlockDeviceMappings"]}
    t.eq(snapshot_ids(after), sorted((set(snapshot_ids(before)) - gone_snaps) | new_snaps), f"{what}: EC2's snapshots are the ones before, less the deleted, plus the new")
    return after


def backup_call(api, dry_run):
    sent = time.time()
    a = call(api, "POST", "/backup/ami" + ("?dry_run=true" if dry_run else ""))
    return a, sent, time.time()


def run_time_of(answer, sent, received):
    """The run's time: the minute the answer names, which must fall between
    sending and receiving (the route uses its own clock)."""
    doc = answer.json() or {}
    for t in (sent, received):
        if stamp(t) == doc.get("time"):
            return t
    return None


def check_backup(t, ec2, world_obj, api, ids):
    before = read_backup_world(ec2)
    marked = [i for i in before["instances"] if tags_of(i).get("backup", "").lower() == "on" and i["State"]["Name"] in ("running", "stopped")]
    t.eq(sorted(i["InstanceId"] for i in marked), sorted(ids.values()), "boto3: app-1 and db-1 are the marked, running or stopped, instances")

    a, sent, received = backup_call(api, dry_run=True)
    run_time = run_time_of(a, sent, received)
    t.ok(run_time is not None, "dry run: the answer's time is the minute of the request", a)
    want = expected_backup(before, run_time or sent, dry_run=True)
    t.eq((a.status, a.json()), (200, want), "POST /backup/ami?dry_run=true: the plan docs/backup.md makes of boto3's reading")
    plan = a.json() or {}
    t.ok(any(i["deregistered"] for i in plan.get("instances", [])) and any(i["snapshots_deleted"] for i in plan.get("instances", [])),
         "dry run: the plan rotates images and deletes snapshots (the world has enough backups)", plan)
    after = read_backup_world(ec2)
    t.eq((image_ids(after), snapshot_ids(after)), (image_ids(before), snapshot_ids(before)), "dry run: nothing changed in EC2")

    a, sent, received = backup_call(api, dry_run=False)
    run_time = run_time_of(a, sent, received)
    want = fill_new_images(expected_backup(before, run_time or sent, dry_run=False), a.json())
    t.eq((a.status, a.json()), (200, want), "POST /backup/ami: the run docs/backup.md makes of boto3's reading")
    t.ok(all(i["image_created"] and not i["already_existed"] for i in (a.json() or {}).get("instances", [])),
         "the run made a new image of every marked instance", a)
    first = a.json() or {"instances": []}
    before = check_backup_landed(t, ec2, before, first, "the run")
    golden = world_obj.base_image()
    t.ok(golden in image_ids(before) and any(im["Name"] == "app-1-by-hand" for im in before["images"]),
         "the images the backup did not make are untouched", image_ids(before))

    # A second on-demand run within the hour, after app-1's generation went
    # down to 1: the minimum interval holds it, nothing is made or rotated.
    world_obj.tag([ids["app"]], {"generation": "1"})
    before = read_backup_world(ec2)
    a, sent, received = backup_call(api, dry_run=False)
    run_time = run_time_of(a, sent, received)
    want = fill_new_images(expected_backup(before, run_time or sent, dry_run=False), a.json())
    t.eq((a.status, a.json()), (200, want), "POST /backup/ami again: the minimum interval docs/backup.md describes")
    t.ok(all(i.get("skipped") == "min-interval" and not i["deregistered"] for i in (a.json() or {}).get("instances", [])),
         "the second on-demand run within the hour: skipped, nothing rotated", a)
    after = read_backup_world(ec2)
    t.eq((image_ids(after), snapshot_ids(after)), (image_ids(before), snapshot_ids(before)), "the second run changed nothing in EC2")


# -- the scheduled events through build/bootstrap ---------------------------------


def scheduled_event(rule, when):
    """An EventBridge scheduled event, in the shape EventBridge documents
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html)."""
    return {
        "version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": iso(when), "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{rule}"], "detail": {},
    }


class Bootstrap:
    """build/bootstrap under the Runtime API double; invoke() queues one
    event and waits for its answer (or error)."""

    def __init__(self, env):
        self.rt = RuntimeApi()
        self.log = tempfile.TemporaryFile()
        env = dict(env, AWS_LAMBDA_RUNTIME_API=self.rt.address, AWS_LAMBDA_FUNCTION_NAME="ebssh")
        self.proc = subprocess.Popen([os.path.join(BUILD, "bootstrap")], env=env, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        self.count = 0

    def invoke(self, event, timeout=60):
        rid = self.rt.enqueue({"event": event})[0]
        self.count += 1
        res = self.rt.wait(self.count, timeout)
        entries = [e for e in res.get("invocations", []) if e["request_id"] == rid]
        return entries[-1] if entries else None

    def close(self):
        """Stops it as Lambda does (/next answers 500); its exit status and output."""
        self.rt.shutdown()
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            rc = stop_process(self.proc, sig=signal.SIGKILL)
        self.rt.close()
        self.log.seek(0)
        return rc, self.log.read().decode("utf-8", "replace")


def check_schedules(t, moto, ec2, lam, cloudwatch, env):
    boot = Bootstrap(env)
    try:
        # The backup schedule at 03:30 tomorrow (a time of its own); EC2's
        # clock stands there too, so its images are the newest.
        when = (int(NOW // DAY) + 1) * DAY + 3 * 3600 + 30 * 60
        before = read_backup_world(ec2)
        moto.set_clock(iso(when))
        try:
            entry = boot.invoke(scheduled_event("ebssh-prod-ami-backup", when))
        finally:
            moto.set_clock(None)
        doc = json.loads(entry["body"]) if entry and entry.get("kind") == "response" else None
        want = fill_new_images(expected_backup(before, when, dry_run=False, on_demand=False), doc)
        t.eq(doc, want, "schedule ebssh-prod-ami-backup: the run at the event's time that docs/backup.md makes of boto3's reading")
        if doc:
            after = check_backup_landed(t, ec2, before, doc, "the scheduled backup")
            named = {im["Name"] for im in after["images"]}
            t.ok(all(i["image_name"] in named and i["image_name"].endswith(stamp(when)) for i in doc["instances"]),
                 "the scheduled backup's images are named by the event's time", sorted(named))

        rows, limit, _ = read_storage(lam)
        total = sum(r[2] for r in rows)
        put_from = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
        entry = boot.invoke(scheduled_event("ebssh-prod-lambda-storage", time.time()))
        t.ok((entry or {}).get("kind") == "response", "schedule ebssh-prod-lambda-storage: answered", entry)
        names = sorted(m["MetricName"] for m in cloudwatch.list_metrics(Namespace=STORAGE_NAMESPACE)["Metrics"])
        t.eq(names, sorted(STORAGE_METRICS), "the storage metrics are in CloudWatch (ListMetrics)")
        queries = [{"Id": f"m{n}", "MetricStat": {"Metric": {"Namespace": STORAGE_NAMESPACE, "MetricName": name},
                                                   "Period": 60, "Stat": "Maximum"}} for n, name in enumerate(STORAGE_METRICS)]
        data = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=put_from,
                                          EndTime=put_from + datetime.timedelta(minutes=10))["MetricDataResults"]
        values = {d["Id"]: d["Values"] for d in data}
        t.eq(values.get("m0"), [float(total)], "LambdaCodeStorageBytes (GetMetricData) is the total boto3 reads from Lambda")
        percent = values.get("m1") or [None]
        t.ok(len(percent) == 1 and percent[0] is not None and abs(percent[0] - total * 100 / limit) < 1e-9,
             "LambdaCodeStorageLimitPercent is that total's share of GetAccountSettings' limit", (percent, total, limit))
    finally:
        rc, output = boot.close()
    t.eq(rc, 1, "bootstrap exits (status 1, as documented) once /next answers 500")
    t.ok(sanitizer_clean(output), "bootstrap: no sanitizer report", output[-3000:])


# -- the call log ---------------------------------------------------------------------


def check_call_log(t, directory):
    """The launcher noted what the code under test called, and only that."""
    lines = []
    for name in sorted(os.listdir(directory)):
        if name.startswith("moto-") and name.endswith(".jsonl"):
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                lines += [json.loads(line) for line in f if line.strip()]
    suite = os.environ.get("EBSSH_SUITE", "")
    mine = [x for x in lines if x.get("suite") == suite]
    seen = {(x["service"], x["action"]) for x in mine if x.get("status") == 200}
    for want in (("ec2", "DescribeInstances"), ("ec2", "CreateImage"), ("ec2", "DeregisterImage"), ("ec2", "DeleteSnapshot"),
                 ("logs", "FilterLogEvents"), ("lambda", "ListVersionsByFunction"), ("lambda", "GetAccountSettings"),
                 ("monitoring", "PutMetricData")):
        t.ok(want in seen, f"call log: {want[0]} {want[1]} answered 200", sorted(seen))
    t.ok(all(set(x) == {"double", "suite", "service", "action", "status", "user_agent"} and x["double"] == "moto" for x in mine),
         "call log: every line has the shared format", mine[:3])
    t.ok(mine and all(x["user_agent"].startswith("ebssh/") for x in mine),
         "call log: every call logged is the code's (its User-Agent)", sorted({x["user_agent"] for x in mine}))
    harness_only = {("ec2", "RunInstances"), ("iam", "CreateRole"), ("lambda", "CreateFunction"), ("logs", "PutLogEvents")}
    t.eq(sorted(harness_only & {(x["service"], x["action"]) for x in mine}), [], "call log: the test's own boto3 calls are not in it")


def main():
    t = Tap()
    began = time.monotonic()
    own_log = None
    if not os.environ.get("EBSSH_CALL_LOG"):
        own_log = tempfile.mkdtemp(prefix="ebssh-call-log-")
        os.environ["EBSSH_CALL_LOG"] = own_log
    home = tempfile.mkdtemp(prefix="ebssh-moto-home-")
    with MotoAws() as moto:
        world = World(moto)
        ids = build_world(world)
        ec2, lam = moto.client("ec2"), moto.client("lambda")
        diag(f"moto started and the world built in {time.monotonic() - began:.1f} s")
        t.run(check_shims, ec2, lam, ids)
        # LOGSEARCH_FUNCTIONS (issue 15): the fleet's function and the one that never logged.
        env = moto.client_env(HOME=home, EBSSH_AWS_RETRY_BASE_MS="20", EBSSH_AWS_TIMEOUT_MS="10000",
                              LOGSEARCH_FUNCTIONS=f"{Fleet.FUNCTION},no-such-function")
        api = ApiServer(["--listen", "127.0.0.1:0", "--threads", "2", "--api-key", API_KEY],
                        dict(env, EBSSH_OPS_API_KEY=OPS_KEY))
        try:
            t.run(check_lookups, ec2, api)
            t.run(check_lookup_errors, ec2, api)
            t.run(check_hostkeys, moto, ec2, api)
            t.run(check_logs, moto.client("logs"), api)
            t.run(check_storage, lam, api, moto.region)
            t.run(check_backup, ec2, world, api, ids)
        finally:
            rc = api.stop()
        t.eq(rc, 0, "ebssh-api stopped cleanly")
        t.ok(sanitizer_clean(api.stderr()), "ebssh-api: no sanitizer report", api.stderr()[-3000:])
        t.run(check_schedules, moto, ec2, lam, moto.client("cloudwatch"), env)
    t.run(check_call_log, os.environ["EBSSH_CALL_LOG"])
    diag(f"moto cross-check took {time.monotonic() - began:.1f} s")
    if own_log:
        for name in os.listdir(own_log):
            os.unlink(os.path.join(own_log, name))
        os.rmdir(own_log)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
