#!/usr/bin/python3
"""Self-test of the AWS double's AMI and snapshot calls, in TAP: CreateImage,
DescribeImages, DeregisterImage, DescribeSnapshots, DeleteSnapshot,
CreateTags, DisableImage and EnableImage driven with boto3 (and raw signed requests where the wire itself
is the point) against tests/doubles/fixtures/backup.json: state across calls,
EC2's errors, filters, pagination, the eventual-consistency knobs, seeds
the control view, image states (image_final_state, POST
/__control/image-state) and disabled images (IncludeDisabled).
"""

import os
import re
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import harness  # noqa: E402

harness.isolate_aws(os.environ)

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from harness import SESSION, AwsDouble, ControlError, boto3_client  # noqa: E402
from tap import Tap  # noqa: E402

FIXTURE = os.path.join(ROOT, "tests", "doubles", "fixtures", "backup.json")
VECTORS = os.environ.get("EBSSH_VECTORS") or os.path.join(ROOT, "tests", "vectors")
NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
WEB, DB, NONAME, OFF, TERMINATED = (
    "i-0b0000000000000a1",
    "i-0b0000000000000a2",
    "i-0b0000000000000a3",
    "i-0b0000000000000a4",
    "i-0b0000000000000a6",
)
AMI = re.compile(r"^ami-0[0-9a-f]{16}$")
SNAP = re.compile(r"^snap-0[0-9a-f]{16}$")


def code_of(fn):
    try:
        fn()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


def tagspec(instance):
    tags = [{"Key": "ebssh:backup-of", "Value": instance}, {"Key": "ebssh:managed", "Value": "true"}]
    return [{"ResourceType": "image", "Tags": tags}, {"ResourceType": "snapshot", "Tags": tags}]


