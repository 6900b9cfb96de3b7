"""The healthy pipeline stack, seen from outside: its resources, its outputs and its data path."""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal

import pytest

from tests.helpers.sandbox import Stack, reading, wait_until
from verify.sandbox.pipeline.processor import InvalidReading, validate_reading

pytestmark = pytest.mark.sandbox

TRACE_ID = re.compile(r"^Root=(1-[0-9a-f]{8}-[0-9a-f]{24})$")


def test_outputs_name_every_resource_with_the_suffix(healthy: Stack) -> None:
    outputs, suffix = healthy.outputs, healthy.outputs["Environment"]
    assert outputs["RawSensorTableName"] == f"raw-sensor-data-{suffix}"
    assert outputs["ProcessedDataTableName"] == f"processed-data-{suffix}"
    assert (
        outputs["IngestionQueueUrl"]
        == f"https://sqs.us-east-1.amazonaws.com/123456789012/sensor-ingestion-{suffix}"
    )
    assert outputs["AlertTopicArn"] == f"arn:aws:sns:us-east-1:123456789012:sensor-alerts-{suffix}"
    assert outputs["ApiEndpoint"].startswith("http://127.0.0.1:") and outputs["ApiEndpoint"].endswith(
        f"/{suffix}/"
    )
    assert outputs["Region"] == "us-east-1"
    assert all(suffix in str(v) for k, v in outputs.items() if k not in ("Region", "KmsKeyArn", "ApiId"))


