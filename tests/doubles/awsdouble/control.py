"""The control API, on the same port under /__control/, never signed.
Bodies and answers are JSON.

  GET  /__control/health       {"ok": true}
  POST /__control/faults       {"action": "DescribeInstances", "faults": ["throttle", "slow:2"]}
                               queues faults ("*" for any action); 400 on a bad spec
  GET  /__control/faults       the faults still queued, by action
  GET  /__control/held         {"held": n}: requests a "hold" fault keeps waiting now
  POST /__control/release      lets them all go on; {"released": n}
  POST /__control/fixture      a fixture (see fixtures.py) replacing the instance set
  GET  /__control/requests     the request log: one object per request with method,
                               path, service, action, params (as sent, flattened),
                               verified, error, reason, had_token, token_signed,
                               access_key, region, fault, status
  DELETE /__control/requests   empties the log
  POST /__control/credentials  {"access_key": ..., "secret_key": ..., "token": ...} adds a key
  GET  /__control/config       the tunables (page_size, short_pages, empty_last_page,
  POST /__control/config       max_skew, chunked, and the image store's: see state.py);
                               POST changes the ones given
  POST /__control/console      {"instance_id": ..., "console_output"|"host_keys"|"nitro": ...}
                               replaces one instance's console (ec2_console.py)
  GET  /__control/images       {"images": [...], "snapshots": [...]}: every AMI (live and
                               deregistered; State, NoReboot, Tags, BlockDeviceMappings,
                               ...) and snapshot (Deleted true once deleted), boto3's shapes
  POST /__control/images       seeds images and snapshots (format in images.py)
  DELETE /__control/images     forgets every image and snapshot
  POST /__control/image-state  {"ImageId", "State"}: sets an image's state (images.py)
  GET  /__control/ratelimit    EC2's token bucket (ratelimit.py): enabled, capacity,
  POST /__control/ratelimit    refill_per_second, tokens, taken, throttled; POST
                               changes enabled, capacity, refill_per_second, tokens
  POST /__control/reset        holds (released), faults, the rate limit (off), log, tokens, fixture, credentials, config, images
                               and snapshots back to what the command line set
"""

import json

from . import ec2_console
from .ec2 import check_fixture
from .fixtures import Fixture, FixtureError


def handle(state, method, path, body):
    """Returns (status, JSON-able answer)."""
    route = path[len("/__control/") :].rstrip("/")
    return call(body, lambda data: _route(state, method, route, data))


def call(body, route):
    """(status, answer) of route(data), data being the JSON body (None when
    empty); 400 for a body that is not JSON, or a ValueError, TypeError or
    KeyError route raises."""
    try:
        data = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return 400, {"error": f"bad JSON: {e}"}
    try:
        return route(data)
    except (ValueError, TypeError, KeyError) as e:
        return 400, {"error": str(e)}


def _route(state, method, route, data):
    if route == "health" and method == "GET":
        return 200, {"ok": True}
    if route == "faults" and method == "POST":
        if not isinstance(data, dict) or not isinstance(data.get("faults"), list):
            raise ValueError('want {"action": "...", "faults": [...]}')
        action = data.get("action") or "*"
        n = state.faults.add(action, [str(f) for f in data["faults"]])
        return 200, {"queued": n, "pending": state.faults.pending()}
    if route == "held" and method == "GET":
        return 200, {"held": state.holds.held()}
    if route == "release" and method == "POST":
        return 200, {"released": state.holds.release()}
    if route == "faults" and method == "GET":
        return 200, {"pending": state.faults.pending()}
    if route == "fixture" and method == "POST":
        try:
            fixture = Fixture(data)
            check_fixture(fixture)
        except FixtureError as e:
            raise ValueError(str(e)) from None
        state.set_fixture(fixture)
        return 200, {"instances": len(fixture.instances)}
    if route == "requests" and method == "GET":
        return 200, state.log()
    if route == "requests" and method == "DELETE":
        state.log_clear()
        return 200, {"ok": True}
    if route == "credentials" and method == "POST":
        if not isinstance(data, dict) or not data.get("access_key") or not data.get("secret_key"):
            raise ValueError('want {"access_key": ..., "secret_key": ..., "token": ...}')
        state.credentials.add(data["access_key"], data["secret_key"], data.get("token"))
        return 200, {"access_keys": state.credentials.access_keys()}
    if route == "config" and method == "GET":
        return 200, dict(state.config(), **state.images.config())
    if route == "config" and method == "POST":
        if not isinstance(data, dict):
            raise ValueError("want an object of config keys")
        return 200, state.update_config(data)
    if route == "images" and method == "GET":
        return 200, state.images.view()
    if route == "images" and method == "POST":
        return 200, state.images.seed(data, state.fixture.owner_id)
    if route == "image-state" and method == "POST":
        return 200, state.images.set_state(data)
    if route == "images" and method == "DELETE":
        state.images.clear()
        return 200, {"ok": True}
    if route == "ratelimit" and method == "GET":
        return 200, state.ratelimit.view()
    if route == "ratelimit" and method == "POST":
        return 200, state.ratelimit.update(data)
    if route == "reset" and method == "POST":
        state.reset()
        return 200, {"ok": True}
    if route == "console" and method == "POST":
        return 200, ec2_console.set_console(state, data)
    return 404, {"error": f"no control route {method} /__control/{route}"}
