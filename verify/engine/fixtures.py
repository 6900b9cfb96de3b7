"""One table of the values a check may ask for by name -- the plugin's fixtures -- for both runners.

Session values are built once per run, in the main thread before any check's thread starts; a value
that could not be built is kept as its exception, so every check asking for it gets the same error.
Per-check values (`check`, `eventually`) are made for each check's recorder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from verify.engine.evidence import CheckRecorder
from verify.errors import CheckFailed

if TYPE_CHECKING:
    from verify.engine.session import VerifySession
    from verify.polling import Polled
    from verify.scenario.flow import Flow

T = TypeVar("T")

SESSION_FIXTURES = ("verify_run", "verify_config", "run_id", "outputs", "inventory", "aws", "signed_http")
PER_CHECK = frozenset({"check", "eventually"})
# Every fixture name the engine gives (the flow's is per run, built only when a check asks for it).
FIXTURES = frozenset({*SESSION_FIXTURES, *PER_CHECK, "flow"})
# Asking for one of these, a check polls for seconds: it is started first, on its own thread.
WAITING = frozenset({"flow", "eventually"})


def make_waiter(session: VerifySession, check: CheckRecorder) -> Callable[..., Polled[Any]]:
    """`polling.eventually` with the run's timeout, recording attempts on `check` (the `eventually` fixture)."""
    from verify.polling import eventually as _eventually

    def wait(probe: Callable[[], T], *, what: str, **kwargs: Any) -> Polled[T]:
        kwargs.setdefault("timeout", session.timeout)
        kwargs.setdefault("on_attempt", lambda attempt: check.add_poll(what, attempt))
        try:
            polled = _eventually(probe, what=what, **kwargs)
        except CheckFailed as exc:
            check.attempts += exc.attempts
            raise
        check.attempts += polled.attempts
        check.record(f"wait: {what}", {"attempts": polled.attempts, "elapsed_s": round(polled.elapsed_s, 3)})
        return polled

    return wait


def make_flow(session: VerifySession) -> Flow:
    """A Flow for the run: its reading, tagged with the run id, through the session's AWS and API."""
    from verify.scenario.flow import Flow

    return Flow(
        aws=session.aws(),
        http=session.http(),
        inventory=session.inventory(),
        config=session.config,
        run_id=session.run_id,
        timeout=session.timeout,
        left_behind=session.left_behind,
        # Interrupted: clean-up waits only briefly for readings in flight (the run must end in seconds).
        stopping=lambda: session.interrupted,
    )


class FixtureValues:
    """The run's fixture values by name. `flow` builds the run's one Flow: each front end keeps its
    own (the plugin one per pytest session, so its fixture and its threads see the same one)."""

    def __init__(self, session: VerifySession, flow: Callable[[], object]) -> None:
        self.session = session
        self._factories: dict[str, Callable[[], object]] = {
            "verify_run": lambda: session,
            "verify_config": lambda: session.config,
            "run_id": lambda: session.run_id,
            "outputs": session.outputs,
            "inventory": session.inventory,
            "aws": session.aws,
            "signed_http": session.http,
            "flow": flow,
        }
        self.values: dict[str, object] = {}
        self.broken: dict[str, BaseException] = {}

    def error(self, name: str) -> BaseException | None:
        """Build the session value `name` now (once); the exception that stopped it, if any."""
        if name not in self._factories:
            return LookupError(f"no fixture value named {name!r}")
        if name not in self.values and name not in self.broken:
            try:
                self.values[name] = self._factories[name]()
            except Exception as exc:
                self.broken[name] = exc
        return self.broken.get(name)

    def first_error(self, names: tuple[str, ...]) -> BaseException | None:
        """The first of `names`' session values that could not be built (the others are parameters or
        per-check values, which always can)."""
        return next((e for n in names if n in self._factories and (e := self.error(n)) is not None), None)

    def arguments(
        self, names: tuple[str, ...], params: dict[str, Any], recorder: CheckRecorder
    ) -> dict[str, Any]:
        """A check's arguments: its parameters, its recorder and waiter, the session's values."""
        kwargs: dict[str, Any] = {}
        for name in names:
            if name in params:
                kwargs[name] = params[name]
            elif name == "check":
                kwargs[name] = recorder
            elif name == "eventually":
                kwargs[name] = make_waiter(self.session, recorder)
            else:
                kwargs[name] = self.values[name]
        return kwargs
