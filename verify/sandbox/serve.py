"""The sandbox as a child process: `python -m verify.sandbox.serve ...` and the parent's side of it.

The child starts the sandbox in its own process, writes `<state_dir>/state.json` when ready, and
stops cleanly on SIGTERM/SIGINT. Unless detached, it also watches its parent and stops when the
parent is gone, so a killed `verify run --sandbox` leaves no orphan behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from verify.errors import UsageError, VerifyError

LOG_FILE = "serve.log"
PARENT_CHECK_S = 0.5


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_recorded_server(pid: int, entry: dict[str, Any]) -> bool:
    """Is pid still the server that was recorded (not a stranger that reused the pid)?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    marks = [str(entry.get("dir") or ""), f":{entry.get('port')}", f"port={entry.get('port')}"]
    return any(mark and mark in cmdline for mark in marks if mark not in (":None", "port=None"))


def end_recorded_servers(workdir: Path, timeout_s: float = 5.0) -> None:
    """Ends local servers a stack recorded in `<workdir>/*-servers.json` (the platform's PostgreSQL
    and Redis) when the sandbox process died before it could stop them itself."""
    for record in sorted(workdir.glob("*-servers.json")):
        try:
            entries = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        for entry in entries if isinstance(entries, list) else []:
            pid = int(entry.get("pid") or 0)
            if pid > 0 and _is_recorded_server(pid, entry):
                signum = getattr(signal, str(entry.get("signal") or "SIGTERM"), signal.SIGTERM)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signum)
                deadline = time.monotonic() + timeout_s
                while pid_alive(pid) and time.monotonic() < deadline:
                    _reap(pid)
                    time.sleep(0.05)
                if pid_alive(pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
            server_dir = Path(str(entry.get("dir") or ""))
            if server_dir.name.startswith("verify-") or workdir in server_dir.parents:
                shutil.rmtree(server_dir, ignore_errors=True)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def terminate_pid(pid: int, timeout_s: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL: the process is gone when this returns."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            # Reap it when it is our child; otherwise just watch it go.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


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
    from verify.sandbox.manager import cleanup_files, read_state

    state_dir.mkdir(parents=True, exist_ok=True)
    cleanup_files({}, state_dir)  # a stale state of a dead sandbox must not be mistaken for readiness
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / LOG_FILE
    command = [sys.executable, "-m", "verify.sandbox.serve", *args]
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


class Stopped(SystemExit):
    """Raised in the main thread by a stop signal.

    A handler that only set a threading.Event could deadlock: the signal may land while the main
    thread holds that Event's lock on its way into wait(). Raising is always safe.
    """


def _raise_stopped(signum: int, _frame: object) -> None:
    raise Stopped(0)


def handle_stop_signals() -> None:
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _raise_stopped)


def ignore_stop_signals() -> None:
    """While cleaning up: a second Ctrl-C must not cut the cleanup short."""
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


def sleep_until_stopped() -> None:
    while True:
        time.sleep(3600)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    os.kill(os.getpid(), signal.SIGTERM)  # stop through the main thread's one path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m verify.sandbox.serve")
    parser.add_argument("--stack", action="append", default=[])
    parser.add_argument("--fault", action="append", default=[])
    parser.add_argument("--latency", default=None)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--suffix", default="dev")
    parser.add_argument("--outputs", type=Path, required=True)
    parser.add_argument("--format", default="flat")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--parent-pid", type=int, default=0)
    parser.add_argument("--grow", type=int, default=None)
    parser.add_argument("--visibility-log", type=Path, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    from verify.sandbox.manager import start_sandbox

    handle_stop_signals()
    try:
        handle = start_sandbox(
            stacks=options.stack or ["pipeline"],
            faults=options.fault,
            latency=options.latency,
            region=options.region,
            suffix=options.suffix,
            outputs_path=options.outputs,
            outputs_format=options.format,
            state_dir=options.state_dir,
            grow=options.grow,
            visibility_log=options.visibility_log,
        )
    except VerifyError as exc:
        print(f"verify sandbox: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except Stopped:
        return 0  # stopped while starting: start_sandbox already cleaned up
    try:
        if options.parent_pid:
            threading.Thread(target=_watch_parent, args=(options.parent_pid,), daemon=True).start()
        sleep_until_stopped()
    except Stopped:
        pass
    finally:
        ignore_stop_signals()
        handle.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
