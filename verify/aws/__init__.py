"""Where the harness asks AWS: the only place that builds boto3 clients.

One module per job (ARCHITECTURE.md): `client` (session, cached clients, and the wiring of the
others onto botocore's events), `guard` (read-only), `calls` (call counting), `breaker` (dead
endpoints), `deadline` (one overall deadline per try), `errors` (`aws_errors`: botocore → our two
families), `snapshot` (a read-only run's read cache), `http` (SigV4-signed HTTP).

The names below load lazily, so importing `verify.aws.snapshot` or `verify.aws.http` does not
load boto3's client machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verify.aws.breaker import Breaker, EndpointDown
    from verify.aws.client import Aws
    from verify.aws.errors import NO_CREDENTIALS, NO_REGION, aws_errors
    from verify.aws.guard import is_read_operation

_LAZY = {
    "Aws": "verify.aws.client",
    "Breaker": "verify.aws.breaker",
    "EndpointDown": "verify.aws.breaker",
    "NO_CREDENTIALS": "verify.aws.errors",
    "NO_REGION": "verify.aws.errors",
    "aws_errors": "verify.aws.errors",
    "is_read_operation": "verify.aws.guard",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'verify.aws' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["NO_CREDENTIALS", "NO_REGION", "Aws", "Breaker", "EndpointDown", "aws_errors", "is_read_operation"]
