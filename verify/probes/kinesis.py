"""Kinesis data streams: status, KMS encryption, retention, and one tagged record read back.

A stream is often named twice by a stack's outputs (`KinesisStreamName` and `KinesisStreamArn`): the
inventory makes them one resource, checked once (`verify.stack.resources`). `target` still checks a
stream once when handed an inventory that lists it twice (one built by hand), through the first.

The record check writes one record (the run id as partition key and inside the data) and reads it
back by the sequence number PutRecord returned (`AT_SEQUENCE_NUMBER`): never from TRIM_HORIZON, so
stale data cannot satisfy it, and through GetShardIterator/GetRecords, which take no lease and move
no checkpoint, so no consumer of the stream is disturbed. Kinesis records cannot be deleted; the run
id in them says where they came from, and they expire with the stream's retention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed, NotApplicable
from verify.polling import NotYet
from verify.stack.inventory import Inventory, Resource

_TRANSITIONAL = frozenset({"CREATING", "UPDATING"})
DEFAULT_RETENTION_HOURS = 24


def target(resource: Resource, inventory: Inventory) -> str:
    """The stream to check for this output; `NotApplicable` when an earlier output names the same one."""
    for other in inventory.of_kind("kinesis_stream"):
        if other is resource:
            break
        if other.name == resource.name:
            raise NotApplicable(f"Kinesis stream `{resource.name}` is checked through output `{other.key}`")
    return resource.name


def summary(client: Any, stream: str) -> dict[str, Any]:
    with aws_errors("kinesis", "DescribeStreamSummary", stream, subject=f"Kinesis stream `{stream}`"):
        answer: dict[str, Any] = client.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    return answer


def stream_status(client: Any, stream: str) -> dict[str, Any]:
    """ACTIVE: its facts. CREATING/UPDATING: `NotYet`. DELETING or anything else: `CheckFailed`."""
    __tracebackhide__ = True
    described = summary(client, stream)
    status = str(described.get("StreamStatus", "UNKNOWN"))
    if status in _TRANSITIONAL:
        raise NotYet(f"Kinesis stream `{stream}` ACTIVE", f"status {status}")
    if status != "ACTIVE":
        raise CheckFailed(
            f"Kinesis stream `{stream}`: expected status ACTIVE, got {status}",
            resource=stream,
            expected="ACTIVE",
            actual=status,
        )
    mode = described.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
    return {"status": status, "mode": mode, "open_shards": described.get("OpenShardCount")}


def check_encryption(client: Any, stream: str) -> dict[str, Any]:
    __tracebackhide__ = True
    described = summary(client, stream)
    kind = str(described.get("EncryptionType") or "NONE")
    if kind != "KMS":
        raise CheckFailed(
            f"Kinesis stream `{stream}`: expected server-side encryption with KMS, got EncryptionType {kind}",
            resource=stream,
            expected="KMS",
            actual=kind,
        )
    return {"encryption": kind, "kms_key": described.get("KeyId")}


def check_retention(client: Any, stream: str) -> int:
    """Hours the stream keeps records; `CheckFailed` at the 24 h default.

    AWS accepts nothing below 24 h, so "at least 24 h" could never fail. The posture that can be
    wrong is keeping only the default: a consumer that is down for a day loses data for good.
    """
    __tracebackhide__ = True
    hours = int(summary(client, stream).get("RetentionPeriodHours", 0))
    if hours <= DEFAULT_RETENTION_HOURS:
        raise CheckFailed(
            f"Kinesis stream `{stream}`: expected a retention longer than the {DEFAULT_RETENTION_HOURS} h "
            f"default, got {hours} h",
            resource=stream,
            expected=f"> {DEFAULT_RETENTION_HOURS} h",
            actual=f"{hours} h",
        )
    return hours


@dataclass(frozen=True)
class PutResult:
    shard_id: str
    sequence_number: str
    data: bytes


def tagged_data(run_id: str) -> bytes:
    return json.dumps({"verifyRunId": run_id, "purpose": "deployment verification"}).encode()


def put_tagged_record(client: Any, stream: str, run_id: str) -> PutResult:
    data = tagged_data(run_id)
    with aws_errors("kinesis", "PutRecord", stream, subject=f"Kinesis stream `{stream}`"):
        answer = client.put_record(StreamName=stream, Data=data, PartitionKey=run_id)
    return PutResult(shard_id=answer["ShardId"], sequence_number=answer["SequenceNumber"], data=data)


def read_back(client: Any, stream: str, put: PutResult) -> dict[str, Any]:
    """The record at `put.sequence_number`, compared with what was written.

    `NotYet` while GetRecords answers an empty page (it may, even for a record that exists);
    `CheckFailed` when the record at that sequence number holds other data.
    """
    __tracebackhide__ = True
    with aws_errors("kinesis", "GetShardIterator", stream, subject=f"Kinesis stream `{stream}`"):
        iterator = client.get_shard_iterator(
            StreamName=stream,
            ShardId=put.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=put.sequence_number,
        )["ShardIterator"]
    with aws_errors("kinesis", "GetRecords", stream, subject=f"Kinesis stream `{stream}`"):
        records = client.get_records(ShardIterator=iterator, Limit=1).get("Records", [])
    if not records:
        raise NotYet(f"record {put.sequence_number} readable", "GetRecords returned no record yet")
    record = records[0]
    if record.get("SequenceNumber") != put.sequence_number or bytes(record.get("Data", b"")) != put.data:
        seen = bytes(record.get("Data", b""))[:120]
        raise CheckFailed(
            f"Kinesis stream `{stream}`: expected record {put.sequence_number} in {put.shard_id} to hold "
            f"the data written ({put.data.decode()}), got sequence {record.get('SequenceNumber')} with {seen!r}",
            resource=stream,
            expected=put.data.decode(),
            actual=seen.decode(errors="replace"),
        )
    return {
        "shard": put.shard_id,
        "sequence_number": put.sequence_number,
        "partition_key": record.get("PartitionKey"),
    }
