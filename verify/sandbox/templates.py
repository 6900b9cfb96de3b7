"""The templates a sandbox's stacks were "synthesized" from, written beside its outputs as a deploy
leaves them: the pipeline (a CDKTF app) as `cdktf.out/stacks/pipeline/cdk.tf.json`, the platform (a
CDK app) as `cdk.out/<Stack>.template.json`, with hash-suffixed logical ids and tokens, as the tools
write them (docs/intent.md).

They declare what the stacks are built with. A sandbox fault that builds the stack differently (no
PITR, a single-AZ database) is a stack *written* that way: its template says so too, so only the
advisory posture checks speak. A drift fault (`drift_*`, `verify.sandbox.faults.catalogue`) changes
the live stack after the deploy and leaves the template as it was: the intent checks must fail.
A resource a fault deletes after the deploy is left out of the template, so its existence check
alone speaks for it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from verify.sandbox.emulator.context import StackParts
from verify.sandbox.outputs import stack_display_name

# The folders written beside the outputs file; removed with it (`verify.sandbox.state.cleanup_files`).
FOLDERS = ("cdk.out", "cdktf.out")


def _hash(path: str) -> str:
    """CDK's and CDKTF's construct-path hash suffix (8 upper-case hex digits)."""
    return hashlib.md5(path.encode(), usedforsecurity=False).hexdigest()[:8].upper()


def _cdk_id(stack: str, construct: str) -> str:
    return construct.replace("/", "") + _hash(f"{stack}/{construct}/Resource")


def _tf_id(construct: str) -> str:
    return f"{construct}_{_hash(construct)}"


def write_templates(
    folder: Path,
    all_parts: Iterable[StackParts],
    faults: frozenset[str],
    suffix: str,
    kept: list[str] | None = None,
) -> list[str]:
    """Write each stack's template under `folder`; the folders created (for the stop to remove).
    A folder that already exists is the user's (or another sandbox's): nothing is written there,
    and its path is added to `kept`, for a note saying the intent checks will read it instead."""
    created: list[str] = []
    for parts in all_parts:
        if parts.name == "pipeline":
            target = folder / "cdktf.out"
            document = pipeline_template(parts.outputs, faults)
            file = target / "stacks" / "pipeline" / "cdk.tf.json"
        elif parts.name == "platform":
            target = folder / "cdk.out"
            name = stack_display_name(parts, suffix)
            document = platform_template(parts.outputs, faults, name, suffix)
            file = target / f"{name}.template.json"
        else:
            continue
        if target.exists() and str(target) not in created:
            if kept is not None:
                kept.append(str(target))
            continue
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        if str(target) not in created:
            created.append(str(target))
    return created


def remove_templates(created: Iterable[str]) -> None:
    for folder in created:
        if Path(folder).name in FOLDERS:
            shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- the pipeline: CDKTF


def _ref(kind: str, name: str, attribute: str) -> str:
    return "${" + f"{kind}.{name}.{attribute}" + "}"


def _meta(construct: str, unique: str) -> dict[str, Any]:
    return {"//": {"metadata": {"path": f"pipeline/{construct}", "uniqueId": unique}}}


def pipeline_template(outputs: dict[str, Any], faults: frozenset[str]) -> dict[str, Any]:
    """cdk.tf.json of the pipeline, as `cdktf synth` writes it."""
    # What the pipeline is built with, from its own module (imported only when it runs).
    from verify.sandbox.pipeline.limits import FUNCTION_TIMEOUT_S, MAX_RECEIVE_COUNT
    from verify.sandbox.pipeline.stack import (
        DEPRECATED_RUNTIME,
        LOG_RETENTION_DAYS,
        RESERVED_CONCURRENCY,
        RUNTIME,
        SHORT_VISIBILITY_S,
    )

    key, dlq, queue = _tf_id("DataKey"), _tf_id("IngestDlq"), _tf_id("IngestQueue")
    resources: dict[str, dict[str, Any]] = {
        "aws_kms_key": {key: {**_meta("DataKey", key), "description": "iot-pipeline"}}
    }
    out: dict[str, Any] = {"KmsKeyArn": {"value": _ref("aws_kms_key", key, "arn")}}

    tables: dict[str, Any] = {}
    for construct, output in (
        ("RawSensorTable", "RawSensorTableName"),
        ("ProcessedDataTable", "ProcessedDataTableName"),
    ):
        if output == "ProcessedDataTableName" and "table_missing" in faults:
            continue
        unique = _tf_id(construct)
        table: dict[str, Any] = {
            **_meta(construct, unique),
            "name": outputs[output],
            "billing_mode": "PAY_PER_REQUEST",
            "hash_key": "sensorId",
            "range_key": "timestamp",
            "attribute": [{"name": "sensorId", "type": "S"}, {"name": "timestamp", "type": "S"}],
        }
        if "pitr_disabled" not in faults:
            table["point_in_time_recovery"] = {"enabled": True}
        if "sse_disabled" not in faults:
            table["server_side_encryption"] = {
                "enabled": True,
                "kms_key_arn": _ref("aws_kms_key", key, "arn"),
            }
        tables[unique] = table
        out[output] = {"value": _ref("aws_dynamodb_table", unique, "name")}
    resources["aws_dynamodb_table"] = tables

    queues: dict[str, Any] = {
        dlq: {
            **_meta("IngestDlq", dlq),
            "name": outputs["DeadLetterQueueUrl"].rsplit("/", 1)[-1],
            "message_retention_seconds": 1209600,
        }
    }
    out["DeadLetterQueueUrl"] = {"value": _ref("aws_sqs_queue", dlq, "url")}
    if "queue_missing" not in faults:
        visibility = SHORT_VISIBILITY_S if "short_visibility" in faults else FUNCTION_TIMEOUT_S
        ingest: dict[str, Any] = {
            **_meta("IngestQueue", queue),
            "name": outputs["IngestionQueueUrl"].rsplit("/", 1)[-1],
            "visibility_timeout_seconds": visibility,
        }
        if "no_dlq" not in faults:
            ingest["redrive_policy"] = json.dumps(
                {
                    "deadLetterTargetArn": _ref("aws_sqs_queue", dlq, "arn"),
                    "maxReceiveCount": MAX_RECEIVE_COUNT,
                }
            )
        queues[queue] = ingest
        out["IngestionQueueUrl"] = {"value": _ref("aws_sqs_queue", queue, "url")}
    resources["aws_sqs_queue"] = queues

    functions: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    for construct, output in (
        ("IngestFunction", "IngestFunctionName"),
        ("ProcessorFunction", "ProcessorFunctionName"),
        ("QueryFunction", "QueryFunctionName"),
    ):
        unique, name = _tf_id(construct), outputs[output]
        query, ingest_fn = construct == "QueryFunction", construct == "IngestFunction"
        function: dict[str, Any] = {
            **_meta(construct, unique),
            "function_name": name,
            "role": "${aws_iam_role.LambdaRole_" + _hash("LambdaRole") + ".arn}",
            "handler": "handler.handler",
            "runtime": DEPRECATED_RUNTIME if query and "deprecated_runtime" in faults else RUNTIME,
            "timeout": FUNCTION_TIMEOUT_S,
            "memory_size": 256,
            "tracing_config": {"mode": "PassThrough" if "tracing_disabled" in faults else "Active"},
        }
        if not (query and "no_reserved_concurrency" in faults):
            function["reserved_concurrent_executions"] = RESERVED_CONCURRENCY
        if not (ingest_fn and "no_failure_destination" in faults):
            function["dead_letter_config"] = {"target_arn": _ref("aws_sqs_queue", dlq, "arn")}
        functions[unique] = function
        out[output] = {"value": _ref("aws_lambda_function", unique, "function_name")}
        group_id = _tf_id(construct + "LogGroup")
        group: dict[str, Any] = {**_meta(construct + "LogGroup", group_id), "name": f"/aws/lambda/{name}"}
        if "log_retention_missing" not in faults:
            group["retention_in_days"] = LOG_RETENTION_DAYS
        groups[group_id] = group
    resources["aws_lambda_function"] = functions
    resources["aws_cloudwatch_log_group"] = groups

    api = _tf_id("Api")
    resources["aws_api_gateway_rest_api"] = {
        api: {**_meta("Api", api), "name": f"iot-pipeline-api-{outputs['Environment']}"}
    }
    out["ApiId"] = {"value": _ref("aws_api_gateway_rest_api", api, "id")}
    api_resources: dict[str, Any] = {}
    methods: dict[str, Any] = {}
    for part, verb in (("ingest", "POST"), ("query", "GET")):
        path_id = _tf_id(f"Api{part.title()}")
        api_resources[path_id] = {
            **_meta(f"Api{part.title()}", path_id),
            "rest_api_id": _ref("aws_api_gateway_rest_api", api, "id"),
            "parent_id": _ref("aws_api_gateway_rest_api", api, "root_resource_id"),
            "path_part": part,
        }
        opened = "method_open" in faults and (verb, part) == ("GET", "query")
        method_id = _tf_id(f"Api{part.title()}{verb.title()}")
        methods[method_id] = {
            **_meta(f"Api{part.title()}{verb.title()}", method_id),
            "rest_api_id": _ref("aws_api_gateway_rest_api", api, "id"),
            "resource_id": _ref("aws_api_gateway_resource", path_id, "id"),
            "http_method": verb,
            "authorization": "NONE" if opened else "AWS_IAM",
        }
    resources["aws_api_gateway_resource"] = api_resources
    resources["aws_api_gateway_method"] = methods
    if "stage_missing" not in faults:
        stage = _tf_id("ApiStage")
        resources["aws_api_gateway_stage"] = {
            stage: {
                **_meta("ApiStage", stage),
                "rest_api_id": _ref("aws_api_gateway_rest_api", api, "id"),
                "deployment_id": "${aws_api_gateway_deployment.ApiDeployment_"
                + _hash("ApiDeployment")
                + ".id}",
                "stage_name": outputs["ApiStageName"],
                "xray_tracing_enabled": "tracing_disabled" not in faults,
            }
        }
        out["ApiEndpoint"] = {"value": _ref("aws_api_gateway_stage", stage, "invoke_url")}
        if "throttling_off" not in faults:
            settings = _tf_id("ApiMethodSettings")
            resources["aws_api_gateway_method_settings"] = {
                settings: {
                    **_meta("ApiMethodSettings", settings),
                    "rest_api_id": _ref("aws_api_gateway_rest_api", api, "id"),
                    "stage_name": _ref("aws_api_gateway_stage", stage, "stage_name"),
                    "method_path": "*/*",
                    "settings": {
                        "throttling_rate_limit": 1000,
                        "throttling_burst_limit": 2000,
                        "metrics_enabled": True,
                    },
                }
            }
    return {
        "//": {"metadata": {"backend": "local", "stackName": "pipeline", "version": "0.20.0"}, "outputs": {}},
        "provider": {"aws": [{"region": outputs["Region"]}]},
        "resource": resources,
        "output": out,
        "terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.31.0"}}},
    }


# ---------------------------------------------------------------- the platform: CDK


def _cdk(stack: str, construct: str, kind: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return _cdk_id(stack, construct), {
        "Type": kind,
        "Properties": props,
        "Metadata": {"aws:cdk:path": f"{stack}/{construct}/Resource"},
    }


def platform_template(
    outputs: dict[str, Any], faults: frozenset[str], stack: str, suffix: str
) -> dict[str, Any]:
    """<Stack>.template.json of the platform, as `cdk synth` writes it."""
    from verify.sandbox.platform.patches import ROTATION_DAYS
    from verify.sandbox.platform.stack import BAD_ENGINE_VERSION, ENGINE_VERSION

    res: dict[str, Any] = {}
    out: dict[str, Any] = {}

    def add(
        construct: str, kind: str, props: dict[str, Any], output: str | None = None, attr: str | None = None
    ) -> str:
        logical, body = _cdk(stack, construct, kind, props)
        res[logical] = body
        if output is not None:
            out[output] = {"Value": {"Ref": logical} if attr is None else {"Fn::GetAtt": [logical, attr]}}
        return logical

    key = add(
        "Key", "AWS::KMS::Key", {"Description": f"IoT platform key ({suffix})", "EnableKeyRotation": True}
    )
    key_arn = {"Fn::GetAtt": [key, "Arn"]}
    stream: dict[str, Any] = {"Name": outputs["KinesisStreamName"], "ShardCount": 2}
    if "stream_short_retention" not in faults:
        stream["RetentionPeriodHours"] = 48
    if "stream_unencrypted" not in faults:
        stream["StreamEncryption"] = {"EncryptionType": "KMS", "KeyId": key_arn}
    add("SensorStream", "AWS::Kinesis::Stream", stream, "KinesisStreamName")

    if "ecs_cluster_inactive" not in faults:
        cluster = add(
            "Cluster", "AWS::ECS::Cluster", {"ClusterName": outputs["EcsClusterName"]}, "EcsClusterName"
        )
        add(
            "Service",
            "AWS::ECS::Service",
            {
                "ServiceName": outputs["EcsServiceName"],
                "Cluster": {"Ref": cluster},
                "DesiredCount": 2,
                "LaunchType": "FARGATE",
            },
            "EcsServiceName",
            "Name",
        )

    bad = "rds_bad_version" in faults
    database = {
        "DBInstanceIdentifier": outputs["DatabaseInstanceIdentifier"],
        "Engine": "postgres",
        "EngineVersion": BAD_ENGINE_VERSION if bad else ENGINE_VERSION,
        "DBInstanceClass": "db.t3.medium",
        "AllocatedStorage": "20",
        "MultiAZ": "rds_single_az" not in faults,
        "StorageEncrypted": "rds_unencrypted" not in faults,
        "DeletionProtection": "rds_unprotected" not in faults,
        "BackupRetentionPeriod": 0 if "rds_no_backups" in faults else 7,
    }
    if "rds_unencrypted" not in faults:
        database["KmsKeyId"] = key_arn
    add("Database", "AWS::RDS::DBInstance", database, "DatabaseInstanceIdentifier")

    add(
        "Cache",
        "AWS::ElastiCache::ReplicationGroup",
        {
            "ReplicationGroupId": outputs["RedisReplicationGroupId"],
            "ReplicationGroupDescription": "IoT platform Redis",
            "Engine": "redis",
            "CacheNodeType": "cache.t3.micro",
            "NumCacheClusters": 2,
            "AtRestEncryptionEnabled": True,
            "TransitEncryptionEnabled": "cache_transit_unencrypted" not in faults,
            "KmsKeyId": key_arn,
        },
        "RedisReplicationGroupId",
    )

    efs: dict[str, Any] = {"Encrypted": "efs_unencrypted" not in faults, "PerformanceMode": "generalPurpose"}
    if "efs_unencrypted" not in faults:
        efs["KmsKeyId"] = key_arn
    efs["FileSystemTags"] = [{"Key": "Name", "Value": f"iot-platform-efs-{suffix}"}]
    add("FileSystem", "AWS::EFS::FileSystem", efs, "EfsFileSystemId")

    if "secret_deleted" not in faults:
        secret = add(
            "DatabaseSecret",
            "AWS::SecretsManager::Secret",
            {
                "Name": f"iot-platform/{suffix}/db-credentials",
                "Description": "IoT platform database credentials",
            },
            "DatabaseSecretArn",
        )
        if "rotation_disabled" not in faults:
            # The spelling the platform wrote; AWS reports `AutomaticallyAfterDays: 30` too. A rotation
            # needs a function: CDK's hosted rotation declares one that CloudFormation builds (a rule
            # without one is refused at deploy, and `verify preflight` says so).
            add(
                "DatabaseSecretRotation",
                "AWS::SecretsManager::RotationSchedule",
                {
                    "SecretId": {"Ref": secret},
                    "HostedRotationLambda": {"RotationType": "PostgreSQLSingleUser"},
                    "RotationRules": {"ScheduleExpression": f"rate({ROTATION_DAYS} days)"},
                },
            )

    api = add(
        "PlatformApi",
        "AWS::ApiGateway::RestApi",
        {"Name": f"iot-platform-api-{suffix}", "EndpointConfiguration": {"Types": ["REGIONAL"]}},
        "PlatformApiId",
    )
    for part in ("health", "devices"):
        path = add(
            f"PlatformApi/Default/{part}",
            "AWS::ApiGateway::Resource",
            {
                "RestApiId": {"Ref": api},
                "ParentId": {"Fn::GetAtt": [api, "RootResourceId"]},
                "PathPart": part,
            },
        )
        add(
            f"PlatformApi/Default/{part}/GET",
            "AWS::ApiGateway::Method",
            {
                "RestApiId": {"Ref": api},
                "ResourceId": {"Ref": path},
                "HttpMethod": "GET",
                "AuthorizationType": "AWS_IAM",
            },
        )
    add(
        "PlatformApi/DeploymentStage.prod",
        "AWS::ApiGateway::Stage",
        {
            "RestApiId": {"Ref": api},
            "StageName": suffix,
            "TracingEnabled": True,
            "MethodSettings": [
                {
                    "HttpMethod": "*",
                    "ResourcePath": "/*",
                    "ThrottlingRateLimit": 500,
                    "ThrottlingBurstLimit": 1000,
                }
            ],
        },
    )
    return {
        "Resources": {
            **res,
            "CDKMetadata": {
                "Type": "AWS::CDK::Metadata",
                "Properties": {"Analytics": "v2:deflate64:H4sIAAAAAAAA"},
            },
        },
        "Outputs": out,
        "Parameters": {
            "BootstrapVersion": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/cdk-bootstrap/hnb659fds/version",
            }
        },
    }
