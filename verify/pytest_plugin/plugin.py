"""The pytest plugin: options, fixtures, markers, parametrization from the inventory, results.

Registered through the `pytest11` entry point, so it is loaded in every pytest process of an
environment where verify is installed -- and therefore inert unless a run asks for it (`--verify` or
any `--verify-*` option). Results are collected on the xdist controller only (or the single process),
from the metadata each check leaves in `report.user_properties`, which xdist carries across.

PYTEST_DONT_REWRITE: pytest's assertion rewriting has nothing to do here (no check lives in this
module), and `verify run --shard` imports the module before it hands the run to pytest, which then
printed a "warnings summary" with PytestAssertRewriteWarning ("Module already imported") under
every sharded run's dots.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from verify.config.settings import Config, load_config
from verify.engine.ahead import AheadRunner
from verify.engine.evidence import CheckRecorder, recording
from verify.engine.finish import closing_lines, exit_code, finish
from verify.engine.fixtures import make_waiter
from verify.engine.plan import parameter_sets, smoke_skip
from verify.engine.session import VerifySession, build_summary, start_session
from verify.engine.sharding import parse_shard, shard_of
from verify.errors import NotApplicable, NotReachable, UsageError, VerifyError
from verify.marks import apply_pending
from verify.model import RUN_ID_PREFIX, CheckResult, RunSummary
from verify.pytest_plugin.ahead import AHEAD_KEY, ahead_jobs, finish_flow, flow_of, replay
from verify.pytest_plugin.results import (
    annotate,
    check_id,
    result_from_report,
    status_of_report,
    worker_unit_of,
    xdist_group_of,
)
from verify.report.allure import AllureWriter
from verify.report.progress import Progress
from verify.scenario.run_ids import is_ours

if TYPE_CHECKING:
    from verify.aws.client import Aws
    from verify.aws.http import SignedHttp
    from verify.polling import Polled
    from verify.scenario.flow import Flow
    from verify.stack.inventory import Inventory
    from verify.stack.outputs import Outputs

T = TypeVar("T")

__all__ = ["CheckRecorder", "VerifySession", "build_summary", "verify_session"]

_SESSION_KEY = pytest.StashKey["VerifySession"]()
# A check's (category, character, word) on pytest's terminal: the characters of verify's own runner.
_TEST_STATUS = {
    "passed": ("passed", ".", "PASSED"),
    "failed": ("failed", "F", "FAILED"),
    "error": ("error", "E", "ERROR"),
    "skipped": ("skipped", "s", "SKIPPED"),
    "unverified": ("unverified", "u", "NOT VERIFIED FROM HERE"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("verify", "verify: deployed-stack verification")
    group.addoption("--verify", action="store_true", help="enable the verify plugin")
    group.addoption(
        "--verify-outputs", action="append", help="stack outputs file (repeat for several stacks)"
    )
    group.addoption("--verify-stack", help="read outputs live from this CloudFormation stack")
    group.addoption("--verify-template", help="the stack's own template (default: beside the outputs)")
    group.addoption("--verify-region", help="AWS region")
    group.addoption("--verify-profile", choices=("full", "smoke"), default="full")
    group.addoption("--verify-config", help="harness configuration file")
    group.addoption("--verify-report-dir", default="reports")
    group.addoption("--verify-timeout", type=float, default=90.0, help="budget per eventual wait (s)")
    group.addoption("--verify-run-id", help="run id (default: generated)")
    group.addoption("--verify-policy", help="release-gate policy: a TOML file with a [policy] table")
    group.addoption("--verify-shard", help="run only shard I of N (I/N), for CI jobs run side by side")
    group.addoption(
        "--verify-allure", action="store_true", help="write Allure results to <report dir>/allure-results"
    )


def _enabled(config: pytest.Config) -> bool:
    return bool(
        config.getoption("--verify")
        or config.getoption("--verify-outputs")
        or config.getoption("--verify-stack")
    )


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "check(service, category='functional', title=''): a verify check")
    config.addinivalue_line("markers", "resources(*kinds, role=None): parametrize by inventory resources")
    config.addinivalue_line("markers", "writes: writes tagged test data (not run in the smoke profile)")
    config.addinivalue_line(
        "markers", "flow_step(name): the flow step a check observes (see verify.scenario.flow.STEPS)"
    )
    if not _enabled(config):
        return
    given = None if _is_worker(config) else _given_session(config)
    session = given if given is not None else _session_from_options(config)
    config.stash[_SESSION_KEY] = session
    # Allure's results are written once, on the controller (or the single process).
    writes_allure = bool(config.getoption("--verify-allure")) and not _is_worker(config)
    console = None if _is_worker(config) else _given(config)
    config.pluginmanager.register(
        _VerifyHooks(session, writes_allure=writes_allure, console=console), "verify-hooks"
    )
    if _is_worker(config) and getattr(config.option, "loadgroup", False):
        config.pluginmanager.register(_GroupedNodeIds(), "verify-xdist-groups")
    if not _is_worker(config):
        config.pluginmanager.register(_PolicyNames(session), "verify-policy-names")


class _PolicyNames:
    """A policy naming a check that no suite has is one sentence and exit 2 (config/settings.py).
    First among the hooks: the checks -k or a shard deselect are still checks a policy may name."""

    def __init__(self, session: VerifySession) -> None:
        self.session = session

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from verify.config.settings import check_policy_names
        from verify.engine.spec import shipped_checks

        known = [c.id for c in shipped_checks()] + [check_id(item) for item in items]
        try:
            check_policy_names(self.session.policy, known, self.session.policy_source)
        except VerifyError as exc:
            raise pytest.UsageError(str(exc)) from None


class _GroupedNodeIds:
    """`--dist loadgroup` sends the checks whose node ids end in `@group` to one worker. The suffix
    names the unit `worker_unit_of` chooses (an xdist group; a shipped module). xdist 3.8 puts it on
    through an attribute pytest 9.2 no longer reads, so every check became its own unit and the
    flow's steps were split across workers. Run after xdist's own hook: a suffix it did put on is
    left as it is."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            group = worker_unit_of(item)
            if group is not None and not item.nodeid.endswith(f"@{group}"):
                _set_nodeid(item, f"{item.nodeid}@{group}")


