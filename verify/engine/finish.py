"""The end of every run, whichever runner ran it: summary -> release gate -> reports (Allure
included) -> exit code, and the console's verdict line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from verify.model import RunSummary, Status, Verdict
from verify.report.markdown import advice_clause, unverified_clause

if TYPE_CHECKING:
    from pathlib import Path

    from verify.engine.session import VerifySession
    from verify.report.allure import AllureWriter

EXIT_INTERRUPTED = 130
_EXIT = {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.ERROR: 3}


def finish(session: VerifySession, allure: AllureWriter | None, *, interrupted: bool) -> RunSummary:
    """Judge the run's results, apply the policy's gate and write every report (Allure's when asked)."""
    from verify.engine.session import build_summary
    from verify.report import write_reports
    from verify.report.gate import apply_gate

    summary = build_summary(session, interrupted=interrupted)
    summary = apply_gate(summary, session.policy, session.policy_source)
    write_reports(summary, session.report_dir)
    if allure is not None:
        allure.finish(summary)
    return summary


def exit_code(summary: RunSummary, *, interrupted: bool = False) -> int:
    """The run's exit code (CONTRACT.md): the gate's verdict, 130 when interrupted."""
    return EXIT_INTERRUPTED if interrupted else _EXIT[summary.verdict]


def verdict_line(summary: RunSummary, report_dir: Path) -> str:
    counts = summary.counts()
    return (
        f"verify: {summary.verdict.upper()} -- {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['error']} error, {counts['skipped']} skipped{unverified_clause(counts)}{advice_clause(summary)}; "
        f"reports in {report_dir}/"
    )


def left_behind_lines(summary: RunSummary) -> list[str]:
    """Test data clean-up could not remove: the team deletes it by hand."""
    from verify.escape import terminal

    return [f"LEFT BEHIND {terminal(item.line())}" for item in summary.left_behind]


def print_summary(summary: RunSummary, report_dir: Path, took: float, out: TextIO) -> None:
    """What the runner prints at the end, as pytest -q would: the problems, the verdict, the counts."""
    from verify.escape import terminal

    # Advice is a finding, not a failure: its own word, and printed first, so the failures end up
    # just above the verdict line, where a terminal's reader looks.
    for check in summary.advice():
        out.write(f"ADVICE {terminal(check.id)} - {terminal(check.message)}\n")
    for check in summary.checks:
        if check.status in (Status.FAILED, Status.ERROR) and not check.is_advice:
            word = "FAILED" if check.status is Status.FAILED else "ERROR"
            out.write(f"{word} {terminal(check.id)} - {terminal(check.message)}\n")
    out.write(f"= {verdict_line(summary, report_dir)} =\n")
    for line in left_behind_lines(summary):
        out.write(line + "\n")
    shown = ", ".join(f"{n} {k}" for k, n in summary.counts().items() if n)
    out.write(f"{shown or 'nothing ran'} in {took:.2f}s\n")
    out.flush()
