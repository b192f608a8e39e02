"""AWS Lambda (protocol "rest-json", signing name "lambda"): the operation
is the method and path; JSON answers; errors as {"Type": "User",
"message": "..."} with the code in x-amzn-ErrorType (and x-amzn-RequestId).

  GET  /2015-03-31/functions[/]                       ListFunctions (Marker, MaxItems)
  GET  /2015-03-31/functions/{name}/versions          ListVersionsByFunction (Marker, MaxItems)
  GET  /2016-08-19/account-settings[/]                GetAccountSettings
  POST /2015-03-31/functions/{name}/invocations       Invoke (X-Amz-Invocation-Type:
                                                      Event -> 202, RequestResponse -> 200,
                                                      DryRun -> 204), payload recorded

{name} may be a name, a partial or full ARN, percent-encoded; a
qualifier (":1") on Invoke is kept in the record. Query parameters the
operation does not have answer InvalidParameterValueException; MaxItems
outside 1..10000 too; an unknown Marker "Invalid marker". Pages hold
min(MaxItems, page_size) entries. Errors as Lambda writes them:
ResourceNotFoundException (404, "Function not found: <arn>"),
TooManyRequestsException (429, with Retry-After and Lambda's real body
{"Reason": "CallerRateLimitExceeded", "Type": "User", "message": "Rate
exceeded"}) as the throttle fault, ServiceException (500),
InvalidRequestContentException (400) for a payload that is not JSON,
UnknownOperationException (404) for any other path.

Control (/__control/lambda/...):
  POST fixture      {"functions": [{"name": "f", "code_size": 100, "runtime": "provided.al2023",
                     "versions": [{"version": "1", "code_size": 90}, ...]}],
                     "account": {"total_code_size_limit": 80530636800, "code_size_used": n|null}}
  GET|POST config   {"page_size": n|null}
  GET  invocations  [{"function", "qualifier", "invocation_type", "payload" (parsed JSON),
                     "content_type", "target" (the FunctionName as sent, decoded)}]
  DELETE invocations
  POST answers      {"function": "f", "qualifier": "7"|null, then either
                     "payload": <JSON value> (or "raw": "<text>"), "function_error":
                     "Unhandled"|"Handled"|null, "status": 200,
                     or "backend": "http://127.0.0.1:PORT" (a tests/doubles/runtime_api.py
                     double whose bootstrap runs the event: its /response is the
                     payload, its /error the payload with FunctionError Unhandled)}
                    what a RequestResponse Invoke of that function (and qualifier;
                    null: any) answers; without one it answers null.
  DELETE answers
"""

import json
import re
import secrets
import time
import urllib.request
import uuid
from urllib.parse import parse_qsl, unquote

from .service import Service, ServiceError, page_size_problem

ACCOUNT = "123456789012"
REGION = "us-east-1"
DEFAULT_LIMIT = 80530636800  # 75 GB, Lambda's default code storage quota
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TARGET = re.compile(
    r"^(?:arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:|[0-9]{12}:function:)?"
    r"(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qual>\$LATEST|[A-Za-z0-9_-]+))?$"
)
_RE_FUNCTIONS = re.compile(r"^/2015-03-31/functions/?$")
_RE_VERSIONS = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/versions/?$")
_RE_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_RE_SETTINGS = re.compile(r"^/2016-08-19/account-settings/?$")
DEFAULT_CONFIG = {"page_size": None}


class LambdaError(ServiceError):
    """An error answer of Lambda's REST-JSON protocol."""


