"""Which checks run ahead (verify.engine.ahead), and the arguments they get: the same values the plugin's
fixtures give, built once per session in the main thread before any thread starts.

A check runs ahead only when it is one of the shipped suites' (ours never print: pytest's output
capture is per process, so a user's check printing from a thread would leak its output past the
capture and its redaction), when every fixture it uses is one of the plugin's own (its fixture
definition comes from verify.pytest_plugin.plugin, so a user's conftest overriding `aws` wins) or a parameter the
plugin gave it (`resource`, `output`), and when it carries no skip/xfail/usefixtures mark. Anything
else -- a user's check, an autouse fixture, `request` -- runs in pytest's own order, exactly as before:
running ahead must never change what a check does, only when its work happens.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from verify.engine.ahead import AheadRunner, Job, Outcome
from verify.engine.evidence import CheckRecorder
from verify.errors import CheckFailed
from verify.pytest_plugin.results import suites_dir

if TYPE_CHECKING:
    from verify.engine.session import VerifySession
    from verify.polling import Polled
    from verify.scenario.flow import Flow
    from verify.stack.inventory import Resource

T = TypeVar("T")

PLUGIN_MODULE = "verify.pytest_plugin.plugin"
_BLOCKING_MARKS = frozenset({"skip", "skipif", "xfail", "usefixtures"})
_FLOW_KEY = pytest.StashKey["Flow | BaseException"]()
AHEAD_KEY = pytest.StashKey[AheadRunner]()
_CLEANED_KEY = pytest.StashKey[bool]()
# Fixtures whose values are per check; the rest are the session's.
_PER_CHECK = frozenset({"check", "eventually"})
_WAITING = frozenset({"flow", "eventually"})
# pytest's own fixtures our fixtures depend on: fine in the closure, not as a check's argument.
_BUILTIN_DEPENDENCIES = frozenset({"request", "pytestconfig"})


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


def flow_of(config: pytest.Config, session: VerifySession) -> Flow | BaseException:
    """The run's one Flow -- or the exception building it raised (NotApplicable: no API), kept so the
    fixture and the threads see the same answer."""
    found = config.stash.get(_FLOW_KEY, None)
    if found is not None:
        return found
    made: Flow | BaseException
    try:
        made = make_flow(session)
    except Exception as exc:
        made = exc
    config.stash[_FLOW_KEY] = made
    return made


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


def session_factories(session: VerifySession) -> dict[str, Callable[[], object]]:
    """The plugin's session-wide fixtures by name, as zero-argument factories (the `flow` fixture
    is each runner's own: the plugin keeps one per pytest session, the direct runner one per run)."""
    return {
        "verify_run": lambda: session,
        "verify_config": lambda: session.config,
        "run_id": lambda: session.run_id,
        "outputs": session.outputs,
        "inventory": session.inventory,
        "aws": session.aws,
        "signed_http": session.http,
    }


def stop_ahead(config: pytest.Config) -> None:
    runner = config.stash.get(AHEAD_KEY, None)
    if runner is not None:
        runner.stop()


def finish_flow(config: pytest.Config) -> None:
    """Stop the checks running ahead, then remove the flow's test data -- once per run.

    Called from the `flow` fixture's teardown and again at the session's end: a run interrupted
    before pytest reached a flow check never set the fixture up, yet its steps (running ahead) may
    already have written a reading.
    """
    stop_ahead(config)
    if config.stash.get(_CLEANED_KEY, False):
        return
    config.stash[_CLEANED_KEY] = True
    made = config.stash.get(_FLOW_KEY, None)
    if made is not None and not isinstance(made, BaseException):
        made.cleanup()


def replay(outcome: Outcome) -> None:
    """Raise what a check's thread raised (for a report built from its outcome)."""
    if outcome.error is not None:
        raise outcome.error


def _session_values(config: pytest.Config, session: VerifySession) -> dict[str, Callable[[], object]]:
    def flow() -> object:
        made = flow_of(config, session)
        if isinstance(made, BaseException):
            raise made
        return made

    return {**session_factories(session), "flow": flow}


def _shipped(item: pytest.Function) -> bool:
    return Path(item.path).resolve().parent == _SUITES_DIR()


_SUITES_DIR = functools.cache(suites_dir)


def _ours(item: pytest.Function, name: str) -> bool:
    defs = item._fixtureinfo.name2fixturedefs.get(name)
    if not defs:
        return False
    return getattr(defs[-1].func, "__module__", "") == PLUGIN_MODULE


def ahead_jobs(items: list[pytest.Item], config: pytest.Config, session: VerifySession) -> dict[str, Job]:
    """The jobs for every eligible item, by node id; each item's recorder is set on it for pytest."""
    factories = _session_values(config, session)
    values: dict[str, object] = {}
    unavailable: set[str] = set()

    def session_value(name: str) -> bool:
        if name in values:
            return True
        if name in unavailable or name not in factories:
            return False
        try:
            values[name] = factories[name]()
        except Exception:
            unavailable.add(name)
            return False
        return True

    jobs: dict[str, Job] = {}
    for item in items:
        if not isinstance(item, pytest.Function) or item.get_closest_marker("check") is None:
            continue
        if not _shipped(item):
            continue
        if any(mark.name in _BLOCKING_MARKS for mark in item.iter_markers()):
            continue
        params: dict[str, object] = getattr(getattr(item, "callspec", None), "params", {})
        recorder = CheckRecorder()
        per_check: dict[str, object] = {
            "check": recorder,
            "eventually": make_waiter(session, recorder),
        }
        eligible = True
        argnames = item._fixtureinfo.argnames
        for name in item.fixturenames:
            if name in params or (name in _BUILTIN_DEPENDENCIES and name not in argnames):
                continue
            if not _ours(item, name) or (name not in _PER_CHECK and not session_value(name)):
                eligible = False
                break
        if not eligible:
            continue
        kwargs: dict[str, Any] = {}
        for name in argnames:
            kwargs[name] = params[name] if name in params else per_check.get(name, values.get(name))
        item._verify_recorder = recorder  # type: ignore[attr-defined]
        jobs[item.nodeid] = Job(
            key=item.nodeid,
            call=functools.partial(item.obj, **kwargs),
            recorder=recorder,
            waits=bool(_WAITING & set(item.fixturenames)),
        )
    return jobs


def resource_ids(resources: list[Resource]) -> list[str]:
    counts: dict[str, int] = {}
    for r in resources:
        counts[r.key] = counts.get(r.key, 0) + 1
    seen: dict[str, int] = {}
    ids = []
    for r in resources:
        if counts[r.key] == 1:
            ids.append(r.key)
        else:
            ids.append(f"{r.key}-{seen.get(r.key, 0)}")
            seen[r.key] = seen.get(r.key, 0) + 1
    return ids
