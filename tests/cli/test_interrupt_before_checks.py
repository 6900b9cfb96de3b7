"""Exit 130 always leaves reports (docs/reference.md, "Exit codes"): a run interrupted while it still
reads the outputs and follows the stack's wiring -- before any check started -- writes summary.json
with `interrupted: true`, says what it was doing and ends the console with the closing line, as a run
interrupted among its checks does.

In-process: the interrupt is raised from discovery, where Ctrl-C lands on a slow network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verify.cli.main import main
from verify.stack import wiring

OUTPUTS = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "pipeline-flat.json"


def interrupted(*args: object, **kwargs: object) -> None:
    """Ctrl-C, landing where the test puts this."""
    raise KeyboardInterrupt


def assert_reports_say_interrupted(
    code: int, reports: Path, capsys: pytest.CaptureFixture[str], while_doing: str
) -> None:
    assert code == 130
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert summary["interrupted"] is True
    assert summary["verdict"] == "error" and summary["checks"] == []
    said = f"before any check ran (while {while_doing}"
    assert any(said in note for note in summary["notes"]), summary["notes"]
    # The console ends as any run does: one closing line, the last, saying why and where the reports are.
    out = capsys.readouterr().out.splitlines()
    assert out and out[-1].startswith("= verify: ERROR (interrupted before any check finished)"), out
    assert f"reports in {reports}/" in out[-1] and "none ran" in out[-1], out[-1]


def test_an_interrupt_while_following_the_wiring_still_writes_the_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(wiring, "follow_wiring", interrupted)
    code = main(["run", f"--outputs={OUTPUTS}", f"--report-dir={tmp_path / 'reports'}"])
    assert_reports_say_interrupted(code, tmp_path / "reports", capsys, "reading the outputs")


def test_an_interrupt_while_the_sandbox_starts_still_writes_the_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first seconds of `verify run --sandbox` are the sandbox's start: a newcomer's Ctrl-C at 2 s
    # exited 130 with no reports at all.
    from verify.sandbox import manager

    monkeypatch.setattr(manager, "spawn_sandbox", interrupted)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--sandbox", f"--report-dir={tmp_path / 'reports'}"])
    assert_reports_say_interrupted(code, tmp_path / "reports", capsys, "starting the sandbox")
