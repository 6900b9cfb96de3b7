"""The one way to wait for eventual consistency.

`eventually(probe, what=..., timeout=...)` calls `probe` until it returns a value that satisfies
`until` (or simply returns, when `until` is None), backing off exponentially with jitter, and never
waiting past the deadline. A probe says "not there yet" by raising `NotYet`; any other exception
propagates at once, because a `CheckFailed` or a `VerifyError` is an answer, not a delay.

Throttling and transport retries stay inside botocore, so this loop only waits for the *stack* to
converge; retries are never multiplied.

Built on tenacity, with the clock and the sleep injectable so the waiting logic is tested without
waiting. tenacity's own `stop_after_delay` reads `time.monotonic` directly, so the deadline here is
a stop callable that reads the injected clock instead.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type

from verify.errors import STOPPING, CheckFailed, VerifyError

T = TypeVar("T")

OBSERVED_MAX_CHARS = 200
BACKOFF_FACTOR = 1.8
# Each wait is drawn from [(1 - JITTER) * base, base]: with a factor of 1.8 the waits still grow
# strictly until the cap (0.8 * 1.8 > 1).
JITTER = 0.2
# The schedule has two phases. Near the expected arrival (the first NEAR_WINDOW_S of a wait, where a
# pipeline's signals land: an item in well under a second, a trace or a log line in a few) the waits
# stay at NEAR_WAIT_S, so a signal is seen at most ~0.33 s after it becomes visible while a probe runs
# at most 1 / (0.8 * 0.33) ~ 3.8 times a second (the first wait, 0.25 s, keeps that bound too).
# Past the window the signal is late, and precision matters less than the API's budget: the waits
# grow to MAX_WAIT_S (~1.25 calls a second at most).
FIRST_WAIT_S = 0.25
NEAR_WAIT_S = 0.33
NEAR_WINDOW_S = 10.0
MAX_WAIT_S = 1.0
# Evidence keeps the first and the last attempts of a long wait; the report needs the shape, not 90 rows.
EVIDENCE_HEAD = 5
EVIDENCE_TAIL = 15

_jitter_source = random.Random()
# Set when the run is being stopped (Ctrl-C, SIGTERM): every wait, in any thread, ends at once.
_cancelled = threading.Event()


# The whole run's deadline (time.monotonic()), set when a run starts (`run_budget_s`): every wait,
# HTTP request and check running ahead ends there, whatever its own budget says.
_run_deadline: float | None = None
# After the deadline the run still removes its test data and writes its reports, within this.
CLEANUP_GRACE_S = 30.0
RUN_BUDGET_FACTOR = 2.0
RUN_BUDGET_EXTRA_S = 60.0


def run_budget_s(timeout: float) -> float:
    """The whole run's budget for `--timeout T`: 2 x T + 60 s (the flow's chained waits overlap, so two
    budgets cover the longest chain; 60 s for setup and the describe calls). Documented in
    docs/configuration.md ("Time bounds")."""
    return RUN_BUDGET_FACTOR * timeout + RUN_BUDGET_EXTRA_S


def set_run_deadline(at: float | None) -> None:
    global _run_deadline
    _run_deadline = at


def run_deadline() -> float | None:
    return _run_deadline


def run_deadline_message(what: str) -> str:
    return (
        f"{what}: not finished by the run's deadline (2 x --timeout + 60 s), so it was abandoned unfinished"
    )


# Set when a stop signal arrived (`begin_stop`): clean-up and reports must be done by then, so a
# wait or an AWS try that would outlast it is not started.
_stop_deadline: float | None = None


def begin_stop(budget_s: float) -> None:
    """A stop signal arrived: end every wait now, and give what follows `budget_s` seconds."""
    global _stop_deadline
    _stop_deadline = time.monotonic() + budget_s
    _cancelled.set()


def end_stop() -> None:
    global _stop_deadline
    _stop_deadline = None


def stop_deadline() -> float | None:
    return _stop_deadline


def hard_deadline() -> float | None:
    """When nothing more may be sent: the run's deadline plus its clean-up grace."""
    return None if _run_deadline is None else _run_deadline + CLEANUP_GRACE_S


