"""`--visibility-log`: one JSON line per signal of a reading, written when the signal became readable
through the AWS API, in causal order; nothing for rejected readings; no file at all when off."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.sandbox import Stack, reading, start_stack, wait_until
from verify.errors import UsageError
from verify.sandbox.emulator.visibility import VisibilityLog
from verify.sandbox.manager import SandboxHandle, sandbox_status

pytestmark = pytest.mark.sandbox

# Every signal one valid reading produces once the processor has handled it: two log lines (ingest's
# and processor's groups), the rest once each.
COMPLETE = {"raw": 1, "processed": 1, "query": 1, "trace": 1, "log": 2}


def lines_for(path: Path, marker: str) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    loaded = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in loaded if line["marker"] == marker]


def complete(path: Path, marker: str) -> list[dict[str, Any]]:
    found = lines_for(path, marker)
    counts = {signal: sum(1 for line in found if line["signal"] == signal) for signal in COMPLETE}
    return found if counts == COMPLETE else []


def by_signal(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {line["signal"]: line for line in found if line["signal"] != "log"}


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Path]]:
    root = tmp_path_factory.mktemp("visibility")
    path = root / "logs" / "visibility.jsonl"
    with start_stack(root, visibility_log=path) as handle:
        yield Stack(handle), path


def test_a_reading_logs_every_signal_in_causal_order(logged: tuple[Stack, Path]) -> None:
    stack, path = logged
    payload = reading()
    answer = stack.ingest(payload)
    assert answer.status_code == 200, answer.text
    found = wait_until(lambda: complete(path, payload["sensorId"]), timeout=10)
    assert found, lines_for(path, payload["sensorId"])
    signals = by_signal(found)
    assert signals["raw"]["t"] <= signals["processed"]["t"] == signals["query"]["t"]
    assert signals["trace"]["t"] >= signals["processed"]["t"]  # the processor's segment comes after
    trace_id = answer.headers["X-Amzn-Trace-Id"].removeprefix("Root=")
    assert signals["trace"]["trace_id"] == trace_id
    groups = sorted(line["group"] for line in found if line["signal"] == "log")
    assert groups == sorted([stack.outputs["IngestLogGroupName"], stack.outputs["ProcessorLogGroupName"]])
    # Each line says when the signal could be read; by now each can.
    assert stack.item("RawSensorTableName", payload["sensorId"], payload["timestamp"])
    assert stack.item("ProcessedDataTableName", payload["sensorId"], payload["timestamp"])
    assert stack.query(payload["sensorId"]).json()["items"]
    names = {segment["name"] for segment in stack.trace_segments(trace_id)}
    assert {stack.outputs["IngestFunctionName"], stack.outputs["ProcessorFunctionName"]} <= names


def test_a_rejected_reading_logs_nothing(logged: tuple[Stack, Path]) -> None:
    stack, path = logged
    marker = reading()["sensorId"]
    assert stack.ingest({"sensorId": marker, "temperature": "hot"}).status_code == 400
    # A valid reading sent after it is fully logged: the rejected one had every chance to appear.
    later = reading()
    assert stack.ingest(later).status_code == 200
    assert wait_until(lambda: complete(path, later["sensorId"]), timeout=10)
    assert lines_for(path, marker) == []


def test_the_state_names_the_log(logged: tuple[Stack, Path]) -> None:
    stack, path = logged
    assert sandbox_status(stack.handle.state_dir)["visibility_log"] == str(path)


def test_with_aws_latency_the_trace_shows_up_seconds_after_the_raw_item(tmp_path: Path) -> None:
    path = tmp_path / "visibility.jsonl"
    with start_stack(tmp_path, latency="aws", visibility_log=path) as handle:
        stack = Stack(handle)
        payload = reading()
        answer = stack.ingest(payload)
        assert answer.status_code == 200
        trace_id = answer.headers["X-Amzn-Trace-Id"].removeprefix("Root=")
        trace = wait_until(
            lambda: [x for x in lines_for(path, payload["sensorId"]) if x["signal"] == "trace"],
            timeout=10,
            interval=0.02,
        )
        assert trace, lines_for(path, payload["sensorId"])
        # Read at once: the line may not come before both segments can be read.
        names = {segment["name"] for segment in stack.trace_segments(trace_id)}
        assert {stack.outputs["IngestFunctionName"], stack.outputs["ProcessorFunctionName"]} <= names
        found = wait_until(lambda: complete(path, payload["sensorId"]), timeout=10)
        assert found
    signals = by_signal(found)
    # The model's trace delay is 1-3 s after the request, and the pickup 0.3-1 s.
    assert signals["trace"]["t"] - signals["raw"]["t"] >= 1.0, signals
    assert signals["processed"]["t"] - signals["raw"]["t"] >= 0.3, signals
    assert all(line["t"] - signals["raw"]["t"] >= 0.5 for line in found if line["signal"] == "log"), found


def test_off_by_default_writes_no_file(tmp_path: Path) -> None:
    with start_stack(tmp_path) as handle:
        stack = Stack(handle)
        payload = reading()
        assert stack.ingest(payload).status_code == 200
        assert wait_until(
            lambda: stack.item("ProcessedDataTableName", payload["sensorId"], payload["timestamp"])
        )
        assert sandbox_status(handle.state_dir)["visibility_log"] is None
        written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    # The stack's outputs, its declared template beside them (as CDKTF writes it), and the state.
    assert written == {
        "outputs.json",
        "cdktf.out/stacks/pipeline/cdk.tf.json",
        "state/env",
        "state/state.json",
    }


def test_an_unwritable_log_is_refused_in_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="--visibility-log") as caught:
        start_stack(tmp_path, visibility_log=blocker / "visibility.jsonl")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "state").exists()


def test_concurrent_appends_stay_whole_lines(tmp_path: Path) -> None:
    log = VisibilityLog(tmp_path / "v.jsonl")

    def write(n: int) -> None:
        for i in range(200):
            log.record("raw", f"m{n}-{i}", padding="x" * 500)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    log.record("raw", "after-close")  # dropped, not an error
    lines = (tmp_path / "v.jsonl").read_text().splitlines()
    assert len(lines) == 1600
    assert len({json.loads(line)["marker"] for line in lines}) == 1600


def test_the_trace_line_waits_for_both_segments(tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    log = VisibilityLog(path)
    for trace_id, first, second in (("1-abc", "ingest", "processor"), ("1-def", "processor", "ingest")):
        log.on_trace(trace_id, f"m-{trace_id}", first)()
        assert trace_id not in path.read_text()
        log.on_trace(trace_id, f"m-{trace_id}", second)()
        assert trace_id in path.read_text()
    log.close()
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [(x["signal"], x["marker"], x["trace_id"]) for x in lines] == [
        ("trace", "m-1-abc", "1-abc"),
        ("trace", "m-1-def", "1-def"),
    ]


def test_the_command_line_passes_the_log_to_a_detached_sandbox(tmp_path: Path) -> None:
    from verify.sandbox.commands import sandbox_main
    from verify.sandbox.state import read_state

    path = tmp_path / "visibility.jsonl"
    common = ["--state-dir", str(tmp_path / "state")]
    outputs = ["--outputs", str(tmp_path / "out.json")]
    assert sandbox_main(["up", "--detach", "--visibility-log", str(path), *outputs, *common]) == 0
    try:
        state = read_state(tmp_path / "state")
        assert state is not None and state["visibility_log"] == str(path)
        handle = SandboxHandle(
            endpoint_url=state["endpoint_url"],
            region=state["region"],
            outputs_path=tmp_path / "out.json",
            env=state["env"],
            api_url=state["api_url"],
            services={},
            notes=[],
        )
        payload = reading()
        assert Stack(handle).ingest(payload).status_code == 200
        assert wait_until(lambda: complete(path, payload["sensorId"]), timeout=10)
    finally:
        assert sandbox_main(["down", *common]) == 0
    assert path.exists()  # the user's file outlives the sandbox, like a pre-existing outputs file
