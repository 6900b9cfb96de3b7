"""The sandbox as a child process: `python -m verify.sandbox.serve ...` (the parent's side is `child`).

The child starts the sandbox in its own process, writes `<state_dir>/state.json` when ready, and
stops cleanly on SIGTERM/SIGINT. Unless detached, it also watches its parent and stops when the
parent is gone, so a killed `verify run --sandbox` leaves no orphan behind.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from verify.errors import VerifyError
from verify.sandbox.child import STEP_PREFIX
from verify.sandbox.manager import start_sandbox
from verify.sandbox.processes import (
    Stopped,
    exit_now,
    handle_stop_signals,
    ignore_stop_signals,
    sleep_until_stopped,
)

PARENT_CHECK_S = 0.5


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


def _log_step(text: str) -> None:
    """A step of the start, in the log the parent reads (`child.spawn` shows it on its console)."""
    print(f"{STEP_PREFIX}{text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
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
            sandbox_process=True,  # this process holds the sandbox alone and exits when it stops
            on_step=_log_step,
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
    exit_now(main())
