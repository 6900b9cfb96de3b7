"""Secrets Manager probes against moto: existence, rotation schedule, an unfinished rotation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed, VerifyError
from verify.probes import secretsmanager

NAME = "iot-platform/dev/db-credentials"


@pytest.fixture
def client(moto_client: Callable[[str], Any]) -> Any:
    made = moto_client("secretsmanager")
    made.create_secret(Name=NAME, SecretString='{"username": "u", "password": "p"}')
    return made


def _rotate(client: Any, days: int = 30) -> None:
    client.rotate_secret(
        SecretId=NAME,
        RotationRules={"AutomaticallyAfterDays": days},
        RotateImmediately=False,
    )


def test_exists_and_scheduled_deletion_fails(client: Any) -> None:
    assert secretsmanager.check_exists(client, NAME)["name"] == NAME
    with pytest.raises(CheckFailed, match="expected it to exist, got not found"):
        secretsmanager.check_exists(client, "nope")
    client.delete_secret(SecretId=NAME, RecoveryWindowInDays=7)
    with pytest.raises(CheckFailed, match="expected a usable secret, got one scheduled for deletion"):
        secretsmanager.check_exists(client, NAME)


def test_rotation_disabled_fails(client: Any) -> None:
    with pytest.raises(
        CheckFailed, match="expected rotation enabled with a schedule, got RotationEnabled False"
    ):
        secretsmanager.check_rotation(client, NAME, None)


def test_rotation_schedule_is_compared_with_the_expectation(client: Any) -> None:
    _rotate(client, 30)
    assert secretsmanager.check_rotation(client, NAME, None)["every_days"] == 30
    assert secretsmanager.check_rotation(client, NAME, 30)["rotation_enabled"] is True
    with pytest.raises(CheckFailed, match=r"expected rotation at least every 7 days .* got every 30 days"):
        secretsmanager.check_rotation(client, NAME, 7)


def test_rotation_days_reads_both_rule_shapes() -> None:
    assert secretsmanager.rotation_days({"AutomaticallyAfterDays": 30}) == 30
    assert secretsmanager.rotation_days({"ScheduleExpression": "rate(10 days)"}) == 10
    assert secretsmanager.rotation_days({"ScheduleExpression": "rate(12 hours)"}) == 0.5
    assert secretsmanager.rotation_days({"ScheduleExpression": "cron(0 8 1 * ? *)"}) is None


class _Described:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def describe_secret(self, SecretId: str) -> dict[str, Any]:
        return {"Name": SecretId, **self.answer}


def test_a_cron_schedule_cannot_be_compared_with_a_number_of_days() -> None:
    cron = _Described({"RotationEnabled": True, "RotationRules": {"ScheduleExpression": "cron(0 8 1 * ? *)"}})
    assert secretsmanager.check_rotation(cron, NAME, None)["every_days"] is None
    with pytest.raises(VerifyError, match="is not a rate"):
        secretsmanager.check_rotation(cron, NAME, 30)


def test_an_unfinished_rotation_fails(client: Any) -> None:
    assert secretsmanager.check_last_rotation(client, NAME)["versions"] == 1
    # moto's rotation without a function stops where a failed rotation does: AWSPENDING only.
    client.put_secret_value(SecretId=NAME, SecretString='{"password": "next"}', VersionStages=["AWSPENDING"])
    with pytest.raises(CheckFailed, match="staged AWSPENDING but never made AWSCURRENT"):
        secretsmanager.check_last_rotation(client, NAME)


def test_an_overdue_rotation_fails() -> None:
    now = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
    due = _Described({"RotationEnabled": True, "NextRotationDate": now - dt.timedelta(days=3)})
    with pytest.raises(CheckFailed, match="expected the scheduled rotation to have happened"):
        secretsmanager.check_last_rotation(due, NAME, now=now)
    soon = _Described({"RotationEnabled": True, "NextRotationDate": now + dt.timedelta(days=3)})
    assert secretsmanager.check_last_rotation(soon, NAME, now=now)["versions"] == 0
