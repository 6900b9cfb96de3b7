"""The release gate: severities re-judged under a policy, waivers and their expiry, thresholds, and
`verify gate` on a finished summary (no AWS)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from verify.config.settings import Policy, Waiver, load_policy
from verify.errors import ConfigError
from verify.model import Category, CheckResult, RunSummary, Severity, Status, Verdict
from verify.report import write_reports
from verify.report.gate import apply_gate, blocking_tally, flow_latency_s, gate_line

TODAY = dt.date(2026, 3, 1)


def make(
    name: str,
    status: Status,
    *,
    service: str = "dynamodb",
    category: Category = Category.FUNCTIONAL,
    evidence: dict[str, object] | None = None,
) -> CheckResult:
    return CheckResult(
        id=f"suites/test_{service}.py::{name}",
        title=name,
        service=service,
        resource="Table",
        category=category,
        severity=Severity.BLOCKING,  # whatever the run said: the gate decides again
        status=status,
        message=f"{name} message" if status in (Status.FAILED, Status.ERROR) else "",
        evidence=evidence or {},
    )


def run_of(*checks: CheckResult) -> RunSummary:
    return RunSummary(
        Verdict.PASS, "full", "vfy-g", "2026-03-01T00:00:00+00:00", 1.0, "out.json", None, list(checks)
    )


def test_default_policy_blocks_functional_and_advises_posture() -> None:
    judged = apply_gate(
        run_of(
            make("test_active", Status.PASSED),
            make("test_pitr", Status.FAILED, category=Category.POSTURE),
        ),
        Policy(),
        "built-in default",
        today=TODAY,
    )
    assert judged.verdict is Verdict.PASS
    assert [c.severity for c in judged.checks] == [Severity.BLOCKING, Severity.ADVISORY]
    assert judged.gate is not None
    assert judged.gate.reasons == ["1 of 1 blocking checks passed; 0 not applicable; 0 failed"]
    assert judged.gate.policy == "built-in default"


def test_a_skipped_blocking_check_is_never_counted_as_a_pass() -> None:
    judged = apply_gate(
        run_of(
            make("test_active", Status.PASSED),
            make("test_stream", Status.SKIPPED, service="kinesis"),
            make("test_queue", Status.SKIPPED, service="sqs"),
        ),
        Policy(),
        "built-in default",
        today=TODAY,
    )
    assert judged.verdict is Verdict.PASS
    assert gate_line(judged) == "1 of 3 blocking checks passed; 2 not applicable; 0 failed"
    assert judged.gate is not None and judged.gate.reasons[0] == gate_line(judged)
    # The reports print the same line: summary.md's verdict line carries it.
    from verify.report.markdown import render_markdown

    assert "1 of 3 blocking checks passed; 2 not applicable; 0 failed" in render_markdown(judged)


def test_the_gate_line_leads_a_failing_gate_too_and_counts_errors_apart() -> None:
    judged = apply_gate(
        run_of(
            make("test_active", Status.PASSED),
            make("test_flow", Status.FAILED, service="flow"),
            make("test_query", Status.ERROR, service="flow"),
        ),
        Policy(),
        "built-in default",
        today=TODAY,
    )
    assert judged.verdict is Verdict.FAIL
    assert judged.gate is not None
    assert judged.gate.reasons[0] == (
        "1 of 3 blocking checks passed; 0 not applicable; 1 failed; 1 could not be verified"
    )
    tally = blocking_tally(judged.checks)
    assert (tally.total, tally.passed, tally.failed, tally.error) == (3, 1, 1, 1)


def test_a_one_shard_merge_counts_what_passed_not_what_ran(tmp_path: Path) -> None:
    from verify.report.merge import merge_reports

    shard = tmp_path / "shard1"
    write_reports(
        apply_gate(
            run_of(
                make("test_active", Status.PASSED), make("test_api", Status.SKIPPED, service="apigateway")
            ),
            Policy(),
            "built-in default",
            today=TODAY,
        ),
        shard,
    )
    merged = merge_reports([shard], tmp_path / "merged", Policy(), "built-in default")
    assert merged.gate is not None
    assert merged.gate.reasons[0] == "1 of 2 blocking checks passed; 1 not applicable; 0 failed"
    assert "1 of 2 blocking checks passed" in (tmp_path / "merged" / "summary.md").read_text()


def test_active_waiver_turns_a_failure_advisory_with_its_reason() -> None:
    waiver = Waiver(
        check="suites/test_sqs.py::test_dlq*", reason="JIRA-12 drains it", expires=dt.date(2026, 3, 1)
    )
    judged = apply_gate(
        run_of(make("test_active", Status.PASSED), make("test_dlq_empty", Status.FAILED, service="sqs")),
        Policy(waivers=(waiver,)),
        "policy.toml",
        today=TODAY,  # the expiry day itself still counts
    )
    assert judged.verdict is Verdict.PASS
    dlq = judged.checks[1]
    assert (dlq.severity, dlq.waiver) == (Severity.ADVISORY, "JIRA-12 drains it (waived until 2026-03-01)")
    assert judged.gate is not None
    assert any("waived: JIRA-12 drains it" in r for r in judged.gate.reasons)
    assert judged.to_dict()["checks"][1]["waiver"].startswith("JIRA-12")


def test_expired_waiver_blocks_again_and_says_so() -> None:
    waiver = Waiver(check="suites/test_sqs.py::test_dlq_empty", reason="old", expires=dt.date(2026, 2, 28))
    judged = apply_gate(
        run_of(make("test_active", Status.PASSED), make("test_dlq_empty", Status.FAILED, service="sqs")),
        Policy(waivers=(waiver,)),
        "policy.toml",
        today=TODAY,
    )
    assert judged.verdict is Verdict.FAIL
    assert judged.gate is not None
    assert (
        "waiver for suites/test_sqs.py::test_dlq_empty expired on 2026-02-28: "
        "suites/test_sqs.py::test_dlq_empty blocks again"
    ) in judged.gate.reasons
    assert (
        "blocking check suites/test_sqs.py::test_dlq_empty failed: test_dlq_empty message"
        in judged.gate.reasons
    )


def flow_step(name: str, at_s: float) -> CheckResult:
    return make(name, Status.PASSED, service="flow", evidence={"at_s": at_s})


def test_flow_latency_threshold_fails_the_gate_when_exceeded() -> None:
    checks = [flow_step("test_ingest", 0.2), flow_step("test_processed", 7.5), flow_step("test_query", 3.0)]
    assert flow_latency_s(checks) == 7.5
    slow = apply_gate(run_of(*checks), Policy(max_flow_latency_s=5), "p", today=TODAY)
    assert slow.verdict is Verdict.FAIL
    assert slow.gate is not None
    assert "flow end-to-end latency 7.500 s exceeds max_flow_latency_s = 5 s" in slow.gate.reasons
    fast = apply_gate(run_of(*checks), Policy(max_flow_latency_s=8), "p", today=TODAY)
    assert fast.verdict is Verdict.PASS


def test_unmeasured_latency_is_said_but_does_not_block() -> None:
    judged = apply_gate(
        run_of(make("test_active", Status.PASSED)), Policy(max_flow_latency_s=5), "p", today=TODAY
    )
    assert judged.verdict is Verdict.PASS
    assert judged.gate is not None
    assert any(r.startswith("flow latency not measured") for r in judged.gate.reasons)


def test_max_errors_counts_every_check_in_error() -> None:
    checks = [
        make("test_active", Status.PASSED),
        make("test_pitr", Status.ERROR, category=Category.POSTURE),
        make("test_sse", Status.ERROR, category=Category.POSTURE),
    ]
    within = apply_gate(run_of(*checks), Policy(max_errors=2), "p", today=TODAY)
    assert within.verdict is Verdict.PASS
    over = apply_gate(run_of(*checks), Policy(max_errors=1), "p", today=TODAY)
    assert over.verdict is Verdict.ERROR
    assert over.gate is not None
    assert "2 checks could not be verified, more than max_errors = 1" in over.gate.reasons


def test_policy_lists_override_category_and_an_interrupted_run_never_passes() -> None:
    policy = Policy(blocking_checks=frozenset({"suites/test_dynamodb.py::test_pitr"}))
    judged = apply_gate(
        run_of(
            make("test_active", Status.PASSED), make("test_pitr", Status.FAILED, category=Category.POSTURE)
        ),
        policy,
        "p",
        today=TODAY,
    )
    assert judged.verdict is Verdict.FAIL
    interrupted = run_of(make("test_active", Status.PASSED))
    interrupted.interrupted = True
    assert apply_gate(interrupted, Policy(), "p", today=TODAY).verdict is Verdict.ERROR


def test_policy_file_needs_a_policy_table(tmp_path: Path) -> None:
    good = tmp_path / "gate.toml"
    good.write_text('[policy]\nmax_errors = 0\nblocking_services = ["sqs"]\n', encoding="utf-8")
    assert load_policy(str(good)) == Policy(max_errors=0, blocking_services=frozenset({"sqs"}))
    empty = tmp_path / "empty.toml"
    empty.write_text('[flow]\nmethod = "POST"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="has no \\[policy\\] table"):
        load_policy(str(empty))
    typo = tmp_path / "typo.toml"
    typo.write_text("[policy]\nmax_error = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2: unknown key `max_error`"):
        load_policy(str(typo))


def verify(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verify.cli.main", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.sandbox
def test_verify_gate_rejudges_a_finished_run(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    write_reports(
        run_of(
            make("test_active", Status.PASSED),
            make("test_dlq_empty", Status.FAILED, service="sqs", category=Category.POSTURE),
        ),
        reports,
    )
    plain = verify("gate", "--summary", str(reports / "summary.json"), cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "verify gate: PASS under built-in default" in plain.stdout

    policy = tmp_path / "gate.toml"
    policy.write_text('[policy]\nblocking_categories = ["functional", "posture"]\n', encoding="utf-8")
    strict = verify(
        "gate",
        "--summary",
        str(reports / "summary.json"),
        "--policy",
        str(policy),
        "--in-place",
        cwd=tmp_path,
    )
    assert strict.returncode == 1, strict.stderr
    assert "blocking check suites/test_sqs.py::test_dlq_empty failed: test_dlq_empty message" in strict.stdout
    written = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert written["verdict"] == "fail"
    assert written["gate"]["verdict"] == "fail"
    assert written["gate"]["policy"] == str(policy)
    assert written["checks"][1]["severity"] == "blocking"
    markdown = (reports / "summary.md").read_text(encoding="utf-8")
    assert markdown.startswith("# verify: FAIL") and f"gate policy `{policy}`" in markdown
    assert "test_dlq_empty failed: test_dlq_empty message" in markdown


@pytest.mark.sandbox  # a subprocess: the console script, as CI runs it
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "not found"),
        ("{not json", "is not valid JSON"),
        ('{"schema": 1}', "is not a verify summary.json"),
    ],
)
def test_verify_gate_on_a_missing_or_invalid_summary_is_exit_2(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    summary = tmp_path / "summary.json"
    if content is not None:
        summary.write_text(content, encoding="utf-8")
    result = verify("gate", "--summary", str(summary), cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.sandbox
def test_verify_gate_with_an_error_verdict_is_exit_3(tmp_path: Path) -> None:
    write_reports(run_of(make("test_active", Status.ERROR)), tmp_path)
    result = verify("gate", "--summary", str(tmp_path / "summary.json"), cwd=tmp_path)
    assert result.returncode == 3
    assert "could not be verified" in result.stdout
