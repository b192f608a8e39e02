#!/usr/bin/env python3
"""tests/doubles/gcs_double.py with a CRC32C written in C, for the S3 -> GCS
bench (bench/s3_gcs_copy.py); the double itself is not changed.

    gcs_double_fast.py LIBCRC32C.so [gcs_double.py's arguments...]

The double computes the CRC32C of every upload it completes with a
byte-at-a-time Python loop (~0.2 s per MiB here: 3.5 minutes for 1 GiB), which
would make the double, not the clients, what a copy's time measures. This
wrapper replaces the module's crc32c(data, crc=0) function with
crc32c_update() of LIBCRC32C.so (util/crc32c.c, slice-by-8, compiled by the
bench with -O2 -shared) through ctypes, then runs the double's main(). Before
serving, it checks the replacement against the double's own function and,
when Debian's python3-crcmod imports (an implementation nobody here wrote),
against crcmod too; any difference is fatal. It also sets TCP_NODELAY on the
double's connections (see no_nagle; EBSSH_BENCH_GCS_NAGLE=1 leaves Nagle on).
Everything else (the JSON API, the hash checks, the token endpoint) is the
double's own code.
"""

import ctypes
import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

import gcs_double  # noqa: E402


def load(lib_path):
    lib = ctypes.CDLL(os.path.abspath(lib_path))
    lib.crc32c_update.restype = ctypes.c_uint32
    lib.crc32c_update.argtypes = [ctypes.c_uint32, ctypes.c_char_p, ctypes.c_size_t]
    update = lib.crc32c_update

    def crc32c(data, crc=0):
        if isinstance(data, bytearray):
            buf = (ctypes.c_char * len(data)).from_buffer(data)
            return update(crc, buf, len(data))
        return update(crc, bytes(data), len(data))

    return crc32c


def crcmod_fn():
    """Debian's python3-crcmod CRC-32C, or None when it does not import
    (the tools' Python has no crcmod; Debian's /usr/lib/python3 is tried)."""
    try:
        import crcmod
    except ImportError:
        if "/usr/lib/python3/dist-packages" in sys.path:
            return None
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import crcmod
        except ImportError:
            return None
        finally:
            sys.path.remove("/usr/lib/python3/dist-packages")
    return crcmod.mkCrcFun(0x11EDC6F41, initCrc=0, rev=True, xorOut=0xFFFFFFFF)


def self_check(fast):
    sample = bytearray(os.urandom(200003))
    slow = gcs_double.crc32c
    want = slow(bytes(sample))
    checks = [("empty", fast(b""), slow(b"")), ("sample", fast(sample), want),
              ("continued", fast(sample[777:], fast(bytes(sample[:777]))), want),
              ("RFC 3720 32 zeros", fast(bytes(32)), 0x8A9136AA)]
    other = crcmod_fn()
    if other is not None:
        checks.append(("crcmod", fast(bytes(sample)), other(bytes(sample))))
    bad = [name for name, got, exp in checks if got != exp]
    if bad:
        sys.exit("gcs_double_fast: the C CRC32C differs from the double's in: " + ", ".join(bad))
    return other is not None


def no_nagle(handler_class):
    """TCP_NODELAY on every connection, as runtime_api.py and the AWS double
    set it: the double writes an answer's headers and body in two sends, and
    with Nagle the body waits for the client's delayed ACK (~40 ms) on a
    reused connection, which would make a small copy's time the double's."""
    base_setup = handler_class.setup

    def setup(self):
        base_setup(self)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    handler_class.setup = setup


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: gcs_double_fast.py LIBCRC32C.so [gcs_double.py arguments]")
    fast = load(sys.argv[1])
    self_check(fast)
    gcs_double.crc32c = fast
    if os.environ.get("EBSSH_BENCH_GCS_NAGLE") != "1":
        no_nagle(gcs_double.Handler)
    return gcs_double.main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
