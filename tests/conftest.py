"""Fixtures shared across the test folders: moto in this process, shielded from the developer's AWS setup."""

from __future__ import annotations

import compileall
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import verify
from tests.helpers.moto import MOTO_REGION
from verify.gc_pace import pace as pace_collector
from verify.sandbox.emulator.server import build_moto_routes_one_at_a_time

# ------------------------------------------------------------------ bytecode caches
# Images that set PYTHONDONTWRITEBYTECODE=1 (CI's does) made every test worker compile and rewrite
# every test module again (collection: 12 s of CPU against 5 s with caches), and every Python process
# the suite starts (~400: console runs, sandbox children) compile verify's modules again (~0.3 s of
# CPU each). The caches are `__pycache__` folders git ignores. The processes the suite starts keep
# the variable and do not write, but they read what this process wrote.
sys.dont_write_bytecode = False


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # xdist's controller, before any worker starts
        compileall.compile_dir(Path(verify.__file__).parent, quiet=1)


@pytest.fixture
def aws_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inside `mock_aws()` with fake credentials. A profile, session token or endpoint URL (general or
    per service) from the shell would send boto3 past moto, to a real account or a local emulator."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", MOTO_REGION)
    # moto's EC2 backend loads every default AMI each time it is built (every test's reset): about 15 %
    # of the in-process tier's time, for images no check looks at.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    _refuse_beside_a_live_sandbox()
    build_moto_routes_one_at_a_time()  # discovery's and the checks' threads reach moto at once
    with mock_aws():
        # moto empties boto3's default session for the duration (and restores it after), so every
        # test's boto3.client() built a new session that parsed its service models and endpoint rules
        # again: ~130 ms a test. One session per process, always with these fake credentials, keeps
        # them parsed; the restore at the mock's end keeps it out of every test that is not mocked.
        boto3.DEFAULT_SESSION = _mocked_default_session()
        yield


def _refuse_beside_a_live_sandbox() -> None:
    """`mock_aws()` wipes moto's state, which is the whole process's: a sandbox started in this
    process by a fixture that outlives its test (module or session scope) would lose its tables under
    the tests that come after. Such a fixture belongs in a child process (`spawn_sandbox`)."""
    from verify.sandbox.manager import _LIVE, _LIVE_LOCK

    with _LIVE_LOCK:
        live = sorted(_LIVE)
    if live:
        pytest.fail(
            f"a sandbox started in this process is still running ({live}): mock_aws() would wipe its "
            "state; start long-lived sandboxes with spawn_sandbox",
            pytrace=False,
        )


_MOCKED_SESSION: list[boto3.session.Session] = []


def _mocked_default_session() -> boto3.session.Session:
    if not _MOCKED_SESSION:
        _MOCKED_SESSION.append(boto3.session.Session())
    return _MOCKED_SESSION[0]


@pytest.fixture
def moto_client(aws_mock: None) -> Callable[[str], Any]:
    """Makes a boto3 client of the named service, answered by moto in MOTO_REGION."""

    def make(service: str) -> Any:
        return boto3.client(service, region_name=MOTO_REGION)  # type: ignore[call-overload]

    return make


# ------------------------------------------------------------------ the fast tier's guard
# `python -m pytest -m "not sandbox and not slow"` is the fast tier (README). It stays fast only if every test
# that starts a sandbox or a subprocess says so with the `sandbox` marker. Rather than trust each
# author, the guard below wraps the two doors such a test must pass (subprocess.Popen, which
# subprocess.run/check_output and pytester's runpytest_subprocess use, and the emulator's start, which
# every in-process sandbox goes through) and fails any unmarked test that opens either.

_UNMARKED: list[str] = []  # the running test's node id while it lacks the marker (one per process)
_SETTING_UP: list[pytest.FixtureDef[Any]] = []  # the fixtures being set up right now, innermost last
# Fixtures that opened a door while being set up: a test using one is a sandbox test even when the
# fixture was already up (set up for an earlier test in this process) and opens nothing for it. Kept
# by definition, not by name: two files may each define a fixture called `stack`.
_SANDBOX_FIXTURES: set[pytest.FixtureDef[Any]] = set()


def _door_check(what: str) -> None:
    _SANDBOX_FIXTURES.update(_SETTING_UP)
    if _UNMARKED:
        raise UnmarkedSlowTest(
            f"{_UNMARKED[0]} {what} but is not marked `@pytest.mark.sandbox` "
            "(the fast tier `-m 'not sandbox'` must start no sandbox and no subprocess)"
        )


class UnmarkedSlowTest(Exception):
    """A test started a sandbox or a subprocess without the `sandbox` marker."""