class LambdaFixture:
    def __init__(self, data):
        if not isinstance(data, dict) or not isinstance(data.get("functions", []), list):
            raise ValueError('a lambda fixture is {"functions": [...], "account": {...}}')
        self.functions = []
        seen = set()
        for f in data.get("functions", []):
            if not isinstance(f, dict) or not _NAME.match(str(f.get("name", ""))):
                raise ValueError(f"bad function {f!r}")
            if f["name"] in seen:
                raise ValueError(f"function {f['name']} twice")
            seen.add(f["name"])
            size = f.get("code_size", 0)
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise ValueError(f"function {f['name']}: bad code_size")
            versions = []
            for v in f.get("versions", []):
                if not isinstance(v, dict) or not re.match(r"^[0-9]+$", str(v.get("version", ""))):
                    raise ValueError(f"function {f['name']}: bad version {v!r}")
                vs = v.get("code_size", 0)
                if isinstance(vs, bool) or not isinstance(vs, int) or vs < 0:
                    raise ValueError(f"function {f['name']}: bad code_size in version {v['version']}")
                versions.append({"version": str(v["version"]), "code_size": vs})
            self.functions.append(
                {
                    "name": f["name"],
                    "code_size": size,
                    "runtime": f.get("runtime", "provided.al2023"),
                    "versions": versions,
                }
            )
        acct = data.get("account") or {}
        self.limit = acct.get("total_code_size_limit", DEFAULT_LIMIT)
        self.used = acct.get("code_size_used")

    def get(self, name):
        for f in self.functions:
            if f["name"] == name:
                return f
        return None

    def total(self):
        return sum(f["code_size"] + sum(v["code_size"] for v in f["versions"]) for f in self.functions)


def _arn(name, qualifier=None):
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def _configuration(f, version, size):
    return {
        "FunctionName": f["name"],
        "FunctionArn": _arn(f["name"], version),
        "Runtime": f["runtime"],
        "Role": f"arn:aws:iam::{ACCOUNT}:role/{f['name']}-role",
        "Handler": "bootstrap",
        "CodeSize": size,
        "Description": "",
        "Timeout": 30,
        "MemorySize": 128,
        "LastModified": "2024-05-01T12:00:00.000+0000",
        "CodeSha256": "sU0cJ2/hOZevwV/lTxCuQqK3gDZP3i8gUoqUUVRmY6E=",
        "Version": version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{f['name']}:{version}")),
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
    }


