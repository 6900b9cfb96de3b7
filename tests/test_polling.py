"""eventually(): retries, backoff, deadline and messages, on a fake clock that never really waits."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable

import pytest

from verify.errors import AwsAccessError, CheckFailed, VerifyError
from verify.polling import (
    FIRST_WAIT_S,
    MAX_WAIT_S,
    NEAR_WAIT_S,
    NEAR_WINDOW_S,
    Attempt,
    NotYet,
    Polled,
    allow_waits,
    backoff_wait,
    cancel_waits,
    eventually,
    short_repr,
)


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps (or a probe takes time)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.now += seconds


def poll(clock: FakeClock, probe: Callable[[], object], **kwargs: object) -> Polled[object]:
    kwargs.setdefault("what", "thing")
    kwargs.setdefault("timeout", 10.0)
    return eventually(probe, clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def ready_after(n: int, value: object = "ready") -> Callable[[], object]:
    calls = {"n": 0}

    def probe() -> object:
        calls["n"] += 1
        if calls["n"] < n:
            raise NotYet("not ready", observed=f"state-{calls['n']}")
        return value

    return probe


def test_returns_at_once_when_probe_succeeds_first_time() -> None:
    clock = FakeClock()
    polled = poll(clock, lambda: 42)
    assert polled.value == 42
    assert polled.attempts == 1
    assert polled.elapsed_s == 0.0
    assert clock.sleeps == []
    assert polled.history == (Attempt(number=1, at_s=0.0, observed="42"),)


def test_retries_not_yet_until_probe_succeeds() -> None:
    clock = FakeClock()
    polled = poll(clock, ready_after(4))
    assert polled.value == "ready"
    assert polled.attempts == 4
    assert len(clock.sleeps) == 3
    assert polled.elapsed_s == pytest.approx(sum(clock.sleeps))
    assert [a.observed for a in polled.history] == ["state-1", "state-2", "state-3", "ready"]


def test_until_rejects_values_and_retries() -> None:
    clock = FakeClock()
    states = iter(["CREATING", "CREATING", "ACTIVE"])
    polled = poll(clock, lambda: next(states), until=lambda s: s == "ACTIVE")
    assert polled.value == "ACTIVE"
    assert polled.attempts == 3


def test_waits_grow_then_cap_at_max_wait_without_a_near_window() -> None:
    clock = FakeClock()
    with pytest.raises(CheckFailed):
        poll(
            clock,
            lambda: "x",
            until=lambda _: False,
            timeout=30.0,
            first_wait=0.05,
            max_wait=1.0,
            near_wait=None,
        )
    waits = clock.sleeps[:-1]  # the last one is trimmed to the deadline
    assert waits[0] <= 0.05
    capped_from = next(i for i, w in enumerate(waits) if w > 0.75)
    growing = waits[: capped_from + 1]
    assert all(b > a for a, b in itertools.pairwise(growing)), growing
    # factor 1.8, jitter within 20%: consecutive waits never more than 1.8 / 0.8 apart.
    assert all(b / a <= 2.25 + 1e-9 for a, b in itertools.pairwise(growing)), growing
    assert max(waits) <= 1.0
    assert all(0.8 <= w <= 1.0 for w in waits[capped_from + 1 :])


def test_near_the_expected_arrival_waits_stay_short_then_grow_to_the_cap() -> None:
    clock = FakeClock()
    seen: list[Attempt] = []
    with pytest.raises(CheckFailed):
        poll(clock, lambda: "x", until=lambda _: False, timeout=30.0, on_attempt=seen.append)
    gaps = [(a.at_s, b.at_s - a.at_s) for a, b in itertools.pairwise(seen)]
    near = [gap for at, gap in gaps if at < NEAR_WINDOW_S - NEAR_WAIT_S]
    late = [gap for at, gap in gaps[:-1] if at >= NEAR_WINDOW_S + 5]
    # A signal appearing in the window is seen at most NEAR_WAIT_S later...
    assert max(near) <= NEAR_WAIT_S + 1e-9
    # ...and, once the first short waits are over, a probe runs no more than ~4 times a second.
    assert all(gap >= 0.8 * NEAR_WAIT_S - 1e-9 for gap in near[2:]), near
    assert near[0] <= FIRST_WAIT_S
    # Past the window the signal is late: the waits grow to the 1 s cap, never beyond it.
    assert late and all(0.8 * MAX_WAIT_S <= gap <= MAX_WAIT_S + 1e-9 for gap in late), late


def test_jitter_varies_waits_within_bounds() -> None:
    rand = random.Random(7)
    draws = {backoff_wait(10, 0.05, 1.0, rand) for _ in range(50)}
    assert len(draws) > 40
    assert all(0.8 <= d <= 1.0 for d in draws)


def test_timeout_raises_check_failed_with_last_observed_value() -> None:
    clock = FakeClock()
    counter = {"n": 0}

    def probe() -> object:
        counter["n"] += 1
        raise NotYet("item absent", observed={"Count": counter["n"]})

    with pytest.raises(CheckFailed) as info:
        poll(clock, probe, what="marker item in raw-table", timeout=5.0, resource="RawTableName")
    failed = info.value
    n = counter["n"]
    assert failed.message == (
        f"marker item in raw-table: expected within 5s, not seen ({n} attempts); last seen: {{'Count': {n}}}"
    )
    assert failed.resource == "RawTableName"
    assert failed.attempts == n
    assert failed.actual == f"{{'Count': {n}}}"
    assert failed.evidence["attempts"][-1]["observed"] == f"{{'Count': {n}}}"
    assert failed.evidence["attempts"][0]["number"] == 1


def test_deadline_is_honoured_and_last_attempt_lands_on_it() -> None:
    clock = FakeClock()
    seen: list[Attempt] = []
    with pytest.raises(CheckFailed):
        poll(clock, lambda: 0, until=lambda _: False, timeout=7.3, on_attempt=seen.append)
    assert sum(clock.sleeps) == pytest.approx(7.3)
    assert seen[-1].at_s == pytest.approx(7.3)
    assert all(a.at_s <= 7.3 + 1e-9 for a in seen)


def test_zero_timeout_means_exactly_one_attempt() -> None:
    clock = FakeClock()
    with pytest.raises(CheckFailed) as info:
        poll(clock, lambda: "CREATING", until=lambda s: s == "ACTIVE", timeout=0)
    assert info.value.attempts == 1
    assert "last seen: CREATING" in info.value.message
    assert clock.sleeps == []


def test_slow_probe_consumes_the_budget() -> None:
    clock = FakeClock()

    def slow_probe() -> object:
        clock.now += 4.0
        raise NotYet("slow")

    with pytest.raises(CheckFailed) as info:
        poll(clock, slow_probe, timeout=10.0)
    # 0→4, sleep trimmed or small, ~4→8, ~8→12 past deadline: no fourth call.
    assert info.value.attempts == 3
    assert "last seen: slow" in info.value.message


@pytest.mark.parametrize("error", [CheckFailed("table is gone"), AwsAccessError("denied"), KeyError("x")])
def test_other_exceptions_propagate_immediately(error: Exception) -> None:
    clock = FakeClock()
    calls = {"n": 0}

    def probe() -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise NotYet("warming up")
        raise error

    with pytest.raises(type(error)) as info:
        poll(clock, probe)
    assert info.value is error
    assert calls["n"] == 2
    assert len(clock.sleeps) == 1


def test_exception_in_until_propagates() -> None:
    clock = FakeClock()

    def until(_: object) -> bool:
        raise ValueError("bad predicate")

    with pytest.raises(ValueError, match="bad predicate"):
        poll(clock, lambda: 1, until=until)
    assert clock.sleeps == []


@pytest.mark.parametrize("timeout", [3.0, 30.0, 90.0])
def test_call_rate_stays_bounded(timeout: float) -> None:
    clock = FakeClock()
    seen: list[Attempt] = []
    with pytest.raises(CheckFailed):
        poll(clock, lambda: None, until=lambda _: False, timeout=timeout, on_attempt=seen.append)
    after_first_second = [a for a in seen if a.at_s > 1.0]
    # ~4 calls per second of waiting beyond the first second, plus the one landing on the deadline.
    assert len(after_first_second) <= 4 * (timeout - 1.0) + 1
    assert len([a for a in seen if a.at_s <= 1.0]) <= 10
    # and it does keep trying: at least one call per max_wait (1s) of waiting.
    assert len(seen) >= timeout


def test_long_waits_keep_evidence_short_but_count_every_attempt() -> None:
    clock = FakeClock()
    with pytest.raises(CheckFailed) as info:
        poll(clock, lambda: None, until=lambda _: False, timeout=90.0)
    failed = info.value
    assert failed.attempts > 40
    assert len(failed.evidence["attempts"]) == 20
    assert failed.evidence["attempts_omitted"] == failed.attempts - 20
    assert failed.evidence["attempts"][-1]["number"] == failed.attempts


def test_not_yet_without_observed_reports_its_reason() -> None:
    clock = FakeClock()
    with pytest.raises(CheckFailed) as info:
        poll(clock, ready_after(10**6), timeout=0.5)
    assert "last seen: state-" in info.value.message

    def bare() -> object:
        raise NotYet("queue still empty")

    with pytest.raises(CheckFailed) as info2:
        poll(clock, bare, timeout=0.5)
    assert info2.value.message.endswith("last seen: queue still empty")


def test_short_repr_trims_and_flattens() -> None:
    text = short_repr("line1\nline2   " + "x" * 500)
    assert len(text) == 200
    assert "\n" not in text
    assert text.endswith("...")
    assert short_repr("") == "''"
    assert short_repr(None) == "None"


def test_not_yet_carries_observed() -> None:
    err = NotYet("absent", observed=[1, 2])
    assert err.what == "absent"
    assert err.observed == [1, 2]
    assert str(err) == "absent"


def test_cancel_waits_ends_a_wait_running_in_another_thread_at_once() -> None:
    outcome: dict[str, object] = {}

    def waiting() -> None:
        started = time.monotonic()
        try:
            eventually(lambda: None, what="a trace", timeout=30.0, until=lambda _: False)
        except VerifyError as exc:
            outcome["error"] = exc
        outcome["took"] = time.monotonic() - started

    thread = threading.Thread(target=waiting)
    thread.start()
    try:
        time.sleep(0.3)
        cancel_waits()
        thread.join(timeout=5)
    finally:
        allow_waits()
    assert not thread.is_alive()
    assert "the run is being stopped" in str(outcome["error"])
    assert isinstance(outcome["took"], float) and outcome["took"] < 3.0
    # Cleared again: a later wait in the same process polls normally.
    assert eventually(lambda: "ok", what="x", timeout=1.0).value == "ok"
