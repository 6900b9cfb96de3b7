"""`verify smoke --suite` (pytest's path: the shipped checks run ahead in threads while pytest's main
thread reports them) against a healthy sandbox, with Python switching threads every microsecond
instead of every 5 ms: every check passes or is skipped, none errs.

Why: under load, a healthy stack's check became "could not verify: RuntimeError: dictionary changed
size during iteration" (pytest's log capture iterating logging's loggers while a check's thread added
one). A switch interval this small made it happen in every run; this keeps the next such race from
hiding behind a fast machine."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import run_verify
from verify.sandbox.manager import SandboxHandle, spawn_sandbox

pytestmark = pytest.mark.sandbox

SWITCH_EVERY_MICROSECOND = "import sys\n\nsys.setswitchinterval(1e-6)\n"
USER_CHECK = """
import pytest


@pytest.mark.check("outputs", title="the outputs name an API")
def test_names_an_api(outputs):
    assert outputs.get("ApiEndpoint").value.startswith("http")
"""
RUNS = 2


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxHandle, Path]]:
    root = tmp_path_factory.mktemp("switch-sandbox")
    handle = spawn_sandbox(
        stacks=("pipeline", "platform"), outputs_path=root / "flat.json", state_dir=root / "state"
    )
    try:
        yield handle, root / "flat.json"
    finally:
        handle.stop()


def test_checks_running_ahead_survive_constant_thread_switches(
    sandbox: tuple[SandboxHandle, Path], tmp_path: Path
) -> None:
    handle, outputs = sandbox
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SWITCH_EVERY_MICROSECOND, encoding="utf-8")
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "test_user.py").write_text(USER_CHECK, encoding="utf-8")
    env: dict[str, Any] = {**os.environ, **handle.env}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    for run in range(RUNS):
        reports = tmp_path / f"reports-{run}"
        proc = run_verify(
            "smoke",
            f"--outputs={outputs}",
            f"--report-dir={reports}",
            f"--suite={checks}",
            cwd=tmp_path,
            env=env,
        )
        summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
        wrong = [
            (c["id"], c["status"], c["message"])
            for c in summary["checks"]
            if c["status"] not in ("passed", "skipped")
        ]
        assert wrong == [], f"run {run + 1}: {wrong}"
        assert proc.returncode == 0 and summary["verdict"] == "pass", (
            proc.stdout[-2000:] + proc.stderr[-2000:]
        )
        assert any(
            c["id"].endswith("test_names_an_api") and c["status"] == "passed" for c in summary["checks"]
        )
        assert sum(c["id"].startswith("suites/") for c in summary["checks"]) > 50  # the shipped checks ran
    assert sys.getswitchinterval() > 1e-6  # only the children switched every microsecond
