"""The console while a run works (issue 18): a live status line on a terminal, a heartbeat line in a
log, nothing with --quiet; errors of one cause printed once; one closing line."""

from __future__ import annotations

import io
from pathlib import Path

from verify.engine.finish import print_summary, problem_lines
from verify.model import Category, CheckResult, RunSummary, Severity, Status, Verdict
from verify.polling import WaitInProgress, eventually, waits_in_progress
from verify.report.oncall import on_call_table
from verify.report.progress import Progress
from verify.report.text import error_reason, shorten

NO_CREDENTIALS = (
    "could not verify: no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
    "or run `aws sso login` (needed for {call})"
)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _wait(what: str, started: float, attempts: int) -> WaitInProgress:
    return WaitInProgress(what=what, started=started, budget_s=90.0, attempts=attempts)


def test_the_heartbeat_names_the_wait_its_time_against_the_budget_and_its_attempts() -> None:
    import time

    clock = _Clock()
    now = time.monotonic()
    waits = [_wait("processed reading r1 in table processed", now - 34, 52), _wait("trace t1", now - 5, 9)]
    progress = Progress(io.StringIO(), live=False, waits=lambda: waits, clock=clock)
    progress.track(190, lambda: 184)
    clock.now += 40
    line = progress.heartbeat_line()
    assert line is not None
    assert line == (
        "verify: [40 s] 184 of 190 checks done; waiting for processed reading r1 in table processed "
        "(34 s of 90 s, 52 attempts); trace t1 (5.0 s of 90 s, 9 attempts)"
    )
    waits.append(_wait("log line " + "x" * 200, now - 1, 2))
    line = progress.heartbeat_line()
    assert line is not None and line.endswith("; and 1 more") and "log line" not in line


def test_no_heartbeat_once_nothing_runs_or_waits() -> None:
    progress = Progress(io.StringIO(), live=False, waits=list)
    progress.track(3, lambda: 3)
    assert progress.heartbeat_line() is None
    progress.track(3, lambda: 2)  # a check still running without a wait is still said
    assert progress.heartbeat_line() == "verify: [0 s] 2 of 3 checks done"


def test_a_heartbeat_in_a_log_goes_on_a_line_of_its_own_between_the_progress_characters() -> None:
    out = io.StringIO()
    progress = Progress(out, live=False, waits=lambda: [_wait("item x", 0.0, 3)])
    progress.track(4, lambda: 2)
    progress.write("..")
    progress._tick()
    progress.write(".F")
    lines = out.getvalue().splitlines()
    assert lines[0] == ".." and lines[1].startswith("verify: [") and "waiting for item x" in lines[1]
    assert lines[2] == ".F"


def test_on_a_terminal_the_status_is_redrawn_after_the_characters_and_erased_at_the_end() -> None:
    out = io.StringIO()
    progress = Progress(out, live=True, waits=lambda: [_wait("item x", 0.0, 3)], width=lambda: 60)
    progress.track(4, lambda: 2)
    progress.write("..")
    progress._tick()
    drawn = out.getvalue()
    assert drawn.startswith("..  [") and "waiting for item x" in drawn and drawn.endswith("\x1b[K")
    # Never wider than the terminal: the status is cut, the characters are not.
    assert all(len(part.replace("\x1b[K", "")) < 60 for part in drawn.split("\r"))
    progress.write(".")
    assert out.getvalue().endswith("\r..\x1b[K.")
    progress._tick()
    progress.stop()
    assert out.getvalue().endswith("\r...\x1b[K")


def test_quiet_prints_no_progress_and_leaves_the_output_as_written() -> None:
    out = io.StringIO()
    progress = Progress(out, enabled=False, live=True, waits=lambda: [_wait("item x", 0.0, 3)])
    progress.start()
    progress.write("..")
    progress.stop()
    assert out.getvalue() == ".."


def test_every_wait_in_any_thread_is_listed_while_it_runs_and_gone_after() -> None:
    seen: list[list[str]] = []
    answers = iter([None, None, "there"])

    def probe() -> str | None:
        seen.append([f"{w.what}/{w.attempts}/{w.budget_s:g}" for w in waits_in_progress()])
        return next(answers)

    eventually(probe, what="item x", timeout=5, until=bool, sleep=lambda s: None)
    assert seen == [["item x/0/5"], ["item x/1/5"], ["item x/2/5"]]
    assert waits_in_progress() == []


def _error(name: str, message: str, service: str = "dynamodb") -> CheckResult:
    return CheckResult(
        id=f"suites/test_{service}.py::{name}",
        title=name,
        service=service,
        resource="Key",
        category=Category.FUNCTIONAL,
        severity=Severity.BLOCKING,
        status=Status.ERROR,
        message=message,
    )


