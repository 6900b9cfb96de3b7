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

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type

from verify.errors import CheckFailed

T = TypeVar("T")

OBSERVED_MAX_CHARS = 200
BACKOFF_FACTOR = 1.8
# Each wait is drawn from [(1 - JITTER) * base, base]: with a factor of 1.8 the waits still grow
# strictly until the cap (0.8 * 1.8 > 1), and at the cap a probe runs at most ~1.25 times a second.
JITTER = 0.2
# Evidence keeps the first and the last attempts of a long wait; the report needs the shape, not 90 rows.
EVIDENCE_HEAD = 5
EVIDENCE_TAIL = 15

_jitter_source = random.Random()


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


def short_repr(value: object, limit: int = OBSERVED_MAX_CHARS) -> str:
    """A one-line description of what a probe saw, short enough for a check's message."""
    text = value if isinstance(value, str) and value else repr(value)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def backoff_wait(attempt_number: int, first_wait: float, max_wait: float, rand: random.Random) -> float:
    """The wait after attempt `attempt_number` (1-based), before the deadline trims it."""
    base = min(max_wait, first_wait * BACKOFF_FACTOR ** (attempt_number - 1))
    return base * (1.0 - JITTER * rand.random())


def eventually(
    probe: Callable[[], T],
    *,
    what: str,
    timeout: float,
    until: Callable[[T], bool] | None = None,
    resource: str = "",
    first_wait: float = 0.05,
    max_wait: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> Polled[T]:
    """Call `probe` until it succeeds (and `until(value)` holds) or `timeout` seconds have passed.

    Returns the value with the attempt count, the elapsed time and the history of what was seen.
    On timeout raises `CheckFailed` whose message shows the last observed value.
    """
    start = clock()
    deadline = start + timeout
    history: list[Attempt] = []

    def record(observed: object) -> None:
        attempt = Attempt(number=len(history) + 1, at_s=clock() - start, observed=short_repr(observed))
        history.append(attempt)
        if on_attempt is not None:
            on_attempt(attempt)

    def attempt_once() -> T:
        try:
            value = probe()
        except NotYet as not_yet:
            record(not_yet.observed if not_yet.observed is not None else not_yet.what)
            raise
        record(value)
        if until is not None and not until(value):
            raise _Unsatisfied(value)
        return value

    def past_deadline(_: RetryCallState) -> bool:
        return clock() >= deadline

    def wait(retry_state: RetryCallState) -> float:
        # Trimmed so the last attempt lands on the deadline instead of sleeping past it.
        remaining = max(0.0, deadline - clock())
        return min(backoff_wait(retry_state.attempt_number, first_wait, max_wait, _jitter_source), remaining)

    retrying = Retrying(
        stop=past_deadline,
        wait=wait,
        retry=retry_if_exception_type(NotYet),
        sleep=sleep,
        reraise=True,
    )
    try:
        value = retrying(attempt_once)
    except NotYet as last:
        raise _timed_out(what, timeout, resource, history, last) from None
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