def _set_nodeid(item: pytest.Item, nodeid: str) -> None:
    # Private attributes that differ by pytest version (hence setattr: typed for neither). On 9.2
    # xdist's own hook has left a `_nodeid` attribute nothing reads: the structured id comes first.
    structured = getattr(item, "_id", None)
    if structured is not None and hasattr(type(structured), "parse"):  # pytest 9.2: text kept as given
        setattr(item, "_id", type(structured).parse(nodeid))  # noqa: B010
    else:  # earlier pytest: what xdist itself sets
        setattr(item, "_nodeid", nodeid)  # noqa: B010
    if item.nodeid != nodeid:
        raise pytest.UsageError(
            f"--workers: cannot keep {item.nodeid}'s group together on this pytest version; run without --workers"
        )


class GivenSession:
    """A run's session its caller already built, inputs read (the CLI's, for an in-process pytest
    run): the plugin uses it as it is, rather than reading the same inputs again. Given, the console
    is verify's own (`verify run --suite`): verify's progress, problems and one closing line."""

    def __init__(self, session: VerifySession, *, quiet: bool = False) -> None:
        self.session = session
        self.quiet = quiet


def _given_session(config: pytest.Config) -> VerifySession | None:
    given = _given(config)
    return given.session if given is not None else None


def _given(config: pytest.Config) -> GivenSession | None:
    found = [p for p in config.pluginmanager.get_plugins() if isinstance(p, GivenSession)]
    return found[0] if found else None