def past_hard_deadline() -> str | None:
    """Why nothing more may be sent (the stop budget, or the run's deadline and its clean-up grace
    are spent), else None."""
    now = time.monotonic()
    if _stop_deadline is not None and now >= _stop_deadline:
        return "the run was stopped and its time for clean-up is spent"
    if _run_deadline is not None and now >= _run_deadline + CLEANUP_GRACE_S:
        return "the run's deadline (2 x --timeout + 60 s, plus 30 s for clean-up) has passed"
    return None


def cancel_waits() -> None:
    """End every wait in progress, in every thread (the run is being interrupted)."""
    _cancelled.set()


def allow_waits() -> None:
    """Undo `cancel_waits`: once the check threads have stopped (the clean-up's own AWS calls must
    not be abandoned; the stop budget still bounds them), or for a new run in the same process."""
    _cancelled.clear()


# True while a probe runs again inside a wait (a retry), in that thread: it is asking because what it
# read has to change, so verify.aws.snapshot never answers it from an earlier read. A wait's first attempt
# is an ordinary read: at 200 resources, answering it too saved a DescribeTable per table.
_in_wait: ContextVar[bool] = ContextVar("verify_in_wait", default=False)


def in_wait() -> bool:
    return _in_wait.get()


def waits_cancelled() -> bool:
    return _cancelled.is_set()


def _interruptible_sleep(seconds: float) -> None:
    _cancelled.wait(seconds)


