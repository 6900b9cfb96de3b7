"""The direct runner: the shipped suites' checks without pytest.

Why: an on-call smoke check should answer in about the time its read calls take, and a full run in
about the time its slowest signal takes. pytest's start-up, collection and per-check protocol
(hooks, allure-pytest's files) cost over a second on a 2-core machine: several times a smoke run's
calls, and a fifth of a full run (bench/RESULTS.md). The shipped checks are plain functions with
marks and the plugin's fixtures, so they are planned here exactly as the plugin parametrizes them --
same ids, titles, statuses, evidence, skips and reports -- and run concurrently on the AheadRunner;
the flow's steps wait for each other through `Flow.schedule`, and its data is removed at the end,
also when the run is interrupted.

`verify run` and `verify smoke` use it when only the shipped suites run in one process; with
--suite, --workers or --shard the run goes through pytest as before, and so does any shipped check
asking for a fixture this runner does not give (`NeedsPytest`).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from verify.engine.ahead import AheadRunner, Job, Outcome
from verify.engine.evidence import REDACTED_ON_RECORD, CheckRecorder
from verify.errors import UsageError, VerifyError
from verify.model import Category, CheckResult, RunSummary, Status, Verdict
from verify.pytest_plugin.ahead import make_flow, make_waiter, resource_ids, session_factories
from verify.pytest_plugin.results import meta_of, status_of, suites_dir, with_asked
from verify.report.allure import AllureWriter

if TYPE_CHECKING:
    from verify.engine.session import VerifySession

SMOKE_SKIP = "not applicable: writes test data, and the smoke profile is read-only"
_STATUS_CHAR = {Status.PASSED: ".", Status.SKIPPED: "s", Status.FAILED: "F", Status.ERROR: "E"}
_SESSION_FIXTURES = (
    "verify_run",
    "verify_config",
    "run_id",
    "outputs",
    "inventory",
    "aws",
    "signed_http",
    "flow",
)


class NeedsPytest(Exception):
    """The run needs pytest's own machinery (a fixture or mark this runner does not give)."""


@dataclass
class Planned:
    id: str  # suites/<module>::<test>[<param id>]
    name: str  # <test>[<param id>]
    func: Callable[..., object]
    marks: dict[str, Any]  # name -> pytest Mark, the closest one
    params: dict[str, Any] = field(default_factory=dict)  # resource / output
    skip: str = ""  # a reason: planned, never run


@functools.cache
def _parameters(func: Callable[..., object]) -> tuple[str, ...]:
    # Asked several times per planned check (hundreds at 200 resources): inspect is not cheap.
    return tuple(inspect.signature(func).parameters)


def _marks_of(obj: object) -> list[Any]:
    raw = getattr(obj, "pytestmark", [])
    return [getattr(m, "mark", m) for m in (raw if isinstance(raw, list) else [raw])]


def plan(session: VerifySession, keyword: str | None = None) -> list[Planned]:
    """Every shipped check, parametrized from the inventory as the plugin does, filtered by -k."""
    matches = _keyword_filter(keyword)
    planned: list[Planned] = []
    for path in sorted(suites_dir().glob("test_*.py")):
        module = importlib.import_module(f"suites.{path.stem}")
        module_marks = _marks_of(module)
        for name, func in vars(module).items():
            if not name.startswith("test_") or not inspect.isfunction(func):
                continue
            marks = {m.name: m for m in module_marks}
            marks.update({m.name: m for m in reversed(_marks_of(func))})  # the closest wins
            if "check" not in marks:
                continue
            for item in _parametrize(session, path.name, name, func, marks):
                keywords = {"suites", path.name, item.name, *marks}
                if matches(keywords):
                    planned.append(item)
    return planned


