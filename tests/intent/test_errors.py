"""A template that is missing, malformed or no template is one sentence naming the file (exit 2),
never a traceback; CloudFormation's GetTemplate (for `--stack`) is read through a boto3 client."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from verify.errors import AwsAccessError, UsageError, VerifyError
from verify.intent.documents import read_document, template_from_cloudformation
from verify.intent.load import intent_from_stack
from verify.intent.model import TemplateError
from verify.intent.read import read_intent
from verify.stack.inventory import build_inventory
from verify.stack.outputs import load_live_outputs


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            '{"Resources": {"T": {"Type": "AWS::DynamoDB::Table",}}}',
            "is not valid JSON: Expecting property name",
        ),
        ('{"Resources": {}, "Resources": {}}', "gives key 'Resources' twice in one object"),
        ("Resources:\n  T:\n    Type: [unclosed\n", "is neither valid JSON nor valid YAML"),
        ("Resources: !Ref\n  - a\n  b: c\n", "is neither valid JSON nor valid YAML"),
        ("[1, 2]", "holds a list, not a template"),
        ('{"RawTableName": "raw-sensor-data-dev"}', "is no template verify reads"),
        ('"just text"', "holds a str, not a template"),
        ('{"Resources": {"T": {"Properties": {}}}}', "resource 'T' has no `Type`"),
        (
            '{"Resources": {"T": {"Type": "AWS::SQS::Queue", "Properties": [1]}}}',
            "`Properties` that are not an object",
        ),
        ('{"resource": {"aws_sqs_queue": ["q"]}}', "`resource.aws_sqs_queue` is not an object"),
        ('{"format_version": "1.2", "planned_values": {}}', "no `planned_values.root_module`"),
    ],
)
def test_a_malformed_template_is_one_sentence(tmp_path: Path, content: str, said: str) -> None:
    file = tmp_path / "TapStack.template.json"
    file.write_text(content)
    with pytest.raises(TemplateError) as raised:
        read_intent(read_document(file))
    message = str(raised.value)
    assert said in message
    assert str(file) in message
    assert "\n" not in message and "Traceback" not in message


def test_a_missing_template_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(
        TemplateError, match=r"does not exist; pass the path of the synthesized template \(cdk synth"
    ):
        read_document(tmp_path / "cdk.out" / "TapStack.template.json")


def test_a_directory_or_binary_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="is a directory"):
        read_document(tmp_path)
    binary = tmp_path / "t.json"
    binary.write_bytes(b"\xff\xfe\x00\x81binary")
    with pytest.raises(TemplateError, match="is not UTF-8 text"):
        read_document(binary)


def test_a_deeply_nested_document_is_refused_not_a_recursion_traceback(tmp_path: Path) -> None:
    file = tmp_path / "t.json"
    file.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(TemplateError, match="nested too deeply"):
        read_document(file)


def test_template_errors_sit_in_the_usage_family() -> None:
    assert issubclass(TemplateError, UsageError) and issubclass(TemplateError, VerifyError)


TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "RawTable1A2B3C4D": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": "raw-sensor-data-test",
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            },
        }
    },
    "Outputs": {"RawTableName": {"Value": {"Ref": "RawTable1A2B3C4D"}}},
}


def test_get_template_reads_a_deployed_stack(moto_client: Callable[[str], Any]) -> None:
    cloudformation = moto_client("cloudformation")
    cloudformation.create_stack(StackName="TapStack", TemplateBody=json.dumps(TEMPLATE))
    document = template_from_cloudformation("TapStack", cloudformation)
    assert document.source == "cloudformation:TapStack"
    outputs = load_live_outputs("TapStack", cloudformation)
    intent = intent_from_stack(
        "TapStack", cloudformation, outputs=outputs, inventory=build_inventory(outputs)
    )
    table = intent.resource("RawTable1A2B3C4D")
    assert table is not None
    assert table.value("pitr") is True
    assert table.mapped_to == "RawTableName"
    assert (
        table.get("pitr").declared()  # type: ignore[union-attr]
    ) == "declared `PointInTimeRecoveryEnabled: true` in cloudformation:TapStack (RawTable1A2B3C4D)"


def test_get_template_of_a_yaml_stack(moto_client: Callable[[str], Any]) -> None:
    cloudformation = moto_client("cloudformation")
    body = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      VisibilityTimeout: 45\n"
    cloudformation.create_stack(StackName="Queues", TemplateBody=body)
    intent = read_intent(template_from_cloudformation("Queues", cloudformation))
    queue = intent.resource("Q")
    assert queue is not None and queue.value("visibility_timeout") == 45


def test_get_template_of_a_missing_stack_is_one_sentence(moto_client: Callable[[str], Any]) -> None:
    with pytest.raises(TemplateError, match=r"CloudFormation stack 'Nope' does not exist in us-east-1"):
        template_from_cloudformation("Nope", moto_client("cloudformation"))


def test_get_template_denied_is_an_access_error_naming_the_permission() -> None:
    from botocore.exceptions import ClientError

    class Denied:
        class meta:
            region_name = "eu-west-1"

        def get_template(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetTemplate")

    with pytest.raises(AwsAccessError, match=r"grant cloudformation:GetTemplate"):
        template_from_cloudformation("TapStack", Denied())
