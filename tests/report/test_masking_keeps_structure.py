"""A mask is never put into a rendered report's structure (issue 16, a review of findings 2, 7-10).

Every report used to pass the redactor last, as text. A registered value that matches the report's
own structure then cut it: a Terraform output marked `sensitive` with the value `true` or `5432`
masked JSON literals and numbers (`"cached": ***`), so summary.json was no longer JSON and `verify
gate` refused it; a value matching markup (`">\\n<strong>`) ended an HTML attribute and let a title
become attributes of the tag; one spanning `<failure ...>...</failure>` turned a failed check into a
passed one in junit.xml. Now a report in which the final pass finds anything is rendered again from
values masked one by one, and written as rendered.

Allure's generator renders a result's `description` as Markdown with raw HTML allowed: a check
message naming `<img src=x onerror=...>` became markup in the Allure report.
"""

from __future__ import annotations

import html.parser
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.helpers.markup import html_skeleton, markdown_skeleton
from verify.model import Category, CheckResult, Gate, RunSummary, Severity, Status, Verdict
from verify.redact import MASK, REDACTOR
from verify.report import render_html, render_junit, render_markdown, write_reports
from verify.report.allure import AllureWriter, allure_description
from verify.report.markdown import anchor

HOSTILE_TITLE = "DynamoDB table x onmouseover=alert(1) y is ACTIVE"
FAILED_MESSAGE = "DynamoDB table `evil`: expected it to exist, got not found (DescribeTable)"


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Values registered here stay in this test: `true` in the process-wide redactor would mask
    every other test's reports."""
    monkeypatch.setattr(REDACTOR, "_secrets", set(REDACTOR._secrets))
    monkeypatch.setattr(REDACTOR, "_needles", REDACTOR._needles)
    yield


def _check(title: str = HOSTILE_TITLE, status: Status = Status.FAILED, **evidence: object) -> CheckResult:
    return CheckResult(
        id="suites/test_dynamodb.py::test_table_active[EvilTableName]",
        title=title,
        service="dynamodb",
        resource="EvilTableName",
        category=Category.FUNCTIONAL,
        severity=Severity.BLOCKING,
        status=status,
        duration_s=0.25,
        attempts=2,
        message=FAILED_MESSAGE if status is Status.FAILED else "",
        evidence={
            "aws_calls": [{"operation": "DescribeTable", "duration_ms": 15432, "cached": True}],
            **evidence,
        },
    )


def _summary(*checks: CheckResult) -> RunSummary:
    return RunSummary(
        verdict=Verdict.FAIL,
        profile="full",
        run_id="vfy-20260101T000000-abcdef12",
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=5432.5,
        source="outputs.json",
        region="us-east-1",
        checks=list(checks),
        gate=Gate(verdict=Verdict.FAIL, reasons=["blocking check failed"]),
        aws_calls={"dynamodb": 5432},
    )


def test_a_sensitive_literal_or_number_leaves_summary_json_valid_json(
    registered: None, tmp_path: Path
) -> None:
    for value in ("true", "false", "null", "5432"):  # Terraform `sensitive` outputs of type bool/number
        REDACTOR.add(value)
    summary = _summary(_check(status=Status.PASSED, note="port 5432 open", secret_pin="pin 5432"))
    write_reports(summary, tmp_path)
    data = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))  # verify gate reads it
    assert (
        "interrupted" not in data
        and data["duration_s"] == 5432.5
        and data["aws_calls"]["by_operation"] == {"dynamodb": 5432}
    )
    check = data["checks"][0]
    assert check["status"] == "passed" and check["attempts"] == 2
    assert "5432" not in json.dumps(check["evidence"])  # the registered number is still masked in text
    assert check["evidence"]["note"] == f"port {MASK} open"
    assert check["evidence"]["aws_calls"][0]["cached"] is True  # a one-bit "secret" masks nothing


def test_a_registered_value_spanning_json_tokens_cannot_drop_a_checks_status(
    registered: None, tmp_path: Path
) -> None:
    # From inside the title to inside the status: masked as text, the check lost its status and
    # severity and the file still parsed.
    REDACTOR.add('ACTIVE", "service": "dynamodb", "resource": "EvilTableName", "category": "functional", '
                 '"severity": "blocking", "status": "failed')  # fmt: skip
    write_reports(_summary(_check()), tmp_path)
    check = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["checks"][0]
    assert check["status"] == "failed" and check["severity"] == "blocking"


