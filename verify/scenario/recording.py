"""How the flow records its steps: which step depends on which, the evidence of each, and the
timeline (when each hop's signal became visible).

Steps may run one after another (pytest order) or all at once (checks running ahead, each in its own
thread): a step waits for the steps it needs only when they are `schedule`d to run, so the waits for
the raw item, the processed item, the query answer, the trace and the log lines overlap, and a
step nobody scheduled is "did not run" at once, as before.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from verify.errors import STOPPING, CheckFailed, VerifyError
from verify.polling import NotYet, Polled, waits_cancelled
from verify.redact import REDACTOR

Waiter = Callable[..., Polled[Any]]
_EVIDENCE_CHARS = 600
# The steps other steps can depend on, in the order they happen.
STEPS = ("ingest", "raw", "processed", "enriched", "queue", "query", "trace", "logs")
Step = Callable[..., dict[str, Any]]


def ends(name: str) -> Callable[[Step], Step]:
    """Mark step `name` finished whenever its method returns or raises (NotApplicable included),
    so a concurrent step waiting on it never waits for a step that already gave its answer."""

    def wrap(method: Step) -> Step:
        @functools.wraps(method)
        def run(self: StepBook, *args: Any, **kwargs: Any) -> dict[str, Any]:
            try:
                return method(self, *args, **kwargs)
            finally:
                self._done[name].set()

        return run

    return wrap


# Steps whose verdict reads another step's signal: they became visible with it.
_SEEN_WITH = {"queue": "processed", "enriched": "processed"}


def _seen_at(evidence: dict[str, Any]) -> float | None:
    """The latest `seen_at` of the step's waits (the logs step waits once per log group)."""
    waits = [evidence.get("wait")] + [v.get("wait") for v in evidence.values() if isinstance(v, dict)]
    seen = [float(w["seen_at"]) for w in waits if isinstance(w, dict) and "seen_at" in w]
    return max(seen) if seen else None


def trim(value: Any) -> Any:
    # Secret-named attributes (`deviceToken`, `apiKey`) masked in the item first: once it is cut into
    # a string, no key says which part is a secret any more.
    return REDACTOR.trimmed(value, _EVIDENCE_CHARS)


def not_yet(observed: str) -> Any:
    raise NotYet(observed, observed)


class StepBook:
    """A flow's step bookkeeping (`verify.scenario.flow.Flow` sets the state in its `__init__`)."""

    timeout: float
    waiter: Waiter
    passed: dict[str, bool]
    timeline: dict[str, float]
    seen_at: dict[str, float]  # step -> epoch s its signal was seen
    _sent_at: float | None
    _done: dict[str, threading.Event]
    _scheduled: frozenset[str]

    def schedule(self, steps: Iterator[str] | set[str] | frozenset[str] | list[str]) -> None:
        """Say which steps will run concurrently: a step then waits for these before judging."""
        unknown = set(steps) - set(STEPS)
        if unknown:
            raise VerifyError(f"[flow] unknown step(s) {sorted(unknown)}; the steps are {', '.join(STEPS)}")
        self._scheduled = frozenset(steps)

    @property
    def ingested(self) -> threading.Event:
        """Set once the ingest step has its answer (sent or refused)."""
        return self._done["ingest"]

    def _await(self, name: str) -> None:
        """Wait until a scheduled step has its answer (bounded: it has its own deadline)."""
        if name not in self._scheduled:
            return
        bound = time.monotonic() + 2 * self.timeout + 60
        while not self._done[name].wait(0.05):
            if waits_cancelled():
                raise VerifyError(
                    f"the {name} step did not finish ({STOPPING}), so this step cannot be observed"
                )
            if time.monotonic() > bound:
                raise VerifyError(f"the {name} step did not finish, so this step cannot be observed")

    def _upstream_failed(self, after: tuple[str, ...]) -> str | None:
        for upstream in after:
            if self.passed.get(upstream) is False and (
                upstream not in self._scheduled or self._done[upstream].is_set()
            ):
                return upstream
        return None

    @contextmanager
    def step(self, name: str, *requires: str, after: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
        """Run one step: refuse (could not verify) when a step it depends on did not pass.

        `after` names steps whose signal this one is downstream of when they apply: if one of them
        ran and failed, waiting out a full timeout for a signal that cannot come would only delay
        the verdict (with a 90 s budget, a stopped processor would cost minutes per later step).
        """
        for needed in requires:
            self._await(needed)
            if not self.passed.get(needed):
                state = "failed" if needed in self.passed else "did not run"
                raise VerifyError(f"the {needed} step {state}, so the {name} step cannot be observed")
        failed = self._upstream_failed(after)
        if failed:
            raise VerifyError(f"the {failed} step failed, so the {name} step cannot be observed")
        # `flow_step` names the hop for the reports' timeline, failed or passed (issue 18).
        evidence: dict[str, Any] = {"flow_step": name}
        self.passed[name] = False
        try:
            yield evidence
        except CheckFailed as exc:
            exc.evidence.setdefault("flow_step", name)
            raise
        self.passed[name] = True
        if self._sent_at is not None:
            self.timeline[name] = time.monotonic() - self._sent_at
            evidence["at_s"] = round(self.timeline[name], 3)
        # When the hop's signal became visible (epoch s), not when its check finished: its own
        # wait's answer, the ingest's answer, or the processed item a queue/enrichment verdict reads.
        seen = _seen_at(evidence) or self.seen_at.get(_SEEN_WITH.get(name, ""))
        if seen is None and name == "ingest":
            seen = round(time.time(), 3)
        if seen is not None:
            self.seen_at[name] = evidence["seen_at"] = seen

    def _wait(
        self,
        probe: Callable[[], Any],
        what: str,
        resource: str,
        evidence: dict[str, Any],
        after: tuple[str, ...] = (),
    ) -> Any:
        """Poll for a signal; record when it was seen (epoch) and how many calls the wait took.

        `after` names upstream steps running concurrently: once one of them fails, the signal cannot
        come, so the wait ends there ("could not verify") instead of running out its deadline.
        """

        def guarded() -> Any:
            failed = self._upstream_failed(after)
            if failed:
                raise VerifyError(f"the {failed} step failed, so {what} cannot be observed")
            return probe()

        try:
            polled = self.waiter(guarded, what=what, timeout=self.timeout, resource=resource)
        except CheckFailed:
            # Waiting side by side, an upstream step may run out its deadline at the same moment: if
            # it failed, this signal could never come, and that is "could not verify", not a failure.
            for upstream in after:
                self._await(upstream)
            failed = self._upstream_failed(after)
            if failed:
                raise VerifyError(f"the {failed} step failed, so {what} cannot be observed") from None
            raise
        evidence["wait"] = {
            "attempts": polled.attempts,
            "waited_s": round(polled.elapsed_s, 3),
            "seen_at": round(time.time(), 3),
        }
        return polled.value
