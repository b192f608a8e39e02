"""Amazon CloudWatch (protocol "query", signing name "monitoring"): POST /
with a form body (or GET with a query), Action and Version=2010-08-01; XML
answers; errors as <ErrorResponse><Error><Type/><Code/><Message/></Error>
<RequestId/></ErrorResponse>.

Parameters are mapped onto the operation's input shape from botocore's
model the way the query protocol names them (lists as Name.member.N, maps
as Name.entry.N.key/value): an unknown name answers InvalidParameterCombination
("The parameter X is not recognized"), a bad number InvalidParameterValue,
a missing required one MissingParameter.

PutMetricData records each datum (namespace, metric, value, unit,
dimensions, timestamp) and checks what CloudWatch checks: a namespace not
starting with "AWS/", 1..1000 data, a Value (finite) or Values, a unit
from the model's StandardUnit, at most 30 dimensions with non-empty names
and values.

Control (/__control/monitoring/...):
  GET    data   the recorded data points, oldest first
  DELETE data   forgets them
"""

import datetime
import math
import re
from xml.sax.saxutils import escape

from . import models
from .service import Service, ServiceError, request_id

VERSION = "2010-08-01"
XMLNS = "http://monitoring.amazonaws.com/doc/2010-08-01/"
_INDEX = re.compile(r"^[1-9][0-9]*$")


class QueryError(ServiceError):
    """An error answer of the query protocol."""


def decode(shape, flat):
    """{"MetricData.member.1.MetricName": "m", ...} onto a structure shape;
    returns nested dicts and lists keyed by member names."""
    tree = {}
    for key, value in flat.items():
        if shape is None:
            raise QueryError("InvalidParameterCombination", f"The parameter {key} is not recognized")
        _insert(tree, shape, key.split("."), value, key)
    return _finish(tree, shape) if shape is not None else {}


def _insert(node, shape, parts, value, key):
    t = shape.type_name
    if t == "structure":
        names = {m.serialization.get("name", n): n for n, m in shape.members.items()}
        head = parts[0]
        if head not in names:
            raise QueryError("InvalidParameterCombination", f"The parameter {key} is not recognized")
        member = shape.members[names[head]]
        if len(parts) == 1:
            if member.type_name in ("structure", "list", "map"):
                raise QueryError("InvalidParameterCombination", f"The parameter {key} is not recognized")
            node[head] = value
            return
        _insert(node.setdefault(head, {}), member, parts[1:], value, key)
    elif t == "list":
        flattened = shape.serialization.get("flattened")
        rest = parts if flattened else parts[1:]
        if not flattened and (not parts or parts[0] != "member"):
            raise QueryError("InvalidParameterCombination", f"The parameter {key} is not recognized")
        if not rest or not _INDEX.match(rest[0]):
            raise QueryError("InvalidParameterCombination", f"The parameter {key} is not recognized")
        if len(rest) == 1:
            if shape.member.type_name in ("structure", "list", "map"):
                raise QueryError("InvalidParameterCombination", f"The parameter {key} is not recognized")
            node[rest[0]] = value
            return
        _insert(node.setdefault(rest[0], {}), shape.member, rest[1:], value, key)
    else:
        raise QueryError("InvalidParameterCombination", f"The parameter {key} is not recognized")


def _scalar(shape, value, key):
    t = shape.type_name
    try:
        if t in ("integer", "long"):
            return int(value)
        if t in ("double", "float"):
            v = float(value)
            return v
        if t == "boolean":
            if value not in ("true", "false"):
                raise ValueError
            return value == "true"
        if t == "timestamp":
            text = value.replace("Z", "+00:00")
            return datetime.datetime.fromisoformat(text)
    except ValueError:
        raise QueryError("InvalidParameterValue", f"The value {value} for parameter {key} is invalid.") from None
    if "enum" in shape.metadata and value not in shape.metadata["enum"]:
        raise QueryError("InvalidParameterValue", f"The value {value} for parameter {key} is invalid.")
    return value


def _finish(node, shape, key=""):
    t = shape.type_name
    if t == "structure":
        out = {}
        for n, m in shape.members.items():
            wire = m.serialization.get("name", n)
            if wire in node:
                out[n] = _finish(node[wire], m, f"{key}{wire}.")
        for n in shape.required_members:
            if n not in out:
                raise QueryError("MissingParameter", f"The parameter {key}{n} is required.")
        return out
    if t == "list":
        idx = sorted(int(i) for i in node)
        if idx != list(range(1, len(idx) + 1)):
            raise QueryError("InvalidParameterValue", f"The list {key.rstrip('.')} is not numbered 1..N.")
        return [_finish(node[str(i)], shape.member, key) for i in idx]
    return _scalar(shape, node, key.rstrip("."))


