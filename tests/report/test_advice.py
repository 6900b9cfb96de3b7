"""Advice apart from failures (issue 15, item 7; issue 18's JUnit and Allure severities).

A failed check whose severity is advisory (and that no waiver made advisory) is advice: the stack is
not wrong for the gate, so it never leads a report as "What is wrong". It keeps `status: failed` and
`severity: advisory` in summary.json; the reports give it a section and a count of its own.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from verify.engine.finish import verdict_line
from verify.errors import STOPPING
from verify.model import Category, CheckResult, RunSummary, Severity, Status, Verdict
from verify.report import render_html, render_junit, render_markdown
from verify.report.allure import AllureWriter
from verify.report.oncall import on_call_table

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).with_name("junit-10.xsd")))

POSTURE = [
    ("sns", "test_topic_has_subscription", "SNS topic `alerts`: expected a subscription, got none"),
    ("sns", "test_topic_encrypted", "SNS topic `alerts`: expected a KMS key, got none"),
    ("dynamodb", "test_pitr_enabled", "DynamoDB table `raw`: expected PITR ENABLED, got DISABLED"),
    ("lambda", "test_reserved_concurrency", "Lambda `processor`: expected reserved concurrency, got none"),
    ("kinesis", "test_retention", "Kinesis stream `s`: expected retention over 24 h, got 24 h"),
]


def _check(
    service: str,
    name: str,
    status: Status,
    severity: Severity,
    message: str = "",
    waiver: str = "",
) -> CheckResult:
    return CheckResult(
        id=f"suites/test_{service}.py::{name}[Key]",
        title=f"{service} {name}",
        service=service,
        resource="Key",
        category=Category.FUNCTIONAL if severity is Severity.BLOCKING else Category.POSTURE,
        severity=severity,
        status=status,
        duration_s=0.1,
        message=message,
        waiver=waiver,
    )


def _healthy(*extra: CheckResult) -> RunSummary:
    checks = [
        _check("dynamodb", "test_table_active", Status.PASSED, Severity.BLOCKING),
        _check("sqs", "test_queue_reachable", Status.PASSED, Severity.BLOCKING),
        *[_check(s, n, Status.FAILED, Severity.ADVISORY, m) for s, n, m in POSTURE],
        *extra,
    ]
    verdict = (
        Verdict.FAIL
        if any(c.severity is Severity.BLOCKING and c.status is Status.FAILED for c in checks)
        else Verdict.PASS
    )
    return RunSummary(
        verdict=verdict,
        profile="full",
        run_id="vfy-advice",
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=1.5,
        source="out.json",
        region="us-east-1",
        checks=checks,
    )


def test_the_rule_advisory_failures_are_advice_waived_ones_and_errors_are_not() -> None:
    assert _check("sns", "a", Status.FAILED, Severity.ADVISORY).is_advice
    assert not _check("sns", "a", Status.FAILED, Severity.BLOCKING).is_advice
    assert not _check("sns", "a", Status.ERROR, Severity.ADVISORY).is_advice
    assert not _check("sns", "a", Status.PASSED, Severity.ADVISORY).is_advice
    # A waiver made a blocking check advisory: a known wrong the team chose to live with for now.
    assert not _check("sns", "a", Status.FAILED, Severity.ADVISORY, waiver="ticket 7 (waived)").is_advice


def test_summary_json_keeps_status_and_severity_and_adds_the_advice_flag_and_count() -> None:
    data = _healthy().to_dict()
    assert data["counts"]["failed"] == 5  # the contract's counts are per status, unchanged
    assert data["advice"] == 5
    pitr = next(c for c in data["checks"] if "pitr" in c["id"])
    assert (pitr["status"], pitr["severity"], pitr["advice"]) == ("failed", "advisory", True)
    active = next(c for c in data["checks"] if "active" in c["id"])
    assert "advice" not in active
    back = RunSummary.from_dict(json.loads(json.dumps(data)))
    assert sum(c.is_advice for c in back.checks) == 5


def test_healthy_markdown_shows_advice_and_no_what_is_wrong() -> None:
    text = render_markdown(_healthy())
    assert "## What is wrong" not in text
    assert "First to fix" not in text
    assert "## Advice (5)" in text
    assert "expected PITR ENABLED, got DISABLED" in text.split("## Advice (5)", 1)[1]
    run_line = next(line for line in text.splitlines() if line.startswith("Run "))
    # Advice counted apart from failures, as the gate's bold "0 failed" above and the console count it.
    assert ": 2 passed, 0 failed, 0 error, 0 skipped; 5 advice" in run_line, run_line


def test_a_blocking_failure_still_leads_and_advice_stays_apart() -> None:
    broken = _check("lambda", "test_processor_runs", Status.FAILED, Severity.BLOCKING, "processor is down")
    text = render_markdown(_healthy(broken))
    assert "**First to fix:** ❌ lambda test_processor_runs: processor is down" in text
    wrong = text.split("## What is wrong", 1)[1].split("## ", 1)[0]
    assert "processor is down" in wrong and "PITR" not in wrong
    assert text.index("## What is wrong") < text.index("## Advice (5)")


def test_html_has_an_advice_section_and_advice_cards_are_not_red() -> None:
    page = render_html(_healthy())
    assert '<h2 id="advice">Advice (5)</h2>' in page
    assert "First to fix" not in page
    assert 'class="check failed"' not in page
    assert page.count('class="check advice"') == 5
    # Advice comes before the passes, which are folded away.
    assert page.index('<h2 id="advice">') < page.index('<h2 id="passes">')
    assert "<p>2 passed, 0 failed, 0 error, 0 skipped; 5 advice</p>" in page


def test_console_line_and_on_call_table_count_advice_apart() -> None:
    summary = _healthy()
    line = verdict_line(summary, Path("reports"))
    assert line.startswith("verify: PASS -- ") and line.endswith("; reports in reports/")
    assert "5 advice" in line and " 0 failed" not in line.split("(")[1]
    table = on_call_table(summary.to_dict()).splitlines()
    assert table[1] == "nothing is wrong"
    assert sum(row.startswith("ADVICE ") for row in table) == 5
    assert table[-1].endswith(", 5 advice")


def _junit_cases(text: str) -> tuple[ET.Element, dict[str | None, ET.Element]]:
    SCHEMA.validate(text)
    root = ET.fromstring(text)
    return root, {c.get("name"): c for c in root.iter("testcase")}


def test_junit_writes_advice_as_system_out_and_properties_and_blocking_failures_as_failure() -> None:
    broken = _check("lambda", "test_processor_runs", Status.FAILED, Severity.BLOCKING, "processor is down")
    root, cases = _junit_cases(render_junit(_healthy(broken)))
    pitr = cases["suites/test_dynamodb.py::test_pitr_enabled[Key]"]
    # The gate does not block on it: neither red (<failure>) nor "did not run" (<skipped>).
    assert pitr.find("failure") is None and pitr.find("skipped") is None and pitr.find("error") is None
    assert (pitr.findtext("system-out") or "").startswith("ADVICE: DynamoDB table `raw`: expected PITR")
    props = {p.get("name"): p.get("value") for p in root.find("testsuite").iter("property")}  # type: ignore[union-attr]
    advice = sorted(v or "" for k, v in props.items() if (k or "").startswith("verify.advice."))
    assert len(advice) == 5
    assert (
        "suites/test_dynamodb.py::test_pitr_enabled[Key]: DynamoDB table `raw`: expected PITR ENABLED, got DISABLED"
        in advice
    )
    assert cases["suites/test_lambda.py::test_processor_runs[Key]"].find("failure") is not None
    # The attributes count what the cases hold.
    assert root.get("failures") == "1"
    for suite in root.iter("testsuite"):
        mine = list(suite.iter("testcase"))
        assert suite.get("failures") == str(sum(c.find("failure") is not None for c in mine))
        assert suite.get("skipped") == str(sum(c.find("skipped") is not None for c in mine))


def test_the_legacy_switch_writes_advice_as_failure_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFY_LEGACY_CI_REPORTS", "1")
    root, cases = _junit_cases(render_junit(_healthy()))
    failure = cases["suites/test_dynamodb.py::test_pitr_enabled[Key]"].find("failure")
    assert failure is not None and failure.get("message", "").startswith("[advisory] DynamoDB table")
    assert root.get("failures") == "5"
    assert not any((p.get("name") or "").startswith("verify.advice.") for p in root.iter("property"))


def _allure_labels(directory: Path) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for path in directory.glob("*-result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        found[result["fullName"]] = {
            "severity": [lb["value"] for lb in result["labels"] if lb["name"] == "severity"],
            "tags": {lb["value"] for lb in result["labels"] if lb["name"] == "tag"},
            "status": result["status"],
            "message": result.get("statusDetails", {}).get("message", ""),
        }
    return found


def test_allure_results_carry_the_gate_severity_a_blocking_tag_and_advice_categories(tmp_path: Path) -> None:
    writer = AllureWriter(tmp_path / "allure")
    summary = _healthy()
    for check in summary.checks:
        writer.add(check, [])
    writer.finish(summary)
    found = _allure_labels(tmp_path / "allure")
    active = found["suites/test_dynamodb.py::test_table_active[Key]"]
    assert (active["severity"], active["status"]) == (["blocker"], "passed")
    assert "blocking" in active["tags"]  # type: ignore[operator]
    pitr = found["suites/test_dynamodb.py::test_pitr_enabled[Key]"]
    assert (pitr["severity"], pitr["status"]) == (["minor"], "failed")
    assert "blocking" not in pitr["tags"] and "advice" in pitr["tags"]  # type: ignore[operator]
    assert str(pitr["message"]).startswith("advice: DynamoDB table")
    # Allure takes the first category that matches: advice is never counted among stack failures.
    categories = json.loads((tmp_path / "allure" / "categories.json").read_text(encoding="utf-8"))
    assert categories[0]["name"].startswith("Advice") and categories[0]["messageRegex"] == "advice: .*"
    assert categories[1]["name"].startswith("Stack failures")


def test_the_legacy_switch_drops_the_gate_from_allure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERIFY_LEGACY_CI_REPORTS", "1")
    writer = AllureWriter(tmp_path / "allure")
    summary = _healthy()
    for check in summary.checks:
        writer.add(check, [])
    writer.finish(summary)
    pitr = _allure_labels(tmp_path / "allure")["suites/test_dynamodb.py::test_pitr_enabled[Key]"]
    assert pitr["severity"] == [] and "advice" not in pitr["tags"]  # type: ignore[operator]
    assert not str(pitr["message"]).startswith("advice: ")
    categories = json.loads((tmp_path / "allure" / "categories.json").read_text(encoding="utf-8"))
    assert not any(c["name"].startswith("Advice") for c in categories)


def test_the_console_prints_advice_as_advice_not_failed() -> None:
    import io

    from verify.engine.finish import print_summary

    broken = _check("lambda", "test_processor_runs", Status.FAILED, Severity.BLOCKING, "processor is down")
    out = io.StringIO()
    print_summary(_healthy(broken), Path("reports"), 1.0, out)
    lines = out.getvalue().splitlines()
    # Advice first; the failure sits just above the verdict line, where a terminal's reader looks.
    assert all(line.startswith("ADVICE suites/") for line in lines[:5])
    assert lines[5] == "FAILED suites/test_lambda.py::test_processor_runs[Key] - processor is down"
    assert not any(line.startswith("FAILED") and "pitr" in line for line in lines)
    # One closing line, the last: the gate's numbers, every check's count, the time.
    assert lines[-1].startswith("= verify: FAIL -- ") and "5 advice" in lines[-1]
    assert "1 failed" in lines[-1] and " in 1.0 s; reports in reports/ =" in lines[-1]
    assert sum(line.startswith("= verify:") for line in lines) == 1


def test_a_policy_that_asks_for_a_property_makes_its_finding_a_failure_again() -> None:
    import datetime as dt

    from verify.config.settings import Policy, Waiver
    from verify.report.gate import apply_gate

    today = dt.date(2026, 1, 1)
    default = apply_gate(_healthy(), Policy(), "built-in default", today=today)
    assert default.verdict is Verdict.PASS and len(default.advice()) == 5
    # Asked for: the policy makes PITR blocking, so it fails the gate and leads "What is wrong".
    asked = apply_gate(
        _healthy(),
        Policy(blocking_checks=frozenset({"suites/test_dynamodb.py::test_pitr_enabled"})),
        "p",
        today=today,
    )
    assert asked.verdict is Verdict.FAIL and len(asked.advice()) == 4
    text = render_markdown(asked)
    assert "PITR" in text.split("## What is wrong", 1)[1].split("## Advice (4)", 1)[0]
    # Waived: a blocking check the team chose to live with for now is still shown as wrong, not advice.
    waived = apply_gate(
        _healthy(),
        Policy(
            blocking_checks=frozenset({"suites/test_dynamodb.py::test_pitr_enabled"}),
            waivers=(Waiver("suites/test_dynamodb.py::test_pitr_enabled*", "ticket 7"),),
        ),
        "p",
        today=today,
    )
    assert waived.verdict is Verdict.PASS and len(waived.advice()) == 4
    assert "waived: ticket 7" in render_markdown(waived).split("## What is wrong", 1)[1]


def test_an_interrupted_run_does_not_send_the_reader_to_an_error_the_stop_caused() -> None:
    # A newcomer's Ctrl-C mid-run: "First to fix" named a flow check whose wait the stop had cut.
    cut = _check("flow", "test_processed", Status.ERROR, Severity.BLOCKING, f"processed: {STOPPING}, so ...")
    real = _check("sqs", "test_dlq_empty", Status.ERROR, Severity.BLOCKING, "AccessDenied on sqs:Receive")
    stopped = _healthy(cut)
    stopped.interrupted = True
    assert "First to fix" not in render_markdown(stopped) and "First to fix" not in render_html(stopped)
    both = _healthy(cut, real)
    both.interrupted = True
    assert "**First to fix:** ⚠️ sqs test_dlq_empty: AccessDenied" in render_markdown(both)
    # Not interrupted, the same words are an error like any other (nothing else says why).
    assert "**First to fix:** ⚠️ flow test_processed" in render_markdown(_healthy(cut))
