"""The console of a real run (issue 18): heartbeat lines while the flow waits instead of silence, the
sandbox's start-up steps, --quiet, --json keeping stdout for the summary, one closing line, and
`--suite` keeping verify's console instead of pytest's."""

from __future__ import annotations

import io
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers.cli import clean_env, run_verify, summary
from verify.report.progress import HEARTBEAT_ENV, HEARTBEAT_S, Progress, heartbeat_interval
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


# A heartbeat every second instead of every 10 s: the flow's wait for a stopped processor need last
# only a few heartbeats (3 s), not the 12 s a 10 s heartbeat needs to show once -- and the clean-up's
# wait for the reading in flight, twice the --timeout (5 s at least), shrinks with it. 3 s is still
# more than the healthy sandbox's steps need (tests/reliability/test_aws_faults.py passes on 2 s).
HEARTBEAT = {HEARTBEAT_ENV: "1"}
FLOW_WAIT_S = 3


def test_the_heartbeat_interval_is_10_s_unless_the_environment_names_one_in_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert HEARTBEAT_S == 10.0
    assert heartbeat_interval({}) == (10.0, None)
    assert heartbeat_interval({HEARTBEAT_ENV: " 2.5 "}) == (2.5, None)
    assert heartbeat_interval({HEARTBEAT_ENV: "0.5"}) == (0.5, None)
    for bad in ("abc", "0", "0.1", "-3", "nan", "inf", "3601", "1e9", "10s"):
        interval, note = heartbeat_interval({HEARTBEAT_ENV: bad})
        assert interval == 10.0, bad
        assert note and HEARTBEAT_ENV in note and "from 0.5 to 3600" in note and "every 10 s" in note, note
    # What a run uses: the environment's, read when its console is made.
    monkeypatch.setenv(HEARTBEAT_ENV, "1.5")
    assert Progress(io.StringIO(), live=False).heartbeat_s == 1.5
    assert Progress(io.StringIO(), live=False, heartbeat_s=7.0).heartbeat_s == 7.0
    monkeypatch.delenv(HEARTBEAT_ENV)
    assert Progress(io.StringIO(), live=False).heartbeat_s == 10.0


def test_an_unusable_heartbeat_interval_is_said_once_and_the_run_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(HEARTBEAT_ENV, "\x1b[31mfast")
    out = io.StringIO()
    progress = Progress(out, live=False, waits=lambda: [])
    progress.start()
    progress.write(".")
    progress.stop()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"verify: {HEARTBEAT_ENV}=") and "a heartbeat every 10 s" in lines[0], lines
    assert "\x1b" not in out.getvalue()  # the value is the environment's: shown terminal-safe
    assert lines[1:] == ["."], lines
    assert progress.heartbeat_s == 10.0
    quiet = io.StringIO()
    Progress(quiet, enabled=False).start()  # --quiet: not a word
    assert quiet.getvalue() == ""


@pytest.mark.sandbox
def test_a_stopped_processor_shows_heartbeats_during_the_flow_wait_not_silence(tmp_path: Path) -> None:
    result = run_verify(
        "run",
        "--sandbox",
        "--sandbox-stack=pipeline",
        "--fault=processor_down",
        f"--timeout={FLOW_WAIT_S}",  # the flow's wait: long enough for several heartbeats
        f"--report-dir={tmp_path / 'reports'}",
        cwd=tmp_path,
        env=clean_env(HEARTBEAT),
    )
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    beats = [line for line in result.stdout.splitlines() if line.startswith("verify: [")]
    assert beats, result.stdout[-3000:]
    assert any(
        "waiting for" in line and f"of {FLOW_WAIT_S} s" in line and "attempts" in line for line in beats
    ), beats
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
    # The two runs side by side, each with its embedded sandbox: the --json one spends its time
    # waiting for a processor that never runs.
    with ThreadPoolExecutor(1) as pool:
        json_run = pool.submit(_json_run_of_a_stopped_processor, tmp_path)
        quiet = run_verify(
            "run",
            "--sandbox",
            "--sandbox-stack=pipeline",
            "--quiet",
            "-k",
            "test_outputs",
            f"--report-dir={tmp_path / 'quiet'}",
            cwd=tmp_path,
            env=clean_env(HEARTBEAT),  # even with a heartbeat due every second, none is printed
        )
        result = json_run.result()
    # stdout is the summary alone (for `| jq`); progress went to stderr.
    assert json.loads(result.stdout)["verdict"] == "fail"
    assert any(line.startswith("verify: [") for line in result.stderr.splitlines()), result.stderr[-2000:]
    assert quiet.returncode == 0, quiet.stdout[-2000:] + quiet.stderr[-2000:]
    printed = (quiet.stdout + quiet.stderr).splitlines()
    assert not any(line.startswith(("verify: [", "verify: sandbox: ")) for line in printed), printed


def _json_run_of_a_stopped_processor(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return run_verify(
        "run",
        "--sandbox",
        "--sandbox-stack=pipeline",
        "--fault=processor_down",
        f"--timeout={FLOW_WAIT_S}",
        "--json",
        f"--report-dir={tmp_path / 'reports'}",
        cwd=tmp_path,
        env=clean_env(HEARTBEAT),
    )


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
