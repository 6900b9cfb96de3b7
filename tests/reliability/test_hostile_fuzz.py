"""Hostile input through every sink (issue 16, "Done when"): hypothesis feeds outputs whose keys and
values carry control characters, markup, Markdown syntax and very long strings, with canaries
planted under sensitive Terraform outputs and secret-looking keys, and API and AWS answers that echo
them, through `discover` (table and JSON), the report writers (summary.json, summary.md and the
GitHub step summary, report.html, junit.xml, allure-results) and the console's lines (direct runs'
FAILED lines, pytest's failure text, the smoke table).

Asserted for every example: no traceback (an exception fails the example), no markup a value
smuggled in (the Markdown and HTML skeletons equal those of the same run with harmless values), no
control character on the console or in Markdown, and no planted canary in any file or printed text.
In-process and bounded: each example builds `CheckResult`s and a `RunSummary` directly.
"""

from __future__ import annotations

import contextlib
import functools
import html
import io
import json
import os
import tempfile
import types
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.markup import control_characters, html_skeleton, markdown_skeleton
from verify.aws import aws_errors
from verify.aws.http import HttpResult
from verify.engine.outcome import status_of, with_asked
from verify.model import Category, CheckResult, Gate, LeftBehind, RunSummary, Severity, Verdict
from verify.redact import MASK, REDACTOR
from verify.report import write_reports
from verify.report.allure import AllureWriter
from verify.stack.outputs import parse_outputs

# A fixed few, so the process-wide redactor's registered values stay bounded across examples.
CANARIES = ("CANARY-tf-sensitive-7f3a9c", "CANARY-secret-key-b81d42", 'CANARY"<&>*_`|é-x91q')
SECRET_KEYS = ("AdminPass", "db_pwd", "AUTHTOKEN", "SigningKey", "ApiKey", "ClientSecret", "DbCredential")
FRAGMENTS = (
    "\r# verify: PASS\r<img src=x onerror=alert(1)>",
    "a | b\n## injected\n| x | y |",
    "`unclosed code span",
    "``` fence ```",
    "![x](https://attacker.example/p.png) [click](javascript:alert(1))",
    "<script>alert(1)</script>&lt;b&gt;",
    "\x1b[2J\x1b]0;owned\x07\u202eevil\u2066\u2028\u0085next",
    "- list\t* item\n> quote\n1. numbered\n---",
    "_em_ *strong* ~~strike~~ \\| \\",
    '{"Authorization": "Bearer abc", "x": 1}',
    "\x00\x7f\x9b\ufeff",
)
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
HOSTILE = st.one_of(
    st.sampled_from(FRAGMENTS),
    _TEXT,
    st.builds(lambda a, n, b: a + "L" * n + b, st.sampled_from(FRAGMENTS), st.integers(0, 3000), _TEXT),
)


@st.composite
def hostile_outputs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """("terraform" | "flat", document): hostile keys and values, canaries planted under sensitive
    outputs (Terraform) or secret-looking keys (both formats)."""
    terraform = draw(st.booleans())
    document: dict[str, Any] = {}
    for key, value in draw(st.lists(st.tuples(HOSTILE, HOSTILE), min_size=1, max_size=4)):
        if key.strip():
            document[key] = {"value": value, "type": "string", "sensitive": False} if terraform else value
    prefix = draw(st.sampled_from(["", "grafana_", "Db", "x\x1b[1m_"]))
    planted = {
        f"{prefix}{key}": canary
        for key, canary in zip(draw(st.permutations(SECRET_KEYS)), CANARIES, strict=False)
    }
    for key, canary in planted.items():
        sensitive = draw(st.booleans())
        document[key] = {"value": canary, "type": "string", "sensitive": sensitive} if terraform else canary
    if terraform:
        document[draw(HOSTILE) + "_plain"] = {"value": CANARIES[0], "type": "string", "sensitive": True}
    return ("terraform" if terraform else "flat"), document


