"""The one table of resource kinds: what an output can name, each with what it means.

Every other table speaks this vocabulary: the value rules (`verify.stack.arns`), the key's words
(`verify.stack.key_rules`), the inventory and its overrides (`verify.stack.inventory`), config aliases,
and each check's `@pytest.mark.resources(...)`. A kind is a `str` (`Kind.API == "api"`), so reports,
`discover --json` and the marks keep the plain names of the contract. A name that is no kind is an
error where it is read, never a silent "the outputs name no ..." skip.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import StrEnum

from verify.errors import UsageError


class Kind(StrEnum):
    """A resource kind; each member carries one line saying what it names."""

    description: str

    def __new__(cls, value: str, description: str) -> Kind:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    API = "api", "an HTTP API: API Gateway REST or HTTP API (its URL or id), a Lambda function URL"
    DYNAMODB_TABLE = "dynamodb_table", "a DynamoDB table"
    SQS_QUEUE = "sqs_queue", "an SQS queue (its URL, ARN or name); dead-letter queues too"
    SNS_TOPIC = "sns_topic", "an SNS topic"
    KINESIS_STREAM = "kinesis_stream", "a Kinesis data stream"
    RDS_INSTANCE = "rds_instance", "an RDS DB instance (its identifier, ARN or endpoint host)"
    RDS_CLUSTER = "rds_cluster", "an RDS / Aurora DB cluster"
    LAMBDA_FUNCTION = "lambda_function", "a Lambda function"
    LOG_GROUP = "log_group", "a CloudWatch Logs log group"
    SECRET = "secret", "a Secrets Manager secret (never its value)"
    SSM_PARAMETER = "ssm_parameter", "an SSM Parameter Store parameter"
    S3_BUCKET = "s3_bucket", "an S3 bucket"
    ECS_CLUSTER = "ecs_cluster", "an ECS cluster"
    ECS_SERVICE = "ecs_service", "an ECS service"
    ELASTICACHE = "elasticache", "an ElastiCache cache: cluster, replication group or serverless cache"
    EFS_FILESYSTEM = "efs_filesystem", "an EFS file system"
    VPC = "vpc", "a VPC"
    SUBNET = "subnet", "a VPC subnet"
    SECURITY_GROUP = "security_group", "an EC2 security group"
    KMS_KEY = "kms_key", "a KMS key or alias"
    ALARM = "alarm", "a CloudWatch alarm"
    STATE_MACHINE = "state_machine", "a Step Functions state machine"
    EVENT_BUS = "event_bus", "an EventBridge event bus"
    IAM_ROLE = "iam_role", "an IAM role"
    SCALAR = "scalar", "a plain setting, no resource: port, region, environment name, account id"
    UNKNOWN = "unknown", "a value nothing identifies (no ARN, URL, id shape or key word says what it is)"


# The vocabulary in the contract's order (`discover --json`, config overrides, error messages).
KINDS: tuple[Kind, ...] = tuple(Kind)
_KNOWN = frozenset(KINDS)


def unknown_kind_message(kind: object, where: str) -> str:
    """One sentence for a name that is no kind: where it was written, the nearest kind, the known ones."""
    near = difflib.get_close_matches(str(kind), KINDS, n=1)
    hint = f" (did you mean `{near[0]}`?)" if near else ""
    return f"{where} names an unknown resource kind {kind!r}{hint}; the known kinds are: {', '.join(KINDS)}."


def checked_kinds(kinds: Iterable[object], check: str) -> tuple[str, ...]:
    """The kinds a check's `@pytest.mark.resources(...)` names, as written; a typo is a `UsageError`
    naming the check, the unknown kind and the known ones. Unchecked, a misspelt kind matched no
    resource, and the check became "not applicable: the outputs name no ..." on every stack."""
    named = tuple(kinds)
    for kind in named:
        if not isinstance(kind, str) or kind not in _KNOWN:
            raise UsageError(unknown_kind_message(kind, f"check {check}: its resources mark"))
    return tuple(str(kind) for kind in named)