def _session_from_options(config: pytest.Config) -> VerifySession:
    run_id: str | None = None
    started_at: str | None = None
    if _is_worker(config):
        run_id = config.workerinput["verify_run_id"]  # type: ignore[attr-defined]
        started_at = config.workerinput["verify_started_at"]  # type: ignore[attr-defined]
    else:
        run_id = config.getoption("--verify-run-id")
        if run_id is not None and not is_ours(run_id):  # it tags the flow's data, and clean-up deletes by it
            raise pytest.UsageError(f"--verify-run-id {run_id!r}: a run id must start with {RUN_ID_PREFIX!r}")
    shard_text = config.getoption("--verify-shard")
    try:
        shard = parse_shard(shard_text) if shard_text else None
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    session = start_session(
        config=load_config(config.getoption("--verify-config")),
        profile=config.getoption("--verify-profile"),
        region=config.getoption("--verify-region"),
        outputs_paths=list(config.getoption("--verify-outputs") or []),
        stack=config.getoption("--verify-stack"),
        template=config.getoption("--verify-template"),
        policy=config.getoption("--verify-policy"),
        shard=shard,
        report_dir=Path(config.getoption("--verify-report-dir")),
        timeout=float(config.getoption("--verify-timeout")),
        run_id=run_id,
        started_at=started_at,
    )
    try:
        session.policy  # noqa: B018 -- a bad --policy file is a usage error before anything runs
    except VerifyError as exc:
        raise pytest.UsageError(str(exc)) from None
    return session


def verify_session(config: pytest.Config) -> VerifySession:
    try:
        return config.stash[_SESSION_KEY]
    except KeyError:
        raise pytest.UsageError("the verify fixtures need the verify plugin enabled (--verify)") from None


def shard_group(item: pytest.Item) -> str:
    """What must stay together: a module whose checks share a scenario (an xdist group), else the check."""
    the_id = check_id(item)
    if xdist_group_of(item) is not None:
        return the_id.split("::", 1)[0]
    return the_id


