"""Run ids cannot collide with real data (issue 16, finding 4): `--run-id device-0001` once deleted a
team's own `device-0001` readings. An id always carries verify's prefix and a random part, and the
flow's clean-up deletes only items whose key carries the run's id."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.credentials import Credentials
from moto import mock_aws

from verify.aws.client import Aws
from verify.aws.http import SignedHttp
from verify.cli.main import build_parser
from verify.config.settings import Config
from verify.errors import UsageError
from verify.scenario.flow import Flow
from verify.scenario.run_ids import new_run_id, run_id_for
from verify.stack.inventory import build_inventory
from verify.stack.outputs import parse_outputs

REGION = "us-east-1"
FORM = re.compile(r"vfy-[A-Za-z0-9._-]*-[0-9a-f]{8}")


@pytest.mark.parametrize("label", ["device-0001", "12345678", "gh-987654321", "vfy-device-0001", "a.b_c"])
def test_a_given_label_gets_the_prefix_and_a_random_part(label: str) -> None:
    first, second = run_id_for(label), run_id_for(label)
    assert first.startswith("vfy-") and FORM.fullmatch(first), first
    assert first != second, "two runs with the same label must not share an id"
    assert label.removeprefix("vfy-") in first
    assert first != label


def test_an_id_of_verifys_own_form_is_kept_so_shards_can_share_one() -> None:
    generated = new_run_id()
    assert FORM.fullmatch(generated)
    assert run_id_for(generated) == generated
    assert run_id_for(run_id_for("gh-42")) != "gh-42"


@pytest.mark.parametrize("bad", ["", "x" * 65, "a b", "dev/0001", "ünïcode", "a\nb"])
def test_a_label_verify_cannot_tag_with_is_one_sentence(bad: str) -> None:
    if not bad:
        assert run_id_for(bad).startswith("vfy-")  # no label: a generated id
        return
    with pytest.raises(UsageError, match="--run-id"):
        run_id_for(bad)


def test_the_cli_turns_the_label_into_verifys_id(monkeypatch: pytest.MonkeyPatch) -> None:
    import verify.cli.main as cli

    seen: dict[str, str] = {}

    def fake_run(args: object, outputs: object) -> int:
        seen["run_id"] = args.run_id  # type: ignore[attr-defined]
        return 0

    monkeypatch.setattr(cli, "_validate_inputs", lambda args, outputs: None)
    monkeypatch.setattr(cli, "_run_checks", fake_run)
    args = build_parser().parse_args(["run", "--run-id", "device-0001", "--outputs", "x.json"])
    assert cli.cmd_run(args) == 0
    assert seen["run_id"].startswith("vfy-device-0001-") and FORM.fullmatch(seen["run_id"])


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="raw-data",
            KeySchema=[{"AttributeName": "sensorId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "sensorId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Aws(REGION)


def _flow(aws: Aws, run_id: str) -> Flow:
    outputs = parse_outputs(
        {
            "ApiEndpoint": "https://abc123.execute-api.us-east-1.amazonaws.com/dev/",
            "RawTableName": "raw-data",
        },
        "test.json",
    )
    http = SignedHttp(Credentials("testing", "testing"), REGION)
    return Flow(
        aws=aws, http=http, inventory=build_inventory(outputs), config=Config(), run_id=run_id, timeout=1
    )


def _sensors() -> list[str]:
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName="raw-data")["Items"]
    return sorted(item["sensorId"]["S"] for item in items)


def test_a_flow_whose_id_lacks_verifys_prefix_deletes_nothing(moto: Aws) -> None:
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName="raw-data", Item={"sensorId": {"S": "device-0001"}}
    )
    flow = _flow(moto, "device-0001")  # as a library caller might still build one
    flow._sent = True
    assert flow.cleanup() == []
    assert _sensors() == ["device-0001"]


def test_cleanup_deletes_only_items_keyed_by_the_run_id(moto: Aws) -> None:
    run_id = run_id_for("device-0001")
    client = boto3.client("dynamodb", region_name=REGION)
    for sensor in ("device-0001", run_id, f"{run_id}-malformed"):
        client.put_item(TableName="raw-data", Item={"sensorId": {"S": sensor}})
    flow = _flow(moto, run_id)
    flow._sent = True
    flow._markers_written.add(flow.malformed_marker)
    assert len(flow.cleanup()) == 2
    assert _sensors() == ["device-0001"]


@pytest.mark.sandbox
def test_run_id_device_0001_leaves_the_teams_device_0001_readings(tmp_path: Path) -> None:
    """The finding as it was seen: the sandbox's pipeline holds the team's own `device-0001` readings."""
    import json

    from tests.helpers.cli import clean_env, items, run_verify, summary
    from verify.sandbox.manager import spawn_sandbox

    handle = spawn_sandbox(
        stacks=("pipeline",), outputs_path=tmp_path / "flat.json", state_dir=tmp_path / "state"
    )
    try:
        env = clean_env(handle.env)
        outputs = json.loads((tmp_path / "flat.json").read_text(encoding="utf-8"))
        tables = (outputs["RawSensorTableName"], outputs["ProcessedDataTableName"])

        def devices() -> dict[str, list[str]]:
            return {
                t: sorted(i["sensorId"]["S"] for i in items(env, t) if i["sensorId"]["S"] == "device-0001")
                for t in tables
            }

        before = devices()
        assert all(before.values()), before
        run_verify(
            "run",
            "--outputs=flat.json",
            "--report-dir=reports",
            "--run-id=device-0001",
            "--timeout=20",
            cwd=tmp_path,
            env=env,
        )
        result = summary(tmp_path / "reports")
        assert result["run_id"].startswith("vfy-device-0001-")
        assert devices() == before
        ours = [i for t in tables for i in items(env, t) if i["sensorId"]["S"].startswith(result["run_id"])]
        assert ours == []
    finally:
        handle.stop()
