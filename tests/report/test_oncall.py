"""The table `verify smoke` prints for a human at night: what is wrong first, then one line."""

from __future__ import annotations

from typing import Any

from verify.report.oncall import on_call_table


def _check(name: str, status: str, severity: str = "blocking", message: str = "") -> dict[str, Any]:
    return {
        "id": f"suites/x.py::{name}",
        "status": status,
        "severity": severity,
        "service": "rds",
        "message": message,
    }


def test_blocking_failures_come_first_then_errors_then_advice_then_the_rest() -> None:
    summary = {
        "verdict": "fail",
        "duration_s": 2.5,
        "checks": [
            _check("a", "passed"),
            _check("b", "failed", "advisory", "RDS instance `db`: expected Multi-AZ, got False"),
            _check("c", "error", message="could not verify: database unreachable from this network"),
            _check("d", "failed", message="RDS instance `db`: expected status available, got stopped"),
            _check("e", "skipped"),
        ],
    }
    lines = on_call_table(summary).splitlines()
    assert lines[0] == "verify smoke: FAIL (2.5 s)"
    assert lines[1].split() == ["STATUS", "SEVERITY", "SERVICE", "WHAT", "IS", "WRONG"]
    assert [line.split()[0] + " " + line.split()[1] for line in lines[2:5]] == [
        "FAILED blocking",
        "ERROR blocking",
        "ADVICE rds",  # an advisory failure is advice: after what is wrong, apart from it
    ]
    assert "expected Multi-AZ, got False" in lines[4]
    assert "expected status available, got stopped" in lines[2]
    assert lines[-1] == "the rest: 1 passed, 1 skipped (not applicable or writes test data), 1 advice"


def test_a_clean_run_says_so_in_two_lines() -> None:
    text = on_call_table({"verdict": "pass", "duration_s": 1.0, "checks": [_check("a", "passed")]})
    assert text.splitlines() == [
        "verify smoke: PASS (1.0 s)",
        "nothing is wrong",
        "the rest: 1 passed, 0 skipped (not applicable or writes test data)",
    ]
