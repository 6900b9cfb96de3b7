"""The runner: the shipped suites' checks without pytest -- the engine's own front door.

Why: an on-call smoke check should answer in about the time its read calls take; pytest's start-up,
collection and per-check protocol cost over a second on a 2-core machine (bench/RESULTS.md). The
checks are planned (`plan`) as the plugin parametrizes them, run concurrently on the AheadRunner,
judged (`outcome`) and reported (`finish`) by the same pieces as the plugin's. The flow's steps wait
for each other through `Flow.schedule`; its data is removed at the end, also when interrupted.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from verify.engine.ahead import AheadRunner, Job
from verify.engine.evidence import CheckRecorder
from verify.engine.finish import finish, print_summary
from verify.engine.fixtures import WAITING, FixtureValues, make_flow
from verify.engine.outcome import check_result, teardown_error
from verify.model import CheckResult, RunSummary, Status
from verify.report.allure import AllureWriter
from verify.report.console import check_links
from verify.report.progress import Progress

if TYPE_CHECKING:
    from verify.engine.session import VerifySession
    from verify.engine.spec import CheckSpec

_STATUS_CHAR = {
    Status.PASSED: ".",
    Status.SKIPPED: "s",
    Status.FAILED: "F",
    Status.ERROR: "E",
    Status.UNVERIFIED: "u",
}


@dataclass
class Run:
    summary: RunSummary
    interrupted: bool


def run(
    session: VerifySession, planned: list[CheckSpec], out: TextIO = sys.stdout, *, quiet: bool = False
) -> Run:
    """Run the planned checks concurrently, print progress as pytest -q would, write every report.

    While checks run, `Progress` says what is waited for (a live line on a terminal, a heartbeat
    line about every 10 s in a log); `quiet` silences it, never the problems or the closing line."""
    fixtures = FixtureValues(session, flow=lambda: make_flow(session))
    runner = AheadRunner()
    jobs: dict[str, Job] = {}
    recorders: dict[str, CheckRecorder] = {}
    setup_errors: dict[str, BaseException] = {}
    for spec in (s for s in planned if not s.skip):
        recorders[spec.id] = recorder = CheckRecorder()
        if (failed := fixtures.first_error(spec.parameters)) is not None:
            setup_errors[spec.id] = failed
            continue
        call = functools.partial(spec.func, **fixtures.arguments(spec.parameters, spec.params, recorder))
        jobs[spec.id] = Job(spec.id, call, recorder, waits=bool(WAITING & set(spec.parameters)))
    flow: Any = fixtures.values.get("flow")
    steps = {step for spec in planned if (step := spec.step)}
    if flow is not None:
        flow.schedule(steps)
    runner.start(
        list(jobs.values()), hold_quick=flow.ingested if flow is not None and "ingest" in steps else None
    )
    allure = AllureWriter(session.report_dir / "allure-results")
    region = session.known_region()

    def report(spec: CheckSpec) -> CheckResult:
        outcome = runner.outcome(spec.id) if spec.id in jobs else None
        result = check_result(
            spec.id,
            spec.meta(session.stack_of),
            spec.subject,
            session.policy,
            recorder=recorders.get(spec.id),
            error=setup_errors.get(spec.id) or (outcome.error if outcome else None),
            setup=spec.id in setup_errors,
            judged=(Status.SKIPPED, spec.skip) if spec.skip else None,
            duration_s=outcome.duration_s if outcome else 0.0,
        )
        session.results.append(result)
        # Written now, while the slower checks still run (see AllureWriter).
        allure.add(result, check_links(spec.subject, result.evidence or {}, region))
        return result

    interrupted = False
    reported: set[str] = set()
    progress = Progress(out, enabled=not quiet)
    progress.track(len(planned), lambda: len(planned) - sum(1 for k in jobs if not runner.finished(k)))
    progress.start()
    try:
        for spec in planned:
            progress.write(_STATUS_CHAR[report(spec).status])
            reported.add(spec.id)
    except KeyboardInterrupt:
        interrupted = session.interrupted = True  # the flow's clean-up then waits only briefly
        # The report still holds every check that had its answer, wherever it was in the order.
        for spec in planned:
            if spec.id not in reported and (spec.id not in jobs or runner.finished(spec.id)):
                report(spec)
    finally:
        progress.stop()
        runner.stop()
        if flow is not None and _clean_up(session, flow, planned):
            interrupted = True
    out.write("\n")
    summary = finish(session, allure, interrupted=interrupted)
    # Smoke is read by on-call: its problems as one table, errors of one cause in one row.
    # The reports' own duration (from the session's start, discovery included): the console said
    # ~1.4 s less than summary.md and report.html for the same run, measured from the checks' start.
    print_summary(summary, session.report_dir, summary.duration_s, out, on_call=session.read_only)
    return Run(summary=summary, interrupted=interrupted)


def _clean_up(session: VerifySession, flow: Any, planned: list[CheckSpec]) -> bool:
    """Remove what the flow wrote; a failure is an error result of its own, as pytest's teardown gives.

    True when a stop signal came during it. Every check had its answer by then, but the clean-up may
    be waiting for a reading still in flight: the run is now interrupted, and the clean-up sweeps
    once more on a stopped run's short grace (within the stop budget) and reports what stays, so the
    reports and the closing line are still written. Without this, a Ctrl-C there lost them all."""
    try:
        _sweep(session, flow, planned)
    except KeyboardInterrupt:
        session.interrupted = True
        _sweep(session, flow, planned)
        return True
    return False


def _sweep(session: VerifySession, flow: Any, planned: list[CheckSpec]) -> None:
    try:
        flow.cleanup()
    except Exception as exc:
        last = next((s.id for s in reversed(planned) if "flow" in s.parameters), "suites/test_flow.py")
        session.results.append(teardown_error(last, f"{type(exc).__name__}: {exc}", session.policy))