def _parametrize(
    session: VerifySession, module: str, name: str, func: Callable[..., object], marks: dict[str, Any]
) -> list[Planned]:
    wanted = set(_parameters(func))
    skip = SMOKE_SKIP if session.profile == "smoke" and "writes" in marks else ""
    unknown = wanted - {"resource", "output", "check", "eventually", *_SESSION_FIXTURES}
    if (unknown and not skip) or {"skip", "skipif", "xfail", "usefixtures"} & set(marks):
        # A check planned as skipped never asks for its fixtures (the flow's, in smoke).
        raise NeedsPytest(f"{module}::{name} needs {sorted(unknown) or 'a pytest mark'}")

    def one(suffix: str, params: dict[str, Any], reason: str = skip) -> Planned:
        test = f"{name}[{suffix}]" if suffix else name
        return Planned(f"suites/{module}::{test}", test, func, marks, params, reason)

    if "output" in wanted:
        every = list(session.outputs().outputs)
        return [one(o.key, {"output": o}) for o in every]
    resources = marks.get("resources")
    if resources is None or "resource" not in wanted:
        return [one("", {})]
    kinds = tuple(resources.args)
    role = resources.kwargs.get("role")
    pool = session.inventory().of_kind(*kinds) if kinds else list(session.inventory().resources)
    found = [r for r in pool if role is None or r.role == role]
    if not found:
        what = " or ".join(kinds) + (f" with role {role}" if role else "")
        # The placeholder's own reason comes first, as pytest reads its closest skip mark first.
        return [one("none", {"resource": None}, f"not applicable: the outputs name no {what}")]
    return [one(i, {"resource": r}) for i, r in zip(resource_ids(found), found, strict=True)]


def _keyword_filter(keyword: str | None) -> Callable[[set[str]], bool]:
    """pytest's -k: an expression over case-insensitive substrings of a check's names and marks."""
    if not keyword:
        return lambda _: True
    try:
        from _pytest.mark.expression import Expression
    except ImportError as exc:  # a pytest without it: let pytest itself read -k
        raise NeedsPytest("-k needs pytest's expression parser") from exc
    try:
        expression = Expression.compile(keyword)
    except SyntaxError as exc:
        raise UsageError(f"-k {keyword!r} is not a valid expression: {exc.msg}") from None

    def matches(names: set[str]) -> bool:
        lowered = [n.lower() for n in names]

        def matcher(sub: str, /, **_: str | int | bool | None) -> bool:
            return any(sub.lower() in n for n in lowered)

        return bool(expression.evaluate(matcher))

    return matches


@dataclass
class DirectRun:
    summary: RunSummary
    interrupted: bool


