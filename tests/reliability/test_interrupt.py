"""Interruption: SIGINT or SIGTERM in the middle of a run (the flow waiting on a processor that never
runs) still removes the run's test data, writes partial reports that say the run was interrupted,
exits 130, and leaves no process behind: not the sandbox child, not its PostgreSQL or Redis.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import (
    alive,
    clean_env,
    cmdline,
    descendants,
    items,
    summary,
    verify_command,
    wait_for,
)
from verify.sandbox.manager import SandboxHandle, spawn_sandbox
from verify.sandbox.state import read_state

pytestmark = pytest.mark.sandbox

LONG_WAIT = "120"  # the flow would wait this long for the processed reading: we never let it


@pytest.fixture(scope="module")
def stuck_pipeline(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SandboxHandle, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("stuck")
    handle = spawn_sandbox(
        stacks=("pipeline",),
        faults=("processor_down",),
        outputs_path=root / "flat.json",
        state_dir=root / "state",
    )
    try:
        yield handle, json.loads((root / "flat.json").read_text(encoding="utf-8"))
    finally:
        handle.stop()


def _run_items(env: dict[str, str], table: str) -> list[str]:
    return [i["sensorId"]["S"] for i in items(env, table) if i["sensorId"]["S"].startswith("vfy-")]


def _start(tmp_path: Path, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (tmp_path / "console.log").open("wb")
    # Its own session: the signal is ours to send, not a terminal's to broadcast.
    return subprocess.Popen(
        verify_command(*args),
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _interrupt(proc: subprocess.Popen[bytes], signum: int, console: Path) -> tuple[int, float]:
    time.sleep(1.0)  # well inside the wait for the processed reading
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"no end within 60 s of the signal; the run said:\n{_said(console)}") from None
    took = time.monotonic() - sent
    assert took < 30, f"{took:.1f} s from the signal to the end; the run said:\n{_said(console)}"
    return code, took


def _said(console: Path) -> str:
    """The console's tail, and where the stop watchdog found the threads, if it had to fire."""
    text = console.read_text(errors="replace")
    dumps = [word for word in text.split() if "verify-stop-" in word and word.endswith(".txt")]
    stacks = "".join(Path(d).read_text(errors="replace") for d in dumps if Path(d).is_file())
    return text[-3000:] + (f"\n--- where the threads were ---\n{stacks[-6000:]}" if stacks else "")


def _assert_interrupted_reports(tmp_path: Path) -> dict[str, Any]:
    said = (tmp_path / "console.log").read_text(errors="replace")
    assert "did not end within" not in said, _said(tmp_path / "console.log")  # the watchdog had to fire
    result = summary(tmp_path / "reports")
    assert result["interrupted"] is True
    assert any("interrupted" in note for note in result.get("notes", [])), result.get("notes")
    assert result["verdict"] != "pass"
    # What did run is there, with its own verdict: the ingest had been accepted -- unless, on a
    # loaded machine, its answer was still on the way when the signal came: then it says so.
    ingest = [c for c in result["checks"] if c["id"].endswith("test_ingest_accepted")]
    assert ingest, result["checks"]
    assert ingest[0]["status"] == "passed" or (
        ingest[0]["status"] == "error"
        and "abandoned unfinished because the run is being stopped" in ingest[0]["message"]
    ), ingest[0]
    assert any(c["status"] == "passed" for c in result["checks"])
    assert (tmp_path / "reports" / "summary.md").is_file()
    console = (tmp_path / "console.log").read_text(errors="replace")
    assert "Traceback" not in console, console[-3000:]
    return result


