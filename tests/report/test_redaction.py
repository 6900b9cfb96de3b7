"""Planted secrets -- the run's credentials, a Secrets Manager value, a sensitive Terraform output --
reach no file under the report directory and none of the console output, even when a check echoes
every one of them in its message, its evidence and its printed output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

pytestmark = [pytest.mark.slow]

ACCESS_KEY = "AKIAPLANTEDKEY000042"
SECRET_KEY = "planted-secret-access-key-7Qx9"
SESSION_TOKEN = "planted-session-token-Zk31abcdef"
SECRETS_MANAGER_VALUE = "planted-sm-value-9f8e7d6c"
TF_SENSITIVE = "planted-tf-db-password-44aa"
PLANTED = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, SECRETS_MANAGER_VALUE, TF_SENSITIVE)

ECHOING_SUITE = """
import pytest
from verify import CheckFailed


@pytest.mark.check("secretsmanager", title="echoes every secret it can reach")
def test_echoes_secrets(aws, outputs, check):
    arn = outputs.get("db_secret_arn").value
    value = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    creds = aws.credentials().get_frozen_credentials()
    password = outputs.get("db_password").value
    print("echo:", value, creds.access_key, creds.secret_key, creds.token, password)
    check.record("seen", {"value": value, "dsn": f"postgres://app:{password}@db:5432/app"})
    check.record("creds", [creds.access_key, creds.secret_key, creds.token])
    raise CheckFailed(f"got {value} / {password} / {creds.secret_key} / {creds.token}", actual=value)
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.mark.sandbox
def test_planted_secrets_reach_no_report_and_no_console(tmp_path: Path, endpoint: str) -> None:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_PROFILE", None)
    client = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    arn = client.create_secret(Name="app/db", SecretString=SECRETS_MANAGER_VALUE)["ARN"]
    outputs = tmp_path / "tf-outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "db_secret_arn": {"value": arn, "type": "string", "sensitive": False},
                "db_password": {"value": TF_SENSITIVE, "type": "string", "sensitive": True},
            }
        ),
        encoding="utf-8",
    )
    suite = tmp_path / "check_echo.py"
    suite.write_text(ECHOING_SUITE, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "verify.cli.main",
            "run",
            "--outputs",
            str(outputs),
            "--suite",
            str(suite),
            "-k",
            "echo or secret",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    reports = tmp_path / "reports"
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    echo = next(c for c in summary["checks"] if c["id"].endswith("test_echoes_secrets"))
    # The check did echo them: masked, not missing.
    assert echo["status"] == "failed"
    assert echo["message"].count("***") >= 4
    assert echo["evidence"]["seen"]["dsn"] == "postgres://app:***@db:5432/app"
    written = [p for p in reports.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"summary.json", "summary.md", "junit.xml", "report.html"}
    assert any(p.parent.name == "allure-results" for p in written)
    for path in written:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for secret in PLANTED:
            assert secret not in text, f"{secret} leaked into {path}"
    for secret in PLANTED:
        assert secret not in result.stdout, f"{secret} leaked to stdout"
        assert secret not in result.stderr, f"{secret} leaked to stderr"
