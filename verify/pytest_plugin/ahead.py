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
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from verify.engine.ahead import AheadRunner, Job, Outcome
from verify.engine.evidence import CheckRecorder
from verify.engine.fixtures import PER_CHECK, WAITING, FixtureValues, make_flow
from verify.engine.plan import PYTEST_MARKS
from verify.engine.spec import suites_dir

if TYPE_CHECKING:
    from verify.engine.session import VerifySession
    from verify.scenario.flow import Flow

PLUGIN_MODULE = "verify.pytest_plugin.plugin"
_FLOW_KEY = pytest.StashKey["Flow | BaseException"]()
AHEAD_KEY = pytest.StashKey[AheadRunner]()
_CLEANED_KEY = pytest.StashKey[bool]()
# pytest's own fixtures our fixtures depend on: fine in the closure, not as a check's argument.
_BUILTIN_DEPENDENCIES = frozenset({"request", "pytestconfig"})


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


def _shipped(item: pytest.Function) -> bool:
    return Path(item.path).resolve().parent == suites_dir()


def _ours(item: pytest.Function, name: str) -> bool:
    defs = item._fixtureinfo.name2fixturedefs.get(name)
    if not defs:
        return False
    return getattr(defs[-1].func, "__module__", "") == PLUGIN_MODULE


def ahead_jobs(items: list[pytest.Item], config: pytest.Config, session: VerifySession) -> dict[str, Job]:
    """The jobs for every eligible item, by node id; each item's recorder is set on it for pytest."""

    def flow() -> object:
        made = flow_of(config, session)
        if isinstance(made, BaseException):
            raise made
        return made

    fixtures = FixtureValues(session, flow)
    jobs: dict[str, Job] = {}
    for item in items:
        if not isinstance(item, pytest.Function) or item.get_closest_marker("check") is None:
            continue
        if not _shipped(item):
            continue
        if any(mark.name in PYTEST_MARKS for mark in item.iter_markers()):
            continue
        params: dict[str, object] = getattr(getattr(item, "callspec", None), "params", {})
        argnames = item._fixtureinfo.argnames
        if not all(
            name in params
            or (name in _BUILTIN_DEPENDENCIES and name not in argnames)
            or (_ours(item, name) and (name in PER_CHECK or fixtures.error(name) is None))
            for name in item.fixturenames
        ):
            continue
        recorder = CheckRecorder()
        item._verify_recorder = recorder  # type: ignore[attr-defined]
        call = functools.partial(item.obj, **fixtures.arguments(tuple(argnames), params, recorder))
        jobs[item.nodeid] = Job(item.nodeid, call, recorder, waits=bool(WAITING & set(item.fixturenames)))
    return jobs
