"""bench/run.py: its statistics, the detection-lag join, and the one command on a real sandbox."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


run = _load()


def test_stats_give_median_spread_and_p95() -> None:
    values = [0.1 * n for n in range(1, 21)]  # 0.1 .. 2.0
    got = run.stats(values)
    assert got["n"] == 20
    assert got["median"] == pytest.approx(1.05)
    assert (got["min"], got["max"]) == (pytest.approx(0.1), pytest.approx(2.0))
    assert got["p95"] == pytest.approx(1.905)
    assert got["iqr"] == pytest.approx(0.95)
    assert run.stats([]) == {}
    assert "p95" not in run.stats([1.0, 2.0])


def test_lag_is_seen_at_minus_visible_and_calls_after_the_first_count_as_waiting(tmp_path: Path) -> None:
    visibility = tmp_path / "visibility.jsonl"
    lines = [
        {"signal": "raw", "marker": "bench-x", "t": 100.0},
        {"signal": "processed", "marker": "bench-x", "t": 100.6},
        {"signal": "trace", "marker": "bench-x", "t": 102.0},
        {"signal": "log", "marker": "bench-x", "group": "/aws/lambda/sensor-processor-dev", "t": 101.0},
        {"signal": "raw", "marker": "someone-else", "t": 50.0},
    ]
    visibility.write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = {
        "checks": [
            {"id": "suites/test_flow.py::test_raw_item_written", "evidence": {"wait": {"seen_at": 100.05, "attempts": 1, "waited_s": 0.01}}},
            {"id": "suites/test_flow.py::test_processor_ran", "evidence": {"wait": {"seen_at": 100.8, "attempts": 4, "waited_s": 0.75}}},
            {"id": "suites/test_flow.py::test_trace_spans_hops", "evidence": {"wait": {"seen_at": 102.1, "attempts": 7, "waited_s": 2.0}}},
            {"id": "suites/test_flow.py::test_logs_carry_marker", "evidence": {"processor": {"wait": {"seen_at": 101.25, "attempts": 3, "waited_s": 1.0}}}},
        ]
    }  # fmt: skip
    lags: dict[str, list[float]] = {s: [] for s in run.SIGNALS}
    calls: dict[str, list[float]] = {s: [] for s in run.SIGNALS}
    rates: dict[str, list[float]] = {s: [] for s in run.SIGNALS}
    run.Bench._lags(summary, run._visible(visibility, "bench-x"), lags, calls, rates)
    assert lags["raw"] == [pytest.approx(0.05)]
    assert lags["processed"] == [pytest.approx(0.2)]
    assert lags["trace"] == [pytest.approx(0.1)]
    assert lags["log:processor"] == [pytest.approx(0.25)]
    assert lags["query"] == [] and lags["log:ingest"] == []  # no visibility line, no sample
    assert rates["processed"] == [pytest.approx(3 / 0.75)]
    assert rates["raw"] == []  # 10 ms is no wait
    assert calls["trace"] == [7.0]


@pytest.mark.sandbox
@pytest.mark.slow
def test_the_one_command_runs_a_benchmark_end_to_end(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--only",
            "smoke",
            "--reps",
            "1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["smoke"]["verify_smoke"]["wall_s"]["n"] == 1
    assert results["smoke"]["floor"]["wall_s"]["median"] > 0
    assert "Smoke vs the floor" in (tmp_path / "latest.md").read_text()