def run_direct(session: VerifySession, planned: list[Planned], out: TextIO = sys.stdout) -> DirectRun:
    """Run the planned checks concurrently, print progress as pytest -q would, write every report."""
    started = time.monotonic()
    values, broken = _session_values(session, needs_flow=any(_uses(i, "flow") for i in planned if not i.skip))
    flow = values.get("flow")
    if flow is not None:
        flow.schedule({step for i in planned if (step := _step(i))})  # type: ignore[attr-defined]
    runner = AheadRunner()
    jobs: dict[str, Job] = {}
    recorders: dict[str, CheckRecorder] = {}
    setup_errors: dict[str, BaseException] = {}
    for item in planned:
        if item.skip:
            continue
        recorder = CheckRecorder()
        recorders[item.id] = recorder
        failed = next((broken[n] for n in _parameters(item.func) if n in broken), None)
        if failed is not None:
            setup_errors[item.id] = failed
            continue
        kwargs = _arguments(item, values, session, recorder)
        waits = "eventually" in kwargs or "flow" in kwargs
        jobs[item.id] = Job(
            key=item.id, call=functools.partial(item.func, **kwargs), recorder=recorder, waits=waits
        )
    hold = flow.ingested if flow is not None and any(_step(i) == "ingest" for i in planned) else None  # type: ignore[attr-defined]
    runner.start(list(jobs.values()), hold_quick=hold)
    allure = AllureWriter(session.report_dir / "allure-results")
    region = _region(session)
    interrupted = False
    reported: set[str] = set()
    try:
        for item in planned:
            outcome = runner.outcome(item.id) if item.id in jobs else None
            result = _result(session, item, outcome, setup_errors.get(item.id), recorders.get(item.id))
            session.results.append(result)
            reported.add(item.id)
            out.write(_STATUS_CHAR[result.status])
            out.flush()
            # Written now, while the slower checks still run (see AllureWriter).
            allure.add(result, _links(item, result, region))
    except KeyboardInterrupt:
        interrupted = True
        session.interrupted = True  # the flow's clean-up then waits only briefly for readings in flight
        # The report still holds every check that had its answer, wherever it was in the order.
        for item in planned:
            done = item.id not in jobs or runner.finished(item.id)
            if item.id not in reported and done:
                outcome = runner.outcome(item.id) if item.id in jobs else None
                result = _result(session, item, outcome, setup_errors.get(item.id), recorders.get(item.id))
                session.results.append(result)
                allure.add(result, _links(item, result, region))
    finally:
        runner.stop()
        if flow is not None:
            _clean_up(session, flow, planned)
    out.write("\n")
    summary = _finish(session, allure, interrupted)
    _print_summary(summary, session, time.monotonic() - started, out)
    return DirectRun(summary=summary, interrupted=interrupted)


def _step(item: Planned) -> str | None:
    mark = item.marks.get("flow_step")
    return str(mark.args[0]) if mark is not None and not item.skip else None


def _uses(item: Planned, fixture: str) -> bool:
    return fixture in _parameters(item.func)


def _clean_up(session: VerifySession, flow: Any, planned: list[Planned]) -> None:
    """Remove what the flow wrote; a failure is an error result of its own, as pytest's teardown gives."""
    from verify.redact import REDACTOR

    try:
        flow.cleanup()
    except Exception as exc:
        last = next((i.id for i in reversed(planned) if _uses(i, "flow")), "suites/test_flow.py")
        session.results.append(
            CheckResult(
                id=f"{last}::teardown",
                title=f"clean-up after {last}",
                service="harness",
                resource="",
                category=Category.FUNCTIONAL,
                severity=session.policy.severity(last, "harness", "functional"),
                status=Status.ERROR,
                message=f"could not clean up: {REDACTOR.redact(f'{type(exc).__name__}: {exc}')}",
            )
        )


def _session_values(
    session: VerifySession, *, needs_flow: bool = False
) -> tuple[dict[str, object], dict[str, BaseException]]:
    factories = session_factories(session)
    if needs_flow:
        factories["flow"] = lambda: make_flow(session)
    values: dict[str, object] = {}
    broken: dict[str, BaseException] = {}
    for name, factory in factories.items():
        try:
            values[name] = factory()
        except Exception as exc:
            broken[name] = exc
    return values, broken


