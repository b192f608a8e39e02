#!/usr/bin/env python3
# test-python: tools
"""openapi/ebssh.yaml is a valid OpenAPI 3.0 document by
openapi-spec-validator (the OpenAPI Initiative's schema plus its own checks:
path parameters declared, references that resolve), a second opinion beside
spectral (tests/integration/openapi_lint.sh). It is read with the tests'
strict loader (tests/lib/strict_yaml.py), so a key given twice fails before
any validator could miss it. Broken copies must be refused, each for its
reason, so that a pass means the validator looked. TAP on stdout.
"""

import copy
import os
import sys

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import strict_yaml  # noqa: E402
import yaml  # noqa: E402
from openapi_spec_validator import OpenAPIV30SpecValidator  # noqa: E402
from openapi_spec_validator import __version__ as validator_version  # noqa: E402
from tap import Tap, diag  # noqa: E402

API = os.path.join(ROOT, "openapi", "ebssh.yaml")


def problems(doc):
    """What openapi-spec-validator says against doc, one string each; a
    reference it cannot follow may raise instead of being listed, which is a
    refusal too."""
    try:
        return [str(e).split("\n", 1)[0] for e in OpenAPIV30SpecValidator(doc).iter_errors()]
    except Exception as e:  # noqa: BLE001 - the validator gave up on the document: that is its verdict
        return [f"{type(e).__name__}: {e}"]


def undeclared_path_parameter(doc):
    doc["paths"]["/eb/{env}/ip/{n}/{extra}"] = doc["paths"].pop("/eb/{env}/ip/{n}")


def unknown_type(doc):
    doc["components"]["parameters"]["Index"]["schema"]["type"] = "int"


def no_responses(doc):
    del doc["paths"]["/health"]["get"]["responses"]


def dangling_ref(doc):
    doc["paths"]["/eb/{env}/ip"]["get"]["responses"]["404"] = {"$ref": "#/components/responses/Nowhere"}


# (what, how to break a copy, a fragment of the validator's complaint)
BREAKAGES = [
    ("a path parameter no operation declares", undeclared_path_parameter, "Path parameter 'extra'"),
    ("a parameter of an unknown type", unknown_type, "'int' is not valid"),
    ("an operation without responses", no_responses, "'responses' is a required property"),
    ("a $ref to nothing", dangling_ref, "Nowhere"),
]


def main():
    t = Tap()
    diag(f"openapi-spec-validator {validator_version} ({sys.executable})")
    try:
        doc = strict_yaml.load_file(API)
    except (OSError, yaml.YAMLError) as e:
        t.ok(False, "openapi/ebssh.yaml loads (no key twice)", e)
        return t.done()
    t.ok(isinstance(doc, dict), "openapi/ebssh.yaml loads (no key twice)")
    t.ok(str(doc.get("openapi", "")).startswith("3.0."), "it declares OpenAPI 3.0.x, what the validator checks",
         doc.get("openapi"))
    found = problems(doc)
    t.ok(not found, "openapi-spec-validator finds nothing in openapi/ebssh.yaml", "\n".join(found))

    for what, breaker, fragment in BREAKAGES:
        broken = copy.deepcopy(doc)
        try:
            breaker(broken)
        except KeyError as e:
            t.ok(False, f"the validator refuses {what}", f"the document lost {e} (update this test)")
            continue
        found = problems(broken)
        t.ok(any(fragment in p for p in found), f"the validator refuses {what}",
             f"want a complaint with {fragment!r}, got:\n" + "\n".join(found))

    with open(API, encoding="utf-8") as f:
        text = f.read()
    doubled = text.replace("\npaths:\n", "\npaths:\n  /health:\n    get: {}\n", 1)
    try:
        strict_yaml.load(doubled)
        refused = None
    except strict_yaml.DuplicateKeyError as e:
        refused = e
    t.ok(doubled != text and refused is not None and "'/health'" in str(refused),
         "a path given twice is refused on loading (PyYAML alone would keep one silently)", refused)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
