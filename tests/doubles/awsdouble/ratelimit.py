"""EC2's request rate limit: a token bucket, the way EC2 throttles an account.

EC2 meters API requests per account and region with token buckets: the
non-mutating actions (Describe*, List*, Search*, Get*) share one, of about
100 tokens refilled at about 20 a second
(https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
Each request takes a token; a request finding the bucket empty is refused
with RequestLimitExceeded (HTTP 503, EC2's error XML: the throttle fault's
answer), and takes nothing.

Off until a test turns it on (POST /__control/ratelimit); a reset turns it
off again. GET /__control/ratelimit shows it:
  {"enabled": bool, "capacity": int, "refill_per_second": number,
   "tokens": number (now), "taken": n, "throttled": n}
POST takes any of enabled, capacity, refill_per_second and tokens (the
tokens in the bucket now; turning it on or changing the capacity fills it).
A refill of 0 makes the bucket a plain count: what a test without timings
wants. The clock is time.monotonic.
"""

import threading
import time

METERED_PREFIXES = ("Describe", "List", "Search", "Get")
DEFAULTS = {"enabled": False, "capacity": 100, "refill_per_second": 20.0}


def metered(service_name, action):
    """True when a request of service_name's action draws on the bucket."""
    return service_name == "ec2" and bool(action) and action.startswith(METERED_PREFIXES)


class RateLimit:
    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self.reset()

    def reset(self):
        with self._lock:
            self._cfg = dict(DEFAULTS)
            self._tokens = float(self._cfg["capacity"])
            self._at = self._clock()
            self._taken = 0
            self._throttled = 0

    def _refill(self):
        now = self._clock()
        rate = self._cfg["refill_per_second"]
        self._tokens = min(float(self._cfg["capacity"]), self._tokens + (now - self._at) * rate)
        self._at = now

    def take(self):
        """True when the request may go on (a token taken, or the limit
        off); False when it is throttled."""
        with self._lock:
            if not self._cfg["enabled"]:
                return True
            self._refill()
            if self._tokens >= 1:
                self._tokens -= 1
                self._taken += 1
                return True
            self._throttled += 1
            return False

    def view(self):
        with self._lock:
            self._refill()
            return dict(self._cfg, tokens=self._tokens, taken=self._taken, throttled=self._throttled)

    def update(self, data):
        """Applies a control POST; raises ValueError (and changes nothing)
        on a bad one."""
        if not isinstance(data, dict):
            raise ValueError("want an object with enabled, capacity, refill_per_second, tokens")
        for k, v in data.items():
            if k == "enabled":
                if not isinstance(v, bool):
                    raise ValueError("enabled must be true or false")
            elif k in ("capacity", "refill_per_second", "tokens"):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                    raise ValueError(f"{k} must be a number >= 0")
                if k == "capacity" and (not isinstance(v, int) or v < 1):
                    raise ValueError("capacity must be a whole number >= 1")
            else:
                raise ValueError(f"unknown ratelimit key {k!r}")
        with self._lock:
            self._refill()
            was = self._cfg["enabled"]
            for k in ("enabled", "capacity", "refill_per_second"):
                if k in data:
                    self._cfg[k] = data[k] if k != "refill_per_second" else float(data[k])
            if (self._cfg["enabled"] and not was) or "capacity" in data:
                self._tokens = float(self._cfg["capacity"])
                self._taken = self._throttled = 0
            if "tokens" in data:
                self._tokens = min(float(data["tokens"]), float(self._cfg["capacity"]))
            self._at = self._clock()
        return self.view()
