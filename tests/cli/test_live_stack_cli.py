"""`--stack NAME`: outputs (and resources) read live from CloudFormation, through a real HTTP
endpoint (the moto server) selected with AWS_ENDPOINT_URL, exactly as against AWS."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from verify.sandbox.emulator.server import Emulator

pytestmark = pytest.mark.sandbox

TEMPLATE = {
    "Resources": {
        "Readings": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": "raw-sensor-data-live",
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "sensorId", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "sensorId", "AttributeType": "S"}],
            },
        },
        "Ingestion": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "ingestion-live"}},
    },
    "Outputs": {
        "RawSensorTableName": {"Value": {"Ref": "Readings"}},
        "IngestionQueueUrl": {"Value": {"Ref": "Ingestion"}},
    },
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[dict[str, str]]:
    emulator = Emulator()
    emulator.start()
    # moto's state lives in this process, not in the server: when the worker comes back to this
    # module after another (pytest-xdist's worksteal), the stack of the last set-up is still there
    # (CI: "Stack IotLive already exists"). moto server's own reset starts from nothing.
    requests.post(f"{emulator.endpoint_url}/moto-api/reset", timeout=30).raise_for_status()
    env = {
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "AWS_ACCESS_KEY_ID": "AKIATESTLIVESTACK000",
        "AWS_SECRET_ACCESS_KEY": "live-stack-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    cfn = boto3.client(
        "cloudformation",
        region_name="us-east-1",
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    cfn.create_stack(StackName="IotLive", TemplateBody=json.dumps(TEMPLATE))
    try:
        yield env
    finally:
        emulator.stop()


def _verify(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        ["verify", *args], cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_discover_live_stack(endpoint: dict[str, str], tmp_path: Path) -> None:
    proc = _verify(endpoint, tmp_path, "discover", "--stack", "IotLive", "--json")
    assert proc.returncode == 0, proc.stderr
    resources = {r["key"]: r for r in json.loads(proc.stdout)["resources"]}
    assert resources["RawSensorTableName"]["kind"] == "dynamodb_table"
    assert resources["RawSensorTableName"]["name"] == "raw-sensor-data-live"
    assert resources["RawSensorTableName"]["role"] == "raw"
    assert resources["IngestionQueueUrl"]["kind"] == "sqs_queue"
    assert resources["IngestionQueueUrl"]["name"] == "ingestion-live"


def test_run_live_stack_checks_the_real_resources(endpoint: dict[str, str], tmp_path: Path) -> None:
    proc = _verify(endpoint, tmp_path, "run", "--stack", "IotLive", "-k", "test_outputs or test_table_active")
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert summary["stack"]["source"] == "cloudformation:IotLive"
    statuses = {c["id"]: c["status"] for c in summary["checks"]}
    assert statuses["suites/test_dynamodb.py::test_table_active[RawSensorTableName]"] == "passed"


def test_missing_live_stack_is_one_sentence(endpoint: dict[str, str], tmp_path: Path) -> None:
    proc = _verify(endpoint, tmp_path, "discover", "--stack", "NoSuchStack")
    assert proc.returncode == 2, proc.stderr
    assert "NoSuchStack" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unreachable_endpoint_is_could_not_verify(tmp_path: Path) -> None:
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens on the discard port
        "AWS_ACCESS_KEY_ID": "AKIATESTLIVESTACK000",
        "AWS_SECRET_ACCESS_KEY": "live-stack-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }
    proc = _verify(env, tmp_path, "discover", "--stack", "IotLive")
    assert proc.returncode == 3, proc.stderr
    assert "could not reach" in proc.stderr.lower() and "Traceback" not in proc.stderr
