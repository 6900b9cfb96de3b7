"""verify: deployment verification and integration tests for AWS stacks."""

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
from verify.model import Category, CheckResult, RunSummary, Severity, Status, Verdict

__version__ = "0.1.0"

__all__ = [
    "AwsAccessError",
    "Category",
    "CheckFailed",
    "CheckResult",
    "ConfigError",
    "NotApplicable",
    "OutputsError",
    "ReadOnlyViolation",
    "RunSummary",
    "Severity",
    "Status",
    "UsageError",
    "Verdict",
    "VerifyError",
    "__version__",
]
