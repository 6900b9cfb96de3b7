"""From a pytest report to a `CheckResult`: status vocabulary, metadata, evidence, Allure labels.

`annotate` runs on the process that ran the check (an xdist worker, say) and leaves a redacted JSON
payload in `report.user_properties`, which xdist carries to the controller; `result_from_report`
turns it into a `CheckResult` there. Nothing here writes files.
"""

from __future__ import annotations

import contextlib
import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from verify.errors import CheckFailed, NotApplicable, VerifyError
from verify.model import Category, CheckResult, Status

if TYPE_CHECKING:
    from verify.config.settings import Policy
    from verify.engine.evidence import CheckRecorder

META = "verify"  # key of our entry in user_properties


def suites_dir() -> Path:
    """Where the shipped suites are installed (located, never imported for their checks)."""
    import suites

    return Path(suites.__file__).resolve().parent


def check_id(item: pytest.Item) -> str:
    # Shipped suites are addressed as suites/<module>::<test>, wherever the package is installed,
    # so ids stay stable across machines, shards and waivers.
    try:
        relative = item.path.resolve().relative_to(suites_dir())
    except ValueError:
        return item.nodeid
    return f"suites/{relative.as_posix()}::{item.nodeid.split('::', 1)[1]}"


def subject_of(item: pytest.Item) -> Any:
    params: dict[str, Any] = item.callspec.params if hasattr(item, "callspec") else {}
    return params.get("resource") or params.get("output")


def check_meta(item: pytest.Item, stack_of: dict[str, str] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = item.callspec.params if hasattr(item, "callspec") else {}
    return meta_of(item.get_closest_marker("check"), item.name, params, stack_of)


def meta_of(
    marker: pytest.Mark | None, name: str, params: dict[str, Any], stack_of: dict[str, str] | None = None
) -> dict[str, Any]:
    """A check's service, category and title (formatted with its resource), from its `check` mark."""
    kwargs = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        kwargs.setdefault("service", marker.args[0])
    subject = params.get("resource") or params.get("output")
    title = str(kwargs.get("title") or name)
    key = getattr(subject, "key", "")
    if subject is not None:
        # A sensitive subject's name is its value: the title (Allure's, the reports') says it masked.
        shown = "***" if getattr(subject, "sensitive", False) else getattr(subject, "name", key)
        with contextlib.suppress(AttributeError, IndexError, KeyError, ValueError):
            title = title.format(resource=subject, name=shown, key=key)
    elif "resource" in params:
        # The not-applicable placeholder names nothing; a literal "{name}" in the report helps nobody.
        with contextlib.suppress(AttributeError, IndexError, KeyError):
            title = title.format(resource=None, name="(none)", key="(none)")
    from verify.redact import REDACTOR

    return {
        "service": str(kwargs.get("service", "outputs")),
        "category": str(kwargs.get("category", "functional")),
        "title": REDACTOR.redact(title),
        "resource": key or str(kwargs.get("resource", "")),
        "stack": (stack_of or {}).get(key, "") if key else "",
    }


def status_of(
    exc: BaseException, evidence: dict[str, Any], *, setup: bool = False
) -> tuple[Status, str, int]:
    """What an exception out of a check means in our vocabulary: (status, message, attempts);
    a `CheckFailed`'s evidence, expected and actual go into `evidence`."""
    attempts = 0
    typename = type(exc).__name__
    if isinstance(exc, NotApplicable):
        # A check that found itself not applicable is a skip with its reason, as pytest.skip would be.
        status, message = Status.SKIPPED, str(exc)
    elif isinstance(exc, CheckFailed):
        status, message = Status.FAILED, str(exc)
        attempts = exc.attempts
        evidence.update(exc.evidence)
        if exc.expected is not None:
            evidence.setdefault("expected", exc.expected)
        if exc.actual is not None:
            evidence.setdefault("actual", exc.actual)
    elif isinstance(exc, AssertionError):
        status, message = Status.FAILED, str(exc).split("\n", 1)[0] or "assertion failed"
    elif isinstance(exc, VerifyError):
        status, message = Status.ERROR, f"could not verify: {exc}"
    elif typename == "Skipped":
        status, message = Status.SKIPPED, str(exc)
    else:
        status, message = Status.ERROR, f"could not verify: {typename}: {exc}"
    if setup and status is Status.FAILED:
        status = Status.ERROR  # a fixture that could not build is not a verdict on the stack
    return status, message, attempts


def _status_and_message(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, evidence: dict[str, Any]
) -> tuple[Status, str, int]:
    attempts = 0
    message = ""
    status = {"passed": Status.PASSED, "skipped": Status.SKIPPED}.get(report.outcome, Status.ERROR)
    excinfo = call.excinfo
    if excinfo is not None:
        exc = excinfo.value
        if isinstance(exc, NotApplicable):
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {exc}")
        status, message, attempts = status_of(exc, evidence, setup=report.when == "setup")
    elif report.outcome == "skipped" and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2]).removeprefix("Skipped: ")
    return status, message, attempts


