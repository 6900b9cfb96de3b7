"""A sensitive output is no resource (issue 16, finding 2): a Terraform output marked `sensitive`,
or one under a secret-looking key, is listed as a masked setting. No check is parametrized with it,
so its value is never an AWS parameter (DescribeSecret's `SecretId` lands in CloudTrail) nor part of
a check's title, and it reaches no report file and no printed line."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.helpers.engine import engine_session
from verify.config.settings import load_config
from verify.engine import runner
from verify.engine.plan import plan
from verify.engine.spec import meta_of
from verify.probes import secretsmanager

CANARY = "tf-CANARY-5e7b1d9a44c2"
FLAT_CANARY = "flat-CANARY-0b7c33e1"


def _outputs(tmp_path: Path, secret_arn: str) -> Path:
    document = {
        "db_secret": {"value": CANARY, "type": "string", "sensitive": True},
        "admin_pass": {"value": FLAT_CANARY, "type": "string", "sensitive": False},
        "db_secret_arn": {"value": secret_arn, "type": "string", "sensitive": False},
        "raw_table_name": {"value": "raw-data", "type": "string", "sensitive": False},
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _session(tmp_path: Path, outputs: Path) -> Any:
    return engine_session(
        tmp_path, outputs, config=load_config(None), profile="smoke", region="us-east-1", timeout=5
    )


def test_no_check_is_parametrized_with_a_sensitive_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
    session = _session(tmp_path, _outputs(tmp_path, arn))
    planned = plan(session)
    about: dict[str, Any] = {
        item.id: item.params.get("resource") or item.params.get("output")
        for item in planned
        if item.params.get("resource") or item.params.get("output")
    }
    for check_id, subject in about.items():
        if subject.key in ("db_secret", "admin_pass"):
            assert subject.sensitive, check_id
            assert check_id.startswith("suites/test_outputs.py::"), check_id  # only the outputs' own checks
    secret_checks = [i for i in about if i.startswith("suites/test_secretsmanager.py")]
    assert secret_checks and all("db_secret_arn" in i for i in secret_checks)
    for item in planned:
        meta = meta_of(item.marks.get("check"), item.name, item.params)
        assert CANARY not in json.dumps(meta) and FLAT_CANARY not in json.dumps(meta)


@pytest.mark.slow  # an in-process smoke run against moto: ~1.5 s
def test_a_smoke_run_sends_no_sensitive_value_to_aws_and_reports_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_mock: None
) -> None:
    monkeypatch.chdir(tmp_path)
    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="db", SecretString="x"
    )
    session = _session(tmp_path, _outputs(tmp_path, secret["ARN"]))
    sent: list[str] = []
    describe = secretsmanager.describe

    def spy(client: Any, secret_id: str) -> dict[str, Any]:
        sent.append(secret_id)
        return describe(client, secret_id)

    monkeypatch.setattr(secretsmanager, "describe", spy)
    out = io.StringIO()
    # The checks that could take a secret's value for a name: the outputs' own and Secrets Manager's.
    run = runner.run(session, plan(session, keyword="outputs or secretsmanager"), out)
    assert sent and set(sent) == {secret["ARN"]}
    printed = out.getvalue()
    files = [p for p in (tmp_path / "reports").rglob("*") if p.is_file()]
    assert files and run.summary.checks
    for text in [printed, *(p.read_text(encoding="utf-8") for p in files)]:
        assert CANARY not in text and FLAT_CANARY not in text
