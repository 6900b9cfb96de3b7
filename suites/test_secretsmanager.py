"""Secrets named by the outputs: they exist, rotate on schedule, and the last rotation finished.
DescribeSecret only: no check here reads a secret's value."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Config, Resource, mark, probes


@mark.check("secretsmanager", title="secret {name} exists")
@mark.resources("secret")
def test_secret_exists(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    check.record_all(probes.secretsmanager.check_exists(aws.client("secretsmanager"), resource.value))


@mark.check("secretsmanager", category="posture", title="secret {name} rotates on schedule")
@mark.resources("secret")
def test_rotation_enabled(resource: Resource, aws: Aws, verify_config: Config, check: CheckRecorder) -> None:
    client = aws.client("secretsmanager")
    evidence = probes.secretsmanager.check_rotation(
        client, resource.value, verify_config.expect.rotation_days
    )
    check.record_all(evidence)


@mark.check("secretsmanager", category="posture", title="secret {name}: the last rotation finished")
@mark.resources("secret")
def test_last_rotation_finished(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    check.record_all(probes.secretsmanager.check_last_rotation(aws.client("secretsmanager"), resource.value))
