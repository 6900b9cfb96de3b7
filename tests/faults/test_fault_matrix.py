"""The fault matrix: the harness passes on the healthy sandbox and, for every sandbox fault, fails
the named checks with a message that says what was expected and what was seen -- and nothing else
than those checks and the fault's declared knock-ons.

The cases share one sandbox child per stack and per worker: each switches it to exactly its fault,
or to none for the healthy control (`verify.sandbox.child.switch_faults`: moto reset, the stacks
provisioned again by the same code as `--fault` at a start), then runs `verify run --outputs` (or
`verify smoke`, for a fault proven in the smoke profile) against it. A fault left over from the case
before would break checks beyond the matrix's claim, which every case asserts against; and a
switched fault must be, check for check, what the console's own `verify smoke --sandbox --fault`
makes from a fresh start.

Most runs call the command's `main()` in this process, with the sandbox's environment and a working
directory of their own: a console process per case spent ~0.85 s of CPU on imports and on parsing
botocore's models again, a quarter of the module's time. `CONSOLE_FAULTS` and the fresh starts run
the console script, so the command as users run it stays proven against a switched sandbox too. An
in-process run starts from what a fresh process has (no secrets registered for masking by a run
before, the console's collector pace) and must leave the process as it found it (signal handlers,
no timer, no deadline; the environment and working directory are restored by monkeypatch).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import clean_env
from verify import gc_pace, polling
from verify.cli.main import main
from verify.errors import UsageError
from verify.redact import REDACTOR
from verify.sandbox.child import switch_faults
from verify.sandbox.faults.catalogue import FAULTS
from verify.sandbox.faults.matrix import FAULT_BREAKS, FAULT_PROFILE, KNOCK_ONS
from verify.sandbox.manager import SandboxHandle, spawn_sandbox

pytestmark = pytest.mark.sandbox

# Long enough for slow_processor (about 3 s per message), short enough that a broken hop does not
# cost a minute: the healthy sandbox delivers every signal within a fraction of a second. Where every
# step that must pass is answered at once (the ingest call and its synchronous raw write; the
# processor's steps are the fault's or its knock-ons), 3 s: each wait for the missing hop and the
# clean-up's grace for the reading that never gets processed (2 x --timeout: 8 s at 4) are shorter.
TIMEOUT_S = {"slow_processor": "15", "processor_down": "3", "esm_disabled": "3", "queue_missing": "3"}
DEFAULT_TIMEOUT_S = "4"
# Where the generic "expected ... got" could also match another failure of the same check: the
# words only this fault's failure carries.
MESSAGE_FRAGMENT = {"stale_processed_data": " s old"}
# Fault cases that run the console script (`python -m verify.cli.main`) rather than `main()` in this
# process: a blocking flow fault (`verify run`, exit 1), an advisory posture fault (exit 0) and the
# smoke-profile fault (`verify smoke --outputs`).
CONSOLE_FAULTS = frozenset({"processor_down", "pitr_disabled", "stale_processed_data"})
Runner = Callable[..., tuple[int, dict[str, Any], str]]


def run_verify(
    tmp_path: Path, *args: str, command: str = "run", env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str]:
    report_dir = tmp_path / "reports"
    tmp_path.mkdir(exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "verify.cli.main", command, f"--report-dir={report_dir}", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    summary_path = report_dir / "summary.json"
    assert summary_path.is_file(), f"no summary.json; stderr: {proc.stderr[-2000:]}"
    return proc.returncode, json.loads(summary_path.read_text()), proc.stdout + proc.stderr


_HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)
# The console's collector pace (`verify.cli.main.console`), which `main()` alone does not set: at
# Python's default a run re-scans this worker's whole heap (pytest, every module loaded) many times.
CONSOLE_GC_THRESHOLD = gc_pace.THRESHOLD


@pytest.fixture
def run_in_process(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> Runner:
    """`run_verify`'s twin that calls `verify.cli.main.main()` here: the same arguments, working
    directory and environment (`env` replaces this process's, as the console case's would)."""

    def run(
        tmp_path: Path, *args: str, command: str = "run", env: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any], str]:
        report_dir = tmp_path / "reports"
        tmp_path.mkdir(exist_ok=True)
        monkeypatch.chdir(tmp_path)
        if env is not None:
            for key in set(os.environ) - set(env):
                monkeypatch.delenv(key)
            for key, value in env.items():
                monkeypatch.setenv(key, value)
        # A fresh process masks only what its own run registered: the values a run before this one
        # registered (the last start's random secrets) would mask words in this run's messages.
        REDACTOR.reset()
        handlers = [signal.getsignal(s) for s in _HANDLED]
        capfd.readouterr()
        thresholds = gc.get_threshold()
        gc.set_threshold(*CONSOLE_GC_THRESHOLD)
        try:
            code = main([command, f"--report-dir={report_dir}", *args])
        finally:
            gc.set_threshold(*thresholds)
        captured = capfd.readouterr()
        output = captured.out + captured.err
        # What a console process would drop at its exit, a run in this one must put back itself.
        assert [signal.getsignal(s) for s in _HANDLED] == handlers, "signal handlers left changed"
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), "a timer left armed"
        assert (polling.run_deadline(), polling.stop_deadline()) == (None, None), "a deadline left set"
        summary_path = report_dir / "summary.json"
        assert summary_path.is_file(), f"no summary.json; output: {output[-2000:]}"
        return code, json.loads(summary_path.read_text()), output

    return run


@pytest.fixture(scope="module")
def sandbox_of(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], SandboxHandle]]:
    """This worker's sandbox child of a stack, started healthy on first use, stopped after the module."""
    started: dict[str, SandboxHandle] = {}

    def get(stack: str) -> SandboxHandle:
        if stack not in started:
            folder = tmp_path_factory.mktemp(f"matrix-{stack}")
            started[stack] = spawn_sandbox(
                stacks=(stack,),
                outputs_path=folder / "flat-outputs.json",
                state_dir=folder / "state",
                timeout_s=120,  # a loaded CI machine; a start takes 2-8 s
            )
        return started[stack]

    yield get
    for handle in started.values():
        handle.stop()


