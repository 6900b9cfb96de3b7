"""The end of every run, whichever runner ran it: summary -> release gate -> reports (Allure
included) -> exit code, and the console's verdict line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from verify.model import RunSummary, Status, Verdict
from verify.report.gate import gate_line
from verify.report.sections import failures
from verify.report.text import error_reason

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
    """The run's exit code (docs/reference.md): the gate's verdict, 130 when interrupted."""
    return EXIT_INTERRUPTED if interrupted else _EXIT[summary.verdict]


_COUNTED = {"unverified": "not verified from here"}


def verdict_line(summary: RunSummary, report_dir: Path, took_s: float | None = None) -> str:
    """The console's one closing line: the verdict, the gate's numbers (a skip is never a pass), every
    check's count, the time and where the reports are. Both front ends print it, and nothing after it."""
    # Advice is a finding, not a failure: counted apart, so "failed" means what the gate means.
    counts = {**summary.counts(), "failed": failures(summary), "advice": len(summary.advice())}
    order = ("passed", "failed", "advice", "error", "skipped", "unverified")
    shown = ", ".join(f"{counts[s]} {_COUNTED.get(s, s)}" for s in order if counts.get(s))
    took = summary.duration_s if took_s is None else took_s
    if not summary.interrupted:
        why = ""
    elif not summary.checks:
        # Stopped before the checks (or before the first had its answer): no count to qualify.
        why = " (interrupted before any check finished)"
    else:
        # An interrupted run's counts leave out the checks still running: without this, its ERROR
        # read as an error with nothing failed or unverified. Worded to stay true when every check
        # had its answer before the interrupt (one in the clean-up): "the checks still running"
        # then named checks there were none of.
        why = " (interrupted: only the checks that finished are counted)"
    return (
        f"verify: {summary.verdict.upper()}{why} -- {gate_line(summary)} "
        f"(all checks: {shown or 'none ran'}) in {took:.1f} s; reports in {report_dir}/"
    )


def left_behind_lines(summary: RunSummary) -> list[str]:
    """Test data clean-up could not remove: the team deletes it by hand."""
    from verify.escape import terminal

    return [f"LEFT BEHIND {terminal(item.line())}" for item in summary.left_behind]


def problem_lines(summary: RunSummary) -> list[str]:
    """The console's problems: advice first, then failures and errors, so the failures end up just
    above the closing line. Errors of one cause are one line, "N checks could not run: <reason>"
    (without credentials, the same sentence would otherwise print once per check)."""
    from verify.escape import terminal

    lines = [f"ADVICE {terminal(c.id)} - {terminal(c.message)}" for c in summary.advice()]
    problems = [c for c in summary.checks if c.status in (Status.FAILED, Status.ERROR) and not c.is_advice]
    by_reason: dict[str, list[str]] = {}
    for check in problems:
        if check.status is Status.ERROR:
            by_reason.setdefault(error_reason(check.message), []).append(check.id)
    shown: set[str] = set()
    for check in problems:
        if check.status is Status.FAILED:
            lines.append(f"FAILED {terminal(check.id)} - {terminal(check.message)}")
            continue
        reason = error_reason(check.message)
        ids = by_reason[reason]
        if len(ids) == 1:
            lines.append(f"ERROR {terminal(check.id)} - {terminal(check.message)}")
        elif reason not in shown:
            shown.add(reason)
            lines.append(f"ERROR {len(ids)} checks could not run: {terminal(reason)}")
    return lines


def closing_lines(
    summary: RunSummary, report_dir: Path, took: float, *, on_call: bool = False, problems: bool = True
) -> list[str]:
    """What a run prints at its end, on both front ends: the problems (`on_call`: smoke's table of
    them; `problems=False` where pytest's own summary lists them), what was left behind, then one
    closing line, the last."""
    from verify.report.oncall import on_call_table

    shown: list[str] = []
    if problems:
        shown = (
            on_call_table(summary.to_dict(), framed=False).splitlines() if on_call else problem_lines(summary)
        )
    return [*shown, *left_behind_lines(summary), f"= {verdict_line(summary, report_dir, took)} ="]


def print_summary(
    summary: RunSummary, report_dir: Path, took: float, out: TextIO, *, on_call: bool = False
) -> None:
    """The runner's end of the console (see `closing_lines`)."""
    for line in closing_lines(summary, report_dir, took, on_call=on_call):
        out.write(line + "\n")
    out.flush()
