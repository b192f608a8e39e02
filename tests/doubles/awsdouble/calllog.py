"""The run's call log: one JSON line per AWS request the double answers,
for the audit of tests/audit/aws_actions.py (docs/aws-actions.md).

When $EBSSH_CALL_LOG names a directory (tests/run makes one per run), every
answered request appends to $EBSSH_CALL_LOG/ebssh-<pid>.jsonl the line

  {"double": "ebssh", "suite": "<$EBSSH_SUITE or ''>", "service": "<SigV4
   signing name>", "action": "<API operation>", "status": <HTTP status>,
   "user_agent": "<the request's User-Agent or ''>"}

the format every double of the run shares (moto's launcher writes "double":
"moto"). user_agent tells the project's own calls ("ebssh/<version>",
aws/client.c) from a test's boto3 or raw requests. status 0 means the
request got no answer (a "reset" fault closed the connection). The file is
opened with O_APPEND and each line goes out in one write(), so the lines
of concurrent requests (and processes) never interleave.

operation() names the API operation a request calls by its protocol, never
by what the double implements: the Query protocols' Action parameter (ec2,
monitoring, sts), the JSON protocol's X-Amz-Target (logs), the Smithy RPC v2
path (/service/<S>/operation/<Op>), and for REST protocols (lambda) the
method and path matched against the requestUri templates of botocore's
service model. An operation the double does not serve is still named, so the
audit sees a call the code makes even when the double refuses it.
"""

import json
import os
import re
import sys
import threading
from urllib.parse import unquote

# SigV4 signing names whose botocore service is named otherwise.
_MODEL_OF_SIGNING_NAME = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "apigateway"}
_RPC_V2 = re.compile(r"^/service/[^/]+/operation/([^/]+)/?$")

_lock = threading.Lock()
_rest_routes = {}


def _rest_table(signing_name):
    """[(method, path regex, query keys, literal length, operation)] of the
    REST service signed as signing_name; [] when botocore has no model."""
    with _lock:
        if signing_name in _rest_routes:
            return _rest_routes[signing_name]
    import botocore.exceptions
    import botocore.session

    name = _MODEL_OF_SIGNING_NAME.get(signing_name, signing_name)
    try:
        model = botocore.session.get_session().get_service_model(name)
    except botocore.exceptions.UnknownServiceError:
        model = None
    table = []
    for op_name in model.operation_names if model is not None else ():
        http = model.operation_model(op_name).http
        uri = http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        pattern = ""
        for literal, var in re.findall(r"([^{]*)(\{[^}]*\})?", path.rstrip("/")):
            pattern += re.escape(literal)
            if var:
                pattern += ".+" if var.endswith("+}") else "[^/]+"
        keys = [q.split("=", 1)[0] for q in query.split("&") if q]
        literal_len = len(re.sub(r"\{[^}]*\}", "", path))
        table.append((http.get("method", "POST"), re.compile("^" + pattern + "/?$"), keys, literal_len, op_name))
    with _lock:
        _rest_routes[signing_name] = table
    return table


def operation(signing_name, method, path, params, target):
    """The API operation of a request: signing_name (the credential scope's
    service), method, path (without the query), params (query and form
    parameters, decoded) and target (the X-Amz-Target header or None).
    Returns "" when the request names none."""
    if target:
        return target.rsplit(".", 1)[-1]
    if params.get("Action"):
        return params["Action"]
    m = _RPC_V2.match(path)
    if m:
        return unquote(m.group(1))
    best = None
    for op_method, rx, keys, literal_len, op_name in _rest_table(signing_name or ""):
        if op_method == method and rx.match(path) and all(k in params for k in keys):
            rank = (len(keys), literal_len)
            if best is None or rank > best[0]:
                best = (rank, op_name)
    return best[1] if best else ""


class CallLog:
    """Appends call lines for one double process; from_environment() gives
    None when the run keeps no call log."""

    def __init__(self, directory, suite="", double="ebssh"):
        self.path = os.path.join(directory, f"{double}-{os.getpid()}.jsonl")
        self.suite = suite
        self.double = double
        self._fd = None
        self._lock = threading.Lock()
        self._complained = False

    @classmethod
    def from_environment(cls, env=None, double="ebssh"):
        env = os.environ if env is None else env
        directory = env.get("EBSSH_CALL_LOG")
        if not directory:
            return None
        return cls(directory, env.get("EBSSH_SUITE", ""), double)

    def line(self, service, action, status, user_agent):
        """The JSON line (with its newline) for one request."""
        entry = {
            "double": self.double,
            "suite": self.suite,
            "service": service or "",
            "action": action or "",
            "status": int(status),
            "user_agent": user_agent or "",
        }
        return (json.dumps(entry, separators=(", ", ": ")) + "\n").encode()

    def record(self, service, action, status, user_agent=None):
        """Appends one line. A failure (the run's directory gone, a full
        disk) is said once on stderr; the double goes on answering, and the
        audit, finding the calls missing, fails."""
        data = self.line(service, action, status, user_agent)
        try:
            with self._lock:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(f"short write ({written} of {len(data)} bytes)")
        except OSError as e:
            with self._lock:
                if not self._complained:
                    self._complained = True
                    sys.stderr.write(f"aws double: cannot append to the call log {self.path}: {e}\n")

    def close(self):
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
