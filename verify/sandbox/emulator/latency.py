"""Telemetry of the sandbox functions (X-Ray segments, log lines) and when it becomes visible.

With `latency="aws"` the sandbox behaves like AWS does to a verifier: an event source picks a
message up a little late, X-Ray segments become queryable seconds after the request, log lines
arrive late. Off (None) everything happens at once, so tests stay fast.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verify.sandbox.emulator.visibility import VisibilityLog

log = logging.getLogger(__name__)

LATENCY_MODELS = ("aws",)
# Seconds, (low, high): what AWS typically shows a verifier.
_AWS_DELAYS = {"pickup": (0.3, 1.0), "trace": (1.0, 3.0), "log": (0.5, 2.0)}


class Delays:
    """Runs telemetry writes now, or later on timers that stop() cancels."""

    def __init__(self, model: str | None, rng: random.Random | None = None) -> None:
        self.model = model
        self._rng = rng or random.Random()
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._stopped = False

    def delay(self, kind: str) -> float:
        if self.model != "aws":
            return 0.0
        low, high = _AWS_DELAYS[kind]
        return self._rng.uniform(low, high)

    def run_later(self, kind: str, fn: Callable[[], None]) -> None:
        seconds = self.delay(kind)
        if seconds <= 0:
            _quietly(fn)
            return

        def fire() -> None:
            with self._lock:
                self._timers.discard(timer)
                if self._stopped:
                    return
            _quietly(fn)

        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        with self._lock:
            if self._stopped:
                return
            self._timers.add(timer)
        timer.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            timers, self._timers = list(self._timers), set()
        for timer in timers:
            timer.cancel()


def _quietly(fn: Callable[[], None]) -> None:
    # Telemetry must never break the data path it describes (nor a timer thread).
    try:
        fn()
    except Exception:
        log.debug("sandbox telemetry write failed", exc_info=True)


class Telemetry:
    """Writes X-Ray segments and CloudWatch log lines for the sandbox functions."""

    def __init__(
        self,
        *,
        xray: Any,
        logs: Any,
        delays: Delays,
        traces: bool,
        logs_on: bool,
        visibility: VisibilityLog | None = None,
    ) -> None:
        self._xray = xray
        self._logs = logs
        self._delays = delays
        self.traces = traces
        self.logs_on = logs_on
        self.visibility = visibility  # None unless `--visibility-log`: then the functions report to it
        self._streams: dict[str, str] = {}
        self._lock = threading.Lock()

    def segment(
        self,
        *,
        name: str,
        trace_id: str,
        start: float,
        origin: str = "AWS::Lambda::Function",
        annotations: dict[str, str] | None = None,
        parent_id: str | None = None,
        error: bool = False,
        on_visible: Callable[[], None] | None = None,
    ) -> str:
        """Records one segment (unless tracing is off) and returns its id for child segments.

        `on_visible` runs right after the put returns (on the delay's timer with latency "aws").
        """
        segment_id = secrets.token_hex(8)
        if not self.traces:
            return segment_id
        document: dict[str, Any] = {
            "name": name,
            "id": segment_id,
            "trace_id": trace_id,
            "start_time": start,
            "end_time": max(time.time(), start + 0.001),
            "origin": origin,
            "annotations": annotations or {},
        }
        if parent_id:
            document["parent_id"] = parent_id
        if error:
            document["error"] = True
        text = json.dumps(document)

        def put() -> None:
            self._xray.put_trace_segments(TraceSegmentDocuments=[text])
            if on_visible is not None:
                on_visible()

        self._delays.run_later("trace", put)
        return segment_id

    def log_lines(self, group: str, lines: list[str], on_visible: Callable[[], None] | None = None) -> None:
        """Puts the lines (unless logs are off); `on_visible` runs right after the put returns."""
        if not self.logs_on:
            return
        stamp = int(time.time() * 1000)
        events = [{"timestamp": stamp, "message": line} for line in lines]

        def put() -> None:
            self._put(group, events)
            if on_visible is not None:
                on_visible()

        self._delays.run_later("log", put)

    def _put(self, group: str, events: list[dict[str, Any]]) -> None:
        with self._lock:
            stream = self._streams.get(group)
            if stream is None:
                stream = time.strftime("%Y/%m/%d") + f"/[$LATEST]{secrets.token_hex(16)}"
                self._logs.create_log_stream(logGroupName=group, logStreamName=stream)
                self._streams[group] = stream
            self._logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
