"""The EC2 protocol, seen from the server side.

decode_params() is the inverse of botocore's EC2Serializer: flattened
form parameters ("Filter.1.Name", "Filter.1.Value.2", "InstanceId.1",
"MaxResults") are mapped onto the operation's input shape, the way the
ec2 protocol names them (queryName, else the capitalised locationName,
else the capitalised member name; every list flattened as Name.N). A name
the model does not have raises ProtocolError("UnknownParameter"), a value
of the wrong type ProtocolError("InvalidParameterValue"). The result is a
dict keyed by member names, as boto3 callers would have passed it.

encode_xml() renders an output dict through the operation's output shape:
element names are the members' locationNames, lists hold <item> elements
(or repeat in place when flattened), maps hold <entry><key/><value/>,
timestamps are ISO 8601 with milliseconds, booleans "true"/"false", blobs
base64. Keys are emitted in the dict's order, so a caller controls the
element order (EC2's own order is not the model's). A key the shape does
not have is an error, so only EC2's real element names ever go out, except
the few named in `extra` by the caller.

Both directions are checked against botocore's ec2 protocol tests
(tests/integration/aws_double.py).
"""

import base64
import binascii
import datetime
import math
import re
import xml.etree.ElementTree as ET

from .service import ServiceError

_INDEX = re.compile(r"^[1-9][0-9]*$")


class ProtocolError(ServiceError):
    """A parameter the operation's input shape refuses (status 400)."""


def serialized_name(member_name, shape):
    """The ec2 protocol's wire name: queryName, else the capitalised
    locationName, else the capitalised member name (EC2's own members are
    capitalised already)."""
    ser = shape.serialization
    if "queryName" in ser:
        return ser["queryName"]
    name = ser.get("name", member_name)
    return name[0].upper() + name[1:]


def _wire_names(shape):
    """{wire name: member name} of a structure shape."""
    return {serialized_name(name, m): name for name, m in shape.members.items()}


def decode_params(shape, flat):
    """Maps {"Filter.1.Name": "x", ...} onto `shape` (a StructureShape, or
    None for an operation without input). Returns the nested dict."""
    tree = {}
    for key, value in flat.items():
        if shape is None:
            raise ProtocolError("UnknownParameter", f"The parameter {key.split('.')[0]} is not recognized")
        _insert(tree, shape, key.split("."), value, key)
    if shape is None:
        return {}
    return _finish(tree, shape)


def _insert(node, shape, parts, value, key):
    """Places value at parts inside node (raw nested dicts keyed by wire
    name or list index string), checking every step against shape."""
    head, rest = parts[0], parts[1:]
    if shape.type_name == "structure":
        names = _wire_names(shape)
        if head not in names:
            raise ProtocolError("UnknownParameter", f"The parameter {head} is not recognized")
        member = shape.members[names[head]]
        if not rest:
            if member.type_name in ("structure", "list", "map"):
                raise ProtocolError("UnknownParameter", f"The parameter {key} is not recognized")
            node[names[head]] = value
            return
        child = node.setdefault(names[head], {})
        if not isinstance(child, dict):
            raise ProtocolError("UnknownParameter", f"The parameter {key} is not recognized")
        _insert(child, member, rest, value, key)
    elif shape.type_name == "list":
        if not _INDEX.match(head):
            raise ProtocolError("UnknownParameter", f"The parameter {key} is not recognized")
        member = shape.member
        if not rest:
            if member.type_name in ("structure", "list", "map"):
                raise ProtocolError("UnknownParameter", f"The parameter {key} is not recognized")
            node[int(head)] = value
            return
        child = node.setdefault(int(head), {})
        _insert(child, member, rest, value, key)
    else:
        raise ProtocolError("UnknownParameter", f"The parameter {key} is not recognized")


def _finish(raw, shape):
    """Turns the raw nested dicts into typed values."""
    t = shape.type_name
    if t == "structure":
        return {name: _finish(v, shape.members[name]) for name, v in raw.items()}
    if t == "list":
        return [_finish(raw[i], shape.member) for i in sorted(raw)]
    return _scalar(raw, shape)


