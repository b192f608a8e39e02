"""Child processes of the tests, and the doubles' side of starting one.

  die_with_parent(sig)     a preexec_fn: the child gets sig (PR_SET_PDEATHSIG)
                           when the test that started it dies
  stop_process(proc)       SIGTERM (or another signal), then SIGKILL after a
                           timeout; returns the exit status
  read_port(proc, ...)     waits for a double's first stdout line "PORT <n>"
  start_double(args, ...)  starts a double and reads its port: (proc, port)
  serve_until_signal(srv)  a double's main loop: prints "PORT <n>", serves
                           until SIGTERM or SIGINT, then shuts down
  sanitizer_clean(text)    no ASan/UBSan report in a C program's stderr
"""

import ctypes
import os
import select
import signal
import subprocess
import threading
import time

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig=signal.SIGTERM):
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)
    except OSError:
        pass


def stop_process(proc, timeout=5, sig=signal.SIGTERM, timed_out=None):
    """Sends sig (if proc still runs) and waits timeout seconds, then kills.
    Returns the exit status, or timed_out (when given) if it had to kill;
    None when proc is None."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            if timed_out is not None:
                return timed_out
    return proc.returncode


def sanitizer_clean(text):
    return "Sanitizer" not in text and "runtime error:" not in text


def read_port(proc, timeout, what):
    """The port of a child whose first stdout line is "PORT <n>" (stdout a
    pipe). Raises RuntimeError naming `what` when it exits, says something
    else, or says nothing within timeout seconds; the caller stops it."""
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise RuntimeError(f"{what} did not start")
        if select.select([proc.stdout], [], [], left)[0]:
            line += os.read(proc.stdout.fileno(), 1)
    text = line.decode().strip()
    if not text.startswith("PORT "):
        raise RuntimeError(f"{what} said {text!r}, not PORT <n>")
    return int(text.split()[1])


def start_double(args, timeout, what):
    """Starts the double args (stdin closed, stdout a pipe, dying with the
    test) and waits for its "PORT <n>" line; returns (proc, port). When it
    does not start, it is stopped and RuntimeError names `what`."""
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, preexec_fn=die_with_parent)
    try:
        return proc, read_port(proc, timeout, what)
    except RuntimeError:
        stop_process(proc)
        proc.stdout.close()
        raise


def serve_until_signal(server, port_file=None):
    """Serves server (an http.server) in a thread; prints "PORT <n>" (also
    written to port_file, atomically, when given); returns 0 once SIGTERM or
    SIGINT arrived and the server is shut down."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    port = server.server_address[1]
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, port_file)
    print(f"PORT {port}", flush=True)
    while not stop.wait(0.1):
        pass
    server.shutdown()
    server.server_close()
    return 0
