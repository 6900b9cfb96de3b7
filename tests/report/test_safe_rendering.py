"""Safe rendering (issue 16, findings 7 and 15): a value from the stack, the outputs or an API's
answer is text in every medium. In summary.md (and GitHub's step summary) it opens no heading, cell,
code span, image or raw HTML; in report.html it is no markup; on the terminal it carries no control
character (discover's `missing:` lines, run's FAILED lines, the smoke table)."""

from __future__ import annotations

import io
import json
import types
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from tests.helpers.markup import control_characters, html_skeleton, markdown_skeleton, outside_code_spans
from verify import escape
from verify.model import Category, CheckResult, Gate, LeftBehind, RunSummary, Severity, Status, Verdict
from verify.report import render_html, render_junit, render_markdown, write_reports

HOSTILE = [
    "\r# verify: PASS\r<img src=x onerror=alert(1)>",
    "a | b\n## injected\n| x | y |",
    "`unclosed code span swallows the rest",
    "``` fence ```",
    "![remote](https://attacker.example/pixel.png) [click](javascript:alert(1))",
    "<script>alert(1)</script>&lt;b&gt;",
    "\x1b[2J\x1b]0;owned\x07\u202eevil\u2066\u2028next",
    "- list\t* item\n> quote\n1. numbered\n---",
    "_emphasis_ *strong* ~~strike~~ \\| escaped pipe \\",
]


def _check(text: str, status: Status = Status.FAILED) -> CheckResult:
    return CheckResult(
        id=f"suites/test_outputs.py::test_output_present[{text}]",
        title=f"output {text} has a value",
        service=text,
        resource=text,
        category=Category.FUNCTIONAL,
        severity=Severity.BLOCKING,
        status=status,
        duration_s=0.1,
        message=f"got HTTP 500: {text!s}",
        evidence={"http": [{"request": f"GET {text}", "status": 500, "body": text}], text: text},
        stack=text,
        waiver=text,
    )


def _summary(text: str) -> RunSummary:
    return RunSummary(
        verdict=Verdict.FAIL,
        profile="full",
        run_id=f"vfy-{text}",
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=1.0,
        source=text,
        region=text,
        checks=[
            _check(text),
            _check(text, Status.ERROR),
            replace(_check(text, Status.PASSED), stack="other"),
        ],
        notes=[text],
        gate=Gate(verdict=Verdict.FAIL, policy=text, reasons=[text]),
        shard="1/2",
        left_behind=[LeftBehind(place=text, key=text, reason=text)],
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_holds_hostile_values_as_text(text: str) -> None:
    hostile = render_markdown(_summary(text))
    harmless = render_markdown(_summary("x"))
    assert markdown_skeleton(hostile) == markdown_skeleton(harmless)
    assert control_characters(hostile) == []
    shown = outside_code_spans(hostile)  # inside a code span, `<img` is literal text
    assert "<img" not in shown and "<script" not in shown and "<" not in shown
    assert [line for line in hostile.splitlines() if line.startswith("# ")] == ["# verify: FAIL"]


@pytest.mark.parametrize("text", HOSTILE)
def test_html_holds_hostile_values_as_text(text: str) -> None:
    assert html_skeleton(render_html(_summary(text))) == html_skeleton(render_html(_summary("x")))
    assert control_characters(render_html(_summary(text)), allowed="\n") == []


@pytest.mark.parametrize("text", HOSTILE)
def test_junit_stays_well_formed(text: str) -> None:
    root = ET.fromstring(render_junit(_summary(text)).encode("utf-8"))
    assert root.tag == "testsuites"


def test_the_step_summary_gets_the_same_safe_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = tmp_path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    write_reports(_summary(HOSTILE[0]), tmp_path / "reports")
    appended = step.read_text(encoding="utf-8")
    assert markdown_skeleton(appended[:-1]) == markdown_skeleton(render_markdown(_summary("x")))
    assert "\r" not in appended and "<img" not in outside_code_spans(appended)


def test_code_spans_cannot_be_closed_early() -> None:
    assert escape.markdown_code("a`b") == "``a`b``"
    assert escape.markdown_code("`x`") == "`` `x` ``"
    assert markdown_skeleton(f"Run {escape.markdown_code('``` x ` y')} rest `") == [" code `"]


def test_the_terminal_gets_no_control_character() -> None:
    for text in HOSTILE:
        assert control_characters(escape.terminal(text), allowed="") == []
        assert control_characters(escape.terminal(text, multiline=True)) == []
    assert escape.terminal("plain `text` | ok") == "plain `text` | ok"
    assert escape.terminal("a\x1b[31mb") == "a\\x1b[31mb"


@pytest.mark.parametrize("text", HOSTILE)
def test_smoke_table_and_direct_failed_lines_carry_no_control_character(text: str) -> None:
    from verify.engine.finish import print_summary
    from verify.report.oncall import on_call_table

    summary = _summary(text)
    table = on_call_table(json.loads(json.dumps(summary.to_dict())))
    out = io.StringIO()
    print_summary(summary, Path("reports"), 1.0, out)
    assert control_characters(table) == []
    assert control_characters(out.getvalue()) == []
    # One line per problem, one per item left behind, one closing line: no more.
    assert out.getvalue().count("\n") == 2 + len(summary.left_behind) + 1


def test_pytest_failed_lines_carry_no_control_character() -> None:
    from verify.pytest_plugin.plugin import _redact_report

    report = types.SimpleNamespace(longrepr=f"suites/x.py::t: {HOSTILE[6]}", sections=[])
    _redact_report(report)  # type: ignore[arg-type]
    assert control_characters(str(report.longrepr)) == []


def test_discover_escapes_keys_and_hides_sensitive_placeholders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from verify.cli.main import main

    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "RawTable\x1b[2J\rName": {"value": "raw-data", "sensitive": False},
                "Alerts\u202eTopicArn\x1b]0;x\x07": {"value": "unknown", "sensitive": False},
                "db_password": {"value": "changeme", "sensitive": True},
                "api_endpoint": {"value": "https://abc1234567.execute-api.us-east-1.amazonaws.com/x"},
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["discover", "--outputs", str(outputs), "--no-follow"]) == 0
    printed = capsys.readouterr().out
    assert control_characters(printed) == []
    assert "changeme" not in printed
    assert "missing: db_password is a placeholder (its value hidden: sensitive)" in printed


def test_a_secret_left_in_a_value_is_masked_before_it_is_escaped(tmp_path: Path) -> None:
    """The writer's final pass found a registered value in summary.md: it renders again with each
    value masked first, so the mask is text too (a mask put into escaped text could split an escape)."""
    from verify.redact import REDACTOR

    secret = "zq-secret\\-value-77"
    REDACTOR.add(secret)
    write_reports(_summary(f"{secret}[click](javascript:alert(1))"), tmp_path)
    written = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert secret not in written and "\\*\\*\\*" in written
    assert markdown_skeleton(written) == markdown_skeleton(render_markdown(_summary("x")))


def test_verify_gate_prints_hostile_reasons_without_control_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from verify.cli.reports import _print_gate

    _print_gate(_summary(HOSTILE[6]))
    assert control_characters(capsys.readouterr().out) == []
