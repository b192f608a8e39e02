#!/usr/bin/python3
"""The AMI backup route end to end: build/tests/backup_run (routes_backup_run,
router_handle, routes_backup_scheduled) against the AWS double with
tests/doubles/fixtures/backup.json, the injected clock advanced a day per
run. Rotation with generation 1, 2 and 3, multi-volume images, a snapshot
shared by two images, retried and dry runs, failures injected halfway,
throttling, InvalidSnapshot.InUse after deregistration, EC2's eventual
consistency, snapshots left behind, names, tags and the answer's shape.
"""

import calendar
import copy
import json
import os
import subprocess
import sys
import time

ROOT = os.environ.get("EBSSH_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

from harness import SESSION, AwsDouble  # noqa: E402
from tap import Tap  # noqa: E402

BUILD = os.environ["EBSSH_BUILD"]
DRIVER = os.path.join(BUILD, "tests", "backup_run")
FIXTURE_PATH = os.path.join(ROOT, "tests", "doubles", "fixtures", "backup.json")
with open(FIXTURE_PATH, encoding="utf-8") as _f:
    FIXTURE = json.load(_f)
WEB, DB, NONAME = "i-0b0000000000000a1", "i-0b0000000000000a2", "i-0b0000000000000a3"
BACKED_UP = {WEB: ("web-1", 3, 1), DB: ("db-1", 2, 3), NONAME: ("backup", 1, 2)}  # name part, generation, volumes
STACK = "ebssh-test"
MINE = {WEB: {"ebssh:backup-of": WEB, "ebssh:managed": "true", "ebssh:stack": STACK}}
NOT_BACKED_UP = ["i-0b0000000000000a4", "i-0b0000000000000a5", "i-0b0000000000000a6", "i-0b0000000000000a8"]
DAY = 86400
T0 = calendar.timegm((2024, 5, 1, 9, 30, 0))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def stamp(t):
    return time.strftime("%Y%m%dT%H%MZ", time.gmtime(t))


def iname(inst, t, base=None):
    """The image name docs/backup.md gives inst's backup at t."""
    return f"{base or BACKED_UP[inst][0]}-{inst}-{stamp(t)}"


def driver_env(aws, **extra):
    env = aws.client_env(SESSION)
    env.update({"EBSSH_AWS_RETRY_BASE_MS": "10", "EBSSH_AWS_TIMEOUT_MS": "5000", "HOME": "/nonexistent"})
    env.pop("BACKUP_TAG_KEY", None)
    env.pop("BACKUP_MIN_INTERVAL", None)
    env["EBSSH_STACK_NAME"] = STACK
    env.update(extra)
    return env


def run(aws, now=None, *args, env=None, clock=True):
    """One backup at the injected time now (the double's clock in step);
    (status, answer dict or raw text, stderr)."""
    argv = [DRIVER]
    if now is not None:
        argv += ["--now", str(now)]
        if clock:
            aws.config(clock=now)
    argv += ["--retry-ms", "5", *args]
    return _exec(aws, argv, env)


def _exec(aws, argv, env=None):
    proc = subprocess.run(argv, env=driver_env(aws, **(env or {})), capture_output=True, text=True, timeout=300)
    head, _, body = proc.stdout.partition("\n")
    try:
        status = int(head)
    except ValueError:
        return None, proc.stdout, proc.stderr
    try:
        return status, json.loads(body), proc.stderr
    except ValueError:
        return status, body, proc.stderr


def by_instance(answer):
    return {i["instance_id"]: i for i in answer["instances"]} if isinstance(answer, dict) else {}


def managed_of(view, inst):
    """Live images tagged as inst's backups, oldest first."""
    out = []
    for im in view["images"]:
        tags = {t["Key"]: t["Value"] for t in im["Tags"]}
        if im["State"] != "deregistered" and tags.get("ebssh:backup-of") == inst and tags.get("ebssh:managed") == "true" and tags.get("ebssh:stack") == STACK:
            out.append(im)
    return sorted(out, key=lambda im: im["CreationDate"])


def orphans(view):
    """Live snapshots whose every image is deregistered (or that no image ever
    mapped but were made by CreateImage)."""
    live_maps, any_maps = set(), set()
    for im in view["images"]:
        for d in im["BlockDeviceMappings"]:
            any_maps.add(d["Ebs"]["SnapshotId"])
            if im["State"] != "deregistered":
                live_maps.add(d["Ebs"]["SnapshotId"])
    return sorted(s["SnapshotId"] for s in view["snapshots"] if not s["Deleted"] and s["SnapshotId"] in any_maps and s["SnapshotId"] not in live_maps)


def missing_snapshots(view):
    """Snapshots a live image maps that are deleted: a broken backup."""
    deleted = {s["SnapshotId"] for s in view["snapshots"] if s["Deleted"]}
    return sorted({d["Ebs"]["SnapshotId"] for im in view["images"] if im["State"] != "deregistered" for d in im["BlockDeviceMappings"]} & deleted)


def fixture_with(changes):
    """The backup fixture with instance tags changed: {id: {tag: value or None}}."""
    fx = copy.deepcopy(FIXTURE)
    for inst in fx["instances"]:
        for k, v in changes.get(inst["id"], {}).items():
            if v is None:
                inst["tags"].pop(k, None)
            else:
                inst["tags"][k] = v
    return fx


def fresh(aws, fixture=None, **config):
    aws.reset()
    if fixture is not None:
        aws.set_fixture(fixture)
    aws.config(image_pending_describes=1, **config)


def main():
    t = Tap()
    if not os.access(DRIVER, os.X_OK):
        t.ok(False, f"driver {DRIVER} built")
        return t.done()
    with AwsDouble(fixture=FIXTURE_PATH) as aws:
        for case in (
            rotation_over_runs,
            retried_run_creates_nothing,
            dry_run_changes_nothing,
            shared_snapshot_survives,
            failure_halfway_deregister,
            failure_halfway_delete_snapshot,
            failure_on_create_image,
            throttling,
            inuse_after_deregister,
            eventual_consistency,
            left_behind_snapshots,
            names_tags_and_keys,
            bad_generation_and_foreign_duplicate,
            router_and_schedule,
            one_instance,
            reboots_on_demand,
            eb_fleet_shared_name,
            pending_then_failed,
            copies_and_other_stacks,
            disabled_image_holds_snapshot,
            on_demand_interval,
        ):
            fresh(aws)
            t.run(case, aws)
    return t.done()


# -- the cases ---------------------------------------------------------------------


def rotation_over_runs(t, aws):
    aws.config(page_size=2)  # every list call pages
    created = {i: [] for i in BACKED_UP}
    all_ok = True
    for n in range(5):
        now = T0 + n * DAY
        status, ans, err = run(aws, now)
        res = by_instance(ans)
        all_ok &= status == 200 and sorted(res) == sorted(BACKED_UP)
        view = aws.images()
        for inst, (name, gen, vols) in BACKED_UP.items():
            r = res.get(inst, {})
            created[inst].append(r.get("image_created"))
            live = managed_of(view, inst)
            want = created[inst][-gen:]
            if [im["ImageId"] for im in live] != want:
                all_ok = False
                t.ok(False, f"run {n + 1}: {inst} keeps the newest {gen}", f"live {[im['Name'] for im in live]}\nwant {want}\n{err}")
            dropped = created[inst][-gen - 1] if n >= gen else None
            if r.get("deregistered") != ([dropped] if dropped else []) or r.get("kept") != list(reversed(want)) or r.get("errors") != []:
                all_ok = False
                t.ok(False, f"run {n + 1}: {inst} answer", json.dumps(r))
            if not all(len(im["BlockDeviceMappings"]) == vols for im in live):
                all_ok = False
        if orphans(view) or missing_snapshots(view):
            all_ok = False
            t.ok(False, f"run {n + 1}: no orphan, no missing snapshot", f"{orphans(view)} {missing_snapshots(view)}")
    t.ok(all_ok, "5 daily runs: generation 3, 2 and 1 keep exactly their newest images, answers list what was kept and dropped")
    view = aws.images()
    t.eq([im["Name"] for im in managed_of(view, WEB)], [iname(WEB, T0 + d * DAY) for d in (2, 3, 4)], "web-1 (generation 3): the last three days' images, by name")
    t.eq([im["Name"] for im in managed_of(view, DB)], [iname(DB, T0 + d * DAY) for d in (3, 4)], "db-1 (generation 2): the last two")
    t.eq([im["Name"] for im in managed_of(view, NONAME)], [f"backup-{NONAME}-20240505T0930Z"], "no Name tag (generation 1): named backup-<instance id>-<time>, one kept")
    t.eq([len(im["BlockDeviceMappings"]) for im in managed_of(view, DB)], [3, 3], "db-1's images map its three volumes")
    live_snaps = sorted(s["SnapshotId"] for s in view["snapshots"] if not s["Deleted"])
    want_snaps = sorted(d["Ebs"]["SnapshotId"] for i in BACKED_UP for im in managed_of(view, i) for d in im["BlockDeviceMappings"])
    t.eq(live_snaps, want_snaps, "exactly the kept images' snapshots remain (3 + 2x3 + 2)")
    t.eq(len(live_snaps), 3 + 6 + 2, "11 live snapshots")
    dereg = [im["ImageId"] for im in view["images"] if im["State"] == "deregistered"]
    t.eq(len(dereg), (5 - 3) + (5 - 2) + (5 - 1), "9 images deregistered in all")
    t.eq({i["SourceInstanceId"] for i in view["images"]}, set(BACKED_UP), "no image of an instance without backup = On")
    reboot = {im["SourceInstanceId"]: im["NoReboot"] for im in view["images"]}
    t.eq(reboot, {WEB: True, DB: False, NONAME: True}, "NoReboot unless backup-reboot = true")
    tags = {(t_["Key"], t_["Value"]) for s in view["snapshots"] if s["SnapshotId"] in live_snaps for t_ in s["Tags"]}
    t.ok({("ebssh:managed", "true"), ("ebssh:backup-of", DB)} <= tags, "snapshots carry ebssh:backup-of and ebssh:managed", tags)


def retried_run_creates_nothing(t, aws):
    for n in range(3):
        run(aws, T0 + n * DAY)
    before = aws.images()
    aws.clear_requests()
    status, ans, _ = run(aws, T0 + 2 * DAY)
    after = aws.images()
    res = by_instance(ans)
    t.eq(status, 200, "the same run again answers 200")
    t.eq(len(after["images"]), len(before["images"]), "and makes no image")
    t.eq(after, before, "nor changes anything")
    t.ok(all(r["already_existed"] and r["image_created"] == managed_of(after, i)[-1]["ImageId"] for i, r in res.items()), "each instance: already_existed, image_created is the earlier attempt's image", json.dumps(ans))
    t.ok(all(r["deregistered"] == [] and r["snapshots_deleted"] == [] for r in res.values()), "nothing rotated twice")
    creates = [r for r in aws.requests() if r["action"] == "CreateImage"]
    t.eq([r["status"] for r in creates], [400, 400, 400], "CreateImage answered InvalidAMIName.Duplicate for each")


def dry_run_changes_nothing(t, aws):
    for n in range(3):
        run(aws, T0 + n * DAY)
    before = aws.images()
    aws.clear_requests()
    status, plan, _ = run(aws, T0 + 3 * DAY, "--dry-run")
    t.eq(status, 200, "dry run answers 200")
    t.eq(plan.get("dry_run"), True, "and says it was dry")
    t.eq(aws.images(), before, "a dry run changes nothing in EC2")
    actions = sorted({r["action"] for r in aws.requests()})
    t.eq(actions, ["DescribeImages", "DescribeInstances", "DescribeSnapshots"], "it only describes")
    p = by_instance(plan)
    t.ok(all(r["image_created"] is None and not r["already_existed"] for r in p.values()), "image_created null: would create")
    status, real, _ = run(aws, T0 + 3 * DAY, "--wait-ms", "-1")  # its image still pending, as the plan assumes
    r = by_instance(real)
    t.eq({i: (x["deregistered"], sorted(x["snapshots_deleted"])) for i, x in p.items()}, {i: (x["deregistered"], sorted(x["snapshots_deleted"])) for i, x in r.items()}, "the plan is what the real run then did")
    t.eq({i: x["kept"] for i, x in p.items()}, {i: x["kept"][1:] for i, x in r.items()}, "the plan keeps the same older images beside the new one (pending: it pushes nothing out)")
    status, again, _ = run(aws, T0 + 3 * DAY, "--dry-run")
    t.ok(all(x["already_existed"] and x["image_created"] == r[i]["image_created"] for i, x in by_instance(again).items()), "a dry run after the run names the existing image")


def shared_snapshot_survives(t, aws):
    fresh(aws, fixture_with({WEB: {"generation": "1"}}))
    shared, own_a, own_user = "snap-0aaaaaaaaaaaaaa01", "snap-0aaaaaaaaaaaaaa02", "snap-0aaaaaaaaaaaaaa03"
    mine = MINE[WEB]
    aws.seed_images(
        images=[
            {"id": "ami-0aaaaaaaaaaaaaa01", "name": iname(WEB, T0 - 30 * DAY), "instance": WEB, "creation_date": "2024-04-01T09:30:00.000Z", "tags": mine, "devices": [{"device": "/dev/xvda", "snapshot": shared}, {"device": "/dev/sdf", "snapshot": own_a}]},
            {"id": "ami-0aaaaaaaaaaaaaa02", "name": iname(WEB, T0 - 29 * DAY), "instance": WEB, "creation_date": "2024-04-02T09:30:00.000Z", "tags": mine, "devices": [{"device": "/dev/xvda", "snapshot": shared}]},
            {"id": "ami-0aaaaaaaaaaaaaa03", "name": "golden", "instance": WEB, "creation_date": "2024-03-01T09:30:00.000Z", "tags": {"team": "web"}, "devices": [{"device": "/dev/xvda", "snapshot": own_user}, {"device": "/dev/sdf", "snapshot": shared}]},
        ]
    )
    status, ans, err = run(aws, T0)
    r = by_instance(ans)[WEB]
    view = aws.images()
    state = {im["ImageId"]: im["State"] for im in view["images"]}
    t.eq(status, 200, "generation 1 over two seeded backups answers 200")
    t.eq(sorted(r["deregistered"]), ["ami-0aaaaaaaaaaaaaa01", "ami-0aaaaaaaaaaaaaa02"], "both older backups deregistered, oldest first", )
    t.eq(r["deregistered"], ["ami-0aaaaaaaaaaaaaa01", "ami-0aaaaaaaaaaaaaa02"], "oldest first")
    t.eq(state["ami-0aaaaaaaaaaaaaa03"], "available", "an image that is not a managed backup is never touched")
    live = {s["SnapshotId"] for s in view["snapshots"] if not s["Deleted"]}
    t.ok(shared in live, "the snapshot the other image also maps survives", json.dumps(r))
    t.eq(r["snapshots_deleted"], [own_a], "only the rotated images' own snapshot is deleted")
    t.ok({"snapshot_id": shared, "used_by": "ami-0aaaaaaaaaaaaaa03"} in r["snapshots_in_use"], "the answer says which image still uses it", r["snapshots_in_use"])
    t.eq(missing_snapshots(view), [], "no live image lost a snapshot")
    deletes = [x["params"]["SnapshotId"] for x in aws.requests() if x["action"] == "DeleteSnapshot"]
    t.ok(shared not in deletes, "DeleteSnapshot was never even tried on it", deletes)
    # without the third image, the shared snapshot goes once both backups are gone
    fresh(aws, fixture_with({WEB: {"generation": "1"}}))
    aws.seed_images(images=[
        {"id": "ami-0aaaaaaaaaaaaaa01", "name": iname(WEB, T0 - 30 * DAY), "instance": WEB, "creation_date": "2024-04-01T09:30:00.000Z", "tags": mine, "devices": [{"device": "/dev/xvda", "snapshot": shared}]},
        {"id": "ami-0aaaaaaaaaaaaaa02", "name": iname(WEB, T0 - 29 * DAY), "instance": WEB, "creation_date": "2024-04-02T09:30:00.000Z", "tags": mine, "devices": [{"device": "/dev/xvda", "snapshot": shared}]},
    ])
    status, ans, _ = run(aws, T0)
    r = by_instance(ans)[WEB]
    t.eq((status, r["snapshots_deleted"]), (200, [shared]), "shared only by two rotated backups: deleted once, after the second")
    t.eq(r["snapshots_in_use"], [{"snapshot_id": shared, "used_by": "ami-0aaaaaaaaaaaaaa02"}], "kept while the second still lived")


def _invariants(t, aws, label, runs):
    view = aws.images()
    short = {i: len(managed_of(view, i)) for i, (_, gen, _) in BACKED_UP.items() if len(managed_of(view, i)) < min(gen, runs)}
    t.eq(short, {}, f"{label}: every instance keeps at least its generation count of images")
    t.eq(missing_snapshots(view), [], f"{label}: no kept image lost a snapshot")
    return view


def failure_halfway_deregister(t, aws):
    for n in range(3):
        run(aws, T0 + n * DAY)
    # Run 4 deregisters one image of web-1, db-1 and noname each; the 2nd fails.
    aws.queue_faults("DeregisterImage", ["slow:0", "error:UnauthorizedOperation:403:You are not authorized"])
    status, ans, _ = run(aws, T0 + 3 * DAY)
    res = by_instance(ans)
    failed = [i for i, r in res.items() if r["errors"]]
    t.eq(status, 502, "a failed DeregisterImage: 502")
    t.eq((ans.get("code"), ans.get("failed")), ("BackupFailed", 1), "body says BackupFailed, 1 instance failed")
    t.eq(len(failed), 1, "one instance reports the error")
    err = res[failed[0]]["errors"][0] if failed else {}
    t.eq((err.get("step"), err.get("code")), ("DeregisterImage", "UnauthorizedOperation"), "the error names the step and AWS's code")
    t.ok("You are not authorized" not in json.dumps(ans), "AWS's own message is not echoed")
    t.ok(res[failed[0]]["image_created"] is not None and res[failed[0]]["snapshots_deleted"] == [], "its image was made; no snapshot of the image it kept was deleted")
    view = _invariants(t, aws, "after the failure", 4)
    t.eq(orphans(view), [], "no orphaned snapshot")
    status, ans, _ = run(aws, T0 + 3 * DAY)
    t.eq(status, 200, "the retried run (same time) completes")
    view = _invariants(t, aws, "after the retry", 4)
    t.ok(all(len(managed_of(view, i)) == g for i, (_, g, _) in BACKED_UP.items()), "and rotates what was left")
    t.eq(orphans(view), [], "no orphan after the retry")


def failure_halfway_delete_snapshot(t, aws):
    for n in range(2):
        run(aws, T0 + n * DAY)
    # Run 3 deletes the snapshots of db-1 (generation 2: 3 of them) and noname (2);
    # the 2nd DeleteSnapshot fails for good.
    aws.queue_faults("DeleteSnapshot", ["slow:0", "error:UnauthorizedOperation:403"])
    status, ans, _ = run(aws, T0 + 2 * DAY)
    res = by_instance(ans)
    errs = [e for r in res.values() for e in r["errors"]]
    t.eq(status, 502, "a failed DeleteSnapshot: 502")
    t.eq([(e["step"], e["code"]) for e in errs], [("DeleteSnapshot", "UnauthorizedOperation")], "one error, naming the snapshot's step")
    view = _invariants(t, aws, "after the failure", 3)
    left = orphans(view)
    t.eq(left, [errs[0]["resource"]] if errs else [], "the only snapshot left behind is the one the answer names")
    status, ans, _ = run(aws, T0 + 2 * DAY)
    res = by_instance(ans)
    t.eq(status, 200, "the retried run completes")
    t.ok(any(left and left[0] in r["snapshots_deleted"] for r in res.values()), "and deletes the snapshot left behind", json.dumps(ans))
    view = _invariants(t, aws, "after the retry", 3)
    t.eq(orphans(view), [], "no orphaned snapshot of a deregistered image")


def failure_on_create_image(t, aws):
    for n in range(3):
        run(aws, T0 + n * DAY)
    aws.queue_faults("CreateImage", ["slow:0", "error:InsufficientInstanceCapacity:500", "error:InsufficientInstanceCapacity:500", "error:InsufficientInstanceCapacity:500"])
    status, ans, _ = run(aws, T0 + 3 * DAY)
    res = by_instance(ans)
    t.eq(status, 502, "CreateImage failing after its retries: 502")
    bad = [i for i, r in res.items() if r["errors"]]
    t.eq(bad, [DB], "the second instance (db-1) failed")
    r = res.get(DB, {})
    t.eq((r.get("image_created"), r.get("deregistered"), r.get("kept")), (None, [], []), "no image, so nothing rotated for it")
    t.eq([i for i in BACKED_UP if i != DB and not res[i]["deregistered"]], [], "the other instances rotated as usual")
    view = _invariants(t, aws, "after the failure", 3)
    t.eq(len(managed_of(view, DB)), 2, "db-1 keeps its two older images")
    t.eq(orphans(view), [], "no orphan")
    status, ans, _ = run(aws, T0 + 3 * DAY)
    t.eq((status, by_instance(ans)[DB]["already_existed"]), (200, False), "the retry makes db-1's image and rotates")
    t.eq([im["Name"] for im in managed_of(aws.images(), DB)], [iname(DB, T0 + 2 * DAY), iname(DB, T0 + 3 * DAY)], "db-1 ends with the newest two")


def throttling(t, aws):
    aws.queue_faults("CreateImage", ["throttle", "throttle"])
    aws.queue_faults("DescribeImages", ["throttle"])
    aws.queue_faults("DescribeInstances", ["unavailable"])
    status, ans, _ = run(aws, T0)
    t.eq(status, 200, "throttles and a 503 within the retries: 200")
    t.eq(sorted(len(managed_of(aws.images(), i)) for i in BACKED_UP), [1, 1, 1], "one image each, none twice")
    log = aws.requests()
    t.eq([r["status"] for r in log if r["action"] == "CreateImage"][:3], [503, 503, 200], "CreateImage retried after RequestLimitExceeded")
    fresh(aws, fixture_with({WEB: {"generation": "1"}}))
    run(aws, T0)
    aws.queue_faults("DeregisterImage", ["throttle"] * 3)
    status, ans, _ = run(aws, T0 + DAY)
    r = by_instance(ans)
    errs = [e for x in r.values() for e in x["errors"]]
    t.eq((status, [(e["step"], e["code"]) for e in errs]), (502, [("DeregisterImage", "RequestLimitExceeded")]), "still throttled after 3 attempts: that instance fails, 502")
    t.ok("still throttled" in (errs[0]["message"] if errs else ""), "the message says it was still throttled", errs)
    aws.queue_faults("DescribeInstances", ["throttle"] * 3)
    status, ans, _ = run(aws, T0 + 2 * DAY)
    t.eq((status, ans.get("code") if isinstance(ans, dict) else ans), (503, "Throttled"), "DescribeInstances still throttled: 503 Throttled, nothing done")


def inuse_after_deregister(t, aws):
    fresh(aws, fixture_with({WEB: {"generation": "1"}}), snapshot_inuse_after_deregister=2)
    run(aws, T0)
    aws.clear_requests()
    status, ans, _ = run(aws, T0 + DAY)
    r = by_instance(ans)
    t.eq(status, 200, "InvalidSnapshot.InUse twice after deregistering: retried, 200")
    deletes = [x for x in aws.requests() if x["action"] == "DeleteSnapshot" and x["params"]["SnapshotId"] in r[WEB]["snapshots_deleted"]]
    t.eq([x["status"] for x in deletes], [400, 400, 200], "two InUse answers, then deleted")
    t.eq(orphans(aws.images()), [], "no orphan")
    aws.config(snapshot_inuse_after_deregister=3)
    status, ans, _ = run(aws, T0 + 2 * DAY, "--attempts", "3")
    errs = [e for x in by_instance(ans).values() for e in x["errors"]]
    t.eq((status, sorted({(e["step"], e["code"]) for e in errs})), (502, [("DeleteSnapshot", "InvalidSnapshot.InUse")]), "InUse past the attempts: an error, 502")
    left = orphans(aws.images())
    t.eq(len(left), len(errs), "the snapshots left behind are the ones reported")
    status, ans, _ = run(aws, T0 + 2 * DAY)
    t.eq((status, orphans(aws.images())), (200, []), "the retried run (EC2 done with them) sweeps them")


def eventual_consistency(t, aws):
    aws.config(image_invisible_describes=1, deregistered_visible_describes=2)
    created = {i: [] for i in BACKED_UP}
    good = True
    for n in range(4):
        status, ans, _ = run(aws, T0 + n * DAY)
        good &= status == 200
        for i, r in by_instance(ans).items():
            created[i].append(r["image_created"])
            good &= r["kept"][0] == r["image_created"]
    view = aws.images()
    t.ok(good, "a new image not listed yet, old ones listed as deregistered: every run 200, its image kept")
    t.eq({i: [im["ImageId"] for im in managed_of(view, i)] for i in BACKED_UP}, {i: created[i][-g:] for i, (_, g, _) in BACKED_UP.items()}, "the newest generation of each survive")
    t.eq((orphans(view), missing_snapshots(view)), ([], []), "no orphan, no missing snapshot")


def left_behind_snapshots(t, aws):
    fresh(aws, fixture_with({WEB: {"generation": "1"}}))
    run(aws, T0)
    old = iso(T0 - 3 * 3600).replace("Z", ".000Z")
    young = iso(T0 + DAY - 600).replace("Z", ".000Z")
    mine = MINE[WEB]
    aws.seed_images(snapshots=[
        {"id": "snap-0bbbbbbbbbbbbbb01", "tags": mine, "start_time": old, "description": f"Created by CreateImage({WEB}) for ami-0dead0000000000b1 from vol-0123"},
        {"id": "snap-0bbbbbbbbbbbbbb02", "tags": mine, "start_time": young, "description": f"Created by CreateImage({WEB}) for ami-0dead0000000000b2 from vol-0123"},
        {"id": "snap-0bbbbbbbbbbbbbb03", "tags": mine, "start_time": old, "description": "Created by CreateImage(i-0b0000000000000a4) for ami-0dead0000000000b3 from vol-0123"},
        {"id": "snap-0bbbbbbbbbbbbbb04", "tags": mine, "start_time": old, "description": "my own copy"},
        {"id": "snap-0bbbbbbbbbbbbbb05", "tags": {"ebssh:backup-of": WEB}, "start_time": old, "description": f"Created by CreateImage({WEB}) for ami-0dead0000000000b5 from vol-0123"},
        {"id": "snap-0bbbbbbbbbbbbbb06", "tags": mine, "start_time": old, "description": f"Created by CreateImage({WEB}) for ami-0dead0000000000b6 from vol-0123"},
    ], images=[
        {"id": "ami-0dead0000000000b6", "name": "someone-elses", "instance": WEB, "creation_date": old, "tags": {}, "devices": [{"device": "/dev/xvda", "snapshot": "snap-0bbbbbbbbbbbbbb07"}]},
    ])
    status, ans, _ = run(aws, T0 + DAY, "--dry-run")
    t.eq(by_instance(ans)[WEB]["snapshots_deleted"][-1:], ["snap-0bbbbbbbbbbbbbb01"], "the dry run plans to sweep the one snapshot left behind")
    status, ans, _ = run(aws, T0 + DAY)
    r = by_instance(ans)[WEB]
    gone = {s["SnapshotId"] for s in aws.images()["snapshots"] if s["Deleted"]}
    t.eq(status, 200, "sweep run answers 200")
    t.ok("snap-0bbbbbbbbbbbbbb01" in gone and "snap-0bbbbbbbbbbbbbb01" in r["snapshots_deleted"], "ours, made for an AMI that is gone, older than an hour: deleted", r)
    t.eq(sorted(gone & {f"snap-0bbbbbbbbbbbbbb0{n}" for n in range(2, 8)}), [], "younger than an hour, another instance's, not made by CreateImage, not tagged managed, its AMI alive: all kept")


def names_tags_and_keys(t, aws):
    odd = "api/v2 (blue): caf\u00e9*[x]@'q'"
    fresh(aws, fixture_with({WEB: {"Name": odd}, DB: {"Name": "d" * 200}, NONAME: {"backup": "oN"}}))
    status, ans, _ = run(aws, T0 + 59)
    r = by_instance(ans)
    t.eq(ans.get("time"), "20240501T0930Z", "the run's time to the minute, UTC")
    t.eq(r[WEB]["image_name"], f"api/v2 (blue)_ caf__[x]@'q'-{WEB}-20240501T0930Z", "other characters become '_', one per UTF-8 character")
    t.eq(r[DB]["image_name"], "d" * 93 + f"-{DB}-20240501T0930Z", "a long Name is cut to fit 128 with the instance id and the time whole")
    t.eq(sorted(r), sorted(BACKED_UP), "On in any case; a key of another case is not the tag")
    fresh(aws)
    status, ans, _ = run(aws, T0, env={"BACKUP_TAG_KEY": "BACKUP"})
    t.eq((status, sorted(by_instance(ans)), ans.get("tag_key")), (200, ["i-0b0000000000000a8"], "BACKUP"), "BACKUP_TAG_KEY=BACKUP picks the instance tagged BACKUP")
    status, ans, _ = run(aws, T0, "--tag-key", "back*")
    t.eq((status, by_instance(ans)), (200, {}), "a tag key with '*' is no wildcard")
    status, ans, _ = run(aws, T0, env={"BACKUP_TAG_KEY": "k" * 129})
    t.eq((status, ans.get("code") if isinstance(ans, dict) else ans), (500, "ConfigError"), "a 129-character BACKUP_TAG_KEY: 500 ConfigError")
    params = [x["params"] for x in aws.requests() if x["action"] == "CreateImage"][:1]
    t.eq(params[0].get("Description") if params else None, "ebssh backup of i-0b0000000000000a8 at 20240501T0930Z", "CreateImage carries a description")


def bad_generation_and_foreign_duplicate(t, aws):
    fresh(aws, fixture_with({WEB: {"generation": "0"}, DB: {"generation": "abc"}}))
    run(aws, T0)
    status, ans, _ = run(aws, T0 + DAY)
    r = by_instance(ans)
    t.eq(status, 502, "a bad generation tag: 502")
    t.ok(all(r[i]["image_created"] and r[i]["deregistered"] == [] and r[i]["errors"][0]["step"] == "Rotation" for i in (WEB, DB)), "the image is made, nothing rotated, the error says why", json.dumps(ans))
    t.eq(len(managed_of(aws.images(), DB)), 2, "db-1 keeps both images")
    t.eq(r[NONAME]["errors"], [], "other instances are not held back")
    fresh(aws)
    aws.config(clock=T0)
    aws.seed_images(images=[{"id": "ami-0ccccccccccccccc1", "name": iname(WEB, T0), "instance": WEB, "tags": {"ebssh:backup-of": WEB, "ebssh:managed": "true"}, "devices": [{"snapshot": "snap-0ccccccccccccccc1"}]},
                            {"id": "ami-0ccccccccccccccc2", "name": iname(WEB, T0 - 30 * DAY), "instance": WEB, "creation_date": "2024-04-01T09:30:00.000Z", "tags": {"ebssh:backup-of": WEB, "ebssh:managed": "true"}, "devices": [{"snapshot": "snap-0ccccccccccccccc2"}]}])
    fresh_gen = {WEB: {"generation": "1"}}
    aws.set_fixture(fixture_with(fresh_gen))
    status, ans, _ = run(aws, T0)
    r = by_instance(ans)[WEB]
    t.eq((status, r["image_created"], r["errors"][0]["step"] if r["errors"] else None), (502, None, "CreateImage"), "the name taken by an image that is not this instance's backup: error")
    t.eq(r["deregistered"], [], "and no rotation (the old backup stays)")


def router_and_schedule(t, aws):
    status, ans, _ = _exec(aws, [DRIVER, "--router", "POST", "/backup/ami", "dry_run=true"])
    t.eq((status, ans.get("dry_run") if isinstance(ans, dict) else ans), (200, True), "POST /backup/ami?dry_run=true through the router")
    t.eq(aws.images()["images"], [], "and nothing made")
    status, ans, _ = _exec(aws, [DRIVER, "--router", "POST", "/backup/ami", "dry_run=yes"])
    t.eq((status, ans.get("code")), (400, "InvalidParameter"), "dry_run=yes: 400")
    status, ans, _ = _exec(aws, [DRIVER, "--router", "GET", "/backup/ami"])
    t.eq((status, ans.get("code")), (405, "MethodNotAllowed"), "GET /backup/ami: 405")
    status, ans, _ = _exec(aws, [DRIVER, "--router", "POST", "/backup/ami"])
    t.eq((status, len(ans.get("instances", []))), (200, 3), "POST /backup/ami backs up three instances")
    aws.config(clock=T0 + 9 * DAY)
    status, ans, _ = _exec(aws, [DRIVER, "--scheduled", "mystack-ami-backup", "2024-05-10T09:30:00Z"])
    t.eq((status, ans.get("time"), ans.get("dry_run")), (200, "20240510T0930Z", False), "a scheduled event runs at the event's time")
    status, again, _ = _exec(aws, [DRIVER, "--scheduled", "mystack-ami-backup", "2024-05-10T09:30:00Z"])
    t.ok(status == 200 and all(r["already_existed"] for r in again["instances"]), "Lambda retrying the event makes nothing new")
    out = subprocess.run([DRIVER, "--scheduled", "mystack-lambda-storage", "2024-05-10T09:30:00Z"], env=driver_env(aws), capture_output=True, text=True, timeout=60).stdout
    t.eq(out, "NO-MATCH\n", "a rule not ending in ami-backup is not the backup")
    aws.queue_faults("DescribeInstances", ["error:UnauthorizedOperation:403"])
    status, ans, _ = run(aws, T0 + 20 * DAY)
    t.eq((status, ans.get("code")), (502, "AwsError"), "DescribeInstances refused: 502 AwsError, nothing done")


def one_instance(t, aws):
    status, item, _ = run(aws, T0, "--instance", WEB)
    t.eq((status, item.get("instance_id"), item.get("errors")), (200, WEB, []), "backup_instance_run of one instance: its item")
    t.ok(item.get("image_created") and [im["ImageId"] for im in managed_of(aws.images(), WEB)] == [item["image_created"]], "its image, and no other instance's", item)
    t.eq(sorted({im["SourceInstanceId"] for im in aws.images()["images"]}), [WEB], "only that instance was imaged")
    status, again, _ = run(aws, T0, "--instance", WEB)
    t.eq((status, again.get("image_created"), again.get("already_existed")), (200, item.get("image_created"), True), "the same item again (a retried queue item): the same image")
    status, item, _ = run(aws, T0, "--instance", NOT_BACKED_UP[0])
    t.eq((status, item.get("skipped")), (200, "not-tagged"), "an instance not tagged backup=On: skipped, not failed")
    status, item, _ = run(aws, T0, "--instance", "i-0b00000000000dead")
    t.eq((status, item.get("skipped")), (200, "not-found"), "an instance EC2 does not list: skipped")
    aws.queue_faults("DescribeInstances", ["error:UnauthorizedOperation:403"])
    status, item, _ = run(aws, T0, "--instance", DB)
    t.eq((status, [(e["step"], e["code"]) for e in item.get("errors", [])]), (502, [("DescribeInstances", "UnauthorizedOperation")]), "DescribeInstances refused: the item fails and says why")


def reboots_on_demand(t, aws):
    run(aws, T0, "--on-demand")
    reboot = {im["SourceInstanceId"]: im["NoReboot"] for im in aws.images()["images"]}
    t.eq(reboot.get(DB), True, "on demand: no reboot even with backup-reboot = true")
    fresh(aws)
    run(aws, T0, "--on-demand", "--allow-reboot")
    reboot = {im["SourceInstanceId"]: im["NoReboot"] for im in aws.images()["images"]}
    t.eq((reboot.get(DB), reboot.get(WEB)), (False, True), "on demand with allow_reboot: the backup-reboot tag decides")


def eb_fleet_shared_name(t, aws):
    env = "myapp-prod"
    fresh(aws, fixture_with({WEB: {"Name": env}, DB: {"Name": env}, NONAME: {"Name": env}, NOT_BACKED_UP[0]: {"Name": env, "backup": "On"}}))
    fleet = sorted([WEB, DB, NONAME, NOT_BACKED_UP[0]])
    status, ans, _ = run(aws, T0)
    r = by_instance(ans)
    t.eq((status, sorted(r), ans.get("failed")), (200, fleet, 0), "an Elastic Beanstalk fleet of 4 sharing one Name tag: all 4 backed up, none failed")
    images = [im for im in aws.images()["images"] if im["State"] != "deregistered"]
    t.eq(sorted(im["SourceInstanceId"] for im in images), fleet, "each instance imaged exactly once")
    t.eq(sorted(im["Name"] for im in images), sorted(f"{env}-{i}-{stamp(T0)}" for i in fleet), "each image named <Name>-<instance id>-<time>")
    status, again, _ = run(aws, T0)
    t.ok(status == 200 and all(x["already_existed"] and x["image_created"] == r[i]["image_created"] for i, x in by_instance(again).items()), "the retried run finds each instance's own image", json.dumps(again))
    t.eq(len([im for im in aws.images()["images"] if im["State"] != "deregistered"]), 4, "and makes none")


def pending_then_failed(t, aws):
    fresh(aws, fixture_with({WEB: {"generation": "1"}}))
    run(aws, T0)
    (old,) = [im["ImageId"] for im in managed_of(aws.images(), WEB)]
    aws.config(image_pending_describes=1000)
    status, ans, _ = run(aws, T0 + DAY, "--wait-ms", "-1")
    r = by_instance(ans)[WEB]
    t.eq((status, r["image_state"], r["deregistered"]), (200, "pending", []), "generation 1, the new image pending: the old one is not pushed out")
    t.eq(r["kept"], [r["image_created"], old], "both kept, the answer says so")
    t.ok("not available yet" in r.get("note", ""), "and notes that the image is not available yet", r)
    aws.set_image_state(r["image_created"], "failed")
    status, ans, _ = run(aws, T0 + DAY)
    r = by_instance(ans)[WEB]
    t.eq((status, r["already_existed"], r["image_state"], [e["step"] for e in r["errors"]]), (502, True, "failed", ["CreateImage"]), "the retry finds its image failed: the instance fails")
    t.eq(r["deregistered"], [], "nothing older removed because of it")
    t.ok(old in [im["ImageId"] for im in managed_of(aws.images(), WEB)] and not missing_snapshots(aws.images()), "the old image survives, whole")
    failed_id = r["image_created"]
    aws.config(image_pending_describes=1)
    status, ans, _ = run(aws, T0 + 2 * DAY)
    r = by_instance(ans)[WEB]
    t.eq((status, r["image_state"], sorted(r["deregistered"])), (200, "available", sorted([old, failed_id])), "the next day: the new image available, the old and the failed one deregistered")
    # a new image that turns failed while the run waits for it
    aws.config(image_pending_describes=2, image_final_state="failed")
    status, ans, _ = run(aws, T0 + 3 * DAY)
    r = by_instance(ans)[WEB]
    t.eq((status, r["image_state"], r["deregistered"]), (502, "failed", []), "an image failing while the run waits: reported, nothing rotated")
    t.eq(len([im for im in managed_of(aws.images(), WEB) if im["State"] == "available"]), 1, "the last good image survives")


def copies_and_other_stacks(t, aws):
    fresh(aws, fixture_with({WEB: {"generation": "1"}}))
    run(aws, T0)
    (mine,) = managed_of(aws.images(), WEB)
    other = dict(MINE[WEB], **{"ebssh:stack": "other-stack"})
    aws.seed_images(images=[
        {"id": "ami-0eeeeeeeeeeeeee01", "name": "web-1 restore copy", "instance": WEB, "creation_date": iso(T0 - 10 * DAY).replace("Z", ".000Z"), "tags": MINE[WEB], "devices": [{"snapshot": "snap-0eeeeeeeeeeeeee01"}]},
        {"id": "ami-0eeeeeeeeeeeeee02", "name": iname(WEB, T0 - 9 * DAY), "instance": WEB, "creation_date": iso(T0 - 9 * DAY).replace("Z", ".000Z"), "tags": other, "devices": [{"snapshot": "snap-0eeeeeeeeeeeeee02"}]},
        {"id": "ami-0eeeeeeeeeeeeee03", "name": iname(WEB, T0 - 8 * DAY, "web-1") .replace(WEB, DB), "instance": WEB, "creation_date": iso(T0 - 8 * DAY).replace("Z", ".000Z"), "tags": MINE[WEB], "devices": [{"snapshot": "snap-0eeeeeeeeeeeeee03"}]},
    ])
    status, ans, _ = run(aws, T0 + DAY)
    r = by_instance(ans)[WEB]
    t.eq((status, r["deregistered"]), (200, [mine["ImageId"]]), "only this stack's own older backup is rotated")
    live = {im["ImageId"] for im in aws.images()["images"] if im["State"] != "deregistered"}
    t.ok({"ami-0eeeeeeeeeeeeee01", "ami-0eeeeeeeeeeeeee02", "ami-0eeeeeeeeeeeeee03"} <= live, "a CopyImage with the same tags and its own name, another stack's backup, a name of another instance: untouched")
    snaps = {s["SnapshotId"]: s["Deleted"] for s in aws.images()["snapshots"]}
    t.eq([snaps[f"snap-0eeeeeeeeeeeeee0{n}"] for n in (1, 2, 3)], [False] * 3, "and their snapshots")
    tags = {tg["Key"]: tg["Value"] for tg in managed_of(aws.images(), WEB)[-1]["Tags"]}
    t.eq(tags.get("ebssh:stack"), STACK, "the image carries ebssh:stack = EBSSH_STACK_NAME")
    snap_tags = [{tg["Key"]: tg["Value"] for tg in s["Tags"]}.get("ebssh:stack") for s in aws.images()["snapshots"] if s["SnapshotId"] in {d["Ebs"]["SnapshotId"] for d in managed_of(aws.images(), WEB)[-1]["BlockDeviceMappings"]}]
    t.eq(snap_tags, [STACK], "and so do its snapshots")
    fresh(aws, fixture_with({WEB: {"generation": "1"}}))
    status, ans, _ = run(aws, T0, env={"EBSSH_STACK_NAME": "", "AWS_LAMBDA_FUNCTION_NAME": "ebssh-fn"})
    tags = {tg["Key"]: tg["Value"] for im in aws.images()["images"] for tg in im["Tags"] if im["SourceInstanceId"] == WEB}
    t.eq(tags.get("ebssh:stack"), "ebssh-fn", "without EBSSH_STACK_NAME: the function's name")


def disabled_image_holds_snapshot(t, aws):
    fresh(aws, fixture_with({WEB: {"generation": "1"}}))
    run(aws, T0)
    (first,) = managed_of(aws.images(), WEB)
    snap = first["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    aws.seed_images(images=[{"id": "ami-0ddddddddddddddd1", "name": "frozen", "instance": WEB, "state": "disabled", "tags": {}, "devices": [{"snapshot": snap}]}])
    aws.clear_requests()
    status, ans, _ = run(aws, T0 + DAY)
    r = by_instance(ans)[WEB]
    t.eq((status, r["deregistered"], r["errors"]), (200, [first["ImageId"]], []), "the old backup is rotated")
    t.eq(r["snapshots_in_use"], [{"snapshot_id": snap, "used_by": "ami-0ddddddddddddddd1"}], "its snapshot, held by a disabled image, counts as in use")
    t.ok(not {s["SnapshotId"]: s["Deleted"] for s in aws.images()["snapshots"]}[snap], "and is kept")
    users = [x["params"] for x in aws.requests() if x["action"] == "DescribeImages" and "block-device-mapping.snapshot-id" in json.dumps(x["params"])]
    t.ok(users and all(p.get("IncludeDisabled") in (True, "true") for p in users), "the in-use check asks with IncludeDisabled", [x["params"] for x in aws.requests() if x["action"] == "DescribeImages"][:3])


def on_demand_interval(t, aws):
    fresh(aws, fixture_with({WEB: {"generation": "1"}, DB: {"generation": "1"}}))
    run(aws, T0)
    before = {i: [im["ImageId"] for im in managed_of(aws.images(), i)] for i in (WEB, DB)}
    status, ans, _ = run(aws, T0 + 600, "--on-demand")
    r = by_instance(ans)
    t.eq((status, r[WEB].get("skipped"), r[WEB].get("next_allowed")), (200, "min-interval", "2024-05-01T10:30:00Z"), "on demand within the hour: skipped, the answer says when the next is allowed")
    t.eq((r[WEB]["image_created"], r[WEB]["deregistered"]), (None, []), "no image, nothing rotated")
    status, ans, _ = run(aws, T0 + 900, "--on-demand")
    t.eq({i: [im["ImageId"] for im in managed_of(aws.images(), i)] for i in (WEB, DB)}, before, "twice: still the same backups")
    t.eq(len([im for im in aws.images()["images"]]), 3, "and no image made")
    status, ans, _ = run(aws, T0 + 900)
    t.ok(status == 200 and all(not x.get("skipped") and x["image_created"] for x in ans["instances"]), "a scheduled run is not held by the interval", json.dumps(ans))
    fresh(aws, fixture_with({WEB: {"generation": "1", "backup-min-interval": "60"}, DB: {"backup-min-interval": "1h"}}))
    run(aws, T0)
    status, ans, _ = run(aws, T0 + 600, "--on-demand")
    r = by_instance(ans)
    t.ok(r[WEB]["image_created"] and not r[WEB].get("skipped") and r[WEB]["deregistered"], "the tag backup-min-interval=60 overrides: a backup 10 minutes later runs", r[WEB])
    t.eq((status, [(e["step"], e["code"]) for e in r[DB]["errors"]], r[DB]["image_created"]), (502, [("MinInterval", "BackupRule")], None), "a bad tag value: that instance fails, nothing done")
    t.ok("backup-min-interval" in r[DB]["errors"][0]["message"] if r[DB]["errors"] else False, "the error names the tag", r[DB]["errors"])
    t.eq(r[NONAME].get("skipped"), "min-interval", "the default hour for the others")
    status, ans, _ = run(aws, T0 + 600, "--on-demand", env={"BACKUP_MIN_INTERVAL": "0"})
    t.ok(status in (200, 502) and by_instance(ans)[NONAME]["image_created"], "BACKUP_MIN_INTERVAL=0: no interval", ans)
    status, ans, _ = run(aws, T0, env={"BACKUP_MIN_INTERVAL": "an hour"})
    t.eq((status, ans.get("code")), (500, "ConfigError"), "a bad BACKUP_MIN_INTERVAL: 500 ConfigError")
    t.ok("BACKUP_MIN_INTERVAL" in ans.get("message", ""), "naming it", ans)


if __name__ == "__main__":
    sys.exit(main())
