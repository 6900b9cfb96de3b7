"""When the sandbox made each eventually-consistent signal of a reading visible: a JSON-lines log.

A benchmark of the harness's detection lag needs the other end of the interval: the moment a signal
became readable through the AWS API. The sandbox knows it exactly (the write call that makes the
signal visible has just returned), so each such moment is appended here as one line:

    {"signal": "raw", "marker": "<partition-key value>", "t": <time.time()>}

Signals: raw, processed, query (the same moment as processed: GET /query reads the processed
table), trace (when both the ingest and the processor segments of the reading's trace were put),
log (one line per put_log_events of a line carrying the marker, with its group).
Off unless asked for: every caller holds `None` instead of a log and writes nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from verify.errors import UsageError

SIGNALS = ("raw", "processed", "query", "trace", "log")
# The trace segments a verifier waits for (the ingest and processor functions'); the API stage's own
# segment is not among them.
TRACE_PARTS = frozenset({"ingest", "processor"})
# Traces whose other half never comes (processor stopped, reading redriven) must not pile up forever.
_MAX_PENDING_TRACES = 10_000


class VisibilityLog:
    """Appends one JSON line per signal; safe to call from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).absolute()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Line-buffered and flushed per line: a reader tailing the file sees each line whole.
            self._file: TextIO | None = self.path.open("a", buffering=1, encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"Cannot write the visibility log {self.path} ({exc.strerror or exc}); "
                "choose a writable path for --visibility-log."
            ) from None
        self._lock = threading.Lock()
        # trace id -> (marker, parts put so far)
        self._traces: dict[str, tuple[str, set[str]]] = {}

    def record(self, signal: str, marker: str, t: float | None = None, **extra: Any) -> None:
        line = json.dumps({"signal": signal, "marker": marker, **extra, "t": time.time() if t is None else t})
        with self._lock:
            if self._file is None:
                return  # stopped: a late timer's write is not part of this sandbox's life
            self._file.write(line + "\n")
            self._file.flush()

    def trace_part(self, trace_id: str, marker: str, part: str) -> None:
        """One of the trace's segments was put; the trace line is written when the last one is."""
        with self._lock:
            known_marker, parts = self._traces.get(trace_id, (marker, set()))
            parts.add(part)
            if not parts >= TRACE_PARTS:
                if len(self._traces) >= _MAX_PENDING_TRACES:
                    self._traces.pop(next(iter(self._traces)))
                self._traces[trace_id] = (known_marker, parts)
                return
            self._traces.pop(trace_id, None)
        self.record("trace", known_marker, trace_id=trace_id)

    def on_trace(self, trace_id: str, marker: str, part: str) -> Callable[[], None]:
        """For Telemetry.segment's `on_visible`: this part of the trace was put."""
        return lambda: self.trace_part(trace_id, marker, part)

    def on_log(self, marker: str, group: str) -> Callable[[], None]:
        """For Telemetry.log_lines' `on_visible`: a line with the marker was put in the group."""
        return lambda: self.record("log", marker, group=group)

    def close(self) -> None:
        with self._lock:
            file, self._file = self._file, None
        if file is not None:
            file.close()
