"""summary.json / summary.md writers and the GitHub step summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verify.model import Category, CheckResult, RunSummary, Severity, Status, Verdict
from verify.report import read_summary, render_markdown, write_reports

CHECK_KEYS = [
    "id",
    "title",
    "service",
    "resource",
    "category",
    "severity",
    "status",
    "duration_s",
    "attempts",
    "message",
]


def check(
    name: str,
    status: Status,
    severity: Severity = Severity.BLOCKING,
    service: str = "dynamodb",
    message: str = "",
) -> CheckResult:
    return CheckResult(
        id=f"suites/test_{service}.py::{name}",
        title=f"{service} {name}",
        service=service,
        resource="RawTable",
        category=Category.FUNCTIONAL if severity is Severity.BLOCKING else Category.POSTURE,
        severity=severity,
        status=status,
        duration_s=0.25,
        message=message,
    )


def summary() -> RunSummary:
    return RunSummary(
        verdict=Verdict.FAIL,
        profile="full",
        run_id="vfy-1",
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=2.5,
        source="out.json",
        region="us-east-1",
        checks=[
            check("active", Status.PASSED),
            check("pitr", Status.FAILED, Severity.ADVISORY, message="expected ENABLED, got DISABLED"),
            check("depth", Status.ERROR, service="sqs", message="could not verify: AccessDenied"),
            check("reachable", Status.FAILED, service="sqs", message="expected 200 | got 500\nbody"),
            check("dlq", Status.SKIPPED, service="sqs", message="not applicable: no DLQ"),
        ],
    )


@pytest.fixture(autouse=True)
def no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def test_summary_json_has_the_contract_keys(tmp_path: Path) -> None:
    write_reports(summary(), tmp_path / "reports")
    data = json.loads((tmp_path / "reports" / "summary.json").read_text(encoding="utf-8"))
    assert list(data) == [
        "schema",
        "verdict",
        "profile",
        "run_id",
        "started_at",
        "duration_s",
        "stack",
        "counts",
        "checks",
        "advice",  # a documented extra (docs/reports.md): how many of counts.failed are advice
    ]
    assert data["advice"] == 1
    assert data["schema"] == 1
    assert data["verdict"] == "fail"
    assert data["profile"] == "full"
    assert data["run_id"] == "vfy-1"
    assert data["started_at"] == "2026-01-01T00:00:00+00:00"
    assert data["duration_s"] == 2.5
    assert data["stack"] == {"source": "out.json", "region": "us-east-1"}
    assert data["counts"] == {"passed": 1, "failed": 2, "skipped": 1, "error": 1, "unverified": 0}
    assert [list(c) for c in data["checks"]] == [
        CHECK_KEYS,
        [*CHECK_KEYS, "advice"],
        CHECK_KEYS,
        CHECK_KEYS,
        CHECK_KEYS,
    ]
    assert data["checks"][1] == {
        "id": "suites/test_dynamodb.py::pitr",
        "title": "dynamodb pitr",
        "service": "dynamodb",
        "resource": "RawTable",
        "category": "posture",
        "severity": "advisory",
        "status": "failed",
        "duration_s": 0.25,
        "attempts": 1,
        "message": "expected ENABLED, got DISABLED",
        "advice": True,
    }


def test_reports_read_back(tmp_path: Path) -> None:
    write_reports(summary(), tmp_path)
    assert read_summary(tmp_path / "summary.json").to_dict() == summary().to_dict()


def test_write_leaves_no_temporary_files_and_overwrites(tmp_path: Path) -> None:
    write_reports(summary(), tmp_path)
    passed = RunSummary(
        Verdict.PASS, "full", "vfy-2", "t", 1.0, "out.json", None, [check("a", Status.PASSED)]
    )
    write_reports(passed, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "junit.xml",
        "report.html",
        "summary.json",
        "summary.md",
    ]
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["run_id"] == "vfy-2"


def test_markdown_lists_failures_first(tmp_path: Path) -> None:
    write_reports(summary(), tmp_path)
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "# verify: FAIL"
    # Under the verdict, the gate's own line: a skip is never counted as a pass.
    assert (
        lines[2] == "**1 of 4 blocking checks passed; 1 not applicable; 1 failed; 1 could not be verified**"
    )
    # The advisory failure is counted as advice, apart from the failure (as the bold line counts it).
    assert "1 passed, 1 failed, 1 error, 1 skipped; 1 advice" in lines[4]
    wrong = lines.index("## What is wrong (2)")
    services = lines.index("## Passed, by service")
    assert wrong < services
    advice = lines.index("## Advice (1)")
    problem_rows = [line for line in lines[wrong + 4 : advice] if line.startswith("|")]
    # Within blocking, failed before error; the advisory failure is advice, in its own section after.
    assert [row.split("|")[3].strip() for row in problem_rows] == [
        "sqs reachable",
        "sqs depth",
    ]
    assert [row.split("|")[2].strip() for row in problem_rows] == ["blocking", "blocking"]
    assert wrong < advice < services
    assert "| dynamodb pitr | expected ENABLED, got DISABLED |" in text
    # Pipes and newlines in a message must not break the table.
    assert "expected 200 \\| got 500 body" in problem_rows[0]
    # The passed and skipped checks are not in the problem list: passes are counted per service (the
    # checks themselves folded away into report.html), skips listed with their reasons.
    assert "dynamodb active" not in "\n".join(problem_rows)
    rows = {line.split("|")[1].strip(): line for line in lines[services:] if line.startswith("| ")}
    assert rows["sqs"] == "| sqs | 0 | 1 | 2 |"
    assert "dynamodb active" not in text  # a pass is counted, not listed
    assert "| sqs dlq |" in text.split("Not applicable here (1)", 1)[1]


def test_markdown_of_a_clean_run_has_no_problem_section() -> None:
    passed = RunSummary(Verdict.PASS, "smoke", "vfy-3", "t", 1.0, "", None, [check("a", Status.PASSED)])
    text = render_markdown(passed)
    assert "## What is wrong" not in text
    assert "# verify: PASS" in text
    assert "on `-`, region `-`" in text
    assert "(smoke profile)" in text


def test_markdown_shows_notes() -> None:
    noted = RunSummary(
        Verdict.ERROR, "full", "r", "t", 0.0, "x", None, notes=["no check ran: nothing was verified"]
    )
    assert "> no check ran: nothing was verified" in render_markdown(noted).splitlines()


def test_github_step_summary_is_appended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    step = tmp_path / "step_summary.md"
    step.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    write_reports(summary(), tmp_path / "reports")
    markdown = (tmp_path / "reports" / "summary.md").read_text(encoding="utf-8")
    assert step.read_text(encoding="utf-8") == "earlier step\n" + markdown + "\n"
    write_reports(summary(), tmp_path / "reports")
    assert step.read_text(encoding="utf-8").count("# verify: FAIL") == 2


def test_no_step_summary_without_the_variable(tmp_path: Path) -> None:
    write_reports(summary(), tmp_path / "reports")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]
