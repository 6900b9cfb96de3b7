"""The report writers on a hand-made summary: junit.xml against the JUnit schema, report.html
self-contained and escaped, summary.md's first failure and flow timeline, Allure extras, console links."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from hypothesis import given
from hypothesis import strategies as st

from verify.model import Category, CheckResult, Gate, RunSummary, Severity, Status, Verdict
from verify.report import render_html, render_junit, render_markdown, write_reports
from verify.report.allure import environment_properties, finish_allure_results
from verify.report.console import console_url
from verify.report.markdown import anchor
from verify.report.text import readable_json

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).with_name("junit-10.xsd")))
HOSTILE = '<script>alert("x")</script> & \x07bell'


def check(name: str, status: Status, service: str = "dynamodb", **extra: object) -> CheckResult:
    fields: dict[str, object] = {
        "id": f"suites/test_{service}.py::{name}",
        "title": f"{service} {name}",
        "service": service,
        "resource": "RawTable",
        "category": Category.FUNCTIONAL,
        "severity": Severity.BLOCKING,
        "status": status,
        "duration_s": 0.5,
        "message": "",
    }
    fields.update(extra)
    return CheckResult(**fields)  # type: ignore[arg-type]


@pytest.fixture
def summary() -> RunSummary:
    return RunSummary(
        verdict=Verdict.FAIL,
        profile="full",
        run_id="vfy-w",
        started_at="2026-03-01T10:00:00+00:00",
        duration_s=12.0,
        source="cdk-outputs.json",
        region="eu-west-1",
        checks=[
            check("test_active", Status.PASSED, stack="Data"),
            check("test_pitr", Status.FAILED, message=HOSTILE, severity=Severity.ADVISORY, stack="Data"),
            check(
                "test_ingest_accepted",
                Status.PASSED,
                service="flow",
                evidence={
                    "flow_step": "ingest",
                    "sent_at": 100.0,
                    "seen_at": 100.25,
                    "at_s": 0.25,
                    "http": [{"request": "POST /ingest", "body": HOSTILE}],
                },
            ),
            check(
                "test_processor_ran",
                Status.PASSED,
                service="flow",
                evidence={"flow_step": "processed", "seen_at": 102.0, "at_s": 2.0},
            ),
            check(
                "test_queue_hop",
                Status.FAILED,
                service="flow",
                message="no processed record",
                evidence={"flow_step": "queue", "expected": "a processed record"},
            ),
            check(
                "test_depth",
                Status.ERROR,
                service="sqs",
                message="could not verify: AccessDenied",
                stack="Api",
            ),
            check("test_dlq", Status.SKIPPED, service="sqs", message="not applicable", stack="Api"),
        ],
        gate=Gate(Verdict.FAIL, ["blocking check suites/test_flow.py::test_queue_hop failed"], "gate.toml"),
        environment={"verify": "0.1.0", "python": "3.11.7"},
    )


def test_junit_validates_against_the_junit_schema_and_counts_like_the_summary(summary: RunSummary) -> None:
    text = render_junit(summary)
    SCHEMA.validate(text)
    root = ET.fromstring(text)
    counts = summary.counts()
    advice = len(summary.advice())  # advisory failures are passing cases saying ADVICE (test_advice.py)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (
        str(len(summary.checks)),
        str(counts["failed"] - advice),
        str(counts["error"]),
    )
    cases = root.findall(".//testcase")
    assert len(cases) == len(summary.checks)
    assert sum(int(s.get("skipped", "0")) for s in root.findall("testsuite")) == counts["skipped"]
    # One suite per stack and service; run facts and gate reasons as suite properties.
    assert {s.get("name") for s in root.findall("testsuite")} == {
        "verify.Data.dynamodb",
        "verify.flow",
        "verify.Api.sqs",
    }
    props = {p.get("name"): p.get("value") for p in root.find("testsuite").iter("property")}  # type: ignore[union-attr]
    assert props["verify.verdict"] == "fail"
    assert props["verify.gate.reason.1"].startswith("blocking check")
    pitr = next(c for c in cases if c.get("name", "").endswith("test_pitr"))
    # Advice is in <system-out> and the properties, never a red `<failure>` (issue 18).
    assert pitr.find("failure") is None and pitr.find("skipped") is None
    out = pitr.findtext("system-out") or ""
    assert out.startswith("ADVICE: <script>")
    assert "severity: advisory" in out and "stack: Data" in out
    ingest = next(c for c in cases if c.get("name", "").endswith("test_ingest_accepted"))
    assert '"at_s": 0.25' in (ingest.findtext("system-out") or "")


def test_html_is_self_contained_escaped_and_lists_failures_first(summary: RunSummary) -> None:
    html = render_html(summary)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    for external in ("<link", "src=", "@import", "http://", "https://"):
        assert external not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    first_failed = html.index(anchor("suites/test_flow.py::test_queue_hop"))
    advice = html.index(anchor("suites/test_dynamodb.py::test_pitr"))
    first_passed = html.index(anchor("suites/test_dynamodb.py::test_active"))
    assert first_failed < advice < first_passed
    # Every card is collapsed: its title and message on the closed card, the evidence a click away.
    assert "<details open" not in html
    assert '<details class="check failed" id="' in html
    assert "<summary>raw JSON</summary>" in html
    assert '<svg class="flow"' in html and "Gate: FAIL" not in html
    assert html.index('id="gate-line"') < html.index('id="first-to-fix"') < html.index('id="problems"')


def test_markdown_leads_with_the_first_failure_and_shows_the_timeline(summary: RunSummary) -> None:
    md = render_markdown(summary)
    first = md.index("**First to fix:**")
    assert md.index("blocking checks passed") < first < md.index("## What is wrong")
    # Advisory failures never come first: the first blocking failure in run order does.
    line = md[first:].splitlines()[0]
    assert "flow test_queue_hop: no processed record" in line
    assert f"(report.html#{anchor('suites/test_flow.py::test_queue_hop')})" in line
    # The hops in causal order, timed from when each signal became visible (sent at 100.0).
    assert "| ✅ | ingest | 0.250 | 0.250 |" in md
    assert "| ❌ | queue | failed | - |" in md
    assert "| ✅ | processor | 2.000 | 1.750 |" in md
    assert md.index("| raw |") < md.index("| queue |") < md.index("| processor |")
    assert "| Api | error | 0 | 0 | 1 | 1 |" in md
    assert "| Data | pass | 1 | 1 | 0 | 0 |" in md


def test_stacks_section_in_summary_json(summary: RunSummary) -> None:
    data = summary.to_dict()
    assert set(data["stacks"]) == {"Api", "Data"}
    assert data["stacks"]["Api"]["counts"] == {
        "passed": 0,
        "failed": 0,
        "skipped": 1,
        "error": 1,
        "unverified": 0,
    }
    assert data["checks"][0]["stack"] == "Data"
    assert "stack" not in data["checks"][2]  # the flow spans stacks
    assert RunSummary.from_dict(data).to_dict() == data


def test_allure_statuses_follow_ours_and_extras_are_written(tmp_path: Path, summary: RunSummary) -> None:
    result = {
        "uuid": "1",
        "name": "t",
        "status": "broken",
        "labels": [{"name": "verify_status", "value": "skipped"}],
    }
    (tmp_path / "1-result.json").write_text(json.dumps(result), encoding="utf-8")
    assert finish_allure_results(tmp_path, summary) == 1
    assert json.loads((tmp_path / "1-result.json").read_text(encoding="utf-8"))["status"] == "skipped"
    categories = json.loads((tmp_path / "categories.json").read_text(encoding="utf-8"))
    # Advice first (Allure takes the first match), then failures, errors, skips, not verified from here.
    assert [c["matchedStatuses"] for c in categories] == [
        ["failed"],
        ["failed"],
        ["broken"],
        ["skipped"],
        ["unknown"],
    ]
    env = (tmp_path / "environment.properties").read_text(encoding="utf-8")
    assert "region=eu-west-1\n" in env and "run_id=vfy-w\n" in env and "python=3.11.7\n" in env
    assert environment_properties(summary).count("\n") == len(env.splitlines())


def test_write_reports_writes_every_file(tmp_path: Path, summary: RunSummary) -> None:
    write_reports(summary, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "junit.xml",
        "report.html",
        "summary.json",
        "summary.md",
    ]
    SCHEMA.validate(str(tmp_path / "junit.xml"))


@pytest.mark.parametrize(
    ("kind", "name", "extra", "expected"),
    [
        (
            "dynamodb_table",
            "raw-data",
            {},
            "https://eu-west-1.console.aws.amazon.com/dynamodbv2/home?region=eu-west-1#table?name=raw-data",
        ),
        ("log_group", "/aws/lambda/fn", {}, "#logsV2:log-groups/log-group/$252Faws$252Flambda$252Ffn"),
        (
            "api",
            "api",
            {"url": "https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod/"},
            "/apigateway/main/apis/abc123defg/resources?api=abc123defg&region=eu-west-1",
        ),
        ("scalar", "8080", {}, None),
    ],
)
def test_console_links(kind: str, name: str, extra: dict[str, str], expected: str | None) -> None:
    url = console_url(kind, name, "eu-west-1", **extra)
    if expected is None:
        assert url is None
    else:
        assert url is not None
        assert url.endswith(expected)


def test_summary_json_parses_back_exactly_with_one_check_per_line() -> None:
    import json

    from verify.report import summary_json

    data = {
        "schema": 1,
        "verdict": "pass",
        "notes": ['a note quoting "checks": [] verbatim'],
        "checks": [{"id": "a::b", "evidence": {"x": [1, 2]}}, {"id": "c::d", "message": "line\nbreak"}],
    }
    text = summary_json(data)
    assert json.loads(text) == data
    lines = text.splitlines()
    assert sum(1 for line in lines if line.lstrip().startswith('{"id": ')) == 2
    assert json.loads(summary_json({**data, "checks": []}))["checks"] == []


@given(
    st.dictionaries(
        st.one_of(st.text(max_size=5), st.integers(), st.booleans()),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
            ),
            max_leaves=8,
        ),
        max_size=5,
    )
)
def test_readable_json_parses_to_what_json_dumps_gives(evidence: dict[Any, Any]) -> None:
    """The evidence in report.html and junit.xml: laid out for a reader, the same JSON underneath."""
    text = readable_json(evidence)
    assert json.loads(text) == json.loads(json.dumps(evidence, default=str))
    if any(isinstance(v, list) and v for v in evidence.values()):
        assert "\n    " in text  # list items on lines of their own
