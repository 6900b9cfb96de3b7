"""The console while a run works, so an on-call reader can tell a wait from a hang.

On a terminal, a live status line after the progress characters: what is being waited for, its
elapsed time against its budget, its attempts, and how many checks are done. Without a terminal (a
CI log, where a rewritten line is noise), a heartbeat line about every HEARTBEAT_S seconds (every
`VERIFY_HEARTBEAT_S` seconds when that is set) while anything still runs. Nothing at all when
disabled (`--quiet`). It writes to the stream the run's own console output goes to, which is stderr
whenever stdout carries `--json`.

What is waited for comes from `verify.polling.waits_in_progress()`: every `eventually` in any
thread registers there, so the flow's and the checks' waits are shown without knowing about them.
"""

from __future__ import annotations

import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from verify.escape import terminal
from verify.polling import WaitInProgress, waits_in_progress
from verify.report.text import shorten

HEARTBEAT_S = 10.0
# The heartbeat's interval from the environment, in seconds: a test that must see a heartbeat need not
# wait 10 s of a stopped processor for it, and a CI log may want fewer lines. Bounded both ways: a
# heartbeat many times a second would bury the log, one an hour apart is silence.
HEARTBEAT_ENV = "VERIFY_HEARTBEAT_S"
HEARTBEAT_MIN_S = 0.5
HEARTBEAT_MAX_S = 3600.0
# How often the live line is redrawn: often enough that its seconds count, rarely enough to cost nothing.
REDRAW_S = 0.5
_CLEAR_TO_END = "\x1b[K"
_MIN_STATUS_COLUMNS = 24
_WAITS_SHOWN = 2
_WHAT_CHARS = 70


def _is_terminal(out: TextIO) -> bool:
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError, OSError):  # a closed or odd stream: no live line
        return False


def heartbeat_interval(environ: Mapping[str, str] | None = None) -> tuple[float, str | None]:
    """The heartbeat's interval: `VERIFY_HEARTBEAT_S` when set to a number of seconds in range, else
    HEARTBEAT_S -- and, for a value that is not, the sentence saying it was not used."""
    raw = (os.environ if environ is None else environ).get(HEARTBEAT_ENV, "").strip()
    if not raw:
        return HEARTBEAT_S, None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not HEARTBEAT_MIN_S <= value <= HEARTBEAT_MAX_S:  # NaN and the infinities fail this too
        return HEARTBEAT_S, (
            f"{HEARTBEAT_ENV}={terminal(raw[:40])!r} is not a number of seconds from {HEARTBEAT_MIN_S:g} "
            f"to {HEARTBEAT_MAX_S:g}: a heartbeat every {HEARTBEAT_S:g} s"
        )
    return value, None


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


