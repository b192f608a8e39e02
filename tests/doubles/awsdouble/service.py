"""What every service of the double shares: the answer object, the error
exception, and a Service base class with the request-id headers, the
fault and credential error answers and the error catching around the
service's own _handle().

A service subclass sets:
  name          its SigV4 signing name
  content_type  of its answers (errors included)
  FAULTS        {fault kind: (code, message, status)} for throttle, 500,
                unavailable and authfailure ("error:..." faults need none)
  AUTH          {verdict code: (code, message, status)}, the key None
                answering every other credential failure
and implements error_body(code, message, rid, status), its protocol's
error document, and _handle(req), raising ServiceError (or a subclass)
for an error answer. headers(rid) and error_headers(code, rid) may add
headers; action(req) and params(req) default to the query protocols'
Action and form parameters. A service keeping state sets it in reset()
(called by __init__ and by /__control/reset), under self._lock.
"""

import threading
import uuid


class Response:
    def __init__(self, status, body, content_type="text/xml;charset=UTF-8", headers=None):
        self.status = status
        self.body = body
        self.headers = [("Content-Type", content_type)] + list(headers or [])


class ServiceError(Exception):
    """An error answer: code, message and HTTP status in the service's
    error format; headers are added to the service's own, and body, when
    given, replaces its error document."""

    def __init__(self, code, message, status=400, headers=None, body=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers or []
        self.body = body


def request_id():
    return str(uuid.uuid4())


def page_size_problem(v):
    """A config check: what is wrong with v as a page_size, or None."""
    if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
        return "page_size must be a positive integer or null"
    return None


class Service:
    name = None
    content_type = "text/xml;charset=UTF-8"
    FAULTS = {}
    AUTH = {}

    def __init__(self, state):
        self.state = state
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        pass

    def action(self, req):
        """The operation a request names (its Action), or ""."""
        return req.params.get("Action", "")

    def params(self, req):
        """The request's parameters, for the request log."""
        return dict(req.params)

    def headers(self, rid):
        return [("x-amzn-RequestId", rid)]

    def error_headers(self, code, rid):
        return self.headers(rid)

    def error_body(self, code, message, rid, status):
        raise NotImplementedError

    def answer(self, status, body, rid=None, headers=()):
        """A successful answer (rid: the request id the body names, if any)."""
        rid = rid or request_id()
        return Response(status, body, content_type=self.content_type, headers=self.headers(rid) + list(headers))

    def error(self, code, message, status, headers=None, body=None):
        rid = request_id()
        if body is None:
            body = self.error_body(code, message, rid, status)
        hdrs = self.error_headers(code, rid) + list(headers or [])
        return Response(status, body, content_type=self.content_type, headers=hdrs)

    def auth_error(self, verdict):
        return self.error(*self.AUTH.get(verdict.code, self.AUTH[None]))

    def fault(self, fault):
        if fault.kind == "error":
            return self.error(fault.code, fault.message, fault.status)
        if fault.kind in self.FAULTS:
            return self.error(*self.FAULTS[fault.kind])
        raise ValueError(f"{fault} is not an answer")

    def handle(self, req):
        """Answers a request whose signature checked out."""
        try:
            return self._handle(req)
        except ServiceError as e:
            return self.error(e.code, e.message, e.status, headers=e.headers, body=e.body)

    def _handle(self, req):
        raise NotImplementedError

    def config_control(self, method, data, checks):
        """GET or POST of the "config" control route of a service keeping
        self._config: checks maps each config key to a function returning
        what is wrong with a value (or None). Raises ValueError."""
        if method == "POST":
            if not isinstance(data, dict):
                raise ValueError("want an object of config keys")
            for k, v in data.items():
                if k not in checks:
                    raise ValueError(f"unknown {self.name} config key {k!r}")
                problem = checks[k](v)
                if problem:
                    raise ValueError(problem)
        with self._lock:
            if method == "POST":
                self._config.update(data)
            return 200, dict(self._config)

    def no_route(self, method, route):
        return 404, {"error": f"no control route {method} /__control/{self.name}/{route}"}
