"""Builds a world in moto with boto3, only through AWS's own APIs (and the
launcher's clock, for launch and creation times apart): EC2 instances with
Elastic Beanstalk and Auto Scaling tags, stopped or terminated ones, images;
CloudWatch Logs groups and events; Lambda functions with published versions.

From a test:

    with MotoAws() as moto:
        world = World(moto)
        ids = world.launch({"elasticbeanstalk:environment-name": "web-prod",
                            "Name": "web-1"}, launch_time="2024-05-01T09:30:00Z")
        world.stop(ids)
        world.log_events("orders-api", [(ts_ms, "2024/05/01/[$LATEST]ab", "START RequestId: ...")])
        world.function("orders-api", versions=[3000, 4000], latest=5000)

From the shell (e.g. a demo against moto_server.py), one JSON spec:

    python3 tests/lib/moto_world.py --endpoint http://127.0.0.1:PORT world.json

prints what was made as JSON ({"instances": [{"id", "tags", "state",
"private_ip", "public_ip", "launch_time"}], "functions": [...], "log_groups":
[...]}). The spec (every key optional):

    {"instances": [{"tags": {...}, "state": "running"|"stopped"|"terminated",
                    "launch_time": "ISO 8601", "count": 1, "private_ip": "10.0.0.5",
                    "public_ip": true | false | "<address>"}],
     "logs": {"<function>": [{"timestamp_ms": n | "seconds_ago": s, "stream": "...", "message": "..."}]},
     "functions": [{"name": "...", "versions": [bytes, ...], "latest": bytes}]}

"public_ip": false launches without a public address; an address string
("127.0.0.2") gives the instance that Elastic IP (moto takes any address). "private_ip" launches
into the subnet whose range holds it (moto's default VPC is 172.31.0.0/16),
or into a VPC made of the address's /16 with a subnet of its /24. Instances
are launched in spec order; "launch_time" stops the launcher's clock there
for the launch (moto stamps LaunchTime at creation).
"""

import argparse
import io
import ipaddress
import json
import os
import sys
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from moto_aws import MotoAws  # noqa: E402

LAMBDA_ROLE = "ebssh-test-lambda-role"
LOG_GROUP_PREFIX = "/aws/lambda/"
BASE_IMAGE_NAME = "ebssh-test-base"