class Progress:
    """The run's console while checks run: its own output (`write`) and the status around it.

    `live`: redraw one status line (a terminal) instead of printing heartbeat lines; by default,
    whether `out` is a terminal. `heartbeat_s`: by default `heartbeat_interval()`'s. `clock` and
    `waits` are injectable so the texts are tested without waiting; `column` says where the cursor is
    when another writes the characters (pytest's terminal).
    Thread-safe: the run's thread writes, the status thread redraws.
    """

    def __init__(
        self,
        out: TextIO,
        *,
        enabled: bool = True,
        live: bool | None = None,
        heartbeat_s: float | None = None,
        waits: Callable[[], list[WaitInProgress]] = waits_in_progress,
        clock: Callable[[], float] = time.monotonic,
        width: Callable[[], int] | None = None,
        column: Callable[[], int] | None = None,
    ) -> None:
        self.out = out
        self.enabled = enabled
        self.live = _is_terminal(out) if live is None else live
        # An unusable VERIFY_HEARTBEAT_S is said once, where the heartbeats go, and never ends the run.
        self._heartbeat_note: str | None = None
        if heartbeat_s is None:
            heartbeat_s, self._heartbeat_note = heartbeat_interval()
        self.heartbeat_s = heartbeat_s
        self._waits = waits
        self._clock = clock
        self._width = width or (lambda: shutil.get_terminal_size((100, 24)).columns)
        # Where the cursor is when another writes the characters (pytest's terminal); else `write`'s.
        self._column = column or (lambda: len(self._line))
        self._lock = threading.Lock()
        self._line = ""  # what the run wrote on the current line since its last newline
        self._drawn = False  # a status is drawn after `_line`
        self._started = clock()
        self._total = 0
        self._done: Callable[[], int] = lambda: 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ the run's side

    def track(self, total: int, done: Callable[[], int]) -> None:
        """How many checks the run has, and a way to count those finished."""
        self._total, self._done = total, done

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._started = self._clock()
        if self._heartbeat_note and not self.live:
            try:
                with self._lock:
                    self._own_line(f"verify: {self._heartbeat_note}")
            except (OSError, ValueError):  # the console went away (a closed pipe): the run goes on
                pass
        self._thread = threading.Thread(target=self._loop, name="verify-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """No more status: the live line is erased, the run's own output stays as it wrote it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        with self._lock:
            self._erase()
            self.out.flush()

    def write(self, text: str) -> None:
        """The run's own output (progress characters, lines): the status is redrawn around it."""
        with self._lock:
            self._erase()
            # A long row of characters would wrap, and `\r` reaches back one row only: break it.
            wraps = len(self._line) + len(text) >= self._width() - 1
            if self.live and self.enabled and "\n" not in text and wraps:
                self.out.write("\n")
                self._line = ""
            self.out.write(text)
            self._line = text.rsplit("\n", 1)[-1] if "\n" in text else self._line + text
            self.out.flush()

    def __enter__(self) -> Progress:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ the status

    def status(self, now: float | None = None) -> str | None:
        """The status now, or None when there is nothing left to say (every check done)."""
        now = self._clock() if now is None else now
        waits = self._waits()
        done = self._done()
        pending = self._total - done
        if not waits and pending <= 0:
            return None
        parts: list[str] = []
        if self._total:
            parts.append(f"{done} of {self._total} checks done")
        if waits:
            # The longest-running waits first, each cut short: a flow waits for several signals at once.
            shown = [
                f"{shorten(terminal(w.what), _WHAT_CHARS)} ({_seconds(w.elapsed_s())} of {w.budget_s:g} s, "
                f"{w.attempts} attempts)"
                for w in waits[:_WAITS_SHOWN]
            ]
            more = f"; and {len(waits) - _WAITS_SHOWN} more" if len(waits) > _WAITS_SHOWN else ""
            parts.append("waiting for " + "; ".join(shown) + more)
        return "; ".join(parts)

    def heartbeat_line(self, now: float | None = None) -> str | None:
        """The line a log gets every `heartbeat_s` seconds: the run's time, then the status."""
        now = self._clock() if now is None else now
        text = self.status(now)
        return None if text is None else f"verify: [{now - self._started:.0f} s] {text}"

    def _loop(self) -> None:
        every = REDRAW_S if self.live else self.heartbeat_s
        while not self._stop.wait(every):
            try:
                self._tick()
            except (OSError, ValueError):  # the console went away (a closed pipe): the run goes on
                return

    def _tick(self) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            if not self.live:
                line = self.heartbeat_line()
                if line is not None:
                    self._own_line(line)
                return
            text = self.status()
            self._erase()
            if text is None:
                self.out.flush()
                return
            room = self._width() - 1 - len(self._line) - 2
            if room < _MIN_STATUS_COLUMNS:
                self.out.write("\n")
                self._line = ""
                room = self._width() - 3
            text = f"[{self._clock() - self._started:.0f} s] {text}"
            shown = text if len(text) <= room else text[: max(0, room - 1)] + "…"
            self.out.write(f"  {shown}{_CLEAR_TO_END}")
            self._drawn = True
            self.out.flush()

    def _own_line(self, line: str) -> None:
        """Print `line` on a line of its own (under the lock): the progress characters go on below it."""
        self.out.write(("\n" if self._column() else "") + line + "\n")
        self._line = ""
        self.out.flush()

    def _erase(self) -> None:
        """Back to the end of the run's own output on this line (under the lock)."""
        if self._drawn:
            self.out.write(f"\r{self._line}{_CLEAR_TO_END}")
            self._drawn = False


def step_printer(
    out: TextIO, *, enabled: bool = True, prefix: str = "verify: sandbox: ", slower_than: float = 0.0
) -> Callable[[str], None]:
    """Steps as lines, each with the seconds since the first (`--quiet`: none). `slower_than`: a step
    is said only when it took at least that long since the previous one (a fast run stays quiet)."""
    started = time.monotonic()
    last = [started]

    def step(text: str) -> None:
        now = time.monotonic()
        took, last[0] = now - last[0], now
        if not enabled or took < slower_than:
            return
        try:
            out.write(f"{prefix}{terminal(text)} ({now - started:.1f} s)\n")
            out.flush()
        except (OSError, ValueError):
            pass

    return step
