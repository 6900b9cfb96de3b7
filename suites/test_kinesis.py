"""Kinesis streams named by the outputs: ACTIVE, KMS-encrypted, retained beyond the default, and (full
profile) a tagged record read back by its own sequence number."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Inventory, Resource, Waiter, mark, probes


@mark.check("kinesis", title="Kinesis stream {name} is ACTIVE")
@mark.resources("kinesis_stream")
def test_stream_active(
    resource: Resource, aws: Aws, inventory: Inventory, eventually: Waiter, check: CheckRecorder
) -> None:
    stream = probes.kinesis.target(resource, inventory)
    client = aws.client("kinesis")
    polled = eventually(
        lambda: probes.kinesis.stream_status(client, stream),
        what=f"Kinesis stream `{stream}`: expected ACTIVE",
        resource=resource.key,
    )
    check.record_all(polled.value)


@mark.check("kinesis", category="posture", title="Kinesis stream {name} is encrypted with KMS")
@mark.resources("kinesis_stream")
def test_stream_encrypted(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    stream = probes.kinesis.target(resource, inventory)
    check.record_all(probes.kinesis.check_encryption(aws.client("kinesis"), stream))


@mark.check("kinesis", category="posture", title="Kinesis stream {name} keeps records beyond 24 h")
@mark.resources("kinesis_stream")
def test_stream_retention(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    stream = probes.kinesis.target(resource, inventory)
    check.record("retention_hours", probes.kinesis.check_retention(aws.client("kinesis"), stream))


@mark.writes
@mark.check("kinesis", title="Kinesis stream {name} returns a tagged record by its sequence number")
@mark.resources("kinesis_stream")
def test_tagged_record_read_back(
    resource: Resource,
    aws: Aws,
    inventory: Inventory,
    run_id: str,
    eventually: Waiter,
    check: CheckRecorder,
) -> None:
    stream = probes.kinesis.target(resource, inventory)
    client = aws.client("kinesis")
    put = probes.kinesis.put_tagged_record(client, stream, run_id)
    check.record("written", {"shard": put.shard_id, "sequence_number": put.sequence_number})
    polled = eventually(
        lambda: probes.kinesis.read_back(client, stream, put),
        what=f"Kinesis stream `{stream}`: record {put.sequence_number} readable",
        resource=resource.key,
    )
    check.record("read_back", polled.value)
