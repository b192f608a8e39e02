"""The HTTP side: a threaded server on loopback that turns each request
into a Request, answers /__control/ itself (control.py) and hands the rest
to the AWS service the request was signed for (by the credential scope's
service name; EC2 when there is none).

For an AWS request, in order: the signature is checked (sigcheck.py) and
the request logged; an EC2 request EC2's token bucket has no token for
is throttled (ratelimit.py: RequestLimitExceeded, 503); a queued fault for
its action, if any, is applied (faults.py); then an unverified request gets the service's credential
error; else the service answers. Once answered, the request goes to the
run's call log (calllog.py) when tests/run keeps one ($EBSSH_CALL_LOG).
"""

import json
import socket
import struct
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from . import calllog, control, ratelimit, sigcheck
from .cloudwatch import CloudWatchService
from .codedeploy import CodeDeployService
from .ec2 import Ec2Service
from .faults import Fault
from .lambda_ import LambdaService
from .logs import LogsService

MAX_BODY = 16 * 1024 * 1024


class Request:
    def __init__(self, method, path, raw_query, headers, body):
        self.method = method
        self.path = path
        self.raw_query = raw_query
        self.headers = headers  # [(name, value)] as they arrived
        self.body = body
        self.params = dict(parse_qsl(raw_query, keep_blank_values=True))
        ctype = self.header("Content-Type") or ""
        if method == "POST" and ctype.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            self.params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))

    def header(self, name):
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None


class DoubleServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's listen backlog is 5: a burst of connections beyond it
    # (a test's, or ebssh-api's threads) would wait for a SYN retransmit (1 s).
    request_queue_size = 128

    def __init__(self, address, state, verbose=False):
        super().__init__(address, Handler)
        self.state = state
        self.verbose = verbose
        self.services = {"ec2": Ec2Service(state)}
        # Further services by signing name; each keeps its own fixture and
        # answers /__control/<signing name>/... itself (see their modules).
        for svc in (LogsService(state), LambdaService(state), CloudWatchService(state), CodeDeployService(state)):
            self.services[svc.name] = svc
        self.default_service = "ec2"
        self.calls = calllog.CallLog.from_environment()

    def service_control(self, method, path, body):
        """/__control/<service>/<route> of a service with its own control
        routes: (status, answer), or None when no service claims the path."""
        head, _, route = path[len("/__control/") :].partition("/")
        svc = self.services.get(head)
        if svc is None or not hasattr(svc, "control"):
            return None
        return control.call(body, lambda data: svc.control(method, route.rstrip("/"), data))

    def reset_services(self):
        for svc in self.services.values():
            svc.reset()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits
    # for the client's delayed ACK (40 ms) about every other request.
    disable_nagle_algorithm = True
    server_version = "AmazonEC2"

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    # -- reading and writing ----------------------------------------------

    def _read_body(self):
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, headers, body, cut=False):
        if cut:
            body = body[: len(body) // 2]
        chunked = self.server.state.config().get("chunked") and not cut
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if chunked:
            step = 1000
            for i in range(0, len(body), step):
                part = body[i : i + step]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def _send_json(self, status, obj):
        body = (json.dumps(obj, indent=1) + "\n").encode()
        self._send(status, [("Content-Type", "application/json")], body)

    def _reset_connection(self):
        """Closes the socket with SO_LINGER 0: the peer gets an RST and no
        answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    # -- dispatch -----------------------------------------------------------

    def _dispatch(self):
        try:
            body = self._read_body()
        except ValueError:
            self._send_json(400, {"error": "unreadable body"})
            self.close_connection = True
            return
        path, _, raw_query = self.path.partition("?")
        if path.startswith("/__control/"):
            answer = self.server.service_control(self.command, path, body)
            if answer is None:
                answer = control.handle(self.server.state, self.command, path, body)
                if path.rstrip("/") == "/__control/reset" and answer[0] == 200:
                    self.server.reset_services()
            self._send_json(*answer)
            return
        req = Request(self.command, path, raw_query, list(self.headers.items()), body)
        call = {}  # service, status and whether noted, as _aws() learns them
        try:
            self._aws(req, call)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            # A bug in the double: loud on stderr, and an answer no AWS
            # client takes for AWS's own.
            text = traceback.format_exc()
            sys.stderr.write(f"aws double: internal bug\n{text}")
            call["status"] = 500
            self._note_call(req, call)
            self._send(500, [("Content-Type", "text/plain")], b"aws double: internal bug, see its stderr\n")
            self.close_connection = True

    def _note_call(self, req, call):
        """The request's line in the run's call log (calllog.py), if any:
        written before the answer goes out, so a client that has its
        answer finds its line there even if the double is stopped at once."""
        calls = self.server.calls
        if calls is None or call.get("noted"):
            return
        call["noted"] = True
        service = call.get("service") or self.server.default_service
        target = req.header("X-Amz-Target")
        action = calllog.operation(service, req.method, req.path, req.params, target)
        calls.record(service, action, call["status"], req.header("User-Agent"))

    def _aws(self, req, call):
        """Answers an AWS request, noting it in the call log first: call
        holds its "service" (the signing name the request names, else the
        one that answers) and "status" (0: the connection was reset)."""
        state = self.server.state
        cfg = state.config()
        verdict = sigcheck.verify(
            req.method, req.path, req.raw_query, req.headers, req.body, state.credentials, max_skew=cfg.get("max_skew")
        )
        service = self.server.services.get(verdict.service or self.server.default_service)
        if service is None:
            service = self.server.services[self.server.default_service]
            if verdict.ok:
                verdict.fail("AuthFailure", f"the double does not serve {verdict.service}")
        call["service"] = verdict.service or service.name
        action = service.action(req)
        entry = state.log_append(
            {
                "method": req.method,
                "path": req.path,
                "query": req.raw_query,
                "service": service.name,
                "action": action,
                "params": service.params(req),
                "content_type": req.header("Content-Type"),
                "user_agent": req.header("User-Agent"),
                **verdict.as_dict(),
                "fault": None,
                "status": None,
            }
        )
        if ratelimit.metered(service.name, action) and not state.ratelimit.take():
            resp = service.fault(Fault("throttle"))
            state.log_update(entry, fault="ratelimit", status=resp.status)
            call["status"] = resp.status
            self._note_call(req, call)
            self._send(resp.status, resp.headers, resp.body)
            return
        fault = state.faults.take(action)
        cut = False
        if fault is not None:
            state.log_update(entry, fault=fault.spec)
            if fault.kind == "reset":
                state.log_update(entry, status="reset")
                call["status"] = 0
                self._note_call(req, call)
                self._reset_connection()
                return
            if fault.kind == "slow":
                time.sleep(fault.seconds)
            elif fault.kind == "hold":
                state.holds.wait()
            elif fault.kind == "truncate":
                cut = True
            else:
                resp = service.fault(fault)
                state.log_update(entry, status=resp.status)
                call["status"] = resp.status
                self._note_call(req, call)
                self._send(resp.status, resp.headers, resp.body)
                return
        resp = service.handle(req) if verdict.ok else service.auth_error(verdict)
        status = 200 if cut else resp.status
        state.log_update(entry, status=status)
        call["status"] = status
        self._note_call(req, call)
        self._send(status, resp.headers, resp.body, cut=cut)
