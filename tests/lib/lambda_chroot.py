"""The Lambda package in an empty root, for the package suites.

tests/integration/package_chroot.sh (this machine's architecture) and
tests/integration/package_arm64.py (arm64 under qemu-user) both unzip a
package into a root holding only /var/task and an empty /tmp, run
/var/task/bootstrap there with chroot against the Runtime API double
(tests/doubles/runtime_api.py) and send it the same invocations:

    health_events(vectors)      three items: a GET /health API Gateway event
                                (request id chroot-1), a malformed event, the
                                same event again (chroot-2); no AWS needed
    empty_root(zip, root)       unzips zip into root/var/task, makes root/tmp
    lambda_env(address)         the environment bootstrap gets (nothing else)
    check_health(results)       [(ok, name)] for the results of those three

As a program: `lambda_chroot.py events OUT.json` writes health_events() as
the double's --events file (package_chroot.sh).
"""

import json
import os
import sys
import zipfile

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"


def health_events(vectors):
    with open(os.path.join(vectors, "events", "powertools-python", "apiGatewayProxyEvent.json"),
              encoding="utf-8") as f:
        ev = json.load(f)
    ev.update({"path": "/health", "httpMethod": "GET", "resource": "/health",
               "body": None, "isBase64Encoded": False})
    ev["requestContext"]["httpMethod"] = "GET"
    bad = {"raw": "{\"not\": \"an event\""}
    return [{"event": ev, "request_id": "chroot-1"}, bad, {"event": ev, "request_id": "chroot-2"}]


def empty_root(zip_path, root):
    """root/var/task holds the zip's files (modes kept), root/tmp is 1777."""
    task = os.path.join(root, "var", "task")
    os.makedirs(task)
    os.makedirs(os.path.join(root, "tmp"))
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            path = z.extract(info, task)
            mode = (info.external_attr >> 16) & 0o7777
            if mode:
                os.chmod(path, mode)
    return task


def lambda_env(address):
    return {"AWS_LAMBDA_RUNTIME_API": address, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_SESSION_TOKEN": "token", "AWS_LAMBDA_FUNCTION_NAME": "ebssh",
            "LAMBDA_TASK_ROOT": "/var/task"}


def check_health(r):
    """What the double recorded for health_events(): [(passed, name)]."""
    inv = {e["request_id"]: e for e in r.get("invocations", [])}
    first = inv.get("chroot-1", {})
    try:
        body = json.loads(first.get("body") or "{}")
    except ValueError:
        body = {}
    bad = [e for e in r.get("invocations", [])
           if e["kind"] == "error" and e["headers"].get(ERROR_TYPE) == "Runtime.InvalidEvent"]
    second = inv.get("chroot-2", {})
    return [
        (first.get("kind") == "response" and body.get("statusCode") == 200 and body.get("body") == "ok\n",
         "the API Gateway event (GET /health) is answered from inside the empty root"),
        (bool(bad), "a bad event is reported to /error"),
        (second.get("kind") == "response" and not r.get("init_errors"),
         "the next event is answered too, no init error"),
    ]


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "events":
        sys.exit("usage: lambda_chroot.py events OUT.json")
    vectors = os.environ.get("EBSSH_VECTORS") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "vectors")
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(health_events(vectors), f)
