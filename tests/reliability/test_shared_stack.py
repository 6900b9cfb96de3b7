"""One live sandbox (both stacks), used the way CI pipelines use a real stack:

- nothing lost: four full runs at once and a smoke run leave every table, queue (DLQs included) and
  stream exactly as they were, a team's own item included; each run used its own marker;
- nothing leaked: planted canaries (a session token, the sandbox's secret key, the database secret
  in Secrets Manager, an SSM SecureString, a sensitive Terraform output) appear in no report file,
  no log line and no console output of `run`, `smoke` or `discover`.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import Credentials

from tests.helpers.cli import clean_env, client, items, snapshot, summary, verify_command, wait_for
from verify.aws.http import SignedHttp
from verify.sandbox.manager import SandboxHandle, spawn_sandbox

pytestmark = pytest.mark.sandbox

RUNS = 4
TEAM_SENSOR = "device-team-42"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxHandle, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("shared-stack")
    handle = spawn_sandbox(
        stacks=("pipeline", "platform"), outputs_path=root / "flat.json", state_dir=root / "state"
    )
    try:
        yield handle, json.loads((root / "flat.json").read_text(encoding="utf-8"))
    finally:
        handle.stop()


def _team_reading(env: dict[str, str], outputs: dict[str, Any]) -> None:
    """A team's own reading, ingested and processed before any run: the runs must leave it be (and
    smoke needs a recent processed record to call the stack alive)."""
    http = SignedHttp(Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]), env["AWS_REGION"])
    reading = {"sensorId": TEAM_SENSOR, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ"), "temperature": 19.5}
    assert http.request("POST", outputs["ApiEndpoint"] + "ingest", json_body=reading).status == 200
    wait_for(
        lambda: items(env, outputs["ProcessedDataTableName"]), "the team's processed reading", timeout=30
    )


def _run_all(commands: list[tuple[list[str], Path]], env: dict[str, str]) -> list[tuple[int, str]]:
    procs = [
        subprocess.Popen(
            verify_command(*args),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for args, cwd in commands
    ]
    results = []
    for proc in procs:
        output, _ = proc.communicate(timeout=300)
        results.append((proc.returncode, output))
    return results


def test_concurrent_full_runs_and_a_smoke_run_leave_the_stack_as_they_found_it(
    stack: tuple[SandboxHandle, dict[str, Any]], tmp_path: Path
) -> None:
    handle, outputs = stack
    env = clean_env(handle.env)
    _team_reading(env, outputs)
    (tmp_path / "outputs.json").write_text(json.dumps(outputs), encoding="utf-8")
    before = snapshot(env)
    assert any(TEAM_SENSOR in item for item in before["tables"][outputs["RawSensorTableName"]])

    dirs = [tmp_path / f"run{i}" for i in range(RUNS)]
    for d in dirs:
        d.mkdir()
    full = [
        (["run", f"--outputs={tmp_path / 'outputs.json'}", "--report-dir=reports", "--timeout=40"], d)
        for d in dirs
    ]
    results = _run_all(full, env)
    smoke_dir = tmp_path / "smoke"
    smoke_dir.mkdir()
    results += _run_all(
        [(["smoke", f"--outputs={tmp_path / 'outputs.json'}", "--report-dir=reports"], smoke_dir)], env
    )
    for (code, output), where in zip(results, [*dirs, smoke_dir], strict=True):
        result = summary(where / "reports")
        bad = [(c["id"], c["message"][:200]) for c in result["checks"] if c["status"] in ("failed", "error")]
        assert code == 0 and result["verdict"] == "pass", (where.name, bad, output[-1500:])

    run_ids = [summary(d / "reports")["run_id"] for d in dirs]
    assert len(set(run_ids)) == RUNS
    for d, run_id in zip(dirs, run_ids, strict=True):
        checks = {c["id"]: c for c in summary(d / "reports")["checks"]}
        ingest = json.dumps(checks["suites/test_flow.py::test_ingest_accepted"].get("evidence", {}))
        assert run_id in ingest, "each run's reading carries its own run id"
        assert not [other for other in run_ids if other != run_id and other in ingest]

    # Every item written was the runs' own and is gone; the team's item is untouched; no queue (DLQ
    # included) changed. Kinesis records cannot be deleted: the only new ones are tagged with a run id.
    after = snapshot(env)
    assert after["tables"] == before["tables"]
    assert after["queues"] == before["queues"]
    assert set(after["streams"]) == set(before["streams"])
    for name, records in after["streams"].items():
        assert set(before["streams"][name]) <= set(records), f"{name}: a record that was there is gone"
        added = [r for r in records if r not in before["streams"][name]]
        for _shard, _sequence, data in added:
            tags = [run_id for run_id in run_ids if run_id.encode() in data]
            assert len(tags) == 1, f"{name}: a record not tagged with exactly one run id: {data[:200]!r}"


def _terraform(outputs: dict[str, Any], canary: str) -> dict[str, Any]:
    def snake(key: str) -> str:
        return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()

    shaped = {snake(k): {"value": v, "type": "string", "sensitive": False} for k, v in outputs.items()}
    shaped["grafana_admin_password"] = {"value": canary, "type": "string", "sensitive": True}
    return shaped


def test_no_secret_reaches_any_report_log_or_console(
    stack: tuple[SandboxHandle, dict[str, Any]], tmp_path: Path
) -> None:
    handle, outputs = stack
    token_canary = "IQoJb3JpZ2luX2VjECANARYsessiontoken0123456789abcdef"
    output_canary = "tf-sensitive-CANARY-7d41c0ffee"
    env = clean_env({**handle.env, "AWS_SESSION_TOKEN": token_canary})
    secret = json.loads(
        client(env, "secretsmanager").get_secret_value(SecretId=outputs["DatabaseSecretArn"])["SecretString"]
    )
    secure = client(env, "ssm").get_parameter(
        Name=outputs["AlertWebhookTokenParameterName"], WithDecryption=True
    )["Parameter"]["Value"]
    canaries = {
        "session token": token_canary,
        "secret access key": handle.env["AWS_SECRET_ACCESS_KEY"],
        "database password": str(secret["password"]),
        "SSM SecureString": secure,
        "sensitive output": output_canary,
    }
    (tmp_path / "tf.json").write_text(json.dumps(_terraform(outputs, output_canary)), encoding="utf-8")
    console = ""
    for args in (
        ["run", "--outputs=tf.json", "--report-dir=reports-run", "--timeout=20"],
        ["smoke", "--outputs=tf.json", "--report-dir=reports-smoke", "--json"],
        ["discover", "--outputs=tf.json"],
        ["discover", "--outputs=tf.json", "--json"],
    ):
        proc = subprocess.run(
            verify_command(*args), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        console += proc.stdout + proc.stderr
        assert proc.returncode == 0, (args, (proc.stdout + proc.stderr)[-2000:])
    assert "grafana_admin_password" in console  # the sensitive output was listed, just not its value
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "tf.json"]
    assert any(p.name == "summary.json" for p in files) and any(p.suffix == ".xml" for p in files)
    for what, value in canaries.items():
        assert value not in console, f"{what} printed on the console"
        for path in files:
            assert value.encode() not in path.read_bytes(), f"{what} written to {path.relative_to(tmp_path)}"
