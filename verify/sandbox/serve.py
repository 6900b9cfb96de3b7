"""The sandbox as a child process: `python -m verify.sandbox.serve ...` (the parent's side is `child`).

The child starts the sandbox in its own process, writes `<state_dir>/state.json` when ready, and
stops cleanly on SIGTERM/SIGINT. Unless detached, it also watches its parent and stops when the
parent is gone, so a killed `verify run --sandbox` leaves no orphan behind. While it runs it carries
out fault switches (`child.switch_faults`): it stops its stacks, resets moto and starts them again
with the faults asked for, through the same `start_sandbox` as its first start.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from verify.errors import VerifyError
from verify.gc_pace import pace as pace_collector
from verify.sandbox.child import STEP_PREFIX, SWITCH_FILE, SWITCHED
from verify.sandbox.manager import SandboxHandle, _reset_moto, start_sandbox
from verify.sandbox.processes import Stopped, exit_now, handle_stop_signals, ignore_stop_signals
from verify.sandbox.state import LOG_FILE, STATE_FILE, read_state, write_atomically

PARENT_CHECK_S = 0.5
SWITCH_POLL_S = 0.05  # how soon a fault switch is seen; a stat() per poll costs next to nothing


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


def _start(options: argparse.Namespace, faults: list[str]) -> SandboxHandle:
    return start_sandbox(
        stacks=options.stack or ["pipeline"],
        faults=faults,
        latency=options.latency,
        region=options.region,
        suffix=options.suffix,
        outputs_path=options.outputs,
        outputs_format=options.format,
        state_dir=options.state_dir,
        grow=options.grow,
        visibility_log=options.visibility_log,
        sandbox_process=True,  # this process holds the sandbox alone and exits when it stops
        on_step=_log_step,
    )


def _log_step(text: str) -> None:
    """A step of the start, in the log the parent reads (`child.spawn` shows it on its console)."""
    print(f"{STEP_PREFIX}{text}", flush=True)


def _take_switch(switch_file: str) -> dict[str, Any] | None:
    # Almost every poll finds nothing: one stat() on a ready-made string then, not a Path joined and
    # a FileNotFoundError raised 20 times a second -- that was 1.3 % of a core per idle sandbox
    # child, most of its idle CPU, and a test session keeps several alive.
    if not os.path.exists(switch_file):
        return None
    path = Path(switch_file)
    try:
        request = json.loads(path.read_text())  # written whole (os.replace) by child.switch_faults
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        request = None
    path.unlink(missing_ok=True)
    if not isinstance(request, dict) or not isinstance(request.get("faults"), list):
        return None
    return request


def _reopen_log(state_dir: Path) -> None:
    """The stop removed the log this process writes to: make it again, so that a failed start says
    why where the parent looks (only when stdout was that log, never a terminal)."""
    try:
        if os.fstat(1).st_nlink != 0:
            return
    except OSError:
        return
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _switch(options: argparse.Namespace, live: list[SandboxHandle], request: dict[str, Any]) -> None:
    """Provision the stacks again with the faults asked for: what a fresh start would make, no more."""
    live[0].stop()  # stacks, servers, emulator and files: the start below writes them all again
    _reset_moto()  # moto keeps its state in module globals; a fresh start begins with none
    _reopen_log(options.state_dir)
    live[0] = _start(options, [str(f) for f in request["faults"]])
    state = read_state(options.state_dir) or {}
    state[SWITCHED] = request.get("id")
    write_atomically(options.state_dir / STATE_FILE, json.dumps(state, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    # moto allocates heavily per request and keeps its backends for the child's life: collect at
    # the verify command's pace, and never scan again what the imports made (verify.gc_pace).
    # Measured on 6 runs served: see bench/RESULTS.md.
    pace_collector(freeze=True)
    options = _parser().parse_args(argv)
    options.state_dir = options.state_dir.absolute()
    handle_stop_signals()
    try:
        live = [_start(options, options.fault)]
    except VerifyError as exc:
        print(f"verify sandbox: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except Stopped:
        return 0  # stopped while starting: start_sandbox already cleaned up
    try:
        if options.parent_pid:
            threading.Thread(target=_watch_parent, args=(options.parent_pid,), daemon=True).start()
        switch_file = str(options.state_dir / SWITCH_FILE)
        while True:
            request = _take_switch(switch_file)
            if request is not None:
                _switch(options, live, request)
            time.sleep(SWITCH_POLL_S)
    except Stopped:
        pass
    except VerifyError as exc:  # a switch's start failed; it cleaned up after itself
        print(f"verify sandbox: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    finally:
        ignore_stop_signals()
        live[0].stop()
    return 0


if __name__ == "__main__":
    exit_now(main())