def pytest_configure(config: pytest.Config) -> None:
    import subprocess

    # The garbage collector's pace: the `verify` command's own (verify.gc_pace). A test worker,
    # holding every collected test, moto's backends and botocore's models, spent far more re-scanning
    # them at the default pace: the fast tier took 73-79 s of CPU (three runs) against 59-66 s with
    # this (two runs). What is loaded by now is frozen, never scanned again: modules and their
    # objects, which live as long as the worker. The fault matrix's in-process runs set the same pace.
    pace_collector(freeze=True)

    from verify.sandbox.emulator import server as emulator

    popen_init = subprocess.Popen.__init__
    emulator_start = emulator.Emulator.start

    def guarded_popen_init(self: Any, *args: Any, **kwargs: Any) -> None:
        _door_check("starts a subprocess")
        popen_init(self, *args, **kwargs)

    def guarded_start(self: Any) -> None:
        _door_check("starts a sandbox")
        emulator_start(self)

    subprocess.Popen.__init__ = guarded_popen_init  # type: ignore[method-assign]
    emulator.Emulator.start = guarded_start  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    marked = item.get_closest_marker("sandbox") is not None
    if not marked:
        _UNMARKED[:] = [item.nodeid]
    try:
        return (yield)
    finally:
        _UNMARKED.clear()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    _SETTING_UP.append(fixturedef)
    try:
        return (yield)
    finally:
        _SETTING_UP.pop()


def pytest_runtest_call(item: pytest.Item) -> None:
    info = getattr(item, "_fixtureinfo", None)
    if _UNMARKED and info is not None:
        used = sorted(
            name for name, defs in info.name2fixturedefs.items() if defs and defs[-1] in _SANDBOX_FIXTURES
        )
        if used:
            raise UnmarkedSlowTest(
                f"{item.nodeid} uses the sandbox fixture(s) {', '.join(used)} but is not marked "
                "`@pytest.mark.sandbox`"
            )


# ------------------------------------------------------------------ the longest tests first
# pytest-xdist runs tests in collection order and sorts nothing: with `--dist worksteal` each worker
# starts on its half of the list and an idle one takes half of what the other has left. When a
# sandbox module's half-minute tests come last, the run ends with one worker on them while the other
# idles. So sandbox modules go first (heaviest first, by their measured share of the tier), then the
# fast tier; each module's tests stay together and in their order, so module-scoped fixtures (the
# fault matrix's sandboxes) are set up once per worker.
HEAVY_FIRST = (
    "tests/faults/test_fault_matrix.py",
    "tests/reliability/",
    "tests/report/test_sandbox_reports.py",
    "tests/install/",
    "tests/bench/",
)


def _module_weight(path: str, sandbox: bool) -> tuple[int, int]:
    if not sandbox:
        return (2, 0)
    rank = next((n for n, prefix in enumerate(HEAVY_FIRST) if path.startswith(prefix)), len(HEAVY_FIRST))
    return (0 if rank < len(HEAVY_FIRST) else 1, rank)


# In-process modules whose tests take seconds each (whole engine runs against moto, property tests over
# many drawn stacks, fuzzing): the fast tier, `-m "not sandbox and not slow"`, leaves them out so that
# it answers in well under a minute; the whole suite runs them. Measured with --durations=0 on
# 2026-12-02: these modules held 300 of the fast tier's 375 test-seconds.
SLOW_MODULES = (
    "tests/scenario/test_standin_property.py",
    "tests/scenario/test_learned_conventions.py",
    "tests/scenario/test_declared_routes.py",
    "tests/scenario/test_enrichment.py",
    "tests/stack/test_wiring.py",
    "tests/stack/test_outputs_fuzz.py",
    "tests/stack/test_cloudformation_discovery.py",
    "tests/suites/test_apigateway_http.py",
    "tests/reliability/test_cleanup_finishes.py",
    "tests/reliability/test_bad_input.py",
    "tests/reliability/test_never_destroys.py",
    "tests/reliability/test_aws_breaker.py",
    "tests/reliability/test_hostile_fuzz.py",
    "tests/reliability/test_hostile_summary.py",
    "tests/aws/test_aws.py",
    "tests/aws/test_snapshot.py",
    "tests/engine/test_one_resource_one_row.py",
    "tests/engine/test_bounded.py",
    "tests/intent/test_discover_intent.py",
    "tests/intent/test_fuzz.py",
    "tests/pytest_plugin/test_custom_checks_doc.py",
)


@pytest.hookimpl(tryfirst=True)  # before -m deselects: the marker must be on the items by then
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.split("::", 1)[0] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
    _order(items)


def _order(items: list[pytest.Item]) -> None:
    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    with_sandbox = {module(item) for item in items if item.get_closest_marker("sandbox") is not None}
    # Stable: each module keeps its own order, and a module with any sandbox test moves whole.
    items.sort(key=lambda item: _module_weight(module(item), module(item) in with_sandbox))


# ------------------------------------------------------------------ hermetic inner pytest runs
# pytester's inner runs would otherwise load every pytest plugin the machine happens to have. CI's
# interpreter carries pytest-benchmark, whose option hook runs `git` in a subprocess: the fast tier's
# guard then failed every inner run there and nowhere else. The inner runs get exactly the plugins
# this project's own install brings, so their verdict does not depend on the machine.
@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTEST_PLUGINS", "verify.pytest_plugin.plugin,allure_pytest.plugin")
    return pytester
