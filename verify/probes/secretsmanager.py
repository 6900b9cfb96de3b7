"""Secrets Manager: the secret exists, rotates on the expected schedule, and its last rotation did
not stop half-way. Only DescribeSecret: these checks never read a secret's value.

What "rotation failed" looks like from outside: a rotation stages the new value as AWSPENDING and
moves AWSCURRENT to it when it finishes. A version labelled AWSPENDING but not AWSCURRENT is a
rotation that stopped half-way (the rotation function failed); the next one cannot start until it is
cleared. A rotation that should have happened more than a day ago (NextRotationDate in the past)
did not happen.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed, VerifyError

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(day|days|hour|hours)\s*\)$")
OVERDUE_GRACE = dt.timedelta(days=1)


def describe(client: Any, secret_id: str) -> dict[str, Any]:
    with aws_errors("secretsmanager", "DescribeSecret", secret_id, subject=f"secret `{secret_id}`"):
        answer: dict[str, Any] = client.describe_secret(SecretId=secret_id)
    answer.pop("ResponseMetadata", None)
    return answer


def check_exists(client: Any, secret_id: str) -> dict[str, Any]:
    """Exists and is not scheduled for deletion (a secret with a DeletedDate cannot be read)."""
    __tracebackhide__ = True
    found = describe(client, secret_id)
    if found.get("DeletedDate"):
        raise CheckFailed(
            f"secret `{secret_id}`: expected a usable secret, got one scheduled for deletion on "
            f"{found['DeletedDate']}",
            resource=secret_id,
            expected="not scheduled for deletion",
            actual=str(found["DeletedDate"]),
        )
    return {"name": found.get("Name"), "kms_key": found.get("KmsKeyId") or "aws/secretsmanager"}


def rotation_days(rules: dict[str, Any]) -> float | None:
    """Days between rotations: AutomaticallyAfterDays, else a `rate(...)` ScheduleExpression."""
    if rules.get("AutomaticallyAfterDays"):
        return float(rules["AutomaticallyAfterDays"])
    match = _RATE.match(str(rules.get("ScheduleExpression", "")).strip())
    if match is None:
        return None
    amount = float(match.group(1))
    return amount if match.group(2).startswith("day") else amount / 24


def check_rotation(client: Any, secret_id: str, expected_days: int | None) -> dict[str, Any]:
    """Rotation enabled with a schedule; at most `expected_days` apart when that is set."""
    __tracebackhide__ = True
    found = describe(client, secret_id)
    rules = dict(found.get("RotationRules") or {})
    evidence = {
        "rotation_enabled": bool(found.get("RotationEnabled")),
        "automatically_after_days": rules.get("AutomaticallyAfterDays"),
        "schedule_expression": rules.get("ScheduleExpression"),
    }
    if not found.get("RotationEnabled") or not rules:
        raise CheckFailed(
            f"secret `{secret_id}`: expected rotation enabled with a schedule, got RotationEnabled "
            f"{bool(found.get('RotationEnabled'))} and rules {rules or 'none'}",
            resource=secret_id,
            expected="rotation enabled",
            actual=evidence,
        )
    days = rotation_days(rules)
    evidence["every_days"] = days
    if expected_days is None:
        return evidence
    if days is None:
        raise VerifyError(
            f"secret `{secret_id}`: the rotation schedule {rules.get('ScheduleExpression')!r} is not a rate, "
            f"so it cannot be compared with expect.rotation_days = {expected_days}"
        )
    if days > expected_days:
        raise CheckFailed(
            f"secret `{secret_id}`: expected rotation at least every {expected_days} days "
            f"(expect.rotation_days), got every {days:g} days",
            resource=secret_id,
            expected=f"<= {expected_days} days",
            actual=evidence,
        )
    return evidence


def check_last_rotation(client: Any, secret_id: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """No rotation stuck half-way (AWSPENDING without AWSCURRENT) and none overdue by over a day."""
    __tracebackhide__ = True
    found = describe(client, secret_id)
    stages: dict[str, list[str]] = found.get("VersionIdsToStages") or {}
    pending = sorted(
        v for v, labels in stages.items() if "AWSPENDING" in labels and "AWSCURRENT" not in labels
    )
    evidence = {
        "last_rotated": str(found.get("LastRotatedDate") or "never"),
        "next_rotation": str(found.get("NextRotationDate") or "none scheduled"),
        "versions": len(stages),
    }
    if pending:
        raise CheckFailed(
            f"secret `{secret_id}`: expected no rotation left unfinished, got version(s) {', '.join(pending)} "
            "staged AWSPENDING but never made AWSCURRENT (the last rotation failed half-way)",
            resource=secret_id,
            expected="no AWSPENDING-only version",
            actual=pending,
            evidence=evidence,
        )
    next_rotation = found.get("NextRotationDate")
    now = now or dt.datetime.now(dt.UTC)
    if found.get("RotationEnabled") and isinstance(next_rotation, dt.datetime):
        if next_rotation.tzinfo is None:
            next_rotation = next_rotation.replace(tzinfo=dt.UTC)
        if now - next_rotation > OVERDUE_GRACE:
            raise CheckFailed(
                f"secret `{secret_id}`: expected the scheduled rotation to have happened, got NextRotationDate "
                f"{next_rotation.isoformat()} more than a day ago (last rotated {evidence['last_rotated']})",
                resource=secret_id,
                expected=f"NextRotationDate after {(now - OVERDUE_GRACE).isoformat()}",
                actual=next_rotation.isoformat(),
                evidence=evidence,
            )
    return evidence
