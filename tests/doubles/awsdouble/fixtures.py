"""The instance fixture: a compact JSON description of instances, expanded
into EC2's full DescribeInstances items.

A fixture is a list of instances, or {"owner_id": ..., "instances": [...]}
(other top-level keys, such as "_comment", are ignored). An instance:

  id            "i-" + 8 or 17 hex digits (required)
  state         pending|running|shutting-down|terminated|stopping|stopped (required)
  launch_time   "2024-05-01T09:30:00.000Z" (required)
  az            availability zone (default us-east-1a)
  public_ip     the instance's public IPv4, or null/absent (rendered whatever
                the state: a stopped instance with an Elastic IP keeps it)
  private_ip    the instance's private IPv4, or null/absent
  reservation   reservation id; instances sharing one are listed together
                (default: a reservation of its own)
  tags          {"key": "value", ...} in the order EC2 should list them
                (or boto3's [{"Key": ..., "Value": ...}])
  instance_type, image_id, key_name, subnet_id, vpc_id, owner_id
  security_groups  [{"id": "sg-...", "name": "..."}]
  network_interfaces  [{"id": "eni-...", "device_index": 0,
                "private_ip": ..., "public_ip": ..., "description": ...,
                "secondary_private_ips": [{"ip": ..., "public_ip": ...}],
                "tags": {...}}]
                default: one interface at device 0 carrying the instance's
                own addresses (none when the instance has no private IP).
  volumes       [{"device": "/dev/xvda", "size": 8, "volume_id": "vol-...",
                "type": "gp3"}]: the EBS volumes (1 to 16) CreateImage snapshots;
                default one 8 GiB /dev/xvda. The first is the root device.

A generated fleet: {"fleet": {"count": N, "environment": "my-env-fleet",
"interfaces": 3, "seed": "fleet"}} (count 1..20000; interfaces 1..8, default
alternating 2 and 3 per instance) stands for N running instances of one
Elastic Beanstalk environment as EC2 describes a real one: every instance has
its interfaces (each with a secondary private IP, the first with a public
address), two EBS volumes, a security group and Beanstalk's and
CloudFormation's tags. fleet() gives the same list of instances; other keys
of the object (owner_id) apply as for a list.

Interface tags are not part of EC2's DescribeInstances model; they are
rendered (as a tagSet inside the interface item) only when the fixture gives
them, so a parser can prove it reads only the instance's own tagSet.
"""

import hashlib
import json
import re

from .images import instance_volumes

STATE_CODES = {
    "pending": 0,
    "running": 16,
    "shutting-down": 32,
    "terminated": 48,
    "stopping": 64,
    "stopped": 80,
}
_ID = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")
_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z$")
_IPV4 = re.compile(r"^([0-9]{1,3}\.){3}[0-9]{1,3}$")
DEFAULT_OWNER = "123456789012"


class FixtureError(ValueError):
    pass


def _hexof(text, n):
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _ms(t):
    return t if "." in t else t[:-1] + ".000Z"


def _tags(tags, owner):
    """[(key, value)] from {"k": "v"} or boto3's [{"Key": "k", "Value": "v"}]."""
    if tags is None:
        return []
    if isinstance(tags, list) and all(isinstance(t, dict) and "Key" in t for t in tags):
        tags = {t["Key"]: t.get("Value", "") for t in tags}
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise FixtureError(f"{owner}: tags must be {{\"key\": \"value\"}} or [{{\"Key\": ..., \"Value\": ...}}]")
    return list(tags.items())


