"""AWS misbehaving while the stack is fine: each fault gives the affected checks a clear reason
(`error` = could not verify, naming the permission or endpoint), never a `failed` unless the stack
(here: its API's answers) is wrong; the run finishes within its timeouts; verdict and exit code as
CONTRACT.md says. Every case runs the real console script, against one sandbox switched to its faults.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import clean_env, run_verify, summary
from tests.helpers.sandbox import spawn_stack
from verify.sandbox.child import switch_faults
from verify.sandbox.faults.catalogue import AWS_FAULTS, FAULTS, validate_faults
from verify.sandbox.manager import SandboxHandle

pytestmark = pytest.mark.sandbox

TIMEOUT = "2"  # the wait budget, and so each call's read timeout
BOUND_S = 90  # a whole run on a busy 2-core CI machine


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """One pipeline sandbox for the module, switched to each case's faults: a switch provisions the
    stack again exactly as `--sandbox --fault` does at a start (the fault matrix holds a switched
    fault to a started one), for ~0.4 s of CPU where a start costs ~3 s."""
    with spawn_stack(tmp_path_factory.mktemp("aws-faults")) as handle:
        yield handle


def _sandbox_run(sandbox: SandboxHandle, tmp_path: Path, *faults: str) -> tuple[int, dict[str, Any]]:
    state = switch_faults(sandbox.state_dir, list(faults))
    assert sorted(state["faults"]) == sorted(faults), state["faults"]
    started = time.monotonic()
    proc = run_verify(
        "run",
        f"--outputs={sandbox.outputs_path}",
        f"--timeout={TIMEOUT}",
        f"--report-dir={tmp_path / 'reports'}",
        cwd=tmp_path,
        env=clean_env(state["env"]),
    )
    elapsed = time.monotonic() - started
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output[-3000:]
    assert elapsed < BOUND_S, elapsed
    return proc.returncode, summary(tmp_path / "reports")


def _by_status(result: dict[str, Any], status: str) -> list[dict[str, Any]]:
    return [c for c in result["checks"] if c["status"] == status]


def test_aws_faults_are_known_to_the_sandbox_but_not_to_the_fault_matrix() -> None:
    assert validate_faults(AWS_FAULTS, ["pipeline"]) == frozenset(AWS_FAULTS)
    assert not set(AWS_FAULTS) & set(FAULTS)
    assert {f.category for f in AWS_FAULTS.values()} == {"aws"}


def test_denied_failing_and_hanging_services_are_errors_that_say_why(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    code, result = _sandbox_run(sandbox, tmp_path, "aws_access_denied", "aws_5xx", "aws_hang")
    assert _by_status(result, "failed") == [], [(c["id"], c["message"]) for c in _by_status(result, "failed")]
    errors = _by_status(result, "error")
    assert result["verdict"] == "error" and code == 3, (result["verdict"], code)

    def messages(service: str) -> list[str]:
        return [c["message"] for c in errors if c["service"] == service]

    denied = messages("dynamodb")
    assert denied and all("lack permission dynamodb:DescribeTable" in m for m in denied), denied
    server = messages("sns")
    assert server and all("HTTP 500" in m and "retry later" in m for m in server), server
    hung = messages("lambda")
    assert hung and all("no answer within the read timeout" in m for m in hung), hung
    # The flow needs the raw table's keys: it could not verify either, and says which step blocked.
    flow = messages("flow")
    assert flow and all("dynamodb:DescribeTable" in m or "cannot be observed" in m for m in flow), flow
    # Everything else still ran and passed: a fault costs only what it touches.
    assert {c["service"] for c in _by_status(result, "passed")} >= {"sqs", "apigateway", "ssm"}


def test_throttling_bursts_are_absorbed_and_the_run_passes(sandbox: SandboxHandle, tmp_path: Path) -> None:
    code, result = _sandbox_run(sandbox, tmp_path, "aws_throttling")
    bad = [(c["id"], c["message"]) for c in result["checks"] if c["status"] in ("failed", "error")]
    assert bad == [] and code == 0 and result["verdict"] == "pass", bad


def test_expired_token_stops_the_run_at_the_access_check_with_one_sentence(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    # Every AWS call answers ExpiredTokenException: the access check before the checks finds that no
    # call answers, so the run says it once (not once per check), writes a summary and exits 3.
    code, result = _sandbox_run(sandbox, tmp_path, "aws_expired_token")
    assert code == 3 and result["verdict"] == "error"
    assert result["checks"] == []
    note = next(n for n in result["notes"] if n.startswith("access check: "))
    assert "nothing could be verified" in note and "expired" in note and "refresh them" in note
    assert "sts:GetCallerIdentity" in note


def test_api_answering_html_fails_the_ingest_with_what_it_got(sandbox: SandboxHandle, tmp_path: Path) -> None:
    code, result = _sandbox_run(sandbox, tmp_path, "api_html")
    failed = _by_status(result, "failed")
    assert [c["id"] for c in failed] == ["suites/test_flow.py::test_ingest_accepted"], failed
    assert "got an HTML page" in failed[0]["message"] and "text/html" in failed[0]["message"]
    # What depends on the ingest could not be observed: error, not a second-hand failure or a pass.
    dependent = [
        c for c in result["checks"] if c["service"] == "flow" and "cannot be observed" in c["message"]
    ]
    assert dependent and all(c["status"] == "error" for c in dependent)
    assert code == 1 and result["verdict"] == "fail"


def test_api_huge_body_is_capped_and_named(sandbox: SandboxHandle, tmp_path: Path) -> None:
    code, result = _sandbox_run(sandbox, tmp_path, "api_huge_body")
    failed = _by_status(result, "failed")
    assert [c["id"] for c in failed] == ["suites/test_flow.py::test_query_returns_reading"], failed
    assert "cut off" in failed[0]["message"]
    # The report holds a trimmed body, never the megabytes.
    assert (tmp_path / "reports" / "summary.json").stat().st_size < 2_000_000
    assert code == 1


# ---------------------------------------------------------------- no sandbox at all


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PIPELINE_OUTPUTS = """{
  "ApiEndpoint": "https://abc123def4.execute-api.us-east-1.amazonaws.com/dev/",
  "RawSensorTableName": "raw-sensor-data-dev",
  "ProcessedDataTableName": "processed-data-dev",
  "IngestionQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/sensor-ingestion-dev",
  "DeadLetterQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/sensor-ingestion-dlq-dev",
  "IngestFunctionName": "sensor-ingest-dev",
  "AlertTopicArn": "arn:aws:sns:us-east-1:123456789012:sensor-alerts-dev"
}"""


@pytest.mark.parametrize("case", ["endpoint_refused", "no_credentials"])
def test_nothing_reachable_is_exit_3_within_seconds(tmp_path: Path, case: str) -> None:
    (tmp_path / "outputs.json").write_text(PIPELINE_OUTPUTS, encoding="utf-8")
    port = _closed_port()
    extra = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_REGION": "us-east-1"}
    if case == "endpoint_refused":
        extra |= {"AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKEFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret"}
    started = time.monotonic()
    proc = run_verify(
        "run",
        "--outputs=outputs.json",
        f"--report-dir={tmp_path / 'reports'}",
        "--timeout=2",
        cwd=tmp_path,
        env=clean_env(extra),
        timeout=120,
    )
    assert time.monotonic() - started < 60
    output = proc.stdout + proc.stderr
    assert proc.returncode == 3, output[-2000:]
    assert "Traceback" not in output
    # The access check before the checks: one sentence, not one error line per check.
    reason = "could not reach" if case == "endpoint_refused" else "no AWS credentials"
    # A phase that took a second or more says so as it ends ("... followed (1.9 s)"): progress, not an error.
    said = [
        line
        for line in proc.stderr.splitlines()
        if line.startswith("verify: ") and not re.search(r"\(\d+(\.\d+)? s\)$", line)
    ]
    assert len(said) == 1 and "nothing could be verified" in said[0] and reason in said[0], proc.stderr
    assert proc.stdout.count(reason) == 0, proc.stdout[-2000:]
    result = summary(tmp_path / "reports")
    assert result["verdict"] == "error" and result["checks"] == []
    assert any(
        n.startswith("access check: nothing could be verified") and reason in n for n in result["notes"]
    )
