"""moto's server (tests/doubles/moto_server.py) as a child process of a test.

    from moto_aws import MotoAws

    with MotoAws() as moto:                   # or moto = MotoAws().start()
        ec2 = moto.client("ec2")              # boto3, signed with the test keys
        moto.set_clock("2024-05-01T09:30:00Z")  # LaunchTime/CreationDate from now on
        env = moto.client_env()               # AWS_* for a C program, nothing of the user's
        ... run build/ebssh-api with env ...
    # stopped (SIGTERM, then SIGKILL) here, even on an exception

The server runs under the tools' Python: this interpreter when it has moto,
else $EBSSH_TOOLS_PYTHON, else what scripts/tools-python.sh finds. It dies
with the test (context manager, atexit, PR_SET_PDEATHSIG). The first line
of its stdout gives the port; the rest of its stdout and its stderr go to
the test's stderr.
"""

import atexit
import importlib.util
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOUBLES = os.path.join(ROOT, "tests", "doubles")
sys.path.insert(0, DOUBLES)

from child import start_double, stop_process  # noqa: E402
from harness import isolate_aws  # noqa: E402

SCRIPT = os.path.join(DOUBLES, "moto_server.py")
HARNESS_HEADER = "X-Ebssh-Harness"  # moto_server.py does not log requests that carry it
REGION = "us-east-1"
# moto answers any key; these name the account moto maps them to (123456789012).
KEYS = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def tools_python():
    """The interpreter that runs moto's server: this one when it imports
    moto, else $EBSSH_TOOLS_PYTHON, else scripts/tools-python.sh's answer.
    Raises RuntimeError when there is none."""
    if importlib.util.find_spec("moto") is not None:
        return sys.executable
    if os.environ.get("EBSSH_TOOLS_PYTHON"):
        return os.environ["EBSSH_TOOLS_PYTHON"]
    found = subprocess.run(
        [os.path.join(ROOT, "scripts", "tools-python.sh")], capture_output=True, text=True, check=False
    )
    if found.returncode != 0 or not found.stdout.strip():
        raise RuntimeError("no Python with moto: run `make deps` (scripts/tools-python.sh finds none)")
    return found.stdout.strip()


def _drain(pipe):
    """Copies what is left of a child's stdout to our stderr, until EOF."""
    with pipe:
        for line in iter(pipe.readline, b""):
            sys.stderr.write(line.decode("utf-8", "replace"))


def _mark_harness(request, **_):
    request.headers[HARNESS_HEADER] = "1"


class ControlError(Exception):
    def __init__(self, status, answer):
        super().__init__(f"moto's control API answered {status}: {answer}")
        self.status = status
        self.answer = answer


class MotoAws:
    """One moto server process on 127.0.0.1, on a free port."""

    def __init__(self, verbose=False, default_amis=False, start_timeout=60, region=REGION):
        self.args = [tools_python(), "-B", SCRIPT, "--port", "0"]
        if verbose:
            self.args.append("--verbose")
        if default_amis:
            self.args.append("--default-amis")
        self.region = region
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self.url = None

    @classmethod
    def attach(cls, url, region=REGION):
        """A MotoAws for a server that runs already (started elsewhere, e.g.
        by a shell script): clients and controls, no process to stop."""
        self = cls.__new__(cls)
        self.args = None
        self.region = region
        self.start_timeout = 0
        self.proc = None
        self.url = url.rstrip("/")
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    # -- life cycle -----------------------------------------------------------

    def start(self):
        """Starts the server and waits for its PORT line; returns self
        (at once when it runs, or was attached to)."""
        if self.proc is not None or self.args is None:
            return self
        self.proc, self.port = start_double(self.args, self.start_timeout, f"moto's server ({' '.join(self.args)})")
        atexit.register(self.stop)
        self.url = f"http://127.0.0.1:{self.port}"
        # moto may print to stdout later on; a pipe nobody reads would
        # fill up and stall the server. What it says goes to our stderr.
        threading.Thread(target=_drain, args=(self.proc.stdout,), daemon=True).start()
        return self

    def stop(self, timeout=5):
        """Stops the server (SIGTERM, then SIGKILL); returns its exit status."""
        proc, self.proc = self.proc, None
        return stop_process(proc, timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- controls ---------------------------------------------------------------

    def control(self, path, obj=None, method=None):
        """Calls /__control/<path> (moto_server.py's own controls) with obj
        as a JSON body (POST when there is one, else GET); the decoded answer.
        Raises ControlError on a non-200 answer."""
        return self._call(f"/__control/{path.lstrip('/')}", obj, method)

    def set_clock(self, when):
        """Stops EC2's clock at when (ISO 8601 with a zone), or gives the
        real time back (None); see moto_server.py."""
        return self.control("clock", {"now": when})

    def set_console(self, instance_id, text):
        """What GetConsoleOutput answers for that instance from now on (the
        decoded console text); see moto_server.py's Consoles."""
        return self.control("console", {"instance_id": instance_id, "output": text})

    def reset(self):
        """moto's own reset: every service's state is forgotten."""
        return self._call("/moto-api/reset", {}, "POST", decode=False)

    def _call(self, path, obj, method, decode=True):
        body = None if obj is None else json.dumps(obj).encode()
        req = urllib.request.Request(
            self.url + path, data=body, method=method or ("POST" if body is not None else "GET"),
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise ControlError(e.code, e.read().decode(errors="replace")) from None
        return json.loads(raw) if decode else raw

    # -- clients ------------------------------------------------------------------

    def client(self, service, **config):
        """A boto3 client of this server; config goes to botocore's Config
        (e.g. retries={"max_attempts": 1}). Its requests carry the header
        X-Ebssh-Harness, so the call log leaves them out: the log is what
        the code under test called, not how the test built or read the world."""
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            aws_access_key_id=KEYS[0], aws_secret_access_key=KEYS[1], region_name=self.region
        )
        client = session.client(service, endpoint_url=self.url, config=Config(**config) if config else None)
        client.meta.events.register("before-sign", _mark_harness)
        return client

    def client_env(self, base=None, **extra):
        """An environment in which an AWS client (ebssh's C programs, the
        AWS CLI) talks to this server with the test keys, and nothing of
        the user's own AWS setup leaks in. extra: more variables (None
        removes one)."""
        env = isolate_aws(dict(os.environ if base is None else base))
        env.update(
            {
                "AWS_ACCESS_KEY_ID": KEYS[0],
                "AWS_SECRET_ACCESS_KEY": KEYS[1],
                "AWS_REGION": self.region,
                "AWS_ENDPOINT_URL": self.url,
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env


if __name__ == "__main__":
    sys.exit("moto_aws.py is a library; tests/doubles/moto_server.py runs the server")