def _arguments(
    item: Planned, values: dict[str, object], session: VerifySession, recorder: CheckRecorder
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for name in _parameters(item.func):
        if name in item.params:
            kwargs[name] = item.params[name]
        elif name == "check":
            kwargs[name] = recorder
        elif name == "eventually":
            kwargs[name] = make_waiter(session, recorder)
        else:
            kwargs[name] = values[name]
    return kwargs


def _result(
    session: VerifySession,
    item: Planned,
    outcome: Outcome | None,
    setup_error: BaseException | None,
    recorder: CheckRecorder | None,
) -> CheckResult:
    from verify.redact import REDACTOR

    meta = meta_of(item.marks.get("check"), item.name, item.params, session.stack_of)
    evidence: dict[str, Any] = recorder.collected() if recorder else {}
    attempts = 0
    duration = 0.0
    if item.skip:
        status, message = Status.SKIPPED, item.skip
    elif setup_error is not None:
        status, message, attempts = status_of(setup_error, evidence, setup=True)
    elif outcome is not None and outcome.error is not None:
        status, message, attempts = status_of(outcome.error, evidence)
        duration = outcome.duration_s
    else:
        status, message = Status.PASSED, ""
        duration = outcome.duration_s if outcome else 0.0
    attempts = max(recorder.attempts if recorder and recorder.attempts else 1, attempts)
    evidence = with_asked(evidence, item.params.get("resource") or item.params.get("output"), meta)
    category = (
        Category(meta["category"]) if meta["category"] in ("functional", "posture") else Category.FUNCTIONAL
    )
    waiver = session.policy.active_waiver(item.id)
    return CheckResult(
        id=item.id,
        title=meta["title"],
        service=meta["service"],
        resource=meta["resource"],
        category=category,
        severity=session.policy.severity(item.id, meta["service"], str(category)),
        status=status,
        duration_s=duration,
        attempts=attempts,
        message=REDACTOR.redact(message),
        evidence=REDACTOR.redact_obj(evidence, redacted_keys=REDACTED_ON_RECORD),  # type: ignore[arg-type]
        stack=meta["stack"],
        waiver=waiver.describe() if waiver else "",
    )


def _finish(session: VerifySession, allure: AllureWriter, interrupted: bool) -> RunSummary:
    from verify.engine.session import build_summary
    from verify.report import write_reports
    from verify.report.gate import apply_gate

    summary = build_summary(session, interrupted=interrupted)
    summary = apply_gate(summary, session.policy, session.policy_source)
    write_reports(summary, session.report_dir)
    allure.finish(summary)
    return summary


def _region(session: VerifySession) -> str | None:
    try:
        return session.region()
    except VerifyError:
        return session.region_option


def _links(item: Planned, result: CheckResult, region: str | None) -> list[tuple[str, str]]:
    """The check's AWS console link (never for a sensitive output) and its X-Ray trace link."""
    from verify.report.console import check_links

    subject = item.params.get("resource") or item.params.get("output")
    return check_links(subject, result.evidence or {}, region)


def _print_summary(summary: RunSummary, session: VerifySession, took: float, out: TextIO) -> None:
    from verify.escape import terminal

    counts = summary.counts()
    for check in summary.checks:
        if check.status in (Status.FAILED, Status.ERROR):
            word = "FAILED" if check.status is Status.FAILED else "ERROR"
            out.write(f"{word} {terminal(check.id)} - {terminal(check.message)}\n")
    out.write(
        f"= verify: {summary.verdict.upper()} -- {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['error']} error, {counts['skipped']} skipped; reports in {session.report_dir}/ =\n"
    )
    for item in summary.left_behind:
        out.write(f"LEFT BEHIND {terminal(item.line())}\n")
    shown = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    out.write(f"{shown or 'nothing ran'} in {took:.2f}s\n")
    out.flush()


def exit_code(run: DirectRun) -> int:
    """The run's exit code: the gate's verdict, 130 when interrupted."""
    if run.interrupted:
        return 130
    return {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.ERROR: 3}[run.summary.verdict]


def session_for(
    *,
    config_path: str | None,
    profile: str,
    region: str | None,
    outputs_paths: list[str],
    stack: str | None,
    policy: str | None,
    report_dir: str,
    timeout: float,
    run_id: str | None,
) -> VerifySession:
    """The run's shared state, as the plugin's pytest_configure builds it from its options."""
    from datetime import UTC, datetime

    from verify.config.settings import load_config
    from verify.engine.session import VerifySession, new_run_id

    return VerifySession(
        config=load_config(config_path),
        profile=profile,
        region_option=region,
        outputs_paths=outputs_paths,
        stack_name=stack,
        policy_file=policy,
        report_dir=Path(report_dir),
        timeout=timeout,
        run_id=run_id or new_run_id(),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        started_monotonic=time.monotonic(),
    )
