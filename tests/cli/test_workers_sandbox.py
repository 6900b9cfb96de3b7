"""`verify run --workers 2` on the sandbox (issue 18: 4 of 6 healthy runs exited 3, the flow's steps
split across workers): through xdist the flow stays on one worker and the verdict, counts and check
ids are one process's; a fault that breaks the flow breaks it the same way with workers."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import clean_env, verify_command
from tests.helpers.sandbox import start_stack
from verify.sandbox.manager import SandboxHandle

pytestmark = [pytest.mark.sandbox, pytest.mark.slow, pytest.mark.xdist_group("workers")]


def _run(
    tmp: Path, handle: SandboxHandle, name: str, timeout_s: int, *extra: str, via_pytest: bool = False
) -> dict[str, Any]:
    env = clean_env(handle.env)
    if via_pytest:
        env["VERIFY_VIA_PYTEST"] = "1"  # the shipped suites through pytest: with -n, through xdist
    done = subprocess.run(
        verify_command(
            "run",
            f"--outputs={handle.outputs_path}",
            f"--report-dir={name}",
            "-k",
            "flow",
            # Both runs wait alike; a stopped processor need not be waited for 90 s twice (192 s on CI).
            f"--timeout={timeout_s}",
            *extra,
        ),
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary: dict[str, Any] = json.loads((tmp / name / "summary.json").read_text(encoding="utf-8"))
    summary["_exit"] = done.returncode
    summary["_out"] = done.stdout + done.stderr
    return summary


def _statuses(summary: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in summary["checks"]}


# The wait budget of both runs. A healthy flow ends as soon as the processor has written (~0.1 s in
# the sandbox), so its 20 s cost nothing and leave a loaded machine room. A stopped processor is
# waited for the whole budget, and the clean-up then waits for its reading until twice that after it
# was sent (5 s at least): 3 s (a run ends about 6 s after its reading went out, not 22 s) is still
# ample for what must pass -- the ingest and raw steps answer at once, and
# tests/reliability/test_aws_faults.py passes whole runs on 2 s.
TIMEOUT_S = {None: 20, "processor_down": 3}


@pytest.mark.parametrize("fault", [None, "processor_down"])
def test_workers_give_one_process_verdict(tmp_path: Path, fault: str | None) -> None:
    faults = (fault,) if fault else ()
    with start_stack(tmp_path / "sandbox", faults=faults) as handle, ThreadPoolExecutor(2) as pool:
        # At once: each run tags and removes only its own readings, and a stopped processor's runs
        # spend their time waiting, so side by side they take the time of one.
        one_run = pool.submit(_run, tmp_path, handle, "one", TIMEOUT_S[fault])
        workers = _run(tmp_path, handle, "workers", TIMEOUT_S[fault], "--workers", "2", via_pytest=True)
        one = one_run.result()
    assert workers["_exit"] == one["_exit"] == (0 if fault is None else 1), workers["_out"][-2000:]
    assert _statuses(workers) == _statuses(one)
    assert not any("@" in check_id for check_id in _statuses(workers))
    flow = {i: s for i, s in _statuses(workers).items() if i.startswith("suites/test_flow.py::")}
    assert len(flow) >= 8
    if fault is None:
        assert set(flow.values()) == {"passed"}
    else:  # the processor's hop fails; the ingest ran on the same worker, so nothing says it did not run
        assert flow["suites/test_flow.py::test_processor_ran"] == "failed"
        assert "the ingest step did not run" not in json.dumps(workers["checks"])
