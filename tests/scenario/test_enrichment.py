"""Enrichment means derived (issue 15, finding 5): a non-null attribute of the processed reading that is
neither a key of the processed table nor copied (same name, same value) from the payload or the raw
item; `[flow] enriched_fields` names the ones a stack must derive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials

from tests.helpers.moto import MOTO_REGION
from verify.aws.client import Aws
from verify.aws.http import SignedHttp
from verify.config.settings import Config, FlowConfig, load_config
from verify.errors import CheckFailed, ConfigError
from verify.scenario.enrichment import derived_attributes
from verify.scenario.flow import Flow
from verify.stack.inventory import build_inventory
from verify.stack.outputs import parse_outputs

MARKER = "vfy-test-enrich"
PAYLOAD: dict[str, Any] = {"device_id": MARKER, "timestamp": "2026-12-02T09:00:00.000Z", "temperature": 21.5}
RAW = {
    "device_id": {"S": MARKER},
    "timestamp": {"S": "2026-12-02T09:00:00.000Z"},
    "temperature": {"N": "21.5"},
    "ingestedAt": {"S": "2026-12-02T09:00:00.100Z"},
}
# What a processor that lost every derived field still writes: its keys (the date sort key is not in
# the payload), copies of the payload and of the raw item, and derived fields left null.
LOST = {
    **RAW,
    "event_date": {"S": "2026-12-02"},
    "alert": {"NULL": True},
    "temperatureF": {"NULL": True},
}
HEALTHY = {**LOST, "alert": {"BOOL": False}, "temperatureF": {"N": "70.7"}}


def _tables() -> None:
    ddb = boto3.client("dynamodb", region_name=MOTO_REGION)
    for name, sort in (("raw-data", "timestamp"), ("processed-data", "event_date")):
        ddb.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": "device_id", "KeyType": "HASH"},
                {"AttributeName": sort, "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "device_id", "AttributeType": "S"},
                {"AttributeName": sort, "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )


def _judged(processed: dict[str, Any], config: Config | None = None) -> dict[str, Any]:
    outputs = parse_outputs(
        {
            "ApiEndpoint": "https://abcde12345.execute-api.us-east-1.amazonaws.com/dev/",
            "RawSensorTableName": "raw-data",
            "ProcessedDataTableName": "processed-data",
        },
        "test.json",
    )
    flow = Flow(
        aws=Aws(MOTO_REGION),
        http=SignedHttp(Credentials("testing", "testing"), MOTO_REGION),
        inventory=build_inventory(outputs),
        config=config or Config(),
        run_id=MARKER,
        timeout=1,
    )
    flow.payload, flow.raw, flow.processed = dict(PAYLOAD), dict(RAW), dict(processed)
    flow.passed["processed"] = True
    return flow.enriched()


def test_a_processor_that_lost_every_derived_field_fails(aws_mock: None) -> None:
    _tables()
    with pytest.raises(CheckFailed) as caught:
        _judged(LOST)
    message = str(caught.value)
    assert "got none" in message
    assert "event_date (a key of the processed table)" in message
    assert "ingestedAt (copied from the raw item)" in message
    assert "temperatureF (null)" in message


def test_a_healthy_processor_passes_with_what_it_derived(aws_mock: None) -> None:
    _tables()
    evidence = _judged(HEALTHY)
    assert evidence["added_attributes"] == ["alert", "temperatureF"]
    assert evidence["not_enrichment"]["event_date"] == "a key of the processed table"


def test_named_enriched_fields_must_each_be_derived(aws_mock: None) -> None:
    _tables()
    wanted = Config(flow=FlowConfig(enriched_fields=("temperatureF", "heatIndex")))
    with pytest.raises(CheckFailed, match="heatIndex: absent"):
        _judged(HEALTHY, wanted)
    with pytest.raises(CheckFailed, match="temperatureF: null"):
        _judged(
            {**HEALTHY, "temperatureF": {"NULL": True}},
            Config(flow=FlowConfig(enriched_fields=("temperatureF",))),
        )
    assert _judged(HEALTHY, Config(flow=FlowConfig(enriched_fields=("temperatureF",))))[
        "enriched_fields"
    ] == ["temperatureF"]


def test_a_copy_is_the_same_name_and_value_typed_or_plain() -> None:
    derived, why = derived_attributes(
        {"v": {"N": "21.50"}, "unit": {"S": "C"}, "n": {"M": {"a": {"N": "1"}}}, "changed": {"N": "22"}},
        {"v": 21.5, "n": {"a": 1}, "changed": 21},
        {"unit": {"S": "C"}},
        frozenset(),
    )
    assert derived == ["changed"]
    assert why == {
        "n": "copied from the payload",
        "unit": "copied from the raw item",
        "v": "copied from the payload",
    }


def test_enriched_fields_is_a_list_of_names_in_flow(tmp_path: Path) -> None:
    good = tmp_path / "verify.toml"
    good.write_text('[flow]\nenriched_fields = ["temperatureF", "alert"]\n')
    assert load_config(str(good)).flow.enriched_fields == ("temperatureF", "alert")
    bad = tmp_path / "bad.toml"
    bad.write_text('[flow]\nenriched_fields = "temperatureF"\n')
    with pytest.raises(ConfigError, match=r"line 2: `flow.enriched_fields` must be a list"):
        load_config(str(bad))
    empty = tmp_path / "empty.toml"
    empty.write_text('[flow]\nenriched_fields = [""]\n')
    with pytest.raises(ConfigError, match="not empty strings"):
        load_config(str(empty))
