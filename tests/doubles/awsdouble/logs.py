"""CloudWatch Logs (protocol "json" 1.1, signing name "logs"): POST / with
X-Amz-Target Logs_20140328.<Operation> and a JSON body; JSON answers;
errors as {"__type": "<Code>", "message": "..."} with x-amzn-RequestId.

Checks, once the signature is good: the target (UnknownOperationException
for a wrong prefix or an operation the model lacks), the content type,
the body (SerializationException for bad JSON, a member the model does not
have, or a value of the wrong type), then the operation. Operations the
model knows but this double does not implement answer
UnsupportedOperation (a JSON error, 400).

FilterLogEvents serves the log fixture (see LogsFixture): logGroupName (or
logGroupIdentifier, a name or an ARN), filterPattern (terms and "quoted
phrases", each of which must occur in the message; metric and JSON
patterns are refused with InvalidParameterException), startTime/endTime
(inclusive, ms), logStreamNames, logStreamNamePrefix, limit (1..10000).
Events come back in fixture order, page_size per page, with opaque
nextTokens; empty_pages empty pages (with a nextToken) come first, as
CloudWatch Logs answers while it is still searching streams. Errors, with
AWS's own messages: ResourceNotFoundException "The specified log group
does not exist." (400), InvalidParameterException (a bad limit, a bad
nextToken, start after end), ThrottlingException "Rate exceeded" (400)
as a fault.

Control (/__control/logs/...):
  POST fixture   {"groups": {"/aws/lambda/fn": [{"timestamp": ms, "stream": "s",
                  "message": "m", "id": "optional"}]}}
  GET|POST config   {"page_size": n|null, "empty_pages": n}
"""

import base64
import json
import re
import secrets

from . import models
from .service import Service, ServiceError, page_size_problem

TARGET_PREFIX = "Logs_20140328."
CONTENT_TYPE = "application/x-amz-json-1.1"
_ARN = re.compile(r"^arn:aws[a-z-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:(?P<name>[^:]+)(:\*)?$")
_GROUP = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")
DEFAULT_CONFIG = {"page_size": None, "empty_pages": 0}


def _empty_pages_problem(v):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        return "empty_pages must be an integer >= 0"
    return None


_CONFIG_CHECKS = {"page_size": page_size_problem, "empty_pages": _empty_pages_problem}


class LogsError(ServiceError):
    """An error answer of the JSON protocol."""


class LogsFixture:
    """{"groups": {name: [event, ...]}}; an event is {"timestamp": ms,
    "stream": name, "message": text, "id": optional event id}."""

    def __init__(self, data):
        if not isinstance(data, dict) or not isinstance(data.get("groups"), dict):
            raise ValueError('a logs fixture is {"groups": {name: [events]}}')
        self.groups = {}
        n = 0
        for name, events in data["groups"].items():
            if not _GROUP.match(name):
                raise ValueError(f"bad log group name {name!r}")
            if not isinstance(events, list):
                raise ValueError(f"group {name}: events must be a list")
            out = []
            for ev in events:
                if not isinstance(ev, dict) or not isinstance(ev.get("timestamp"), int):
                    raise ValueError(f"group {name}: an event needs an integer timestamp")
                if not isinstance(ev.get("stream"), str) or not isinstance(ev.get("message"), str):
                    raise ValueError(f"group {name}: an event needs a stream and a message")
                n += 1
                out.append(
                    {
                        "timestamp": ev["timestamp"],
                        "stream": ev["stream"],
                        "message": ev["message"],
                        "id": str(ev.get("id") or f"{ev['timestamp']:020d}{n:036d}"),
                    }
                )
            self.groups[name] = out

    def size(self):
        return sum(len(v) for v in self.groups.values())