def _run_until_its_reading_is_stored(
    stuck_pipeline: tuple[SandboxHandle, dict[str, Any]], tmp_path: Path, timeout: str
) -> tuple[subprocess.Popen[bytes], dict[str, str], str, set[str]]:
    """`verify run` against the stuck pipeline, returned once its reading is in the raw table:
    (the process, the sandbox's env, the raw table, the run's readings there)."""
    handle, outputs = stuck_pipeline
    env = clean_env(handle.env)
    raw = outputs["RawSensorTableName"]
    before = set(_run_items(env, raw))
    (tmp_path / "outputs.json").write_text(json.dumps(outputs), encoding="utf-8")
    args = ["run", "--outputs=outputs.json", "--report-dir=reports", f"--timeout={timeout}"]
    proc = _start(tmp_path, args, env)
    try:
        ours = wait_for(lambda: set(_run_items(env, raw)) - before, "the run's reading in the raw table")
    except BaseException:
        proc.kill()
        raise
    return proc, env, raw, ours


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_removes_its_data_and_reports(
    stuck_pipeline: tuple[SandboxHandle, dict[str, Any]], tmp_path: Path, signum: int
) -> None:
    proc, env, raw, ours = _run_until_its_reading_is_stored(stuck_pipeline, tmp_path, LONG_WAIT)
    try:
        code, took = _interrupt(proc, signum, tmp_path / "console.log")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130, (tmp_path / "console.log").read_text(errors="replace")[-2000:]
    assert took < 20, took  # clean-up and reports, not the 120 s wait
    result = _assert_interrupted_reports(tmp_path)
    assert any(marker.startswith(result["run_id"]) for marker in ours)
    left = [m for m in _run_items(env, raw) if m.startswith(result["run_id"])]
    assert left == [], f"the interrupted run left its readings behind: {left}"


def test_an_interrupt_during_the_clean_up_still_writes_the_reports_and_says_what_stays(
    stuck_pipeline: tuple[SandboxHandle, dict[str, Any]], tmp_path: Path
) -> None:
    # A newcomer's Ctrl-C after every check had its answer, while the clean-up waited for a reading
    # the stopped processor never writes: exit 130 with no report but Allure's, no closing line, and
    # nothing said of the reading. The clean-up's first sweep removes the raw reading: its going is
    # the sign the run is in that wait (--timeout 8: the wait lasts until 15 s after the send).
    proc, env, raw, ours = _run_until_its_reading_is_stored(stuck_pipeline, tmp_path, "8")
    try:
        wait_for(lambda: not ours & set(_run_items(env, raw)), "the clean-up's first sweep", timeout=60)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    console = (tmp_path / "console.log").read_text(errors="replace")
    assert code == 130, console[-2000:]
    assert "Traceback" not in console, console[-3000:]
    result = summary(tmp_path / "reports")
    # Every check had its answer: the stopped processor's checks failed, and the verdict says so.
    assert result["interrupted"] is True and result["verdict"] == "fail"
    assert (tmp_path / "reports" / "summary.md").is_file() and (tmp_path / "reports" / "junit.xml").is_file()
    # The reading the processor never wrote is said, where and under which key.
    left = result.get("left_behind", [])
    assert any(result["run_id"] in item["key"] for item in left), left
    last = console.strip().splitlines()[-1]
    assert last.startswith("= verify: FAIL (interrupted") and "reports in reports/" in last, console[-2000:]


def test_sigterm_with_the_embedded_sandbox_leaves_no_process_behind(tmp_path: Path) -> None:
    args = [
        "run",
        "--sandbox",
        "--sandbox-stack=both",  # the platform brings real PostgreSQL and Redis servers
        "--fault=processor_down",
        "--report-dir=reports",
        f"--timeout={LONG_WAIT}",
    ]
    proc = _start(tmp_path, args, clean_env())
    try:
        child = wait_for(
            lambda: next((p for p in descendants(proc.pid) if "verify.sandbox.serve" in cmdline(p)), None),
            "the sandbox child",
        )
        command = cmdline(child)
        state_dir = Path(command[command.index("--state-dir") + 1])
        state = wait_for(lambda: read_state(state_dir), "the sandbox's state file", timeout=90)
        env = clean_env(state["env"])
        raw = json.loads(Path(state["outputs_path"]).read_text(encoding="utf-8"))["RawSensorTableName"]
        wait_for(lambda: _run_items(env, raw), "the run's reading in the raw table", timeout=90)
        tree = descendants(proc.pid)
        servers = [
            p for p in tree if any(name in " ".join(cmdline(p)) for name in ("postgres", "redis-server"))
        ]
        code, took = _interrupt(proc, signal.SIGTERM, tmp_path / "console.log")
        # Test data is gone before the sandbox is: the child stops only after pytest's teardown.
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130
    assert took < 30, took
    assert servers, "expected the platform's PostgreSQL/Redis among the run's processes"
    wait_for(lambda: not [p for p in tree if alive(p)], "every process of the run to end", timeout=15)
    assert not state_dir.exists() or not any(state_dir.iterdir())
    _assert_interrupted_reports(tmp_path)