class _VerifyHooks:
    """Hooks that exist only in an enabled run, so an ordinary pytest run pays nothing for them."""

    def __init__(
        self, session: VerifySession, *, writes_allure: bool = False, console: GivenSession | None = None
    ) -> None:
        self.session = session
        self.console = console  # given by `verify run`: the console is verify's own
        self.ahead: AheadRunner | None = None
        # On an xdist worker: the runners of the groups (xdist_group) that arrived here, by group.
        self.group_runners: dict[str, AheadRunner] = {}
        self.reported: set[str] = set()
        self._allure: AllureWriter | None = None
        self.writes_allure = writes_allure
        self.usage_error = ""  # a misspelt resource kind, found while parametrizing
        self.unplanned: set[str] = set()  # checks about a kind the stack lacks: deselected, never run

    @property
    def allure(self) -> AllureWriter | None:
        """With --verify-allure, Allure's results as the runner writes them, on the controller: made
        (its directory emptied) at the first result, so a collection alone leaves it as it is."""
        if self._allure is None and self.writes_allure:
            self._allure = AllureWriter(self.session.report_dir / "allure-results")
        return self._allure

    def _record(self, found: tuple[CheckResult, list[tuple[str, str]]] | None) -> None:
        if found is None:
            return
        result, links = found
        self.session.results.append(result)
        if self.allure is not None:
            self.allure.add(result, links)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["verify_run_id"] = self.session.run_id
        node.workerinput["verify_started_at"] = self.session.started_at

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        marker = metafunc.definition.get_closest_marker("resources")
        try:
            sets = parameter_sets(
                self.session, set(metafunc.fixturenames), marker, check_id(metafunc.definition)
            )
        except VerifyError as exc:
            if _is_worker(metafunc.config):  # the controller collects nothing: a collection error says it
                pytest.fail(str(exc), pytrace=False)
            # Raised here, inside a module's collection, it would be a collection error (pytest's
            # exit 2, "interrupted"): a usage error, once collection is done, is one sentence, exit 2.
            self.usage_error = self.usage_error or str(exc)
            return
        if not sets:
            # No resource of the kinds it asks for: not planned, as in the runner's plan (deselected
            # once collected; pytest makes an empty parametrization a skip).
            wanted = next((n for n in ("output", "resource") if n in metafunc.fixturenames), None)
            if wanted is None:
                self.unplanned.add(metafunc.definition.nodeid)
                return
            metafunc.parametrize(wanted, [None], ids=["unplanned"])
            self.unplanned.add(metafunc.definition.nodeid + "[unplanned]")
            return
        name = next(iter(sets[0][1]), None)
        if name is None:
            return
        values = [
            pytest.param(p[name], marks=pytest.mark.skip(reason=r)) if r else p[name] for _, p, r in sets
        ]
        metafunc.parametrize(name, values, ids=[suffix for suffix, _, _ in sets])

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if self.usage_error:  # one sentence, exit 2 (`verify run` maps pytest's usage error to it)
            raise pytest.UsageError(self.usage_error)
        unplanned = [i for i in items if i.nodeid in self.unplanned]
        if unplanned:
            config.hook.pytest_deselected(items=unplanned)
            items[:] = [i for i in items if i.nodeid not in self.unplanned]
        if self.session.shard is not None:
            index, total = self.session.shard
            keep = [i for i in items if shard_of(shard_group(i), total) == index]
            dropped = [i for i in items if shard_of(shard_group(i), total) != index]
            if dropped:
                config.hook.pytest_deselected(items=dropped)
                items[:] = keep
        for item in items:
            if reason := smoke_skip(self.session, writes=item.get_closest_marker("writes") is not None):
                item.add_marker(pytest.mark.skip(reason=reason))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        # Start every eligible check's work now; pytest's own loop then reports them in order.
        config = session.config
        if config.option.collectonly or _is_worker(config) or not session.items:
            return
        self._start_progress(session)
        self.ahead = self._start_ahead(session.items, config)

    def _start_progress(self, session: pytest.Session) -> None:
        """`verify run --suite`: the progress of verify's own runner, a heartbeat line while anything
        waits or runs (pytest's terminal writes the characters, so each heartbeat takes a line of its own)."""
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if self.console is None or self.console.quiet or reporter is None:
            return
        writer = reporter._tw
        progress = Progress(writer._file, live=False, column=lambda: int(writer.width_of_current_line))
        progress.track(len(session.items), lambda: len(self.reported))
        progress.start()
        session.config.add_cleanup(progress.stop)

    def _start_ahead(self, items: list[pytest.Item], config: pytest.Config) -> AheadRunner:
        """Start the eligible checks among `items` at once; the flow is told which of its steps run."""
        runner = AheadRunner()
        jobs = ahead_jobs(items, config, self.session)
        steps = {
            str(marker.args[0])
            for item in items
            if item.nodeid in jobs and (marker := item.get_closest_marker("flow_step"))
        }
        hold = None
        if steps:
            flow = flow_of(config, self.session)
            if not isinstance(flow, BaseException):
                flow.schedule(steps)
                hold = flow.ingested if "ingest" in steps else None
        if AHEAD_KEY not in config.stash:  # finish_flow stops it before the flow's clean-up
            config.stash[AHEAD_KEY] = runner
        if jobs:
            config.add_cleanup(leave_the_environment_alone())
            config.add_cleanup(capture_logs_under_logging_lock())
        runner.start(list(jobs.values()), hold_quick=hold)
        return runner

    def _start_group(self, item: pytest.Item) -> None:
        """On an xdist worker under `--dist loadgroup`: when the first check of a group arrives, the
        whole group is this worker's (xdist sends a group to one worker), so its checks start at once,
        as in a single process: the flow's waits overlap instead of adding up one after another."""
        group = worker_unit_of(item)
        if group is None or group in self.group_runners or item.config.option.collectonly:
            return
        if not getattr(item.config.option, "loadgroup", False):  # xdist sets it on the worker
            return  # another distribution may split the group: each check then runs in its turn
        members = [i for i in item.session.items if worker_unit_of(i) == group]
        self.group_runners[group] = self._start_ahead(members, item.config)

    def _runner_of(self, nodeid: str) -> AheadRunner | None:
        for runner in (self.ahead, *self.group_runners.values()):
            if runner is not None and runner.has(nodeid):
                return runner
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        runner = self._runner_of(pyfuncitem.nodeid)
        if runner is None:
            return None
        outcome = runner.outcome(pyfuncitem.nodeid)
        pyfuncitem._verify_ahead_s = outcome.duration_s  # type: ignore[attr-defined]
        if outcome.error is not None:
            raise outcome.error
        return True

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, Any, None]:
        # One recorder per check, current for its setup, call and teardown: AWS and HTTP hooks write
        # there. A check running ahead already has one, which its thread has been writing into.
        if _is_worker(item.config):
            self._start_group(item)
        recorder: CheckRecorder | None = getattr(item, "_verify_recorder", None)
        if recorder is None:
            recorder = CheckRecorder()
            item._verify_recorder = recorder  # type: ignore[attr-defined]
        with recording(recorder):
            yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        ahead_s = getattr(item, "_verify_ahead_s", None)
        if report.when == "call" and ahead_s is not None:
            report.duration = ahead_s  # the check's own work, not the wait for its thread's answer
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            annotate(item, call, report, self.session, self.session.known_region())
        if report.failed:
            _redact_report(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Runs on workers too (harmless: only the controller writes files, in sessionfinish).
        self.reported.add(report.nodeid)
        self._record(result_from_report(report, self.session.policy))

    def _report_finished_ahead(self, session: pytest.Session) -> None:
        """An interrupted run's report still holds every check that had its answer, also those
        pytest's loop had not reached yet (they ran ahead)."""
        runner = self.ahead
        if runner is None:
            return
        for item in session.items:
            if item.nodeid in self.reported or not runner.finished(item.nodeid):
                continue
            call = pytest.CallInfo.from_call(functools.partial(replay, runner.outcome(item.nodeid)), "call")
            report = pytest.TestReport.from_item_and_call(item, call)
            annotate(item, call, report, self.session, self.session.known_region())
            self._record(result_from_report(report, self.session.policy))

    def pytest_keyboard_interrupt(self) -> None:
        self.session.interrupted = True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        for runner in self.group_runners.values():
            runner.stop()  # a worker's groups: stopped before the flow's clean-up below
        try:
            # -x or Ctrl-C: nothing may keep polling after the run, and what the flow wrote goes.
            finish_flow(session.config)
        except Exception as exc:
            self.session.notes.append(f"clean-up of the flow's test data failed: {exc}")
        if _is_worker(session.config) or session.config.option.collectonly or self.usage_error:
            return  # nothing ran, so there is nothing to judge (a usage error writes no report either)
        interrupted = self.session.interrupted or exitstatus == pytest.ExitCode.INTERRUPTED
        if interrupted:
            self._report_finished_ahead(session)
        _redact_report_files(session.config)
        summary = finish(self.session, self.allure, interrupted=interrupted)
        allure_dir = getattr(session.config.option, "allure_report_dir", None)
        if allure_dir and Path(allure_dir).is_dir():  # a user's own allure-pytest run beside ours
            from verify.report.allure import finish_allure_results

            finish_allure_results(Path(allure_dir), summary)
        session.config.stash[_SUMMARY_KEY] = summary
        if interrupted:
            return
        if exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.TESTS_FAILED,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ):
            session.exitstatus = exit_code(summary)

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        """A check's character as verify's own runner prints it: pytest would print `F` for a check
        that could not verify, where verify says `E` (error), and its closing line disagreed."""
        status = status_of_report(report)
        return None if status is None else _TEST_STATUS.get(status)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        summary = terminalreporter.config.stash.get(_SUMMARY_KEY, None)
        if summary is None:
            return
        if self.console is not None:
            # pytest's own summary is off (`verify run` passes -qq --tb=no -rN): a suite that could not
            # be collected still says why, above verify's closing line.
            for report in terminalreporter.stats.get("error", []):
                if isinstance(report, pytest.CollectReport):
                    terminalreporter.write_line(f"ERROR collecting {report.nodeid}")
                    terminalreporter.write_line(report.longreprtext)
        terminalreporter.ensure_newline()
        # A plain `pytest --verify` keeps pytest's own summary (it lists the problems): verify adds
        # its closing line. Under `verify run`, verify's console is the whole console.
        ours = self.console is not None
        on_call = self.session.read_only and ours
        lines = closing_lines(
            summary, self.session.report_dir, summary.duration_s, on_call=on_call, problems=ours
        )
        for line in lines:
            terminalreporter.write_line(line)


