#!/usr/bin/env python3
"""moto's server on loopback, for the tests and the demo: an AWS that nobody
here wrote, with the shims of moto_shims.py, a clock and the call log.

Runs under the tools' Python (scripts/tools-python.sh: moto 5.2 with its
server extras). Prints "PORT <n>" on its first stdout line once it listens
(like the project's doubles), serves until SIGTERM or SIGINT.

    python3 tests/doubles/moto_server.py [--host 127.0.0.1] [--port 0]
                 [--port-file PATH] [--default-amis] [--verbose]

Every AWS service moto has answers on the one port; a request goes to the
service named by its SigV4 credential scope (moto's own dispatch).

This module owns:
  - the call log: for every AWS API request it answers, one JSON line
    {"double": "moto", "suite", "service", "action", "status", "user_agent"}
    appended to
    $EBSSH_CALL_LOG/moto-<pid>.jsonl (only when EBSSH_CALL_LOG is set);
    service is the SigV4 signing name of the request's credential scope,
    action the operation's name as botocore's service model gives it.
    Requests with the header X-Ebssh-Harness (the test's own boto3 clients,
    tests/lib/moto_aws.py: building the world, reading it back) are not
    logged: the log says what the code under test called;
  - the clock: POST /__control/clock {"now": "2024-05-01T09:30:00Z"} stops
    the clock of EC2's instances, images, volumes and snapshots at that time
    (LaunchTime, CreationDate, StartTime of what is made from then on);
    {"now": null} gives the real time back. GET answers {"now": ...};
  - consoles: POST /__control/console {"instance_id": "i-...", "output":
    "<console text>"} is what GetConsoleOutput answers for that instance
    from then on (moto gives every instance one fixed kernel log; a real
    one's holds what it booted, cloud-init's host keys among it);
  - GET /__control/health answers {"ok": true}.
moto's own /moto-api/ (reset, data.json, ...) stays as moto serves it.
Neither control path is logged: they are not AWS requests.
"""

import argparse
import datetime
import io
import json
import logging
import os
import re
import socket
import sys
import threading
from urllib.parse import parse_qsl

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from child import serve_until_signal  # noqa: E402

CONTROL_PREFIX = "/__control/"
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")


# -- the clock ---------------------------------------------------------------


