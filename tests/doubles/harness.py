"""Starts and drives the AWS double (aws_double.py) from a Python test.

    from harness import AwsDouble, SESSION

    with AwsDouble(page_size=3) as aws:           # or aws = AwsDouble().start()
        env = aws.client_env(SESSION)             # AWS_* variables for a C program
        aws.queue_faults("DescribeInstances", ["throttle", "500"])
        aws.set_fixture([{"id": "i-...", ...}])   # see awsdouble/fixtures.py
        ... run something against aws.url ...
        log = aws.requests()                      # what the double received
    # stopped (SIGTERM, then SIGKILL) here, even on an exception

The double is a child process of the test. It is killed when the test's
`with` block ends, at interpreter exit, and (PR_SET_PDEATHSIG) when the
test process dies without cleaning up. Its stderr goes to the test's
stderr; its stdout gives the port.
"""

import atexit
import json
import os
import signal
import sys
import urllib.error
import urllib.request

from child import start_double, stop_process

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "aws_double.py")
PYTHON = "/usr/bin/python3"

# The keys of fixtures/credentials.json: (access key, secret, token).
LONG_TERM = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
SESSION = (
    "ASIAIOSFODNN7EXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQDEXAMPLEtoken+with/slashes+and==",
)

def isolate_aws(env):
    """Removes every AWS_* variable from env (a dict, or os.environ) and
    points the SDKs' config files and instance metadata nowhere; returns env."""
    for k in list(env):
        if k.startswith("AWS_"):
            del env[k]
    env.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true"})
    return env


class ControlError(Exception):
    def __init__(self, status, answer):
        super().__init__(f"control API answered {status}: {answer}")
        self.status = status
        self.answer = answer


