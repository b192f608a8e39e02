#!/usr/bin/python3
"""A minimal Python runtime for the Lambda Runtime API: the approach ebssh
replaces, for bench/lambda_cold_start.py. It does what the managed Python
runtime does, without its extras (no shell wrapper, no log formatting):

    init:  put $LAMBDA_TASK_ROOT on sys.path and import the handler named by
           $_HANDLER ("module.function"); a failure goes to /runtime/init/error
    loop:  GET /invocation/next (no timeout) -> handler(event, context)
           -> POST /invocation/{id}/response, or /invocation/{id}/error with
           Lambda-Runtime-Function-Error-Type; a 500 from /next (the container
           is going away) ends the process

One keep-alive connection (http.client) carries every call; a call that
fails on a stale connection is retried once, as bootstrap does.
"""

import http.client
import importlib
import json
import os
import sys
import time
import traceback

API_VERSION = "2018-06-01"


class Context:
    """The handler's context object (the attributes the real one has)."""

    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


class RuntimeApi:
    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.conn = None
        self.base = "/%s/runtime" % API_VERSION

    def call(self, method, path, body=None, headers=None):
        """(status, headers, body bytes); retried once on a dropped connection."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port)  # no timeout
            try:
                self.conn.request(method, self.base + path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                return r.status, r.headers, r.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def error_doc(exc, etype):
    return json.dumps({
        "errorMessage": str(exc),
        "errorType": etype,
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__),
    }).encode()


def main():
    api = RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))
        module, function = os.environ["_HANDLER"].rsplit(".", 1)
        handler = getattr(importlib.import_module(module), function)
    except Exception as exc:  # noqa: BLE001 (any init failure is reported)
        api.call("POST", "/init/error", error_doc(exc, "Runtime.ImportModuleError"),
                 {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError",
                  "Content-Type": "application/json"})
        return 1

    while True:
        status, headers, body = api.call("GET", "/invocation/next")
        if status != 200:
            sys.stderr.write("runtime: /next answered %d, exiting\n" % status)
            return 1
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        trace = headers.get("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        try:
            event = json.loads(body)
        except ValueError as exc:
            api.call("POST", "/invocation/%s/error" % request_id,
                     error_doc(exc, "Runtime.UnmarshalError"),
                     {"Lambda-Runtime-Function-Error-Type": "Runtime.UnmarshalError"})
            continue
        try:
            result = json.dumps(handler(event, Context(headers))).encode()
        except Exception as exc:  # noqa: BLE001 (a failed invocation; the loop goes on)
            api.call("POST", "/invocation/%s/error" % request_id, error_doc(exc, "Unhandled"),
                     {"Lambda-Runtime-Function-Error-Type": "Unhandled"})
            continue
        api.call("POST", "/invocation/%s/response" % request_id, result,
                 {"Content-Type": "application/json"})


if __name__ == "__main__":
    sys.exit(main())
