"""`verify discover --intent`: after what the outputs name, the expectations the stack's template
gives, each with where it was declared; a template not found is one sentence and exit 2.

Each test runs inside moto (`aws_mock`): whether discover follows the stack's wiring by default or
not, nothing here may reach a real account."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.intent.helpers import CDK_DIR, CDK_OUTPUTS, PLAN, YAML_OUTPUTS, YAML_TEMPLATE
from verify.cli.main import main


def test_discover_intent_prints_the_declared_expectations(
    aws_mock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["discover", "--outputs", str(CDK_OUTPUTS), "--intent"]) == 0
    printed = capsys.readouterr().out
    assert "RawTableName" in printed  # discovery's table first
    assert "intent: " in printed and "TapStack.template.json (cdk, stack TapStack)" in printed
    assert (
        "dynamodb_table raw-sensor-data-dev [RawTable1A2B3C4D] -> RawTableName (output RawTableName)"
        in printed
    )
    assert "    pitr = true  (declared `PointInTimeRecoveryEnabled: true`)\n" in printed
    # Declared on another resource: that one is named.
    assert (
        "log_retention_days = 30  (declared `RetentionInDays: 30` on ProcessorFunctionLogRetention8E2F1A3B)"
        in printed
    )
    assert "api method POST /ingest of ApiF70053CD [ApiingestPOST5E6F7A8B] -> ApiEndpoint760E02C8" in printed
    assert "sse_kms_key = unknown (CDK token ${Token[TOKEN.412]} is resolved only at deploy)" in printed
    assert "kms_key [DataKey7F3E2A1B]: unmapped: it declares no name" in printed


def test_discover_without_intent_reads_no_template(
    aws_mock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["discover", "--outputs", str(CDK_OUTPUTS)]) == 0
    assert "intent:" not in capsys.readouterr().out


def test_discover_template_json_carries_the_intent(
    aws_mock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["discover", "--outputs", str(YAML_OUTPUTS), "--template", str(YAML_TEMPLATE), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["resources"]  # discovery's JSON is unchanged, the intent is beside it
    intent = shown["intent"]
    assert intent["form"] == "cloudformation"
    secret = next(r for r in intent["resources"] if r["logical_id"] == "DatabaseSecret")
    assert secret["mapped_to"] == "DbSecretArn"
    assert secret["properties"]["rotation_days"]["value"] == 30
    assert secret["physical_name"] == {
        "unknown": "Fn::Sub 'platform-db-credentials-${Env}': Ref Env: a parameter, whose deployed value the template does not hold"
    }


def test_discover_intent_of_a_terraform_plan(
    aws_mock: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "queue_url": {
                    "value": "https://sqs.us-east-2.amazonaws.com/456789012345/iot-ingest-prod",
                    "type": "string",
                    "sensitive": False,
                }
            }
        )
    )
    assert main(["discover", "--outputs", str(outputs), "--template", str(PLAN)]) == 0
    printed = capsys.readouterr().out
    assert "(terraform-plan)" in printed
    assert "engine_version = 15.3  (declared `engine_version: 15.3`)" in printed


def test_discover_intent_without_a_template_is_one_sentence(
    aws_mock: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "cfn-outputs" / "flat-outputs.json"
    outputs.parent.mkdir()
    outputs.write_text(json.dumps({"RawTableName": "raw-sensor-data-dev"}))
    assert main(["discover", "--outputs", str(outputs), "--intent"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("verify: No template was found beside")
    assert "pass --template PATH" in err and "Traceback" not in err


def test_discover_intent_with_several_stacks_names_them(
    aws_mock: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(CDK_DIR, tmp_path / "app")
    cdk_out = tmp_path / "app" / "cdk.out"
    shutil.copy(cdk_out / "TapStack.template.json", cdk_out / "TapStackReplica.template.json")
    (cdk_out / "manifest.json").unlink()
    flat = tmp_path / "app" / "cfn-outputs" / "flat-outputs.json"
    flat.write_text(json.dumps({"RawTableName": "raw-sensor-data-dev"}))  # flat: names no stack
    assert main(["discover", "--outputs", str(flat), "--intent"]) == 2
    err = capsys.readouterr().err
    assert "2 templates were found" in err
    assert (
        "TapStack.template.json (TapStack)" in err
        and "TapStackReplica.template.json (TapStackReplica)" in err
    )


def test_discover_intent_for_a_live_stack_reads_get_template(
    moto_client: Callable[[str], Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    template = {
        "Resources": {
            "IngestQueue1A2B3C4D": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 45}},
        },
        "Outputs": {"IngestQueueUrl": {"Value": {"Ref": "IngestQueue1A2B3C4D"}}},
    }
    moto_client("cloudformation").create_stack(StackName="TapStack", TemplateBody=json.dumps(template))
    monkeypatch.chdir(Path(__file__).parent)  # no verify.toml nor outputs file here
    assert main(["discover", "--stack", "TapStack", "--region", "us-east-1", "--intent"]) == 0
    printed = capsys.readouterr().out
    assert "intent: cloudformation:TapStack (cloudformation, stack TapStack)" in printed
    assert "visibility_timeout = 45  (declared `VisibilityTimeout: 45`)" in printed
    assert "-> IngestQueueUrl (CloudFormation's physical id" in printed
