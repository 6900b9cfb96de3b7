"""`verify smoke` against a running sandbox (both stacks, with live traffic) writes nothing: every
DynamoDB table's items, every queue's message counts and every Kinesis shard's records are identical
before and after, and the read-only guard turns a write attempt into a loud error, never a write.

The snapshot reads the stream from TRIM_HORIZON: the test may, the harness may not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import Credentials

from tests.helpers.cli import client, snapshot
from verify.aws.http import SignedHttp
from verify.sandbox.manager import SandboxHandle, spawn_sandbox

pytestmark = pytest.mark.sandbox

WRITE_ATTEMPTS = """
import pytest


@pytest.mark.check("dynamodb", title="a PutItem attempted in smoke")
def test_put_item(aws, inventory):
    table = inventory.one("dynamodb_table", role="raw")
    aws.client("dynamodb").put_item(
        TableName=table.name, Item={"sensorId": {"S": "smoke-write"}, "timestamp": {"S": "2025-01-01T00:00:00Z"}}
    )


@pytest.mark.check("kinesis", title="a PutRecord attempted in smoke")
def test_put_record(aws, inventory):
    stream = inventory.of_kind("kinesis_stream")[0]
    aws.client("kinesis").put_record(StreamName=stream.name, Data=b"smoke-write", PartitionKey="smoke")


@pytest.mark.check("apigateway", title="a signed POST attempted in smoke")
def test_post(signed_http, outputs):
    signed_http.request("POST", outputs.get("ApiEndpoint").value + "ingest", json_body={"sensorId": "smoke-write"})
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxHandle, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("smoke-sandbox")
    handle = spawn_sandbox(
        stacks=("pipeline", "platform"), outputs_path=root / "flat.json", state_dir=root / "state"
    )
    try:
        outputs = json.loads((root / "flat.json").read_text(encoding="utf-8"))
        yield handle, outputs
    finally:
        handle.stop()


def _client(handle: SandboxHandle, service: str) -> Any:
    return client(handle.env, service)


def _play_traffic(handle: SandboxHandle, outputs: dict[str, Any]) -> None:
    """What a live stack has and an idle sandbox lacks: a device's reading, processed; a record in the stream."""
    env = handle.env
    http = SignedHttp(Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]), env["AWS_REGION"])
    reading = {
        "sensorId": "device-traffic-1",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "temperature": 21.5,
    }
    assert http.request("POST", outputs["ApiEndpoint"] + "ingest", json_body=reading).status == 200
    _client(handle, "kinesis").put_record(
        StreamName=outputs["KinesisStreamName"],
        Data=json.dumps(reading).encode(),
        PartitionKey="device-traffic-1",
    )
    ddb, deadline = _client(handle, "dynamodb"), time.monotonic() + 15
    while not ddb.scan(TableName=outputs["ProcessedDataTableName"])["Items"]:
        assert time.monotonic() < deadline, "the sandbox processor never processed the reading"
        time.sleep(0.1)


def _snapshot(handle: SandboxHandle) -> dict[str, Any]:
    return snapshot(handle.env)


def test_smoke_writes_nothing_and_refuses_writes_loudly(
    sandbox: tuple[SandboxHandle, dict[str, Any]], tmp_path: Path
) -> None:
    handle, outputs = sandbox
    _play_traffic(handle, outputs)
    before = _snapshot(handle)
    assert (
        before["tables"][outputs["ProcessedDataTableName"]]
        and before["streams"][outputs["KinesisStreamName"]]
    )
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "test_write_attempts.py").write_text(WRITE_ATTEMPTS, encoding="utf-8")
    outputs_path = tmp_path / "flat.json"
    outputs_path.write_text(json.dumps(outputs), encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "verify.cli.main",
            "smoke",
            "--outputs",
            str(outputs_path),
            "--report-dir",
            str(tmp_path / "reports"),
            "--suite",
            str(checks),
        ],
        cwd=tmp_path,
        env={**os.environ, **handle.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    after = _snapshot(handle)
    assert after == before, "verify smoke changed the stack"

    summary = json.loads((tmp_path / "reports" / "summary.json").read_text(encoding="utf-8"))
    assert summary["profile"] == "smoke"
    attempts = {c["id"].rsplit("::", 1)[-1]: c for c in summary["checks"] if "write_attempts" in c["id"]}
    assert set(attempts) == {"test_put_item", "test_put_record", "test_post"}
    for check in attempts.values():
        assert check["status"] == "error" and "read-only mode: refused" in check["message"], check
    shipped = [
        (c["id"], c["status"], c["message"]) for c in summary["checks"] if c["id"].startswith("suites/")
    ]
    assert [c for c in shipped if c[1] in ("failed", "error")] == []
    by_id = {c[0]: c for c in shipped}
    assert by_id["suites/test_smoke.py::test_latest_processed_record_recent"][1] == "passed"
    writes = [c for c in shipped if "writes test data" in c[2]]
    assert writes and all(c[1] == "skipped" for c in writes)
    # The refused writes make the verdict "error" (could not verify), and the table says so first.
    assert proc.returncode == 3 and summary["verdict"] == "error"
    assert "what is wrong".upper() in proc.stdout and "read-only mode: refused" in proc.stdout