def _console(run: Callable[[], object]) -> tuple[object, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        result = run()
    return result, out.getvalue()


def _discover(document: dict[str, Any], workdir: Path) -> list[str]:
    from verify.cli.main import main

    path = workdir / "outputs.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    printed = []
    # discover registers the outputs' sensitive values, as a run does: here, in one process for
    # every example, only the canaries may stay registered (see the test), so the rest is undone.
    registered = (set(REDACTOR._secrets), REDACTOR._needles)
    try:
        for extra in ([], ["--json"]):
            code, text = _console(
                functools.partial(main, ["discover", "--no-follow", "--outputs", str(path), *extra])
            )
            assert code in (0, 2), text
            assert "Traceback" not in text
            if not extra:
                assert control_characters(text) == [], text
            printed.append(text)
    finally:
        REDACTOR._secrets, REDACTOR._needles = registered
    return printed


def _api_answer(text: str) -> HttpResult:
    body = json.dumps({"message": text})
    return HttpResult(
        method="POST",
        url="https://abc1234567.execute-api.us-east-1.amazonaws.com/prod/ingest",
        status=500,
        headers={"Content-Type": "application/json"},
        body=body.encode("utf-8", errors="replace"),
        text=body,
        elapsed_s=0.1,
        trace_id=None,
        request_id=None,
        truncated=False,
    )


def _aws_failure(text: str, resource: str) -> BaseException:
    error = ClientError({"Error": {"Code": "ValidationException", "Message": text}}, "DescribeTable")
    try:
        with aws_errors("dynamodb", "DescribeTable", resource):
            raise error
    except BaseException as exc:  # the translated exception is what a check raises
        return exc
    raise AssertionError("aws_errors let a ClientError through")


def _checks(key: str, value: str, answer: str, secret: str | None) -> list[CheckResult]:
    """What checks about a hostile output would report: titles and messages naming its key, an API
    answer and an AWS error message echoing the value (and a planted secret), evidence with items."""
    echoed = f"{answer} {secret or ''} {value}"
    subject = types.SimpleNamespace(key=key, kind="dynamodb_table", name=value, sensitive=False)
    results = []
    for n, exc in enumerate((_aws_failure(echoed, value), AssertionError(f"HTTP 500: {echoed[:200]!r}"))):
        evidence: dict[str, Any] = {
            "http": [_api_answer(echoed).evidence()],
            "item": REDACTOR.trimmed(
                {"deviceId": value, "deviceToken": secret or "t", "apiKey": "k", "v": answer}, 600
            ),
        }
        status, message, attempts = status_of(exc, evidence)
        evidence = with_asked(evidence, subject, {"service": "dynamodb"})
        results.append(
            CheckResult(
                id=f"suites/test_dynamodb.py::test_table_active[{key}-{n}]",
                title=REDACTOR.redact(f"DynamoDB table {value} is ACTIVE"),
                service="dynamodb",
                resource=key,
                category=Category.FUNCTIONAL,
                severity=Severity.BLOCKING,
                status=status,
                duration_s=0.1,
                attempts=attempts,
                message=REDACTOR.redact(message),
                evidence=REDACTOR.redact_obj(evidence),  # type: ignore[arg-type]
                stack=key if n else "",
            )
        )
    return results


def _summary(key: str, value: str, answer: str, secret: str | None) -> RunSummary:
    return RunSummary(
        verdict=Verdict.FAIL,
        profile="full",
        run_id="vfy-20260101T000000-abcdef12",
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=1.0,
        source=key,
        region="us-east-1",
        checks=_checks(key, value, answer, secret),
        notes=[answer],
        gate=Gate(verdict=Verdict.FAIL, policy=key, reasons=[answer]),
        left_behind=[LeftBehind(place=value, key=key, reason=answer)],
    )


def _forms(secret: str) -> set[str]:
    """A canary as each report's medium may have escaped it."""
    return {secret, json.dumps(secret)[1:-1], html.escape(secret), html.escape(secret, quote=False)}


def _without_masks(text: str) -> str:
    return text.replace(MASK, "")  # the redactor's own mask: ours, in both renderings


def _written(summary: RunSummary, workdir: Path) -> dict[str, str]:
    reports = workdir / "reports"
    step = workdir / "step-summary.md"
    previous = os.environ.get("GITHUB_STEP_SUMMARY")
    os.environ["GITHUB_STEP_SUMMARY"] = str(step)
    try:
        write_reports(summary, reports)
    finally:
        if previous is None:
            del os.environ["GITHUB_STEP_SUMMARY"]
        else:
            os.environ["GITHUB_STEP_SUMMARY"] = previous
    allure = AllureWriter(reports / "allure-results")
    for check in summary.checks:
        allure.add(check, [])
    allure.finish(summary)
    files = {
        str(p.relative_to(workdir)): p.read_text(encoding="utf-8") for p in workdir.rglob("*") if p.is_file()
    }
    files.pop("outputs.json", None)
    return files


def _printed(summary: RunSummary) -> list[str]:
    from verify.engine.finish import print_summary
    from verify.pytest_plugin.plugin import _redact_report
    from verify.report.oncall import on_call_table

    out = io.StringIO()
    print_summary(summary, Path("reports"), 1.0, out)
    printed = [out.getvalue(), on_call_table(summary.to_dict())]
    for check in summary.checks:
        report = types.SimpleNamespace(longrepr=f"{check.id}: {check.message}", sections=[])
        _redact_report(report)  # type: ignore[arg-type]
        printed.append(str(report.longrepr))
    return printed


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(hostile_outputs(), HOSTILE, st.sampled_from(CANARIES))
def test_hostile_outputs_and_answers_reach_no_sink_as_markup_control_or_secret(
    shaped: tuple[str, dict[str, Any]], answer: str, echoed_secret: str
) -> None:
    _, document = shaped
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        printed = _discover(document, workdir)
        # What a run does with the outputs before anything else: register every sensitive value
        # (here the canaries only: a hostile value registered stays so for every later example).
        outputs = parse_outputs(document, "outputs.json")
        for secret in outputs.secret_values() & set(CANARIES):
            REDACTOR.add(secret)
        hostile = [(o.key, o.items[0]) for o in outputs.outputs if o.items and not o.sensitive] or [
            ("k", "v")
        ]
        key, value = hostile[0]
        summary = _summary(key, value, answer, echoed_secret)
        files = _written(summary, workdir)
        printed += _printed(summary)
        harmless = _written(_summary("x", "x", "x", None), workdir / "harmless")

    for name, text in [*files.items(), *(("console", t) for t in printed)]:
        for canary in CANARIES:
            assert [form for form in _forms(canary) if form in text] == [], name
    for text in printed:
        assert control_characters(text) == [], text
    for name in ("reports/summary.md", "step-summary.md"):
        assert control_characters(files[name]) == [], name
        assert markdown_skeleton(_without_masks(files[name])) == markdown_skeleton(
            _without_masks(harmless[name])
        ), name
    assert html_skeleton(files["reports/report.html"]) == html_skeleton(harmless["reports/report.html"])
    ET.fromstring(files["reports/junit.xml"].encode("utf-8"))
    json.loads(files["reports/summary.json"])
    assert all(json.loads(t) is not None for n, t in files.items() if n.endswith(".json"))


def test_the_fuzz_plants_what_it_says() -> None:
    """The strategy's own promise: canaries sit under secret-looking keys or sensitive outputs."""

    @settings(max_examples=20, deadline=None)
    @given(hostile_outputs())
    def planted_under_secret_keys(shaped: tuple[str, dict[str, Any]]) -> None:
        outputs = parse_outputs(shaped[1], "outputs.json")
        planted = [o for o in outputs.outputs if any(c in json.dumps(o.value) for c in CANARIES)]
        assert planted and all(o.sensitive for o in planted)
        assert set(CANARIES) <= outputs.secret_values()

    planted_under_secret_keys()


@pytest.mark.parametrize("fragment", FRAGMENTS)
def test_each_hostile_fragment_once(fragment: str) -> None:
    """The fixed fragments, each on its own: a failure here names the fragment plainly."""
    test_hostile_outputs_and_answers_reach_no_sink_as_markup_control_or_secret.hypothesis.inner_test(  # type: ignore[attr-defined]
        ("flat", {fragment: fragment, **dict(zip(SECRET_KEYS, CANARIES, strict=False))}),
        fragment,
        CANARIES[2],
    )
