"""The benchmark baselines are honest: the hand-written suite passes on a healthy pipeline and fails
on a broken one, calls.py turns a summary into exactly the read calls it holds, and floor.py replays
a real smoke run's calls without a failure.

bench/ is run from the checkout and is no package (a `tests/bench/__init__.py` would even shadow it
as `bench`), so its scripts are loaded by path and run as the benchmark runs them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from verify.sandbox.manager import SandboxHandle, start_sandbox

REPO = Path(__file__).resolve().parents[2]
HANDWRITTEN = REPO / "bench" / "baseline" / "test_handwritten.py"
FLOOR = REPO / "bench" / "floor.py"


def _load_calls() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_calls", REPO / "bench" / "calls.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


calls = _load_calls()


def _call(service: str, operation: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"service": service, "operation": operation, "params": params, "duration_ms": 3.0, **extra}


SUMMARY: dict[str, Any] = {
    "checks": [
        {
            "id": "suites/test_dynamodb.py::test_table_active[RawTable]",
            "evidence": {
                "aws_calls": [
                    _call("dynamodb", "DescribeTable", {"TableName": "raw"}, http_status=200),
                    # Answered by the run's snapshot: no call went to AWS, so none is replayed.
                    _call("dynamodb", "DescribeTable", {"TableName": "raw"}, http_status=200, cached=True),
                    _call("dynamodb", "Scan", {"TableName": "raw"}, http_status=200),
                    _call("dynamodb", "Query", {"TableName": "raw"}, http_status=200),
                    _call("lambda", "GetFunctionConcurrency", {"FunctionName": "f"}, http_status=404)
                    | {"error": "ResourceNotFoundException"},
                    _call("dynamodb", "DeleteItem", {"TableName": "raw"}, http_status=200),
                    _call("sqs", "GetQueueAttributes", {"QueueUrl": "q"}, error="EndpointConnectionError: x"),
                ]
            },
        },
        {
            "id": "suites/test_logs.py::test_polls[Group]",
            "evidence": {
                "aws_calls": [
                    _call("logs", "DescribeLogGroups", {"logGroupNamePrefix": "a"}, http_status=200),
                    _call("xray", "BatchGetTraces", {"TraceIds": ["t1"]}, http_status=200),
                    _call("logs", "DescribeLogGroups", {"logGroupNamePrefix": "b"}, http_status=200),
                    _call("xray", "BatchGetTraces", {"TraceIds": ["t2"]}, http_status=200),
                ],
                "aws_calls_not_shown": 3,
            },
        },
        {
            "id": "suites/test_smoke.py::test_api_rejects_unsigned_get[Api]",
            "evidence": {
                "http": [
                    {"request": "GET http://h/dev/query", "status": 403},
                    {"request": "POST http://h/dev/ingest", "status": 200},
                ]
            },
        },
        {
            "id": "suites/test_smoke.py::test_api_answers_signed_get[Api]",
            "evidence": {"http": [{"request": "GET http://h/dev/query?sensorId=x", "status": 200}]},
        },
    ]
}

STANDS_IN = "stands in for a call the report did not show (aws_calls_not_shown)"
EXPECTED = [
    {"service": "dynamodb", "operation": "DescribeTable", "params": {"TableName": "raw"}},
    {"service": "dynamodb", "operation": "Scan", "params": {"TableName": "raw", "Limit": 100}},
    {
        "service": "dynamodb",
        "operation": "Scan",
        "params": {"TableName": "raw", "Limit": 1},
        "note": "stands in for Query, whose key params the evidence does not record",
    },
    {
        "service": "lambda",
        "operation": "GetFunctionConcurrency",
        "params": {"FunctionName": "f"},
        "expect_error": "ResourceNotFoundException",
    },
    {"service": "logs", "operation": "DescribeLogGroups", "params": {"logGroupNamePrefix": "a"}},
    {"service": "xray", "operation": "BatchGetTraces", "params": {"TraceIds": ["t1"]}},
    {
        "service": "logs",
        "operation": "DescribeLogGroups",
        "params": {"logGroupNamePrefix": "b"},
        "note": STANDS_IN,
    },
    {"service": "xray", "operation": "BatchGetTraces", "params": {"TraceIds": ["t2"]}, "note": STANDS_IN},
    {
        "service": "logs",
        "operation": "DescribeLogGroups",
        "params": {"logGroupNamePrefix": "b"},
        "note": STANDS_IN,
    },
    {"service": "logs", "operation": "DescribeLogGroups", "params": {"logGroupNamePrefix": "b"}},
    {"service": "xray", "operation": "BatchGetTraces", "params": {"TraceIds": ["t2"]}},
    {"http": {"method": "GET", "url": "http://h/dev/query", "signed": False, "status": 403}},
    {"http": {"method": "GET", "url": "http://h/dev/query?sensorId=x", "signed": True, "status": 200}},
]


def test_calls_from_summary_lists_exactly_the_replayable_reads(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(SUMMARY))
    assert calls.calls_from_summary(path) == EXPECTED


def test_a_read_that_cannot_be_replayed_makes_the_calls_cli_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = {
        "checks": [
            {
                "id": "c",
                "evidence": {
                    "aws_calls": [_call("lambda", "GetAlias", {"FunctionName": "f"}, http_status=200)]
                },
            }
        ]
    }
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary))
    assert calls.main([str(path), "-o", str(tmp_path / "calls.json")]) == 1
    assert "GetAlias needs ['Name']" in capsys.readouterr().err
    assert json.loads((tmp_path / "calls.json").read_text()) == []


# ---------------------------------------------------------------- against the sandbox


def _sandbox(tmp: Path, faults: tuple[str, ...] = ()) -> SandboxHandle:
    return start_sandbox(
        faults=faults,
        suffix=f"b{uuid.uuid4().hex[:8]}",
        outputs_path=tmp / "outputs.json",
        state_dir=tmp / "state",
    )


def _env(handle: SandboxHandle, **extra: str) -> dict[str, str]:
    # Only the sandbox's AWS settings: a developer's profile or per-service endpoint must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTEST_ADDOPTS"}
    return {**env, **handle.env, **extra}


def _run_handwritten(handle: SandboxHandle, tmp: Path, deadline_s: float) -> dict[str, str]:
    """Each test of the hand-written suite -> "passed"/"failed"/"error", run as the benchmark runs it."""
    junit = tmp / "handwritten.xml"
    env = _env(
        handle, BENCH_OUTPUTS=str(handle.outputs_path), BENCH_POLL_S="0.2", BENCH_DEADLINE_S=str(deadline_s)
    )
    command = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-o", "addopts="]
    subprocess.run(
        [*command, "-q", f"--junit-xml={junit}", str(HANDWRITTEN)],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    outcomes: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = {child.tag for child in case} & {"failure", "error", "skipped"}
        outcomes[case.attrib["name"]] = {"failure": "failed", "error": "error", "skipped": "skipped"}.get(
            min(kinds, default=""), "passed"
        )
    return outcomes


@pytest.mark.sandbox
@pytest.mark.slow
def test_handwritten_suite_passes_on_a_healthy_pipeline(tmp_path: Path) -> None:
    with _sandbox(tmp_path) as handle:
        outcomes = _run_handwritten(handle, tmp_path, deadline_s=20)
    assert len(outcomes) == 11
    assert set(outcomes.values()) == {"passed"}, outcomes


@pytest.mark.sandbox
@pytest.mark.slow
def test_handwritten_suite_fails_the_processed_check_when_the_processor_is_down(tmp_path: Path) -> None:
    # The suite waits its deadline for each of the four things only the processor makes (processed
    # item, query, trace, processor log), one after another. 1 s is still ten times what a healthy
    # sandbox processor takes (~0.1 s), so a processor that was not really stopped would pass.
    with _sandbox(tmp_path, faults=("processor_down",)) as handle:
        outcomes = _run_handwritten(handle, tmp_path, deadline_s=1)
    assert outcomes["test_processed_item_present_and_enriched"] == "failed"
    # What does not depend on the processor still passes: the suite tells the hops apart.
    assert outcomes["test_raw_item_present"] == "passed"
    assert outcomes["test_ingest_returns_200"] == "passed"


@pytest.mark.sandbox
@pytest.mark.slow
def test_floor_replays_every_read_call_of_a_real_smoke_run(tmp_path: Path) -> None:
    with _sandbox(tmp_path) as handle:
        env = _env(handle)
        verify = [sys.executable, "-c", "import sys; from verify.cli.main import main; sys.exit(main())"]
        reports = tmp_path / "reports"
        smoke = subprocess.run(
            [*verify, "smoke", "--outputs", str(handle.outputs_path), "--report-dir", str(reports)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert smoke.returncode == 0, smoke.stdout[-2000:] + smoke.stderr[-2000:]
        summary = json.loads((reports / "summary.json").read_text())
        assert calls.main([str(reports / "summary.json"), "-o", str(tmp_path / "calls.json")]) == 0
        floor = subprocess.run(
            [sys.executable, str(FLOOR), str(tmp_path / "calls.json")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    evidence = [c.get("evidence") or {} for c in summary["checks"]]
    # Calls the run's snapshot answered went to no endpoint: they are neither made nor replayed.
    sent = [c for e in evidence for c in e.get("aws_calls", []) if not c.get("cached")]
    aws = len(sent) + sum(e.get("aws_calls_not_shown", 0) for e in evidence)
    # Discovery's calls (following the stack's wiring when the session starts) belong to no check: the
    # summary counts them apart, and the floor, which knows the names already, does not make them.
    discovery = summary["aws_calls"].get("discovery", 0)
    # So do the access check's (one identity call and one read per service, before the checks).
    access = summary["aws_calls"].get("access_check", 0)
    assert access >= 2
    assert aws + discovery + access == summary["aws_calls"]["total"]
    gets = sum(1 for e in evidence for h in e.get("http", []) if h["request"].startswith("GET "))
    # A smoke run only reads, so every call it made is replayed.
    assert aws > 20 and gets >= 1
    assert floor.returncode == 0, floor.stdout + floor.stderr
    assert floor.stdout.startswith(f"floor: {aws + gets} calls ({aws} AWS, {gets} HTTP)"), floor.stdout