class Instance:
    """One fixture instance: the compact fields, and ec2_item() for EC2's
    full item."""

    def __init__(self, raw, owner_id):
        if not isinstance(raw, dict):
            raise FixtureError(f"an instance must be an object, not {raw!r}")
        self.raw = raw
        self.id = raw.get("id")
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise FixtureError(f"bad instance id {self.id!r}")
        self.state = raw.get("state")
        if self.state not in STATE_CODES:
            raise FixtureError(f"{self.id}: bad state {self.state!r}")
        self.launch_time = raw.get("launch_time")
        if not isinstance(self.launch_time, str) or not _TIME.match(self.launch_time):
            raise FixtureError(f"{self.id}: bad launch_time {self.launch_time!r}")
        self.launch_time = _ms(self.launch_time)
        self.az = raw.get("az", "us-east-1a")
        self.region = self.az[:-1] if self.az[-1:].isalpha() else self.az
        self.public_ip = raw.get("public_ip")
        self.private_ip = raw.get("private_ip")
        for ip in (self.public_ip, self.private_ip):
            if ip is not None and not (isinstance(ip, str) and _IPV4.match(ip)):
                raise FixtureError(f"{self.id}: bad address {ip!r}")
        self.reservation = raw.get("reservation") or ("r-" + _hexof(self.id, 17))
        self.owner_id = raw.get("owner_id", owner_id)
        self.tags = _tags(raw.get("tags"), self.id)
        self.instance_type = raw.get("instance_type", "t3.micro")
        self.image_id = raw.get("image_id", "ami-0" + _hexof("ami" + self.id, 16))
        self.subnet_id = raw.get("subnet_id", "subnet-0" + _hexof("subnet" + self.az, 16))
        self.vpc_id = raw.get("vpc_id", "vpc-0" + _hexof("vpc" + self.region, 16))
        self.groups = raw.get("security_groups") or [
            {"id": "sg-0" + _hexof("sg" + self.vpc_id, 16), "name": "default"}
        ]
        nis = raw.get("network_interfaces")
        if nis is None:
            nis = []
            if self.private_ip is not None:
                nis = [{"device_index": 0, "private_ip": self.private_ip, "public_ip": self.public_ip}]
        if not isinstance(nis, list):
            raise FixtureError(f"{self.id}: network_interfaces must be a list")
        self.network_interfaces = nis
        try:
            self.volumes = instance_volumes(self)
        except ValueError as e:
            raise FixtureError(str(e)) from None

    def tag(self, key):
        for k, v in self.tags:
            if k == key:
                return v
        return None

    def _dns(self, ip, public):
        dashed = ip.replace(".", "-")
        if self.region == "us-east-1":
            return f"ec2-{dashed}.compute-1.amazonaws.com" if public else f"ip-{dashed}.ec2.internal"
        if public:
            return f"ec2-{dashed}.{self.region}.compute.amazonaws.com"
        return f"ip-{dashed}.{self.region}.compute.internal"

    def _association(self, public_ip):
        if public_ip is None:
            return None
        return {"PublicIp": public_ip, "PublicDnsName": self._dns(public_ip, True), "IpOwnerId": "amazon"}

    def _groups(self):
        return [{"GroupId": g["id"], "GroupName": g["name"]} for g in self.groups]

    def _interface(self, ni, n):
        if not isinstance(ni, dict):
            raise FixtureError(f"{self.id}: a network interface must be an object")
        eni = ni.get("id") or ("eni-0" + _hexof(f"{self.id}/{n}", 16))
        private_ip = ni.get("private_ip")
        public_ip = ni.get("public_ip")
        mac = "0a:" + ":".join(_hexof(eni, 10)[i : i + 2] for i in range(0, 10, 2))
        addresses = []
        if private_ip is not None:
            addresses.append(
                {
                    "PrivateIpAddress": private_ip,
                    "PrivateDnsName": self._dns(private_ip, False),
                    "Primary": True,
                    "Association": self._association(public_ip),
                }
            )
        for sec in ni.get("secondary_private_ips", []):
            addresses.append(
                {
                    "PrivateIpAddress": sec["ip"],
                    "PrivateDnsName": self._dns(sec["ip"], False),
                    "Primary": False,
                    "Association": self._association(sec.get("public_ip")),
                }
            )
        item = {
            "NetworkInterfaceId": eni,
            "SubnetId": ni.get("subnet_id", self.subnet_id),
            "VpcId": self.vpc_id,
            "Description": ni.get("description", ""),
            "OwnerId": self.owner_id,
            "Status": "in-use",
            "MacAddress": mac,
            "PrivateIpAddress": private_ip,
            "PrivateDnsName": self._dns(private_ip, False) if private_ip else None,
            "SourceDestCheck": True,
            "Groups": self._groups(),
            "Attachment": {
                "AttachmentId": "eni-attach-0" + _hexof("att" + eni, 16),
                "DeviceIndex": ni.get("device_index", n),
                "Status": "attached",
                "AttachTime": self.launch_time,
                "DeleteOnTermination": ni.get("device_index", n) == 0,
                "NetworkCardIndex": 0,
            },
            "Association": self._association(public_ip),
            "PrivateIpAddresses": addresses,
            "Ipv6Addresses": [],
            "InterfaceType": "interface",
        }
        if "tags" in ni:
            item["TagSet"] = [{"Key": k, "Value": v} for k, v in _tags(ni["tags"], eni)]
        return item

    def ec2_item(self, launch_index=0):
        """The instance as EC2's Instance shape, members in EC2's own order."""
        running_like = self.state in ("pending", "running", "stopping", "shutting-down")
        public_ip = self.public_ip
        terminated = self.state == "terminated"
        item = {
            "InstanceId": self.id,
            "ImageId": self.image_id,
            "State": {"Code": STATE_CODES[self.state], "Name": self.state},
            "PrivateDnsName": "" if terminated or not self.private_ip else self._dns(self.private_ip, False),
            "PublicDnsName": self._dns(public_ip, True) if public_ip else "",
            "StateTransitionReason": "" if running_like else f"User initiated ({self.launch_time[:10]} 12:00:00 GMT)",
            "KeyName": self.raw.get("key_name"),
            "AmiLaunchIndex": launch_index,
            "ProductCodes": [],
            "InstanceType": self.instance_type,
            "LaunchTime": self.launch_time,
            "Placement": {"AvailabilityZone": self.az, "GroupName": "", "Tenancy": "default"},
            "Monitoring": {"State": "disabled"},
            "SubnetId": None if terminated else self.subnet_id,
            "VpcId": None if terminated else self.vpc_id,
            "PrivateIpAddress": None if terminated else self.private_ip,
            "PublicIpAddress": public_ip,
            "StateReason": None
            if running_like
            else {
                "Code": "Client.UserInitiatedShutdown",
                "Message": "Client.UserInitiatedShutdown: User initiated shutdown",
            },
            "SourceDestCheck": None if terminated else True,
            "SecurityGroups": [] if terminated else self._groups(),
            "Architecture": "x86_64",
            "RootDeviceType": "ebs",
            "RootDeviceName": "/dev/xvda",
            "BlockDeviceMappings": []
            if terminated
            else [
                {
                    "DeviceName": v["device"],
                    "Ebs": {
                        "VolumeId": v["volume_id"],
                        "Status": "attached",
                        "AttachTime": self.launch_time,
                        "DeleteOnTermination": n == 0,
                    },
                }
                for n, v in enumerate(self.volumes)
            ],
            "VirtualizationType": "hvm",
            "ClientToken": "",
            "Tags": [{"Key": k, "Value": v} for k, v in self.tags] or None,
            "Hypervisor": "xen",
            "NetworkInterfaces": [] if terminated else [self._interface(ni, n) for n, ni in enumerate(self.network_interfaces)],
            "EbsOptimized": False,
            "EnaSupport": True,
            "CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 2},
            "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
            "HibernationOptions": {"Configured": False},
            "MetadataOptions": {
                "State": "applied",
                "HttpTokens": "required",
                "HttpPutResponseHopLimit": 2,
                "HttpEndpoint": "enabled",
                "HttpProtocolIpv6": "disabled",
                "InstanceMetadataTags": "disabled",
            },
            "EnclaveOptions": {"Enabled": False},
            "BootMode": "uefi-preferred",
            "PlatformDetails": "Linux/UNIX",
            "UsageOperation": "RunInstances",
            "UsageOperationUpdateTime": self.launch_time,
            "PrivateDnsNameOptions": {
                "HostnameType": "ip-name",
                "EnableResourceNameDnsARecord": False,
                "EnableResourceNameDnsAAAARecord": False,
            },
            "MaintenanceOptions": {"AutoRecovery": "default"},
            "CurrentInstanceBootMode": "legacy-bios",
        }
        return item


