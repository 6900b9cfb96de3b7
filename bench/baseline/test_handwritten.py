"""The baseline: the sequential integration suite a team writes today for the IoT pipeline.

Plain boto3 + requests, tests in file order, and every eventually-consistent signal waited for by
sleep-polling at a fixed interval (BENCH_POLL_S: 1 s as hand-written suites do, 5 s as CDK
integ-tests' `waitForAssertions` does by default) until BENCH_DEADLINE_S runs out. It stays this
naive on purpose: it is what verify's full run is benchmarked against (bench/README.md).

Run it alone (the repo's addopts start xdist):
    python3 -m pytest -p no:xdist -p no:cacheprovider -o addopts="" -q bench/baseline/test_handwritten.py
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

POLL_S = float(os.environ.get("BENCH_POLL_S", "1"))
DEADLINE_S = float(os.environ.get("BENCH_DEADLINE_S", "60"))

T = TypeVar("T")
SignedCall = Callable[..., Any]  # the `signed` fixture of conftest.py


def wait_for(check: Callable[[], T | None], what: str) -> T:
    """Poll `check` every POLL_S seconds until it returns something truthy; fail at the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {DEADLINE_S:g}s waiting for {what}; last saw {result!r}")
        time.sleep(POLL_S)


def _get_item(dynamodb: Any, table: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    key = {"sensorId": {"S": payload["sensorId"]}, "timestamp": {"S": payload["timestamp"]}}
    item: dict[str, Any] | None = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return item


# ---------------------------------------------------------------- static checks


@pytest.mark.parametrize("key", ["RawSensorTableName", "ProcessedDataTableName"])
def test_table_exists_and_active(outputs: dict[str, Any], dynamodb: Any, key: str) -> None:
    table = dynamodb.describe_table(TableName=outputs[key])["Table"]
    assert table["TableStatus"] == "ACTIVE"


def test_queue_has_redrive_policy(outputs: dict[str, Any], sqs: Any) -> None:
    attributes = sqs.get_queue_attributes(
        QueueUrl=outputs["IngestionQueueUrl"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    policy = json.loads(attributes["RedrivePolicy"])
    dlq_name = outputs["DeadLetterQueueUrl"].rsplit("/", 1)[-1]
    assert policy["deadLetterTargetArn"].endswith(":" + dlq_name)
    assert int(policy["maxReceiveCount"]) >= 1


# ---------------------------------------------------------------- the reading, hop by hop


def test_ingest_returns_200(reading: dict[str, Any]) -> None:
    assert reading["response"].status_code == 200, reading["response"].text


def test_raw_item_present(outputs: dict[str, Any], dynamodb: Any, reading: dict[str, Any]) -> None:
    item = wait_for(
        lambda: _get_item(dynamodb, outputs["RawSensorTableName"], reading["payload"]), "the raw item"
    )
    assert item["temperature"]["N"] == "21.5"


def test_processed_item_present_and_enriched(
    outputs: dict[str, Any], dynamodb: Any, reading: dict[str, Any]
) -> None:
    item = wait_for(
        lambda: _get_item(dynamodb, outputs["ProcessedDataTableName"], reading["payload"]),
        "the processed item",
    )
    assert "processedAt" in item
    assert float(item["temperatureF"]["N"]) == pytest.approx(21.5 * 9 / 5 + 32)
    assert "BOOL" in item["alert"]


def test_query_returns_reading(api: str, signed: SignedCall, reading: dict[str, Any]) -> None:
    url = f"{api}query?sensorId={reading['marker']}"

    def answer() -> list[dict[str, Any]]:
        response = signed("GET", url)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return [i for i in items if i.get("sensorId") == reading["marker"]]

    items = wait_for(answer, "the reading in GET /query")
    assert items[0]["temperatureF"] == pytest.approx(70.7)


def test_trace_has_both_segments(outputs: dict[str, Any], xray: Any, reading: dict[str, Any]) -> None:
    header = reading["response"].headers.get("X-Amzn-Trace-Id", "")
    trace_id = dict(part.split("=", 1) for part in header.split(";") if "=" in part).get("Root")
    assert trace_id, f"no X-Amzn-Trace-Id root in the ingest response: {header!r}"
    wanted = {outputs["IngestFunctionName"], outputs["ProcessorFunctionName"]}

    def segment_names() -> set[str]:
        traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        names = {json.loads(s["Document"])["name"] for t in traces for s in t["Segments"]}
        return names if wanted <= names else set()

    assert wanted <= wait_for(segment_names, f"trace {trace_id} with segments {sorted(wanted)}")


@pytest.mark.parametrize("key", ["IngestLogGroupName", "ProcessorLogGroupName"])
def test_log_line_with_marker(outputs: dict[str, Any], logs: Any, reading: dict[str, Any], key: str) -> None:
    def lines() -> list[str]:
        events = logs.filter_log_events(
            logGroupName=outputs[key],
            filterPattern=f'"{reading["marker"]}"',
            startTime=reading["sent_ms"] - 60_000,
        )["events"]
        return [e["message"] for e in events if reading["marker"] in e["message"]]

    assert wait_for(lines, f"a log line with the marker in {outputs[key]}")


def test_unsigned_request_rejected(api: str, signed: SignedCall, reading: dict[str, Any]) -> None:
    response = signed("GET", f"{api}query?sensorId={reading['marker']}", sign=False)
    assert response.status_code == 403
