"""The release gate: judge a run's checks under a policy, with every reason written down.

It needs only the finished run's results, so `verify gate` re-judges a `summary.json` without touching
AWS, and `verify run --policy` applies the very same function live. Severity is recomputed for every
check (a waiver that expired since the run blocks again), then the thresholds only ever tighten it:
a slow flow fails the gate, too many checks in error make it `error`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from verify.config.settings import Policy
from verify.model import CheckResult, Gate, RunSummary, Severity, Status, Verdict, judge

_REASON_CHARS = 240


@dataclasses.dataclass(frozen=True)
class BlockingTally:
    """What the blocking checks came to: the gate's numbers, counted once for every report.

    A skipped check passed nothing, so it is counted as "not applicable", never as a pass; a check in
    error is "could not be verified", and one not reachable from here is neither."""

    total: int
    passed: int
    not_applicable: int
    failed: int
    error: int
    unverified: int

    def line(self) -> str:
        """The gate line every report and the console print: "72 of 104 blocking checks passed;
        32 not applicable; 0 failed" (the error and unverified clauses only when there are any)."""
        parts = [
            f"{self.passed} of {self.total} blocking checks passed",
            f"{self.not_applicable} not applicable",
            f"{self.failed} failed",
        ]
        if self.error:
            parts.append(f"{self.error} could not be verified")
        if self.unverified:
            parts.append(f"{self.unverified} not verified from here")
        return "; ".join(parts)


def blocking_tally(checks: list[CheckResult]) -> BlockingTally:
    """The blocking checks' tally, as judged (the severities on `checks` are the policy's)."""
    statuses = [c.status for c in checks if c.severity is Severity.BLOCKING]
    return BlockingTally(
        total=len(statuses),
        passed=statuses.count(Status.PASSED),
        not_applicable=statuses.count(Status.SKIPPED),
        failed=statuses.count(Status.FAILED),
        error=statuses.count(Status.ERROR),
        unverified=statuses.count(Status.UNVERIFIED),
    )


def gate_line(summary: RunSummary) -> str:
    """The honest gate line of a judged run (see `BlockingTally.line`)."""
    return blocking_tally(summary.checks).line()


def flow_latency_s(checks: list[CheckResult]) -> float | None:
    """End-to-end latency of the data flow: the latest hop's time since ingest, if any hop was timed."""
    times = [
        float(c.evidence["at_s"])
        for c in checks
        if c.service == "flow" and isinstance(c.evidence.get("at_s"), int | float)
    ]
    return max(times) if times else None


def rejudge(check: CheckResult, policy: Policy, today: dt.date) -> CheckResult:
    waiver = policy.active_waiver(check.id, today)
    return dataclasses.replace(
        check,
        severity=policy.severity(check.id, check.service, str(check.category), today),
        waiver=waiver.describe() if waiver else "",
    )


def apply_gate(
    summary: RunSummary, policy: Policy, source: str, *, today: dt.date | None = None
) -> RunSummary:
    """`summary` judged under `policy`: new severities, verdict and a `gate` holding every reason."""
    today = today or dt.date.today()
    checks = [rejudge(c, policy, today) for c in summary.checks]
    verdict = judge(checks)
    reasons: list[str] = []
    blocking = [c for c in checks if c.severity is Severity.BLOCKING]
    for check in sorted(blocking, key=lambda c: (c.status is not Status.FAILED, c.id)):
        if check.status is Status.FAILED:
            reasons.append(f"blocking check {check.id} failed: {_line(check.message)}")
        elif check.status is Status.ERROR:
            detail = _line(check.message).removeprefix("could not verify: ")
            reasons.append(f"blocking check {check.id} could not be verified: {detail}")
        elif check.status is Status.UNVERIFIED:
            detail = _line(check.message).removeprefix("not verified from here: ")
            if policy.require_reachable:
                verdict = Verdict.FAIL
                reasons.append(
                    f"blocking check {check.id} was not reachable (policy.require_reachable): {detail}"
                )
            else:
                reasons.append(f"blocking check {check.id} not verified from here: {detail}")
    for check in checks:
        if check.status not in (Status.FAILED, Status.ERROR):
            continue
        for waiver in policy.expired_waivers(check.id, today):
            if check.severity is Severity.BLOCKING:
                reasons.append(
                    f"waiver for {waiver.check} expired on {waiver.expires}: {check.id} blocks again"
                )
        if check.waiver:
            reasons.append(f"{check.id} {check.status} but is waived: {check.waiver}")
    if not any(c.status in (Status.PASSED, Status.FAILED, Status.ERROR) for c in blocking):
        reasons.append("no blocking check passed: nothing was verified")
    verdict = _thresholds(checks, policy, verdict, reasons)
    # First, whatever the verdict: what passed, not how many were planned (a skip passed nothing).
    reasons.insert(0, blocking_tally(checks).line())
    if summary.interrupted and verdict is Verdict.PASS:
        # A run stopped half-way proves only what it reached: never a green gate.
        verdict = Verdict.ERROR
        reasons.append("the run was interrupted before every check finished")
    return dataclasses.replace(
        summary, checks=checks, verdict=verdict, gate=Gate(verdict=verdict, reasons=reasons, policy=source)
    )


def _thresholds(checks: list[CheckResult], policy: Policy, verdict: Verdict, reasons: list[str]) -> Verdict:
    if policy.max_flow_latency_s is not None:
        latency = flow_latency_s(checks)
        if latency is None:
            reasons.append(
                f"flow latency not measured (no flow step was timed): max_flow_latency_s = "
                f"{policy.max_flow_latency_s:g} s not applied"
            )
        elif latency > policy.max_flow_latency_s:
            reasons.append(
                f"flow end-to-end latency {latency:.3f} s exceeds max_flow_latency_s = "
                f"{policy.max_flow_latency_s:g} s"
            )
            verdict = Verdict.FAIL
    if policy.max_errors is not None:
        errors = sum(1 for c in checks if c.status is Status.ERROR)
        if errors > policy.max_errors:
            reasons.append(
                f"{errors} checks could not be verified, more than max_errors = {policy.max_errors}"
            )
            if verdict is not Verdict.FAIL:
                verdict = Verdict.ERROR
    return verdict


def _line(message: str) -> str:
    first = (message or "no message").splitlines()[0]
    return first if len(first) <= _REASON_CHARS else first[: _REASON_CHARS - 1] + "…"
