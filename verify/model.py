"""Plain data shared by the plugin and the report writers: statuses, check results, run summaries.

Nothing here talks to AWS, pytest or the file system; `RunSummary.to_dict()` is the schema of
`summary.json` in docs/reference.md and `RunSummary.from_dict()` reads it back (for `gate` and `merge`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1
# Every run id starts with this, and so does the key of every item the flow writes: verify's tag.
RUN_ID_PREFIX = "vfy-"


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"
    UNVERIFIED = "unverified"  # not reachable from where verify ran: neither a pass nor a failure


class Category(StrEnum):
    FUNCTIONAL = "functional"
    POSTURE = "posture"


class Severity(StrEnum):
    BLOCKING = "blocking"
    ADVISORY = "advisory"


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


@dataclass
class CheckResult:
    id: str
    title: str
    service: str
    resource: str
    category: Category
    severity: Severity
    status: Status
    duration_s: float = 0.0
    attempts: int = 1
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    stack: str = ""  # the stack whose outputs named the resource ("" for a single-stack run)
    waiver: str = ""  # an active waiver's reason, when one made this check advisory

    @property
    def is_advice(self) -> bool:
        """Advice, not a failure: failed, advisory under the policy, and no waiver made it so.

        The default policy makes posture advisory, so a healthy stack's findings about what it never
        asked for (no KMS on a topic, no reserved concurrency) are advice; a check the policy makes
        blocking (`[policy] blocking_checks`/`blocking_services`/`blocking_categories`) is asked for
        and stays a failure. A waived check was blocking: a known wrong, still shown as one."""
        return is_advice(str(self.status), str(self.severity), self.waiver)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "service": self.service,
            "resource": self.resource,
            "category": str(self.category),
            "severity": str(self.severity),
            "status": str(self.status),
            "duration_s": round(self.duration_s, 3),
            "attempts": self.attempts,
            "message": self.message,
        }
        if self.stack:
            data["stack"] = self.stack
        if self.waiver:
            data["waiver"] = self.waiver
        if self.is_advice:
            data["advice"] = True
        if self.evidence:
            data["evidence"] = self.evidence
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            id=str(data["id"]),
            title=str(data.get("title", "")),
            service=str(data.get("service", "")),
            resource=str(data.get("resource", "")),
            category=Category(data.get("category", "functional")),
            severity=Severity(data.get("severity", "blocking")),
            status=Status(data["status"]),
            duration_s=float(data.get("duration_s", 0.0)),
            attempts=int(data.get("attempts", 1)),
            message=str(data.get("message", "")),
            evidence=dict(data.get("evidence") or {}),
            stack=str(data.get("stack", "")),
            waiver=str(data.get("waiver", "")),
        )


def is_advice(status: str, severity: str, waiver: str = "") -> bool:
    """The advice rule on summary.json's plain values (see `CheckResult.is_advice`)."""
    return status == Status.FAILED and severity == Severity.ADVISORY and not waiver


def judge(checks: list[CheckResult]) -> Verdict:
    """The verdict rule of docs/reference.md, plus one honesty rule: a run that verified nothing is no pass.

    `fail` if any blocking check failed; else `error` if any blocking check errored; else `pass` --
    unless no blocking check passed at all (empty run, everything skipped), which is `error`, because
    a missing outputs file must never read as "all skipped, green".
    """
    blocking = [c for c in checks if c.severity is Severity.BLOCKING]
    if any(c.status is Status.FAILED for c in blocking):
        return Verdict.FAIL
    if any(c.status is Status.ERROR for c in blocking):
        return Verdict.ERROR
    if not any(c.status is Status.PASSED for c in blocking):
        return Verdict.ERROR
    return Verdict.PASS


@dataclass
class Gate:
    """The release gate's judgement of a run: its verdict, every reason for it, which policy said so."""

    verdict: Verdict
    reasons: list[str] = field(default_factory=list)
    policy: str = "built-in default"

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": str(self.verdict), "reasons": list(self.reasons), "policy": self.policy}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Gate:
        return cls(
            verdict=Verdict(data["verdict"]),
            reasons=[str(r) for r in data.get("reasons", [])],
            policy=str(data.get("policy", "")),
        )


@dataclass(frozen=True)
class LeftBehind:
    """Test data the run wrote (or sent) and could not remove: where it may be, its key, and why.

    Readings still in flight when clean-up ended, a malformed reading a stack accepted (it may sit
    in the stack's dead-letter queue, which verify never receives from), an item a delete missed.
    """

    place: str  # "DynamoDB table processed-data", "SQS queue ingest-dlq"
    key: str  # how to find it: "sensorId=vfy-20260101T000000-abcdef12-malformed"
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"place": self.place, "key": self.key, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LeftBehind:
        return cls(place=str(data["place"]), key=str(data["key"]), reason=str(data.get("reason", "")))

    def line(self) -> str:
        return f"{self.place}: {self.key} ({self.reason})"


