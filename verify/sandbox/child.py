"""The parent's side of a sandbox child process: start `python -m verify.sandbox.serve`, wait until
its state file says it is ready, and stop it.

`serve` is the child's side; `manager.spawn_sandbox` calls this. Imports neither of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from verify.errors import UsageError, VerifyError
from verify.sandbox.state import LOG_FILE, cleanup_files, read_state

SERVE_MODULE = "verify.sandbox.serve"  # the child's entry point (`python -m`)


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


def spawn(
    args: list[str], *, state_dir: Path, timeout_s: float, detach: bool
) -> tuple[int, dict[str, Any], Callable[[], None]]:
    """Starts the child and waits for its state file; returns (pid, state, stop)."""
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
    try:
        deadline = time.monotonic() + timeout_s
        while state is None:
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
        cleanup_files(final_state, state_dir)

    return proc.pid, final_state, stop
