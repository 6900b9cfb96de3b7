"""The verdict rule and the summary.json round trip."""

from __future__ import annotations

import json

import pytest

from verify.model import (
    SCHEMA_VERSION,
    Category,
    CheckResult,
    RunSummary,
    Severity,
    Status,
    Verdict,
    judge,
)

B, A = Severity.BLOCKING, Severity.ADVISORY
P, F, S, E = Status.PASSED, Status.FAILED, Status.SKIPPED, Status.ERROR


def result(status: Status, severity: Severity = B, name: str = "t", **extra: object) -> CheckResult:
    category = Category.FUNCTIONAL if severity is B else Category.POSTURE
    return CheckResult(
        id=f"suites/test_x.py::{name}",
        title=f"title {name}",
        service="dynamodb",
        resource="RawTable",
        category=category,
        severity=severity,
        status=status,
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([(P, B)], Verdict.PASS),
        ([(P, B), (F, B)], Verdict.FAIL),
        ([(P, B), (E, B)], Verdict.ERROR),
        ([(F, B), (E, B), (P, B)], Verdict.FAIL),  # a failure outranks an error
        ([(P, B), (F, A), (E, A)], Verdict.PASS),  # advisory problems never decide the verdict
        ([(P, B), (S, B)], Verdict.PASS),
        ([], Verdict.ERROR),  # verified nothing
        ([(S, B), (S, B)], Verdict.ERROR),  # all skipped is no pass
        ([(P, A), (S, B)], Verdict.ERROR),  # only advisory checks passed: nothing blocking was verified
        ([(F, A)], Verdict.ERROR),
    ],
)
def test_judge(statuses: list[tuple[Status, Severity]], expected: Verdict) -> None:
    checks = [result(status, severity, name=f"t{i}") for i, (status, severity) in enumerate(statuses)]
    assert judge(checks) is expected


def sample_summary() -> RunSummary:
    return RunSummary(
        verdict=Verdict.FAIL,
        profile="smoke",
        run_id="vfy-20260101T000000-abcdef12",
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=4.23456,
        source="cfn-outputs/flat-outputs.json",
        region="eu-west-1",
        checks=[
            result(P, name="a", duration_s=0.0312, attempts=3),
            result(F, name="b", message="expected ACTIVE, got CREATING", evidence={"status": "CREATING"}),
            result(S, A, name="c", message="not applicable: no queue"),
            result(E, name="d", message="could not verify: AccessDenied"),
            result(F, A, name="e"),
        ],
        notes=["a note"],
        interrupted=True,
    )


def test_counts() -> None:
    assert sample_summary().counts() == {"passed": 1, "failed": 2, "skipped": 1, "error": 1, "unverified": 0}
    empty = RunSummary(Verdict.ERROR, "full", "r", "", 0.0, "", None)
    assert empty.counts() == {"passed": 0, "failed": 0, "skipped": 0, "error": 0, "unverified": 0}


def test_to_dict_has_the_contract_shape() -> None:
    data = sample_summary().to_dict()
    assert data["schema"] == SCHEMA_VERSION == 1
    assert data["verdict"] == "fail"
    assert data["profile"] == "smoke"
    assert data["duration_s"] == 4.235
    assert data["stack"] == {"source": "cfn-outputs/flat-outputs.json", "region": "eu-west-1"}
    assert data["counts"] == {"passed": 1, "failed": 2, "skipped": 1, "error": 1, "unverified": 0}
    assert data["notes"] == ["a note"]
    assert data["interrupted"] is True
    assert data["checks"][0] == {
        "id": "suites/test_x.py::a",
        "title": "title a",
        "service": "dynamodb",
        "resource": "RawTable",
        "category": "functional",
        "severity": "blocking",
        "status": "passed",
        "duration_s": 0.031,
        "attempts": 3,
        "message": "",
    }
    assert data["checks"][1]["evidence"] == {"status": "CREATING"}
    assert data["checks"][2]["severity"] == "advisory"
    assert data["checks"][2]["category"] == "posture"
    # Plain JSON types only: json.dumps must not need a default.
    json.dumps(data)


def test_optional_keys_are_left_out_when_empty() -> None:
    data = RunSummary(Verdict.PASS, "full", "r", "t", 1.0, "s", None, checks=[result(P)]).to_dict()
    assert "notes" not in data
    assert "interrupted" not in data
    assert "evidence" not in data["checks"][0]
    assert data["stack"] == {"source": "s", "region": None}


def test_round_trip() -> None:
    original = sample_summary()
    again = RunSummary.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again.to_dict() == original.to_dict()
    assert again.verdict is Verdict.FAIL
    assert again.checks[1].status is Status.FAILED
    assert again.checks[1].evidence == {"status": "CREATING"}
    assert again.checks[2].severity is Severity.ADVISORY
    assert again.region == "eu-west-1"
    assert again.interrupted is True


def test_from_dict_fills_defaults_for_optional_fields() -> None:
    summary = RunSummary.from_dict(
        {"verdict": "pass", "checks": [{"id": "x::y", "status": "skipped"}], "stack": {"source": "f.json"}}
    )
    assert summary.profile == "full"
    assert summary.source == "f.json"
    assert summary.region is None
    (check,) = summary.checks
    assert (check.category, check.severity, check.status, check.attempts) == (
        Category.FUNCTIONAL,
        Severity.BLOCKING,
        Status.SKIPPED,
        1,
    )


def test_from_dict_rejects_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="'green'"):
        RunSummary.from_dict({"verdict": "pass", "checks": [{"id": "x", "status": "green"}]})


def test_aws_calls_are_reported_with_their_total_and_survive_a_round_trip() -> None:
    calls = {"sqs:GetQueueAttributes": 4, "dynamodb:DescribeTable": 2}
    summary = RunSummary(Verdict.PASS, "smoke", "r", "t", 1.0, "s", None, checks=[result(P)], aws_calls=calls)
    data = summary.to_dict()
    assert data["aws_calls"] == {"total": 6, "by_operation": calls}
    assert RunSummary.from_dict(json.loads(json.dumps(data))).aws_calls == calls
    bare = RunSummary(Verdict.PASS, "smoke", "r", "t", 1.0, "s", None, checks=[result(P)]).to_dict()
    assert "aws_calls" not in bare


def test_merged_shards_add_their_aws_calls() -> None:
    from verify.report.merge import merge_summaries

    one = RunSummary(Verdict.PASS, "full", "r", "t", 1.0, "s", None, checks=[result(P)], aws_calls={"a:X": 2})
    two = RunSummary(
        Verdict.PASS, "full", "r", "t", 1.0, "s", None, checks=[result(P)], aws_calls={"a:X": 1, "b:Y": 5}
    )
    assert merge_summaries([one, two], ["1", "2"]).aws_calls == {"a:X": 3, "b:Y": 5}
