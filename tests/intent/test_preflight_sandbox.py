"""`verify preflight` as a user runs it, against the sandbox: the installed command in a subprocess.

A template declaring PostgreSQL 15.3 fails in about a second, naming the 15.x versions offered; the
same template with 15.10 passes. One run aims AWS_ENDPOINT_URL at a running sandbox, the other lets
`--sandbox` start and stop one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.intent.helpers import YAML_TEMPLATE


def _platform(tmp_path: Path, version: str) -> Path:
    path = tmp_path / f"platform-{version}.yaml"
    path.write_text(YAML_TEMPLATE.read_text().replace('EngineVersion: "15.3"', f'EngineVersion: "{version}"'))
    return path


def _verify(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-m", "verify.cli.main", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.sandbox
def test_unoffered_version_fails_in_about_a_second_against_a_running_sandbox(tmp_path: Path) -> None:
    from verify.sandbox.manager import spawn_sandbox

    handle = spawn_sandbox(
        stacks=("platform",),
        faults=(),
        region="us-east-1",
        outputs_path=tmp_path / "sandbox" / "flat-outputs.json",
        state_dir=tmp_path / "state",
    )
    try:
        result = _verify(["preflight", "--template", str(_platform(tmp_path, "15.3"))], tmp_path, handle.env)
    finally:
        handle.stop()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PostgreSQL 15.3 is not offered in us-east-1; offered 15.x: 15.7, 15.8, 15.10" in result.stdout
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["verdict"] == "fail" and summary["profile"] == "preflight"
    # About a second of questions; generous for a shared 2-core machine under load.
    assert summary["duration_s"] < 10, summary["duration_s"]


@pytest.mark.sandbox
def test_the_same_template_with_15_10_passes_with_sandbox_flag(tmp_path: Path) -> None:
    result = _verify(
        ["preflight", "--sandbox", "--template", str(_platform(tmp_path, "15.10")), "--json"],
        tmp_path,
        {},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["verdict"] == "pass"
    assert {c["status"] for c in summary["checks"]} == {"passed"}
    assert "suites/preflight.py::test_rds_instance_class_orderable[Database]" in {
        c["id"] for c in summary["checks"]
    }
