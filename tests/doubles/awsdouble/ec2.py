"""EC2's Query API (protocol "ec2"): POST / with a form body, or GET with a
query; Action and Version=2016-11-15; XML answers; errors as
<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>.

Checks, in EC2's order once the signature is good: Action present and known
to the model (MissingAction / InvalidAction), Version (MissingParameter /
NoSuchVersion), every parameter known to the operation's input shape
(UnknownParameter, as EC2 answers "The parameter X is not recognized"), then
the operation. Operations the model knows but this double does not implement
answer UnsupportedOperation.

DescribeInstances serves the fixture: filters (tag:KEY, tag-key, tag-value,
instance-state-name, instance-state-code, instance-id, reservation-id,
availability-zone, instance-type, image-id, ip-address, private-ip-address,
vpc-id, subnet-id, key-name, launch-time) with EC2's wildcards (* and ?,
backslash escapes), InstanceId.N, DryRun, MaxResults (5..1000, not with
InstanceId), and pagination by the double's page size with opaque
nextTokens.

CreateImage, DescribeImages, DeregisterImage, DescribeSnapshots,
DeleteSnapshot and CreateTags keep AMIs and snapshots in state across
calls (images.py: what they model, and the seeds). DescribeImages takes
Owner.N ("self" is the fixture's owner), ImageId.N, ExecutableBy.N (ignored)
and the filters image-id, name, state, owner-id, description,
source-instance-id, block-device-mapping.{snapshot-id,device-name,
volume-size,volume-type}, root-device-type, root-device-name, image-type,
architecture, is-public, creation-date, hypervisor, virtualization-type,
tag:KEY, tag-key, tag-value; DescribeSnapshots Owner.N, SnapshotId.N and
snapshot-id, volume-id, status, owner-id, description, start-time,
volume-size, progress, tag:KEY, tag-key, tag-value. Both paginate like
DescribeInstances (MaxResults 5..1000, not with ids; the double's page size).
Answers without an output shape (DeleteSnapshot, CreateTags) carry
<return>true</return>, as EC2's do.
"""

import base64
import re
import secrets

from . import ec2_console, ec2proto, models
from .fixtures import STATE_CODES, FixtureError
from .service import Service, ServiceError, request_id

VERSION = "2016-11-15"
XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"
_INSTANCE_ID = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")
_CONTROL_PARAMS = ("Action", "Version")


class Ec2Error(ServiceError):
    """An error answer of the ec2 protocol."""