class AwsDouble:
    """One double process. Keyword arguments become its command line:
    fixture (path), credentials (list of (akid, secret, token-or-None)),
    credentials_file, page_size, short_pages, empty_last_page, max_skew
    (None: no clock check), chunked, verbose, extra_args."""

    def __init__(
        self,
        fixture=None,
        credentials=None,
        credentials_file=None,
        page_size=None,
        short_pages=False,
        empty_last_page=False,
        max_skew=900,
        chunked=False,
        verbose=False,
        extra_args=(),
        start_timeout=15,
    ):
        args = [PYTHON, "-B", SCRIPT, "--port", "0"]
        if fixture:
            args += ["--fixture", fixture]
        for ak, sk, tok in credentials or []:
            args += ["--credentials", f"{ak}:{sk}" + (f":{tok}" if tok else "")]
        if credentials_file:
            args += ["--credentials-file", credentials_file]
        if page_size is not None:
            args += ["--page-size", str(page_size)]
        if short_pages:
            args.append("--short-pages")
        if empty_last_page:
            args.append("--empty-last-page")
        if max_skew is None:
            args.append("--no-skew-check")
        else:
            args += ["--max-skew", str(max_skew)]
        if chunked:
            args.append("--chunked")
        if verbose:
            args.append("--verbose")
        args += list(extra_args)
        self.args = args
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self.url = None

    # -- life cycle -----------------------------------------------------------

    def start(self):
        """Starts the double and waits for its PORT line; returns self."""
        if self.proc is not None:
            return self
        self.proc, self.port = start_double(self.args, self.start_timeout, f"the AWS double ({' '.join(self.args)})")
        atexit.register(self.stop)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self, timeout=5):
        """Stops the double (SIGTERM, then SIGKILL); returns its exit status."""
        proc, self.proc = self.proc, None
        rc = stop_process(proc, timeout)
        if proc is not None and proc.stdout:
            proc.stdout.close()
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- the control API ------------------------------------------------------

    def control(self, path, obj=None, method=None):
        """Calls /__control/<path> with obj as a JSON body (POST when there
        is one, else GET); returns the decoded answer. Raises ControlError
        on a non-200 answer."""
        body = None if obj is None else json.dumps(obj).encode()
        method = method or ("POST" if body is not None else "GET")
        req = urllib.request.Request(
            f"{self.url}/__control/{path.lstrip('/')}",
            data=body,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            raise ControlError(e.code, e.read().decode(errors="replace")) from None

    def queue_faults(self, action, faults):
        """Queues faults for action ("*": any), consumed one per request."""
        return self.control("faults", {"action": action, "faults": list(faults)})

    def held(self):
        """How many requests a "hold" fault keeps waiting now."""
        return self.control("held")["held"]

    def release(self):
        """Lets every held request go on; how many there were."""
        return self.control("release", {})["released"]

    def pending_faults(self):
        return self.control("faults")["pending"]

    def requests(self):
        """The request log: a list of dicts (see awsdouble/control.py)."""
        return self.control("requests")

    def clear_requests(self):
        return self.control("requests", method="DELETE")

    def set_fixture(self, fixture):
        """Replaces the instances: a list of instances or {"instances": [...]}."""
        return self.control("fixture", fixture)

    def add_credentials(self, access_key, secret_key, token=None):
        return self.control("credentials", {"access_key": access_key, "secret_key": secret_key, "token": token})

    def config(self, **changes):
        """Changes tunables (page_size, short_pages, empty_last_page,
        max_skew, chunked; image_pending_describes, image_invisible_describes,
        deregistered_visible_describes, snapshot_inuse_after_deregister,
        snapshot_pending_describes, image_final_state, clock) when given any;
        returns them all."""
        return self.control("config", changes) if changes else self.control("config")

    def ratelimit(self, **changes):
        """EC2's token bucket (awsdouble/ratelimit.py): changes enabled,
        capacity, refill_per_second, tokens when given any; returns its view."""
        return self.control("ratelimit", changes) if changes else self.control("ratelimit")

    def reset(self):
        return self.control("reset", {})

    def seed_images(self, images=(), snapshots=()):
        """Adds AMIs and snapshots (format in awsdouble/images.py)."""
        return self.control("images", {"images": list(images), "snapshots": list(snapshots)})

    def set_image_state(self, image_id, state):
        """Sets an image's state: pending, available, failed or disabled."""
        return self.control("image-state", {"ImageId": image_id, "State": state})

    def images(self):
        """{"images": [...], "snapshots": [...]}: the double's whole image
        state, deregistered images and deleted snapshots included."""
        return self.control("images")

    def clear_images(self):
        return self.control("images", method="DELETE")

    # -- for programs under test ---------------------------------------------

    def client_env(self, credentials=SESSION, region="us-east-1", base=None):
        """An environment in which an AWS client talks to this double with
        the given (akid, secret, token) and nothing from the user's own AWS
        setup leaks in."""
        env = isolate_aws(dict(os.environ if base is None else base))
        ak, sk, tok = credentials
        env.update(
            {
                "AWS_ACCESS_KEY_ID": ak,
                "AWS_SECRET_ACCESS_KEY": sk,
                "AWS_REGION": region,
                "AWS_ENDPOINT_URL": self.url,
                "AWS_ENDPOINT_URL_EC2": self.url,
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )
        if tok:
            env["AWS_SESSION_TOKEN"] = tok
        return env


def boto3_client(double, credentials=SESSION, service="ec2", region="us-east-1", **config):
    """A boto3 client for the double; config goes to botocore's Config
    (e.g. retries={"max_attempts": 1})."""
    import boto3
    from botocore.config import Config

    ak, sk, tok = credentials
    session = boto3.session.Session(
        aws_access_key_id=ak, aws_secret_access_key=sk, aws_session_token=tok, region_name=region
    )
    return session.client(service, endpoint_url=double.url, config=Config(**config) if config else None)


if __name__ == "__main__":
    # Manual use: start a double and print its URL until interrupted.
    with AwsDouble(verbose=True) as d:
        print(d.url, flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    sys.exit(0)
