"""What each resource type declares, in verify's words: its kind, the property holding its physical
name, and the properties issue 17 asks about under normalised names, for CloudFormation and Terraform.

One table per form, keyed by the tool's own type name. A normalised name means the same in every
form: `pitr` is `PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled` in CloudFormation and
`point_in_time_recovery.enabled` in Terraform; `rotation_days` is `AutomaticallyAfterDays: 30` and
`ScheduleExpression: rate(30 days)` alike. A converter turns what was written into the normalised
value (`"true"` → True, `"30"` → 30); what it cannot read becomes `Unknown`, saying so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from verify.intent.model import Unknown
from verify.stack.kinds import Kind

Convert = Callable[[Any], Any]


def boolean(value: Any) -> Any:
    if isinstance(value, Unknown | bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return Unknown(f"`{value}` is neither true nor false")


def integer(value: Any) -> Any:
    if isinstance(value, Unknown):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    return Unknown(f"`{value}` is not a whole number")


def number(value: Any) -> Any:
    if isinstance(value, Unknown):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) if float(value).is_integer() else float(value)
    if isinstance(value, str):
        try:
            return number(float(value))
        except ValueError:
            pass
    return Unknown(f"`{value}` is not a number")


def text(value: Any) -> Any:
    if isinstance(value, Unknown | str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(number(value))
    return Unknown(f"`{value}` is not a text value")


def upper(value: Any) -> Any:
    converted = text(value)
    return converted.upper() if isinstance(converted, str) else converted


_RATE = re.compile(r"^rate\(\s*(\d+)\s+(day|days|hour|hours)\s*\)$", re.I)


def schedule_days(expression: Any) -> Any:
    """`rate(30 days)` → 30, `rate(12 hours)` → 0.5; a cron schedule has no one period: None."""
    if isinstance(expression, Unknown):
        return expression
    if not isinstance(expression, str):
        return Unknown(f"schedule `{expression}` is not a schedule expression")
    match = _RATE.match(expression.strip())
    if match is None:
        return (
            None
            if expression.strip().lower().startswith("cron(")
            else Unknown(f"schedule `{expression}` is neither rate(N days) nor rate(N hours) nor cron(...)")
        )
    amount, unit = int(match.group(1)), match.group(2).lower()
    if unit.startswith("day"):
        return amount
    days = amount / 24
    return int(days) if days.is_integer() else days


@dataclass(frozen=True)
class TypeRule:
    """One resource type: its kind, the property naming it, and (normalised name, path, converter)s.
    `ref_is`: what CloudFormation's `Ref` returns for it (name, arn, url or id)."""

    kind: str
    name: str | None
    properties: tuple[tuple[str, str, Convert], ...] = ()
    part: str | None = None
    ref_is: str = "name"


# ---------------------------------------------------------------- CloudFormation (and CDK)

_DDB_CFN = (
    ("pitr", "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled", boolean),
    ("sse", "SSESpecification.SSEEnabled", boolean),
    ("sse_type", "SSESpecification.SSEType", upper),
    ("sse_kms_key", "SSESpecification.KMSMasterKeyId", text),
    ("ttl_enabled", "TimeToLiveSpecification.Enabled", boolean),
    ("ttl_attribute", "TimeToLiveSpecification.AttributeName", text),
    ("stream_view_type", "StreamSpecification.StreamViewType", upper),
)
# CDK's TableV2: a global table whose replica in the stack's own region carries PITR and its KMS key
# (`verify.intent.read` puts that replica under `Replica`).
_GLOBAL_TABLE_CFN = (
    ("pitr", "Replica.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled", boolean),
    ("sse", "SSESpecification.SSEEnabled", boolean),
    ("sse_type", "SSESpecification.SSEType", upper),
    ("sse_kms_key", "Replica.SSESpecification.KMSMasterKeyId", text),
    ("ttl_enabled", "TimeToLiveSpecification.Enabled", boolean),
    ("ttl_attribute", "TimeToLiveSpecification.AttributeName", text),
    ("stream_view_type", "StreamSpecification.StreamViewType", upper),
)
_LAMBDA_CFN = (
    ("runtime", "Runtime", text),
    ("timeout", "Timeout", integer),
    ("tracing", "TracingConfig.Mode", text),
    ("reserved_concurrency", "ReservedConcurrentExecutions", integer),
    ("dlq_target", "DeadLetterConfig.TargetArn", text),
    ("memory_size", "MemorySize", integer),
)
_RDS_CFN = (
    ("engine", "Engine", text),
    ("engine_version", "EngineVersion", text),
    ("multi_az", "MultiAZ", boolean),
    ("storage_encrypted", "StorageEncrypted", boolean),
    ("deletion_protection", "DeletionProtection", boolean),
    ("backup_retention_days", "BackupRetentionPeriod", integer),
    ("instance_class", "DBInstanceClass", text),
    ("availability_zone", "AvailabilityZone", text),  # preflight: is the class orderable there
)
_CACHE_CFN = (
    ("engine", "Engine", text),
    ("engine_version", "EngineVersion", text),
    ("transit_encryption", "TransitEncryptionEnabled", boolean),
    ("at_rest_encryption", "AtRestEncryptionEnabled", boolean),
)

