#!/usr/bin/python3
"""build/bootstrap's caller classes (issue 15): API Gateway REST events whose
requestContext.identity carries the ops key's id (OPS_API_KEY_ID), another
key's id, or an IAM userArn, on ops and lookup routes; the invocation line
names the caller (api_key_id, caller_arn). Prints TAP."""

import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from runtime import Session, decode_answer, lines_of, v1_event  # noqa: E402
from harness import AwsDouble  # noqa: E402
from tap import Tap  # noqa: E402

OPS_ID, LOOKUP_ID = "opsk3y1d00", "lk3y1d0000"
ARN = "arn:aws:sts::123456789012:assumed-role/ops/alice"
OPS = ("GET", "/logs/bad.name/abcdefgh-1")  # served: its own 400 InvalidName, no AWS call


def event(method, path, key_id=None, arn=None):
    ev = v1_event(method, path)
    ev["requestContext"]["identity"].update({"apiKeyId": key_id, "userArn": arn})
    return ev


def main():
    tap = Tap()
    aws = AwsDouble().start()
    try:
        s = Session(aws, OPS_API_KEY_ID=OPS_ID)
        try:
            for what, key_id, arn, want in (("the lookup key's id", LOOKUP_ID, None, 403),
                                            ("no key id", None, None, 403),
                                            ("the ops key's id", OPS_ID, None, 400),
                                            ("an IAM caller", None, ARN, 400)):
                rid = "auth-%d" % want + (key_id or "x") + ("arn" if arn else "")
                st, h, body = decode_answer(s.last({"event": event(*OPS, key_id, arn), "request_id": rid}))
                ok = (st == want and (want != 403 or (body == '{"message":"Forbidden"}'
                                                      and h.get("x-amzn-errortype") == "ForbiddenException")))
                tap.ok(ok, "GET /logs with %s: %d" % (what, want), (st, h, body))
                line = [d for d in lines_of(s, rid) if d["message"] == "invocation"]
                tap.ok(line and line[0].get("api_key_id") == key_id and line[0].get("caller_arn") == arn,
                       "... the invocation line names the caller", line)
            st, _, _ = decode_answer(s.last({"event": event("GET", "/eb/x/ip", LOOKUP_ID)}))
            tap.ok(st == 400, "a lookup with the lookup key's id is served", st)
        finally:
            s.close()
        s = Session(aws)
        try:
            st, _, _ = decode_answer(s.last({"event": event(*OPS, OPS_ID)}))
            tap.ok(st == 403, "no OPS_API_KEY_ID: a key id never opens an ops route", st)
        finally:
            s.close()
    finally:
        aws.stop()
    sys.exit(tap.done())


if __name__ == "__main__":
    main()
