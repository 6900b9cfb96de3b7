"""DynamoDB tables named by the outputs: usable (ACTIVE, key schema) and configured (PITR, KMS)."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Config, NotApplicable, Resource, Waiter, mark, probes


@mark.check("dynamodb", title="DynamoDB table {name} is ACTIVE")
@mark.resources("dynamodb_table")
def test_table_active(resource: Resource, aws: Aws, eventually: Waiter) -> None:
    client = aws.client("dynamodb")
    eventually(
        lambda: probes.dynamodb.table_status(client, resource.name),
        what=f"DynamoDB table `{resource.name}`: expected ACTIVE",
        resource=resource.key,
    )


@mark.check("dynamodb", title="DynamoDB table {name} has a readable key schema")
@mark.resources("dynamodb_table")
def test_key_schema(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    schema = probes.dynamodb.key_schema(aws.client("dynamodb"), resource.name)
    check.record("partition_key", f"{schema.partition_key} ({schema.partition_type})")
    if schema.sort_key:
        check.record("sort_key", f"{schema.sort_key} ({schema.sort_type})")
    check.record_all(schema.evidence)


@mark.check("dynamodb", category="posture", title="DynamoDB table {name} has point-in-time recovery")
@mark.resources("dynamodb_table")
def test_pitr(resource: Resource, aws: Aws, verify_config: Config, check: CheckRecorder) -> None:
    if not verify_config.expect.pitr:
        raise NotApplicable("expect.pitr is false in the configuration")
    check.record("pitr", probes.dynamodb.check_pitr(aws.client("dynamodb"), resource.name))


@mark.check("dynamodb", category="posture", title="DynamoDB table {name} is encrypted with KMS")
@mark.resources("dynamodb_table")
def test_sse(resource: Resource, aws: Aws, verify_config: Config, check: CheckRecorder) -> None:
    if not verify_config.expect.sse:
        raise NotApplicable("expect.sse is false in the configuration")
    check.record_all(probes.dynamodb.check_sse(aws.client("dynamodb"), resource.name))
