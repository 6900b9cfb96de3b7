"""CloudWatch probes against moto: log groups and retention, alarms and their state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed
from verify.probes import logs

GROUP = "/aws/lambda/sensor-ingest-dev"


@pytest.fixture
def clients(moto_client: Callable[[str], Any]) -> dict[str, Any]:
    return {name: moto_client(name) for name in ("logs", "cloudwatch")}


def test_log_group_with_retention_passes(clients: dict[str, Any]) -> None:
    clients["logs"].create_log_group(logGroupName=GROUP)
    clients["logs"].put_retention_policy(logGroupName=GROUP, retentionInDays=30)
    group = logs.log_group(clients["logs"], GROUP)
    assert logs.check_retention(group, None) == 30
    assert logs.check_retention(group, 30) == 30


def test_log_group_is_matched_exactly_not_by_prefix(clients: dict[str, Any]) -> None:
    clients["logs"].create_log_group(logGroupName=GROUP + "-old")
    with pytest.raises(CheckFailed) as failed:
        logs.log_group(clients["logs"], GROUP)
    assert str(failed.value) == f"CloudWatch log group `{GROUP}`: expected it to exist, got not found"


def test_log_group_without_retention_fails(clients: dict[str, Any]) -> None:
    clients["logs"].create_log_group(logGroupName=GROUP)
    group = logs.log_group(clients["logs"], GROUP)
    with pytest.raises(CheckFailed) as failed:
        logs.check_retention(group, None)
    assert str(failed.value) == (
        f"CloudWatch log group `{GROUP}`: expected a retention period, got none (logs never expire)"
    )
    with pytest.raises(CheckFailed) as configured:
        logs.check_retention(group, 30)
    assert "expected retention of 30 days, got none" in str(configured.value)


def test_log_group_with_other_retention_than_configured_fails(clients: dict[str, Any]) -> None:
    clients["logs"].create_log_group(logGroupName=GROUP)
    clients["logs"].put_retention_policy(logGroupName=GROUP, retentionInDays=7)
    with pytest.raises(CheckFailed) as failed:
        logs.check_retention(logs.log_group(clients["logs"], GROUP), 30)
    assert str(failed.value) == f"CloudWatch log group `{GROUP}`: expected retention of 30 days, got 7 days"


def make_alarm(client: Any, name: str) -> None:
    client.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        EvaluationPeriods=1,
        Period=60,
        Threshold=0.0,
        ComparisonOperator="GreaterThanThreshold",
        Statistic="Maximum",
    )


def test_alarm_ok_passes_and_insufficient_data_passes_with_a_note(clients: dict[str, Any]) -> None:
    cloudwatch = clients["cloudwatch"]
    make_alarm(cloudwatch, "sensor-dlq-depth-dev")
    cloudwatch.set_alarm_state(AlarmName="sensor-dlq-depth-dev", StateValue="OK", StateReason="quiet")
    evidence = logs.check_alarm_state(logs.alarm(cloudwatch, "sensor-dlq-depth-dev"))
    assert evidence["state"] == "OK" and "note" not in evidence
    cloudwatch.set_alarm_state(
        AlarmName="sensor-dlq-depth-dev", StateValue="INSUFFICIENT_DATA", StateReason="new"
    )
    evidence = logs.check_alarm_state(logs.alarm(cloudwatch, "sensor-dlq-depth-dev"))
    assert evidence["state"] == "INSUFFICIENT_DATA" and "no data points" in evidence["note"]


def test_alarm_in_alarm_fails_with_its_reason(clients: dict[str, Any]) -> None:
    cloudwatch = clients["cloudwatch"]
    make_alarm(cloudwatch, "sensor-dlq-depth-dev")
    cloudwatch.set_alarm_state(
        AlarmName="sensor-dlq-depth-dev", StateValue="ALARM", StateReason="Threshold Crossed: 3 > 0"
    )
    with pytest.raises(CheckFailed) as failed:
        logs.check_alarm_state(logs.alarm(cloudwatch, "sensor-dlq-depth-dev"))
    assert str(failed.value) == (
        "CloudWatch alarm `sensor-dlq-depth-dev`: expected state OK, got ALARM (Threshold Crossed: 3 > 0)"
    )


def test_missing_alarm_is_not_found(clients: dict[str, Any]) -> None:
    with pytest.raises(CheckFailed) as failed:
        logs.alarm(clients["cloudwatch"], "sensor-dlq-depth-dev")
    assert str(failed.value) == "CloudWatch alarm `sensor-dlq-depth-dev`: expected it to exist, got not found"


def test_a_batch_finds_its_own_alarm_among_the_others_in_one_call(clients: dict[str, Any]) -> None:
    cloudwatch = clients["cloudwatch"]
    names = [f"site-{n:03d}-depth" for n in range(3)]
    for name in names:
        make_alarm(cloudwatch, name)
    seen: list[str] = []
    cloudwatch.meta.events.register("before-call.cloudwatch.*", lambda model, **_: seen.append(model.name))
    found = logs.alarm(cloudwatch, names[1], batch=names)
    assert found["AlarmName"] == names[1]
    assert seen == ["DescribeAlarms"]
    with pytest.raises(CheckFailed, match="expected it to exist, got not found"):
        logs.alarm(cloudwatch, "site-999-missing", batch=names)


def test_batches_are_fixed_chunks_of_the_sorted_names() -> None:
    from verify.probes.batching import batch_with

    names = [f"n{i:03d}" for i in range(25)]
    # Any name of a chunk asks with the same chunk, so identical calls can be answered once.
    assert batch_with("n003", names, 10) == batch_with("n009", list(reversed(names)), 10) == names[:10]
    assert batch_with("n024", names, 10) == names[20:]
    assert batch_with("extra", [], 10) == ["extra"]
