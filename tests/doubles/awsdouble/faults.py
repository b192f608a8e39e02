"""Faults injected on demand, one per matching request, in queue order.

A fault spec is a string:
  throttle        the service's throttling error (EC2: RequestLimitExceeded, 503)
  500             the service's internal error (EC2: InternalError, 500)
  unavailable     the service's overload error (EC2: Unavailable, 503)
  authfailure     the service's credential error (EC2: AuthFailure, 401)
  slow:N          sleep N seconds (may be fractional), then answer normally
  hold            wait until POST /__control/release (or a reset), then answer
                  normally: a request kept in flight for as long as a test
                  needs, without a timing (GET /__control/held counts them)
  reset           close the connection abruptly (RST, SO_LINGER 0), no answer
  truncate        a 200 answer whose body is the normal body cut in half
  error:CODE:STATUS[:MESSAGE]   any error in the service's error format

Queues are keyed by the action (EC2's Action, later the JSON target or REST
operation); the key "*" matches any action and is used when the action's
own queue is empty.
"""

import collections
import threading

KINDS = ("throttle", "500", "unavailable", "authfailure", "reset", "truncate", "hold")

HOLD_MAX_SECONDS = 600  # a forgotten hold still ends


class Fault:
    def __init__(self, spec):
        self.spec = spec
        self.kind = spec
        self.seconds = 0.0
        self.code = self.status = self.message = None
        if spec.startswith("slow:"):
            self.kind = "slow"
            try:
                self.seconds = float(spec[5:])
            except ValueError:
                raise ValueError(f"bad fault {spec!r}: slow:SECONDS") from None
            if not 0 <= self.seconds <= 600:
                raise ValueError(f"bad fault {spec!r}: 0..600 seconds")
        elif spec.startswith("error:"):
            parts = spec.split(":", 3)
            if len(parts) < 3 or not parts[1] or not parts[2].isdigit():
                raise ValueError(f"bad fault {spec!r}: error:CODE:STATUS[:MESSAGE]")
            self.kind = "error"
            self.code, self.status = parts[1], int(parts[2])
            self.message = parts[3] if len(parts) == 4 else f"Injected {parts[1]}"
        elif spec not in KINDS:
            raise ValueError(f"unknown fault {spec!r}")

    def __repr__(self):
        return f"Fault({self.spec!r})"


class FaultQueue:
    def __init__(self):
        self._lock = threading.Lock()
        self._queues = collections.defaultdict(collections.deque)

    def add(self, action, specs):
        """Appends faults for action; raises ValueError (and adds nothing)
        when a spec is malformed."""
        faults = [Fault(s) for s in specs]
        with self._lock:
            self._queues[action].extend(faults)
        return len(faults)

    def take(self, action):
        """The next fault for action (its own queue, then "*"), or None."""
        with self._lock:
            for key in (action, "*"):
                q = self._queues.get(key)
                if q:
                    return q.popleft()
        return None

    def pending(self):
        with self._lock:
            return {k: [f.spec for f in q] for k, q in self._queues.items() if q}

    def clear(self):
        with self._lock:
            self._queues.clear()


class Holds:
    """The requests a "hold" fault keeps waiting, and their release."""

    def __init__(self):
        self._cond = threading.Condition()
        self._held = 0
        self._generation = 0

    def wait(self):
        """Blocks until the next release (at most HOLD_MAX_SECONDS)."""
        with self._cond:
            generation = self._generation
            self._held += 1
            try:
                self._cond.wait_for(lambda: self._generation != generation, HOLD_MAX_SECONDS)
            finally:
                self._held -= 1
                self._cond.notify_all()

    def held(self):
        with self._cond:
            return self._held

    def release(self):
        """Lets every request held now go on; returns how many there were."""
        with self._cond:
            n = self._held
            self._generation += 1
            self._cond.notify_all()
            return n
