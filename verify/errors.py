"""The two error families of the harness.

Exception tree::

    AssertionError
    └── CheckFailed            the stack is wrong (a check's verdict: failed)
    Exception
    ├── NotApplicable          the check does not apply to this stack (a check's verdict: skipped)
    └── VerifyError            the harness could not verify (exit 3, or a check's verdict: error)
        ├── NotReachable       not reachable from where verify runs (a check's verdict: unverified)
        ├── AwsAccessError     no credentials, endpoint unreachable, permission denied, throttled out
        ├── ReadOnlyViolation  a write was attempted while the read-only guard is on (smoke mode)
        └── UsageError         bad input: nothing was verified (exit 2)
            ├── OutputsError   missing / unreadable / invalid outputs file
            └── ConfigError    missing / unreadable / invalid configuration

`CheckFailed` derives from `AssertionError` so pytest reports it as a failure, never as an error;
everything else raised inside a check is an error ("could not verify").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The words of every error a check gets only because the run was being stopped (its wait cancelled,
# or the step it waited for cut short): reports do not send a reader there first.
STOPPING = "the run is being stopped"


@dataclass
class CheckFailed(AssertionError):
    """The deployed stack is wrong: what was expected, what was seen, and where."""

    message: str
    resource: str = ""
    expected: Any = None
    actual: Any = None
    attempts: int = 1
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class NotApplicable(Exception):
    """The check does not apply to this stack; the message says why (reported as skipped)."""


class VerifyError(Exception):
    """The harness could not verify. `exit_code` is what the CLI exits with when it is fatal."""

    exit_code = 3


class NotReachable(VerifyError):
    """The resource is not reachable from where verify runs -- a database in private subnets seen from
    a CI runner outside the VPC -- so nothing was learned about it either way (`unverified`).

    A VerifyError, because it is a kind of "could not verify"; its own class, because it is the normal
    case for private resources and must neither fail a healthy stack nor pass an unseen one.
    """

    def __init__(self, message: str, *, address: str = "") -> None:
        super().__init__(message)
        self.address = address


class AwsAccessError(VerifyError):
    """AWS could not be asked: no credentials, endpoint unreachable, access denied, throttled out."""


class ReadOnlyViolation(VerifyError):
    """A mutating AWS call or HTTP method was attempted while the read-only guard was on."""


class UsageError(VerifyError):
    """Bad input from the user: nothing was verified."""

    exit_code = 2


class OutputsError(UsageError):
    """The outputs file is missing, unreadable, or not a stack's outputs."""


class ConfigError(UsageError):
    """The harness configuration is missing, unreadable or invalid."""
