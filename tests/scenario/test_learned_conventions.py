"""A flow that learns the stack's conventions (issue 15, build item 3), on a stand-in public IoT stack
(tests/helpers/standin_iot.py): `device_id` + readings nested under `sensor_data`, an epoch-ms raw
sort key, a processed table keyed by `device_id` + `event_date`, and a query route that requires
`device_id`, `event_date` and `table`. Zero-config verify must be right there, healthy and broken."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import Credentials

from tests.helpers.moto import MOTO_REGION
from tests.helpers.standin_iot import REQUIRED_INGEST, IotStandIn, standin_iot
from verify.aws.client import Aws
from verify.aws.http import SignedHttp
from verify.cli.main import main
from verify.config.settings import Config, FlowConfig, load_config
from verify.errors import CheckFailed
from verify.scenario.conventions import MAX_TRIES
from verify.scenario.flow import Flow
from verify.stack.inventory import build_inventory
from verify.stack.outputs import parse_outputs


def _flow(stack: IotStandIn, run_id: str = "vfy-test-learn", **flow: Any) -> Flow:
    outputs = parse_outputs(stack.outputs, "outputs.json")
    return Flow(
        aws=Aws(MOTO_REGION),
        http=SignedHttp(Credentials("testing", "testing"), MOTO_REGION),
        inventory=build_inventory(outputs),
        config=Config(flow=FlowConfig(**flow)),
        run_id=run_id,
        timeout=3,
    )


@pytest.fixture
def stack(aws_mock: None) -> Iterator[IotStandIn]:
    with standin_iot() as running:
        yield running


def test_zero_config_learns_the_public_shape_and_follows_the_reading(stack: IotStandIn) -> None:
    flow = _flow(stack)
    ingest = flow.ingest()
    convention = ingest["convention"]
    assert convention["id_field"] == "device_id"
    assert convention["readings"] == "nested under `sensor_data`"
    assert convention["timestamp"] == "timestamp (epoch milliseconds)"
    assert "the API's 4xx answers" in convention["learned_from"]
    assert any("raw table key schema" in source for source in convention["learned_from"])
    # The first (flat) try was refused naming the fields; the second, nested, was accepted.
    assert [t["status"] for t in ingest["tries"]] == [400, 200]
    assert REQUIRED_INGEST in ingest["tries"][0]["answer"]
    assert flow.payload["device_id"] == "vfy-test-learn"
    assert flow.payload["sensor_data"] == {"temperature": 21.5}
    assert isinstance(flow.payload["timestamp"], int) and flow.payload["timestamp"] > 10**12

    flow.raw_item()
    assert flow.raw["timestamp"]["N"] == str(flow.payload["timestamp"])
    flow.processed_item()
    assert flow.processed["event_date"]["S"] == flow._reading_time.strftime("%Y-%m-%d")
    flow.enriched()
    query = flow.query()
    assert query["query_route"].startswith("GET /query")
    assert query["required_query"] == ["device_id", "event_date", "table"]
    assert query["response"]["status"] == 200
    flow.cleanup()
    assert stack.items("iot-raw-data") == [] and stack.items("iot-processed-data") == []


def test_every_try_carries_the_run_id_and_refused_tries_store_nothing(stack: IotStandIn) -> None:
    flow = _flow(stack, run_id="vfy-test-tagged")
    flow.ingest()
    posted = [r for r in stack.received if r["method"] == "POST"]
    assert len(posted) == 2
    assert all("vfy-test-tagged" in r["body"] for r in posted)
    assert len(stack.items("iot-raw-data")) == 1  # the accepted try only


def test_the_malformed_check_passes_on_the_healthy_stand_in(stack: IotStandIn) -> None:
    flow = _flow(stack)
    flow.ingest()
    evidence = flow.malformed_not_stored()
    assert evidence["response"]["status"] == 400
    assert evidence["malformed_for"]["readings"] == "nested under `sensor_data`"
    assert "sensor_data" not in evidence["sent"]  # malformed for the learned shape: the readings missing
    assert evidence["stored_items"] == 0


def test_the_malformed_check_learns_the_shape_without_the_ingest_step(aws_mock: None) -> None:
    # Run alone (`-k malformed`), the check reads the request model for the shape.
    with standin_iot(request_model=True) as running:
        evidence = _flow(running).malformed_not_stored()
    assert evidence["response"]["status"] == 400
    assert "request model `Reading`" in evidence["malformed_for"]["learned_from"]


def test_the_malformed_check_fails_on_a_stand_in_that_accepts_garbage(aws_mock: None) -> None:
    with standin_iot(accepts_garbage=True) as running:
        flow = _flow(running)
        flow.ingest()
        with pytest.raises(CheckFailed, match="malformed payload: expected 4xx and nothing stored"):
            flow.malformed_not_stored()


def test_a_request_model_teaches_the_shape_before_any_try(aws_mock: None) -> None:
    with standin_iot(request_model=True) as running:
        flow = _flow(running)
        ingest = flow.ingest()
    assert "tries" not in ingest  # the first try was already right
    assert "request model `Reading`" in ingest["convention"]["learned_from"]
    assert [r["method"] for r in running.received] == ["POST"]


def test_an_explicit_flow_payload_overrides_learning(stack: IotStandIn) -> None:
    template = '{"device_id": "{marker}", "sensor_data": {"temperature": 19.0}, "timestamp": {now_epoch_ms}}'
    flow = _flow(stack, payload=template)
    ingest = flow.ingest()
    assert ingest["convention"] == {"learned_from": ["[flow] payload (explicit, nothing learned)"]}
    assert flow.payload["sensor_data"] == {"temperature": 19.0}
    assert len([r for r in stack.received if r["method"] == "POST"]) == 1


def test_an_explicit_wrong_payload_is_not_second_guessed(stack: IotStandIn) -> None:
    flow = _flow(stack, payload='{"sensorId": "{marker}", "temperature": 21.5}')
    with pytest.raises(CheckFailed, match="got HTTP 400"):
        flow.ingest()
    assert len([r for r in stack.received if r["method"] == "POST"]) == 1  # no learning tries


def test_the_query_by_path_parameter(aws_mock: None) -> None:
    with standin_iot(query_style="path") as running:
        flow = _flow(running)
        flow.ingest()
        flow.processed_item()
        query = flow.query()
        flow.cleanup()
    assert query["query_route"].startswith("GET /readings/{device_id}")
    assert any(r["route"] == "/readings/vfy-test-learn" for r in running.received)


def test_an_explicit_template_makes_the_malformed_body_malformed_for_it(stack: IotStandIn) -> None:
    template = '{"device_id": "{marker}", "sensor_data": {"temperature": 19.0}, "timestamp": {now_epoch_ms}}'
    evidence = _flow(stack, payload=template).malformed_not_stored()
    assert evidence["malformed_for"]["learned_from"] == ["[flow] payload"]
    assert "sensor_data" not in evidence["sent"]
    assert evidence["response"]["status"] == 400


def test_init_learn_flow_writes_the_learned_shape_and_a_run_uses_it(
    aws_mock: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with standin_iot(request_model=True) as running:
        (tmp_path / "outputs.json").write_text(json.dumps(running.outputs), encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        assert main(["init", "--outputs", "outputs.json", "--region", MOTO_REGION, "--learn-flow"]) == 0
        written = (tmp_path / "verify.toml").read_text(encoding="utf-8")
        line = next(x for x in written.splitlines() if x.startswith("payload = "))
        assert line == (
            'payload = \'{"device_id": "{marker}", "timestamp": {now_epoch_ms}, '
            '"sensor_data": {"temperature": 21.5}}\''
        )
        config = load_config(None, cwd=tmp_path)
        flow = _flow(running, payload=config.flow.payload or "")
        assert flow.ingest()["request"]["status"] == 200
    assert [r["method"] for r in running.received] == ["POST"]  # init itself sent nothing


def test_init_without_learn_flow_asks_the_stack_nothing(
    aws_mock: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with standin_iot() as running:
        (tmp_path / "outputs.json").write_text(json.dumps(running.outputs), encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        assert main(["init", "--outputs", "outputs.json"]) == 0
    written = (tmp_path / "verify.toml").read_text(encoding="utf-8")
    assert '# payload = \'{"sensorId": "{marker}"' in written


def test_a_processed_table_keyed_by_id_and_time(aws_mock: None) -> None:
    with standin_iot(processed_sort="timestamp") as running:
        flow = _flow(running)
        flow.ingest()
        evidence = flow.processed_item()
        flow.cleanup()
    assert evidence["item"]["timestamp"]["N"] == str(flow.payload["timestamp"])
    assert running.items("iot-processed-data") == []


def test_a_stopped_processor_fails_the_processed_step_on_the_stand_in(aws_mock: None) -> None:
    with standin_iot(processor_stopped=True) as running:
        flow = _flow(running)
        flow.timeout = 0.5
        flow.ingest()
        flow.raw_item()
        with pytest.raises(CheckFailed, match="processed reading vfy-test-learn in table iot-processed-data"):
            flow.processed_item()


def test_a_broken_query_route_fails_the_query_step_on_the_stand_in(aws_mock: None) -> None:
    with standin_iot(query_broken=True) as running:
        flow = _flow(running)
        flow.ingest()
        flow.processed_item()
        with pytest.raises(
            CheckFailed, match=r"GET .*/query\?device_id=vfy-test-learn&event_date=.*table=processed"
        ):
            flow.query()


def test_learning_is_bounded_when_every_shape_is_refused(aws_mock: None) -> None:
    # A stack that refuses every shape without naming a field: at most MAX_TRIES tries, then the
    # ingest check fails, saying so, with each try in its evidence.
    with standin_iot(refuses_everything=True) as running:
        flow = _flow(running)
        with pytest.raises(CheckFailed, match=r"after 6 shapes") as caught:
            flow.ingest()
    assert len([r for r in running.received if r["method"] == "POST"]) == MAX_TRIES
    assert all("vfy-test-learn" in r["body"] for r in running.received)
    assert len(caught.value.evidence["tries"]) == MAX_TRIES
    assert running.items("iot-raw-data") == []
