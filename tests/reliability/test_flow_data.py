"""The flow's test data: tagged with the run id, given a TTL where the raw table has TTL on, cleaned
up by marker only; and a flow that never sent anything touches no table at clean-up."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials

from tests.helpers.cli import create_flow_tables
from verify.aws.client import Aws
from verify.aws.http import SignedHttp
from verify.config.settings import Config
from verify.scenario.flow import TTL_AHEAD_S, Flow
from verify.stack.inventory import build_inventory
from verify.stack.outputs import parse_outputs

REGION = "us-east-1"
API = "https://abc123.execute-api.us-east-1.amazonaws.com/dev/"


@pytest.fixture
def moto(aws_mock: None) -> Aws:
    create_flow_tables(REGION, "raw-data", "processed-data")
    return Aws(REGION)


def _flow(aws: Aws, run_id: str = "vfy-test-run") -> Flow:
    outputs = parse_outputs(
        {"ApiEndpoint": API, "RawSensorTableName": "raw-data", "ProcessedDataTableName": "processed-data"},
        "test.json",
    )
    http = SignedHttp(Credentials("testing", "testing"), REGION)
    return Flow(
        aws=aws, http=http, inventory=build_inventory(outputs), config=Config(), run_id=run_id, timeout=1
    )


def _put(table: str, sensor: str, stamp: str = "2025-01-01T00:00:00Z") -> None:
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=table, Item={"sensorId": {"S": sensor}, "timestamp": {"S": stamp}}
    )


def _sensors(table: str) -> list[str]:
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=table)["Items"]
    return sorted(item["sensorId"]["S"] for item in items)


def test_payload_carries_the_run_id_and_no_ttl_where_the_table_has_none(moto: Aws) -> None:
    payload = _flow(moto).build_payload()
    assert payload["sensorId"] == "vfy-test-run"
    assert not any("ttl" in key.lower() or "expire" in key.lower() for key in payload), payload


def test_payload_gets_the_tables_ttl_attribute_an_hour_ahead(moto: Aws) -> None:
    boto3.client("dynamodb", region_name=REGION).update_time_to_live(
        TableName="raw-data", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
    )
    payload: dict[str, Any] = _flow(moto).build_payload()
    now = time.time()
    assert now + TTL_AHEAD_S - 60 <= payload["expiresAt"] <= now + TTL_AHEAD_S + 60
    assert isinstance(payload["expiresAt"], int)  # TTL wants epoch seconds as a Number


def test_cleanup_removes_only_this_runs_items(moto: Aws) -> None:
    flow = _flow(moto, run_id="vfy-mine")
    for table in ("raw-data", "processed-data"):
        _put(table, "vfy-mine")
        _put(table, "vfy-mine-malformed")
        _put(table, "vfy-other-run")  # a concurrent run's reading
        _put(table, "device-42")  # the stack's own data
    flow._markers_written.add(flow.malformed_marker)
    flow._sent = True
    removed = flow.cleanup()
    assert len(removed) == 4
    for table in ("raw-data", "processed-data"):
        assert _sensors(table) == ["device-42", "vfy-other-run"]


def test_cleanup_of_a_flow_that_sent_nothing_asks_aws_nothing(moto: Aws) -> None:
    flow = _flow(moto, run_id="vfy-mine")
    _put("raw-data", "vfy-mine")  # not ours to judge: this flow never sent a reading
    before = moto.call_count()
    assert flow.cleanup() == []
    assert moto.call_count() == before
    assert _sensors("raw-data") == ["vfy-mine"]


def test_enrichment_is_judged_only_once_the_raw_item_is_known(moto: Aws) -> None:
    # Steps running side by side: the processed item is in, the raw step is still waiting. Its
    # only attribute beyond the payload, ingestedAt, was stored by the ingest (it is in the raw
    # item too), so it is no enrichment -- which can only be known once the raw step has its item.
    import threading

    from verify.errors import CheckFailed

    flow = _flow(moto)
    flow.schedule({"ingest", "raw", "processed", "enriched"})
    flow.payload = {"sensorId": "vfy-test-run", "timestamp": "t", "temperature": 21}
    for step in ("ingest", "processed"):
        flow.passed[step] = True
        flow._done[step].set()
    flow.processed = {**flow.payload, "ingestedAt": "t1"}
    outcome: dict[str, object] = {}

    def judge() -> None:
        try:
            outcome["value"] = flow.enriched()
        except CheckFailed as exc:
            outcome["failed"] = exc

    thread = threading.Thread(target=judge)
    thread.start()
    thread.join(timeout=0.3)
    assert thread.is_alive(), "the enrichment step judged before the raw step had its item"
    flow.raw = {**flow.payload, "ingestedAt": "t1"}
    flow.passed["raw"] = True
    flow._done["raw"].set()
    thread.join(timeout=5)
    assert "failed" in outcome, outcome