class Clock:
    """The time moto stamps EC2 resources with: the real time, or a time
    the test stopped it at. Naive UTC datetimes, as moto's utcnow()."""

    def __init__(self, real_now):
        self._real_now = real_now
        self._fixed = None
        self._lock = threading.Lock()

    def now(self):
        with self._lock:
            fixed = self._fixed
        return fixed if fixed is not None else self._real_now()

    def set(self, when):
        """when: an ISO 8601 time with a zone (Z or an offset), or None."""
        fixed = None
        if when is not None:
            parsed = datetime.datetime.fromisoformat(when.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                raise ValueError(f"{when!r} has no time zone")
            fixed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        with self._lock:
            self._fixed = fixed

    def describe(self):
        with self._lock:
            fixed = self._fixed
        return None if fixed is None else fixed.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def install_clock():
    """Points moto's EC2 models (instances, images, volumes, snapshots) at
    one Clock and returns it."""
    from moto.core import utils as core_utils
    from moto.ec2.models import amis, elastic_block_store, instances

    clock = Clock(core_utils.utcnow)
    for module in (instances, amis, elastic_block_store):
        module.utcnow = clock.now
    return clock


# -- consoles ----------------------------------------------------------------


class Consoles:
    """What GetConsoleOutput answers per instance. moto answers every
    instance with one fixed kernel log; a real instance's console is what it
    booted, and cloud-init prints the SSH host keys there
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetConsoleOutput.html:
    "the console output for the specified instance", base64-encoded). The
    test gives an instance its boot log; others keep moto's."""

    def __init__(self):
        self._text = {}
        self._lock = threading.Lock()

    def set(self, instance_id, text):
        if not isinstance(instance_id, str) or not instance_id.startswith("i-"):
            raise ValueError(f"instance_id {instance_id!r} is not an instance id")
        if not isinstance(text, str):
            raise ValueError("output must be the console text (a string)")
        with self._lock:
            self._text[instance_id] = text

    def get(self, instance_id):
        with self._lock:
            return self._text.get(instance_id)


def install_consoles():
    """Makes moto's GetConsoleOutput answer an instance's own console when
    the test gave it one; returns the Consoles."""
    from moto.ec2.responses import general
    from moto.ec2.utils import Base64EncodedString

    consoles = Consoles()
    moto_answer = general.General.get_console_output

    def get_console_output(self):
        result = moto_answer(self)  # moto's own checks (an unknown instance)
        text = consoles.get(self._get_param("InstanceId"))
        if text is not None:
            result.result["Output"] = Base64EncodedString.from_raw_string(text)
        return result

    general.General.get_console_output = get_console_output
    return consoles


# -- the call log ------------------------------------------------------------


class CallLog:
    """Appends one JSON line per AWS request to $EBSSH_CALL_LOG/moto-<pid>.jsonl.
    The file is opened with O_APPEND and each line written with one write(),
    so that lines of concurrent requests never interleave."""

    def __init__(self, directory, suite):
        self.suite = suite
        self.fd = None
        if directory:
            path = os.path.join(directory, f"moto-{os.getpid()}.jsonl")
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def note(self, service, action, status, user_agent=""):
        if self.fd is None:
            return
        line = json.dumps(
            {"double": "moto", "suite": self.suite, "service": service, "action": action, "status": status,
             "user_agent": user_agent}
        )
        os.write(self.fd, (line + "\n").encode())


class Operations:
    """Names the operation of a request from botocore's service models:
    Query protocols (Action=), JSON protocols (X-Amz-Target) and REST
    protocols (method and request URI, the most specific match)."""

    def __init__(self):
        import botocore.session

        self._session = botocore.session.get_session()
        self._models = {}
        self._rest = {}
        self._lock = threading.Lock()

    def _model(self, signing_name):
        with self._lock:
            if signing_name not in self._models:
                self._models[signing_name] = self._find_model(signing_name)
            return self._models[signing_name]

    def _find_model(self, signing_name):
        loader = self._session.get_component("data_loader")
        # The service whose name is the signing name is the usual case
        # (ec2, logs, lambda, sts); else every model is looked at once (only
        # REST protocols need a model: Query and JSON name their action).
        candidates = [signing_name] + [s for s in loader.list_available_services("service-2") if s != signing_name]
        for name in candidates:
            try:
                model = self._session.get_service_model(name)
            except Exception:  # noqa: BLE001 - not a service of this name
                continue
            if model.signing_name == signing_name:
                return model
        return None

    def _rest_routes(self, model):
        key = model.service_name
        with self._lock:
            if key not in self._rest:
                routes = []
                for op_name in model.operation_names:
                    http = model.operation_model(op_name).http
                    path = http.get("requestUri", "/").split("?", 1)[0]
                    regex = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(path))
                    regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", regex)
                    literal = len(re.sub(r"\{[^}]+\}", "", path))
                    routes.append((literal, http.get("method", "POST"), re.compile(regex + "/?$"), op_name))
                routes.sort(key=lambda r: -r[0])
                self._rest[key] = routes
            return self._rest[key]

    def name(self, signing_name, method, path, query, body, target):
        params = dict(query)
        if body and not target:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if params.get("Action"):
            return params["Action"]
        if target:
            return target.rsplit(".", 1)[-1]
        model = self._model(signing_name) if signing_name else None
        if model is None:
            return ""
        for _, op_method, regex, op_name in self._rest_routes(model):
            if op_method == method and regex.match(path):
                return op_name
        return ""


# -- the WSGI application ----------------------------------------------------


