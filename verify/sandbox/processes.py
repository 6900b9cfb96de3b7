"""Processes the sandbox leaves or watches: is a pid alive, end one, end the local servers a dead
sandbox recorded, and the stop signals of a sandbox that runs in the foreground.

Below `state`, `child`, `serve`, `manager` and `commands`, which all need these; it imports none of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any


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


def exit_now(code: int) -> None:
    """End a process that served the sandbox alone, once its sandbox is stopped and its files gone.

    Why not `sys.exit`: tearing the interpreter down frees moto's whole state object by object,
    about 1 s of CPU that nobody waits for on purpose -- except the parent, `verify run --sandbox` or a
    test, which waits for this process to end (on a loaded CI machine, long enough to time out).
    Everything this process writes is closed by now: flush the streams and go, as `verify` does."""
    import logging
    import sys

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()
    os._exit(code)