class LambdaService(Service):
    name = "lambda"
    content_type = "application/json"
    FAULTS = {
        "500": ("ServiceException", "An internal error occurred.", 500),
        "unavailable": ("ServiceException", "Service unavailable.", 503),
        "authfailure": ("UnrecognizedClientException", "The security token included in the request is invalid.", 403),
    }
    AUTH = {
        "MissingAuthenticationToken": ("MissingAuthenticationTokenException", "Missing Authentication Token", 403),
        "RequestExpired": ("InvalidSignatureException", "Signature expired", 403),
        None: ("InvalidSignatureException", "The request signature we calculated does not match the signature you provided.", 403),
    }

    def __init__(self, state, fixture=None):
        self._initial = fixture or LambdaFixture({"functions": []})
        super().__init__(state)

    def reset(self):
        with self._lock:
            self.fixture = self._initial
            self._config = dict(DEFAULT_CONFIG)
            self._markers = {}
            self._invocations = []
            self._answers = {}

    # -- what the server asks of every service -----------------------------

    def action(self, req):
        if req.method == "GET" and _RE_FUNCTIONS.match(req.path):
            return "ListFunctions"
        if req.method == "GET" and _RE_VERSIONS.match(req.path):
            return "ListVersionsByFunction"
        if req.method == "GET" and _RE_SETTINGS.match(req.path):
            return "GetAccountSettings"
        if req.method == "POST" and _RE_INVOKE.match(req.path):
            return "Invoke"
        return ""

    def error_body(self, code, message, rid, status):
        return json.dumps({"Type": "User" if status < 500 else "Service", "message": message}).encode()

    def error_headers(self, code, rid):
        return self.headers(rid) + [("x-amzn-ErrorType", f"{code}:http://internal.amazon.com/coral/com.amazonaws.awslambda/")]

    def fault(self, fault):
        if fault.kind == "throttle":
            body = json.dumps({"Reason": "CallerRateLimitExceeded", "Type": "User", "message": "Rate exceeded"}).encode()
            return self.error("TooManyRequestsException", "Rate exceeded", 429, headers=[("Retry-After", "1")], body=body)
        return super().fault(fault)

    # -- control ------------------------------------------------------------

    def control(self, method, route, data):
        if route == "fixture" and method == "POST":
            fixture = LambdaFixture(data)
            with self._lock:
                self.fixture = fixture
                self._markers = {}
            return 200, {"functions": len(fixture.functions), "total": fixture.total()}
        if route == "config" and method in ("GET", "POST"):
            return self.config_control(method, data, {"page_size": page_size_problem})
        if route == "invocations" and method == "GET":
            with self._lock:
                return 200, json.loads(json.dumps(self._invocations))
        if route == "invocations" and method == "DELETE":
            with self._lock:
                self._invocations = []
            return 200, {"ok": True}
        if route == "answers" and method == "POST":
            key, answer = _answer_of(data)
            with self._lock:
                self._answers[key] = answer
            return 200, {"ok": True}
        if route == "answers" and method == "DELETE":
            with self._lock:
                self._answers = {}
            return 200, {"ok": True}
        return self.no_route(method, route)

    # -- REST-JSON ------------------------------------------------------------

    def _handle(self, req):
        action = self.action(req)
        if not action:
            raise LambdaError("UnknownOperationException", "Unknown operation", 404)
        allowed = {
            "ListFunctions": {"Marker", "MaxItems", "FunctionVersion", "MasterRegion"},
            "ListVersionsByFunction": {"Marker", "MaxItems"},
            "GetAccountSettings": set(),
            "Invoke": {"Qualifier"},
        }[action]
        query = parse_qsl(req.raw_query, keep_blank_values=True)
        for k, _ in query:
            if k not in allowed:
                raise LambdaError("InvalidParameterValueException", f"Unknown query parameter {k}")
        q = dict(query)
        if action == "Invoke":
            return self.invoke(req, q)
        if action == "GetAccountSettings":
            out = self.account_settings()
        elif action == "ListFunctions":
            with self._lock:
                fixture = self.fixture
            items = [_configuration(f, "$LATEST", f["code_size"]) for f in fixture.functions]
            out = self._page(items, q, "Functions", "ListFunctions")
        else:
            name, _ = self._target(_RE_VERSIONS.match(req.path).group("name"))
            with self._lock:
                f = self.fixture.get(name)
            if f is None:
                raise LambdaError("ResourceNotFoundException", f"Function not found: {_arn(name)}", 404)
            items = [_configuration(f, "$LATEST", f["code_size"])]
            items += [_configuration(f, v["version"], v["code_size"]) for v in f["versions"]]
            out = self._page(items, q, "Versions", f"ListVersionsByFunction:{name}")
        return self.answer(200, json.dumps(out).encode())

    def _target(self, raw):
        name = unquote(raw)
        m = _TARGET.match(name)
        if not m:
            raise LambdaError(
                "ValidationException",
                f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern",
            )
        return m.group("name"), m.group("qual")

    def _page(self, items, q, key, scope):
        max_items = q.get("MaxItems")
        if max_items is not None:
            if not re.match(r"^[0-9]+$", max_items) or not 1 <= int(max_items) <= 10000:
                raise LambdaError(
                    "InvalidParameterValueException",
                    f"1 validation error detected: Value '{max_items}' at 'maxItems' failed to satisfy constraint: "
                    "Member must have value between 1 and 10000",
                )
            max_items = int(max_items)
        with self._lock:
            cfg = dict(self._config)
        offset = 0
        marker = q.get("Marker")
        if marker is not None:
            with self._lock:
                got = self._markers.get(marker)
            if got is None or got[1] != scope:
                raise LambdaError("InvalidParameterValueException", "Invalid marker")
            offset = got[0]
        size = min(n for n in (max_items, cfg["page_size"], 50) if n)
        end = min(len(items), offset + size)
        out = {key: items[offset:end]}
        if end < len(items):
            nxt = secrets.token_urlsafe(24) + "/+="
            with self._lock:
                self._markers[nxt] = (end, scope)
            out["NextMarker"] = nxt
        return out

    def account_settings(self):
        with self._lock:
            fixture = self.fixture
        used = fixture.used if fixture.used is not None else fixture.total()
        return {
            "AccountLimit": {
                "TotalCodeSize": fixture.limit,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "ConcurrentExecutions": 1000,
                "UnreservedConcurrentExecutions": 1000,
            },
            "AccountUsage": {"TotalCodeSize": used, "FunctionCount": len(fixture.functions)},
        }

    def invoke(self, req, q):
        name, qual = self._target(_RE_INVOKE.match(req.path).group("name"))
        qual = q.get("Qualifier") or qual
        kind = req.header("X-Amz-Invocation-Type") or "RequestResponse"
        if kind not in ("Event", "RequestResponse", "DryRun"):
            raise LambdaError(
                "InvalidParameterValueException", f"Unsupported invocation type {kind}"
            )
        with self._lock:
            f = self.fixture.get(name)
        if f is None or (qual not in (None, "$LATEST") and qual not in [v["version"] for v in f["versions"]]):
            raise LambdaError("ResourceNotFoundException", f"Function not found: {_arn(name, qual)}", 404)
        body = req.body or b""
        if len(body) > (256 * 1024 if kind == "Event" else 6 * 1024 * 1024):
            raise LambdaError("RequestTooLargeException", "Request must be smaller than 262144 bytes for the InvokeAsync operation", 413)
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            raise LambdaError("InvalidRequestContentException", "Could not parse request body into json: Unexpected character") from None
        record = {
            "function": name,
            "target": unquote(_RE_INVOKE.match(req.path).group("name")),
            "qualifier": qual,
            "invocation_type": kind,
            "payload": payload,
            "content_type": req.header("Content-Type"),
        }
        if kind == "DryRun":
            return self.answer(204, b"")
        with self._lock:
            self._invocations.append(record)
        if kind == "Event":
            return self.answer(202, b"")
        with self._lock:
            answer = self._answers.get((name, qual)) or self._answers.get((name, None))
        executed = [("X-Amz-Executed-Version", qual if qual and qual[0].isdigit() else "$LATEST")]
        if answer is None:
            return self.answer(200, b"null", headers=executed)
        if answer.get("backend"):
            return self._run_backend(answer["backend"], body, executed)
        headers = list(executed)
        if answer.get("function_error"):
            headers.append(("X-Amz-Function-Error", answer["function_error"]))
        return self.answer(answer["status"], answer["body"], headers=headers)

    def _run_backend(self, backend, body, executed):
        """The event through a Runtime API double's bootstrap: its /response
        or /error, as Lambda answers a synchronous invocation."""
        rid = str(uuid.uuid4())
        item = {"raw": body.decode("utf-8", "replace"), "request_id": rid, "deadline_ms": int(time.time() * 1000) + 20000}
        _post(f"{backend}/__control/enqueue", item)
        limit = time.monotonic() + 25
        while time.monotonic() < limit:
            with _OPENER.open(f"{backend}/__control/results", timeout=5) as r:
                results = json.load(r)
            for inv in results["invocations"]:
                if inv["request_id"] == rid:
                    headers = list(executed)
                    if inv["kind"] == "error":
                        headers.append(("X-Amz-Function-Error", "Unhandled"))
                    return self.answer(200, inv["body"].encode(), headers=headers)
            time.sleep(0.02)
        raise LambdaError("ServiceException", "The backend runtime did not answer in time.", 500)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only


def _post(url, obj):
    req = urllib.request.Request(url, data=json.dumps(obj).encode(), method="POST", headers={"Content-Type": "application/json"})
    with _OPENER.open(req, timeout=5) as r:
        return json.load(r)


def _answer_of(data):
    """((function, qualifier), answer) of an answers control body."""
    if not isinstance(data, dict) or not _NAME.match(str(data.get("function", ""))):
        raise ValueError('an answer is {"function": name, "qualifier": q|null, "payload"|"raw"|"backend": ...}')
    qual = data.get("qualifier")
    if qual is not None and not isinstance(qual, str):
        raise ValueError("qualifier is a string or null")
    if data.get("backend"):
        if not str(data["backend"]).startswith("http://127."):
            raise ValueError("backend is a loopback http:// URL")
        return (data["function"], qual), {"backend": data["backend"].rstrip("/")}
    if "raw" in data:
        body = str(data["raw"]).encode()
    else:
        body = json.dumps(data.get("payload")).encode()
    status = data.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("status is an HTTP status")
    fe = data.get("function_error")
    if fe not in (None, "Unhandled", "Handled"):
        raise ValueError("function_error is Unhandled, Handled or null")
    return (data["function"], qual), {"body": body, "status": status, "function_error": fe}
