#!/usr/bin/env python3
# test-python: tools
"""The AMI backup (build/tests/backup_run) against moto, an AWS nobody here
wrote (with the shims of tests/doubles/moto_shims.py), in a world built and
read back with boto3, by the rules of docs/backup.md. TAP.

  - an Elastic Beanstalk fleet of four sharing one Name tag: every instance
    imaged exactly once, each image's name carrying its instance id; a
    retried run at the same time makes no second image;
  - another stack's backups of the same instance (the same name pattern,
    older): never deregistered, even past `generation`;
  - a person's CopyImage of a backup with CopyImageTags (the very same
    tags, its own name): never deregistered;
  - on-demand runs within BACKUP_MIN_INTERVAL: no image, nothing rotated,
    "skipped": "min-interval"; past it (moto's clock) a new image;
  - generation=1: once the new image is available the previous one goes,
    its snapshots too.
"""

import calendar
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("EBSSH_BUILD") or os.path.join(ROOT, "build")
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from botocore.exceptions import ClientError  # noqa: E402
from child import sanitizer_clean  # noqa: E402
from moto_aws import MotoAws  # noqa: E402
from moto_world import World  # noqa: E402
from tap import Tap, diag  # noqa: E402

DRIVER = os.path.join(BUILD, "tests", "backup_run")
EB_TAG = "elasticbeanstalk:environment-name"
ENV_NAME = "web-prod"
BACKUP_OF, MANAGED, STACK_TAG = "ebssh:backup-of", "ebssh:managed", "ebssh:stack"
STACK = "ebssh-moto-backup"  # EBSSH_STACK_NAME of the runs
OTHER = "other"  # another stack's ebssh:stack
MIN_INTERVAL = 3600
DAY = 86400
T0 = calendar.timegm((2024, 5, 1, 9, 30, 0))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def stamp(t):
    """The backup's minute stamp (docs/backup.md): yyyymmddTHHMMZ."""
    return time.strftime("%Y%m%dT%H%MZ", time.gmtime(t))


def eq(t, got, want, name, detail=None):
    """t.eq, with what else helps to read a failure."""
    more = "" if detail is None else f"\n{detail}"
    return t.ok(got == want, name, f"got:  {got!r}\nwant: {want!r}{more}")


def tags_of(resource):
    return {x["Key"]: x["Value"] for x in resource.get("Tags") or []}


def backup_name(iid, t):
    """docs/backup.md: <Name tag>-<instance id>-<yyyymmddTHHMMZ>."""
    return f"{ENV_NAME}-{iid}-{stamp(t)}"