def _terms(pattern):
    """The terms of a filter pattern: bare words and "quoted phrases"."""
    if pattern is None or pattern.strip() == "":
        return []
    p = pattern.strip()
    if p[0] in "{[":
        raise LogsError("InvalidParameterException", "The double supports only term filter patterns")
    terms = []
    i = 0
    while i < len(p):
        c = p[i]
        if c.isspace():
            i += 1
            continue
        if c == '"':
            j = i + 1
            buf = []
            while j < len(p) and p[j] != '"':
                if p[j] == "\\" and j + 1 < len(p):
                    j += 1
                buf.append(p[j])
                j += 1
            if j >= len(p):
                raise LogsError("InvalidParameterException", "Invalid filter pattern: unterminated quote")
            terms.append("".join(buf))
            i = j + 1
            continue
        j = i
        while j < len(p) and not p[j].isspace():
            j += 1
        word = p[i:j]
        if not re.match(r"^[A-Za-z0-9_]+$", word):
            raise LogsError(
                "InvalidParameterException",
                "Invalid character(s) in term '%s'" % word,
            )
        terms.append(word)
        i = j
    return terms


class LogsService(Service):
    name = "logs"
    content_type = CONTENT_TYPE
    FAULTS = {
        "throttle": ("ThrottlingException", "Rate exceeded", 400),
        "500": ("ServiceUnavailableException", "The service cannot complete the request.", 500),
        "unavailable": ("ServiceUnavailableException", "The service is unavailable.", 503),
        "authfailure": ("UnrecognizedClientException", "The security token included in the request is invalid.", 400),
    }
    AUTH = {
        "MissingAuthenticationToken": ("MissingAuthenticationTokenException", "Missing Authentication Token", 400),
        "RequestExpired": ("InvalidSignatureException", "Signature expired.", 400),
        None: ("InvalidSignatureException", "The request signature we calculated does not match the signature you provided.", 400),
    }

    def __init__(self, state, fixture=None):
        self._initial = fixture or LogsFixture({"groups": {}})
        super().__init__(state)

    def reset(self):
        with self._lock:
            self.fixture = self._initial
            self._config = dict(DEFAULT_CONFIG)
            self._tokens = {}

    # -- what the server asks of every service -----------------------------

    def action(self, req):
        target = req.header("X-Amz-Target") or ""
        return target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else target

    def params(self, req):
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def error_body(self, code, message, rid, status):
        return json.dumps({"__type": code, "message": message}).encode()

    # -- control ------------------------------------------------------------

    def control(self, method, route, data):
        if route == "fixture" and method == "POST":
            fixture = LogsFixture(data)
            with self._lock:
                self.fixture = fixture
                self._tokens = {}
            return 200, {"events": fixture.size()}
        if route == "config" and method in ("GET", "POST"):
            return self.config_control(method, data, _CONFIG_CHECKS)
        return self.no_route(method, route)

    # -- the JSON protocol ----------------------------------------------------

    def _handle(self, req):
        if req.method != "POST" or req.path != "/":
            raise LogsError("UnknownOperationException", "", 404)
        target = req.header("X-Amz-Target") or ""
        if not target.startswith(TARGET_PREFIX):
            raise LogsError("UnknownOperationException", "")
        name = target[len(TARGET_PREFIX) :]
        op = models.operation("logs", name)
        if op is None:
            raise LogsError("UnknownOperationException", "")
        ctype = (req.header("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != CONTENT_TYPE:
            raise LogsError("SerializationException", f"Unexpected content type {ctype or 'none'}")
        try:
            args = json.loads(req.body or b"{}")
        except ValueError:
            raise LogsError("SerializationException", "Start of structure or map found where not expected.") from None
        if not isinstance(args, dict):
            raise LogsError("SerializationException", "Start of list found where not expected")
        _check_members(op.input_shape, args)
        if name != "FilterLogEvents":
            raise LogsError("UnsupportedOperation", f"The test double does not implement {name}.")
        return self.answer(200, json.dumps(self.filter_log_events(args)).encode())

    # -- FilterLogEvents ------------------------------------------------------

    def filter_log_events(self, args):
        group = args.get("logGroupName")
        ident = args.get("logGroupIdentifier")
        if group and ident:
            raise LogsError(
                "InvalidParameterException", "LogGroup name and LogGroup ARN are mutually exclusive parameters."
            )
        if ident:
            m = _ARN.match(ident)
            group = m.group("name") if m else ident
        if not group:
            raise LogsError("InvalidParameterException", "Either logGroupName or logGroupIdentifier must be specified")
        limit = args.get("limit")
        if limit is not None and not 1 <= limit <= 10000:
            raise LogsError(
                "InvalidParameterException",
                f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                + ("Member must have value less than or equal to 10000" if limit > 10000 else "Member must have value greater than or equal to 1"),
            )
        start, end = args.get("startTime"), args.get("endTime")
        if start is not None and end is not None and start > end:
            raise LogsError("InvalidParameterException", "endTime must be greater than or equal to startTime")
        streams = args.get("logStreamNames")
        prefix = args.get("logStreamNamePrefix")
        if streams and prefix:
            raise LogsError(
                "InvalidParameterException", "logStreamNames and logStreamNamePrefix are mutually exclusive"
            )
        terms = _terms(args.get("filterPattern"))
        with self._lock:
            fixture = self.fixture
            cfg = dict(self._config)
        events = fixture.groups.get(group)
        if events is None:
            raise LogsError("ResourceNotFoundException", "The specified log group does not exist.")
        query = json.dumps({k: v for k, v in args.items() if k not in ("nextToken", "limit")}, sort_keys=True)
        offset, empties = 0, 0
        token = args.get("nextToken")
        if token is not None:
            with self._lock:
                got = self._tokens.get(token)
            if got is None or got[2] != query:
                raise LogsError("InvalidParameterException", "The specified nextToken is invalid.")
            offset, empties = got[0], got[1]

        def matches(ev):
            if start is not None and ev["timestamp"] < start:
                return False
            if end is not None and ev["timestamp"] > end:
                return False
            if streams and ev["stream"] not in streams:
                return False
            if prefix and not ev["stream"].startswith(prefix):
                return False
            return all(t in ev["message"] for t in terms)

        matched = [ev for ev in events if matches(ev)]
        if empties < cfg["empty_pages"]:
            # Still "searching streams": an empty page, and more to come.
            page, end_at, empties, more = [], offset, empties + 1, True
        else:
            size = min(n for n in (limit, cfg["page_size"], 10000) if n)
            end_at = min(len(matched), offset + size)
            page = matched[offset:end_at]
            more = end_at < len(matched)
        out = {
            "events": [
                {
                    "logStreamName": ev["stream"],
                    "timestamp": ev["timestamp"],
                    "message": ev["message"],
                    "ingestionTime": ev["timestamp"] + 1000,
                    "eventId": ev["id"],
                }
                for ev in page
            ],
            "searchedLogStreams": [],
        }
        if more:
            nxt = base64.b64encode(secrets.token_bytes(36)).decode()
            with self._lock:
                self._tokens[nxt] = (end_at, empties, query)
            out["nextToken"] = nxt
        return out


def _check_members(shape, value, path=""):
    """A JSON value against a botocore shape: unknown members and wrong
    types raise SerializationException, as the JSON protocol's servers do."""
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            raise LogsError("SerializationException", f"Expected an object at {path or 'the top'}")
        for k, v in value.items():
            if k not in shape.members:
                raise LogsError("SerializationException", f"Unknown member {path}{k}")
            _check_members(shape.members[k], v, f"{path}{k}.")
        for k in shape.required_members:
            if k not in value:
                raise LogsError("InvalidParameterException", f"Missing required parameter {path}{k}")
    elif t == "list":
        if not isinstance(value, list):
            raise LogsError("SerializationException", f"Expected a list at {path}")
        for v in value:
            _check_members(shape.member, v, path)
    elif t == "string":
        if not isinstance(value, str):
            raise LogsError("SerializationException", f"Expected a string at {path}")
    elif t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise LogsError("SerializationException", f"Expected a number at {path}")
    elif t == "boolean":
        if not isinstance(value, bool):
            raise LogsError("SerializationException", f"Expected a boolean at {path}")