def _base(check_id: str) -> str:
    return check_id.split("[", 1)[0]


def test_every_fault_is_in_the_matrix() -> None:
    assert set(FAULTS) <= set(FAULT_BREAKS), f"faults without expectations: {set(FAULTS) - set(FAULT_BREAKS)}"
    assert set(FAULT_BREAKS) <= set(FAULTS), (
        f"matrix rows for unknown faults: {set(FAULT_BREAKS) - set(FAULTS)}"
    )


def _proven_in(stack: str, profile: str = "full") -> set[str]:
    """The checks the matrix breaks on `stack` in `profile`: each must pass there when healthy."""
    return {
        check_id
        for fault, checks in FAULT_BREAKS.items()
        if FAULTS[fault].stack == stack and FAULT_PROFILE.get(fault, "full") == profile
        for check_id in checks
    }


def _all_pass(
    stack: str, profile: str, result: tuple[int, dict[str, Any], str], *, flow_steps: int = 0
) -> None:
    """Nothing failed and every check the matrix breaks in `profile` ran and passed: a check that
    cannot pass on the healthy stack would prove nothing by failing on a faulty one."""
    code, summary, output = result
    bad = [
        (c["id"], c["status"], c["message"]) for c in summary["checks"] if c["status"] in ("failed", "error")
    ]
    assert bad == [], bad
    assert code == 0 and summary["verdict"] == "pass", output[-2000:]
    assert "Traceback" not in output, output[-3000:]
    passed = {_base(c["id"]) for c in summary["checks"] if c["status"] == "passed"}
    flow = {_base(c["id"]) for c in summary["checks"] if c["service"] == "flow" and c["status"] == "passed"}
    assert len(flow) >= flow_steps, flow
    proven = _proven_in(stack, profile)
    assert proven, f"no {stack} fault is proven in the {profile} profile"
    assert proven <= passed, proven - passed