class _Attributes(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.update(name for name, _ in attrs)


def test_a_registered_value_matching_markup_cannot_turn_a_title_into_attributes(
    registered: None, tmp_path: Path
) -> None:
    check = _check()
    REDACTOR.add(f'"{anchor(check.id)}">\n<strong>')  # a Terraform sensitive output of that value
    write_reports(_summary(check), tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    parser = _Attributes()
    parser.feed(page)
    assert "onmouseover" not in parser.names
    assert html_skeleton(page) == html_skeleton(render_html(_summary(_check(title="t"))))


def test_a_registered_value_matching_junit_markup_cannot_hide_a_failure(
    registered: None, tmp_path: Path
) -> None:
    failure = f'<failure type="CheckFailed" message="{FAILED_MESSAGE}">{FAILED_MESSAGE}</failure>'
    REDACTOR.add(failure)
    assert failure in render_junit(_summary(_check()))
    write_reports(_summary(_check()), tmp_path)
    root = ET.fromstring((tmp_path / "junit.xml").read_bytes())
    assert root.get("failures") == "1"
    assert len(root.findall(".//testcase/failure")) == 1


def test_a_registered_value_matching_markdown_cannot_unescape_a_link(
    registered: None, tmp_path: Path
) -> None:
    title = "table \\[click\\](https://attacker.example) x"  # as rendered: `\[click\]` stays text
    check = _check(title="table [click](https://attacker.example) x")
    assert title in render_markdown(_summary(check))
    REDACTOR.add("ble \\")  # masked as text: `***[click\](...)`, one escape gone
    REDACTOR.add("ick\\")
    write_reports(_summary(check), tmp_path)
    written = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert markdown_skeleton(written) == markdown_skeleton(render_markdown(_summary(_check(title="t"))))


@pytest.mark.parametrize(
    "message",
    [
        "DynamoDB table `x\r# verify: PASS\r<img src=x onerror=alert(1)>`: expected it to exist",
        "got HTTP 500: <script>alert(1)</script> ![pixel](https://attacker.example/p.png)",
    ],
)
def test_an_allure_description_is_markdown_text(message: str, tmp_path: Path) -> None:
    """Allure's generator turns `description` into HTML as Markdown, raw HTML included."""
    shown = allure_description(message)
    assert "<" not in shown and "\r" not in shown and "\n" not in shown
    assert markdown_skeleton(shown) == markdown_skeleton(allure_description("plain words here"))
    writer = AllureWriter(tmp_path / "allure-results")
    writer.add(replace(_check(), message=message), [])
    result = json.loads(next((tmp_path / "allure-results").glob("*-result.json")).read_text(encoding="utf-8"))
    assert result["description"] == shown
    assert "<img" in result["statusDetails"]["message"] or "<script" in result["statusDetails"]["message"]
    # shown as text by Allure: kept readable, control characters as visible escapes


def test_allure_attachments_stay_json_when_a_literal_is_registered(registered: None, tmp_path: Path) -> None:
    REDACTOR.add("15432")
    writer = AllureWriter(tmp_path / "allure-results")
    writer.add(_check(status=Status.PASSED, note="took 15432 ms"), [])
    attachment = next((tmp_path / "allure-results").glob("*-attachment.json"))
    evidence = json.loads(attachment.read_text(encoding="utf-8"))
    assert evidence["note"] == f"took {MASK} ms"
    assert "15432" not in json.dumps(evidence)


def test_the_pytest_paths_allure_files_stay_json(registered: None, tmp_path: Path) -> None:
    """allure-pytest writes its own files; the plugin masks them last, as JSON when they are JSON."""
    import types

    from verify.pytest_plugin.plugin import _redact_report_files

    REDACTOR.add("17334")
    results = tmp_path / "allure-results"
    results.mkdir()
    result = results / "a-result.json"
    result.write_text(json.dumps({"name": "took 17334 ms", "start": 1733400000, "stop": 1733417334}))
    config = types.SimpleNamespace(option=types.SimpleNamespace(xmlpath=None, allure_report_dir=str(results)))
    _redact_report_files(config)  # type: ignore[arg-type]
    data = json.loads(result.read_text(encoding="utf-8"))
    assert data["name"] == f"took {MASK} ms" and "17334" not in json.dumps(data)


def test_allure_titles_and_messages_carry_no_control_character(tmp_path: Path) -> None:
    """report.html shows a bidi override or an ESC in a key as a visible escape; the Allure report
    showed it raw (a title reversed on screen, `\\u202eELBAT`)."""
    from tests.helpers.markup import control_characters
    from verify.report.allure import allure_text

    hostile = "table \u202eELBAT\x1b[2J\r\n# x"
    assert control_characters(allure_text(hostile)) == []
    assert control_characters(allure_text(hostile, multiline=True)) == []
    writer = AllureWriter(tmp_path / "allure-results")
    writer.add(replace(_check(), title=f"DynamoDB table {hostile} is ACTIVE", message=f"got {hostile}"), [])
    result = json.loads(next((tmp_path / "allure-results").glob("*-result.json")).read_text(encoding="utf-8"))
    assert control_characters(result["name"]) == []
    assert control_characters(result["statusDetails"]["message"], allowed="\n") == []
