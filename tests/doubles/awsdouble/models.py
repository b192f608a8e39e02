"""Service models: which operations exist and what their parameters are.

botocore's own definitions (Debian's python3-botocore) are the base. Where
the newer subset in $EBSSH_VECTORS/service-models/ has an operation, its
definition wins: Debian's EC2 model predates, for one, DescribeImages
pagination (see tests/vectors/README.md).
"""

import json
import os
import threading

import botocore.model
import botocore.session

_SUBSETS = {
    "ec2": "ec2-2016-11-15-service-2.SUBSET.json",
}

_lock = threading.Lock()
_cache = {}


def vectors_dir():
    """The test vectors: $EBSSH_VECTORS, else the checkout's tests/vectors."""
    env = os.environ.get("EBSSH_VECTORS")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    return os.path.join(root, "tests", "vectors")


def _load(service):
    with _lock:
        if service in _cache:
            return _cache[service]
        subset = None
        name = _SUBSETS.get(service)
        if name:
            path = os.path.join(vectors_dir(), "service-models", name)
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    subset = botocore.model.ServiceModel(json.load(f), service_name=service)
        base = botocore.session.get_session().get_service_model(service)
        _cache[service] = (subset, base)
        return _cache[service]


def operation(service, name):
    """The OperationModel of service's operation `name`, or None when no
    model has it."""
    subset, base = _load(service)
    if subset is not None and name in subset.operation_names:
        return subset.operation_model(name)
    if name in base.operation_names:
        return base.operation_model(name)
    return None


def metadata(service):
    subset, base = _load(service)
    return (subset or base).metadata
