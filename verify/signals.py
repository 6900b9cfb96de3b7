"""Stop signals during a run: SIGTERM (CI cancelling a job, `timeout`, `kill`) ends a run the way
Ctrl-C does, so test data is still removed and partial reports are still written.

pytest turns a KeyboardInterrupt into an orderly end: fixtures are torn down (the flow's clean-up),
`pytest_sessionfinish` writes the reports with `interrupted: true`, and the CLI exits 130. Python
raises KeyboardInterrupt for SIGINT by itself; for SIGTERM the handler below does the same, in the
main thread (where signal handlers run). A second signal while clean-up runs is noted, not obeyed:
cutting the clean-up short is what would leave a team's tables dirty, and every AWS call in it is
bounded by timeouts anyway.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Handler:
    def __init__(self) -> None:
        self.received: list[int] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if len(self.received) == 1:
            raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")
        # Best effort: a message must never raise from inside a signal handler.
        with contextlib.suppress(Exception):
            print("verify: still removing test data and writing reports; please wait", file=sys.stderr)


@contextmanager
def stop_signals_interrupt() -> Iterator[list[int]]:
    """While inside: SIGINT and SIGTERM raise KeyboardInterrupt once, then are only noted.
    Yields the list of signals received. Restores the previous handlers on the way out.
    Outside the main thread (where handlers cannot be installed) it changes nothing."""
    handler = _Handler()
    previous: dict[signal.Signals, Any] = {}
    try:
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread
        pass
    try:
        yield handler.received
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