# The faults' control: the shared child their cases switch, switched to no fault (a switch makes what
# a start makes: test_a_switched_fault_is_the_fault_a_start_makes holds it to the console's own
# start). In each profile the matrix proves faults in: the full run skips what only smoke judges.
@pytest.mark.parametrize("stack", ["pipeline", "platform"])
def test_healthy_stack_passes(
    stack: str, tmp_path: Path, sandbox_of: Callable[[str], SandboxHandle], run_in_process: Runner
) -> None:
    handle = sandbox_of(stack)
    state = switch_faults(handle.state_dir, [])
    assert state["faults"] == [], state["faults"]
    env = clean_env(state["env"])
    outputs, timeout = f"--outputs={handle.outputs_path}", f"--timeout={DEFAULT_TIMEOUT_S}"
    full = run_in_process(tmp_path / "full", outputs, timeout, env=env)
    _all_pass(stack, "full", full, flow_steps=11 if stack == "pipeline" else 0)
    if any(FAULTS[f].stack == stack and p == "smoke" for f, p in FAULT_PROFILE.items()):
        smoke = run_in_process(tmp_path / "smoke", outputs, timeout, command="smoke", env=env)
        _all_pass(stack, "smoke", smoke)


@pytest.mark.parametrize("fault", sorted(FAULT_BREAKS))
def test_fault_breaks_its_checks(
    fault: str, tmp_path: Path, sandbox_of: Callable[[str], SandboxHandle], run_in_process: Runner
) -> None:
    handle = sandbox_of(FAULTS[fault].stack)
    state = switch_faults(handle.state_dir, [fault])
    assert state["faults"] == [fault], state["faults"]
    timeout = TIMEOUT_S.get(fault, DEFAULT_TIMEOUT_S)
    command = "smoke" if FAULT_PROFILE.get(fault) == "smoke" else "run"
    runner = run_verify if fault in CONSOLE_FAULTS else run_in_process
    code, summary, output = runner(
        tmp_path,
        f"--outputs={handle.outputs_path}",
        f"--timeout={timeout}",
        command=command,
        env=clean_env(state["env"]),
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


# A fault from a switch is the fault a start makes: the same checks fail, pass and skip in a real
# `verify smoke --sandbox --fault X` (the console's own start, as a user runs it) and in a sandbox
# switched to X from another fault -- which, had anything of it been left, would show in its checks.
SWITCHES = {"pipeline": ("pitr_disabled", "sse_disabled"), "platform": ("rds_unencrypted", "cache_down")}


@pytest.mark.parametrize("stack", sorted(SWITCHES))
def test_a_switched_fault_is_the_fault_a_start_makes(
    stack: str, tmp_path: Path, sandbox_of: Callable[[str], SandboxHandle], run_in_process: Runner
) -> None:
    before, fault = SWITCHES[stack]
    fresh_code, fresh, output = run_verify(
        tmp_path / "fresh", "--sandbox", f"--sandbox-stack={stack}", f"--fault={fault}", command="smoke"
    )
    assert "Traceback" not in output, output[-3000:]
    handle = sandbox_of(stack)
    switch_faults(handle.state_dir, [before])
    state = switch_faults(handle.state_dir, [fault])
    assert state["faults"] == [fault]
    code, switched, output = run_in_process(
        tmp_path / "switched",
        f"--outputs={handle.outputs_path}",
        command="smoke",
        env=clean_env(state["env"]),
    )
    assert "Traceback" not in output, output[-3000:]

    def statuses(summary: dict[str, Any]) -> dict[str, str]:
        return {c["id"]: c["status"] for c in summary["checks"]}

    assert statuses(switched) == statuses(fresh)
    assert (code, switched["verdict"]) == (fresh_code, fresh["verdict"])
    # Not vacuous: the fault shows, and the fault before it does not.
    failed = {_base(c["id"]) for c in fresh["checks"] if c["status"] == "failed"}
    assert failed & set(FAULT_BREAKS[fault]), failed
    assert not failed & set(FAULT_BREAKS[before]) - set(FAULT_BREAKS[fault]), failed


def test_a_switch_refuses_what_a_start_would_refuse(
    tmp_path: Path, sandbox_of: Callable[[str], SandboxHandle]
) -> None:
    handle = sandbox_of("pipeline")
    state = switch_faults(handle.state_dir, [])
    for faults, said in ((["no_such_fault"], "Unknown sandbox fault"), (["cache_down"], "platform stack")):
        with pytest.raises(UsageError, match=said):
            switch_faults(handle.state_dir, faults)
    # Refused before the sandbox dropped anything: the same start still serves.
    after = json.loads((handle.state_dir / "state.json").read_text())
    assert (after["started_at"], after["endpoint_url"]) == (state["started_at"], state["endpoint_url"])
    with pytest.raises(UsageError, match="No sandbox runs"):
        switch_faults(tmp_path / "nothing-here", [])