def annotate(
    item: pytest.Item,
    call: pytest.CallInfo[None],
    report: pytest.TestReport,
    *,
    stack_of: dict[str, str] | None = None,
    region: str | None = None,
    allure: bool = True,
) -> None:
    """Turn the check's outcome into our status vocabulary, on the process that ran it.

    `allure=False` outside pytest's protocol for the item (allure has no test open to label)."""
    from verify.engine.evidence import REDACTED_ON_RECORD
    from verify.redact import REDACTOR

    meta = check_meta(item, stack_of)
    recorder: CheckRecorder | None = getattr(item, "_verify_recorder", None)
    evidence: dict[str, Any] = recorder.collected() if recorder else {}
    status, message, failed_attempts = _status_and_message(item, call, report, evidence)
    attempts = max(recorder.attempts if recorder and recorder.attempts else 1, failed_attempts)
    excinfo = call.excinfo
    if (
        status in (Status.FAILED, Status.ERROR, Status.SKIPPED)
        and excinfo is not None
        and isinstance(excinfo.value, (CheckFailed, VerifyError))
    ):
        # The stack's fault or ours, in one sentence: a traceback into the harness helps nobody here.
        report.longrepr = f"{check_id(item)}: {REDACTOR.redact(message)}"
    evidence = _with_asked(evidence, item, meta)
    payload = {
        **meta,
        "check_id": check_id(item),
        "status": str(status),
        "message": REDACTOR.redact(message),
        "attempts": attempts,
        "evidence": REDACTOR.redact_obj(evidence, redacted_keys=REDACTED_ON_RECORD),
    }
    report.user_properties.append((META, json.dumps(payload, default=str)))
    if allure:
        _to_allure(item, payload, region)


def _with_asked(evidence: dict[str, Any], item: pytest.Item, meta: dict[str, Any]) -> dict[str, Any]:
    return with_asked(evidence, subject_of(item), meta)


def with_asked(evidence: dict[str, Any], subject: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """Every check's evidence starts with what was asked: which service, about which resource."""
    if subject is None or not hasattr(subject, "kind"):
        return evidence
    asked = {
        "service": meta["service"],
        "resource": getattr(subject, "key", ""),
        "kind": getattr(subject, "kind", ""),
        "name": "***" if getattr(subject, "sensitive", False) else getattr(subject, "name", ""),
    }
    return {"asked": asked, **evidence}


def _to_allure(item: pytest.Item, payload: dict[str, Any], region: str | None) -> None:
    """Labels, a title, console links and the evidence as attachments -- when allure records this run."""
    if not item.config.pluginmanager.hasplugin("allure_listener"):
        return
    # allure's API is untyped: held as Any rather than sprinkling ignores over every call.
    allure: Any = importlib.import_module("allure")

    from verify.report.allure import allure_description, allure_text, worth_attaching
    from verify.report.console import check_links

    allure.dynamic.title(allure_text(payload["title"]))
    allure.dynamic.label("service", payload["service"])
    allure.dynamic.label("category", payload["category"])
    allure.dynamic.label("verify_status", payload["status"])
    allure.dynamic.tag(payload["service"], payload["category"])
    if payload.get("stack"):
        allure.dynamic.label("stack", payload["stack"])
    allure.dynamic.parent_suite(payload.get("stack") or "verify")
    allure.dynamic.suite(payload["service"])
    if payload["message"]:
        allure.dynamic.description(allure_description(payload["message"]))  # Allure renders it as Markdown
    evidence: dict[str, Any] = payload["evidence"]
    for name, url in check_links(subject_of(item), evidence, region):
        allure.dynamic.link(url, name=name)
    for call in evidence.get("aws_calls", []):
        with allure.step(f"{call.get('service')} {call.get('operation')} -> {call.get('http_status', '?')}"):
            pass
    for exchange in evidence.get("http", []):
        with allure.step(f"HTTP {exchange.get('request')} -> {exchange.get('status')}"):
            pass
    if worth_attaching(evidence):
        allure.attach(
            json.dumps(evidence, indent=2, default=str),
            name="evidence",
            attachment_type=allure.attachment_type.JSON,
        )


def result_from_report(report: pytest.TestReport, policy: Policy) -> CheckResult | None:
    payload = next((json.loads(str(v)) for k, v in report.user_properties if k == META), None)
    if payload is None:
        # Setup passed / teardown: nothing to report unless teardown broke (e.g. cleanup failed).
        if report.when == "teardown" and report.failed:
            return _teardown_error(report, policy)
        return None
    category = (
        Category(payload["category"])
        if payload["category"] in ("functional", "posture")
        else Category.FUNCTIONAL
    )
    the_id = str(payload.get("check_id") or report.nodeid)
    waiver = policy.active_waiver(the_id)
    return CheckResult(
        id=the_id,
        title=payload["title"],
        service=payload["service"],
        resource=payload["resource"],
        category=category,
        severity=policy.severity(the_id, payload["service"], str(category)),
        status=Status(payload["status"]),
        duration_s=float(report.duration),
        attempts=int(payload["attempts"]),
        message=payload["message"],
        evidence=payload.get("evidence") or {},
        stack=str(payload.get("stack") or ""),
        waiver=waiver.describe() if waiver else "",
    )


def _teardown_error(report: pytest.TestReport, policy: Policy) -> CheckResult:
    from verify.redact import REDACTOR

    # reprcrash holds "RuntimeError: delete_item denied"; the longrepr's last line is only where.
    crash = getattr(report.longrepr, "reprcrash", None)
    reason = crash.message if crash is not None else str(report.longrepr or "").strip()
    reason = reason.splitlines()[0] if reason else "the clean-up raised"
    return CheckResult(
        id=report.nodeid + "::teardown",
        title=f"clean-up after {report.nodeid}",
        service="harness",
        resource="",
        category=Category.FUNCTIONAL,
        severity=policy.severity(report.nodeid, "harness", "functional"),
        status=Status.ERROR,
        message=f"could not clean up: {REDACTOR.redact(reason)}",
    )