def test_tables_are_on_demand_encrypted_with_pitr(healthy: Stack) -> None:
    ddb = healthy.client("dynamodb")
    for key in ("RawSensorTableName", "ProcessedDataTableName"):
        table = ddb.describe_table(TableName=healthy.outputs[key])["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["Status"] == "ENABLED"
        assert [k["AttributeName"] for k in table["KeySchema"]] == ["sensorId", "timestamp"]
        backups = ddb.describe_continuous_backups(TableName=healthy.outputs[key])[
            "ContinuousBackupsDescription"
        ]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_queue_redrives_to_the_dlq_and_is_encrypted(healthy: Stack) -> None:
    attributes = healthy.client("sqs").get_queue_attributes(
        QueueUrl=healthy.outputs["IngestionQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f"sensor-ingestion-dlq-{healthy.outputs['Environment']}")
    assert int(redrive["maxReceiveCount"]) == 3
    assert attributes["SqsManagedSseEnabled"] == "true"


def test_functions_trace_and_feed_from_the_queue(healthy: Stack) -> None:
    awslambda = healthy.client("lambda")
    for key in ("IngestFunctionName", "ProcessorFunctionName", "QueryFunctionName"):
        config = awslambda.get_function(FunctionName=healthy.outputs[key])
        assert config["Configuration"]["Runtime"] == "python3.11"
        assert config["Configuration"]["TracingConfig"]["Mode"] == "Active"
        assert config["Concurrency"]["ReservedConcurrentExecutions"] == 100
        assert "DeadLetterConfig" in config["Configuration"]
    mappings = awslambda.list_event_source_mappings(FunctionName=healthy.outputs["ProcessorFunctionName"])
    assert [m["State"] for m in mappings["EventSourceMappings"]] == ["Enabled"]


def test_api_stage_is_iam_protected_traced_and_throttled(healthy: Stack) -> None:
    apigw, api_id = healthy.client("apigateway"), healthy.outputs["ApiId"]
    stage = apigw.get_stage(restApiId=api_id, stageName=healthy.outputs["ApiStageName"])
    assert stage["tracingEnabled"] is True
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 1000.0
    methods = {
        (r["path"], m): apigw.get_method(restApiId=api_id, resourceId=r["id"], httpMethod=m)[
            "authorizationType"
        ]
        for r in apigw.get_resources(restApiId=api_id)["items"]
        for m in r.get("resourceMethods", {})
    }
    assert methods == {("/ingest", "POST"): "AWS_IAM", ("/query", "GET"): "AWS_IAM"}


def test_logs_alarms_and_parameters(healthy: Stack) -> None:
    logs = healthy.client("logs")
    keys = ("IngestLogGroupName", "ProcessorLogGroupName", "QueryLogGroupName", "ApiLogGroupName")
    for key in keys:
        groups = logs.describe_log_groups(logGroupNamePrefix=healthy.outputs[key])["logGroups"]
        assert [g.get("retentionInDays") for g in groups] == [30], key
    alarms = healthy.client("cloudwatch").describe_alarms(
        AlarmNames=[healthy.outputs["DlqDepthAlarmName"], healthy.outputs["ProcessorErrorsAlarmName"]]
    )["MetricAlarms"]
    assert sorted(a["StateValue"] for a in alarms) == ["OK", "OK"]
    ssm = healthy.client("ssm")
    secure = ssm.get_parameter(Name=healthy.outputs["AlertWebhookTokenParameterName"])["Parameter"]
    assert secure["Type"] == "SecureString"
    assert (
        ssm.get_parameter(Name=healthy.outputs["AlertThresholdParameterName"])["Parameter"]["Value"] == "30"
    )


def test_reading_flows_from_ingest_to_query_with_traces_and_logs(healthy: Stack) -> None:
    payload = reading(temperature=35, marker="flow-marker-1")
    answer = healthy.ingest(payload)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ok": True, "sensorId": payload["sensorId"], "timestamp": payload["timestamp"]}
    assert answer.headers["x-amzn-RequestId"]
    trace = TRACE_ID.match(answer.headers["X-Amzn-Trace-Id"])
    assert trace is not None

    raw = healthy.item("RawSensorTableName", payload["sensorId"], payload["timestamp"])
    assert raw is not None and raw["marker"] == {"S": "flow-marker-1"} and "ingestedAt" in raw

    processed = wait_until(
        lambda: healthy.item("ProcessedDataTableName", payload["sensorId"], payload["timestamp"])
    )
    assert processed is not None, "the processor never wrote the processed item"
    assert Decimal(processed["temperatureF"]["N"]) == Decimal(95)
    assert processed["alert"] == {"BOOL": True}  # 35 °C is above the 30 °C threshold parameter
    assert "processedAt" in processed

    items = healthy.query(payload["sensorId"]).json()["items"]
    assert [i["marker"] for i in items] == ["flow-marker-1"]

    wanted = {healthy.outputs["IngestFunctionName"], healthy.outputs["ProcessorFunctionName"]}

    def segments() -> dict[str, dict[str, object]]:
        found = {s["name"]: s for s in healthy.trace_segments(trace.group(1))}
        return found if wanted <= set(found) else {}

    by_name = wait_until(segments)
    assert wanted <= set(by_name), f"segments of both functions in trace {trace.group(1)}"
    assert by_name[healthy.outputs["IngestFunctionName"]]["annotations"] == {
        "sensorId": payload["sensorId"],
        "readingTimestamp": payload["timestamp"],
    }
    assert wait_until(lambda: healthy.log_messages("ProcessorLogGroupName", payload["sensorId"]))
    ingest_lines = healthy.log_messages("IngestLogGroupName", "flow-marker-1")
    assert ingest_lines and payload["sensorId"] in ingest_lines[0]


def test_device_id_and_epoch_timestamps_are_accepted(healthy: Stack) -> None:
    sensor = reading()["sensorId"]
    answer = healthy.ingest({"device_id": sensor, "timestamp": 1714564800, "value": 19})
    assert answer.status_code == 200, answer.text
    assert healthy.item("RawSensorTableName", sensor, "1714564800") is not None
    found = wait_until(
        lambda: healthy.http.get(
            healthy.api + "query", params={"device_id": sensor}, auth=healthy.auth
        ).json()["items"]
    )
    assert [i["sensorId"] for i in found] == [sensor]


def test_a_poison_message_is_redriven_to_the_dlq(healthy: Stack) -> None:
    sqs = healthy.client("sqs")
    marker = f"poison-{time.time_ns()}"
    sqs.send_message(
        QueueUrl=healthy.outputs["IngestionQueueUrl"], MessageBody=json.dumps({"marker": marker})
    )

    def in_dlq() -> bool:
        dlq = healthy.outputs["DeadLetterQueueUrl"]
        answer = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0)
        ours = [m for m in answer.get("Messages", []) if marker in m["Body"]]
        # Taken out again: the worker's other tests share this sandbox, and one of them holds the
        # healthy stack's DLQ to empty (test_pipeline_faults' dlq_backlog).
        for message in ours:
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
        return bool(ours)

    assert wait_until(in_dlq, timeout=10, interval=0.3), (
        "after 3 failed receives the message must sit in the DLQ"
    )


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        {"timestamp": "2024-05-01T00:00:00Z", "temperature": 1},
        {"sensorId": "", "timestamp": "2024-05-01T00:00:00Z", "temperature": 1},
        {"sensorId": "s", "timestamp": "yesterday", "temperature": 1},
        {"sensorId": "s", "timestamp": True, "temperature": 1},
        {"sensorId": "s", "timestamp": "2024-05-01T00:00:00Z", "temperature": "hot"},
        {"sensorId": "s", "timestamp": "2024-05-01T00:00:00Z", "temperature": False},
        {"sensorId": "s", "timestamp": "2024-05-01T00:00:00Z"},
    ],
)
def test_validate_reading_refuses_malformed_payloads(payload: object) -> None:
    with pytest.raises(InvalidReading):
        validate_reading(payload)


def test_alert_topic_is_encrypted_with_an_email_subscription(healthy: Stack) -> None:
    sns, topic = healthy.client("sns"), healthy.outputs["AlertTopicArn"]
    assert (
        sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"]
        == healthy.outputs["KmsKeyArn"]
    )
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["Protocol"] for s in subscriptions] == ["email"]
