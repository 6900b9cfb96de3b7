"""The console of a real run (issue 18): heartbeat lines while the flow waits instead of silence, the
sandbox's start-up steps, --quiet, --json keeping stdout for the summary, one closing line, and
`--suite` keeping verify's console instead of pytest's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import clean_env, run_verify, summary
from verify.sandbox.child import STEP_PREFIX, _Steps

PIPELINE_OUTPUTS = {
    "ApiEndpoint": "https://abc123def4.execute-api.us-east-1.amazonaws.com/dev/",
    "RawSensorTableName": "raw-sensor-data-dev",
    "IngestFunctionName": "sensor-ingest-dev",
}

USER_SUITE = """
import pytest
from verify import CheckFailed


@pytest.mark.check("dynamodb")
def test_user_fails():
    raise CheckFailed("table x: expected y, got z")


@pytest.mark.check("dynamodb")
def test_user_cannot_look():
    raise RuntimeError("endpoint unreachable")


@pytest.mark.check("dynamodb")
def test_user_passes():
    pass
"""


def test_the_parent_shows_each_logged_step_once_and_only_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "sandbox.log"
    seen: list[str] = []
    steps = _Steps(log, seen.append)
    log.write_text(
        f"moto noise\n{STEP_PREFIX}AWS emulator started\n{STEP_PREFIX}pipeline st", encoding="utf-8"
    )
    steps.read()
    assert seen == ["AWS emulator started"]
    with open(log, "a", encoding="utf-8") as handle:
        handle.write("ack provisioned\n")
    steps.read()
    steps.read()
    assert seen == ["AWS emulator started", "pipeline stack provisioned"]


@pytest.mark.sandbox
def test_a_stopped_processor_shows_heartbeats_during_the_flow_wait_not_silence(tmp_path: Path) -> None:
    result = run_verify(
        "run",
        "--sandbox",
        "--sandbox-stack=pipeline",
        "--fault=processor_down",
        "--timeout=12",  # the flow's wait: long enough for a heartbeat (about every 10 s)
        f"--report-dir={tmp_path / 'reports'}",
        cwd=tmp_path,
        env=clean_env(),
    )
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    beats = [line for line in result.stdout.splitlines() if line.startswith("verify: [")]
    assert beats, result.stdout[-3000:]
    assert any("waiting for" in line and "of 12 s" in line and "attempts" in line for line in beats), beats
    steps = [line for line in result.stderr.splitlines() if line.startswith("verify: sandbox: ")]
    assert [s.split(" (")[0] for s in steps] == [
        "verify: sandbox: AWS emulator started",
        "verify: sandbox: pipeline stack provisioned",
        "verify: sandbox: outputs written",
        "verify: sandbox: ready",
    ], result.stderr
    closing = [line for line in result.stdout.splitlines() if line.startswith("= verify: ")]
    assert len(closing) == 1 and result.stdout.rstrip().endswith(closing[0]), result.stdout[-1500:]
    assert closing[0].startswith("= verify: FAIL -- ") and " blocking checks passed; " in closing[0]


@pytest.mark.sandbox
def test_quiet_and_json_keep_progress_off_stdout(tmp_path: Path) -> None:
    result = run_verify(
        "run",
        "--sandbox",
        "--sandbox-stack=pipeline",
        "--fault=processor_down",
        "--timeout=12",
        "--json",
        f"--report-dir={tmp_path / 'reports'}",
        cwd=tmp_path,
        env=clean_env(),
    )
    # stdout is the summary alone (for `| jq`); progress went to stderr.
    assert json.loads(result.stdout)["verdict"] == "fail"
    assert any(line.startswith("verify: [") for line in result.stderr.splitlines()), result.stderr[-2000:]
    quiet = run_verify(
        "run",
        "--sandbox",
        "--sandbox-stack=pipeline",
        "--quiet",
        "-k",
        "test_outputs",
        f"--report-dir={tmp_path / 'quiet'}",
        cwd=tmp_path,
        env=clean_env(),
    )
    assert quiet.returncode == 0, quiet.stdout[-2000:] + quiet.stderr[-2000:]
    printed = (quiet.stdout + quiet.stderr).splitlines()
    assert not any(line.startswith(("verify: [", "verify: sandbox: ")) for line in printed), printed


@pytest.mark.sandbox
def test_a_suite_keeps_verifys_console_and_its_one_closing_line(tmp_path: Path) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps(PIPELINE_OUTPUTS), encoding="utf-8")
    (tmp_path / "check_mine.py").write_text(USER_SUITE, encoding="utf-8")
    result = run_verify(
        "run",
        "--outputs=outputs.json",
        "--suite=check_mine.py",
        "-k",
        "test_user",
        f"--report-dir={tmp_path / 'reports'}",
        cwd=tmp_path,
        env=clean_env({"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_REGION": "us-east-1"}),
        timeout=120,
    )
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    # The characters are verify's: a check that could not verify is E, never pytest's F.
    assert "FE." in lines[0], lines
    assert "FAILED check_mine.py::test_user_fails - table x: expected y, got z" in lines
    assert any(
        line.startswith("ERROR check_mine.py::test_user_cannot_look - could not verify") for line in lines
    )
    # One closing line, the last, agreeing with the report: no pytest "N failed" line after it.
    assert lines[-1].startswith(
        "= verify: FAIL -- 1 of 3 blocking checks passed; 0 not applicable; 1 failed; 1 could not be verified "
        "(all checks: 1 passed, 1 failed, 1 error) in "
    ), lines[-1]
    assert lines[-1].endswith("/reports/ =")
    assert not any(" failed in " in line or "short test summary" in line for line in lines), lines
    counts = summary(tmp_path / "reports")["counts"]
    assert (counts["passed"], counts["failed"], counts["error"]) == (1, 1, 1)
