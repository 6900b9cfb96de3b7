"""Plain data shared by the plugin and the report writers: statuses, check results, run summaries.

Nothing here talks to AWS, pytest or the file system; `RunSummary.to_dict()` is the schema of
`summary.json` in CONTRACT.md and `RunSummary.from_dict()` reads it back (for `gate` and `merge`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"


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
        )


def judge(checks: list[CheckResult]) -> Verdict:
    """The verdict rule of CONTRACT.md, plus one honesty rule: a run that verified nothing is no pass.

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

    def counts(self) -> dict[str, int]:
        counts = {str(s): 0 for s in Status}
        for check in self.checks:
            counts[str(check.status)] += 1
        return counts

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
        if self.notes:
            data["notes"] = list(self.notes)
        if self.interrupted:
            data["interrupted"] = True
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
        )