_SUMMARY_KEY = pytest.StashKey[RunSummary]()


def _redact_report(report: pytest.TestReport) -> None:
    """pytest prints a failing check's arguments (a sensitive Resource's repr holds its value),
    assertion operands and captured output: the terminal and junit.xml show this text."""
    from verify.escape import terminal
    from verify.redact import REDACTOR

    if report.longrepr is not None and not isinstance(report.longrepr, tuple):
        text = str(report.longrepr)
        # The terminal shows it: no control character from a key or an answer reaches it either.
        masked = terminal(REDACTOR.redact(text), multiline=True)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, REDACTOR.redact(content)) for title, content in report.sections]


def _redact_report_files(config: pytest.Config) -> None:
    """Mask secrets in what other plugins wrote: allure records parameter reprs, exception text and
    captured output, junit.xml captured output; a sensitive output's value must reach none of them."""
    from verify.redact import REDACTOR

    files: list[Path] = []
    junit = getattr(config.option, "xmlpath", None)
    if junit:
        files.append(Path(junit))
    allure_dir = getattr(config.option, "allure_report_dir", None)
    if allure_dir and Path(allure_dir).is_dir():
        files.extend(p for p in Path(allure_dir).iterdir() if p.is_file())
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # binary attachments carry no text we wrote
        masked = REDACTOR.redact(text)
        if masked != text and path.suffix == ".json":  # a mask put into its text could cut the JSON
            masked = _masked_json_text(text, masked)
        if masked != text:
            path.write_text(masked, encoding="utf-8")