def count_statuses(checks: list[CheckResult]) -> dict[str, int]:
    counts = {str(s): 0 for s in Status}
    for check in checks:
        counts[str(check.status)] += 1
    return counts


@dataclass
class RunSummary:
    verdict: Verdict
    profile: str
    run_id: str
    started_at: str
    duration_s: float
    source: str
    region: str | None
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    gate: Gate | None = None
    environment: dict[str, str] = field(default_factory=dict)  # versions, profile, shard: for reports
    shard: str = ""  # "I/N" when this run verified one shard of the checks
    # AWS API calls the run made, keyed like IAM actions (`sqs:GetQueueAttributes`): what it costs a
    # stack's API budget, and how that grows with the stack.
    aws_calls: dict[str, int] = field(default_factory=dict)
    # Of those, the calls discovery spent following the stack's wiring (summary.json
    # `aws_calls.discovery`): what seeing one hop beyond the outputs costs.
    discovery_calls: int = 0
    # And the calls of the access check before the checks (summary.json `aws_calls.access_check`):
    # one identity call and one read per service, which belong to no check either.
    access_calls: int = 0
    # Test data the run could not remove (summary.json `left_behind`, absent when nothing was left).
    left_behind: list[LeftBehind] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return count_statuses(self.checks)

    def advice(self) -> list[CheckResult]:
        """Failed checks that are advice, not failures (`CheckResult.is_advice`), in run order."""
        return [c for c in self.checks if c.is_advice]

    def stacks(self) -> dict[str, dict[str, Any]]:
        """Per-stack verdict and counts, when the checks came from more than one stack."""
        names = sorted({c.stack for c in self.checks if c.stack})
        if len(names) < 2:
            return {}
        section: dict[str, dict[str, Any]] = {}
        for name in names:
            mine = [c for c in self.checks if c.stack == name]
            section[name] = {"verdict": str(judge(mine)), "counts": count_statuses(mine)}
        return section

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "verdict": str(self.verdict),
            "profile": self.profile,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "stack": {"source": self.source, "region": self.region},
            "counts": self.counts(),
            "checks": [c.to_dict() for c in self.checks],
        }
        advice = len(self.advice())
        if advice:
            # How many of `counts.failed` are advice: a key of its own, `counts` stays one per status.
            data["advice"] = advice
        if self.notes:
            data["notes"] = list(self.notes)
        if self.interrupted:
            data["interrupted"] = True
        if self.gate is not None:
            data["gate"] = self.gate.to_dict()
        stacks = self.stacks()
        if stacks:
            data["stacks"] = stacks
        if self.shard:
            data["shard"] = self.shard
        if self.environment:
            data["environment"] = dict(self.environment)
        if self.aws_calls:
            data["aws_calls"] = {"total": sum(self.aws_calls.values()), "by_operation": dict(self.aws_calls)}
            if self.discovery_calls:
                data["aws_calls"]["discovery"] = self.discovery_calls
            if self.access_calls:
                data["aws_calls"]["access_check"] = self.access_calls
        if self.left_behind:
            data["left_behind"] = [item.to_dict() for item in self.left_behind]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        stack = data.get("stack") or {}
        return cls(
            verdict=Verdict(data["verdict"]),
            profile=str(data.get("profile", "full")),
            run_id=str(data.get("run_id", "")),
            started_at=str(data.get("started_at", "")),
            duration_s=float(data.get("duration_s", 0.0)),
            source=str(stack.get("source", "")),
            region=stack.get("region"),
            checks=[CheckResult.from_dict(c) for c in data.get("checks", [])],
            notes=[str(n) for n in data.get("notes", [])],
            interrupted=bool(data.get("interrupted", False)),
            gate=Gate.from_dict(data["gate"]) if isinstance(data.get("gate"), dict) else None,
            environment={str(k): str(v) for k, v in (data.get("environment") or {}).items()},
            shard=str(data.get("shard", "")),
            aws_calls={
                str(k): int(v) for k, v in ((data.get("aws_calls") or {}).get("by_operation") or {}).items()
            },
            left_behind=[LeftBehind.from_dict(item) for item in data.get("left_behind") or []],
            discovery_calls=int((data.get("aws_calls") or {}).get("discovery") or 0),
            access_calls=int((data.get("aws_calls") or {}).get("access_check") or 0),
        )