def error_document(code, message, rid, status):
    kind = "Receiver" if status >= 500 else "Sender"
    return (
        f'<ErrorResponse xmlns="{XMLNS}">\n  <Error>\n    <Type>{kind}</Type>\n'
        f"    <Code>{escape(code)}</Code>\n    <Message>{escape(message)}</Message>\n  </Error>\n"
        f"  <RequestId>{rid}</RequestId>\n</ErrorResponse>\n"
    ).encode()


class CloudWatchService(Service):
    name = "monitoring"
    FAULTS = {
        "throttle": ("Throttling", "Rate exceeded", 400),
        "500": ("InternalServiceError", "Internal service error", 500),
        "unavailable": ("ServiceUnavailable", "Service unavailable", 503),
        "authfailure": ("InvalidClientTokenId", "The security token included in the request is invalid.", 403),
    }
    AUTH = {
        "MissingAuthenticationToken": ("MissingAuthenticationToken", "Request is missing Authentication Token", 403),
        "RequestExpired": ("RequestExpired", "Request has expired.", 400),
        None: ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.", 403),
    }

    def reset(self):
        with self._lock:
            self._data = []

    def error_body(self, code, message, rid, status):
        return error_document(code, message, rid, status)

    def control(self, method, route, data):
        if route == "data" and method == "GET":
            with self._lock:
                return 200, [dict(d) for d in self._data]
        if route == "data" and method == "DELETE":
            self.reset()
            return 200, {"ok": True}
        return self.no_route(method, route)

    def _handle(self, req):
        params = dict(req.params)
        action = params.pop("Action", None)
        if not action:
            raise QueryError("MissingAction", "Could not find operation for request")
        op = models.operation("cloudwatch", action)
        if op is None:
            raise QueryError("InvalidAction", f"Could not find operation {action} for version {VERSION}")
        version = params.pop("Version", None)
        if version != VERSION:
            raise QueryError("InvalidAction", f"Could not find operation {action} for version {version}")
        args = decode(op.input_shape, params)
        if action != "PutMetricData":
            raise QueryError("InvalidAction", f"The test double does not implement {action}.")
        self.put_metric_data(args)
        rid = request_id()
        body = (
            f'<PutMetricDataResponse xmlns="{XMLNS}">\n  <ResponseMetadata>\n'
            f"    <RequestId>{rid}</RequestId>\n  </ResponseMetadata>\n</PutMetricDataResponse>\n"
        ).encode()
        return self.answer(200, body, rid)

    def put_metric_data(self, args):
        ns = args["Namespace"]
        if not ns or ns.startswith("AWS/") or len(ns) > 255:
            raise QueryError("InvalidParameterValue", f"The value {ns} for parameter Namespace is invalid.")
        data = args.get("MetricData") or []
        if not 1 <= len(data) <= 1000:
            raise QueryError("InvalidParameterValue", "The collection MetricData must not have more than 1000 items.")
        rows = []
        for i, d in enumerate(data, 1):
            where = f"MetricData.member.{i}"
            if "MetricName" not in d:
                raise QueryError("MissingParameter", f"The parameter {where}.MetricName is required.")
            if "Value" not in d and "Values" not in d and "StatisticValues" not in d:
                raise QueryError("MissingParameter", f"The parameter {where}.Value is required.")
            value = d.get("Value")
            if value is not None and (math.isnan(value) or math.isinf(value)):
                raise QueryError("InvalidParameterValue", f"The value {value} for parameter {where}.Value is invalid.")
            dims = d.get("Dimensions") or []
            if len(dims) > 30:
                raise QueryError("InvalidParameterValue", f"The collection {where}.Dimensions must not have more than 30 items.")
            for j, dim in enumerate(dims, 1):
                if not dim.get("Name") or not dim.get("Value"):
                    raise QueryError(
                        "InvalidParameterValue", f"The parameter {where}.Dimensions.member.{j} must have a Name and a Value."
                    )
            ts = d.get("Timestamp")
            rows.append(
                {
                    "namespace": ns,
                    "metric_name": d["MetricName"],
                    "value": value,
                    "unit": d.get("Unit"),
                    "dimensions": {dim["Name"]: dim["Value"] for dim in dims},
                    "timestamp": ts.isoformat() if ts else None,
                }
            )
        with self._lock:
            self._data.extend(rows)