def wildcard(pattern):
    """EC2's filter value pattern as a compiled regex: * any run, ? one
    character, backslash escapes the next character."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _matches(values, patterns):
    return any(p.fullmatch(v) for v in values if v is not None for p in patterns)


_FIELDS = {
    "instance-state-name": lambda i: [i.state],
    "instance-state-code": lambda i: [str(STATE_CODES[i.state])],
    "instance-id": lambda i: [i.id],
    "reservation-id": lambda i: [i.reservation],
    "availability-zone": lambda i: [i.az],
    "instance-type": lambda i: [i.instance_type],
    "image-id": lambda i: [i.image_id],
    "ip-address": lambda i: [i.public_ip],
    "private-ip-address": lambda i: [i.private_ip],
    "vpc-id": lambda i: [i.vpc_id],
    "subnet-id": lambda i: [i.subnet_id],
    "key-name": lambda i: [i.raw.get("key_name")],
    "launch-time": lambda i: [i.launch_time],
    "tag-key": lambda i: [k for k, _ in i.tags],
    "tag-value": lambda i: [v for _, v in i.tags],
}


def _filter_fn(name, values, fields=None, tags_of=None):
    """A test of one Filter. fields maps filter names to a function giving an
    item's values; tags_of gives an item's [(key, value)] (the defaults:
    DescribeInstances' over fixture instances)."""
    fields = _FIELDS if fields is None else fields
    tags_of = tags_of or (lambda i: i.tags)
    patterns = [wildcard(v) for v in values]
    if name.startswith("tag:") and len(name) > 4:
        key = name[4:]
        return lambda i: _matches([v for k, v in tags_of(i) if k == key], patterns)
    if name == "tag-key":
        return lambda i: _matches([k for k, _ in tags_of(i)], patterns)
    if name == "tag-value":
        return lambda i: _matches([v for _, v in tags_of(i)], patterns)
    field = fields.get(name)
    if field is None:
        raise Ec2Error("InvalidParameterValue", f"The filter '{name}' is invalid")
    return lambda i: _matches(field(i), patterns)


def _boto_tags(item):
    return [(t["Key"], t["Value"]) for t in item.get("Tags") or []]


def _ebs(item, key):
    return [str(d["Ebs"][key]) for d in item.get("BlockDeviceMappings") or [] if "Ebs" in d and key in d["Ebs"]]


def _text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return None if v is None else str(v)


_IMAGE_FIELDS = {
    "image-id": lambda i: [i["ImageId"]],
    "name": lambda i: [i.get("Name")],
    "state": lambda i: [i["State"]],
    "owner-id": lambda i: [i["OwnerId"]],
    "description": lambda i: [i.get("Description")],
    "source-instance-id": lambda i: [i.get("SourceInstanceId")],
    "block-device-mapping.snapshot-id": lambda i: _ebs(i, "SnapshotId"),
    "block-device-mapping.volume-size": lambda i: _ebs(i, "VolumeSize"),
    "block-device-mapping.volume-type": lambda i: _ebs(i, "VolumeType"),
    "block-device-mapping.device-name": lambda i: [d["DeviceName"] for d in i.get("BlockDeviceMappings") or []],
    "root-device-type": lambda i: [i.get("RootDeviceType")],
    "root-device-name": lambda i: [i.get("RootDeviceName")],
    "image-type": lambda i: [i.get("ImageType")],
    "architecture": lambda i: [i.get("Architecture")],
    "is-public": lambda i: [_text(i.get("Public"))],
    "creation-date": lambda i: [i.get("CreationDate")],
    "hypervisor": lambda i: [i.get("Hypervisor")],
    "virtualization-type": lambda i: [i.get("VirtualizationType")],
}

_SNAPSHOT_FIELDS = {
    "snapshot-id": lambda s: [s["SnapshotId"]],
    "volume-id": lambda s: [s.get("VolumeId")],
    "status": lambda s: [s["State"]],
    "owner-id": lambda s: [s["OwnerId"]],
    "description": lambda s: [s.get("Description")],
    "start-time": lambda s: [s.get("StartTime")],
    "volume-size": lambda s: [_text(s.get("VolumeSize"))],
    "progress": lambda s: [s.get("Progress")],
}


def check_fixture(fixture):
    """Renders every instance through EC2's output model once, so a fixture
    EC2 could not have produced (a bad enum value, say) is refused when it
    is loaded. Raises FixtureError."""
    op = models.operation("ec2", "DescribeInstances")
    try:
        ec2proto.document(
            "DescribeInstancesResponse", XMLNS, "check", op.output_shape,
            {"Reservations": fixture.reservations(fixture.ordered)}, extra=Ec2Service._extra(op),
        )
    except ValueError as e:
        raise FixtureError(str(e)) from None


class Ec2Service(Service):
    name = "ec2"
    FAULTS = {
        "throttle": ("RequestLimitExceeded", "Request limit exceeded.", 503),
        "500": ("InternalError", "An internal error has occurred", 500),
        "unavailable": ("Unavailable", "The server is overloaded and can't handle the request.", 503),
        "authfailure": ("AuthFailure", "AWS was not able to validate the provided access credentials", 401),
    }
    AUTH = {
        "MissingAuthenticationToken": (
            "MissingAuthenticationToken",
            "Request must contain either a valid (registered) AWS access key ID or X.509 certificate.",
            401,
        ),
        "RequestExpired": ("RequestExpired", "Request has expired.", 400),
        None: ("AuthFailure", "AWS was not able to validate the provided access credentials", 401),
    }

    def __init__(self, state):
        super().__init__(state)
        self._ops = {
            "DescribeInstances": self.describe_instances,
            "GetConsoleOutput": lambda args: ec2_console.get_console_output(self.state, args),
            "CreateImage": self.create_image,
            "DescribeImages": self.describe_images,
            "DeregisterImage": self.deregister_image,
            "DisableImage": self.disable_image,
            "EnableImage": self.enable_image,
            "DescribeSnapshots": self.describe_snapshots,
            "DeleteSnapshot": self.delete_snapshot,
            "CreateTags": self.create_tags,
        }

    def headers(self, rid):
        return [
            ("x-amzn-RequestId", rid),
            ("Cache-Control", "no-cache, no-store"),
            ("Vary", "accept-encoding"),
        ]

    def error_body(self, code, message, rid, status):
        return ec2proto.error_document(code, message, rid)

    # -- the Query API -----------------------------------------------------

    def _handle(self, req):
        params = req.params
        action = params.get("Action")
        if not action:
            raise Ec2Error("MissingAction", "The request must contain the parameter Action")
        op = models.operation("ec2", action)
        if op is None:
            raise Ec2Error("InvalidAction", f"The action {action} is not valid for this web service.")
        version = params.get("Version")
        if version is None:
            raise Ec2Error("MissingParameter", "The request must contain the parameter Version")
        if version != VERSION:
            raise Ec2Error("NoSuchVersion", f"The requested version ({version}) of service AmazonEC2 does not exist")
        flat = {k: v for k, v in params.items() if k not in _CONTROL_PARAMS}
        args = ec2proto.decode_params(op.input_shape, flat)
        handler = self._ops.get(action)
        if handler is None:
            raise Ec2Error("UnsupportedOperation", f"The test double does not implement {action}.")
        if args.get("DryRun"):
            raise Ec2Error("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)
        rid = request_id()
        result = handler(args)
        if op.output_shape is None:
            body = ec2proto.return_document(f"{action}Response", XMLNS, rid)
        else:
            body = ec2proto.document(f"{action}Response", XMLNS, rid, op.output_shape, result, extra=Ec2Service._extra(op))
        return self.answer(200, body, rid)

    @staticmethod
    def _extra(op):
        """Elements outside EC2's model that fixtures may ask for: a tagSet
        inside a network interface item (see fixtures.py)."""
        if op.name != "DescribeInstances":
            return None
        instance = op.output_shape.members["Reservations"].member.members["Instances"].member
        return {("InstanceNetworkInterface", "TagSet"): ("tagSet", instance.members["Tags"])}

    # -- DescribeInstances -------------------------------------------------

    def describe_instances(self, args):
        ids = args.get("InstanceIds") or []
        filters = args.get("Filters") or []
        max_results = args.get("MaxResults")
        token = args.get("NextToken")
        self._check_max_results(max_results, ids, "instancesSet")
        for i in ids:
            if not _INSTANCE_ID.match(i):
                raise Ec2Error("InvalidInstanceID.Malformed", f'Invalid id: "{i}"')
        tests = self._filters(filters, _FIELDS, lambda i: i.tags)

        fixture = self.state.fixture
        if ids:
            known = {i.id for i in fixture.instances}
            missing = [i for i in dict.fromkeys(ids) if i not in known]
            if len(missing) == 1:
                raise Ec2Error("InvalidInstanceID.NotFound", f"The instance ID '{missing[0]}' does not exist")
            if missing:
                raise Ec2Error("InvalidInstanceID.NotFound", f"The instance IDs '{', '.join(missing)}' do not exist")
        wanted = set(ids)
        matched = [i for i in fixture.ordered if (not wanted or i.id in wanted) and all(t(i) for t in tests)]

        page, next_token = self._paginate("DescribeInstances", matched, max_results, token, (tuple(sorted(wanted)), repr(filters)))
        return {"Reservations": fixture.reservations(page), "NextToken": next_token}

    # -- pagination, shared by the Describe calls ----------------------------------

    @staticmethod
    def _check_max_results(max_results, ids, ids_param):
        if ids and max_results is not None:
            raise Ec2Error(
                "InvalidParameterCombination", f"The parameter {ids_param} cannot be used with the parameter maxResults"
            )
        if max_results is not None and max_results < 5:
            raise Ec2Error(
                "InvalidParameterValue",
                f"Value ( {max_results} ) for parameter maxResults is invalid. Expecting a value greater than 5.",
            )
        if max_results is not None and max_results > 1000:
            raise Ec2Error(
                "InvalidParameterValue",
                f"Value ( {max_results} ) for parameter maxResults is invalid. Expecting a value less than 1000.",
            )

    def _paginate(self, action, matched, max_results, token, query):
        """One page of matched and the nextToken after it (or None): pages of
        min(MaxResults, the double's page size); short_pages and
        empty_last_page as configured. A token is good for the same action
        and query only."""
        query = (action, query)
        offset, page_no = 0, 0
        if token is not None:
            got = self.state.token_get(token)
            if got is None or got[2] != query:
                raise Ec2Error(
                    "InvalidParameterValue", f"Value ( {token} ) for parameter nextToken is invalid. The token is invalid."
                )
            offset, page_no = got[0], got[1]
        cfg = self.state.config()
        limits = [n for n in (max_results, cfg.get("page_size")) if n]
        limit = min(limits) if limits else None
        if limit is not None and cfg.get("short_pages") and page_no % 2 == 1 and limit > 1:
            limit -= 1
        end = len(matched) if limit is None else min(len(matched), offset + limit)
        page = matched[offset:end]
        next_token = None
        more = end < len(matched) or (cfg.get("empty_last_page") and limit is not None and page and end == len(matched))
        if more:
            next_token = base64.b64encode(secrets.token_bytes(48)).decode()
            self.state.token_put(next_token, (end, page_no + 1, query))
        return page, next_token

    def _filters(self, filters, fields, tags_of=_boto_tags):
        tests = []
        for f in filters or []:
            name = f.get("Name")
            if not name:
                raise Ec2Error("InvalidParameterValue", "The filter 'null' is invalid")
            values = f.get("Values")
            if not values:
                raise Ec2Error("InvalidParameterValue", f"The filter '{name}' must have at least one value")
            tests.append(_filter_fn(name, values, fields, tags_of))
        return tests

    # -- images and snapshots (state in images.py) ----------------------------------

    def create_image(self, args):
        inst_id = args.get("InstanceId")
        if not inst_id:
            raise Ec2Error("MissingParameter", "The request must contain the parameter instanceId")
        if not _INSTANCE_ID.match(inst_id):
            raise Ec2Error("InvalidInstanceID.Malformed", f'Invalid id: "{inst_id}"')
        fixture = self.state.fixture
        inst = next((i for i in fixture.instances if i.id == inst_id), None)
        if inst is None:
            raise Ec2Error("InvalidInstanceID.NotFound", f"The instance ID '{inst_id}' does not exist")
        if args.get("BlockDeviceMappings"):
            raise Ec2Error("UnsupportedOperation", "The test double does not take BlockDeviceMapping in CreateImage.")
        return self.state.images.create_image(inst, args, fixture.owner_id)

    def describe_images(self, args):
        ids = args.get("ImageIds") or []
        max_results = args.get("MaxResults")
        self._check_max_results(max_results, ids, "imagesSet")
        tests = self._filters(args.get("Filters"), _IMAGE_FIELDS)
        page_key = (tuple(sorted(ids)), tuple(args.get("Owners") or []), repr(args.get("Filters")), bool(args.get("IncludeDisabled")))
        token = args.get("NextToken")
        if token is not None:  # a later page lists what the first one saw
            got = self.state.token_get(token)
            matched = got[3] if got and len(got) > 3 else []
        else:
            matched = self.state.images.describe_images(args.get("Owners"), ids, tests, self.state.fixture.owner_id, bool(args.get("IncludeDisabled")))
        page, next_token = self._paginate("DescribeImages", matched, max_results, token, page_key)
        if next_token is not None:
            self.state.token_put(next_token, self.state.token_get(next_token) + (matched,))
        return {"Images": page, "NextToken": next_token}

    def describe_snapshots(self, args):
        ids = args.get("SnapshotIds") or []
        max_results = args.get("MaxResults")
        self._check_max_results(max_results, ids, "snapshotSet")
        tests = self._filters(args.get("Filters"), _SNAPSHOT_FIELDS)
        page_key = (tuple(sorted(ids)), tuple(args.get("OwnerIds") or []), repr(args.get("Filters")))
        token = args.get("NextToken")
        if token is not None:
            got = self.state.token_get(token)
            matched = got[3] if got and len(got) > 3 else []
        else:
            matched = self.state.images.describe_snapshots(args.get("OwnerIds"), ids, tests, self.state.fixture.owner_id)
        page, next_token = self._paginate("DescribeSnapshots", matched, max_results, token, page_key)
        if next_token is not None:
            self.state.token_put(next_token, self.state.token_get(next_token) + (matched,))
        return {"Snapshots": page, "NextToken": next_token}

    def disable_image(self, args):
        if not args.get("ImageId"):
            raise Ec2Error("MissingParameter", "The request must contain the parameter imageId")
        return self.state.images.disable_image(args["ImageId"])

    def enable_image(self, args):
        if not args.get("ImageId"):
            raise Ec2Error("MissingParameter", "The request must contain the parameter imageId")
        return self.state.images.disable_image(args["ImageId"], enable=True)

    def deregister_image(self, args):
        if not args.get("ImageId"):
            raise Ec2Error("MissingParameter", "The request must contain the parameter imageId")
        if args.get("DeleteAssociatedSnapshots"):
            raise Ec2Error("UnsupportedOperation", "The test double does not take DeleteAssociatedSnapshots.")
        return self.state.images.deregister_image(args["ImageId"])

    def delete_snapshot(self, args):
        if not args.get("SnapshotId"):
            raise Ec2Error("MissingParameter", "The request must contain the parameter snapshotId")
        return self.state.images.delete_snapshot(args["SnapshotId"])

    def create_tags(self, args):
        if not args.get("Resources"):
            raise Ec2Error("MissingParameter", "The request must contain the parameter resourceIdSet")
        if not args.get("Tags"):
            raise Ec2Error("MissingParameter", "The request must contain the parameter tagSet")
        ids = {i.id for i in self.state.fixture.instances}
        return self.state.images.create_tags(args["Resources"], args["Tags"], ids)
