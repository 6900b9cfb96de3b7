"""CloudWatch: log groups (exist, retention) and alarms (exist, not in ALARM)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import AwsAccessError, CheckFailed
from verify.probes.batching import batch_with


def log_group(client: Any, name: str) -> dict[str, Any]:
    """The log group named exactly `name` (DescribeLogGroups matches by prefix); `CheckFailed` if none."""
    __tracebackhide__ = True
    with aws_errors("logs", "DescribeLogGroups", name):
        for page in client.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
            for group in page.get("logGroups", []):
                if group.get("logGroupName") == name:
                    return dict(group)
    raise CheckFailed(
        f"CloudWatch log group `{name}`: expected it to exist, got not found",
        resource=name,
        expected="exists",
        actual="not found",
    )


def check_retention(group: dict[str, Any], expected_days: int | None) -> int:
    """Retention is set (logs do not pile up forever), and equals `expected_days` when configured."""
    __tracebackhide__ = True
    name = group.get("logGroupName", "")
    days = group.get("retentionInDays")
    wanted = f"retention of {expected_days} days" if expected_days is not None else "a retention period"
    if days is None:
        raise CheckFailed(
            f"CloudWatch log group `{name}`: expected {wanted}, got none (logs never expire)",
            resource=name,
            expected=expected_days or "retentionInDays set",
            actual="never expire",
        )
    if expected_days is not None and days != expected_days:
        raise CheckFailed(
            f"CloudWatch log group `{name}`: expected retention of {expected_days} days, got {days} days",
            resource=name,
            expected=expected_days,
            actual=days,
        )
    return int(days)


# DescribeAlarms takes up to 100 names.
ALARMS_PER_CALL = 100


def alarm(client: Any, name: str, *, batch: Sequence[str] = ()) -> dict[str, Any]:
    """The metric or composite alarm named `name`; `CheckFailed` when there is none.

    `batch`: the other alarm names this run asks about. They are asked in the same call (the run's
    snapshot then answers every alarm check from it: one call per 100 alarms, not one per alarm).
    A batch the caller may not read whole (resource-level IAM) falls back to asking for `name` alone.
    """
    __tracebackhide__ = True
    names = batch_with(name, batch, ALARMS_PER_CALL)
    try:
        with aws_errors("cloudwatch", "DescribeAlarms", name):
            answer = client.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    except AwsAccessError:
        if names == [name]:
            raise
        return alarm(client, name)
    found = [
        a
        for a in (*answer.get("MetricAlarms", []), *answer.get("CompositeAlarms", []))
        if a.get("AlarmName") == name
    ]
    if not found:
        raise CheckFailed(
            f"CloudWatch alarm `{name}`: expected it to exist, got not found",
            resource=name,
            expected="exists",
            actual="not found",
        )
    return dict(found[0])


def check_alarm_state(found: dict[str, Any]) -> dict[str, Any]:
    """Not in ALARM. INSUFFICIENT_DATA passes (a fresh alarm, or a metric without data points yet)."""
    __tracebackhide__ = True
    name = found.get("AlarmName", "")
    state = str(found.get("StateValue", "UNKNOWN"))
    reason = str(found.get("StateReason", ""))
    evidence: dict[str, Any] = {"state": state, "reason": reason}
    if found.get("MetricName"):
        evidence["metric"] = f"{found.get('Namespace')}/{found.get('MetricName')}"
    if state == "ALARM":
        raise CheckFailed(
            f"CloudWatch alarm `{name}`: expected state OK, got ALARM ({reason})",
            resource=name,
            expected="OK",
            actual="ALARM",
            evidence=evidence,
        )
    if state == "INSUFFICIENT_DATA":
        evidence["note"] = "INSUFFICIENT_DATA: no data points to judge yet; not an alarm"
    return evidence
