"""Stack "pipeline": the CDKTF IoT pipeline, provisioned in the emulator, with its API and processor.

Everything a deploy of the real stack creates is created here through the AWS APIs, so the
harness finds it exactly as it would in an account; the outputs are what `cdktf deploy` would emit.
Faults are applied while provisioning (posture) or handed to the running functions (behaviour).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import secrets
import zipfile
from functools import cache
from typing import Any

from verify.sandbox.emulator.context import ACCESS_KEY_ID, SECRET_ACCESS_KEY, StackContext, StackParts
from verify.sandbox.emulator.latency import Delays, Telemetry
from verify.sandbox.pipeline.limits import FUNCTION_TIMEOUT_S, MAX_RECEIVE_COUNT
from verify.sandbox.pipeline.patches import PipelineApiServer, open_routes, patch_function_configs
from verify.sandbox.pipeline.processor import PipelineFunctions, PipelineNames, Processor, to_dynamo

LOG_RETENTION_DAYS = 30
ALERT_THRESHOLD_C = "30"
RESERVED_CONCURRENCY = 100
DLQ_BACKLOG = 3
SHORT_VISIBILITY_S = 10
RUNTIME = "python3.11"
DEPRECATED_RUNTIME = "python3.8"
STALE_AGE = dt.timedelta(days=2)
RECENT_AGE = dt.timedelta(minutes=1)


@cache
def _lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


def _secret_for(access_key_id: str) -> str | None:
    return SECRET_ACCESS_KEY if access_key_id == ACCESS_KEY_ID else None


def _tables(ctx: StackContext, ddb: Any, kms_key_arn: str, names: PipelineNames) -> None:
    for table in (names.raw_table, names.processed_table):
        if table == names.processed_table and "table_missing" in ctx.faults:
            continue
        extra: dict[str, Any] = {}
        if "sse_disabled" not in ctx.faults:
            extra["SSESpecification"] = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_key_arn}
        ddb.create_table(
            TableName=table,
            AttributeDefinitions=[
                {"AttributeName": "sensorId", "AttributeType": "S"},
                {"AttributeName": "timestamp", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "sensorId", "KeyType": "HASH"},
                {"AttributeName": "timestamp", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "Environment", "Value": ctx.suffix}],
            **extra,
        )
        if "pitr_disabled" not in ctx.faults:
            ddb.update_continuous_backups(
                TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )


def _aws_queue_url(ctx: StackContext, name: str) -> str:
    # The URL a deploy prints (moto would answer with its own host); boto3 still sends every call
    # to AWS_ENDPOINT_URL, and moto finds the queue by the URL's path.
    return f"https://sqs.{ctx.region}.amazonaws.com/{ctx.account_id}/{name}"


def _queues(ctx: StackContext, sqs: Any) -> tuple[str, str, str]:
    """Creates the DLQ and the ingestion queue; returns (queue url, dlq url, dlq arn)."""
    sse = {"SqsManagedSseEnabled": "false" if "sse_disabled" in ctx.faults else "true"}
    sqs.create_queue(
        QueueName=f"sensor-ingestion-dlq-{ctx.suffix}",
        Attributes={**sse, "MessageRetentionPeriod": "1209600"},
    )
    dlq_url = _aws_queue_url(ctx, f"sensor-ingestion-dlq-{ctx.suffix}")
    dlq_arn = f"arn:aws:sqs:{ctx.region}:{ctx.account_id}:sensor-ingestion-dlq-{ctx.suffix}"
    # short_visibility: a message comes back while the processor (timeout 30 s) may still work on it.
    visibility = SHORT_VISIBILITY_S if "short_visibility" in ctx.faults else FUNCTION_TIMEOUT_S
    attributes = {**sse, "VisibilityTimeout": str(visibility)}
    if "no_dlq" not in ctx.faults:
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
        attributes["RedrivePolicy"] = json.dumps(redrive)
    sqs.create_queue(QueueName=f"sensor-ingestion-{ctx.suffix}", Attributes=attributes)
    queue_url = _aws_queue_url(ctx, f"sensor-ingestion-{ctx.suffix}")
    if "dlq_backlog" in ctx.faults:
        for n in range(DLQ_BACKLOG):
            body = {"sensorId": f"poison-{n}", "timestamp": "not-a-time", "error": "processing failed"}
            sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(body))
    return queue_url, dlq_url, dlq_arn


def _functions(ctx: StackContext, clients: dict[str, Any], names: PipelineNames, dlq_arn: str) -> str:
    """Creates the role and the three functions; returns the role ARN."""
    role_name = f"iot-pipeline-lambda-role-{ctx.suffix}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role_arn: str = clients["iam"].create_role(
        RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    awslambda = clients["lambda"]
    mode = "PassThrough" if "tracing_disabled" in ctx.faults else "Active"
    dead_lettered: set[str] = set()
    for function in (names.ingest_function, names.processor_function, names.query_function):
        # Each function fault bends one function, so the others show what healthy looks like.
        query, ingest = function == names.query_function, function == names.ingest_function
        dead_letter = not (ingest and "no_failure_destination" in ctx.faults)
        awslambda.create_function(
            FunctionName=function,
            Runtime=DEPRECATED_RUNTIME if query and "deprecated_runtime" in ctx.faults else RUNTIME,
            Role=role_arn,
            Handler="handler.handler",
            Code={"ZipFile": _lambda_zip()},
            Timeout=FUNCTION_TIMEOUT_S,
            MemorySize=256,
            TracingConfig={"Mode": mode},
            **({"DeadLetterConfig": {"TargetArn": dlq_arn}} if dead_letter else {}),
            Environment={"Variables": {"ENVIRONMENT": ctx.suffix, "POWERTOOLS_SERVICE_NAME": "iot-pipeline"}},
            Tags={"Environment": ctx.suffix},
        )
        if dead_letter:
            dead_lettered.add(function)
        if not (query and "no_reserved_concurrency" in ctx.faults):
            awslambda.put_function_concurrency(
                FunctionName=function, ReservedConcurrentExecutions=RESERVED_CONCURRENCY
            )
    failed_update = names.query_function if "lambda_update_failed" in ctx.faults else None
    patch_function_configs(ctx, dead_lettered, dlq_arn, failed_update)
    return role_arn


def _event_source(ctx: StackContext, awslambda: Any, queue_arn: str, function: str) -> None:
    awslambda.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=function,
        BatchSize=10,
        Enabled="esm_disabled" not in ctx.faults,
    )
    # moto would "invoke" the function (through docker) on every SendMessage to a mapped queue; the
    # sandbox's own processor thread plays the function, so unhook moto's invoker and keep the mapping.
    from moto.sqs.models import sqs_backends

    for queue in sqs_backends[ctx.account_id][ctx.region].queues.values():
        if queue.queue_arn == queue_arn:
            queue.lambda_event_source_mappings.clear()


def _api(ctx: StackContext, apigw: Any, role_arn: str) -> str:
    api_id: str = apigw.create_rest_api(
        name=f"iot-pipeline-api-{ctx.suffix}", endpointConfiguration={"types": ["REGIONAL"]}
    )["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    for part, method in (("ingest", "POST"), ("query", "GET")):
        resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=part)["id"]
        opened = (method, f"/{part}") in open_routes(ctx.faults)
        apigw.put_method(
            restApiId=api_id,
            resourceId=resource,
            httpMethod=method,
            authorizationType="NONE" if opened else "AWS_IAM",
        )
        apigw.put_integration(
            restApiId=api_id,
            resourceId=resource,
            httpMethod=method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{ctx.region}:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:{ctx.region}:{ctx.account_id}:function:sensor-{part}-{ctx.suffix}/invocations",
            credentials=role_arn,
        )
    if "stage_missing" in ctx.faults:
        # A deployment that was never put on a stage: the URL's stage does not exist.
        apigw.create_deployment(restApiId=api_id)
        return api_id
    apigw.create_deployment(restApiId=api_id, stageName=ctx.suffix)
    tracing = "false" if "tracing_disabled" in ctx.faults else "true"
    # throttling_off: no stage-wide method settings at all. Any `*/*` setting (even metrics alone)
    # makes moto, like AWS, report default throttling limits there.
    method_settings = [
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1000"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2000"},
        {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"},
    ]
    apigw.update_stage(
        restApiId=api_id,
        stageName=ctx.suffix,
        patchOperations=[
            {"op": "replace", "path": "/tracingEnabled", "value": tracing},
            *([] if "throttling_off" in ctx.faults else method_settings),
        ],
    )
    return api_id


def _topic(ctx: StackContext, sns: Any, kms_key_arn: str) -> str:
    encryption = {} if "topic_unencrypted" in ctx.faults else {"KmsMasterKeyId": kms_key_arn}
    topic_arn: str = sns.create_topic(Name=f"sensor-alerts-{ctx.suffix}", Attributes=encryption)["TopicArn"]
    if "no_subscribers" not in ctx.faults:
        sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=f"iot-alerts+{ctx.suffix}@example.com")
    return topic_arn


def _device_history(ctx: StackContext, ddb: Any, names: PipelineNames, age: dt.timedelta) -> None:
    """Readings of a few devices, ingested and processed `age` ago: a deployed pipeline has traffic.

    Healthy: a minute old, so on-call's freshness check has something recent to find. With the
    stale_processed_data fault: two days old, and none since.
    """
    then = dt.datetime.now(dt.UTC) - age
    for n in range(3):
        stamp = (then + dt.timedelta(seconds=n)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        raw = {
            "sensorId": f"device-{n + 1:04d}",
            "timestamp": stamp,
            "temperature": 20 + n,
            "ingestedAt": stamp,
        }
        processed = {**raw, "processedAt": stamp, "temperatureF": 68 + n * 1.8, "alert": False}
        ddb.put_item(TableName=names.raw_table, Item=to_dynamo(raw))
        if "table_missing" not in ctx.faults:
            ddb.put_item(TableName=names.processed_table, Item=to_dynamo(processed))


def _log_groups(ctx: StackContext, logs: Any, groups: list[str], api_group: str) -> None:
    for group in groups:
        if group == api_group and "log_group_missing" in ctx.faults:
            continue
        logs.create_log_group(logGroupName=group, tags={"Environment": ctx.suffix})
        if "log_retention_missing" not in ctx.faults:
            logs.put_retention_policy(logGroupName=group, retentionInDays=LOG_RETENTION_DAYS)


def _alarms(ctx: StackContext, cloudwatch: Any, topic_arn: str, names: PipelineNames) -> tuple[str, str]:
    dlq_alarm, errors_alarm = f"sensor-dlq-depth-{ctx.suffix}", f"sensor-processor-errors-{ctx.suffix}"
    common: dict[str, Any] = {
        "EvaluationPeriods": 1,
        "Period": 60,
        "Threshold": 0.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "Statistic": "Maximum",
        "AlarmActions": [topic_arn],
        "TreatMissingData": "notBreaching",
    }
    cloudwatch.put_metric_alarm(
        AlarmName=dlq_alarm,
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": f"sensor-ingestion-dlq-{ctx.suffix}"}],
        **common,
    )
    cloudwatch.put_metric_alarm(
        AlarmName=errors_alarm,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": names.processor_function}],
        **{**common, "Statistic": "Sum"},
    )
    for alarm in (dlq_alarm, errors_alarm):
        firing = (alarm == dlq_alarm and "dlq_backlog" in ctx.faults) or (
            alarm == errors_alarm and "alarm_firing" in ctx.faults
        )
        state = "ALARM" if firing else "OK"
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue=state, StateReason="sandbox: initial state")
    return dlq_alarm, errors_alarm


def provision_pipeline(ctx: StackContext) -> StackParts:
    s = ctx.suffix
    clients = {
        name: ctx.client(name)
        for name in (
            "dynamodb",
            "sqs",
            "sns",
            "iam",
            "lambda",
            "apigateway",
            "logs",
            "cloudwatch",
            "ssm",
            "kms",
            "xray",
        )
    }
    kms_key_arn: str = clients["kms"].create_key(Description=f"iot-pipeline-{s}")["KeyMetadata"]["Arn"]
    queue_url, dlq_url, dlq_arn = _queues(ctx, clients["sqs"])
    names = PipelineNames(
        suffix=s,
        raw_table=f"raw-sensor-data-{s}",
        processed_table=f"processed-data-{s}",
        queue_url=queue_url,
        ingest_function=f"sensor-ingest-{s}",
        processor_function=f"sensor-processor-{s}",
        query_function=f"sensor-query-{s}",
        threshold_parameter=f"/iot-pipeline/{s}/alert-threshold-celsius",
        api_name=f"iot-pipeline-api-{s}",
    )
    _tables(ctx, clients["dynamodb"], kms_key_arn, names)
    topic_arn = _topic(ctx, clients["sns"], kms_key_arn)
    role_arn = _functions(ctx, clients, names, dlq_arn)
    queue_arn = f"arn:aws:sqs:{ctx.region}:{ctx.account_id}:sensor-ingestion-{s}"
    _event_source(ctx, clients["lambda"], queue_arn, names.processor_function)
    api_id = _api(ctx, clients["apigateway"], role_arn)
    function_groups = [
        names.log_group(f) for f in (names.ingest_function, names.processor_function, names.query_function)
    ]
    api_group = f"/aws/apigateway/{names.api_name}"
    _log_groups(ctx, clients["logs"], [*function_groups, api_group], api_group)
    dlq_alarm, errors_alarm = _alarms(ctx, clients["cloudwatch"], topic_arn, names)
    token_parameter = f"/iot-pipeline/{s}/alert-webhook-token"
    clients["ssm"].put_parameter(Name=names.threshold_parameter, Value=ALERT_THRESHOLD_C, Type="String")
    if "parameter_missing" not in ctx.faults:
        clients["ssm"].put_parameter(
            Name=token_parameter, Value=secrets.token_urlsafe(24), Type="SecureString"
        )
    if "queue_missing" in ctx.faults:
        clients["sqs"].delete_queue(QueueUrl=queue_url)
    if "topic_missing" in ctx.faults:
        clients["sns"].delete_topic(TopicArn=topic_arn)
    history_age = STALE_AGE if "stale_processed_data" in ctx.faults else RECENT_AGE
    _device_history(ctx, clients["dynamodb"], names, history_age)

    delays = Delays(ctx.latency)
    tracing = not ({"no_traces", "tracing_disabled"} & ctx.faults)
    telemetry = Telemetry(
        xray=clients["xray"],
        logs=clients["logs"],
        delays=delays,
        traces=tracing,
        logs_on="no_logs" not in ctx.faults,
        visibility=ctx.visibility,
    )
    functions = PipelineFunctions(names=names, clients=clients, telemetry=telemetry, faults=ctx.faults)
    server = PipelineApiServer(
        region=ctx.region,
        stage=s,
        # An undeployed stage serves nothing: API Gateway refuses every call to it with 403.
        routes={} if "stage_missing" in ctx.faults else functions.routes(),
        secret_for=_secret_for,
        require_auth=lambda: "auth_open" not in ctx.faults,
        open_routes=open_routes(ctx.faults),
    )
    outputs: dict[str, Any] = {
        "ApiEndpoint": server.url,
        "ApiId": api_id,
        "ApiStageName": s,
        "RawSensorTableName": names.raw_table,
        "ProcessedDataTableName": names.processed_table,
        "IngestionQueueUrl": queue_url,
        "DeadLetterQueueUrl": dlq_url,
        "AlertTopicArn": topic_arn,
        "IngestFunctionName": names.ingest_function,
        "ProcessorFunctionName": names.processor_function,
        "QueryFunctionName": names.query_function,
        "IngestLogGroupName": function_groups[0],
        "ProcessorLogGroupName": function_groups[1],
        "QueryLogGroupName": function_groups[2],
        "ApiLogGroupName": api_group,
        "DlqDepthAlarmName": dlq_alarm,
        "ProcessorErrorsAlarmName": errors_alarm,
        "AlertThresholdParameterName": names.threshold_parameter,
        "AlertWebhookTokenParameterName": token_parameter,
        "LambdaRoleArn": role_arn,
        "KmsKeyArn": kms_key_arn,
        "Region": ctx.region,
        "Environment": s,
    }
    if ctx.grow is not None:  # before anything runs: a failed growth leaves no server behind
        from verify.sandbox.pipeline.growth import grow_pipeline

        outputs.update(grow_pipeline(ctx, clients, outputs))
    parts = StackParts(name="pipeline", outputs=outputs)
    server.start()
    parts.stops.append(server.stop)
    parts.stops.append(delays.stop)  # runs before server.stop (reversed): no late write after the stop
    # A disabled event source mapping invokes nothing: the processor stays idle, as with processor_down.
    idle = {"processor_down", "esm_disabled"} & ctx.faults
    if not idle:
        processor = Processor(
            names=names, clients=clients, telemetry=telemetry, delays=delays, faults=ctx.faults
        )
        processor.start()
        parts.stops.append(processor.stop)
    parts.services = {
        "api": server.url,
        "processor": f"stopped (fault {', '.join(sorted(idle))})" if idle else "running (thread)",
    }
    return parts