def fleet(count, environment="my-env-fleet", interfaces=None, seed="fleet"):
    """count running instances of one environment, EC2-sized (see above)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 20000:
        raise FixtureError("fleet: count must be 1..20000")
    if interfaces is not None and (isinstance(interfaces, bool) or not isinstance(interfaces, int) or not 1 <= interfaces <= 8):
        raise FixtureError("fleet: interfaces must be 1..8")
    env_id = "e-" + _hexof(seed + environment, 10)
    stack = f"awseb-{env_id}-stack"
    out = []
    for n in range(count):
        hx = _hexof(f"{seed}/{n}", 17)
        a, b = divmod(n, 250)
        private = f"10.{16 + a // 250}.{a % 250}.{b + 4}"
        public = f"{3 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}.{(n * 7) % 250 + 1}"
        nis = []
        for k in range(interfaces or (2 + n % 2)):
            ip = private if k == 0 else f"10.{100 + k}.{a % 250}.{b + 4}"
            nis.append({
                "device_index": k,
                "private_ip": ip,
                "public_ip": public if k == 0 else None,
                "description": "" if k == 0 else f"fleet interface {k}",
                "secondary_private_ips": [{"ip": f"10.{200 + k}.{a % 250}.{b + 4}"}],
            })
        out.append({
            "id": "i-" + hx,
            "state": "running",
            "launch_time": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{(n // 60) % 60:02d}.000Z",
            "az": "us-east-1" + "abc"[n % 3],
            "public_ip": public,
            "private_ip": private,
            "instance_type": "m5.large",
            "key_name": "deploy",
            "network_interfaces": nis,
            "volumes": [
                {"device": "/dev/xvda", "size": 8, "volume_id": "vol-0" + _hexof("v0" + hx, 16), "type": "gp3"},
                {"device": "/dev/xvdb", "size": 100, "volume_id": "vol-0" + _hexof("v1" + hx, 16), "type": "gp3"},
            ],
            "tags": {
                "elasticbeanstalk:environment-name": environment,
                "elasticbeanstalk:environment-id": env_id,
                "aws:autoscaling:groupName": f"{stack}-AWSEBAutoScalingGroup-{_hexof(stack, 12).upper()}",
                "aws:cloudformation:stack-name": stack,
                "aws:cloudformation:stack-id": f"arn:aws:cloudformation:us-east-1:{DEFAULT_OWNER}:stack/{stack}/{_hexof(stack, 8)}-0000-11ef-0000-0a1b2c3d4e5f",
                "aws:cloudformation:logical-id": "AWSEBAutoScalingGroup",
                "aws:ec2launchtemplate:id": "lt-0" + _hexof("lt" + stack, 16),
                "aws:ec2launchtemplate:version": "1",
                "Name": environment,
            },
        })
    return out


class Fixture:
    """An ordered set of instances grouped into reservations."""

    def __init__(self, data):
        owner = DEFAULT_OWNER
        if isinstance(data, dict):
            owner = data.get("owner_id", owner)
            spec = data.get("fleet")
            if isinstance(spec, dict):
                unknown = set(spec) - {"count", "environment", "interfaces", "seed"}
                if unknown:
                    raise FixtureError(f"fleet: unknown keys {sorted(unknown)}")
                data = {"instances": fleet(**spec)}
            elif spec is not None:
                raise FixtureError("fleet must be an object")
            data = data.get("instances")
        if not isinstance(data, list):
            raise FixtureError("a fixture is a list of instances or {\"instances\": [...]}")
        self.owner_id = owner
        self.instances = [Instance(raw, owner) for raw in data]
        seen = set()
        for inst in self.instances:
            if inst.id in seen:
                raise FixtureError(f"instance {inst.id} appears twice")
            seen.add(inst.id)
        # Instances in reservation order (first appearance), then fixture order.
        order = []
        groups = {}
        for inst in self.instances:
            if inst.reservation not in groups:
                groups[inst.reservation] = []
                order.append(inst.reservation)
            groups[inst.reservation].append(inst)
        self.ordered = [inst for r in order for inst in groups[r]]
        self.launch_index = {inst.id: n for r in order for n, inst in enumerate(groups[r])}
        # Every instance must expand; fail at load, not at request.
        for inst in self.instances:
            try:
                inst.ec2_item()
            except (KeyError, TypeError, AttributeError, IndexError) as e:
                raise FixtureError(f"{inst.id}: {type(e).__name__} {e}") from None

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            try:
                return cls(json.load(f))
            except json.JSONDecodeError as e:
                raise FixtureError(f"{path}: {e}") from None

    def reservations(self, instances):
        """Groups consecutive instances (in self.ordered order) into EC2
        Reservation dicts."""
        out = []
        for inst in instances:
            if not out or out[-1]["ReservationId"] != inst.reservation:
                out.append(
                    {
                        "ReservationId": inst.reservation,
                        "OwnerId": inst.owner_id,
                        "Groups": [],
                        "Instances": [],
                    }
                )
            out[-1]["Instances"].append(inst.ec2_item(self.launch_index[inst.id]))
        return out