@dataclass
class WaitInProgress:
    """One wait as the console shows it while it runs: what, since when, against which budget."""

    what: str
    started: float  # time.monotonic()
    budget_s: float
    attempts: int = 0

    def elapsed_s(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.started


# Every wait running now, in any thread: what the console's status line and heartbeat name, so an
# on-call reader can tell a 90 s wait from a hang.
_waits_lock = threading.Lock()
_waits: dict[int, WaitInProgress] = {}


def waits_in_progress() -> list[WaitInProgress]:
    """The waits running now, the longest-running first (copies: they go on changing)."""
    with _waits_lock:
        found = [dataclasses.replace(w) for w in _waits.values()]
    return sorted(found, key=lambda w: w.started)


class NotYet(Exception):
    """Raised by a probe to say the awaited state is not there yet; `observed` is what it saw."""

    def __init__(self, what: str, observed: object = None) -> None:
        super().__init__(what)
        self.what = what
        self.observed = observed


class _Unsatisfied(NotYet):
    """The probe returned, but `until` rejected the value: retried exactly like `NotYet`."""

    def __init__(self, value: object) -> None:
        super().__init__("condition not met", value)
        self.value = value


@dataclass(frozen=True)
class Attempt:
    number: int
    at_s: float
    observed: str


@dataclass(frozen=True)
class Polled(Generic[T]):
    value: T
    attempts: int
    elapsed_s: float
    history: tuple[Attempt, ...]


class Waiter(Protocol):
    """What the `eventually` fixture is: `eventually` with the run's timeout, each attempt recorded
    on the current check. A check's wait returns `Polled` of what its probe returns."""

    def __call__(
        self,
        probe: Callable[[], T],
        *,
        what: str,
        until: Callable[[T], bool] | None = ...,
        resource: str = ...,
        timeout: float = ...,
    ) -> Polled[T]: ...


def short_repr(value: object, limit: int = OBSERVED_MAX_CHARS) -> str:
    """A one-line description of what a probe saw, short enough for a check's message."""
    text = value if isinstance(value, str) and value else repr(value)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def backoff_wait(
    attempt_number: int,
    first_wait: float,
    max_wait: float,
    rand: random.Random,
    *,
    late_attempts: int = 0,
    near_wait: float | None = None,
) -> float:
    """The wait after attempt `attempt_number` (1-based), before the deadline trims it.

    `late_attempts` counts the attempts made after the near window ended (0 inside it); with a
    `near_wait`, the waits inside the window grow from `first_wait` to `near_wait` only, and past
    it they grow on from `near_wait` to `max_wait`.
    """
    if near_wait is None:
        base = min(max_wait, first_wait * BACKOFF_FACTOR ** (attempt_number - 1))
    elif late_attempts == 0:
        base = min(near_wait, max_wait, first_wait * BACKOFF_FACTOR ** (attempt_number - 1))
    else:
        base = min(max_wait, max(near_wait, first_wait) * BACKOFF_FACTOR**late_attempts)
    return base * (1.0 - JITTER * rand.random())


def eventually(
    probe: Callable[[], T],
    *,
    what: str,
    timeout: float,
    until: Callable[[T], bool] | None = None,
    resource: str = "",
    first_wait: float = FIRST_WAIT_S,
    max_wait: float = MAX_WAIT_S,
    near_wait: float | None = NEAR_WAIT_S,
    near_window: float = NEAR_WINDOW_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] | None = None,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> Polled[T]:
    """Call `probe` until it succeeds (and `until(value)` holds) or `timeout` seconds have passed.

    Returns the value with the attempt count, the elapsed time and the history of what was seen.
    On timeout raises `CheckFailed` whose message shows the last observed value. When the run is
    being stopped (`cancel_waits`), the wait ends at once with a `VerifyError`: a check running
    ahead in a pool thread must not keep polling for a minute after Ctrl-C.
    """
    start = clock()
    late = {"attempts": 0}
    pause = sleep if sleep is not None else _interruptible_sleep
    deadline = start + timeout
    history: list[Attempt] = []
    shown = WaitInProgress(what=what, started=time.monotonic(), budget_s=timeout)

    def record(observed: object) -> None:
        attempt = Attempt(number=len(history) + 1, at_s=clock() - start, observed=short_repr(observed))
        history.append(attempt)
        shown.attempts = attempt.number
        if on_attempt is not None:
            on_attempt(attempt)

    def attempt_once() -> T:
        token = _in_wait.set(bool(history))
        try:
            value = probe()
        except NotYet as not_yet:
            record(not_yet.observed if not_yet.observed is not None else not_yet.what)
            raise
        finally:
            _in_wait.reset(token)
        record(value)
        if until is not None and not until(value):
            raise _Unsatisfied(value)
        return value

    def past_deadline(_: RetryCallState) -> bool:
        return clock() >= deadline

    def wait(retry_state: RetryCallState) -> float:
        now = clock()
        if near_wait is not None and now - start >= near_window:
            late["attempts"] += 1
        # Trimmed so the last attempt lands on the deadline instead of sleeping past it.
        remaining = max(0.0, deadline - now)
        if sleep is None:  # real time: the run's deadline and a stop's budget bound every wait
            for bound in (_run_deadline, _stop_deadline):
                if bound is not None:
                    remaining = min(remaining, max(0.0, bound - time.monotonic()))
        drawn = backoff_wait(
            retry_state.attempt_number,
            first_wait,
            max_wait,
            _jitter_source,
            late_attempts=late["attempts"],
            near_wait=near_wait,
        )
        return min(drawn, remaining)

    def stop_or_past_deadline(state: RetryCallState) -> bool:
        if _cancelled.is_set() or (
            _stop_deadline is not None and sleep is None and time.monotonic() >= _stop_deadline
        ):
            raise VerifyError(f"{what}: {STOPPING}, so the wait ended unfinished")
        if _run_deadline is not None and sleep is None and time.monotonic() >= _run_deadline:
            raise VerifyError(run_deadline_message(what))
        return past_deadline(state)

    retrying = Retrying(
        stop=stop_or_past_deadline,
        wait=wait,
        retry=retry_if_exception_type(NotYet),
        sleep=pause,
        reraise=True,
    )
    with _waits_lock:
        _waits[id(shown)] = shown
    try:
        value = retrying(attempt_once)
    except NotYet as last:
        raise _timed_out(what, timeout, resource, history, last) from None
    finally:
        with _waits_lock:
            _waits.pop(id(shown), None)
    return Polled(value=value, attempts=len(history), elapsed_s=clock() - start, history=tuple(history))


def _timed_out(what: str, timeout: float, resource: str, history: list[Attempt], last: NotYet) -> CheckFailed:
    observed = history[-1].observed if history else short_repr(last.observed)
    n = len(history)
    kept = (
        history if n <= EVIDENCE_HEAD + EVIDENCE_TAIL else history[:EVIDENCE_HEAD] + history[-EVIDENCE_TAIL:]
    )
    evidence: dict[str, Any] = {
        "attempts": [{"number": a.number, "at_s": round(a.at_s, 3), "observed": a.observed} for a in kept],
        "timeout_s": timeout,
    }
    if len(kept) < n:
        evidence["attempts_omitted"] = n - len(kept)
    return CheckFailed(
        message=f"{what}: expected within {timeout:g}s, not seen ({n} attempts); last seen: {observed}",
        resource=resource,
        attempts=n,
        actual=observed,
        evidence=evidence,
    )