class Application:
    """moto's application behind the controls and the call log."""

    def __init__(self, moto_app, clock, log, consoles=None):
        self.moto_app = moto_app
        self.clock = clock
        self.consoles = consoles
        self.log = log
        self.operations = Operations()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self.control(environ, start_response, path[len(CONTROL_PREFIX):])
        if path.startswith("/moto-api"):
            return self.moto_app(environ, start_response)
        if environ.get("HTTP_X_EBSSH_HARNESS"):
            return self.moto_app(environ, start_response)
        service, action = self.describe(environ)
        agent = environ.get("HTTP_USER_AGENT", "")
        status = {}

        def recording_start_response(status_line, headers, exc_info=None):
            status["code"] = int(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, exc_info)

        try:
            result = self.moto_app(environ, recording_start_response)
        except Exception:
            self.log.note(service, action, 500, agent)
            raise
        self.log.note(service, action, status.get("code", 500), agent)
        return result

    def describe(self, environ):
        """(signing name, operation name) of a request; reads the body
        once and puts it back for moto."""
        match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = match.group(2) if match else ""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = b""
        if length > 0 and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        if not service and body:
            # STS's two unsigned operations (botocore's model: "auth": ["smithy.api#noAuth"])
            # carry no credential scope: the Query action names them.
            unsigned = dict(parse_qsl(body.decode("utf-8", "replace"))).get("Action", "")
            if unsigned in ("AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"):
                service = "sts"
        try:
            action = self.operations.name(
                service, environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""), query, body,
                environ.get("HTTP_X_AMZ_TARGET", ""),
            )
        except Exception:  # noqa: BLE001 - an unnamed operation still gets its line
            action = ""
        return service, action

    def control(self, environ, start_response, route):
        method = environ.get("REQUEST_METHOD", "GET")
        if route == "health" and method == "GET":
            return _json(start_response, 200, {"ok": True})
        if route == "clock" and method == "GET":
            return _json(start_response, 200, {"now": self.clock.describe()})
        if route == "clock" and method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                doc = json.loads(environ["wsgi.input"].read(length) or b"{}")
                if not isinstance(doc, dict) or "now" not in doc:
                    raise ValueError('the body is {"now": "<ISO 8601 time>" | null}')
                self.clock.set(doc["now"])
            except (ValueError, TypeError, AttributeError) as e:
                return _json(start_response, 400, {"error": str(e)})
            return _json(start_response, 200, {"now": self.clock.describe()})
        if route == "console" and method == "POST" and self.consoles is not None:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                doc = json.loads(environ["wsgi.input"].read(length) or b"{}")
                if not isinstance(doc, dict):
                    raise ValueError('the body is {"instance_id": "i-...", "output": "<console text>"}')
                self.consoles.set(doc.get("instance_id"), doc.get("output"))
            except (ValueError, TypeError) as e:
                return _json(start_response, 400, {"error": str(e)})
            return _json(start_response, 200, {"instance_id": doc["instance_id"]})
        return _json(start_response, 404, {"error": f"no control {method} /__control/{route}"})


def _json(start_response, status, obj):
    body = json.dumps(obj).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


# -- main --------------------------------------------------------------------


def make_app():
    """moto's application with the shims applied, the clock and the call
    log; (application, clock)."""
    import moto_shims
    import moto_sqs_speed
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto_shims.apply()
    moto_sqs_speed.apply()
    clock = install_clock()
    log = CallLog(os.environ.get("EBSSH_CALL_LOG"), os.environ.get("EBSSH_SUITE", ""))
    consoles = install_consoles()
    return Application(DomainDispatcherApplication(create_backend_app), clock, log, consoles), clock


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="0 (the default) picks a free port")
    ap.add_argument("--port-file", help="also write the port to this file")
    ap.add_argument("--default-amis", action="store_true",
                    help="load moto's catalogue of public AMIs (slower start; off by default)")
    ap.add_argument("--verbose", action="store_true", help="one stderr line per request")
    args = ap.parse_args(argv)
    if not args.host.startswith("127."):
        ap.error("--host must be a loopback address (127.0.0.0/8)")
    # Read by moto when its EC2 backend is first made, so set before.
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "true" if args.default_amis else "false"
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.ERROR)

    from werkzeug.serving import make_server

    app, _ = make_app()
    server = make_server(args.host, args.port, app, threaded=True)
    # accepted sockets inherit TCP_NODELAY: no delayed-ACK wait between an answer's headers and body
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return serve_until_signal(server, args.port_file)


if __name__ == "__main__":
    sys.exit(main())
