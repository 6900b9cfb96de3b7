"""Several stacks in one run (issue 18): keys two stacks share are namespaced `Stack.Key`, not exit 2;
`--stack` picks one stack out of several outputs files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verify.cli.main import main
from verify.errors import OutputsError
from verify.stack.inventory import build_inventory
from verify.stack.several import load_stacks

KMS = "arn:aws:kms:us-east-1:123456789012:key/{}"

# The shape of `verify sandbox up --stack both --format cdk`: both stacks declare KmsKeyArn and Region.
TWO_STACK_CDK = {
    "IotPipelineStack-dev": {
        "RawSensorTableName": "raw-sensor-data-dev",
        "KmsKeyArn": KMS.format("1111aaaa-0000-0000-0000-000000000001"),
        "Region": "us-east-1",
    },
    "IotPlatformStack-dev": {
        "DatabaseEndpoint": "db.abc.us-east-1.rds.amazonaws.com:5432",
        "KmsKeyArn": KMS.format("2222bbbb-0000-0000-0000-000000000002"),
        "Region": "us-east-1",
    },
}


def _write(tmp_path: Path, name: str, document: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_the_sandboxs_two_stack_cdk_file_namespaces_the_shared_keys(tmp_path: Path) -> None:
    outputs, stack_of = load_stacks([_write(tmp_path, "cdk.json", TWO_STACK_CDK)])
    keys = [o.key for o in outputs.outputs]
    assert keys == [
        "RawSensorTableName",
        "IotPipelineStack-dev.KmsKeyArn",
        "IotPipelineStack-dev.Region",
        "DatabaseEndpoint",
        "IotPlatformStack-dev.KmsKeyArn",
        "IotPlatformStack-dev.Region",
    ]
    assert stack_of["IotPlatformStack-dev.KmsKeyArn"] == "IotPlatformStack-dev"
    assert stack_of["RawSensorTableName"] == "IotPipelineStack-dev"
    # Each key is still classified by its own name: two KMS keys, a setting twice, never `unknown`.
    inventory = build_inventory(outputs)
    kinds = {r.key: r.kind for r in inventory.resources}
    assert kinds["IotPipelineStack-dev.KmsKeyArn"] == kinds["IotPlatformStack-dev.KmsKeyArn"] == "kms_key"
    assert kinds["IotPipelineStack-dev.Region"] == "scalar"


def test_an_identical_environment_in_two_files_is_namespaced(tmp_path: Path) -> None:
    first = _write(tmp_path, "network.json", {"Environment": "dev", "VpcId": "vpc-0a1b2c3d"})
    second = _write(tmp_path, "data.json", {"Environment": "dev", "TableName": "orders-dev"})
    outputs, stack_of = load_stacks([first, second])
    assert {o.key: o.items for o in outputs.outputs} == {
        "network.Environment": ("dev",),
        "VpcId": ("vpc-0a1b2c3d",),
        "data.Environment": ("dev",),
        "TableName": ("orders-dev",),
    }
    assert stack_of == {
        "network.Environment": "network",
        "VpcId": "network",
        "data.Environment": "data",
        "TableName": "data",
    }


def test_stack_picks_one_stack_out_of_several_files(tmp_path: Path) -> None:
    cdk = _write(tmp_path, "cdk.json", TWO_STACK_CDK)
    flat = _write(tmp_path, "billing.json", {"KmsKeyArn": KMS.format("3333"), "QueueUrl": "https://q"})
    picked, stack_of = load_stacks([cdk, flat], stack="IotPlatformStack-dev")
    # One stack left: its keys as it declared them, no namespace, no per-stack map.
    assert [o.key for o in picked.outputs] == ["DatabaseEndpoint", "KmsKeyArn", "Region"]
    assert picked.get("KmsKeyArn").items == (KMS.format("2222bbbb-0000-0000-0000-000000000002"),)  # type: ignore[union-attr]
    assert stack_of == {}
    by_file, _ = load_stacks([cdk, flat], stack="billing")  # a flat file's stack is its name
    assert [o.key for o in by_file.outputs] == ["KmsKeyArn", "QueueUrl"]
    with pytest.raises(OutputsError) as caught:
        load_stacks([cdk, flat], stack="Gamma")
    message = str(caught.value)
    assert "'Gamma'" in message and "IotPipelineStack-dev, IotPlatformStack-dev, billing" in message


def test_one_stack_given_twice_is_still_one_sentence(tmp_path: Path) -> None:
    # Two files called app.json: one stack name, so the namespace cannot tell their keys apart.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _write(tmp_path / "a", "app.json", {"Environment": "dev"})
    second = _write(tmp_path / "b", "app.json", {"Environment": "prod"})
    with pytest.raises(OutputsError) as caught:
        load_stacks([first, second])
    assert "'Environment'" in str(caught.value) and "'app'" in str(caught.value)


def test_run_with_an_unknown_stack_among_several_outputs_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cdk = _write(tmp_path, "cdk.json", TWO_STACK_CDK)
    flat = _write(tmp_path, "billing.json", {"QueueUrl": "https://q"})
    argv = [
        "run",
        "--outputs",
        cdk,
        "--outputs",
        flat,
        "--stack",
        "Gamma",
        "--report-dir",
        str(tmp_path / "r"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "none of" in err and "stacks found" in err
