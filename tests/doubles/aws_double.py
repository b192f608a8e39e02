#!/usr/bin/python3
"""The AWS test double: EC2 (and, as issues add them, further services) on
loopback, checking every request's SigV4 signature with botocore and
answering with AWS's real shapes. Run with Debian's /usr/bin/python3 (it
needs python3-botocore).

  aws_double.py [--port 0] [--port-file PATH] [--fixture PATH]
                [--credentials AKID:SECRET[:TOKEN]]... [--credentials-file PATH]
                [--page-size N] [--short-pages] [--empty-last-page]
                [--max-skew SECONDS | --no-skew-check] [--chunked] [--verbose]

The first line on stdout is "PORT <n>" (flushed); with --port-file the
port is also written there. SIGTERM or SIGINT stops it; exit status 0.
Known credentials: the --credentials flags, plus --credentials-file (a JSON
list of {"access_key", "secret_key", "token"}); with neither, the bundled
fixtures/credentials.json. The control API is described in
awsdouble/control.py, the fixture format in awsdouble/fixtures.py.
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from awsdouble.ec2 import check_fixture  # noqa: E402
from awsdouble.fixtures import Fixture, FixtureError  # noqa: E402
from awsdouble.server import DoubleServer  # noqa: E402
from awsdouble.state import State  # noqa: E402
from child import serve_until_signal  # noqa: E402


def parse_credentials(text):
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise argparse.ArgumentTypeError("want AKID:SECRET[:TOKEN]")
    return (parts[0], parts[1], parts[2] if len(parts) == 3 and parts[2] else None)


def load_credentials_file(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict):
        data = data.get("credentials", [])
    return [(c["access_key"], c["secret_key"], c.get("token")) for c in data]


def main(argv=None):
    ap = argparse.ArgumentParser(description="AWS test double (EC2 Query API) with SigV4 checks")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    ap.add_argument("--port-file", help="also write the port to this file")
    ap.add_argument("--fixture", default=os.path.join(HERE, "fixtures", "instances.json"))
    ap.add_argument("--credentials", action="append", type=parse_credentials, default=[], metavar="AKID:SECRET[:TOKEN]")
    ap.add_argument("--credentials-file")
    ap.add_argument("--page-size", type=int, help="instances per DescribeInstances page")
    ap.add_argument("--short-pages", action="store_true", help="every other page one instance short")
    ap.add_argument("--empty-last-page", action="store_true", help="a nextToken after a full last page")
    ap.add_argument("--max-skew", type=int, default=900, help="allowed clock skew in seconds (default 900)")
    ap.add_argument("--no-skew-check", action="store_true")
    ap.add_argument("--chunked", action="store_true", help="answer with Transfer-Encoding: chunked")
    ap.add_argument("--verbose", action="store_true", help="log each request on stderr")
    args = ap.parse_args(argv)

    if args.page_size is not None and args.page_size < 1:
        ap.error("--page-size must be at least 1")
    try:
        fixture = Fixture.load(args.fixture)
        check_fixture(fixture)
    except (OSError, FixtureError) as e:
        ap.error(f"fixture: {e}")
    creds = list(args.credentials)
    if args.credentials_file:
        creds += load_credentials_file(args.credentials_file)
    elif not creds:
        creds = load_credentials_file(os.path.join(HERE, "fixtures", "credentials.json"))
    config = {
        "page_size": args.page_size,
        "short_pages": args.short_pages,
        "empty_last_page": args.empty_last_page,
        "max_skew": None if args.no_skew_check else args.max_skew,
        "chunked": args.chunked,
    }
    server = DoubleServer((args.host, args.port), State(fixture, creds, config), verbose=args.verbose)
    return serve_until_signal(server, args.port_file)


if __name__ == "__main__":
    sys.exit(main())
