"""Not verified from here: a database or cache that cannot be reached from where verify runs is its
own status, `unverified`: counted, listed with its address in every report, never a pass, and by
default never a failure; `[policy] require_reachable = true` makes it block."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from verify.config.settings import Policy, load_config
from verify.engine.finish import verdict_line
from verify.engine.outcome import check_result
from verify.errors import NotReachable
from verify.model import Category, CheckResult, RunSummary, Severity, Status, Verdict
from verify.probes.vantage import not_reachable, where_it_points
from verify.report import write_reports
from verify.report.gate import apply_gate
from verify.report.oncall import on_call_table

TODAY = dt.date(2026, 3, 1)
ADDRESS = "10.0.1.12:5432"


def _meta(service: str) -> dict[str, object]:
    return {
        "service": service,
        "category": "functional",
        "title": f"{service} answers",
        "resource": "Db",
        "stack": "",
    }


def _unreached() -> CheckResult:
    error = not_reachable("database", "10.0.1.12", 5432, "connection timed out")
    return check_result(
        "suites/test_rds.py::test_connectivity[Db]", _meta("rds"), None, Policy(), recorder=None, error=error
    )


def _passed() -> CheckResult:
    return CheckResult(
        id="suites/test_sqs.py::test_queue_reachable[Q]",
        title="queue answers",
        service="sqs",
        resource="Q",
        category=Category.FUNCTIONAL,
        severity=Severity.BLOCKING,
        status=Status.PASSED,
    )


def _run(*checks: CheckResult) -> RunSummary:
    return RunSummary(
        Verdict.PASS, "full", "vfy-u", "2026-03-01T00:00:00+00:00", 1.0, "out.json", None, list(checks)
    )


def test_an_unreachable_endpoint_is_unverified_with_its_address() -> None:
    result = _unreached()
    assert result.status is Status.UNVERIFIED
    assert result.message.startswith("not verified from here: database 10.0.1.12:5432")
    assert "private address 10.0.1.12" in result.message
    assert result.evidence["address"] == ADDRESS


def test_where_an_address_points_says_private_for_a_vpc_address() -> None:
    assert "reachable only from inside its VPC" in where_it_points("10.0.1.12")
    assert "private" not in where_it_points("127.0.0.1")


def test_by_default_unverified_neither_passes_nor_fails_the_gate() -> None:
    judged = apply_gate(_run(_passed(), _unreached()), Policy(), "default", today=TODAY)
    assert judged.verdict is Verdict.PASS
    assert judged.counts()["unverified"] == 1 and judged.counts()["passed"] == 1
    assert any("not verified from here" in reason and "10.0.1.12" in reason for reason in judged.gate.reasons)
    # The pass counts what passed, not what was planned.
    assert judged.gate.reasons[0] == (
        "1 of 2 blocking checks passed; 0 not applicable; 0 failed; 1 not verified from here"
    )


def test_unverified_alone_is_never_a_pass() -> None:
    judged = apply_gate(_run(_unreached()), Policy(), "default", today=TODAY)
    assert judged.verdict is Verdict.ERROR


def test_require_reachable_makes_it_block(tmp_path: Path) -> None:
    path = tmp_path / "verify.toml"
    path.write_text("[policy]\nrequire_reachable = true\n", encoding="utf-8")
    config = load_config(str(path), cwd=tmp_path)
    assert config.policy.require_reachable is True
    judged = apply_gate(_run(_passed(), _unreached()), config.policy, "verify.toml", today=TODAY)
    assert judged.verdict is Verdict.FAIL
    assert any("policy.require_reachable" in reason for reason in judged.gate.reasons)


def test_every_report_lists_it_apart(tmp_path: Path) -> None:
    summary = apply_gate(_run(_passed(), _unreached()), Policy(), "default", today=TODAY)
    write_reports(summary, tmp_path)
    data = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert data["counts"]["unverified"] == 1
    markdown = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "1 not verified from here" in markdown
    section = markdown.split("## Not verified from here", 1)[1]
    assert ADDRESS in section and "## What is wrong" not in markdown
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<h2 id="unverified">Not verified from here (1)</h2>' in html
    case = next(
        c
        for c in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
        if "test_connectivity" in c.get("name", "")
    )
    skipped = case.find("skipped")
    assert skipped is not None and "not verified from here" in skipped.get("message", "")
    assert case.find("failure") is None and case.find("error") is None
    assert "1 not verified from here" in verdict_line(summary, tmp_path)
    assert "NOT VERIFIED FROM HERE" in on_call_table(data)


def test_allure_shows_it_as_unknown_in_its_own_category() -> None:
    from verify.report.allure import ALLURE_STATUS, CATEGORIES

    assert ALLURE_STATUS["unverified"] == "unknown"
    assert {"name": "Not verified from here", "matchedStatuses": ["unknown"]} in CATEGORIES


def test_a_not_reachable_error_is_still_a_kind_of_could_not_verify() -> None:
    from verify.errors import VerifyError

    assert issubclass(NotReachable, VerifyError)


def test_every_status_has_its_mark_in_every_writer() -> None:
    # A status one writer forgot is a KeyError at the end of a run: each table covers every status.
    from verify.engine import runner
    from verify.report import allure, html, markdown, sections

    for table in (runner._STATUS_CHAR, markdown._ICON, sections._ORDER, html._BADGE):
        assert set(table) == set(Status), table
    assert set(allure.ALLURE_STATUS) == {str(s) for s in Status}
