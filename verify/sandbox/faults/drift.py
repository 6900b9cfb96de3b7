"""Template drift: the live stack changed after its deploy, while its template (`verify.sandbox.templates`)
still declares what was deployed. Each drift fault changes one declared property, through the AWS APIs
where the emulator honours the change, else in the answers AWS would give; the intent check of that
resource must fail, naming the template and the logical id that declared it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from verify.sandbox.emulator.context import StackContext, StackParts

DRIFTED_ROTATION_DAYS = 90
DRIFTED_LOG_RETENTION_DAYS = 7
DRIFTED_VISIBILITY_S = 45
DRIFTED_STREAM_RETENTION_H = 72
DRIFTED_RATE_LIMIT = 100

# fault -> the stack it drifts
DRIFT_FAULTS = {
    "drift_pitr": "pipeline",
    "drift_log_retention": "pipeline",
    "drift_visibility": "pipeline",
    "drift_throttling": "pipeline",
    "drift_rotation": "platform",
    "drift_multi_az": "platform",
    "drift_stream_retention": "platform",
}


def apply_drift(ctx: StackContext, started: Iterable[StackParts], faults: frozenset[str]) -> None:
    """After the stacks are up (and their templates written): change what the chosen faults drift."""
    chosen = faults & set(DRIFT_FAULTS)
    if not chosen:
        return
    outputs = {p.name: p.outputs for p in started}
    pipeline, platform = outputs.get("pipeline", {}), outputs.get("platform", {})
    if "drift_pitr" in chosen:
        ctx.client("dynamodb").update_continuous_backups(
            TableName=pipeline["RawSensorTableName"],
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
        )
    if "drift_log_retention" in chosen:
        ctx.client("logs").put_retention_policy(
            logGroupName=pipeline["ProcessorLogGroupName"], retentionInDays=DRIFTED_LOG_RETENTION_DAYS
        )
    if "drift_visibility" in chosen:
        ctx.client("sqs").set_queue_attributes(
            QueueUrl=pipeline["IngestionQueueUrl"],
            Attributes={"VisibilityTimeout": str(DRIFTED_VISIBILITY_S)},
        )
    if "drift_throttling" in chosen:
        ctx.client("apigateway").update_stage(
            restApiId=pipeline["ApiId"],
            stageName=pipeline["ApiStageName"],
            patchOperations=[
                {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(DRIFTED_RATE_LIMIT)}
            ],
        )
    if "drift_multi_az" in chosen:
        ctx.client("rds").modify_db_instance(
            DBInstanceIdentifier=platform["DatabaseInstanceIdentifier"], MultiAZ=False, ApplyImmediately=True
        )
    if "drift_stream_retention" in chosen:
        ctx.client("kinesis").increase_stream_retention_period(
            StreamName=platform["KinesisStreamName"], RetentionPeriodHours=DRIFTED_STREAM_RETENTION_H
        )
    if "drift_rotation" in chosen:
        # The platform's own answer patcher reports its 30 days; this one runs after it.
        arn = str(platform["DatabaseSecretArn"])
        ctx.emulator.middleware.patch("secretsmanager", "DescribeSecret", _json_edit(_rotation_of(arn)))


def _rotation_of(arn: str) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        if data.get("ARN") == arn and data.get("RotationEnabled"):
            data["RotationRules"] = {
                "AutomaticallyAfterDays": DRIFTED_ROTATION_DAYS,
                "ScheduleExpression": f"rate({DRIFTED_ROTATION_DAYS} days)",
            }

    return edit


def _json_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[Any, bytes], bytes]:
    def patcher(_req: Any, body: bytes) -> bytes:
        try:
            data = json.loads(body)
        except ValueError:
            return body
        if not isinstance(data, dict):
            return body
        edit(data)
        return json.dumps(data).encode()

    return patcher
