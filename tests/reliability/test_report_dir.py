"""The report directory (issue 16, findings 11 and 13): an unusable `--report-dir` is one sentence and
exit 2 before anything is verified; symlinks in it are never followed for deletion or writing.

In-process (`verify.cli.main.main`); the run itself is replaced by a stub that fails the test if reached."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import verify.cli.main as cli
from verify.model import Category, CheckResult, RunSummary, Severity, Status, Verdict
from verify.report import write_reports
from verify.report.allure import AllureWriter, finish_allure_results
from verify.report.files import check_report_dir


@pytest.fixture
def never_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    def reached(*args: object) -> int:
        raise AssertionError("something was verified despite an unusable report directory")

    monkeypatch.setattr(cli, "_validate_inputs", reached)
    monkeypatch.setattr(cli, "_run_checks", reached)


def _bad_dirs(tmp_path: Path) -> dict[str, Path]:
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    return {
        "a file": a_file,
        "under a file": a_file / "reports",
        "deep under a file": a_file / "x" / "y",
        "unwritable": Path("/proc/verify-reports-here"),
    }


@pytest.mark.parametrize("case", ["a file", "under a file", "deep under a file", "unwritable"])
def test_an_unusable_report_dir_is_one_sentence_and_exit_2(
    case: str, tmp_path: Path, never_verifies: None, capsys: pytest.CaptureFixture[str]
) -> None:
    target = _bad_dirs(tmp_path)[case]
    code = cli.main(["run", "--outputs", "x.json", "--report-dir", str(target)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("verify: --report-dir ") and "Traceback" not in err, err


def test_report_merge_into_a_file_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "run"
    write_reports(_summary(), source)
    into = tmp_path / "a-file"
    into.write_text("x", encoding="utf-8")
    code = cli.main(["report", "merge", str(source), "--into", str(into)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("verify: --into ") and err.count("\n") == 1, err


def _summary() -> RunSummary:
    return RunSummary(
        verdict=Verdict.PASS,
        profile="full",
        run_id="vfy-20260101T000000-abcdef12",
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=1.0,
        source="x.json",
        region="us-east-1",
        checks=[
            CheckResult(
                id="suites/test_x.py::test_x[Key]",
                title="x",
                service="dynamodb",
                resource="Key",
                category=Category.FUNCTIONAL,
                severity=Severity.BLOCKING,
                status=Status.PASSED,
            )
        ],
    )


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me", encoding="utf-8")
    (victim / "old-result.json").write_text("{}", encoding="utf-8")
    return victim


def test_a_symlinked_allure_results_is_replaced_never_emptied(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "allure-results").symlink_to(victim, target_is_directory=True)
    writer = AllureWriter(reports / "allure-results")
    writer.finish(_summary())
    assert sorted(p.name for p in victim.iterdir()) == ["old-result.json", "precious.txt"]
    assert (victim / "precious.txt").read_text(encoding="utf-8") == "keep me"
    assert not (reports / "allure-results").is_symlink() and (reports / "allure-results").is_dir()


def test_the_cli_replaces_a_symlinked_allure_results_before_the_run(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "allure-results").symlink_to(victim, target_is_directory=True)
    check_report_dir(reports)
    assert not (reports / "allure-results").exists()  # allure-pytest creates its own directory
    assert sorted(p.name for p in victim.iterdir()) == ["old-result.json", "precious.txt"]


def test_links_inside_allure_results_are_neither_read_nor_written(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    results = tmp_path / "allure-results"
    results.mkdir()
    (results / "x-result.json").symlink_to(victim / "old-result.json")
    (results / "environment.properties").symlink_to(victim / "precious.txt")
    finish_allure_results(results, _summary())
    assert (victim / "precious.txt").read_text(encoding="utf-8") == "keep me"
    assert (victim / "old-result.json").read_text(encoding="utf-8") == "{}"
    assert not (results / "environment.properties").is_symlink()


@pytest.mark.parametrize(
    "name", ["summary.md", ".summary.md.tmp", "summary.json", ".summary.json.tmp", "junit.xml"]
)
def test_a_symlink_at_a_report_name_is_replaced_not_written_through(tmp_path: Path, name: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / name).symlink_to(victim)
    write_reports(_summary(), reports)
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert (reports / "summary.md").is_file() and not (reports / "summary.md").is_symlink()
    assert not [p for p in os.listdir(reports) if p.endswith(".tmp") and p != name]


def test_merge_never_copies_through_a_link(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY", encoding="utf-8")
    source = tmp_path / "run"
    write_reports(_summary(), source)
    (source / "allure-results").mkdir()
    (source / "allure-results" / "a-result.json").write_text("{}", encoding="utf-8")
    (source / "allure-results" / "b-result.json").symlink_to(secret)
    into = tmp_path / "merged"
    assert cli.main(["report", "merge", str(source), "--into", str(into)]) == 0
    copied = {p.name: p.read_text(encoding="utf-8") for p in (into / "allure-results").iterdir()}
    assert "a-result.json" in copied and "b-result.json" not in copied
    assert not any("CANARY" in text for text in copied.values())
