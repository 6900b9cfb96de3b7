"""`verify gate --into DIR` keeps the run's own reports (issue 18: gate rewrote them in place), and
`verify report merge` refuses one report or shard given twice (it doubled the counts)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from verify.cli.main import main
from verify.model import Category, CheckResult, RunSummary, Severity, Status, Verdict
from verify.report import write_reports

POLICY = '[policy]\nblocking_categories = ["functional", "posture"]\n'


def _check(name: str, status: Status, category: Category = Category.FUNCTIONAL) -> CheckResult:
    return CheckResult(
        id=f"suites/test_sqs.py::{name}",
        title=name,
        service="sqs",
        resource="Queue",
        category=category,
        severity=Severity.BLOCKING,
        status=status,
        message=f"{name} message" if status is Status.FAILED else "",
    )


def _run(directory: Path, run_id: str = "vfy-a", shard: str = "", source: str = "out.json") -> Path:
    summary = RunSummary(
        Verdict.PASS,
        "full",
        run_id,
        "2026-03-01T00:00:00+00:00",
        1.0,
        source,
        None,
        [_check("test_active", Status.PASSED), _check("test_dlq_empty", Status.FAILED, Category.POSTURE)],
    )
    write_reports(dataclasses.replace(summary, shard=shard), directory)
    return directory


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_gate_into_writes_the_gated_reports_there_and_keeps_the_originals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run(tmp_path / "run")
    before = _files(run)
    (tmp_path / "gate.toml").write_text(POLICY, encoding="utf-8")
    gated = tmp_path / "gated"
    argv = ["gate", "--summary", str(run / "summary.json"), "--policy", str(tmp_path / "gate.toml")]
    assert main([*argv, "--into", str(gated)]) == 1
    assert _files(run) == before  # untouched, byte for byte
    written = json.loads((gated / "summary.json").read_text(encoding="utf-8"))
    assert (written["verdict"], written["gate"]["verdict"]) == ("fail", "fail")
    assert sorted(_files(gated)) == ["junit.xml", "report.html", "summary.json", "summary.md"]
    assert "FAIL" in capsys.readouterr().out


def test_gate_alone_writes_nothing_and_in_place_rewrites(tmp_path: Path) -> None:
    run = _run(tmp_path / "run")
    before = _files(run)
    (tmp_path / "gate.toml").write_text(POLICY, encoding="utf-8")
    argv = ["gate", "--summary", str(run / "summary.json"), "--policy", str(tmp_path / "gate.toml")]
    assert main(argv) == 1
    assert _files(run) == before and sorted(p.name for p in tmp_path.iterdir()) == ["gate.toml", "run"]
    assert main([*argv, "--in-place"]) == 1
    assert json.loads((run / "summary.json").read_text(encoding="utf-8"))["verdict"] == "fail"


def test_gate_into_and_in_place_together_is_exit_2(tmp_path: Path) -> None:
    run = _run(tmp_path / "run")
    with pytest.raises(SystemExit) as caught:
        main(["gate", "--summary", str(run / "summary.json"), "--into", str(tmp_path / "g"), "--in-place"])
    assert caught.value.code == 2


def _one_sentence(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("verify: report merge: ") and err.count("\n") == 1, err
    return err


def test_merge_refuses_one_report_given_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _run(tmp_path / "s1", run_id="vfy-1", shard="1/2")
    into = tmp_path / "merged"
    assert main(["report", "merge", str(first), str(first), "--into", str(into)]) == 2
    assert "pass each report once" in _one_sentence(capsys)
    copy = tmp_path / "copy"
    shutil.copytree(first, copy)  # a copy is still the same run
    assert main(["report", "merge", str(first), str(copy), "--into", str(into)]) == 2
    assert "vfy-1" in _one_sentence(capsys)
    assert not into.exists()


def test_merge_refuses_one_shard_of_one_stack_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two runs of shard 1/2 (a retried CI job kept beside the first): its checks would count twice.
    once = _run(tmp_path / "a", run_id="vfy-1", shard="1/2")
    again = _run(tmp_path / "b", run_id="vfy-2", shard="1/2")
    other = _run(tmp_path / "c", run_id="vfy-3", shard="2/2")
    into = tmp_path / "merged"
    assert main(["report", "merge", str(once), str(again), str(other), "--into", str(into)]) == 2
    err = _one_sentence(capsys)
    assert "shard 1/2 of out.json again" in err and "pass each shard once" in err
    assert main(["report", "merge", str(once), str(other), "--into", str(into)]) == 0
    merged = json.loads((into / "summary.json").read_text(encoding="utf-8"))
    assert merged["counts"]["passed"] == 2 and merged["counts"]["failed"] == 2
    # Shards of one run may share its id; the same shard of two different stacks is two shards.
    second = _run(tmp_path / "e", run_id="vfy-1", shard="2/2")
    assert main(["report", "merge", str(once), str(second), "--into", str(tmp_path / "m1")]) == 0
    elsewhere = _run(tmp_path / "d", run_id="vfy-4", shard="1/2", source="other.json")
    assert main(["report", "merge", str(once), str(elsewhere), "--into", str(tmp_path / "m2")]) in (0, 3)
