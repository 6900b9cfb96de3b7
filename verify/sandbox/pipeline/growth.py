"""Growth: the pipeline stack grown to N resources in all, for benchmarks at 20, 100 or 200 resources.

The extra resources are what a pipeline serving many sites accumulates: per site, device tables,
a telemetry queue with its dead-letter queue, notification topics, configuration parameters, log
groups and alarms. Each is created through the AWS APIs as the base stack's own are, healthy by the
same standards (PITR and KMS on tables, a redrive to the DLQ and SQS-managed SSE on queues, KMS and a
subscriber on topics, 30-day retention, alarms OK), whatever faults the base stack carries, and named
in the outputs under keys that discovery classifies as the base keys are.

"Resources" counts as `verify discover` does: every output that names something (not a plain
setting such as Region). The plan is a fixed cycle, so the same N gives the same resources and keys,
and its tables, queues and log groups carry no flow role (raw, processed, dlq of the flow, function
log group): the flow keeps following the base stack's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from verify.errors import UsageError
from verify.sandbox.emulator.context import StackContext
from verify.sandbox.pipeline.limits import FUNCTION_TIMEOUT_S, MAX_RECEIVE_COUNT

BASE_RESOURCES = 19  # what the pipeline's outputs name without growth (a test keeps this true)
MAX_RESOURCES = 1000
LOG_RETENTION_DAYS = 30
_WORKERS = 8  # the emulator serves calls concurrently; a few in flight hide each call's round trip


@dataclass(frozen=True)
class _Unit:
    kind: str  # table, queue (with its DLQ), topic, parameter, log_group, alarm
    label: str  # CamelCase, as it appears in the output key

    @property
    def size(self) -> int:
        return 2 if self.kind == "queue" else 1


# One site's worth: 20 resources (4 tables, 1 queue + DLQ, 2 topics, 4 parameters, 4 log groups,
# 4 alarms), interleaved so that a small growth is a mix too.
CYCLE: tuple[_Unit, ...] = (
    _Unit("table", "DeviceRegistry"),
    _Unit("queue", "Telemetry"),
    _Unit("parameter", "SamplingRate"),
    _Unit("log_group", "Audit"),
    _Unit("alarm", "BatteryLow"),
    _Unit("topic", "Notifications"),
    _Unit("table", "Firmware"),
    _Unit("parameter", "FirmwareChannel"),
    _Unit("log_group", "Gateway"),
    _Unit("alarm", "GatewayOffline"),
    _Unit("table", "Calibration"),
    _Unit("parameter", "MaintenanceWindow"),
    _Unit("log_group", "FirmwareUpdate"),
    _Unit("alarm", "QueueAge"),
    _Unit("topic", "Maintenance"),
    _Unit("table", "Maintenance"),
    _Unit("parameter", "ReportingSchedule"),
    _Unit("log_group", "Calibration"),
    _Unit("alarm", "TableThrottles"),
)

# Table label -> key schema (partition, sort or None): device tables differ, as real ones do.
_TABLE_KEYS: dict[str, tuple[str, str | None]] = {
    "DeviceRegistry": ("deviceId", None),
    "Firmware": ("firmwareVersion", "deviceId"),
    "Calibration": ("sensorId", "timestamp"),
    "Maintenance": ("deviceId", "scheduledAt"),
}
# Alarm label -> (namespace, metric)
_ALARM_METRICS: dict[str, tuple[str, str]] = {
    "BatteryLow": ("IoTPipeline", "DevicesWithLowBattery"),
    "GatewayOffline": ("IoTPipeline", "GatewaysOffline"),
    "QueueAge": ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
    "TableThrottles": ("AWS/DynamoDB", "ThrottledRequests"),
}


@dataclass(frozen=True)
class Planned:
    site: int
    unit: _Unit

    @property
    def slug(self) -> str:
        return re.sub(r"(?<!^)([A-Z])", r"-\1", self.unit.label).lower()

    @property
    def key_prefix(self) -> str:
        return f"Site{self.site:02d}{self.unit.label}"

    def name(self, suffix: str) -> str:
        return f"site-{self.site:02d}-{self.slug}-{suffix}"

    def path(self, suffix: str) -> str:
        return f"/iot-pipeline/{suffix}/site-{self.site:02d}/{self.slug}"


def plan(extra: int) -> list[Planned]:
    """The resources that add `extra` to the stack: the cycle, site after site, until it adds up.

    A queue pair that would overshoot by one is passed over for the next single resource.
    """
    planned: list[Planned] = []
    remaining, site = extra, 0
    while remaining > 0:
        site += 1
        for unit in CYCLE:
            if 0 < unit.size <= remaining:
                planned.append(Planned(site, unit))
                remaining -= unit.size
    return planned


def check_grow(grow: int | None, stacks: Iterable[str]) -> None:
    """Refuses a growth that cannot be honoured, before anything starts."""
    if grow is None:
        return
    if "pipeline" not in stacks:
        raise UsageError("--grow grows the pipeline stack; start it too (--stack pipeline or both).")
    if isinstance(grow, bool) or not isinstance(grow, int) or grow < BASE_RESOURCES:
        raise UsageError(
            f"--grow {grow} is below the pipeline's own {BASE_RESOURCES} resources; "
            f"ask for {BASE_RESOURCES} or more."
        )
    if grow > MAX_RESOURCES:
        raise UsageError(f"--grow {grow} is more than the sandbox grows to ({MAX_RESOURCES}); ask for fewer.")


def count_resources(outputs: Mapping[str, Any]) -> int:
    """How many resources `verify discover` finds in these (flat) outputs."""
    from verify.stack.inventory import build_inventory
    from verify.stack.outputs import parse_outputs

    inventory = build_inventory(parse_outputs(dict(outputs), "sandbox outputs"))
    return sum(1 for r in inventory.resources if r.kind not in ("scalar", "unknown"))


def grow_pipeline(
    ctx: StackContext, clients: Mapping[str, Any], outputs: Mapping[str, Any]
) -> dict[str, str]:
    """Creates the extra resources that make the pipeline's `outputs` name ctx.grow resources; returns
    their output keys and values (to append after the base keys, so the flow's first picks stay)."""
    total = ctx.grow or 0
    extra = total - count_resources(outputs)
    if extra < 0:
        raise UsageError(f"--grow {total} is below the {total - extra} resources the pipeline names already.")
    kms_key_arn, alert_topic_arn = str(outputs["KmsKeyArn"]), str(outputs["AlertTopicArn"])
    makers: dict[str, Callable[[Planned], dict[str, str]]] = {
        "table": lambda p: _table(ctx, clients["dynamodb"], p, kms_key_arn),
        "queue": lambda p: _queue_pair(ctx, clients["sqs"], p),
        "topic": lambda p: _topic(ctx, clients["sns"], p, kms_key_arn),
        "parameter": lambda p: _parameter(ctx, clients["ssm"], p),
        "log_group": lambda p: _log_group(ctx, clients["logs"], p),
        "alarm": lambda p: _alarm(ctx, clients["cloudwatch"], p, alert_topic_arn),
    }
    planned = plan(extra)
    with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="sandbox-grow") as pool:
        # map keeps the plan's order: the same N writes the same keys in the same order.
        made = list(pool.map(lambda p: makers[p.unit.kind](p), planned))
    return {key: value for entry in made for key, value in entry.items()}


