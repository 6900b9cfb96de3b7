"""Kinesis probes against moto: status, KMS, retention, a record read back by its sequence number."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed, NotApplicable
from verify.polling import NotYet
from verify.probes import kinesis
from verify.stack.inventory import Inventory, classify

REGION = "us-east-1"
STREAM = "iot-sensor-stream-dev"


@pytest.fixture
def client(moto_client: Callable[[str], Any]) -> Any:
    made = moto_client("kinesis")
    made.create_stream(StreamName=STREAM, ShardCount=2)
    return made


def test_active_stream_reports_its_facts(client: Any) -> None:
    facts = kinesis.stream_status(client, STREAM)
    assert facts["status"] == "ACTIVE" and facts["open_shards"] == 2


def test_missing_stream_fails_with_expected_and_seen(client: Any) -> None:
    with pytest.raises(CheckFailed, match=r"Kinesis stream `nope`: expected it to exist, got not found"):
        kinesis.stream_status(client, "nope")


class _Summary:
    def __init__(self, status: str) -> None:
        self.status = status

    def describe_stream_summary(self, StreamName: str) -> dict[str, Any]:
        return {"StreamDescriptionSummary": {"StreamName": StreamName, "StreamStatus": self.status}}


def test_transitional_status_waits_and_deleting_fails() -> None:
    with pytest.raises(NotYet):
        kinesis.stream_status(_Summary("UPDATING"), STREAM)
    with pytest.raises(CheckFailed, match="expected status ACTIVE, got DELETING"):
        kinesis.stream_status(_Summary("DELETING"), STREAM)


def test_encryption_fails_without_kms_and_passes_with_it(
    client: Any, moto_client: Callable[[str], Any]
) -> None:
    with pytest.raises(
        CheckFailed, match="expected server-side encryption with KMS, got EncryptionType NONE"
    ):
        kinesis.check_encryption(client, STREAM)
    key = moto_client("kms").create_key()["KeyMetadata"]["Arn"]
    client.start_stream_encryption(StreamName=STREAM, EncryptionType="KMS", KeyId=key)
    assert kinesis.check_encryption(client, STREAM) == {"encryption": "KMS", "kms_key": key}


def test_retention_must_exceed_the_default(client: Any) -> None:
    with pytest.raises(CheckFailed, match="longer than the 24 h default, got 24 h"):
        kinesis.check_retention(client, STREAM)
    client.increase_stream_retention_period(StreamName=STREAM, RetentionPeriodHours=48)
    assert kinesis.check_retention(client, STREAM) == 48


def test_tagged_record_is_read_back_by_its_own_sequence_number(client: Any) -> None:
    # Older data in the same shard must not be what the check reads.
    client.put_record(StreamName=STREAM, Data=b"stale", PartitionKey="vfy-run-1")
    put = kinesis.put_tagged_record(client, STREAM, "vfy-run-1")
    assert b"vfy-run-1" in put.data
    seen = kinesis.read_back(client, STREAM, put)
    assert seen["sequence_number"] == put.sequence_number and seen["partition_key"] == "vfy-run-1"


def test_other_data_at_the_sequence_number_fails(client: Any) -> None:
    put = kinesis.put_tagged_record(client, STREAM, "vfy-run-2")
    forged = kinesis.PutResult(put.shard_id, put.sequence_number, b'{"verifyRunId": "someone-else"}')
    with pytest.raises(CheckFailed, match=r"expected record .* to hold the data written"):
        kinesis.read_back(client, STREAM, forged)


def test_a_stream_named_twice_is_checked_once() -> None:
    name = classify("KinesisStreamName", STREAM)
    arn = classify("KinesisStreamArn", f"arn:aws:kinesis:{REGION}:123456789012:stream/{STREAM}")
    inventory = Inventory(region=REGION, resources=(name, arn), missing=(), source="test")
    assert kinesis.target(name, inventory) == STREAM
    with pytest.raises(NotApplicable, match="checked through output `KinesisStreamName`"):
        kinesis.target(arn, inventory)
