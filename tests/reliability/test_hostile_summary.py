"""A hostile summary.json given to `verify gate` and `verify report merge` (issue 16, finding 14):
deep nesting, a malformed `shard`, wrong types anywhere, NaN, a huge file. Each is one sentence and
exit 2 -- or, when it still is a summary, a verdict -- never a traceback. In-process (`verify.cli.main.main`)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import verify.report.reading as reading
from verify.cli.main import main
from verify.model import Category, CheckResult, Gate, LeftBehind, RunSummary, Severity, Status, Verdict


def _valid() -> dict[str, Any]:
    checks = [
        CheckResult(
            id=f"suites/test_flow.py::test_step[{n}]",
            title="step",
            service="flow",
            resource="ApiEndpoint",
            category=Category.FUNCTIONAL,
            severity=Severity.BLOCKING,
            status=Status.PASSED if n else Status.FAILED,
            message="expected 2xx, got HTTP 500",
            evidence={"at_s": 1.5, "request": {"status": 500, "headers": {"a": "b"}}},
        )
        for n in range(2)
    ]
    summary = RunSummary(
        verdict=Verdict.FAIL,
        profile="full",
        run_id="vfy-20260101T000000-abcdef12",
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=3.2,
        source="flat.json",
        region="us-east-1",
        checks=checks,
        notes=["a note"],
        gate=Gate(verdict=Verdict.FAIL, reasons=["because"], policy="built-in default"),
        environment={"verify": "1.0", "python": "3.11"},
        shard="1/2",
        aws_calls={"dynamodb:Query": 3},
        left_behind=[LeftBehind("DynamoDB table t", "sensorId=vfy-x", "in flight")],
    )
    return summary.to_dict()


def _run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    for number, command in enumerate(("gate", "merge")):
        run_dir = tmp_path / f"run{number}"
        run_dir.mkdir(exist_ok=True)
        (run_dir / "summary.json").write_text(text, encoding="utf-8")
        if command == "gate":
            code = main(["gate", "--summary", str(run_dir / "summary.json")])
        else:
            code = main(["report", "merge", str(run_dir), "--into", str(tmp_path / "merged")])
        err = capsys.readouterr().err
        assert code in (0, 1, 2, 3), (command, code, err)
        if code == 2:
            assert err.startswith("verify: ") and err.count("\n") == 1 and "Traceback" not in err, err


HOSTILE_TEXTS = {
    "deep list": "[" * 100_000 + "]" * 100_000,
    "deep evidence": json.dumps(_valid()).replace(
        '"evidence": {', '"evidence": {"x": ' + "[" * 5000 + "]" * 5000 + ", ", 1
    ),
    "NaN duration": json.dumps(_valid()).replace('"duration_s": 3.2', '"duration_s": NaN', 1),
    "Infinity at_s": json.dumps(_valid()).replace('"at_s": 1.5', '"at_s": Infinity', 1),
    "huge at_s": json.dumps(_valid()).replace('"at_s": 1.5', '"at_s": ' + "9" * 400, 1),
    "not utf-8": "\udcff",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_TEXTS))
def test_hostile_texts_are_one_sentence(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = HOSTILE_TEXTS[name]
    if name == "not utf-8":
        (tmp_path / "run0").mkdir()
        (tmp_path / "run0" / "summary.json").write_bytes(b"\xff\xfe{")
        assert main(["gate", "--summary", str(tmp_path / "run0" / "summary.json")]) == 2
        return
    _run(tmp_path, text, capsys)


@pytest.mark.parametrize(
    "shard", ["1/0", "x", "3/2", "0/2", "\u00b2/3", "1/" + "9" * 30, "/", 12, None, ["1", "2"]]
)
def test_a_malformed_shard_is_one_sentence(
    shard: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _valid()
    data["shard"] = shard
    _run(tmp_path, json.dumps(data), capsys)


def test_a_huge_summary_is_refused_by_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "MAX_SUMMARY_BYTES", 1000)
    (tmp_path / "summary.json").write_text(json.dumps(_valid()), encoding="utf-8")
    assert main(["gate", "--summary", str(tmp_path / "summary.json")]) == 2
    assert "larger than" in capsys.readouterr().err


def test_the_valid_summary_is_judged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "summary.json").write_text(json.dumps(_valid()), encoding="utf-8")
    assert main(["gate", "--summary", str(tmp_path / "summary.json")]) == 1


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


PATHS = _paths(_valid())[1:]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["1/0", "0/0", "2/1", "a/b", "passed", "pass", "blocking", "", "\x1b[31m"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mutations=st.lists(st.tuples(st.sampled_from(PATHS), JSON_VALUES, st.booleans()), min_size=1, max_size=4)
)
def test_any_mutated_summary_is_a_verdict_or_one_sentence(
    mutations: list[tuple[tuple[Any, ...], Any, bool]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _valid()
    for path, value, delete in mutations:
        parent: Any = data
        try:
            for step in path[:-1]:
                parent = parent[step]
            if delete and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = copy.deepcopy(value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation changed the shape above this path
    _run(tmp_path, json.dumps(data), capsys)
