"""Each pipeline fault visibly changes what it claims to break, and the healthy stack does not show it.

Every row runs one observation against the healthy sandbox and against a sandbox with only that
fault, and expects two different, named answers: a fault that changed nothing fails its row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.conftest import Stack, reading, start_stack, wait_until
from verify.sandbox.faults import FAULTS

Observe = Callable[[Stack], Any]


def _processed_within(stack: Stack, seconds: float) -> bool:
    payload = reading()
    assert stack.ingest(payload).status_code == 200
    found = wait_until(
        lambda: stack.item("ProcessedDataTableName", payload["sensorId"], payload["timestamp"]),
        timeout=seconds,
    )
    return found is not None


def processing(stack: Stack) -> bool:
    return _processed_within(stack, 4.0)


def unsigned_ingest_status(stack: Stack) -> int:
    return stack.ingest(reading(), signed=False).status_code


def query_status(stack: Stack) -> int:
    return stack.query(reading()["sensorId"]).status_code


def raw_written(stack: Stack) -> tuple[int, bool]:
    payload = reading()
    status = stack.ingest(payload).status_code
    return status, stack.item("RawSensorTableName", payload["sensorId"], payload["timestamp"]) is not None


def derived_fields(stack: Stack) -> set[str]:
    payload = reading()
    assert stack.ingest(payload).status_code == 200
    item = wait_until(lambda: stack.item("ProcessedDataTableName", payload["sensorId"], payload["timestamp"]))
    assert item is not None, "no processed item to inspect"
    return {"processedAt", "temperatureF", "alert"} & set(item)


def garbage_stored(stack: Stack) -> tuple[int, bool]:
    payload = {"sensorId": reading()["sensorId"], "timestamp": "yesterday", "temperature": "hot"}
    status = stack.ingest(payload).status_code
    return status, stack.item("RawSensorTableName", payload["sensorId"], "yesterday") is not None


def ingest_segment(stack: Stack) -> bool:
    answer = stack.ingest(reading())
    trace_id = answer.headers["X-Amzn-Trace-Id"].removeprefix("Root=")
    return stack.outputs["IngestFunctionName"] in {s["name"] for s in stack.trace_segments(trace_id)}


def ingest_log_line(stack: Stack) -> bool:
    payload = reading()
    assert stack.ingest(payload).status_code == 200
    return bool(stack.log_messages("IngestLogGroupName", payload["sensorId"]))


def pitr(stack: Stack) -> list[str]:
    ddb = stack.client("dynamodb")
    return [
        ddb.describe_continuous_backups(TableName=stack.outputs[key])["ContinuousBackupsDescription"][
            "PointInTimeRecoveryDescription"
        ]["PointInTimeRecoveryStatus"]
        for key in ("RawSensorTableName", "ProcessedDataTableName")
    ]


def encryption(stack: Stack) -> tuple[Any, str]:
    table = stack.client("dynamodb").describe_table(TableName=stack.outputs["RawSensorTableName"])["Table"]
    queue = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["IngestionQueueUrl"], AttributeNames=["SqsManagedSseEnabled"]
    )["Attributes"]
    return table.get("SSEDescription", {}).get("Status"), queue["SqsManagedSseEnabled"]


def redrive(stack: Stack) -> bool:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["IngestionQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    return "RedrivePolicy" in attributes


def dlq(stack: Stack) -> tuple[str, str]:
    depth = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["DeadLetterQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    alarm = stack.client("cloudwatch").describe_alarms(AlarmNames=[stack.outputs["DlqDepthAlarmName"]])
    return depth, alarm["MetricAlarms"][0]["StateValue"]


def processed_table_exists(stack: Stack) -> bool:
    try:
        stack.client("dynamodb").describe_table(TableName=stack.outputs["ProcessedDataTableName"])
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
        return False
    return True


def queue_exists(stack: Stack) -> bool:
    try:
        stack.client("sqs").get_queue_attributes(QueueUrl=stack.outputs["IngestionQueueUrl"])
    except ClientError as exc:
        assert "NonExistentQueue" in exc.response["Error"]["Code"]
        return False
    return True


def retention(stack: Stack) -> set[Any]:
    logs = stack.client("logs")
    keys = ("IngestLogGroupName", "ProcessorLogGroupName", "QueryLogGroupName", "ApiLogGroupName")
    found = [logs.describe_log_groups(logGroupNamePrefix=stack.outputs[k])["logGroups"] for k in keys]
    assert all(len(groups) == 1 for groups in found)
    return {groups[0].get("retentionInDays") for groups in found}


def tracing(stack: Stack) -> tuple[str, bool, bool]:
    mode = stack.client("lambda").get_function_configuration(FunctionName=stack.outputs["IngestFunctionName"])
    stage = stack.client("apigateway").get_stage(
        restApiId=stack.outputs["ApiId"], stageName=stack.outputs["ApiStageName"]
    )
    return mode["TracingConfig"]["Mode"], bool(stage.get("tracingEnabled")), ingest_segment(stack)


def processing_speed(stack: Stack) -> str:
    payload = reading()
    start = time.monotonic()
    assert stack.ingest(payload).status_code == 200
    item = wait_until(
        lambda: stack.item("ProcessedDataTableName", payload["sensorId"], payload["timestamp"]), timeout=10
    )
    if item is None:
        return "never"
    # slow_processor adds 3 s to every message; a healthy one on a busy CI machine stays well under.
    return "fast" if time.monotonic() - start < 2.9 else "slow but processed"


# fault -> (observation, healthy answer, faulty answer)
CASES: dict[str, tuple[Observe, Any, Any]] = {
    "processor_down": (processing, True, False),
    "auth_open": (unsigned_ingest_status, 403, 200),
    "query_broken": (query_status, 200, 500),
    "raw_not_written": (raw_written, (200, True), (200, False)),
    "lost_enrichment": (derived_fields, {"processedAt", "temperatureF", "alert"}, set()),
    "accepts_garbage": (garbage_stored, (400, False), (200, True)),
    "no_traces": (ingest_segment, True, False),
    "no_logs": (ingest_log_line, True, False),
    "pitr_disabled": (pitr, ["ENABLED", "ENABLED"], ["DISABLED", "DISABLED"]),
    "sse_disabled": (encryption, ("ENABLED", "true"), (None, "false")),
    "no_dlq": (redrive, True, False),
    "dlq_backlog": (dlq, ("0", "OK"), ("3", "ALARM")),
    "table_missing": (processed_table_exists, True, False),
    "queue_missing": (queue_exists, True, False),
    "log_retention_missing": (retention, {30}, {None}),
    "tracing_disabled": (tracing, ("Active", True, True), ("PassThrough", False, False)),
    "slow_processor": (processing_speed, "fast", "slow but processed"),
}


def test_every_pipeline_fault_has_a_row() -> None:
    assert set(CASES) == {name for name, fault in FAULTS.items() if fault.stack == "pipeline"}


@pytest.mark.parametrize("fault", sorted(CASES))
def test_fault_changes_what_it_claims(fault: str, healthy: Stack, tmp_path: Path) -> None:
    observe, healthy_answer, faulty_answer = CASES[fault]
    assert observe(healthy) == healthy_answer
    with start_stack(tmp_path, faults=(fault,)) as handle:
        faulty = Stack(handle)
        assert observe(faulty) == faulty_answer
        # The outputs still name everything, even what a fault removed, as a drifted deploy would.
        assert set(faulty.outputs) == set(healthy.outputs)


def test_faults_combine(healthy: Stack, tmp_path: Path) -> None:
    with start_stack(tmp_path, faults=("pitr_disabled", "auth_open", "no_logs")) as handle:
        faulty = Stack(handle)
        assert pitr(faulty) == ["DISABLED", "DISABLED"]
        assert unsigned_ingest_status(faulty) == 200
        assert ingest_log_line(faulty) is False
        assert query_status(faulty) == 200  # what no fault touched still works