def _masked_json_text(text: str, masked: str) -> str:
    from verify.redact import REDACTOR

    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return masked
    return REDACTOR.masked_json(data)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def verify_run(pytestconfig: pytest.Config) -> VerifySession:
    """The run's shared state (config, outputs, inventory, AWS access)."""
    return verify_session(pytestconfig)


@pytest.fixture(scope="session")
def verify_config(verify_run: VerifySession) -> Config:
    return verify_run.config


@pytest.fixture(scope="session")
def run_id(verify_run: VerifySession) -> str:
    """The marker this run puts on every item it writes, so it can find and remove only its own."""
    return verify_run.run_id


@pytest.fixture(scope="session")
def outputs(verify_run: VerifySession) -> Outputs:
    return verify_run.outputs()


@pytest.fixture(scope="session")
def inventory(verify_run: VerifySession) -> Inventory:
    return verify_run.inventory()


@pytest.fixture(scope="session")
def aws(verify_run: VerifySession) -> Aws:
    return verify_run.aws()


@pytest.fixture(scope="session")
def signed_http(verify_run: VerifySession) -> SignedHttp:
    return verify_run.http()


@pytest.fixture
def check(request: pytest.FixtureRequest) -> Iterator[CheckRecorder]:
    """Evidence and attempt counts of the current check (carried into every report)."""
    recorder: CheckRecorder | None = getattr(request.node, "_verify_recorder", None)
    if recorder is None:  # outside a verify run's protocol hook (a plain pytest run using the fixture)
        recorder = CheckRecorder()
        request.node._verify_recorder = recorder
    yield recorder


@pytest.fixture
def eventually(verify_run: VerifySession, check: CheckRecorder) -> Callable[..., Polled[Any]]:
    """`polling.eventually` with the run's timeout, recording attempts on the current check."""
    return make_waiter(verify_run, check)


