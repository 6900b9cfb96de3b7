"""Checks run ahead: when the run starts, every eligible check's body starts at once in a thread
pool; pytest then reports the checks in its own order, each waiting only for its own answer.

Why: a run's time is spent waiting -- on AWS round trips (hundreds of them) and on the stack's
eventual consistency (seconds per signal). One after another these add up; concurrently, a run
takes about as long as its longest wait. pytest stays the runner of record: collection, skips,
markers, -k, -x, hooks and reports behave as before; only the work of the call phase moves to a
thread, and its outcome (a value or the very exception) is handed back to pytest's call phase.

Which checks are eligible is the plugin's decision (it knows its fixtures); this module only runs
and hands over. Stopping cancels what has not started and ends every wait of what has
(`polling.cancel_waits`), so Ctrl-C and `-x` never leave threads polling for a minute.

The threads are daemon threads of a small pool of our own, and nothing ever waits on them without a
bound: a check blocked in a call no timeout cuts (an AWS answer trickling a byte at a time through a
proxy keeps botocore's per-read timeout from ever firing) is abandoned at the run's deadline --
its outcome is an error naming that deadline -- and a stop waits at most STOP_JOIN_S for the
threads. concurrent.futures' pool would join every worker at interpreter exit, however stuck.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from verify.engine.evidence import CheckRecorder, recording
from verify.errors import VerifyError
from verify.polling import allow_waits, cancel_waits, run_deadline, run_deadline_message, waits_cancelled

# Enough threads that the flow's waits (a handful, each blocked for seconds) never starve the quick
# describe calls; few enough that a real account's API rate limits are not the bottleneck
# (botocore retries throttling itself).
DEFAULT_THREADS = 8
MAX_THREADS = 32
# The longest quick checks wait for a held start (the flow's ingest): bounded, so a slow or broken
# ingest never delays them for long.
HOLD_S = 1.0
# How long a stop waits for the threads to notice it: their waits and HTTP requests end within
# ~50 ms of `cancel_waits`; a thread blocked in botocore is left behind (a daemon, gone at exit).
STOP_JOIN_S = 1.5
# How often the main thread, waiting for a check's outcome, wakes so a stop signal's handler runs.
WAKE_EVERY_S = 0.2


class _DaemonPool:
    """A fixed set of daemon threads taking (future, call) from one queue."""

    def __init__(self, threads: int, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True) for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, call: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((future, call))
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, call = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as error:
                future.set_exception(error)

    def shutdown(self, join_s: float) -> None:
        """Cancel what has not started, then wait at most `join_s` for the threads to end."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for _ in self._threads:
            self._queue.put(None)
        until = time.monotonic() + join_s
        for thread in self._threads:
            thread.join(max(0.0, until - time.monotonic()))


@dataclass
class Outcome:
    """What a check's body did in its thread: returned `value`, or raised `error`."""

    value: object = None
    error: BaseException | None = None
    duration_s: float = 0.0


@dataclass(frozen=True)
class Job:
    key: str  # the pytest node id
    call: Callable[[], object]
    recorder: CheckRecorder
    waits: bool = False  # it polls for seconds: started first, and given its own thread


class AheadRunner:
    """Runs jobs concurrently from `start`; `outcome(key)` blocks until that one's answer is in."""

    def __init__(self, threads: int = DEFAULT_THREADS) -> None:
        self._threads = threads
        self._pool: _DaemonPool | None = None
        self._futures: dict[str, Future[Outcome]] = {}
        self._lock = threading.Lock()
        self._stopped = False
        self._started = time.monotonic()

    def start(self, jobs: list[Job], *, hold_quick: threading.Event | None = None) -> None:
        """Start every job; with `hold_quick`, the quick ones wait for it (at most HOLD_S) first.

        A full run's verdict waits for its slowest signal, which starts with the flow's ingest: the
        ingest goes first, on an idle process, and the ~100 describe calls run during the waits."""
        if not jobs:
            return
        waiting = [job for job in jobs if job.waits]
        quick = [job for job in jobs if not job.waits]
        threads = min(MAX_THREADS, self._threads + len(waiting))
        self._pool = _DaemonPool(threads, "verify-check")
        self._started = time.monotonic()
        for job in waiting:  # the long waits first: they set the run's length
            self._futures[job.key] = self._pool.submit(functools.partial(_run, job))
        for job in quick:
            self._futures[job.key] = self._pool.submit(functools.partial(_run, job, hold_quick))

    def has(self, key: str) -> bool:
        return key in self._futures

    def outcome(self, key: str) -> Outcome:
        """The job's outcome; at the run's deadline, an error saying the check was abandoned."""
        future = self._futures[key]
        at = run_deadline()
        while True:
            left = None if at is None else at - time.monotonic()
            # In slices, never one long block: a stop signal the kernel hands to one of the pool's
            # threads only sets a flag, and Python runs its handler in the main thread once that
            # thread is next awake -- a single wait for the whole deadline kept a SIGTERM'd run
            # alive until its flow wait ended (CI: still waiting 60 s after the signal).
            step = WAKE_EVERY_S if left is None else max(0.0, min(WAKE_EVERY_S, left))
            try:
                result: Outcome = future.result(timeout=step)
            except TimeoutError:
                if left is not None and left <= WAKE_EVERY_S:
                    return Outcome(
                        error=VerifyError(run_deadline_message("this check")),
                        duration_s=time.monotonic() - self._started,
                    )
                continue
            return result

    def finished(self, key: str) -> bool:
        future = self._futures.get(key)
        return future is not None and future.done() and not future.cancelled()

    @property
    def count(self) -> int:
        return len(self._futures)

    def stop(self) -> None:
        """Cancel what has not started, end the waits of what has, and wait for the threads. Then
        waits are allowed again, whoever cancelled them: a stop signal (`polling.begin_stop`) cancels
        them too, and the clean-up that follows needs its AWS answers -- the stop budget still bounds
        it. Allowing only when this stop had cancelled them left a signal's cancel in place whenever
        the checks had all ended by then (their waits end at the signal), and under load every
        clean-up call slower than 50 ms was abandoned, leaving the run's reading in the stack."""
        with self._lock:
            pool, already = self._pool, self._stopped
            self._stopped = True
        if pool is not None and not already:
            if any(not f.done() for f in self._futures.values()):
                cancel_waits()
            try:
                pool.shutdown(STOP_JOIN_S)
            finally:
                allow_waits()
        elif waits_cancelled():
            allow_waits()  # no thread of ours is left to end: only the clean-up waits from here


def _run(job: Job, hold: threading.Event | None = None) -> Outcome:
    if hold is not None:
        hold.wait(HOLD_S)
    started = time.monotonic()
    with recording(job.recorder):
        try:
            value = job.call()
        except BaseException as exc:
            return Outcome(error=exc, duration_s=time.monotonic() - started)
    return Outcome(value=value, duration_s=time.monotonic() - started)