def raw_post(aws, params):
    """A signed form POST; (status, body bytes)."""
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode(params).encode()
    req = AWSRequest(method="POST", url=aws.url + "/", data=body, headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(*SESSION), "ec2", "us-east-1").add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(prepared.url, data=body, method="POST", headers=dict(prepared.headers))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(r, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def newer_ec2_model(tmp):
    """Debian's botocore predates DescribeImages' MaxResults, NextToken and
    paginator, SourceInstanceId and DeregisterImage's answer: give boto3 its
    own EC2 model with the vectors' newer operations laid over it
    (AWS_DATA_PATH), the way the double reads them."""
    import json

    import botocore.loaders

    base = botocore.loaders.create_loader().load_service_model("ec2", "service-2")
    with open(os.path.join(VECTORS, "service-models", "ec2-2016-11-15-service-2.SUBSET.json"), encoding="utf-8") as f:
        subset = json.load(f)
    base["operations"].update(subset["operations"])
    base["shapes"].update(subset["shapes"])
    where = os.path.join(tmp, "ec2", "2016-11-15")
    os.makedirs(where)
    with open(os.path.join(where, "service-2.json"), "w", encoding="utf-8") as f:
        json.dump(base, f)
    with open(os.path.join(VECTORS, "service-models", "ec2-2016-11-15-paginators-1.json"), encoding="utf-8") as src:
        with open(os.path.join(where, "paginators-1.json"), "w", encoding="utf-8") as f:
            f.write(src.read())
    os.environ["AWS_DATA_PATH"] = tmp


def main():
    import tempfile

    t = Tap()
    tmp = tempfile.TemporaryDirectory()
    newer_ec2_model(tmp.name)
    with AwsDouble(fixture=FIXTURE) as aws:
        ec2 = boto3_client(aws, retries={"total_max_attempts": 1, "mode": "standard"})
        t.run(create_and_describe, aws, ec2)
        aws.reset()
        t.run(errors, aws, ec2)
        aws.reset()
        t.run(filters_and_pages, aws, ec2)
        aws.reset()
        t.run(deregister_and_delete, aws, ec2)
        aws.reset()
        t.run(consistency_knobs, aws, ec2)
        aws.reset()
        t.run(seeds_and_shared_snapshots, aws, ec2)
        aws.reset()
        t.run(wire_format, aws, ec2)
        aws.reset()
        t.run(image_states, aws, ec2)
        aws.reset()
        t.run(disabled_images, aws, ec2)
        aws.reset()
        t.run(faults_and_control, aws, ec2)
    return t.done()


def create_and_describe(t, aws, ec2):
    aws.config(clock="2024-05-01T09:30:00.000Z")
    r = ec2.create_image(InstanceId=DB, Name="db-1-20240501T0930Z", Description="d", NoReboot=True, TagSpecifications=tagspec(DB))
    image_id = r["ImageId"]
    t.ok(AMI.match(image_id), "CreateImage answers an ami-0 + 16 hex id", image_id)
    first = ec2.describe_images(ImageIds=[image_id])["Images"]
    second = ec2.describe_images(ImageIds=[image_id])["Images"]
    t.eq([i["State"] for i in first + second], ["pending", "available"], "pending in the first DescribeImages, then available")
    im = second[0]
    t.eq(im["Name"], "db-1-20240501T0930Z", "name kept")
    t.eq(im["CreationDate"], "2024-05-01T09:30:00.000Z", "CreationDate from the double's clock")
    t.eq(im["OwnerId"], "123456789012", "owner is the fixture's account")
    t.eq(im["SourceInstanceId"], DB, "SourceInstanceId")
    t.eq([d["DeviceName"] for d in im["BlockDeviceMappings"]], ["/dev/xvda", "/dev/sdf", "/dev/sdg"], "one mapping per volume of the instance")
    t.eq([d["Ebs"]["VolumeSize"] for d in im["BlockDeviceMappings"]], [8, 100, 50], "volume sizes")
    snaps = [d["Ebs"]["SnapshotId"] for d in im["BlockDeviceMappings"]]
    t.ok(all(SNAP.match(s) for s in snaps) and len(set(snaps)) == 3, "three distinct snapshots", snaps)
    t.eq(sorted((x["Key"], x["Value"]) for x in im["Tags"]), [("ebssh:backup-of", DB), ("ebssh:managed", "true")], "image tagged by TagSpecification image")
    listed = ec2.describe_snapshots(SnapshotIds=snaps)["Snapshots"]
    t.eq(sorted(s["SnapshotId"] for s in listed), sorted(snaps), "DescribeSnapshots by id lists them")
    t.ok(all(sorted((x["Key"], x["Value"]) for x in s["Tags"]) == [("ebssh:backup-of", DB), ("ebssh:managed", "true")] for s in listed), "snapshots tagged by TagSpecification snapshot")
    t.ok(all(re.fullmatch(rf"Created by CreateImage\({DB}\) for {image_id} from vol-0[0-9a-f]{{16}}", s["Description"]) for s in listed), "snapshot descriptions as CreateImage writes them", [s["Description"] for s in listed])
    view = aws.images()
    t.eq([i["NoReboot"] for i in view["images"]], [True], "control view records NoReboot")
    r2 = ec2.create_image(InstanceId=NONAME, Name="i-0b0000000000000a3-x", NoReboot=False, TagSpecifications=tagspec(NONAME)[:1])
    im2 = ec2.describe_images(ImageIds=[r2["ImageId"]])["Images"][0]
    t.ok(im2["CreationDate"] > im["CreationDate"], "a later image has a later CreationDate (same clock)", im2["CreationDate"])
    snap2 = [d["Ebs"]["SnapshotId"] for d in im2["BlockDeviceMappings"]]
    t.eq([s.get("Tags") for s in ec2.describe_snapshots(SnapshotIds=snap2)["Snapshots"]], [None, None], "no snapshot TagSpecification: untagged snapshots")
    t.eq(aws.images()["images"][1]["NoReboot"], False, "a stopped instance can be imaged; NoReboot false recorded")


def errors(t, aws, ec2):
    ec2.create_image(InstanceId=WEB, Name="web-1-20240501T0930Z", TagSpecifications=tagspec(WEB))
    t.eq(code_of(lambda: ec2.create_image(InstanceId=WEB, Name="web-1-20240501T0930Z")), "InvalidAMIName.Duplicate", "same name again: InvalidAMIName.Duplicate")
    t.eq(code_of(lambda: ec2.create_image(InstanceId=DB, Name="web-1-20240501T0930Z")), "InvalidAMIName.Duplicate", "names are per account, not per instance")
    def raw_code(name):
        status, body = raw_post(aws, {"Action": "CreateImage", "Version": "2016-11-15", "InstanceId": WEB, "Name": name})
        return status, ET.fromstring(body).findtext("Errors/Error/Code")

    t.eq(raw_code("ab"), (400, "InvalidAMIName.Malformed"), "a 2-character name: Malformed (boto3 would not send it)")
    t.eq(code_of(lambda: ec2.create_image(InstanceId=WEB, Name="a:b*c")), "InvalidAMIName.Malformed", "':' and '*' in a name: Malformed")
    t.eq(raw_code("x" * 129), (400, "InvalidAMIName.Malformed"), "129 characters: Malformed")
    t.eq(code_of(lambda: ec2.create_image(InstanceId=TERMINATED, Name="gone-1")), "IncorrectInstanceState", "a terminated instance: IncorrectInstanceState")
    t.eq(code_of(lambda: ec2.create_image(InstanceId="i-0b0000000000000ff", Name="nobody")), "InvalidInstanceID.NotFound", "an unknown instance: NotFound")
    t.eq(code_of(lambda: ec2.create_image(InstanceId="i-xyz", Name="nobody")), "InvalidInstanceID.Malformed", "a malformed instance id: Malformed")
    t.eq(code_of(lambda: ec2.create_image(InstanceId=WEB, Name="tagged", TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "k", "Value": "v"}]}])), "InvalidParameterValue", "TagSpecification of ResourceType instance: InvalidParameterValue")
    t.eq(code_of(lambda: ec2.create_image(InstanceId=WEB, Name="tagged", TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": "aws:x", "Value": "v"}]}])), "InvalidParameterValue", "an aws: tag key: InvalidParameterValue")
    t.eq(code_of(lambda: ec2.create_image(InstanceId=WEB, Name="dry", DryRun=True)), "DryRunOperation", "DryRun: DryRunOperation")
    t.eq(len(aws.images()["images"]), 1, "no failed CreateImage left an image")
    t.eq(code_of(lambda: ec2.describe_images(ImageIds=["ami-0000000000000000f"])), "InvalidAMIID.NotFound", "DescribeImages of an unknown id: InvalidAMIID.NotFound")
    t.eq(code_of(lambda: ec2.describe_images(ImageIds=["ami-x"])), "InvalidAMIID.Malformed", "a malformed image id: InvalidAMIID.Malformed")
    t.eq(code_of(lambda: ec2.describe_images(Owners=["self"], MaxResults=4)), "InvalidParameterValue", "DescribeImages MaxResults 4: InvalidParameterValue")
    t.eq(code_of(lambda: ec2.describe_images(ImageIds=["ami-0000000000000000f"], MaxResults=5)), "InvalidParameterCombination", "MaxResults with ImageIds: InvalidParameterCombination")
    t.eq(code_of(lambda: ec2.describe_images(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])), "InvalidParameterValue", "an unknown filter: InvalidParameterValue")
    t.eq(code_of(lambda: ec2.describe_snapshots(SnapshotIds=["snap-0000000000000000f"])), "InvalidSnapshot.NotFound", "DescribeSnapshots of an unknown id: InvalidSnapshot.NotFound")
    t.eq(code_of(lambda: ec2.deregister_image(ImageId="ami-0000000000000000f")), "InvalidAMIID.NotFound", "DeregisterImage of an unknown id: InvalidAMIID.NotFound")
    t.eq(code_of(lambda: ec2.delete_snapshot(SnapshotId="snap-0000000000000000f")), "InvalidSnapshot.NotFound", "DeleteSnapshot of an unknown id: InvalidSnapshot.NotFound")
    t.eq(code_of(lambda: ec2.create_tags(Resources=["ami-0000000000000000f"], Tags=[{"Key": "k", "Value": "v"}])), "InvalidAMIID.NotFound", "CreateTags on an unknown image: InvalidAMIID.NotFound")


def filters_and_pages(t, aws, ec2):
    ids = {}
    for n, inst in enumerate([WEB, WEB, DB, NONAME, WEB, WEB, WEB]):
        ids.setdefault(inst, []).append(ec2.create_image(InstanceId=inst, Name=f"img-{n}", TagSpecifications=tagspec(inst))["ImageId"])
    ec2.create_image(InstanceId=WEB, Name="untagged-1")

    def listed(**kw):
        out = []
        for page in ec2.get_paginator("describe_images").paginate(**kw):
            out += [i["ImageId"] for i in page["Images"]]
        return out

    mine = [{"Name": "tag:ebssh:backup-of", "Values": [WEB]}, {"Name": "tag:ebssh:managed", "Values": ["true"]}]
    t.eq(listed(Owners=["self"], Filters=mine), ids[WEB], "tag: filters select one instance's images, in creation order")
    t.eq(len(listed(Owners=["self"])), 8, "Owner self: every image")
    t.eq(listed(Owners=["210987654321"]), [], "another owner: none")
    t.eq(len(listed(Filters=[{"Name": "tag-key", "Values": ["ebssh:managed"]}])), 7, "tag-key filter")
    t.eq(listed(Filters=[{"Name": "name", "Values": ["img-?"]}, {"Name": "source-instance-id", "Values": [DB]}]), ids[DB], "name wildcard and source-instance-id")
    db_image = ec2.describe_images(ImageIds=ids[DB])["Images"][0]
    sdf = db_image["BlockDeviceMappings"][1]["Ebs"]["SnapshotId"]
    t.eq(listed(Owners=["self"], Filters=[{"Name": "block-device-mapping.snapshot-id", "Values": [sdf, "snap-0000000000000000e"]}]), ids[DB], "block-device-mapping.snapshot-id finds the image using a snapshot")
    aws.config(page_size=2)
    pages = list(ec2.get_paginator("describe_images").paginate(Owners=["self"], Filters=mine))
    t.eq([len(p["Images"]) for p in pages], [2, 2, 1], "page size 2: pages of 2, 2, 1")
    t.eq([i["ImageId"] for p in pages for i in p["Images"]], ids[WEB], "pages in order, nothing lost or repeated")
    pages = list(ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], Filters=[{"Name": "tag:ebssh:backup-of", "Values": [DB]}]))
    t.eq([len(p["Snapshots"]) for p in pages], [2, 1], "DescribeSnapshots pages too")
    t.eq(len(list(ec2.describe_snapshots(OwnerIds=["self"], MaxResults=5)["Snapshots"])), 2, "page size beats a larger MaxResults")
    aws.config(page_size=None)
    t.eq(len(ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]), 1 + 1 + 3 + 2 + 1 + 1 + 1 + 1, "one snapshot per volume of every image")
    tok = ec2.describe_images(Owners=["self"], MaxResults=5)["NextToken"]
    t.eq(code_of(lambda: ec2.describe_snapshots(OwnerIds=["self"], MaxResults=5, NextToken=tok)), "InvalidParameterValue", "a DescribeImages token is no DescribeSnapshots token")


