"""DynamoDB probes against moto: a healthy table passes, each broken setting fails with expected/actual."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed
from verify.polling import NotYet
from verify.probes import dynamodb


@pytest.fixture
def ddb(moto_client: Callable[[str], Any]) -> Any:
    return moto_client("dynamodb")


def make_table(
    client: Any, name: str, *, sse: bool = True, pitr: bool = True, billing: str = "PAY_PER_REQUEST"
) -> None:
    extra: dict[str, Any] = {"SSESpecification": {"Enabled": True, "SSEType": "KMS"}} if sse else {}
    if billing == "PROVISIONED":
        extra["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 3}
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "sensorId", "AttributeType": "S"},
            {"AttributeName": "timestamp", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "sensorId", "KeyType": "HASH"},
            {"AttributeName": "timestamp", "KeyType": "RANGE"},
        ],
        BillingMode=billing,
        **extra,
    )
    if pitr:
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def test_healthy_table_passes_every_probe(ddb: Any) -> None:
    make_table(ddb, "raw-sensor-data-dev")
    assert dynamodb.table_status(ddb, "raw-sensor-data-dev") == "ACTIVE"
    assert dynamodb.check_pitr(ddb, "raw-sensor-data-dev") == "ENABLED"
    sse = dynamodb.check_sse(ddb, "raw-sensor-data-dev")
    assert sse["status"] == "ENABLED" and sse["type"] == "KMS"
    schema = dynamodb.key_schema(ddb, "raw-sensor-data-dev")
    assert (schema.partition_key, schema.partition_type) == ("sensorId", "S")
    assert (schema.sort_key, schema.sort_type) == ("timestamp", "N")
    assert schema.billing_mode == "PAY_PER_REQUEST"
    assert schema.evidence == {"billing_mode": "PAY_PER_REQUEST"}


def test_provisioned_table_reports_its_capacity(ddb: Any) -> None:
    make_table(ddb, "t", billing="PROVISIONED")
    schema = dynamodb.key_schema(ddb, "t")
    assert schema.evidence == {"billing_mode": "PROVISIONED", "read_capacity": 5, "write_capacity": 3}


def test_pitr_off_fails_with_expected_and_actual(ddb: Any) -> None:
    make_table(ddb, "raw-sensor-data-dev", pitr=False)
    with pytest.raises(CheckFailed) as failed:
        dynamodb.check_pitr(ddb, "raw-sensor-data-dev")
    assert str(failed.value) == (
        "DynamoDB table `raw-sensor-data-dev`: expected PointInTimeRecovery ENABLED, got DISABLED"
    )
    assert (failed.value.expected, failed.value.actual) == ("ENABLED", "DISABLED")


def test_aws_owned_key_fails_the_kms_check(ddb: Any) -> None:
    make_table(ddb, "t", sse=False)
    with pytest.raises(CheckFailed) as failed:
        dynamodb.check_sse(ddb, "t")
    assert "expected KMS encryption at rest" in str(failed.value)
    assert "AWS-owned key" in str(failed.value)


@pytest.mark.parametrize(
    "probe",
    [dynamodb.table_status, dynamodb.key_schema, dynamodb.check_pitr, dynamodb.check_sse],
    ids=["status", "key_schema", "pitr", "sse"],
)
def test_missing_table_is_a_failure_saying_not_found(ddb: Any, probe: Any) -> None:
    with pytest.raises(CheckFailed) as failed:
        probe(ddb, "processed-data-dev")
    assert str(failed.value).startswith(
        "DynamoDB table `processed-data-dev`: expected it to exist, got not found"
    )
    assert (failed.value.expected, failed.value.actual) == ("exists", "not found")


class _FakeTable:
    """A DescribeTable answer moto cannot produce (tables there are ACTIVE at once)."""

    def __init__(self, status: str) -> None:
        self.status = status

    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {"Table": {"TableName": TableName, "TableStatus": self.status}}


def test_creating_table_is_not_yet_and_archived_table_fails() -> None:
    with pytest.raises(NotYet) as waiting:
        dynamodb.table_status(_FakeTable("CREATING"), "t")
    assert "CREATING" in str(waiting.value.observed)
    with pytest.raises(CheckFailed) as failed:
        dynamodb.table_status(_FakeTable("ARCHIVED"), "t")
    assert str(failed.value) == "DynamoDB table `t`: expected status ACTIVE, got ARCHIVED"
