"""DynamoDB tables: status, key schema, point-in-time recovery, KMS encryption.

Encryption: every DynamoDB table is encrypted at rest. With the default AWS-owned key, AWS reports
no `SSEDescription` at all; `SSEDescription` (Status ENABLED, SSEType KMS) appears only when the
table uses a KMS key (AWS-managed `aws/dynamodb` or a customer key). "SSE enabled" here therefore
means KMS encryption, whose key policy and CloudTrail record the stack owner controls; an AWS-owned
key is reported as such and fails the posture check (turn it off with `expect.sse = false`).
moto answers the same way (no SSEDescription without an SSESpecification).

Billing mode is evidence of the key-schema check rather than a check of its own: AWS refuses a
provisioned capacity of 0, so no honest failure exists for "billing mode reported".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed
from verify.polling import NotYet

_TRANSITIONAL = frozenset({"CREATING", "UPDATING"})
_KMS_OK = frozenset({"ENABLED", "UPDATING"})  # UPDATING: a key change in flight, still KMS-encrypted


@dataclass(frozen=True)
class KeySchema:
    partition_key: str
    partition_type: str
    sort_key: str | None = None
    sort_type: str | None = None
    billing_mode: str = "PROVISIONED"
    evidence: dict[str, Any] = field(default_factory=dict)


def describe_table(client: Any, table: str) -> dict[str, Any]:
    with aws_errors("dynamodb", "DescribeTable", table, subject=f"DynamoDB table `{table}`"):
        answer: dict[str, Any] = client.describe_table(TableName=table)["Table"]
    return answer


def table_status(client: Any, table: str) -> str:
    """`ACTIVE`, or `CheckFailed` for a terminal bad state; `NotYet` while it is being created/updated."""
    __tracebackhide__ = True
    status = str(describe_table(client, table).get("TableStatus", "UNKNOWN"))
    if status == "ACTIVE":
        return status
    if status in _TRANSITIONAL:
        raise NotYet(f"DynamoDB table `{table}` ACTIVE", f"status {status}")
    raise CheckFailed(
        f"DynamoDB table `{table}`: expected status ACTIVE, got {status}",
        resource=table,
        expected="ACTIVE",
        actual=status,
    )


def key_schema(client: Any, table: str) -> KeySchema:
    """The table's own key schema with attribute types, and its billing mode (evidence only)."""
    __tracebackhide__ = True
    description = describe_table(client, table)
    types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
    keys = {k["KeyType"]: k["AttributeName"] for k in description.get("KeySchema", [])}
    partition = keys.get("HASH")
    if partition is None:
        raise CheckFailed(
            f"DynamoDB table `{table}`: expected a partition (HASH) key in its key schema, got "
            f"{description.get('KeySchema')!r}",
            resource=table,
            expected="a HASH key",
            actual=description.get("KeySchema"),
        )
    # Tables created before on-demand existed, and CloudFormation's default, omit BillingModeSummary.
    billing = str(description.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"))
    evidence: dict[str, Any] = {"billing_mode": billing}
    if billing == "PROVISIONED":
        throughput = description.get("ProvisionedThroughput", {})
        evidence["read_capacity"] = throughput.get("ReadCapacityUnits")
        evidence["write_capacity"] = throughput.get("WriteCapacityUnits")
    sort = keys.get("RANGE")
    return KeySchema(
        partition_key=partition,
        partition_type=types.get(partition, "?"),
        sort_key=sort,
        sort_type=types.get(sort) if sort else None,
        billing_mode=billing,
        evidence=evidence,
    )


def check_pitr(client: Any, table: str) -> str:
    __tracebackhide__ = True
    with aws_errors("dynamodb", "DescribeContinuousBackups", table, subject=f"DynamoDB table `{table}`"):
        answer = client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    status = str(
        answer.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED")
    )
    if status != "ENABLED":
        raise CheckFailed(
            f"DynamoDB table `{table}`: expected PointInTimeRecovery ENABLED, got {status}",
            resource=table,
            expected="ENABLED",
            actual=status,
        )
    return status


def check_sse(client: Any, table: str) -> dict[str, Any]:
    """KMS encryption at rest: `SSEDescription.Status` ENABLED (see the module docstring)."""
    __tracebackhide__ = True
    sse = describe_table(client, table).get("SSEDescription")
    if not sse:
        raise CheckFailed(
            f"DynamoDB table `{table}`: expected KMS encryption at rest (SSEDescription ENABLED), got "
            "the default AWS-owned key (no SSEDescription)",
            resource=table,
            expected="SSE ENABLED (KMS)",
            actual="AWS-owned key",
        )
    status = str(sse.get("Status", "UNKNOWN"))
    if status not in _KMS_OK:
        raise CheckFailed(
            f"DynamoDB table `{table}`: expected KMS encryption at rest (SSEDescription ENABLED), got {status}",
            resource=table,
            expected="SSE ENABLED (KMS)",
            actual=status,
        )
    return {"status": status, "type": sse.get("SSEType"), "kms_key": sse.get("KMSMasterKeyArn")}
