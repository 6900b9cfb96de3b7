"""Stop signals and the run's time bounds: SIGTERM (CI cancelling a job, `timeout`, `kill`) ends a
run the way Ctrl-C does, so test data is still removed and partial reports are still written, and
every run ends by its deadline whatever AWS or the API does.

pytest turns a KeyboardInterrupt into an orderly end: fixtures are torn down (the flow's clean-up),
`pytest_sessionfinish` writes the reports with `interrupted: true`, and the CLI exits 130. Python
raises KeyboardInterrupt for SIGINT by itself; for SIGTERM the handler below does the same, in the
main thread (where signal handlers run). The first signal also ends every wait and abandons every
HTTP request in every thread (`polling.begin_stop`), and gives what follows STOP_BUDGET_S: no AWS
try starts after it, and a try the main thread is stuck in (an answer trickling a byte at a time, a
read timeout that never fires) is cut short by a timer (SIGALRM), so the run ends within ~5 s of the
signal, clean-up included. A second signal while clean-up runs is noted, not obeyed.

Those bounds are the design; a watchdog makes them a guarantee. Should the process still be alive
STOP_WATCHDOG_S after the signal (a bug: a deadlock, a call nothing can cut), it writes where every
thread was to a file, says so in one sentence, and ends the process with the interrupted exit code.
A sandbox child notices its parent is gone and stops by itself. If even the watchdog thread cannot
run (a C call holding the interpreter), faulthandler's own timer ends the process a little later.

`stop_signals_interrupt(timeout)` also sets the run's deadline from `--timeout`
(`polling.run_budget_s`); the same timer cuts a main-thread AWS try that outlasts it and its
clean-up grace.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from verify.errors import AwsAccessError
from verify.polling import (
    allow_waits,
    begin_stop,
    end_stop,
    past_hard_deadline,
    run_budget_s,
    set_run_deadline,
)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# From a stop signal to the end of the process: threads stop (~1.5 s at most), clean-up and reports
# get the rest; the process is gone within 5 s.
STOP_BUDGET_S = 3.5
# How often the backstop timer looks whether the main thread must be cut out of an AWS try.
BACKSTOP_EVERY_S = 0.25
# From a stop signal to the watchdog ending a process that overran STOP_BUDGET_S by far (a bug).
STOP_WATCHDOG_S = 20.0
# The last resort's margin after the watchdog (only if the watchdog thread cannot run at all).
LAST_RESORT_AFTER_S = 10.0
EXIT_INTERRUPTED = 130


class _Handler:
    def __init__(self) -> None:
        self.received: list[int] = []
        self.backstop = False  # whether SIGALRM is ours to arm
        self.watchdog_s: float | None = None  # ends the whole process: only where it is the run's
        self.finished = threading.Event()  # the run ended in time: the watchdog stands down

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if len(self.received) == 1:
            begin_stop(STOP_BUDGET_S)
            if self.backstop:
                _arm_backstop(BACKSTOP_EVERY_S)
            if self.watchdog_s is not None:
                _start_watchdog(self.watchdog_s, self.finished)
            raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")
        # Best effort: a message must never raise from inside a signal handler.
        with contextlib.suppress(Exception):
            print("verify: still removing test data and writing reports; please wait", file=sys.stderr)


def _backstop(signum: int, frame: FrameType | None) -> None:
    """SIGALRM: once the stop budget or the run's deadline (and its grace) is spent, a main-thread
    AWS try still waiting for its answer ends with an error the clean-up reports."""
    why = past_hard_deadline()
    if why is not None and _inside_aws_call(frame):
        raise AwsAccessError(f"an AWS call was cut short: {why}")


def _inside_aws_call(frame: FrameType | None) -> bool:
    """Whether the interrupted main thread is inside botocore (waiting for an AWS answer): only there
    is raising safe and useful -- never in the middle of writing a report."""
    depth = 0
    while frame is not None and depth < 300:
        if str(frame.f_globals.get("__name__", "")).startswith(("botocore.", "urllib3.", "boto3.")):
            return True
        frame = frame.f_back
        depth += 1
    return False


def _start_watchdog(after_s: float, finished: threading.Event) -> None:
    """Arm the guarantee that the process ends after a stop signal (see the module docstring)."""
    with contextlib.suppress(Exception):  # never raise from inside the signal handler
        faulthandler.dump_traceback_later(after_s + LAST_RESORT_AFTER_S, exit=True)
        threading.Thread(
            target=_watchdog, args=(after_s, finished), name="verify-stop-watchdog", daemon=True
        ).start()


def _watchdog(after_s: float, finished: threading.Event) -> None:
    if finished.wait(after_s):
        return
    where = "unknown"
    with contextlib.suppress(Exception):
        fd, path = tempfile.mkstemp(prefix="verify-stop-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"verify did not end within {after_s:g} s of a stop signal; every thread was here:\n")
            out.flush()
            faulthandler.dump_traceback(out, all_threads=True)
        where = path
    with contextlib.suppress(Exception):
        os.write(
            2,
            (
                f"verify: the run did not end within {after_s:g} s of the stop signal, so it ends now;"
                f" test data it wrote may remain (its keys carry the run id), and its reports may be"
                f" incomplete. Where it was stuck: {where}\n"
            ).encode(),
        )
    os._exit(EXIT_INTERRUPTED)


def _arm_backstop(first_s: float) -> None:
    with contextlib.suppress(ValueError, OSError, AttributeError):
        signal.setitimer(signal.ITIMER_REAL, max(first_s, 0.01), BACKSTOP_EVERY_S)


@contextmanager
def stop_signals_interrupt(
    timeout: float | None = None, *, watchdog_s: float | None = None
) -> Iterator[list[int]]:
    """While inside: SIGINT and SIGTERM raise KeyboardInterrupt once, then are only noted; with a
    `timeout` (the run's --timeout), the run's deadline is set and enforced. With `watchdog_s` (the
    command line's run, which owns its process), a stop that overruns ends the process then.
    Yields the list of signals received. Restores the previous handlers on the way out.
    Outside the main thread (where handlers cannot be installed) it changes nothing."""
    handler = _Handler()
    handler.watchdog_s = watchdog_s
    previous: dict[signal.Signals, Any] = {}
    try:
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, handler)
        if hasattr(signal, "SIGALRM"):
            previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, _backstop)
    except ValueError:  # not the main thread
        pass
    installed = signal.SIGALRM in previous if hasattr(signal, "SIGALRM") else False
    if installed and signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0):
        # Someone else's timer runs (a test harness's per-test alarm, say): leave SIGALRM to them.
        signal.signal(signal.SIGALRM, previous.pop(signal.SIGALRM))
        installed = False
    handler.backstop = installed
    if timeout is not None:
        budget = run_budget_s(timeout)
        set_run_deadline(time.monotonic() + budget)
        if installed:
            _arm_backstop(budget)
    try:
        yield handler.received
    finally:
        if installed:
            with contextlib.suppress(ValueError, OSError):
                signal.setitimer(signal.ITIMER_REAL, 0)
        if timeout is not None:
            set_run_deadline(None)
        handler.finished.set()
        if handler.received and watchdog_s is not None:
            with contextlib.suppress(Exception):
                faulthandler.cancel_dump_traceback_later()
        end_stop()
        allow_waits()
        for signum, old in previous.items():
            signal.signal(signum, old)