def code_zip(size, seed):
    """A deployment package of exactly size bytes: a zip holding one stored
    (uncompressed) file whose content repeats seed (bytes)."""
    overhead = len(_zip_of(b""))
    if size < overhead:
        raise ValueError(f"a package has at least {overhead} bytes, not {size}")
    data = _zip_of((seed * (size // len(seed) + 1))[: size - overhead])
    if len(data) != size:
        raise AssertionError(f"a package of {len(data)} bytes, not {size}")
    return data


def _zip_of(content):
    buf = io.BytesIO()
    info = zipfile.ZipInfo("index.py", date_time=(2024, 5, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(info, content)
    return buf.getvalue()


class World:
    """What a test (or the demo) made in one moto, through boto3."""

    def __init__(self, moto):
        self.moto = moto
        self.ec2 = moto.client("ec2")
        self.logs = moto.client("logs")
        self.awslambda = moto.client("lambda")
        self.iam = moto.client("iam")
        self._image = None
        self._role = None
        self._subnets = {}

    # -- EC2 ----------------------------------------------------------------

    def base_image(self):
        """An image of the account to launch from (RegisterImage, once): a
        "golden" image that no backup made and none may touch."""
        if self._image is None:
            self._image = self.ec2.register_image(
                Name=BASE_IMAGE_NAME, Description="the image the test instances launch from",
                RootDeviceName="/dev/xvda", Architecture="x86_64",
            )["ImageId"]
        return self._image

    def subnet(self, address=None):
        """A subnet id: the first (by zone) of moto's default VPC, or the
        subnet whose range holds address, made with a VPC of the address's
        /16 (and the subnet its /24) when none does."""
        key = address and ipaddress.ip_address(address)
        if key in self._subnets:
            return self._subnets[key]
        subnets = self.ec2.describe_subnets()["Subnets"]
        if key is None:
            default = [s for s in subnets if s.get("DefaultForAz")] or subnets
            subnet = sorted(default, key=lambda s: s["AvailabilityZone"])[0]["SubnetId"]
        else:
            holding = [s for s in subnets if key in ipaddress.ip_network(s["CidrBlock"])]
            if holding:
                subnet = holding[0]["SubnetId"]
            else:
                vpc = self.ec2.create_vpc(CidrBlock=str(ipaddress.ip_network(f"{address}/16", strict=False)))["Vpc"]["VpcId"]
                subnet = self.ec2.create_subnet(
                    VpcId=vpc, CidrBlock=str(ipaddress.ip_network(f"{address}/24", strict=False)))["Subnet"]["SubnetId"]
        self._subnets[key] = subnet
        return subnet

    def launch(self, tags, count=1, launch_time=None, public_ip=True, private_ip=None):
        """Launches count instances tagged tags (RunInstances with
        TagSpecifications), with a public address or not (public_ip True
        or False; an address string: that Elastic IP), at private_ip when
        given; launch_time (ISO 8601) stops the launcher's clock there
        for the launch, then gives the real time back. Returns the ids."""
        if (private_ip or isinstance(public_ip, str)) and count != 1:
            raise ValueError("an address names one instance")
        interface = {"DeviceIndex": 0, "SubnetId": self.subnet(private_ip), "AssociatePublicIpAddress": public_ip is True}
        if private_ip:
            interface["PrivateIpAddress"] = private_ip
        args = {
            "ImageId": self.base_image(),
            "MinCount": count,
            "MaxCount": count,
            "InstanceType": "t3.micro",
            "NetworkInterfaces": [interface],
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
        }
        if launch_time is not None:
            self.moto.set_clock(launch_time)
        try:
            made = [i["InstanceId"] for i in self.ec2.run_instances(**args)["Instances"]]
        finally:
            if launch_time is not None:
                self.moto.set_clock(None)
        if isinstance(public_ip, str):
            self.elastic_ip(made, public_ip)
        return made

    def elastic_ip(self, ids, address):
        """Gives the one instance of ids the public address address, as an
        Elastic IP (AllocateAddress with Address, then AssociateAddress)."""
        if len(ids) != 1:
            raise ValueError("an address names one instance")
        allocation = self.ec2.allocate_address(Domain="vpc", Address=address)["AllocationId"]
        self.ec2.associate_address(AllocationId=allocation, InstanceId=ids[0])

    def stop(self, ids):
        self.ec2.stop_instances(InstanceIds=list(ids))

    def terminate(self, ids):
        self.ec2.terminate_instances(InstanceIds=list(ids))

    def tag(self, ids, tags):
        """Sets tags on instances (or images, snapshots) after the fact."""
        self.ec2.create_tags(Resources=list(ids), Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    def image_of(self, instance_id, name, tags, created=None):
        """CreateImage of an instance, image and snapshots tagged tags (as
        the backup does); created (ISO 8601) stops the clock there so that
        CreationDate says so. Returns the image id."""
        spec = [{"Key": k, "Value": v} for k, v in tags.items()]
        if created is not None:
            self.moto.set_clock(created)
        try:
            return self.ec2.create_image(
                InstanceId=instance_id, Name=name, NoReboot=True,
                TagSpecifications=[{"ResourceType": "image", "Tags": spec}, {"ResourceType": "snapshot", "Tags": spec}],
            )["ImageId"]
        finally:
            if created is not None:
                self.moto.set_clock(None)

    # -- CloudWatch Logs ------------------------------------------------------

    def log_events(self, function, events):
        """Puts events [(timestamp_ms, stream, message)] into the function's
        log group /aws/lambda/<function>, made (with its streams) when new."""
        group = LOG_GROUP_PREFIX + function
        existing = self.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        if not any(g["logGroupName"] == group for g in existing):
            self.logs.create_log_group(logGroupName=group)
        by_stream = {}
        for ts, stream, message in events:
            by_stream.setdefault(stream, []).append({"timestamp": int(ts), "message": message})
        streams = {s["logStreamName"] for s in self.logs.describe_log_streams(logGroupName=group)["logStreams"]}
        for stream, batch in by_stream.items():
            if stream not in streams:
                self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
            batch.sort(key=lambda e: e["timestamp"])
            answer = self.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
            if answer.get("rejectedLogEventsInfo"):
                raise RuntimeError(f"CloudWatch Logs rejected events of {group}/{stream}: {answer['rejectedLogEventsInfo']}")
        return group

    # -- Lambda ---------------------------------------------------------------

    def role(self):
        """The execution role the functions name (IAM CreateRole, once):
        Lambda refuses a role that does not exist."""
        if self._role is None:
            trust = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }
            self._role = self.iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        return self._role

    def function(self, name, versions=(), latest=None):
        """A function whose published versions 1, 2, ... have packages of
        the given sizes in bytes, and whose $LATEST has latest bytes (the
        last version's package when None). Lambda never runs it."""
        sizes = list(versions) or [latest or 1024]
        seed = name.encode()
        self.awslambda.create_function(
            FunctionName=name, Runtime="python3.12", Role=self.role(), Handler="index.handler",
            Code={"ZipFile": code_zip(sizes[0], seed)}, Publish=bool(versions),
        )
        for i, size in enumerate(sizes[1:], start=2):
            self.awslambda.update_function_code(FunctionName=name, ZipFile=code_zip(size, seed + b"%d" % i))
            self.awslambda.publish_version(FunctionName=name)
        if latest is not None and versions:
            self.awslambda.update_function_code(FunctionName=name, ZipFile=code_zip(latest, seed + b"latest"))
        return name

    # -- a whole world from a spec -------------------------------------------

    def build(self, spec):
        """Builds the spec (see the module's docstring); returns what was
        made, as JSON-ready data read back through boto3."""
        made = []
        for item in spec.get("instances", []):
            ids = self.launch(item.get("tags", {}), item.get("count", 1), item.get("launch_time"),
                              item.get("public_ip", True), item.get("private_ip"))
            state = item.get("state", "running")
            if state == "stopped":
                self.stop(ids)
            elif state == "terminated":
                self.terminate(ids)
            elif state != "running":
                raise ValueError(f"state is running, stopped or terminated, not {state!r}")
            made += ids
        for function, events in spec.get("logs", {}).items():
            now_ms = int(time.time() * 1000)
            self.log_events(function, [
                (e["timestamp_ms"] if "timestamp_ms" in e else now_ms - int(e["seconds_ago"] * 1000), e["stream"], e["message"])
                for e in events])
        for fn in spec.get("functions", []):
            self.function(fn["name"], fn.get("versions", ()), fn.get("latest"))
        return self.describe(made)

    def describe(self, instance_ids=()):
        """The instances (those given, or all), functions and log groups as
        boto3 reads them back."""
        pages = self.ec2.get_paginator("describe_instances").paginate(
            **({"InstanceIds": list(instance_ids)} if instance_ids else {}))
        instances = [i for page in pages for r in page["Reservations"] for i in r["Instances"]]
        return {
            "instances": [
                {
                    "id": i["InstanceId"],
                    "tags": {t["Key"]: t["Value"] for t in i.get("Tags", [])},
                    "state": i["State"]["Name"],
                    "private_ip": i.get("PrivateIpAddress"),
                    "public_ip": i.get("PublicIpAddress"),
                    "launch_time": i["LaunchTime"].isoformat(),
                }
                for i in instances
            ],
            "functions": [f["FunctionName"] for f in self.awslambda.list_functions()["Functions"]],
            "log_groups": [g["logGroupName"] for g in self.logs.describe_log_groups()["logGroups"]],
        }


def main(argv=None):
    ap = argparse.ArgumentParser(description="Builds a world (a JSON spec) in a running moto_server.py.")
    ap.add_argument("--endpoint", required=True, help="the launcher's URL, http://127.0.0.1:PORT")
    ap.add_argument("spec", help="the world, a JSON file (- for stdin); format in this module's docstring")
    args = ap.parse_args(argv)
    with (sys.stdin if args.spec == "-" else open(args.spec, encoding="utf-8")) as f:
        spec = json.load(f)
    made = World(MotoAws.attach(args.endpoint)).build(spec)
    json.dump(made, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
