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
"""

import base64
import re
import secrets
import uuid

from . import ec2_console, ec2proto, models
from .ec2proto import ProtocolError
from .fixtures import STATE_CODES, FixtureError

VERSION = "2016-11-15"
XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"
_INSTANCE_ID = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")
_CONTROL_PARAMS = ("Action", "Version")


class Response:
    def __init__(self, status, body, content_type="text/xml;charset=UTF-8", headers=None):
        self.status = status
        self.body = body
        self.headers = [("Content-Type", content_type)] + list(headers or [])


class Ec2Error(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


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


def _filter_fn(name, values):
    patterns = [wildcard(v) for v in values]
    if name.startswith("tag:") and len(name) > 4:
        key = name[4:]
        return lambda i: _matches([v for k, v in i.tags if k == key], patterns)
    field = _FIELDS.get(name)
    if field is None:
        raise Ec2Error("InvalidParameterValue", f"The filter '{name}' is invalid")
    return lambda i: _matches(field(i), patterns)


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


class Ec2Service:
    name = "ec2"

    def __init__(self, state):
        self.state = state
        self._ops = {
            "DescribeInstances": self.describe_instances,
            "GetConsoleOutput": lambda args: ec2_console.get_console_output(self.state, args),
        }

    # -- what the server asks of every service ---------------------------

    def action(self, req):
        """The operation a request names (its Action), or ""."""
        return req.params.get("Action", "")

    def error(self, code, message, status):
        rid = str(uuid.uuid4())
        return Response(status, ec2proto.error_document(code, message, rid), headers=self._headers(rid))

    def auth_error(self, verdict):
        if verdict.code == "MissingAuthenticationToken":
            return self.error(
                "MissingAuthenticationToken",
                "Request must contain either a valid (registered) AWS access key ID or X.509 certificate.",
                401,
            )
        if verdict.code == "RequestExpired":
            return self.error("RequestExpired", "Request has expired.", 400)
        return self.error("AuthFailure", "AWS was not able to validate the provided access credentials", 401)

    def fault(self, fault):
        if fault.kind == "throttle":
            return self.error("RequestLimitExceeded", "Request limit exceeded.", 503)
        if fault.kind == "500":
            return self.error("InternalError", "An internal error has occurred", 500)
        if fault.kind == "unavailable":
            return self.error("Unavailable", "The server is overloaded and can't handle the request.", 503)
        if fault.kind == "authfailure":
            return self.error("AuthFailure", "AWS was not able to validate the provided access credentials", 401)
        if fault.kind == "error":
            return self.error(fault.code, fault.message, fault.status)
        raise ValueError(f"{fault} is not an answer")

    def handle(self, req):
        """Answers a request whose signature checked out."""
        try:
            return self._handle(req)
        except Ec2Error as e:
            return self.error(e.code, e.message, e.status)
        except ProtocolError as e:
            return self.error(e.code, e.message, 400)

    # -- the Query API -----------------------------------------------------

    def _headers(self, rid):
        return [
            ("x-amzn-RequestId", rid),
            ("Cache-Control", "no-cache, no-store"),
            ("Vary", "accept-encoding"),
        ]

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
        rid = str(uuid.uuid4())
        result = handler(args)
        body = ec2proto.document(f"{action}Response", XMLNS, rid, op.output_shape, result, extra=Ec2Service._extra(op))
        return Response(200, body, headers=self._headers(rid))

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
        if ids and max_results is not None:
            raise Ec2Error(
                "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults"
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
        for i in ids:
            if not _INSTANCE_ID.match(i):
                raise Ec2Error("InvalidInstanceID.Malformed", f'Invalid id: "{i}"')
        tests = []
        for f in filters:
            name = f.get("Name")
            if not name:
                raise Ec2Error("InvalidParameterValue", "The filter 'null' is invalid")
            values = f.get("Values")
            if not values:
                raise Ec2Error("InvalidParameterValue", f"The filter '{name}' must have at least one value")
            tests.append(_filter_fn(name, values))

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

        query = (tuple(sorted(wanted)), repr(filters))
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
        return {"Reservations": fixture.reservations(page), "NextToken": next_token}
