"""The reports' layout (issue 18), on hand-made summaries: the order a reader needs, a healthy
summary.md on one screen with the outputs' rows folded, the flow's hops in causal order timed from
when each signal became visible, and evidence as tables (repeated calls one row, waits summarised)."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from verify.escape import html_text
from verify.model import Category, CheckResult, RunSummary, Severity, Status, Verdict
from verify.report import render_html, render_markdown, with_flow_timeline
from verify.report.evidence_tables import call_runs, escape_html, evidence_html, waits
from verify.report.timeline import flow_timeline

HOSTILE = "<img src=x onerror=alert(1)> | `x` *y*"


def check(
    name: str,
    status: Status = Status.PASSED,
    service: str = "dynamodb",
    severity: Severity = Severity.BLOCKING,
    **extra: object,
) -> CheckResult:
    fields: dict[str, object] = {
        "id": f"suites/test_{service}.py::{name}",
        "title": f"{service} {name}",
        "service": service,
        "resource": "R",
        "category": Category.FUNCTIONAL if severity is Severity.BLOCKING else Category.POSTURE,
        "severity": severity,
        "status": status,
        "duration_s": 0.1,
    }
    fields.update(extra)
    return CheckResult(**fields)  # type: ignore[arg-type]


def run(checks: list[CheckResult], verdict: Verdict = Verdict.PASS) -> RunSummary:
    return RunSummary(
        verdict, "full", "vfy-layout", "2026-01-01T00:00:00+00:00", 3.0, "out.json", "us-east-1", checks
    )


def flow_step(
    name: str, step: str, status: Status = Status.PASSED, seen: float | None = None, **ev: object
) -> CheckResult:
    evidence: dict[str, object] = {"flow_step": step, **ev}
    if seen is not None:
        evidence["seen_at"] = seen
    return check(
        name, status, service="flow", evidence=evidence, message="" if status is Status.PASSED else "why"
    )


def big_healthy_run() -> RunSummary:
    services = [
        "apigateway",
        "cloudwatch",
        "dynamodb",
        "ec2",
        "ecs",
        "lambda",
        "logs",
        "rds",
        "sns",
        "sqs",
        "ssm",
    ]
    checks = [check(f"test_{s}_{n}[R{n}]", service=s) for s in services for n in range(10)]
    checks += [check(f"test_output_value[Key{n}]", service="outputs", stack="Data") for n in range(43)]
    checks += [check(f"test_output_form[Key{n}]", service="outputs", stack="Api") for n in range(43)]
    checks += [check("test_dlq_empty[Q]", Status.SKIPPED, service="sqs", message="not applicable: not a DLQ")]
    return run(checks)


def test_a_healthy_summary_md_fits_on_one_screen_and_folds_the_passes() -> None:
    summary = big_healthy_run()
    assert len(summary.checks) == 197
    text = render_markdown(summary)
    lines = text.splitlines()
    assert len(lines) <= 60, len(lines)
    # Passes are counted, not listed; the outputs' rows are one row per stack.
    assert "test_dynamodb_3" not in text and "test_output_value" not in text
    assert "| outputs of Api | 43 |  |  |" in lines and "| outputs of Data | 43 |  |  |" in lines
    assert "| sqs | 10 | 1 |  |" in lines
    assert "not applicable: not a DLQ" in text.split("Not applicable here (1)", 1)[1]


def test_an_outputs_row_that_failed_is_listed_under_what_is_wrong() -> None:
    broken = check(
        "test_output_value[Bad]",
        Status.FAILED,
        service="outputs",
        stack="Data",
        message="output Bad is empty",
    )
    summary = big_healthy_run()
    summary.checks.append(broken)
    summary.verdict = Verdict.FAIL
    text = render_markdown(summary)
    wrong = text.split("## What is wrong (1)", 1)[1].split("## ", 1)[0]
    assert "output Bad is empty" in wrong
    assert "| outputs of Data | 43 |  | 1 |" in text


def test_both_reports_follow_the_readers_order() -> None:
    checks = [
        check("test_ok"),
        check("test_pitr", Status.FAILED, severity=Severity.ADVISORY, message="PITR off"),
        check(
            "test_db", Status.UNVERIFIED, service="rds", message="not verified from here: 10.0.0.1 timed out"
        ),
        check("test_active", Status.FAILED, message="table DELETING"),
        check("test_depth", Status.ERROR, service="sqs", message="could not verify: AccessDenied"),
        flow_step("test_ingest", "ingest", seen=100.5, sent_at=100.0),
    ]
    md = render_markdown(run(checks, Verdict.FAIL))
    order = [
        "blocking checks passed",
        "**First to fix:**",
        "## What is wrong (2)",
        "## Not verified from here (1)",
        "## Advice (1)",
        "## Flow",
        "## Passed, by service",
    ]
    assert [md.index(marker) for marker in order] == sorted(md.index(marker) for marker in order)
    html = render_html(run(checks, Verdict.FAIL))
    ids = [
        'id="gate-line"',
        'id="first-to-fix"',
        'id="problems"',
        'id="unverified"',
        'id="advice"',
        'id="flow"',
        'id="passes"',
    ]
    assert [html.index(i) for i in ids] == sorted(html.index(i) for i in ids)
    # Failed before error within What is wrong.
    assert html.index("table DELETING") < html.index("could not verify: AccessDenied")


def test_hops_are_in_causal_order_timed_from_when_each_signal_became_visible() -> None:
    # Finished in another order than the data travelled (trace first, raw last): the order is the path's.
    checks = [
        flow_step("test_trace", "trace", seen=100.70),
        flow_step("test_query", "query", seen=100.69),
        flow_step("test_enriched", "enriched", seen=101.20),
        flow_step("test_processed", "processed", seen=101.20),
        flow_step("test_raw", "raw", seen=100.80),
        flow_step("test_ingest", "ingest", seen=100.40, sent_at=100.0),
        flow_step("test_queue", "queue", Status.FAILED, timeout_s=10.0),
        check(
            "test_logs", Status.ERROR, service="flow", message="could not verify: the processed step failed"
        ),
    ]
    hops = flow_timeline(checks)
    assert [h.hop for h in hops] == [
        "ingest",
        "raw",
        "queue",
        "processor",
        "processed",
        "query",
        "trace",
        "logs",
    ]
    states = {h.hop: h.state for h in hops}
    assert states == {
        "ingest": "seen",
        "raw": "seen",
        "queue": "failed",
        "processor": "seen",
        "processed": "seen",
        "query": "seen",
        "trace": "seen",
        "logs": "unseen",
    }
    at = {h.hop: (round(h.at_s, 3) if h.at_s is not None else None, h.latency_s) for h in hops}
    assert at["ingest"][0] == 0.4 and at["raw"][0] == 0.8 and at["processor"][0] == 1.2
    assert round(at["raw"][1] or 0, 3) == 0.4 and round(at["processor"][1] or 0, 3) == 0.4
    # Seen before its upstream's own poll answered: latency 0, never negative.
    assert at["query"][1] == 0.0 and at["trace"][1] == 0.0
    failed = next(h for h in hops if h.hop == "queue")
    assert failed.waited_s == 10.0 and failed.reason == "why"
    data = with_flow_timeline(run(checks))["flow_timeline"]
    assert [h["hop"] for h in data] == [h.hop for h in hops] and data[2]["state"] == "failed"
    svg = render_html(run(checks))
    assert re.findall(r'<g class="hop (\w+)" data-hop="(\w+)">', svg)[2] == ("failed", "queue")
    assert "failed: not seen within 10 s" in svg


def test_no_flow_no_timeline() -> None:
    summary = run([check("test_ok")])
    assert flow_timeline(summary.checks) == [] and "flow_timeline" not in with_flow_timeline(summary)
    assert "## Flow" not in render_markdown(summary) and '<svg class="flow"' not in render_html(summary)


def _call(operation: str, ms: float, request_id: str, status: int = 200) -> dict[str, object]:
    return {
        "service": "dynamodb",
        "operation": operation,
        "http_status": status,
        "duration_ms": ms,
        "request_id": request_id,
    }


def test_forty_identical_polls_are_one_row_and_waits_are_summarised() -> None:
    calls = [_call("DescribeTable", 60, "d1")] + [_call("Query", 10 + n, f"q{n}") for n in range(40)]
    calls.append(_call("Query", 5, "q-denied", 400))
    runs = call_runs(calls)
    assert [(r.operation, r.status, r.count) for r in runs] == [
        ("DescribeTable", "200", 1),
        ("Query", "200", 40),
        ("Query", "400", 1),
    ]
    assert runs[1].ms_text() == "10-49" and runs[1].request_text() == "q39 (last; 39 more)"
    evidence = {
        "timeout_s": 90.0,
        "attempts": [{"number": n, "at_s": 0.3 * n, "observed": "no item"} for n in range(1, 21)],
        "attempts_omitted": 99,
        "polling": [
            {"wait": "trace", "attempt": n, "at_s": n * 1.0, "saw": "segments missing"} for n in (1, 2, 3)
        ],
        "aws_calls": calls,
        "actual": HOSTILE,
    }
    found = dict(waits(evidence))
    assert found["within 90 s"] == "119 attempts, 0.3 s apart, last seen: no item"
    assert found["trace"] == "3 attempts, 1.0 s apart, last seen: segments missing"
    html = evidence_html(evidence)
    assert html.count("<tr><td>dynamodb</td><td>Query</td>") == 2
    assert "&times;40" in html and "<summary>raw JSON</summary>" in html
    # Everything from the stack is escaped, in the tables and in the raw JSON.
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    raw = html.split("<pre>", 1)[1].split("</pre>", 1)[0]
    assert (
        json.loads(
            raw.replace("&quot;", '"')
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#x27;", "'")
            .replace("&amp;", "&")
        )["attempts_omitted"]
        == 99
    )


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\x00\x07\t\n\x1b\x7f<>&\"'\u202e")))
def test_the_fast_html_escape_is_escape_html_text(text: str) -> None:
    assert escape_html(text) == html_text(text)