def read(ec2):
    """boto3's reading: {image id: image}, {snapshot id: snapshot} of the account."""
    images = [im for page in ec2.get_paginator("describe_images").paginate(Owners=["self"]) for im in page["Images"]]
    snaps = [s for page in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"]) for s in page["Snapshots"]]
    return {im["ImageId"]: im for im in images}, {s["SnapshotId"]: s for s in snaps}


def ours(images, iid, stack=STACK):
    """The images tagged as iid's backups by stack, oldest first."""
    out = [im for im in images.values()
           if tags_of(im).get(BACKUP_OF) == iid and tags_of(im).get(MANAGED) == "true" and tags_of(im).get(STACK_TAG) == stack]
    return sorted(out, key=lambda im: im["CreationDate"])


def snaps_of(im):
    return sorted(m["Ebs"]["SnapshotId"] for m in im.get("BlockDeviceMappings", []) if m.get("Ebs", {}).get("SnapshotId"))


def one_per_instance(images, fleet, t):
    """Every instance of fleet has exactly one image of this stack named
    backup_name(iid, t); (ok, why)."""
    for iid in fleet:
        named = [im for im in ours(images, iid) if im["Name"].endswith(stamp(t))]
        if len(named) != 1:
            return False, f"{iid}: {len(named)} images of {stamp(t)}"
        if named[0]["Name"] != backup_name(iid, t):
            return False, f"{iid}: named {named[0]['Name']!r}, not {backup_name(iid, t)!r}"
    ids = [im["ImageId"] for iid in fleet for im in ours(images, iid) if im["Name"].endswith(stamp(t))]
    if len(set(ids)) != len(fleet):
        return False, f"{len(set(ids))} distinct images for {len(fleet)} instances"
    return True, ""


class Runner:
    """build/tests/backup_run against moto at a time of our choosing: moto's
    EC2 clock stands at the run's time, so new images are made then."""

    def __init__(self, moto, env):
        self.moto = moto
        self.env = env
        self.stderr = ""

    def __call__(self, now, *args):
        self.moto.set_clock(iso(now))
        try:
            proc = subprocess.run([DRIVER, "--now", iso(now), "--retry-ms", "20", *args], env=self.env,
                                  capture_output=True, text=True, timeout=300)
        finally:
            self.moto.set_clock(None)
        self.stderr += proc.stderr
        head, _, body = proc.stdout.partition("\n")
        try:
            return int(head), json.loads(body)
        except ValueError:
            return None, proc.stdout + proc.stderr


def by_instance(doc):
    return {i["instance_id"]: i for i in doc.get("instances", [])} if isinstance(doc, dict) else {}


def build_world(world, ec2):
    """Four instances of one Elastic Beanstalk environment (Name = the
    environment's name on all, as Elastic Beanstalk tags them), backup=on,
    generation=1; another stack's two older backups of the first."""
    fleet = sorted(world.launch({EB_TAG: ENV_NAME, "Name": ENV_NAME, "backup": "on", "generation": "1"}, count=4))
    other = []
    for days in (2, 1):
        t = T0 - days * DAY
        other.append(world.image_of(fleet[0], backup_name(fleet[0], t), {BACKUP_OF: fleet[0], MANAGED: "true", STACK_TAG: OTHER},
                                    created=iso(t)))
    return fleet, other


def check_world(t, ec2, fleet, other):
    """The world is the one the checks need: each would fail without the rule it checks."""
    # Without the instance id in the name, the fleet's images collide:
    # EC2 refuses a second image of a name (the shim refuse_duplicate_image_names).
    first = ec2.create_image(InstanceId=fleet[0], Name=f"{ENV_NAME}-{stamp(T0 - 3 * DAY)}", NoReboot=True)["ImageId"]
    try:
        ec2.create_image(InstanceId=fleet[1], Name=f"{ENV_NAME}-{stamp(T0 - 3 * DAY)}", NoReboot=True)
        code = None
    except ClientError as e:
        code = e.response["Error"]["Code"]
    ec2.deregister_image(ImageId=first)
    eq(t, code, "InvalidAMIName.Duplicate", "moto: a second instance's image named <Name>-<time> is refused (why names carry the instance id)")
    images, _ = read(ec2)
    pattern = re.compile(r".+-" + re.escape(fleet[0]) + r"-\d{8}T\d{4}Z")
    t.ok(len(other) == 2 and all(pattern.fullmatch(images[i]["Name"]) and tags_of(images[i])[BACKUP_OF] == fleet[0]
                                 and tags_of(images[i])[MANAGED] == "true" for i in other),
         "the other stack's backups have this stack's name pattern and both older tags: only ebssh:stack tells them apart",
         [images.get(i, {}).get("Name") for i in other])


def check_fleet(t, run, ec2, fleet, other, state):
    before, _ = read(ec2)
    status, doc = run(T0)
    items = by_instance(doc)
    eq(t, (status, sorted(items)), (200, fleet), "the run at T0 answers 200 for the four instances", doc)
    t.ok(all(items[i]["image_created"] and not items[i]["already_existed"] and items[i]["image_name"] == backup_name(i, T0)
             and not items[i]["errors"] for i in items),
         "each instance: a new image, named <Name>-<instance id>-<time>", doc)
    images, snaps = read(ec2)
    ok, why = one_per_instance(images, fleet, T0)
    t.ok(ok, "boto3: every instance of the fleet imaged exactly once, its image named by its id", why)
    broken = {k: dict(v, Name=v["Name"].replace(f"-{v.get('Tags') and tags_of(v).get(BACKUP_OF)}", "")) for k, v in images.items()}
    t.ok(not one_per_instance(broken, fleet, T0)[0], "the check fails on names without the instance id (broken copy)")
    t.ok(all({items[i]["image_created"]} == {im["ImageId"] for im in ours(images, i)} for i in fleet),
         "the report's image ids are the images boto3 reads, one per instance", doc)
    t.ok(all(tags_of(snaps[s]).get(BACKUP_OF) == i and tags_of(snaps[s]).get(STACK_TAG) == STACK
             for i in fleet for im in ours(images, i) for s in snaps_of(im)),
         "their snapshots carry the three tags (TagSpecifications)")
    eq(t, sorted(set(other) & set(images)), sorted(other), "the other stack's backups are still there (generation 1, two older)")

    status, doc = run(T0)
    again = by_instance(doc)
    eq(t, (status, sorted((i, x["image_created"], x["already_existed"]) for i, x in again.items())),
         (200, sorted((i, items[i]["image_created"], True) for i in fleet)),
         "a retried run at the same time finds each instance's own image (already_existed)", doc)
    after, _ = read(ec2)
    eq(t, sorted(after), sorted(images), "the retry made no image and removed none")
    state["made"] = {i: items[i]["image_created"] for i in fleet}


def check_copy(t, ec2, state, fleet):
    """A person's CopyImage of a backup, with CopyImageTags: the very same tags, its own name."""
    source = state["made"][fleet[0]]
    copy = ec2.copy_image(SourceImageId=source, SourceRegion=ec2.meta.region_name, Name=f"{ENV_NAME}-restore-copy",
                          CopyImageTags=True)["ImageId"]
    images, _ = read(ec2)
    eq(t, tags_of(images[copy]), tags_of(images[source]), "CopyImage with CopyImageTags: the copy has the source's tags (shim copy_image_tags)")
    state["copy"] = copy


def check_interval(t, run, ec2, made, fleet, other, copy):
    before_images, before_snaps = read(ec2)
    for n, when in enumerate((T0 + 600, T0 + MIN_INTERVAL - 60)):
        status, doc = run(when, "--on-demand")
        items = by_instance(doc)
        eq(t, (status, sorted(items)), (200, fleet), f"on-demand run {n + 1} within the interval answers 200 for the fleet", doc)
        t.ok(all(x.get("skipped") == "min-interval" and x.get("newest_backup") == made[i] and not x.get("image_created")
                 and not x.get("deregistered") and not x.get("snapshots_deleted") for i, x in items.items()),
             f"on-demand run {n + 1}: each instance skipped min-interval, naming its newest backup, nothing rotated", doc)
        images, snaps = read(ec2)
        eq(t, (sorted(images), sorted(snaps)), (sorted(before_images), sorted(before_snaps)),
             f"on-demand run {n + 1}: no image made, no image or snapshot removed (boto3)")

    later = T0 + MIN_INTERVAL + 120
    status, doc = run(later, "--on-demand")
    items = by_instance(doc)
    eq(t, status, 200, "the on-demand run past the interval answers 200", doc)
    t.ok(all(x.get("image_created") and not x.get("already_existed") and x["image_name"] == backup_name(i, later) and not x.get("skipped")
             for i, x in items.items()) and sorted(items) == fleet,
         "past the interval: a new image of every instance", doc)
    images, snaps = read(ec2)
    ok, why = one_per_instance(images, fleet, later)
    t.ok(ok, "boto3: one new image per instance, named by its id and the run's time", why)
    t.ok(all(items[i]["deregistered"] == [made[i]] for i in fleet if i in items),
         "generation 1: the report deregisters each instance's previous image, and only it", doc)
    t.ok(all(set(items[i]["snapshots_deleted"]) == set(snaps_of(before_images[made[i]])) for i in fleet if i in items),
         "and deletes its snapshots", doc)
    eq(t, sorted(i for i in fleet if made[i] in images), [], "boto3: the previous images are gone")
    gone_snaps = [s for i in fleet for s in snaps_of(before_images[made[i]])]
    t.ok(gone_snaps and not set(gone_snaps) & set(snaps), "boto3: their snapshots too", gone_snaps)
    eq(t, sorted(set(other) & set(images)), sorted(other), "the other stack's backups of the same instance survive, past generation 1")
    t.ok(copy in images and all(s in snaps for s in snaps_of(images[copy])), "the tag-copied CopyImage survives, with its snapshots")
    t.ok(all([im["ImageId"] for im in ours(images, i)] == [items[i]["image_created"]] or
             (i == fleet[0] and sorted(im["ImageId"] for im in ours(images, i)) == sorted([items[i]["image_created"], copy]))
             for i in fleet if i in items),
         "each instance keeps exactly one backup of this stack (and the copy)", {i: [im["Name"] for im in ours(images, i)] for i in fleet})


def check_call_log(t, directory, want):
    lines = []
    for name in sorted(os.listdir(directory)):
        if name.startswith("moto-") and name.endswith(".jsonl"):
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                lines += [json.loads(line) for line in f if line.strip()]
    suite = os.environ.get("EBSSH_SUITE", "")
    seen = {(x["service"], x["action"]) for x in lines if x.get("suite") == suite and x.get("status") == 200}
    for w in want:
        t.ok(w in seen, f"call log: {w[0]} {w[1]} answered 200 to the backup", sorted(seen))


def main():
    if not os.path.exists(DRIVER):
        print(f"1..0 # SKIP no {DRIVER}")
        return 0
    t = Tap()
    began = time.monotonic()
    own_log = None
    if not os.environ.get("EBSSH_CALL_LOG"):
        own_log = tempfile.mkdtemp(prefix="ebssh-call-log-")
        os.environ["EBSSH_CALL_LOG"] = own_log
    with MotoAws() as moto:
        world = World(moto)
        ec2 = moto.client("ec2")
        fleet, other = build_world(world, ec2)
        env = moto.client_env(EBSSH_STACK_NAME=STACK, BACKUP_MIN_INTERVAL=str(MIN_INTERVAL), EBSSH_AWS_RETRY_BASE_MS="20",
                              EBSSH_AWS_TIMEOUT_MS="10000", AWS_LAMBDA_FUNCTION_NAME=None, BACKUP_TAG_KEY=None)
        run = Runner(moto, env)
        t.run(check_world, ec2, fleet, other)
        state = {}
        t.run(check_fleet, run, ec2, fleet, other, state)
        if state.get("made"):
            t.run(check_copy, ec2, state, fleet)
        if state.get("made") and state.get("copy"):
            t.run(check_interval, run, ec2, state["made"], fleet, other, state["copy"])
        else:
            t.ok(False, "the fleet was backed up and copied: the interval and rotation checks need it")
        t.ok(sanitizer_clean(run.stderr), "backup_run: no sanitizer report", run.stderr[-3000:])
    t.run(check_call_log, os.environ["EBSSH_CALL_LOG"],
          [("ec2", a) for a in ("DescribeInstances", "DescribeImages", "DescribeSnapshots", "CreateImage", "DeregisterImage", "DeleteSnapshot")])
    diag(f"moto backup took {time.monotonic() - began:.1f} s")
    if own_log:
        for name in os.listdir(own_log):
            os.unlink(os.path.join(own_log, name))
        os.rmdir(own_log)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
