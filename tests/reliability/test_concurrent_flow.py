"""Checks run ahead: on a sandbox with AWS's delays, the flow's waits overlap instead of adding up,
every check still gets its own verdict and evidence, and the run removes what it wrote."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import clean_env, verify_command
from tests.helpers.sandbox import start_stack


def _run(tmp_path: Path, env: dict[str, str], outputs: Path) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        verify_command("run", f"--outputs={outputs}", "--report-dir=reports"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text(encoding="utf-8"))
    return done.returncode, summary


@pytest.mark.sandbox
def test_flow_waits_overlap_and_every_check_keeps_its_evidence(tmp_path: Path) -> None:
    with start_stack(tmp_path / "sandbox", latency="aws") as handle:
        code, summary = _run(tmp_path, clean_env(handle.env), handle.outputs_path)
    checks = {c["id"].split("::", 1)[1]: c for c in summary["checks"]}
    assert code == 0, [c["message"] for c in summary["checks"] if c["status"] in ("failed", "error")]
    processed = checks["test_processor_ran"]["evidence"]["wait"]
    trace = checks["test_trace_spans_hops"]["evidence"]["wait"]
    # The trace wait started before the processed reading was seen: the two waits ran side by side.
    # (In file order the trace wait would start only after the processed and query steps ended.)
    trace_started = trace["seen_at"] - trace["waited_s"]
    assert trace_started < processed["seen_at"], (processed, trace)
    # The processor's pickup (0.3-1 s with AWS's delays) was waited for, not read too early...
    assert processed["attempts"] >= 2 and processed["waited_s"] >= 0.2
    # ...and the steps the wait gated were judged after it, not before.
    assert checks["test_processed_item_enriched"]["evidence"]["added_attributes"]
    # A check that ran in a pool thread carries its own AWS calls, not a neighbour's.
    for check_id, check in checks.items():
        for call in check.get("evidence", {}).get("aws_calls", []):
            if check_id.startswith("test_redrive_policy"):
                assert call["service"] == "sqs", (check_id, call)
            if check_id.startswith("test_table_active"):
                assert call["service"] == "dynamodb", (check_id, call)
    assert summary["verdict"] == "pass"
    # The run says what it cost the stack's API budget, counted where the calls were made.
    calls = summary["aws_calls"]
    assert calls["total"] == sum(calls["by_operation"].values())
    assert calls["by_operation"]["xray:BatchGetTraces"] == trace["attempts"]
