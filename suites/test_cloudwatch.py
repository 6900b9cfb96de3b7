"""CloudWatch: the log groups the outputs name exist and expire; the alarms exist and are quiet."""

from __future__ import annotations

from typing import Any

import pytest

from verify import Aws, Config, Resource, probes


@pytest.mark.check("logs", title="log group {name} exists")
@pytest.mark.resources("log_group")
def test_log_group_exists(resource: Resource, aws: Aws, check: Any) -> None:
    group = probes.logs.log_group(aws.client("logs"), resource.name)
    check.record("stored_bytes", group.get("storedBytes"))


@pytest.mark.check("logs", category="posture", title="log group {name} has a retention period")
@pytest.mark.resources("log_group")
def test_log_group_retention(resource: Resource, aws: Aws, verify_config: Config, check: Any) -> None:
    group = probes.logs.log_group(aws.client("logs"), resource.name)
    days = probes.logs.check_retention(group, verify_config.expect.log_retention_days)
    check.record("retention_days", days)


@pytest.mark.check("cloudwatch", title="alarm {name} exists and is not in ALARM")
@pytest.mark.resources("alarm")
def test_alarm_not_firing(resource: Resource, aws: Aws, check: Any) -> None:
    found = probes.logs.alarm(aws.client("cloudwatch"), resource.name)
    for key, value in probes.logs.check_alarm_state(found).items():
        check.record(key, value)
