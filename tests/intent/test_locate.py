"""Finding the template beside the outputs file, or taking the one given; several: chosen by the
stack the outputs name, else one sentence listing them (never a silent pick)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.intent.helpers import CDK_DIR, CDK_OUTPUTS, CDKTF_DIR, CDKTF_OUTPUTS, PLAN
from verify.errors import UsageError
from verify.intent.load import intent_for
from verify.intent.locate import locate_template
from verify.intent.model import TemplateError
from verify.stack.outputs import load_outputs


def test_cdk_out_beside_cfn_outputs() -> None:
    located = locate_template(outputs=str(CDK_OUTPUTS))
    assert located.path.name == "TapStack.template.json"
    assert located.stack == "TapStack"


def test_cdktf_out_beside_the_outputs_file() -> None:
    located = locate_template(outputs=str(CDKTF_OUTPUTS))
    assert located.path.parts[-4:] == ("cdktf.out", "stacks", "pipeline", "cdk.tf.json")
    assert located.stack == "pipeline"


def test_an_explicit_template_wins_and_a_terraform_plan_is_read_only_when_passed() -> None:
    assert locate_template(template=PLAN, outputs=str(CDK_OUTPUTS)).path == PLAN
    assert locate_template(template=CDK_DIR / "cdk.out").path.name == "TapStack.template.json"


def _two_stacks(tmp_path: Path, manifest: dict[str, object] | None = None) -> Path:
    cdk_out = tmp_path / "cdk.out"
    cdk_out.mkdir()
    template = (CDK_DIR / "cdk.out" / "TapStack.template.json").read_text()
    (cdk_out / "PlatformNetwork.template.json").write_text(template)
    (cdk_out / "PlatformData.template.json").write_text(template)
    (cdk_out / "PlatformDataNested1A2B.nested.template.json").write_text(template)  # a part, not a stack
    if manifest is not None:
        (cdk_out / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "cfn-outputs").mkdir()
    return tmp_path / "cfn-outputs" / "flat-outputs.json"


def test_several_stacks_chosen_by_the_stack_the_outputs_name(tmp_path: Path) -> None:
    outputs = _two_stacks(tmp_path)
    located = locate_template(outputs=str(outputs), stack="PlatformData")
    assert located.path.name == "PlatformData.template.json"


def test_several_stacks_chosen_through_cdks_manifest_when_names_differ(tmp_path: Path) -> None:
    manifest = {
        "artifacts": {
            "PlatformData": {
                "type": "aws:cloudformation:stack",
                "properties": {
                    "templateFile": "PlatformData.template.json",
                    "stackName": "PlatformData-staging",
                },
            },
            "PlatformNetwork": {
                "type": "aws:cloudformation:stack",
                "properties": {
                    "templateFile": "PlatformNetwork.template.json",
                    "stackName": "PlatformNetwork-staging",
                },
            },
        }
    }
    outputs = _two_stacks(tmp_path, manifest)
    outputs.write_text(json.dumps({"PlatformData-staging": {"DbPort": "5432"}}))
    located = locate_template(outputs=str(outputs), stack=load_outputs(outputs).stack)
    assert located.path.name == "PlatformData.template.json"
    assert located.stack == "PlatformData-staging"


def test_several_stacks_and_no_stack_name_is_one_sentence_listing_them(tmp_path: Path) -> None:
    outputs = _two_stacks(tmp_path)
    with pytest.raises(TemplateError) as raised:
        locate_template(outputs=str(outputs))
    message = str(raised.value)
    assert message.startswith("2 templates were found beside")
    assert "PlatformData.template.json (PlatformData)" in message
    assert "PlatformNetwork.template.json (PlatformNetwork)" in message
    assert "nested" not in message
    assert message.endswith("pass --template PATH.")
    assert "\n" not in message


def test_several_stacks_none_of_the_outputs_stack(tmp_path: Path) -> None:
    outputs = _two_stacks(tmp_path)
    with pytest.raises(TemplateError, match=r"none is of stack 'Other'"):
        locate_template(outputs=str(outputs), stack="Other")


def test_no_template_beside_the_outputs(tmp_path: Path) -> None:
    outputs = tmp_path / "cfn-outputs" / "flat-outputs.json"
    outputs.parent.mkdir()
    with pytest.raises(TemplateError) as raised:
        locate_template(outputs=str(outputs))
    message = str(raised.value)
    assert message.startswith("No template was found beside")
    assert "cdk.out/*.template.json" in message and "--template PATH" in message


def test_nothing_to_look_beside() -> None:
    with pytest.raises(TemplateError, match="pass --template PATH"):
        locate_template(outputs="cloudformation:TapStack")


def test_template_errors_are_usage_errors_exit_2() -> None:
    assert issubclass(TemplateError, UsageError)
    assert TemplateError("x").exit_code == 2


def test_intent_for_a_copied_project_reads_the_template_beside_it(tmp_path: Path) -> None:
    shutil.copytree(CDKTF_DIR, tmp_path / "project")
    outputs = load_outputs(tmp_path / "project" / "outputs.json")
    intent = intent_for(outputs=outputs)
    assert intent.source.endswith("cdktf.out/stacks/pipeline/cdk.tf.json")
    assert intent.resource("aws_dynamodb_table.raw") is not None