def _scalar(text, shape):
    t = shape.type_name
    if t in ("integer", "long"):
        if not re.match(r"^-?[0-9]+$", text):
            raise ProtocolError("InvalidParameterValue", f"Invalid value '{text}' for {shape.name}: must be an integer")
        return int(text)
    if t == "boolean":
        low = text.lower()
        if low not in ("true", "false"):
            raise ProtocolError("InvalidParameterValue", f"Invalid value '{text}': must be true or false")
        return low == "true"
    if t in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            raise ProtocolError("InvalidParameterValue", f"Invalid value '{text}': must be a number") from None
    if t == "blob":
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            raise ProtocolError("InvalidParameterValue", f"Invalid value '{text}': must be base64") from None
    return text


def timestamp(value):
    """EC2's timestamp form: 2016-11-15T10:00:00.000Z. Takes a string (as
    is), a datetime or seconds since the epoch."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        value = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def encode_xml(parent, shape, value, extra=None):
    """Appends value's members under parent (an Element), shape being a
    StructureShape. extra maps (shape name, key) to (element name, shape) for
    elements the model lacks but a test wants on the wire."""
    extra = extra or {}
    for key, v in value.items():
        if v is None:
            continue
        if key in shape.members:
            member = shape.members[key]
            name = member.serialization.get("name", key)
        elif (shape.name, key) in extra:
            name, member = extra[(shape.name, key)]
        else:
            raise ValueError(f"{shape.name} has no member {key}")
        if member.type_name == "list" and member.serialization.get("flattened"):
            item_name = member.member.serialization.get("name", name)
            for x in v:
                _encode_value(ET.SubElement(parent, item_name), member.member, x, extra)
            continue
        el = ET.SubElement(parent, name)
        _encode_value(el, member, v, extra)


def _encode_value(el, shape, v, extra):
    t = shape.type_name
    if t == "structure":
        if not isinstance(v, dict):
            raise ValueError(f"{shape.name} wants a dict, not {v!r}")
        encode_xml(el, shape, v, extra)
    elif t == "list":
        item_name = shape.member.serialization.get("name", "member")
        for x in v:
            _encode_value(ET.SubElement(el, item_name), shape.member, x, extra)
    elif t == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        for k, x in v.items():
            entry = ET.SubElement(el, "entry")
            _encode_value(ET.SubElement(entry, key_name), shape.key, k, extra)
            _encode_value(ET.SubElement(entry, value_name), shape.value, x, extra)
    elif t == "boolean":
        el.text = "true" if v else "false"
    elif t == "timestamp":
        el.text = timestamp(v)
    elif t in ("integer", "long"):
        el.text = str(int(v))
    elif t in ("float", "double"):
        v = float(v)
        el.text = "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity") if math.isinf(v) else repr(v)
    elif t == "blob":
        el.text = base64.b64encode(v if isinstance(v, bytes) else str(v).encode()).decode()
    else:
        if getattr(shape, "enum", None) and v not in shape.enum:
            raise ValueError(f"{v!r} is not one of {shape.name}'s values")
        el.text = str(v)


def document(root_name, xmlns, request_id, shape, value, extra=None, pretty=True):
    """A whole EC2 answer: <RootName xmlns=...><requestId>..</requestId>
    then value's members. Returns UTF-8 bytes with the XML declaration."""
    root = ET.Element(root_name, {"xmlns": xmlns})
    ET.SubElement(root, "requestId").text = request_id
    if shape is not None:
        encode_xml(root, shape, value, extra)
    return _bytes(root, pretty)


def _bytes(root, pretty):
    if pretty:
        ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    # EC2 writes <reason/>, ElementTree <reason />; '>' never appears raw
    # in ElementTree's text or attributes, so this touches only empty tags.
    body = body.replace(" />", "/>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")


def return_document(root_name, xmlns, request_id):
    """The answer of an action without an output shape (DeleteSnapshot,
    CreateTags): EC2 still says <return>true</return>."""
    root = ET.Element(root_name, {"xmlns": xmlns})
    ET.SubElement(root, "requestId").text = request_id
    ET.SubElement(root, "return").text = "true"
    return _bytes(root, pretty=True)


def error_document(code, message, request_id):
    """EC2's error answer, on one line as EC2 sends it."""
    root = ET.Element("Response")
    err = ET.SubElement(ET.SubElement(root, "Errors"), "Error")
    ET.SubElement(err, "Code").text = code
    ET.SubElement(err, "Message").text = message
    ET.SubElement(root, "RequestID").text = request_id
    return _bytes(root, pretty=False)