def deregister_and_delete(t, aws, ec2):
    image_id = ec2.create_image(InstanceId=NONAME, Name="noname-1", TagSpecifications=tagspec(NONAME))["ImageId"]
    snaps = [d["Ebs"]["SnapshotId"] for d in ec2.describe_images(ImageIds=[image_id])["Images"][0]["BlockDeviceMappings"]]
    t.eq(code_of(lambda: ec2.delete_snapshot(SnapshotId=snaps[0])), "InvalidSnapshot.InUse", "DeleteSnapshot of an image's snapshot: InvalidSnapshot.InUse")
    try:
        ec2.delete_snapshot(SnapshotId=snaps[0])
    except ClientError as e:
        t.eq(e.response["Error"]["Message"], f"The snapshot {snaps[0]} is currently in use by {image_id}", "InUse names the image")
    t.eq(ec2.deregister_image(ImageId=image_id).get("Return"), True, "DeregisterImage answers return true")
    t.eq(ec2.describe_images(Owners=["self"])["Images"], [], "a deregistered image is no longer listed")
    t.eq(code_of(lambda: ec2.describe_images(ImageIds=[image_id])), "InvalidAMIID.NotFound", "nor found by id")
    t.eq(code_of(lambda: ec2.deregister_image(ImageId=image_id)), "InvalidAMIID.NotFound", "deregistering it again: InvalidAMIID.NotFound")
    for s in snaps:
        ec2.delete_snapshot(SnapshotId=s)
    t.eq(code_of(lambda: ec2.delete_snapshot(SnapshotId=snaps[0])), "InvalidSnapshot.NotFound", "a deleted snapshot: InvalidSnapshot.NotFound")
    t.eq(ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"], [], "deleted snapshots are not listed")
    view = aws.images()
    t.eq([(i["ImageId"], i["State"]) for i in view["images"]], [(image_id, "deregistered")], "control view keeps the deregistered image")
    t.eq(sorted(s["SnapshotId"] for s in view["snapshots"] if s["Deleted"]), sorted(snaps), "and the deleted snapshots, marked")


def consistency_knobs(t, aws, ec2):
    aws.config(image_invisible_describes=1, image_pending_describes=0, deregistered_visible_describes=1, snapshot_inuse_after_deregister=2)
    image_id = ec2.create_image(InstanceId=WEB, Name="web-k", TagSpecifications=tagspec(WEB))["ImageId"]
    t.eq(ec2.describe_images(Owners=["self"])["Images"], [], "image_invisible_describes 1: the first DescribeImages misses the new image")
    t.eq([i["State"] for i in ec2.describe_images(Owners=["self"])["Images"]], ["available"], "the next one lists it (pending 0: available)")
    snap = ec2.describe_images(ImageIds=[image_id])["Images"][0]["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    ec2.deregister_image(ImageId=image_id)
    t.eq(code_of(lambda: ec2.deregister_image(ImageId=image_id)), "InvalidAMIID.Unavailable", "deregistered but still visible: InvalidAMIID.Unavailable")
    listed = ec2.describe_images(Owners=["self"], Filters=[{"Name": "block-device-mapping.snapshot-id", "Values": [snap]}])["Images"]
    t.eq([(i["ImageId"], i["State"]) for i in listed], [(image_id, "deregistered")], "deregistered_visible_describes 1: listed once as deregistered, its mapping intact")
    t.eq(ec2.describe_images(Owners=["self"])["Images"], [], "then gone")
    t.eq([code_of(lambda: ec2.delete_snapshot(SnapshotId=snap)) for _ in range(3)], ["InvalidSnapshot.InUse", "InvalidSnapshot.InUse", None], "snapshot_inuse_after_deregister 2: InUse twice, then deleted")


def seeds_and_shared_snapshots(t, aws, ec2):
    shared = "snap-0aaaaaaaaaaaaaaa1"
    aws.seed_images(
        images=[
            {"id": "ami-0aaaaaaaaaaaaaaa1", "name": "web-1-old-a", "instance": WEB, "creation_date": "2024-04-01T09:30:00.000Z", "tags": {"ebssh:backup-of": WEB, "ebssh:managed": "true"}, "devices": [{"device": "/dev/xvda", "snapshot": shared}]},
            {"id": "ami-0aaaaaaaaaaaaaaa2", "name": "web-1-old-b", "instance": WEB, "creation_date": "2024-04-02T09:30:00.000Z", "tags": {"ebssh:backup-of": WEB, "ebssh:managed": "true"}, "devices": [{"device": "/dev/xvda", "snapshot": shared}, {"device": "/dev/sdf", "snapshot": "snap-0aaaaaaaaaaaaaaa2"}]},
        ],
        snapshots=[{"id": "snap-0aaaaaaaaaaaaaaa3", "tags": {"Name": "loose"}, "description": "mine", "start_time": "2024-03-01T00:00:00Z"}],
    )
    images = ec2.describe_images(Owners=["self"])["Images"]
    t.eq([(i["ImageId"], i["CreationDate"], i["State"]) for i in images], [("ami-0aaaaaaaaaaaaaaa1", "2024-04-01T09:30:00.000Z", "available"), ("ami-0aaaaaaaaaaaaaaa2", "2024-04-02T09:30:00.000Z", "available")], "seeded images listed as given")
    snaps = {s["SnapshotId"]: s for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    t.eq(sorted(snaps), [shared, "snap-0aaaaaaaaaaaaaaa2", "snap-0aaaaaaaaaaaaaaa3"], "a shared snapshot is made once; a loose one too")
    t.eq(snaps[shared]["Description"], f"Created by CreateImage({WEB}) for ami-0aaaaaaaaaaaaaaa1", "made snapshots described as CreateImage would")
    ec2.deregister_image(ImageId="ami-0aaaaaaaaaaaaaaa1")
    t.eq(code_of(lambda: ec2.delete_snapshot(SnapshotId=shared)), "InvalidSnapshot.InUse", "a shared snapshot stays in use while the other image lives")
    ec2.deregister_image(ImageId="ami-0aaaaaaaaaaaaaaa2")
    t.eq(code_of(lambda: ec2.delete_snapshot(SnapshotId=shared)), None, "deletable once both images are gone")
    ec2.create_tags(Resources=["snap-0aaaaaaaaaaaaaaa3"], Tags=[{"Key": "Name", "Value": "renamed"}, {"Key": "new", "Value": ""}])
    got = ec2.describe_snapshots(SnapshotIds=["snap-0aaaaaaaaaaaaaaa3"])["Snapshots"][0]["Tags"]
    t.eq(got, [{"Key": "Name", "Value": "renamed"}, {"Key": "new", "Value": ""}], "CreateTags replaces a value and adds a tag")
    try:
        aws.seed_images(images=[{"id": "ami-1", "name": "x"}])
        t.ok(False, "a malformed seed is refused")
    except ControlError as e:
        t.eq(e.status, 400, "a malformed seed is refused (400)")
    aws.clear_images()
    t.eq(aws.images(), {"images": [], "snapshots": []}, "DELETE /__control/images forgets them all")


def wire_format(t, aws, ec2):
    status, body = raw_post(aws, {"Action": "CreateImage", "Version": "2016-11-15", "InstanceId": WEB, "Name": "wire-1", "NoReboot": "true"})
    root = ET.fromstring(body)
    t.eq((status, root.tag, [c.tag for c in root]), (200, NS + "CreateImageResponse", [NS + "requestId", NS + "imageId"]), "CreateImageResponse: requestId, imageId")
    image_id = root.find(NS + "imageId").text
    status, body = raw_post(aws, {"Action": "CreateImage", "Version": "2016-11-15", "InstanceId": WEB, "Name": "wire-1"})
    root = ET.fromstring(body)
    t.eq((status, root.tag, root.findtext("Errors/Error/Code"), bool(root.findtext("RequestID"))), (400, "Response", "InvalidAMIName.Duplicate", True), "a duplicate is EC2's error body, HTTP 400")
    t.eq(root.findtext("Errors/Error/Message"), f"AMI name wire-1 is already in use by AMI {image_id}", "its message names the AMI")
    status, body = raw_post(aws, {"Action": "DescribeImages", "Version": "2016-11-15", "ImageId.1": image_id})
    root = ET.fromstring(body)
    item = root.find(f"{NS}imagesSet/{NS}item")
    t.ok(status == 200 and item is not None and item.findtext(f"{NS}imageState") == "pending" and item.find(f"{NS}blockDeviceMapping/{NS}item/{NS}ebs/{NS}snapshotId") is not None, "DescribeImages XML: imagesSet/item, imageState, blockDeviceMapping/item/ebs/snapshotId", body[:600])
    snap = item.findtext(f"{NS}blockDeviceMapping/{NS}item/{NS}ebs/{NS}snapshotId")
    status, body = raw_post(aws, {"Action": "DeregisterImage", "Version": "2016-11-15", "ImageId": image_id})
    root = ET.fromstring(body)
    t.eq((status, root.tag, root.findtext(NS + "return")), (200, NS + "DeregisterImageResponse", "true"), "DeregisterImageResponse: return true")
    status, body = raw_post(aws, {"Action": "DeleteSnapshot", "Version": "2016-11-15", "SnapshotId": snap})
    root = ET.fromstring(body)
    t.eq((status, root.tag, root.findtext(NS + "return")), (200, NS + "DeleteSnapshotResponse", "true"), "DeleteSnapshotResponse: return true (not in the model, as EC2 sends it)")
    status, body = raw_post(aws, {"Action": "DescribeSnapshots", "Version": "2016-11-15", "Owner.1": "self", "Filter.1.Name": "status", "Filter.1.Value.1": "completed"})
    t.eq((status, ET.fromstring(body).tag), (200, NS + "DescribeSnapshotsResponse"), "DescribeSnapshots by Owner.1 and Filter")
    status, body = raw_post(aws, {"Action": "CreateImage", "Version": "2016-11-15", "InstanceId": WEB, "Name": "wire-2", "TagSpecification.1.ResourceType": "image", "TagSpecification.1.Tag.1.Key": "k", "TagSpecification.1.Tag.1.Value": "v"})
    t.eq(status, 200, "TagSpecification.N.Tag.M.Key/Value is the wire form")


def image_states(t, aws, ec2):
    aws.config(image_pending_describes=1, image_final_state="failed")
    image_id = ec2.create_image(InstanceId=WEB, Name="web-f", TagSpecifications=tagspec(WEB))["ImageId"]
    t.eq([ec2.describe_images(ImageIds=[image_id])["Images"][0]["State"] for _ in range(3)], ["pending", "failed", "failed"],
         "image_final_state failed: pending, then failed, and it stays failed")
    t.eq(code_of(lambda: ec2.disable_image(ImageId=image_id)), "IncorrectState", "DisableImage of a failed image: IncorrectState")
    try:
        aws.config(image_final_state="disabled")
        t.ok(False, "image_final_state is available or failed only")
    except ControlError as e:
        t.eq(e.status, 400, "image_final_state disabled is refused (400)")
    aws.config(image_pending_describes=1000, image_final_state="available")
    stuck = ec2.create_image(InstanceId=DB, Name="db-p", TagSpecifications=tagspec(DB))["ImageId"]
    other = ec2.create_image(InstanceId=NONAME, Name="noname-p")["ImageId"]
    t.eq([ec2.describe_images(ImageIds=[stuck])["Images"][0]["State"] for _ in range(3)], ["pending"] * 3,
         "image_pending_describes 1000: pending, describe after describe")
    t.eq(aws.set_image_state(stuck, "available")["State"], "available", "POST /__control/image-state available answers the image")
    t.eq([ec2.describe_images(ImageIds=[stuck])["Images"][0]["State"] for _ in range(2)], ["available"] * 2, "then DescribeImages says available")
    aws.set_image_state(other, "failed")
    states = {i["ImageId"]: i["State"] for i in ec2.describe_images(Owners=["self"])["Images"]}
    t.eq((states.get(stuck), states.get(other)), ("available", "failed"), "a pending image made failed by the control: failed")
    t.eq(sorted(i["ImageId"] for i in ec2.describe_images(Owners=["self"], Filters=[{"Name": "state", "Values": ["failed"]}])["Images"]),
         sorted([image_id, other]), "the state filter sees the state the control set (and the final state)")
    aws.set_image_state(other, "pending")
    t.eq([ec2.describe_images(ImageIds=[other])["Images"][0]["State"] for _ in range(2)], ["pending"] * 2, "set back to pending: it stays pending")
    for bad in ({"ImageId": stuck, "State": "deregistered"}, {"ImageId": "ami-0000000000000000f", "State": "available"}):
        try:
            aws.control("image-state", bad)
            t.ok(False, f"the control refuses {bad}")
        except ControlError as e:
            t.eq(e.status, 400, f"the control refuses {bad['State']} of {bad['ImageId']} (400)")


def disabled_images(t, aws, ec2):
    """EC2 API Reference, DisableImage
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DisableImage.html):
    "Sets the AMI state to disabled ... A disabled AMI does not appear in
    DescribeImages API calls by default"; DescribeImages, IncludeDisabled
    (API_DescribeImages.html): "Specifies whether to include disabled AMIs.
    Default: No disabled AMIs are included in the response."; EnableImage
    (API_EnableImage.html): "Re-enables a disabled AMI. The re-enabled AMI is
    marked as available"."""
    aws.config(image_pending_describes=0, snapshot_pending_describes=0)
    frozen = ec2.create_image(InstanceId=DB, Name="db-frozen", TagSpecifications=tagspec(DB))["ImageId"]
    live = ec2.create_image(InstanceId=WEB, Name="web-live", TagSpecifications=tagspec(WEB))["ImageId"]
    snaps = [d["Ebs"]["SnapshotId"] for d in ec2.describe_images(ImageIds=[frozen])["Images"][0]["BlockDeviceMappings"]]

    def listed(**kw):
        return [(i["ImageId"], i["State"]) for i in ec2.describe_images(**kw)["Images"]]

    t.eq(listed(Owners=["self"]), [(frozen, "available"), (live, "available")], "both images listed before DisableImage")
    t.eq(ec2.disable_image(ImageId=frozen).get("Return"), True, "DisableImage answers Return true")
    t.eq(listed(Owners=["self"]), [(live, "available")], "DescribeImages without IncludeDisabled leaves the disabled image out")
    t.eq(listed(Owners=["self"], IncludeDisabled=False), [(live, "available")], "IncludeDisabled=false: left out too")
    t.eq(listed(Owners=["self"], IncludeDisabled=True), [(frozen, "disabled"), (live, "available")], "IncludeDisabled=true: listed in state disabled")
    t.eq(listed(ImageIds=[frozen]), [], "asked for by id without IncludeDisabled: an empty answer, no error")
    t.eq(listed(ImageIds=[frozen], IncludeDisabled=True), [(frozen, "disabled")], "by id with IncludeDisabled: listed")
    by_snap = [{"Name": "block-device-mapping.snapshot-id", "Values": [snaps[0]]}]
    t.eq((listed(Owners=["self"], Filters=by_snap), listed(Owners=["self"], Filters=by_snap, IncludeDisabled=True)),
         ([], [(frozen, "disabled")]), "block-device-mapping.snapshot-id finds the disabled image only with IncludeDisabled")
    t.eq(listed(Owners=["self"], IncludeDisabled=True, Filters=[{"Name": "state", "Values": ["disabled"]}]), [(frozen, "disabled")],
         "the state filter takes disabled")
    got = ec2.describe_snapshots(SnapshotIds=snaps)["Snapshots"]
    t.eq(sorted((s["SnapshotId"], s["State"]) for s in got), sorted((s, "completed") for s in snaps),
         "DescribeSnapshots still lists a disabled image's snapshots, completed")
    t.ok(all(f"for {frozen} from vol-" in s["Description"] for s in got), "their descriptions name the disabled image", [s["Description"] for s in got])
    t.eq(len([s for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"] if s["SnapshotId"] in snaps]), len(snaps),
         "and lists them by owner")
    t.eq(code_of(lambda: ec2.delete_snapshot(SnapshotId=snaps[0])), "InvalidSnapshot.InUse", "a disabled image's snapshot is in use (DeleteSnapshot)")
    t.eq(code_of(lambda: ec2.disable_image(ImageId=frozen)), "IncorrectState", "DisableImage of a disabled image: IncorrectState")
    t.eq(aws.images()["images"][0]["State"], "disabled", "the control view says disabled")

    t.eq(ec2.enable_image(ImageId=frozen).get("Return"), True, "EnableImage answers Return true")
    t.eq(listed(Owners=["self"]), [(frozen, "available"), (live, "available")], "re-enabled: listed again, available")
    t.eq(code_of(lambda: ec2.enable_image(ImageId=live)), "IncorrectState", "EnableImage of an image that is not disabled: IncorrectState")

    unknown = "ami-0000000000000000f"
    t.eq([code_of(lambda: ec2.disable_image(ImageId=unknown)), code_of(lambda: ec2.enable_image(ImageId=unknown))],
         ["InvalidAMIID.NotFound"] * 2, "DisableImage and EnableImage of an unknown image: InvalidAMIID.NotFound")
    t.eq([code_of(lambda: ec2.disable_image(ImageId="ami-x")), code_of(lambda: ec2.enable_image(ImageId="ami-x"))],
         ["InvalidAMIID.Malformed"] * 2, "of a malformed id: InvalidAMIID.Malformed")
    t.eq([code_of(lambda: ec2.disable_image(ImageId=live, DryRun=True)), code_of(lambda: ec2.enable_image(ImageId=frozen, DryRun=True))],
         ["DryRunOperation"] * 2, "DryRun: DryRunOperation")
    t.eq(listed(Owners=["self"]), [(frozen, "available"), (live, "available")], "the dry runs changed nothing")

    ec2.disable_image(ImageId=frozen)
    t.eq(ec2.deregister_image(ImageId=frozen).get("Return"), True, "a disabled image can be deregistered")
    t.eq(listed(Owners=["self"], IncludeDisabled=True), [(live, "available")], "then it is gone, IncludeDisabled or not")
    t.eq(code_of(lambda: ec2.enable_image(ImageId=frozen)), "InvalidAMIID.NotFound", "EnableImage of a deregistered image: InvalidAMIID.NotFound")
    t.eq([code_of(lambda: ec2.delete_snapshot(SnapshotId=s)) for s in snaps], [None] * len(snaps), "and its snapshots are free to delete")


def faults_and_control(t, aws, ec2):
    aws.queue_faults("CreateImage", ["throttle"])
    t.eq(code_of(lambda: ec2.create_image(InstanceId=WEB, Name="web-t")), "RequestLimitExceeded", "a queued throttle on CreateImage")
    t.eq(aws.images()["images"], [], "a throttled CreateImage made nothing")
    aws.queue_faults("DeleteSnapshot", ["error:InvalidSnapshot.InUse:400:busy"])
    image_id = ec2.create_image(InstanceId=WEB, Name="web-t")["ImageId"]
    snap = ec2.describe_images(ImageIds=[image_id])["Images"][0]["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    ec2.deregister_image(ImageId=image_id)
    t.eq(code_of(lambda: ec2.delete_snapshot(SnapshotId=snap)), "InvalidSnapshot.InUse", "an injected error code on DeleteSnapshot")
    t.eq(code_of(lambda: ec2.delete_snapshot(SnapshotId=snap)), None, "the next attempt deletes")
    cfg = aws.config(clock=1714555800, snapshot_pending_describes=0)
    t.eq((cfg["clock"], cfg["snapshot_pending_describes"], cfg["page_size"]), (1714555800, 0, None), "image knobs in /__control/config")
    try:
        aws.config(image_pending_describes=-1)
        t.ok(False, "a negative knob is refused")
    except ControlError as e:
        t.eq(e.status, 400, "a negative knob is refused (400)")
    aws.reset()
    t.eq((aws.images(), aws.config()["clock"], aws.config()["image_pending_describes"]), ({"images": [], "snapshots": []}, None, 1), "reset forgets images and knobs")


if __name__ == "__main__":
    sys.exit(main())
