"""The order a reader needs, shared by summary.md and report.html (issue 18):

1. the verdict, the gate's line, then what to fix first;
2. what is wrong (blocking failures and errors first);
3. what was not verified from here;
4. advice;
5. passes, counted per service and folded away (the outputs' own checks one row per stack).

The flow's timeline and the per-stack table sit between advice and the passes. Each writer escapes
what it shows; this module only chooses and orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verify.errors import STOPPING
from verify.model import CheckResult, RunSummary, Severity, Status

_ORDER = {Status.FAILED: 0, Status.ERROR: 1, Status.UNVERIFIED: 2, Status.SKIPPED: 3, Status.PASSED: 4}
OUTPUTS = "outputs"
NOT_VERIFIED_PREFIX = "not verified from here: "
# Past this many, the gate's reasons are folded: each failure is in "What is wrong" already.
OPEN_REASONS_MAX = 3


def first_problem(summary: RunSummary) -> CheckResult | None:
    """The check to read first: the first blocking failure in run order, else the first blocking error.
    In an interrupted run, not an error the stop itself caused (a wait it cut short): the stack is
    not what to fix there, and the interrupt is said above it."""
    for wanted in (Status.FAILED, Status.ERROR):
        for check in summary.checks:
            if check.status is not wanted or check.severity is not Severity.BLOCKING:
                continue
            if summary.interrupted and wanted is Status.ERROR and STOPPING in (check.message or ""):
                continue
            return check
    return None


def failures(summary: RunSummary) -> int:
    """Failed checks that are not advice: what "failed" counts wherever a person reads it (the
    console's closing line, summary.md, report.html); summary.json's `counts.failed` includes advice."""
    return summary.counts()["failed"] - len(summary.advice())


def problems(summary: RunSummary) -> list[CheckResult]:
    """What is wrong: failures and errors that are not advice, blocking first, failures before errors."""
    found = [c for c in summary.checks if c.status in (Status.FAILED, Status.ERROR) and not c.is_advice]
    return sorted(found, key=lambda c: (c.severity is not Severity.BLOCKING, _ORDER[c.status], c.id))


def unreached(summary: RunSummary) -> list[CheckResult]:
    return sorted((c for c in summary.checks if c.status is Status.UNVERIFIED), key=lambda c: c.id)


def advice(summary: RunSummary) -> list[CheckResult]:
    return sorted(summary.advice(), key=lambda c: (c.service, c.id))


def not_applicable(summary: RunSummary) -> list[CheckResult]:
    return sorted((c for c in summary.checks if c.status is Status.SKIPPED), key=lambda c: (c.service, c.id))


def gate_reasons(summary: RunSummary, line: str) -> list[str]:
    """The gate's reasons other than its line (shown under the verdict already)."""
    if summary.gate is None:
        return []
    return [reason for reason in summary.gate.reasons if reason != line]


@dataclass
class ServiceGroup:
    """One row of "passed, by service": a service (the outputs' own checks: one per stack)."""

    label: str
    service: str
    stack: str = ""
    checks: list[CheckResult] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status is status)

    @property
    def passed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status is Status.PASSED]

    @property
    def others(self) -> int:
        """Failed, in error or not verified from here: listed in their own sections above."""
        return len(self.checks) - self.count(Status.PASSED) - self.count(Status.SKIPPED)


def by_service(summary: RunSummary) -> list[ServiceGroup]:
    """Every check grouped by service, sorted by service; the outputs' own checks ("output X has a
    value / is well-formed", a third of a healthy run's rows) one group per stack."""
    groups: dict[tuple[str, str], ServiceGroup] = {}
    for check in summary.checks:
        stack = check.stack if check.service == OUTPUTS else ""
        key = (check.service, stack)
        if key not in groups:
            label = f"{OUTPUTS} of {stack}" if stack else check.service
            groups[key] = ServiceGroup(label, check.service, stack)
        groups[key].checks.append(check)
    return [groups[key] for key in sorted(groups)]
