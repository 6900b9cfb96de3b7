"""verify: deployment verification and integration tests for AWS stacks.

The public API that suites and users' own checks import. Heavy parts (boto3, requests) load lazily,
so `import verify` stays cheap for the CLI and for pytest start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from verify.errors import (
    AwsAccessError,
    CheckFailed,
    ConfigError,
    NotApplicable,
    OutputsError,
    ReadOnlyViolation,
    UsageError,
    VerifyError,
)
from verify.marks import mark  # cheap, and unlike pytest.mark it loads no pytest: verify/marks.py
from verify.model import Category, CheckResult, RunSummary, Severity, Status, Verdict

if TYPE_CHECKING:
    from verify import probes
    from verify.aws.client import Aws
    from verify.aws.errors import aws_errors
    from verify.aws.http import HttpResult, SignedHttp
    from verify.config.settings import Config
    from verify.engine.evidence import CheckRecorder
    from verify.engine.session import VerifySession
    from verify.polling import NotYet, Polled, Waiter, eventually
    from verify.scenario.flow import Flow
    from verify.stack.inventory import Inventory, Resource
    from verify.stack.outputs import Output, Outputs

from verify.version import __version__

_LAZY = {
    "Aws": "verify.aws.client",
    "aws_errors": "verify.aws.errors",
    "CheckRecorder": "verify.engine.evidence",
    "Config": "verify.config.settings",
    "Flow": "verify.scenario.flow",
    "HttpResult": "verify.aws.http",
    "SignedHttp": "verify.aws.http",
    "Inventory": "verify.stack.inventory",
    "Resource": "verify.stack.inventory",
    "Output": "verify.stack.outputs",
    "Outputs": "verify.stack.outputs",
    "NotYet": "verify.polling",
    "Polled": "verify.polling",
    "Waiter": "verify.polling",
    "eventually": "verify.polling",
    "VerifySession": "verify.engine.session",
}


def __getattr__(name: str) -> Any:
    if name == "probes":
        return importlib.import_module("verify.probes")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'verify' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "Aws",
    "AwsAccessError",
    "Category",
    "CheckFailed",
    "CheckRecorder",
    "CheckResult",
    "Config",
    "ConfigError",
    "Flow",
    "HttpResult",
    "Inventory",
    "NotApplicable",
    "NotYet",
    "Output",
    "Outputs",
    "OutputsError",
    "Polled",
    "ReadOnlyViolation",
    "Resource",
    "RunSummary",
    "Severity",
    "SignedHttp",
    "Status",
    "UsageError",
    "Verdict",
    "VerifyError",
    "VerifySession",
    "Waiter",
    "__version__",
    "aws_errors",
    "eventually",
    "mark",
    "probes",
]
