"""What the double remembers between requests: the fixture, known
credentials, queued faults, EC2's rate limit (ratelimit.py), the request log, pagination tokens, the
tunable config and the AMIs and snapshots (images.py). Every piece is safe to use from the server's threads.
POST /__control/reset brings it all back to how the command line set it.
"""

import copy
import threading
import time

from . import images as images_mod
from .faults import FaultQueue, Holds
from .ratelimit import RateLimit
from .sigcheck import CredentialStore

DEFAULT_CONFIG = {
    "page_size": None,  # instances per DescribeInstances page (None: all)
    "short_pages": False,  # every other page holds one instance fewer
    "empty_last_page": False,  # a nextToken after a full last page, whose page is empty
    "max_skew": 900,  # seconds of clock skew allowed (None: not checked)
    "chunked": False,  # answer with Transfer-Encoding: chunked
}
# Further keys of /__control/config that the image store keeps (images.py):
# image_pending_describes, image_invisible_describes,
# deregistered_visible_describes, snapshot_inuse_after_deregister,
# snapshot_pending_describes, clock (epoch seconds or ISO time of new
# images and snapshots; null: real time).
IMAGE_KEYS = set(images_mod.CONFIG) | {"clock"}
LOG_CAP = 10000


def check_config(changes):
    """Validates a config update; returns it or raises ValueError."""
    for k, v in changes.items():
        if k in IMAGE_KEYS:
            continue
        if k not in DEFAULT_CONFIG:
            raise ValueError(f"unknown config key {k!r}")
        if k in ("page_size", "max_skew"):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < (1 if k == "page_size" else 0)):
                raise ValueError(f"{k} must be a positive integer or null")
        elif not isinstance(v, bool):
            raise ValueError(f"{k} must be true or false")
    return changes


class State:
    def __init__(self, fixture, credentials, config):
        self._lock = threading.Lock()
        self._initial_fixture = fixture
        self._initial_credentials = list(credentials)
        self._initial_config = dict(DEFAULT_CONFIG, **check_config(dict(config)))
        self.credentials = CredentialStore()
        self.faults = FaultQueue()
        self.holds = Holds()
        self.ratelimit = RateLimit()
        self.images = images_mod.ImageStore()
        self._seq = 0
        self.reset()

    def reset(self):
        with self._lock:
            self.fixture = self._initial_fixture
            self._config = dict(self._initial_config)
            self._log = []
            self._tokens = {}
        self.credentials.clear()
        for ak, sk, tok in self._initial_credentials:
            self.credentials.add(ak, sk, tok)
        self.faults.clear()
        self.ratelimit.reset()
        self.holds.release()
        self.images.reset()

    def set_fixture(self, fixture):
        with self._lock:
            self.fixture = fixture

    def config(self):
        with self._lock:
            return dict(self._config)

    def update_config(self, changes):
        check_config(changes)
        image_changes = {k: v for k, v in changes.items() if k in IMAGE_KEYS}
        self.images.update_config(image_changes)
        with self._lock:
            self._config.update({k: v for k, v in changes.items() if k not in IMAGE_KEYS})
            return dict(self._config, **self.images.config())

    def token_put(self, token, value):
        with self._lock:
            self._tokens[token] = value

    def token_get(self, token):
        with self._lock:
            return self._tokens.get(token)

    def log_append(self, entry):
        """Adds a request to the log and returns the entry, which the
        caller fills in further through log_update()."""
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            entry["time"] = time.time()
            self._log.append(entry)
            del self._log[:-LOG_CAP]
            return entry

    def log_update(self, entry, **fields):
        with self._lock:
            entry.update(fields)

    def log(self):
        with self._lock:
            return copy.deepcopy(self._log)

    def log_clear(self):
        with self._lock:
            self._log = []
