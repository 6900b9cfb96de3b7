"""The parent's side of a sandbox child process: start `python -m verify.sandbox.serve`, wait until
its state file says it is ready, switch its faults, and stop it.

Switching faults provisions the child's stacks again, in the running child, with exactly the faults
asked for: the same code as a fresh start, without a fresh interpreter and moto's imports (~3 s of
CPU per start). The request is a file in the state directory; the child's state file says when it
has been carried out.

`serve` is the child's side; `manager.spawn_sandbox` calls this. Imports neither of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from verify.errors import UsageError, VerifyError
from verify.sandbox.faults.catalogue import validate_faults
from verify.sandbox.processes import pid_alive
from verify.sandbox.state import LOG_FILE, cleanup_files, read_state, write_atomically

SERVE_MODULE = "verify.sandbox.serve"  # the child's entry point (`python -m`)
SWITCH_FILE = "switch.json"  # in the state directory: {"id": ..., "faults": [...]}, taken by the child
SWITCHED = "switched"  # in state.json: the id of the last switch the child carried out


def _stop_child(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _log_tail(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


# A line the child prints to its log as it starts (`serve`): the parent shows it as a step of the start.
STEP_PREFIX = "sandbox step: "


class _Steps:
    """The child's start-up steps as they reach its log, handed to `on_step` once each."""

    def __init__(self, path: Path, on_step: Callable[[str], None] | None) -> None:
        self.path, self.on_step, self.offset = path, on_step, 0

    def read(self) -> None:
        if self.on_step is None:
            return
        try:
            with open(self.path, "rb") as log:
                log.seek(self.offset)
                chunk = log.read()
        except OSError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for its end
        self.offset += len(complete)
        for line in complete.decode("utf-8", "replace").splitlines():
            if line.startswith(STEP_PREFIX):
                self.on_step(line.removeprefix(STEP_PREFIX))


def spawn(
    args: list[str],
    *,
    state_dir: Path,
    timeout_s: float,
    detach: bool,
    on_step: Callable[[str], None] | None = None,
) -> tuple[int, dict[str, Any], Callable[[], None]]:
    """Starts the child and waits for its state file; returns (pid, state, stop). `on_step` gets
    each step of the child's start as it is logged (the console shows them)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    cleanup_files({}, state_dir)  # a stale state of a dead sandbox must not be mistaken for readiness
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / LOG_FILE
    command = [sys.executable, "-m", SERVE_MODULE, *args]
    if not detach:
        command += ["--parent-pid", str(os.getpid())]
    with open(log_path, "wb") as log:
        # Own session: a Ctrl-C meant for the parent reaches the child only through the parent's stop.
        # The child needs no profile (it has its own test credentials), and moto trips on a missing one.
        env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")}
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    state: dict[str, Any] | None = None
    steps = _Steps(log_path, on_step)
    try:
        deadline = time.monotonic() + timeout_s
        while state is None:
            steps.read()
            found = read_state(state_dir)
            if found and found.get("pid") == proc.pid:
                state = found
                break
            code = proc.poll()
            if code is not None:
                tail = _log_tail(log_path)
                if tail.startswith("verify sandbox: "):  # the child's own one-sentence error
                    error = UsageError if code == 2 else VerifyError
                    raise error(tail.removeprefix("verify sandbox: "))
                raise VerifyError(f"The sandbox failed to start: {tail or f'exit code {code}'}")
            if time.monotonic() > deadline:
                tail = _log_tail(log_path)
                raise VerifyError(
                    f"The sandbox did not become ready within {timeout_s:g} s"
                    + (f" (last said: {tail})." if tail else ".")
                )
            time.sleep(0.05)
    except BaseException:
        _stop_child(proc)
        cleanup_files(read_state(state_dir) or {}, state_dir)
        raise

    final_state = state

    def stop() -> None:
        _stop_child(proc)
        # After a fault switch the servers and files are the new start's; a killed child left its state.
        cleanup_files(read_state(state_dir) or final_state, state_dir)

    return proc.pid, final_state, stop


def _running(pid: int) -> bool:
    """Alive and not a zombie: a child that exited stays in the process table until reaped."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return pid_alive(pid)  # no /proc here
    return fields[0] not in ("Z", "X")


def _serves_switches(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc here: the wait below says it if nothing answers
    return SERVE_MODULE.encode() in command


def switch_faults(state_dir: Path, faults: Iterable[str], *, timeout_s: float = 120.0) -> dict[str, Any]:
    """Has the sandbox child of `state_dir` provision its stacks again with exactly `faults` (none:
    healthy); returns its new state once it is ready. Everything a fresh start would make is made
    again (moto's state is reset first), so a fault behaves as it does from `--fault` at the start.
    The endpoint, the API's URL and the servers' ports change; the outputs file's path does not."""
    state_dir = Path(state_dir).absolute()
    state = read_state(state_dir)
    pid = int((state or {}).get("pid", 0))
    if state is None or not _running(pid):
        raise UsageError(f"No sandbox runs from {state_dir}; start one with `verify sandbox up`.")
    if pid == os.getpid() or not _serves_switches(pid):
        # In a process of its own (`verify sandbox up` in the foreground, start_sandbox): nothing
        # there watches for a switch; stop it and start it again with the faults.
        raise UsageError(
            f"The sandbox of {state_dir} runs in the foreground, not as a child: stop it and start it "
            "with the faults, or start it with `verify sandbox up --detach`."
        )
    chosen = validate_faults(faults, state.get("stacks") or ())  # a typo changes nothing
    request = {"id": uuid.uuid4().hex, "faults": sorted(chosen)}
    write_atomically(state_dir / SWITCH_FILE, json.dumps(request) + "\n")
    deadline = time.monotonic() + timeout_s
    while True:
        found = read_state(state_dir)
        if found is not None and found.get(SWITCHED) == request["id"]:
            return found
        if not _running(pid):
            tail = _log_tail(state_dir / LOG_FILE).removeprefix("verify sandbox: ")
            raise VerifyError(f"The sandbox stopped while switching its faults: {tail or 'no reason given'}")
        if time.monotonic() > deadline:
            raise VerifyError(f"The sandbox did not switch its faults within {timeout_s:g} s.")
        time.sleep(0.05)