CFN_TYPES: dict[str, TypeRule] = {
    "AWS::DynamoDB::Table": TypeRule(Kind.DYNAMODB_TABLE, "TableName", _DDB_CFN),
    "AWS::DynamoDB::GlobalTable": TypeRule(Kind.DYNAMODB_TABLE, "TableName", _GLOBAL_TABLE_CFN),
    "AWS::Lambda::Function": TypeRule(Kind.LAMBDA_FUNCTION, "FunctionName", _LAMBDA_CFN),
    # A SAM template read as written (GetTemplate for `--stack` gives it expanded): its functions'
    # own properties; what `Globals` sets is not applied, so it stays undeclared, never wrong.
    "AWS::Serverless::Function": TypeRule(
        Kind.LAMBDA_FUNCTION,
        "FunctionName",
        (
            ("runtime", "Runtime", text),
            ("timeout", "Timeout", integer),
            ("tracing", "Tracing", text),
            ("reserved_concurrency", "ReservedConcurrentExecutions", integer),
            ("dlq_target", "DeadLetterQueue.TargetArn", text),
            ("memory_size", "MemorySize", integer),
        ),
    ),
    "AWS::Logs::LogGroup": TypeRule(
        Kind.LOG_GROUP, "LogGroupName", (("retention_days", "RetentionInDays", integer),)
    ),
    # CDK's `logRetention`: a custom resource that sets the retention of the function's own log group.
    "Custom::LogRetention": TypeRule(
        Kind.LOG_GROUP, "LogGroupName", (("retention_days", "RetentionInDays", integer),)
    ),
    "AWS::SQS::Queue": TypeRule(
        Kind.SQS_QUEUE,
        "QueueName",
        (
            ("visibility_timeout", "VisibilityTimeout", integer),
            ("redrive_target", "RedrivePolicy.deadLetterTargetArn", text),
            ("max_receive_count", "RedrivePolicy.maxReceiveCount", integer),
            ("fifo", "FifoQueue", boolean),  # preflight: only a FIFO queue's name ends with .fifo
        ),
        ref_is="url",
    ),
    "AWS::Kinesis::Stream": TypeRule(
        Kind.KINESIS_STREAM,
        "Name",
        (
            ("retention_hours", "RetentionPeriodHours", integer),
            ("encryption", "StreamEncryption.EncryptionType", upper),
            ("kms_key", "StreamEncryption.KeyId", text),
        ),
    ),
    "AWS::RDS::DBInstance": TypeRule(Kind.RDS_INSTANCE, "DBInstanceIdentifier", _RDS_CFN),
    "AWS::RDS::DBCluster": TypeRule(Kind.RDS_CLUSTER, "DBClusterIdentifier", _RDS_CFN),
    "AWS::ElastiCache::ReplicationGroup": TypeRule(Kind.ELASTICACHE, "ReplicationGroupId", _CACHE_CFN),
    "AWS::ElastiCache::CacheCluster": TypeRule(Kind.ELASTICACHE, "ClusterName", _CACHE_CFN),
    "AWS::ElastiCache::ServerlessCache": TypeRule(Kind.ELASTICACHE, "ServerlessCacheName", _CACHE_CFN[:2]),
    "AWS::SecretsManager::Secret": TypeRule(Kind.SECRET, "Name", ref_is="arn"),
    "AWS::ECS::Service": TypeRule(
        Kind.ECS_SERVICE, "ServiceName", (("desired_count", "DesiredCount", integer),), ref_is="arn"
    ),
    "AWS::ECS::Cluster": TypeRule(Kind.ECS_CLUSTER, "ClusterName"),
    "AWS::EFS::FileSystem": TypeRule(
        Kind.EFS_FILESYSTEM,
        None,
        (("encrypted", "Encrypted", boolean), ("kms_key", "KmsKeyId", text)),
        ref_is="id",
    ),
    "AWS::ApiGateway::RestApi": TypeRule(Kind.API, None, (("api_name", "Name", text),), ref_is="id"),
    "AWS::ApiGateway::Stage": TypeRule(
        Kind.API,
        None,
        (("stage_name", "StageName", text), ("tracing", "TracingEnabled", boolean)),
        part="stage",
    ),
    "AWS::ApiGateway::Method": TypeRule(
        Kind.API,
        None,
        (("http_method", "HttpMethod", upper), ("authorization", "AuthorizationType", upper)),
        part="method",
    ),
    "AWS::ApiGatewayV2::Api": TypeRule(Kind.API, None, (("api_name", "Name", text),), ref_is="id"),
    "AWS::ApiGatewayV2::Stage": TypeRule(
        Kind.API,
        None,
        (
            ("stage_name", "StageName", text),
            ("throttling_rate_limit", "DefaultRouteSettings.ThrottlingRateLimit", number),
            ("throttling_burst_limit", "DefaultRouteSettings.ThrottlingBurstLimit", integer),
        ),
        part="stage",
    ),
    "AWS::ApiGatewayV2::Route": TypeRule(
        Kind.API,
        None,
        (("route", "RouteKey", text), ("authorization", "AuthorizationType", upper)),
        part="method",
    ),
    "AWS::SNS::Topic": TypeRule(Kind.SNS_TOPIC, "TopicName", ref_is="arn"),
    "AWS::S3::Bucket": TypeRule(Kind.S3_BUCKET, "BucketName"),
    "AWS::KMS::Key": TypeRule(Kind.KMS_KEY, None, ref_is="id"),
    "AWS::KMS::Alias": TypeRule(Kind.KMS_KEY, "AliasName"),
    "AWS::CloudWatch::Alarm": TypeRule(Kind.ALARM, "AlarmName"),
    "AWS::StepFunctions::StateMachine": TypeRule(Kind.STATE_MACHINE, "StateMachineName", ref_is="arn"),
    "AWS::Events::EventBus": TypeRule(Kind.EVENT_BUS, "Name"),
    "AWS::IAM::Role": TypeRule(Kind.IAM_ROLE, "RoleName"),
    "AWS::SSM::Parameter": TypeRule(Kind.SSM_PARAMETER, "Name"),
    "AWS::EC2::VPC": TypeRule(Kind.VPC, None, ref_is="id"),
    "AWS::EC2::Subnet": TypeRule(Kind.SUBNET, None, ref_is="id"),
    "AWS::EC2::SecurityGroup": TypeRule(Kind.SECURITY_GROUP, "GroupName", ref_is="id"),
}

