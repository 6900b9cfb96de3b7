"""Mask first, then cut (issue 16, findings 9 and 10): a secret cut before it was masked no longer
matches it whole, so its first 830 characters reached every report; a DynamoDB item cut into a
string no longer says which of its parts are `deviceToken` and `apiKey`."""

from __future__ import annotations

import html
import json
import random
import string
from pathlib import Path

import pytest

from verify.aws.http import EVIDENCE_BODY_CHARS, HttpResult
from verify.redact import FRAGMENT_CHARS, MASK, Redactor
from verify.scenario import recording

_RNG = random.Random(16)
TOKEN = "".join(_RNG.choice(string.ascii_letters + string.digits + "/+=") for _ in range(900))


def _fragments(secret: str, size: int = FRAGMENT_CHARS) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def _leaks(secret: str, text: str) -> list[str]:
    return [f for f in _fragments(secret) if f in text]


@pytest.mark.parametrize("cut", [16, 17, 100, 830, 899])
def test_a_registered_value_cut_first_is_still_masked(cut: int) -> None:
    redactor = Redactor()
    redactor.add(TOKEN)
    head = f"HTTP 403: {{'message': 'bad token {TOKEN[:cut]}"  # the body's first characters
    tail = f"{TOKEN[-cut:]}' at the end"  # a window over the body's end
    assert _leaks(TOKEN, redactor.redact(head)) == []
    assert _leaks(TOKEN, redactor.redact(tail)) == []
    assert redactor.redact(head).endswith(f"bad token {MASK}")


def test_cut_masks_first_then_cuts() -> None:
    redactor = Redactor()
    redactor.add(TOKEN)
    body = f"echo: {TOKEN} and more"
    assert redactor.cut(body, 120) == f"echo: {MASK} and more"
    assert redactor.cut("x" * 50, 10, "…") == "x" * 9 + "…"


def test_masking_keeps_the_rest_and_joins_overlapping_values() -> None:
    redactor = Redactor()
    redactor.add("abcdef-secret-one")
    redactor.add("secret-one-and-two")
    assert redactor.redact("[abcdef-secret-one-and-two]") == f"[{MASK}]"
    assert redactor.redact("a abcdef-secret-one b abcdef-secret-one c") == f"a {MASK} b {MASK} c"


def test_an_api_echoing_the_session_token_leaves_no_fragment_in_the_evidence() -> None:
    from verify.redact import REDACTOR

    REDACTOR.add(TOKEN)
    detail = "The security token included in the request is invalid. " * 3
    body = json.dumps({"message": f"{detail}Token: {TOKEN}"})  # the evidence's cut falls inside it
    result = HttpResult(
        method="POST",
        url="https://abc.execute-api.us-east-1.amazonaws.com/prod/ingest",
        status=403,
        headers={"Content-Type": "application/json"},
        body=body.encode(),
        text=body,
        elapsed_s=0.1,
        trace_id=None,
        request_id=None,
        truncated=False,
    )
    shown = json.dumps(result.evidence())
    assert len(body) > EVIDENCE_BODY_CHARS
    assert _leaks(TOKEN, shown) == []
    assert MASK in shown


def test_a_large_item_is_masked_structurally_before_it_is_cut() -> None:
    item = {
        "deviceId": {"S": "device-0001"},
        "deviceToken": {"S": "dt-CANARY-0123456789"},
        "apiKey": {"S": "ak-CANARY-9876543210"},
        "payload": {"S": "x" * 900},
    }
    trimmed = recording.trim(item)
    assert isinstance(trimmed, str) and trimmed.endswith("…")
    assert "CANARY" not in trimmed
    assert '"deviceToken": "***"' in trimmed and '"apiKey": "***"' in trimmed
    small = recording.trim({"deviceId": "d-1", "apiKey": "ak-CANARY-1"})
    assert small == {"deviceId": "d-1", "apiKey": MASK}


@pytest.mark.parametrize(
    "secret", ['p@ss"w<0>rd&x', "-_under_score*star|pipe`tick", "pässwörd-ünïcode", "back\\slash'quote"]
)
def test_a_registered_value_is_masked_in_every_report_however_it_was_escaped(
    secret: str, tmp_path: Path
) -> None:
    """Every report passes the redactor last, after its medium escaped the text (JSON, HTML, XML,
    Markdown): a password holding `&`, `<`, `"`, `*` or `é` must still match there."""
    from verify.model import Category, CheckResult, RunSummary, Severity, Status, Verdict
    from verify.redact import REDACTOR
    from verify.report import write_reports
    from verify.report.allure import AllureWriter

    REDACTOR.add(secret)
    check = CheckResult(
        id="suites/test_x.py::test_y",
        title=f"echoes {secret}",
        service="secretsmanager",
        resource="DbSecretArn",
        category=Category.FUNCTIONAL,
        severity=Severity.BLOCKING,
        status=Status.FAILED,
        duration_s=0.1,
        message=f"got {secret} back",
        evidence={"seen": f"value {secret}", "http": [{"body": secret}]},
    )
    summary = RunSummary(
        Verdict.FAIL, "full", "vfy-1", "t", 1.0, "out.json", "us-east-1", [check], notes=[secret]
    )
    write_reports(summary, tmp_path)
    allure = AllureWriter(tmp_path / "allure-results")
    allure.add(check, [])
    allure.finish(summary)
    for path in [*tmp_path.iterdir(), *(tmp_path / "allure-results").iterdir()]:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            forms = {secret, json.dumps(secret)[1:-1], html.escape(secret), html.escape(secret, quote=False)}
            assert [form for form in forms if form in text] == [], path.name


def test_a_value_of_repeated_characters_is_masked_in_linear_time() -> None:
    import time

    redactor = Redactor()
    redactor.add("L" * 3000)
    started = time.perf_counter()
    masked = redactor.redact("x" + "L" * 20_000 + "y")
    assert time.perf_counter() - started < 0.5  # was ~1 s per call with a character-by-character walk
    assert masked == f"x{MASK}y"
