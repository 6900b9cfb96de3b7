"""The latency model: off, everything is immediate; `aws`, telemetry and pickup come late but come."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from tests.helpers.sandbox import Stack, reading, start_stack, wait_until
from verify.sandbox.emulator.latency import Delays

pytestmark = pytest.mark.sandbox


def test_without_a_model_everything_runs_at_once() -> None:
    delays = Delays(None)
    ran: list[str] = []
    delays.run_later("trace", lambda: ran.append("trace"))
    assert ran == ["trace"]
    assert delays.delay("pickup") == 0.0


def test_aws_model_delays_fall_in_the_documented_ranges() -> None:
    delays = Delays("aws", rng=random.Random(7))
    for kind, (low, high) in {"pickup": (0.3, 1.0), "trace": (1.0, 3.0), "log": (0.5, 2.0)}.items():
        samples = [delays.delay(kind) for _ in range(200)]
        assert low <= min(samples) and max(samples) <= high, kind


class _Shortest(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


def test_late_writes_happen_later_and_stop_cancels_the_rest() -> None:
    delays = Delays("aws", rng=_Shortest())
    done = threading.Event()
    started = time.monotonic()
    delays.run_later("log", done.set)
    assert not done.is_set()
    assert done.wait(2.0)
    assert time.monotonic() - started >= 0.5
    cancelled = threading.Event()
    delays.run_later("log", cancelled.set)
    delays.stop()
    assert not cancelled.wait(0.8)
    delays.run_later("log", cancelled.set)  # after stop: dropped, never run
    assert not cancelled.wait(0.6)


def test_aws_latency_makes_traces_and_logs_arrive_late(tmp_path: Path) -> None:
    with start_stack(tmp_path, latency="aws") as handle:
        stack = Stack(handle)
        payload = reading()
        stack.client("logs"), stack.client("xray")  # created up front: the window below is short
        sent = time.monotonic()
        answer = stack.ingest(payload)
        # Log lines come at least 0.5 s late, segments at least 1 s late.
        early_logs = stack.log_messages("IngestLogGroupName", payload["sensorId"])
        trace_id = answer.headers["X-Amzn-Trace-Id"].removeprefix("Root=")
        early_segments = stack.trace_segments(trace_id)
        elapsed = time.monotonic() - sent
        if elapsed >= 0.5:
            pytest.skip(f"one ingest took {elapsed:.2f} s on this machine: too slow to see a 0.5 s delay")
        assert answer.status_code == 200
        assert early_logs == [] and early_segments == []
        assert wait_until(lambda: stack.log_messages("IngestLogGroupName", payload["sensorId"]), timeout=4)
        ingest = stack.outputs["IngestFunctionName"]
        assert wait_until(lambda: ingest in {s["name"] for s in stack.trace_segments(trace_id)}, timeout=5)
        processed = wait_until(
            lambda: stack.item("ProcessedDataTableName", payload["sensorId"], payload["timestamp"]), timeout=5
        )
        assert processed is not None
