"""Finding 6 of issue 16, end to end: an API that trickles a byte at a time (allowed through
AWS_ENDPOINT_URL_EXECUTE_API, as an emulator's would be) cannot keep a `--timeout 1` run alive
past its per-request deadline, and SIGINT/SIGTERM end a run within 5 s, clean-up included."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import clean_env, items, run_verify, summary, verify_command, wait_for
from tests.helpers.trickle import TrickleServer
from verify.sandbox.manager import SandboxHandle, spawn_sandbox

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxHandle, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("bounded")
    handle = spawn_sandbox(stacks=("pipeline",), outputs_path=root / "flat.json", state_dir=root / "state")
    try:
        yield handle, json.loads((root / "flat.json").read_text(encoding="utf-8"))
    finally:
        handle.stop()


def _trickling_stack(
    sandbox: tuple[SandboxHandle, dict[str, Any]], server: TrickleServer, tmp_path: Path
) -> dict[str, str]:
    handle, outputs = sandbox
    (tmp_path / "outputs.json").write_text(
        json.dumps({**outputs, "ApiEndpoint": server.origin + "/dev/"}), encoding="utf-8"
    )
    return clean_env({**handle.env, "AWS_ENDPOINT_URL_EXECUTE_API": server.origin})


def test_a_trickling_api_cannot_outlast_the_per_request_deadline(
    sandbox: tuple[SandboxHandle, dict[str, Any]], tmp_path: Path
) -> None:
    # A byte every 0.2 s keeps each read well inside the 2 s read timeout (10 times over: a loaded CI
    # machine may stall the trickling thread for a second without the read timeout firing), so only
    # the whole-request deadline can end the request: 5 s + 2 s, and the clean-up's wait shrinks with it.
    with TrickleServer(every_s=0.2, max_bytes=600) as server:
        env = _trickling_stack(sandbox, server, tmp_path)
        started = time.monotonic()
        result = run_verify(
            "run",
            "--outputs=outputs.json",
            "--report-dir=reports",
            "--timeout=2",
            cwd=tmp_path,
            env=env,
            timeout=90,
        )
        took = time.monotonic() - started
        assert server.connections >= 1  # the API was really asked, and really trickled
    console = result.stdout + result.stderr
    assert "Traceback" not in console, console[-3000:]
    # 2 s of reading + 5 s to connect at most per request, a few requests, the waits' 2 s: well
    # under the run's own deadline (2 x 2 + 60 s) -- and nowhere near the 120 s the API would take.
    assert took < 45, took
    assert result.returncode in (1, 3), console[-2000:]
    checks = summary(tmp_path / "reports")["checks"]
    ingest = next(c for c in checks if c["id"].endswith("test_ingest_accepted"))
    assert ingest["status"] == "error", ingest
    assert "deadline" in ingest["message"] and "--timeout" in ingest["message"], ingest["message"]


def _run_ids(env: dict[str, str], table: str, run_id: str) -> list[str]:
    return [i["sensorId"]["S"] for i in items(env, table) if i["sensorId"]["S"].startswith(run_id)]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_ends_a_stuck_run_within_5_s(
    sandbox: tuple[SandboxHandle, dict[str, Any]], tmp_path: Path, signum: int
) -> None:
    _, outputs = sandbox
    with TrickleServer(every_s=1.0, max_bytes=300) as server:
        env = _trickling_stack(sandbox, server, tmp_path)
        log = (tmp_path / "console.log").open("wb")
        args = ["run", "--outputs=outputs.json", "--report-dir=reports", "--timeout=120"]
        proc = subprocess.Popen(
            verify_command(*args),
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(
                lambda: server.connections >= 1, "the run's ingest request at the trickling API", timeout=60
            )
            time.sleep(0.5)  # well inside the trickle: every thread is blocked somewhere
            sent = time.monotonic()
            proc.send_signal(signum)
            code = proc.wait(timeout=30)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
    console = (tmp_path / "console.log").read_text(errors="replace")
    assert code == 130, console[-2000:]
    assert took < 5, took
    assert "Traceback" not in console, console[-3000:]
    result = summary(tmp_path / "reports")
    assert result["interrupted"] is True
    assert _run_ids(env, outputs["RawSensorTableName"], result["run_id"]) == []


def test_a_trickling_aws_answer_cannot_hold_a_run(
    sandbox: tuple[SandboxHandle, dict[str, Any]], tmp_path: Path
) -> None:
    # Every Lambda answer trickles (headers at once, then a byte every 0.5 s), so botocore's 1 s
    # read timeout never fires. Each try is cut at its budget (5 s + 1 s), the breaker gives up on
    # the operation after two, and the checks that needed Lambda are errors saying so; the others
    # are not starved of threads by the stuck ones.
    handle, outputs = sandbox
    (tmp_path / "outputs.json").write_text(json.dumps(outputs), encoding="utf-8")
    with TrickleServer(every_s=0.5, max_bytes=4096, headers_first=True) as server:
        env = clean_env({**handle.env, "AWS_ENDPOINT_URL_LAMBDA": server.origin})
        started = time.monotonic()
        result = run_verify(
            "smoke",
            "--outputs=outputs.json",
            "--report-dir=reports",
            "--timeout=1",
            cwd=tmp_path,
            env=env,
            timeout=150,
        )
        took = time.monotonic() - started
        assert server.connections >= 1
    console = result.stdout + result.stderr
    assert "Traceback" not in console, console[-3000:]
    assert took < 62, took  # inside the run's deadline, not the ~2000 s the answers would take
    assert result.returncode == 3, console[-2000:]
    checks = summary(tmp_path / "reports")["checks"]
    errors = [c for c in checks if c["status"] == "error"]
    # Exactly the checks that needed Lambda (the SQS visibility check asks for its event sources).
    assert errors and all("for lambda " in c["message"] for c in errors), [c["message"] for c in errors]
    assert all("could not reach" in c["message"] for c in errors), errors[0]["message"]
    assert any(c["status"] == "passed" and c["service"] == "dynamodb" for c in checks)