def _summary(*checks: CheckResult) -> RunSummary:
    return RunSummary(
        Verdict.ERROR, "full", "vfy-p", "2026-03-01T00:00:00+00:00", 1.0, "o.json", None, list(checks)
    )


def test_errors_of_one_cause_print_once_with_their_count() -> None:
    calls = ["dynamodb:DescribeTable on raw", "sqs:GetQueueAttributes on q", "ssm:GetParameter on /p"]
    checks = [_error(f"test_{i}", NO_CREDENTIALS.format(call=call)) for i, call in enumerate(calls)]
    checks.append(
        _error("test_flow", "could not verify: the ingest step failed, so x cannot be observed", "flow")
    )
    lines = problem_lines(_summary(*checks))
    assert lines == [
        "ERROR 3 checks could not run: no AWS credentials found: set AWS_PROFILE or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws sso login`",
        "ERROR suites/test_flow.py::test_flow - could not verify: the ingest step failed, so x cannot be observed",
    ]
    out = io.StringIO()
    print_summary(_summary(*checks), Path("reports"), 2.0, out)
    printed = out.getvalue().splitlines()
    assert printed[-1].startswith(
        "= verify: ERROR -- 0 of 4 blocking checks passed; 0 not applicable; 0 failed"
    )
    assert printed[-1].endswith("(all checks: 4 error) in 2.0 s; reports in reports/ =")
    assert sum(line.startswith("= ") for line in printed) == 1 and len(printed) == 3


def test_an_interrupted_runs_closing_line_says_so() -> None:
    # A newcomer's Ctrl-C ended in "ERROR -- 83 of 89 blocking checks passed; ... 0 failed": an
    # error with nothing failed or unverified, the checks still running left out of the counts.
    from dataclasses import replace

    one = _error("test_a", "could not verify: x")
    out = io.StringIO()
    print_summary(replace(_summary(one), interrupted=True), Path("reports"), 2.0, out)
    assert (
        out.getvalue()
        .splitlines()[-1]
        .startswith("= verify: ERROR (interrupted: only the checks that finished are counted) -- ")
    )
    out = io.StringIO()
    print_summary(_summary(one), Path("reports"), 2.0, out)
    assert "interrupted" not in out.getvalue()
    # Stopped before any check had its answer (while reading the outputs, say): nothing to count.
    out = io.StringIO()
    print_summary(replace(_summary(), interrupted=True), Path("reports"), 2.0, out)
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("= verify: ERROR (interrupted before any check finished) -- "), last
    assert "(all checks: none ran)" in last


def test_unreachable_endpoints_share_a_reason_whatever_the_call() -> None:
    first = error_reason(
        "could not verify: could not reach http://127.0.0.1:9 for dynamodb DescribeTable on raw "
        "(EndpointConnectionError): check the network, the region and AWS_ENDPOINT_URL"
    )
    second = error_reason(
        "could not verify: could not reach http://127.0.0.1:9 for sqs GetQueueAttributes on q "
        "(EndpointConnectionError): check the network, the region and AWS_ENDPOINT_URL"
    )
    assert (
        first
        == second
        == (
            "could not reach http://127.0.0.1:9 (EndpointConnectionError): check the network, the region and "
            "AWS_ENDPOINT_URL"
        )
    )


def test_smokes_table_has_one_row_per_cause_and_never_cuts_a_word() -> None:
    checks = [_error(f"test_{i}", NO_CREDENTIALS.format(call=f"sqs:Get on q{i}"), "sqs") for i in range(5)]
    table = on_call_table(_summary(*checks).to_dict())
    rows = [line for line in table.splitlines() if line.startswith("ERROR")]
    assert len(rows) == 1 and "5 checks could not run: no AWS credentials found" in rows[0]
    assert rows[0].endswith("run `aws sso login`")
    assert shorten("one two three four", 12) == "one two…"
    # Without its frame, for the console: no verdict line of its own, no "the rest" line.
    bare = on_call_table(_summary(*checks).to_dict(), framed=False).splitlines()
    assert not any(line.startswith(("verify smoke:", "the rest:")) for line in bare)


def test_steps_print_with_their_time_and_only_the_slow_ones_when_asked() -> None:
    from verify.report.progress import step_printer

    out = io.StringIO()
    step_printer(out, prefix="verify: sandbox: ")("AWS emulator started")
    assert out.getvalue().startswith("verify: sandbox: AWS emulator started (0.0 s)")
    quiet, fast = io.StringIO(), io.StringIO()
    step_printer(quiet, enabled=False)("ready")
    step_printer(fast, prefix="verify: ", slower_than=5.0)("205 checks planned")  # took no time
    assert quiet.getvalue() == fast.getvalue() == ""
