"""CloudWatch: the log groups the outputs name exist and expire; the alarms exist and are quiet."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Config, Inventory, Resource, mark, probes


def _batch(aws: Aws, inventory: Inventory, kind: str) -> list[str]:
    """In a read-only run, ask about every resource of the kind together: its snapshot answers the
    other checks from the same call. A run that writes asks one at a time (it caches nothing)."""
    if aws.snapshot is None:
        return []
    return [r.name for r in inventory.of_kind(kind)]


@mark.check("logs", title="log group {name} exists")
@mark.resources("log_group")
def test_log_group_exists(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    group = probes.logs.log_group(aws.client("logs"), resource.name)
    check.record("stored_bytes", group.get("storedBytes"))


@mark.check("logs", category="posture", title="log group {name} has a retention period")
@mark.resources("log_group")
def test_log_group_retention(
    resource: Resource, aws: Aws, verify_config: Config, check: CheckRecorder
) -> None:
    group = probes.logs.log_group(aws.client("logs"), resource.name)
    days = probes.logs.check_retention(group, verify_config.expect.log_retention_days)
    check.record("retention_days", days)


@mark.check("cloudwatch", title="alarm {name} exists and is not in ALARM")
@mark.resources("alarm")
def test_alarm_not_firing(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    batch = _batch(aws, inventory, "alarm")
    found = probes.logs.alarm(aws.client("cloudwatch"), resource.name, batch=batch)
    check.record_all(probes.logs.check_alarm_state(found))
