"""A tiny TAP producer for ebssh's Python test suites.

    t = Tap()
    t.ok(cond, "name", detail)      # one test line; detail printed as # lines on failure
    t.eq(got, want, "name")
    sys.exit(t.done())              # prints the plan; 1 if anything failed
"""

import sys
import traceback


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, detail=None):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}", flush=True)
            if detail is not None:
                for line in str(detail).splitlines() or [""]:
                    print(f"#   {line}", flush=True)
        return bool(cond)

    def eq(self, got, want, name):
        return self.ok(got == want, name, f"got:  {got!r}\nwant: {want!r}")

    def skip(self, name, reason):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {reason}", flush=True)

    def run(self, fn, *args, **kwargs):
        """Runs fn(self, *args); an exception is one failed test, not a crash."""
        try:
            fn(self, *args, **kwargs)
        except Exception:  # noqa: BLE001 - report whatever broke the case
            self.ok(False, f"{fn.__name__} raised", traceback.format_exc())

    def done(self):
        print(f"1..{self.n}", flush=True)
        return 1 if self.failed else 0


def diag(msg):
    for line in str(msg).splitlines():
        print(f"# {line}", flush=True)


if __name__ == "__main__":
    sys.exit("tap.py is a library")
