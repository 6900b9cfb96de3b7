"""The fault matrix: the harness passes on the healthy sandbox and, for every sandbox fault, fails
the named checks with a message that says what was expected and what was seen -- and nothing else
than those checks and the fault's declared knock-ons.

Each case runs the real console script (`verify run --sandbox --fault X`, or `verify smoke` for a
fault proven in the smoke profile), as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from verify.sandbox.faults.catalogue import FAULTS
from verify.sandbox.faults.matrix import FAULT_BREAKS, FAULT_PROFILE, KNOCK_ONS

pytestmark = pytest.mark.sandbox

# Long enough for slow_processor (about 3 s per message), short enough that a broken hop does not
# cost a minute: the healthy sandbox delivers every signal within a fraction of a second.
TIMEOUT_S = {"slow_processor": "15"}
DEFAULT_TIMEOUT_S = "4"
# Where the generic "expected ... got" could also match another failure of the same check: the
# words only this fault's failure carries.
MESSAGE_FRAGMENT = {"stale_processed_data": " s old"}


def run_verify(tmp_path: Path, *args: str, command: str = "run") -> tuple[int, dict[str, Any], str]:
    report_dir = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "verify.cli.main", command, "--sandbox", f"--report-dir={report_dir}", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    summary_path = report_dir / "summary.json"
    assert summary_path.is_file(), f"no summary.json; stderr: {proc.stderr[-2000:]}"
    return proc.returncode, json.loads(summary_path.read_text()), proc.stdout + proc.stderr


def _base(check_id: str) -> str:
    return check_id.split("[", 1)[0]


def test_every_fault_is_in_the_matrix() -> None:
    assert set(FAULTS) <= set(FAULT_BREAKS), f"faults without expectations: {set(FAULTS) - set(FAULT_BREAKS)}"
    assert set(FAULT_BREAKS) <= set(FAULTS), (
        f"matrix rows for unknown faults: {set(FAULT_BREAKS) - set(FAULTS)}"
    )


def test_healthy_pipeline_passes(tmp_path: Path) -> None:
    code, summary, output = run_verify(tmp_path, "--sandbox-stack=pipeline", f"--timeout={DEFAULT_TIMEOUT_S}")
    bad = [
        (c["id"], c["status"], c["message"]) for c in summary["checks"] if c["status"] in ("failed", "error")
    ]
    assert bad == [], bad
    assert code == 0, output[-2000:]
    assert summary["verdict"] == "pass"
    flow = {_base(c["id"]) for c in summary["checks"] if c["service"] == "flow" and c["status"] == "passed"}
    assert len(flow) >= 11, flow
    passed = {_base(c["id"]) for c in summary["checks"] if c["status"] == "passed"}
    assert _proven_in_full_run("pipeline") <= passed, _proven_in_full_run("pipeline") - passed
    assert "Traceback" not in output


def _proven_in_full_run(stack: str) -> set[str]:
    """The checks the matrix breaks on `stack` in the full profile: each must pass when healthy."""
    return {
        check_id
        for fault, checks in FAULT_BREAKS.items()
        if FAULTS[fault].stack == stack and fault not in FAULT_PROFILE
        for check_id in checks
    }


def test_healthy_platform_passes(tmp_path: Path) -> None:
    code, summary, output = run_verify(tmp_path, "--sandbox-stack=platform", f"--timeout={DEFAULT_TIMEOUT_S}")
    bad = [
        (c["id"], c["status"], c["message"]) for c in summary["checks"] if c["status"] in ("failed", "error")
    ]
    assert bad == [], bad
    assert code == 0 and summary["verdict"] == "pass", output[-2000:]
    passed = {_base(c["id"]) for c in summary["checks"] if c["status"] == "passed"}
    # Every platform check the matrix relies on ran and passed here, not merely "did not fail".
    platform_checks = _proven_in_full_run("platform")
    assert platform_checks <= passed, platform_checks - passed
    assert "Traceback" not in output


@pytest.mark.parametrize("fault", sorted(FAULT_BREAKS))
def test_fault_breaks_its_checks(fault: str, tmp_path: Path) -> None:
    stack = FAULTS[fault].stack
    timeout = TIMEOUT_S.get(fault, DEFAULT_TIMEOUT_S)
    command = "smoke" if FAULT_PROFILE.get(fault) == "smoke" else "run"
    code, summary, output = run_verify(
        tmp_path, f"--sandbox-stack={stack}", f"--fault={fault}", f"--timeout={timeout}", command=command
    )
    assert "Traceback" not in output, output[-3000:]
    statuses: dict[str, list[dict[str, Any]]] = {}
    for check in summary["checks"]:
        statuses.setdefault(_base(check["id"]), []).append(check)
    expected = FAULT_BREAKS[fault]
    if not expected:
        bad = [(c["id"], c["message"]) for c in summary["checks"] if c["status"] in ("failed", "error")]
        assert bad == [], f"{fault} is benign but the run reported {bad}"
        assert code == 0 and summary["verdict"] == "pass"
        return
    for check_id in expected:
        failed = [c for c in statuses.get(check_id, []) if c["status"] == "failed"]
        seen = [(c["id"], c["status"], c["message"][:120]) for c in statuses.get(check_id, [])]
        assert failed, f"fault {fault}: expected {check_id} to fail, got {seen}"
        for check in failed:
            message = check["message"].lower()
            assert "expected" in message and ("got" in message or "not seen" in message), check["message"]
            assert MESSAGE_FRAGMENT.get(fault, "") in check["message"], check["message"]
    # Nothing beyond the claim and its declared knock-ons: a fault that breaks more hides what it proves.
    allowed = set(expected) | set(KNOCK_ONS.get(fault, ()))
    beyond = [
        (c["id"], c["status"], c["message"][:160])
        for c in summary["checks"]
        if c["status"] in ("failed", "error") and _base(c["id"]) not in allowed
    ]
    assert beyond == [], f"fault {fault} breaks more than the matrix says: {beyond}"
    breaks_blocking = any(
        c["status"] == "failed" and c["severity"] == "blocking"
        for check_id in expected
        for c in statuses[check_id]
    )
    if breaks_blocking:
        assert summary["verdict"] == "fail" and code == 1, (summary["verdict"], code)
    else:
        # A posture fault is reported (advisory by default) and may not, by itself, fail the run.
        blocking = [
            c["id"] for c in summary["checks"] if c["status"] == "failed" and c["severity"] == "blocking"
        ]
        assert blocking == [] and code == 0, blocking