def _table(ctx: StackContext, ddb: Any, p: Planned, kms_key_arn: str) -> dict[str, str]:
    name = p.name(ctx.suffix)
    partition, sort = _TABLE_KEYS[p.unit.label]
    keys = [(partition, "HASH"), *([(sort, "RANGE")] if sort else [])]
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a, _ in keys],
        KeySchema=[{"AttributeName": a, "KeyType": t} for a, t in keys],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_key_arn},
        Tags=[{"Key": "Environment", "Value": ctx.suffix}, {"Key": "Site", "Value": f"site-{p.site:02d}"}],
    )
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    return {f"{p.key_prefix}TableName": name}


def _queue_pair(ctx: StackContext, sqs: Any, p: Planned) -> dict[str, str]:
    name = p.name(ctx.suffix)
    dlq_name = f"site-{p.site:02d}-{p.slug}-dlq-{ctx.suffix}"
    sse = {"SqsManagedSseEnabled": "true"}
    sqs.create_queue(QueueName=dlq_name, Attributes={**sse, "MessageRetentionPeriod": "1209600"})
    dlq_arn = f"arn:aws:sqs:{ctx.region}:{ctx.account_id}:{dlq_name}"
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
    attributes = {**sse, "VisibilityTimeout": str(FUNCTION_TIMEOUT_S), "RedrivePolicy": redrive}
    sqs.create_queue(QueueName=name, Attributes=attributes)
    base = f"https://sqs.{ctx.region}.amazonaws.com/{ctx.account_id}"
    return {
        f"{p.key_prefix}QueueUrl": f"{base}/{name}",
        f"{p.key_prefix}DeadLetterQueueUrl": f"{base}/{dlq_name}",
    }


def _topic(ctx: StackContext, sns: Any, p: Planned, kms_key_arn: str) -> dict[str, str]:
    arn: str = sns.create_topic(Name=p.name(ctx.suffix), Attributes={"KmsMasterKeyId": kms_key_arn})[
        "TopicArn"
    ]
    sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=f"iot-site-{p.site:02d}+{ctx.suffix}@example.com")
    return {f"{p.key_prefix}TopicArn": arn}


def _parameter(ctx: StackContext, ssm: Any, p: Planned) -> dict[str, str]:
    name = p.path(ctx.suffix)
    ssm.put_parameter(Name=name, Value=f"{p.slug}:{p.site}", Type="String")
    return {f"{p.key_prefix}ParameterName": name}


def _log_group(ctx: StackContext, logs: Any, p: Planned) -> dict[str, str]:
    name = p.path(ctx.suffix)
    logs.create_log_group(logGroupName=name, tags={"Environment": ctx.suffix})
    logs.put_retention_policy(logGroupName=name, retentionInDays=LOG_RETENTION_DAYS)
    return {f"{p.key_prefix}LogGroupName": name}


def _alarm(ctx: StackContext, cloudwatch: Any, p: Planned, topic_arn: str) -> dict[str, str]:
    name = f"sensor-{p.name(ctx.suffix)}"
    namespace, metric = _ALARM_METRICS[p.unit.label]
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": "Site", "Value": f"site-{p.site:02d}"}],
        EvaluationPeriods=1,
        Period=60,
        Threshold=0.0,
        ComparisonOperator="GreaterThanThreshold",
        Statistic="Maximum",
        AlarmActions=[topic_arn],
        TreatMissingData="notBreaching",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="sandbox: initial state")
    return {f"{p.key_prefix}AlarmName": name}
