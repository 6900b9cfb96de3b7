"""From pytest's report of a check to a `CheckResult`, through the engine's one builder.

`annotate` runs on the process that ran the check (an xdist worker, say), builds the result there
(`verify.engine.outcome`: that process's redactor knows the run's secrets) and leaves it as JSON in
`report.user_properties`, which xdist carries to the controller; `result_from_report` reads it back
there. Nothing here writes files.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from verify.engine.outcome import check_result, teardown_error
from verify.engine.spec import meta_of, subject_of, suites_dir
from verify.errors import CheckFailed, NotApplicable, VerifyError
from verify.model import CheckResult, Status

if TYPE_CHECKING:
    from verify.config.settings import Policy
    from verify.engine.evidence import CheckRecorder
    from verify.engine.session import VerifySession

META = "verify"  # key of our entry in user_properties


def check_id(item: pytest.Item) -> str:
    # Shipped suites are addressed as suites/<module>::<test>, wherever the package is installed,
    # so ids stay stable across machines, shards and waivers.
    nodeid = _without_group(item)
    try:
        relative = item.path.resolve().relative_to(suites_dir())
    except ValueError:
        return nodeid
    return f"suites/{relative.as_posix()}::{nodeid.split('::', 1)[1]}"


def _without_group(item: pytest.Item) -> str:
    """The node id without the `@group` xdist's `--dist loadgroup` appends on a worker: a check's id
    (and so its waivers, shards and rows) is the same with --workers as without."""
    nodeid = item.nodeid
    group = worker_unit_of(item) if "@" in nodeid else None
    return nodeid.removesuffix(f"@{group}") if group else nodeid


def xdist_group_of(item: pytest.Item) -> str | None:
    """The item's xdist group as xdist names it (several marks: their names sorted, joined by `_`)."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names)) if names else None


def worker_unit_of(item: pytest.Item) -> str | None:
    """What `--workers` sends to one worker as a whole: the item's xdist group, else -- a shipped
    check -- its module, whose checks the worker then runs concurrently, as one process runs them
    (one by one, the shipped suites' AWS round trips added up: --workers was 4x slower than none)."""
    group = xdist_group_of(item)
    if group is not None:
        return group
    if item.path.resolve().parent == suites_dir():
        return f"verify-{item.path.stem}"
    return None


def _params(item: pytest.Item) -> dict[str, Any]:
    return item.callspec.params if hasattr(item, "callspec") else {}


def annotate(
    item: pytest.Item,
    call: pytest.CallInfo[None],
    report: pytest.TestReport,
    session: VerifySession,
    region: str | None,
) -> None:
    """Judge the check's outcome on the process that ran it, and leave its result on the report."""
    from verify.redact import REDACTOR
    from verify.report.console import check_links

    params = _params(item)
    recorder: CheckRecorder | None = getattr(item, "_verify_recorder", None)
    exc = call.excinfo.value if call.excinfo is not None else None
    if report.when == "call" and getattr(item, "_verify_not_reachable", None) is not None:
        exc = item._verify_not_reachable  # type: ignore[attr-defined]
    judged: tuple[Status, str] | None = None
    if isinstance(exc, NotApplicable):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {exc}")
    elif exc is None:
        status = {"passed": Status.PASSED, "skipped": Status.SKIPPED}.get(report.outcome, Status.ERROR)
        skipped = report.outcome == "skipped" and isinstance(report.longrepr, tuple)
        judged = (status, str(report.longrepr[2]).removeprefix("Skipped: ") if skipped else "")  # type: ignore[index]
    the_id = check_id(item)
    result = check_result(
        the_id,
        meta_of(item.get_closest_marker("check"), item.name, params, session.stack_of),
        subject_of(params),
        session.policy,
        recorder=recorder,
        error=exc,
        setup=report.when == "setup",
        judged=judged,
    )
    if result.status is not Status.PASSED and isinstance(exc, (CheckFailed, VerifyError)):
        # The stack's fault or ours, in one sentence: a traceback into the harness helps nobody here.
        report.longrepr = f"{the_id}: {REDACTOR.redact(result.message)}"
    links = check_links(subject_of(params), result.evidence or {}, region)
    payload = {"result": result.to_dict(), "links": links}
    report.user_properties.append((META, json.dumps(payload, default=str)))


def result_from_report(
    report: pytest.TestReport, policy: Policy
) -> tuple[CheckResult, list[tuple[str, str]]] | None:
    """The check's result and its console links, from what `annotate` left on its report."""
    payload = next((json.loads(str(v)) for k, v in report.user_properties if k == META), None)
    if payload is None:
        # Setup passed / teardown: nothing to report unless teardown broke (e.g. cleanup failed).
        if report.when == "teardown" and report.failed:
            # reprcrash holds "RuntimeError: delete_item denied"; the longrepr's last line is only where.
            crash = getattr(report.longrepr, "reprcrash", None)
            reason = crash.message if crash is not None else str(report.longrepr or "").strip()
            reason = reason.splitlines()[0] if reason else "the clean-up raised"
            return teardown_error(report.nodeid, reason, policy), []
        return None
    result = CheckResult.from_dict(payload["result"])
    result.duration_s = float(report.duration)
    return result, [(str(name), str(url)) for name, url in payload["links"]]


def status_of_report(report: pytest.TestReport) -> str | None:
    """The verify status `annotate` left on a check's report (None on a phase it did not judge)."""
    payload = next((str(v) for k, v in report.user_properties if k == META), None)
    if payload is None:
        return None
    status = json.loads(payload).get("result", {}).get("status")
    return str(status) if status else None