@pytest.fixture(scope="session")
def flow(pytestconfig: pytest.Config, verify_run: VerifySession) -> Iterator[Flow]:
    """The run's one tagged reading, followed through the stack; every item it wrote is removed at
    the end of the run -- also when a step failed or the run was interrupted."""
    scenario = flow_of(pytestconfig, verify_run)
    if isinstance(scenario, BaseException):
        raise scenario
    try:
        yield scenario
    finally:
        finish_flow(pytestconfig)  # stops the steps still running ahead first


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """A suite imported before pytest was (the engine planned it, then the run fell back to pytest in
    the same process) holds `verify.mark` marks pytest never got: applied before pytest reads them."""
    apply_pending(obj)


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """A check that finds itself not applicable is a skip with its reason. Raised as pytest's own
    skip here, pytest never renders a traceback for it (~30 ms each) only to have it replaced."""
    try:
        return (yield)
    except NotApplicable as exc:
        raise pytest.skip.Exception(str(exc), _use_item_location=True) from None
    except NotReachable as exc:
        # Neither passed nor failed for pytest's own tally; our result keeps the real exception
        # (results.py reads it back), so the status is `unverified`, not `skipped`.
        pyfuncitem._verify_not_reachable = exc  # type: ignore[attr-defined]
        raise pytest.skip.Exception(f"not verified from here: {exc}", _use_item_location=True) from None


def pytest_report_header(config: pytest.Config) -> str | None:
    if not _enabled(config) or _is_worker(config):
        return None
    session = config.stash.get(_SESSION_KEY, None)
    if session is None:
        return None
    return f"verify: run {session.run_id}, profile {session.profile}, pid {os.getpid()}"


def leave_the_environment_alone() -> Callable[[], None]:
    """Stop pytest from setting and deleting PYTEST_CURRENT_TEST; returns the undo.

    Checks running ahead read os.environ from their threads (requests and botocore look up proxy
    settings there, iterating it) while pytest's main thread sets the variable at each test's set-up
    and deletes it at each teardown. A read that met a delete was a check error on CI, "KeyError:
    'PYTEST_CURRENT_TEST'". The variable is only for a test to inspect itself; checks run ahead have
    no use for it. (A private pytest function: when it is not there, nothing is patched.)
    """
    import _pytest.runner

    original = getattr(_pytest.runner, "_update_current_test_var", None)
    if original is None:
        return lambda: None

    def untouched(item: object, when: object) -> None:
        return None

    _pytest.runner._update_current_test_var = untouched

    def undo() -> None:
        _pytest.runner._update_current_test_var = original

    return undo


def capture_logs_under_logging_lock() -> Callable[[], None]:
    """Make pytest's log capture attach itself under logging's own lock; returns the undo.

    At each test's set-up, call and teardown, pytest attaches its capture handler to every logger
    that does not propagate, iterating logging's registry of loggers without that lock. A check
    running ahead that meets a logger for the first time (a module botocore or urllib3 imports
    late) adds to the registry from its thread, under the lock. The main thread's iteration then
    raised "dictionary changed size during iteration" (found under load, reproduced with a tiny
    thread switch interval): the phase it hit became an error, a healthy stack's check ERROR or
    the next one's "previous item was not torn down properly". The lock is re-entrant, and what
    runs under it (adding handlers, setting levels) takes only that lock. (A private pytest class:
    when it or the lock is not there, nothing is patched.)
    """
    import logging

    import _pytest.logging

    capture: Any = getattr(_pytest.logging, "catching_logs", None)
    original = getattr(capture, "__enter__", None)
    lock = getattr(logging, "_lock", None)
    if original is None or lock is None:
        return lambda: None

    @functools.wraps(original)
    def enter_locked(self: object) -> object:
        with lock:
            return original(self)

    capture.__enter__ = enter_locked

    def undo() -> None:
        capture.__enter__ = original

    return undo