# ---------------------------------------------------------------- Terraform (CDKTF, plan, state)

_DDB_TF = (
    ("pitr", "point_in_time_recovery.enabled", boolean),
    ("sse", "server_side_encryption.enabled", boolean),
    ("sse_kms_key", "server_side_encryption.kms_key_arn", text),
    ("ttl_enabled", "ttl.enabled", boolean),
    ("ttl_attribute", "ttl.attribute_name", text),
    ("stream_enabled", "stream_enabled", boolean),
    ("stream_view_type", "stream_view_type", upper),
)
_RDS_TF = (
    ("engine", "engine", text),
    ("engine_version", "engine_version", text),
    ("multi_az", "multi_az", boolean),
    ("storage_encrypted", "storage_encrypted", boolean),
    ("deletion_protection", "deletion_protection", boolean),
    ("backup_retention_days", "backup_retention_period", integer),
    ("instance_class", "instance_class", text),
    ("availability_zone", "availability_zone", text),
)
_CACHE_TF = (
    ("engine", "engine", text),
    ("engine_version", "engine_version", text),
    ("transit_encryption", "transit_encryption_enabled", boolean),
    ("at_rest_encryption", "at_rest_encryption_enabled", boolean),
)

TF_TYPES: dict[str, TypeRule] = {
    "aws_dynamodb_table": TypeRule(Kind.DYNAMODB_TABLE, "name", _DDB_TF),
    "aws_lambda_function": TypeRule(
        Kind.LAMBDA_FUNCTION,
        "function_name",
        (
            ("runtime", "runtime", text),
            ("timeout", "timeout", integer),
            ("tracing", "tracing_config.mode", text),
            ("reserved_concurrency", "reserved_concurrent_executions", integer),
            ("dlq_target", "dead_letter_config.target_arn", text),
            ("memory_size", "memory_size", integer),
        ),
    ),
    "aws_cloudwatch_log_group": TypeRule(
        Kind.LOG_GROUP, "name", (("retention_days", "retention_in_days", integer),)
    ),
    "aws_sqs_queue": TypeRule(
        Kind.SQS_QUEUE,
        "name",
        (
            ("visibility_timeout", "visibility_timeout_seconds", integer),
            ("redrive_target", "redrive_policy.deadLetterTargetArn", text),
            ("max_receive_count", "redrive_policy.maxReceiveCount", integer),
            ("fifo", "fifo_queue", boolean),
        ),
    ),
    "aws_kinesis_stream": TypeRule(
        Kind.KINESIS_STREAM,
        "name",
        (
            ("retention_hours", "retention_period", integer),
            ("encryption", "encryption_type", upper),
            ("kms_key", "kms_key_id", text),
        ),
    ),
    "aws_db_instance": TypeRule(Kind.RDS_INSTANCE, "identifier", _RDS_TF),
    "aws_rds_cluster": TypeRule(Kind.RDS_CLUSTER, "cluster_identifier", _RDS_TF),
    "aws_elasticache_replication_group": TypeRule(Kind.ELASTICACHE, "replication_group_id", _CACHE_TF),
    "aws_elasticache_cluster": TypeRule(Kind.ELASTICACHE, "cluster_id", _CACHE_TF),
    "aws_elasticache_serverless_cache": TypeRule(Kind.ELASTICACHE, "name", _CACHE_TF[:2]),
    "aws_secretsmanager_secret": TypeRule(Kind.SECRET, "name"),
    "aws_ecs_service": TypeRule(Kind.ECS_SERVICE, "name", (("desired_count", "desired_count", integer),)),
    "aws_ecs_cluster": TypeRule(Kind.ECS_CLUSTER, "name"),
    "aws_efs_file_system": TypeRule(
        Kind.EFS_FILESYSTEM, None, (("encrypted", "encrypted", boolean), ("kms_key", "kms_key_id", text))
    ),
    "aws_api_gateway_rest_api": TypeRule(Kind.API, None, (("api_name", "name", text),)),
    "aws_api_gateway_stage": TypeRule(
        Kind.API,
        None,
        (("stage_name", "stage_name", text), ("tracing", "xray_tracing_enabled", boolean)),
        part="stage",
    ),
    "aws_api_gateway_method": TypeRule(
        Kind.API,
        None,
        (("http_method", "http_method", upper), ("authorization", "authorization", upper)),
        part="method",
    ),
    "aws_apigatewayv2_api": TypeRule(Kind.API, None, (("api_name", "name", text),)),
    "aws_apigatewayv2_stage": TypeRule(
        Kind.API,
        None,
        (
            ("stage_name", "name", text),
            ("throttling_rate_limit", "default_route_settings.throttling_rate_limit", number),
            ("throttling_burst_limit", "default_route_settings.throttling_burst_limit", integer),
        ),
        part="stage",
    ),
    "aws_apigatewayv2_route": TypeRule(
        Kind.API,
        None,
        (("route", "route_key", text), ("authorization", "authorization_type", upper)),
        part="method",
    ),
    "aws_sns_topic": TypeRule(Kind.SNS_TOPIC, "name"),
    "aws_s3_bucket": TypeRule(Kind.S3_BUCKET, "bucket"),
    "aws_kms_key": TypeRule(Kind.KMS_KEY, None),
    "aws_kms_alias": TypeRule(Kind.KMS_KEY, "name"),
    "aws_cloudwatch_metric_alarm": TypeRule(Kind.ALARM, "alarm_name"),
    "aws_sfn_state_machine": TypeRule(Kind.STATE_MACHINE, "name"),
    "aws_cloudwatch_event_bus": TypeRule(Kind.EVENT_BUS, "name"),
    "aws_iam_role": TypeRule(Kind.IAM_ROLE, "name"),
    "aws_ssm_parameter": TypeRule(Kind.SSM_PARAMETER, "name"),
    "aws_vpc": TypeRule(Kind.VPC, None),
    "aws_subnet": TypeRule(Kind.SUBNET, None),
    "aws_security_group": TypeRule(Kind.SECURITY_GROUP, "name"),
}

# Terraform writes these when nothing was declared (a plan shows every attribute): not a declaration.
TF_UNSET: dict[str, Any] = {"reserved_concurrent_executions": -1, "retention_in_days": 0}
