"""Each pipeline fault visibly changes what it claims to break, and the healthy stack does not show it.

Every row runs one observation against the healthy sandbox and against a sandbox with only that
fault, and expects two different, named answers: a fault that changed nothing fails its row.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers.sandbox import Stack, reading, start_stack, wait_until
from verify.sandbox.faults.catalogue import FAULTS

pytestmark = pytest.mark.sandbox

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


def subscriptions(stack: Stack) -> int:
    sns = stack.client("sns")
    return len(sns.list_subscriptions_by_topic(TopicArn=stack.outputs["AlertTopicArn"])["Subscriptions"])


def topic_kms(stack: Stack) -> bool:
    attributes = stack.client("sns").get_topic_attributes(TopicArn=stack.outputs["AlertTopicArn"])
    return bool(attributes["Attributes"].get("KmsMasterKeyId"))


def topic_exists(stack: Stack) -> bool:
    topics = stack.client("sns").list_topics()["Topics"]
    return stack.outputs["AlertTopicArn"] in {t["TopicArn"] for t in topics}


def _config(stack: Stack, key: str) -> dict[str, Any]:
    answer: dict[str, Any] = stack.client("lambda").get_function_configuration(
        FunctionName=stack.outputs[key]
    )
    return answer


def query_reserved_concurrency(stack: Stack) -> Any:
    concurrency = stack.client("lambda").get_function_concurrency(
        FunctionName=stack.outputs["QueryFunctionName"]
    )
    return concurrency.get("ReservedConcurrentExecutions")


def ingest_dead_letter(stack: Stack) -> bool:
    return bool(_config(stack, "IngestFunctionName").get("DeadLetterConfig", {}).get("TargetArn"))


def mapping_and_processing(stack: Stack) -> tuple[str, bool]:
    mappings = stack.client("lambda").list_event_source_mappings(
        FunctionName=stack.outputs["ProcessorFunctionName"]
    )["EventSourceMappings"]
    return mappings[0]["State"], processing(stack)


def query_method(stack: Stack) -> tuple[str, int]:
    apigw = stack.client("apigateway")
    items = apigw.get_resources(restApiId=stack.outputs["ApiId"], embed=["methods"])["items"]
    query = next(i for i in items if i["path"] == "/query")
    auth = query["resourceMethods"]["GET"]["authorizationType"]
    unsigned = stack.http.get(stack.api + "query", params={"sensorId": reading()["sensorId"]})
    return auth, unsigned.status_code


def _stage(stack: Stack) -> dict[str, Any]:
    stage: dict[str, Any] = stack.client("apigateway").get_stage(
        restApiId=stack.outputs["ApiId"], stageName=stack.outputs["ApiStageName"]
    )
    return stage


def stage_and_ingest(stack: Stack) -> tuple[list[str], int]:
    stages = stack.client("apigateway").get_stages(restApiId=stack.outputs["ApiId"])["item"]
    return [s["stageName"] for s in stages], stack.ingest(reading()).status_code


def visibility(stack: Stack) -> str:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["IngestionQueueUrl"], AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    return str(attributes["VisibilityTimeout"])


def token_parameter_exists(stack: Stack) -> bool:
    name = stack.outputs["AlertWebhookTokenParameterName"]
    return bool(
        stack.client("ssm").describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])[
            "Parameters"
        ]
    )


def errors_alarm(stack: Stack) -> str:
    alarms = stack.client("cloudwatch").describe_alarms(
        AlarmNames=[stack.outputs["ProcessorErrorsAlarmName"]]
    )
    return str(alarms["MetricAlarms"][0]["StateValue"])


def api_log_group_exists(stack: Stack) -> bool:
    name = stack.outputs["ApiLogGroupName"]
    groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return name in {g["logGroupName"] for g in groups}


def processed_long_ago(stack: Stack) -> bool:
    items = stack.client("dynamodb").scan(TableName=stack.outputs["ProcessedDataTableName"])["Items"]
    return any(_older_than_a_day(i) for i in items)


def _older_than_a_day(item: dict[str, Any]) -> bool:
    stamp = item.get("processedAt", {}).get("S")
    if not stamp:
        return False
    when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return dt.datetime.now(dt.UTC) - when > dt.timedelta(days=1)


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
    "no_subscribers": (subscriptions, 1, 0),
    "topic_unencrypted": (topic_kms, True, False),
    "topic_missing": (topic_exists, True, False),
    "no_reserved_concurrency": (query_reserved_concurrency, 100, None),
    "no_failure_destination": (ingest_dead_letter, True, False),
    "deprecated_runtime": (lambda s: _config(s, "QueryFunctionName")["Runtime"], "python3.11", "python3.8"),
    "esm_disabled": (mapping_and_processing, ("Enabled", True), ("Disabled", False)),
    "lambda_update_failed": (
        lambda s: _config(s, "QueryFunctionName").get("LastUpdateStatus", "Successful"),
        "Successful",
        "Failed",
    ),
    "method_open": (query_method, ("AWS_IAM", 403), ("NONE", 200)),
    "throttling_off": (lambda s: "*/*" in (_stage(s).get("methodSettings") or {}), True, False),
    "stage_missing": (stage_and_ingest, (None, 200), ([], 403)),
    "short_visibility": (visibility, "30", "10"),
    "parameter_missing": (token_parameter_exists, True, False),
    "alarm_firing": (errors_alarm, "OK", "ALARM"),
    "log_group_missing": (api_log_group_exists, True, False),
    "output_placeholder": (lambda s: s.outputs["QueryLogGroupName"] == "unknown", False, True),
    "stale_processed_data": (processed_long_ago, False, True),
    # template drift (verify/sandbox/faults/drift.py): the live stack moved, its template did not
    "drift_pitr": (pitr, ["ENABLED", "ENABLED"], ["DISABLED", "ENABLED"]),
    "drift_log_retention": (retention, {30}, {30, 7}),
    "drift_visibility": (visibility, "30", "45"),
    "drift_throttling": (lambda s: _stage(s)["methodSettings"]["*/*"]["throttlingRateLimit"], 1000.0, 100.0),
}


def test_every_pipeline_fault_has_a_row() -> None:
    assert set(CASES) == {name for name, fault in FAULTS.items() if fault.stack == "pipeline"}


@pytest.mark.parametrize("fault", sorted(CASES))
def test_fault_changes_what_it_claims(fault: str, healthy: Stack, tmp_path: Path) -> None:
    observe, healthy_answer, faulty_answer = CASES[fault]
    seen = observe(healthy)
    if fault == "stage_missing":  # the stage is named after the sandbox's own suffix
        seen = (None, seen[1]) if seen[0] == [healthy.outputs["ApiStageName"]] else seen
    assert seen == healthy_answer
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


def test_new_faults_combine_with_those_they_touch(tmp_path: Path) -> None:
    faults = (
        "stage_missing",
        "method_open",
        "esm_disabled",
        "processor_down",
        "table_missing",
        "stale_processed_data",
        "topic_missing",
        "no_subscribers",
        "topic_unencrypted",
        "output_placeholder",
        "throttling_off",
    )
    with start_stack(tmp_path, faults=faults) as handle:
        faulty = Stack(handle)
        assert stage_and_ingest(faulty) == ([], 403)
        assert topic_exists(faulty) is False
        assert processed_table_exists(faulty) is False
        assert faulty.outputs["QueryLogGroupName"] == "unknown"
        assert visibility(faulty) == "30"  # what no fault touched is as healthy
