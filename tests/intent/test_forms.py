"""Each of the four forms (and plain CloudFormation JSON/YAML) is read into the one model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.intent.helpers import (
    CDK_TEMPLATE,
    CDKTF_TEMPLATE,
    PLAN,
    STATE,
    YAML_TEMPLATE,
    cdk_intent,
    cdktf_intent,
    plan_intent,
    resource,
    state_intent,
    yaml_intent,
)
from verify.intent.documents import parse_document, read_document
from verify.intent.model import CDK, CDKTF, CLOUDFORMATION, TERRAFORM_PLAN, TERRAFORM_STATE, Unknown
from verify.intent.read import read_intent
from verify.stack.kinds import KINDS


@pytest.mark.parametrize(
    ("path", "form"),
    [
        (CDK_TEMPLATE, CDK),
        (YAML_TEMPLATE, CLOUDFORMATION),
        (CDKTF_TEMPLATE, CDKTF),
        (PLAN, TERRAFORM_PLAN),
        (STATE, TERRAFORM_STATE),
    ],
)
def test_the_form_is_told_by_the_document_not_the_file_name(path: Path, form: str, tmp_path: Path) -> None:
    assert read_document(path).form == form
    renamed = tmp_path / "template.txt"
    renamed.write_bytes(path.read_bytes())
    assert read_document(renamed).form == form


def test_cdk_template_every_resource_of_a_known_kind_with_its_hashed_logical_id() -> None:
    intent = cdk_intent()
    assert intent.form == CDK
    assert intent.stack == "TapStack"
    ids = {r.logical_id for r in intent.resources}
    assert {
        "RawTable1A2B3C4D",
        "ProcessedTable9C8D7E6F",
        "IngestQueue1A2B3C4D",
        "IngestDlq9F8E7D6C",
        "SensorStream1B2C3D4E",
        "ProcessorFunction3A4B5C6D",
        "ApiF70053CD",
        "ApiDeploymentStageprod3EB9684E",
        "ApiingestPOST5E6F7A8B",
    } <= ids
    # CDK's plumbing is counted, not modelled: no kind verify knows.
    assert dict(intent.ignored) == {
        "AWS::ApiGateway::Deployment": 1,
        "AWS::CDK::Metadata": 1,
        "AWS::IAM::Policy": 1,
        "AWS::Lambda::EventSourceMapping": 1,
    }
    assert all(r.kind in KINDS for r in intent.resources)


def test_yaml_short_tags_read_as_their_long_forms() -> None:
    document = parse_document(
        "Resources:\n"
        "  T:\n"
        "    Type: AWS::DynamoDB::Table\n"
        "    Properties:\n"
        "      TableName: !Sub '${AWS::StackName}-raw'\n"
        "      SSESpecification:\n"
        "        KMSMasterKeyId: !GetAtt Key.Arn\n"
        "        SSEEnabled: !Equals [a, a]\n"
        "      Tags:\n"
        "        - Key: parts\n"
        "          Value: !Join ['-', [!Ref Env, !Select [0, !GetAZs '']]]\n",
        "t.yaml",
    )
    props = document.data["Resources"]["T"]["Properties"]
    assert props["TableName"] == {"Fn::Sub": "${AWS::StackName}-raw"}
    assert props["SSESpecification"]["KMSMasterKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert props["SSESpecification"]["SSEEnabled"] == {"Fn::Equals": ["a", "a"]}
    assert props["Tags"][0]["Value"] == {
        "Fn::Join": ["-", [{"Ref": "Env"}, {"Fn::Select": [0, {"Fn::GetAZs": ""}]}]]
    }


def test_cloudformation_yaml_template() -> None:
    intent = yaml_intent()
    assert intent.form == CLOUDFORMATION
    database = resource(intent, "Database")
    assert database.kind == "rds_instance"
    assert database.physical_name == "platform-db"
    assert dict(intent.ignored) == {"AWS::ECS::TaskDefinition": 1}


def test_plain_cloudformation_json_is_not_taken_for_cdk() -> None:
    document = parse_document(
        json.dumps(
            {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
        ),
        "t.json",
    )
    assert document.form == CLOUDFORMATION
    intent = read_intent(document)
    assert [(r.logical_id, r.kind) for r in intent.resources] == [("Q", "sqs_queue")]


def test_cdktf_json_resources_by_address_and_metadata_ignored() -> None:
    intent = cdktf_intent()
    assert intent.form == CDKTF
    assert intent.stack == "pipeline"
    table = resource(intent, "aws_dynamodb_table.raw")
    assert table.kind == "dynamodb_table"
    assert table.physical_name == "raw-sensor-data-dev"
    # `//` metadata and the method-settings/resource/rotation helpers are no resources of their own.
    assert all("//" not in r.logical_id for r in intent.resources)
    assert intent.resource("aws_api_gateway_method_settings.ApiAllMethods_2C3D4E5F") is None
    assert intent.resource("aws_secretsmanager_secret_rotation.DeviceKeysRotation_1E2F3A4B") is None
    assert dict(intent.ignored) == {"aws_api_gateway_deployment": 1}


def test_terraform_plan_reads_child_modules_and_skips_data_sources() -> None:
    intent = plan_intent()
    ids = {r.logical_id for r in intent.resources}
    assert "module.data.aws_db_instance.main" in ids
    assert "module.data.aws_elasticache_replication_group.cache" in ids
    assert "aws_sqs_queue.ingest" in ids
    assert not any(i.startswith("data.") for i in ids)


def test_terraform_state_reads_values_with_arns() -> None:
    intent = state_intent()
    database = resource(intent, "module.data.aws_db_instance.main")
    assert database.arn == "arn:aws:rds:us-east-2:456789012345:db:platform-db"
    assert database.value("engine_version") == "15.10"


def test_terraform_plan_unset_defaults_are_not_declarations() -> None:
    # A plan lists every attribute: -1 reserved concurrency is "none reserved", [] no DLQ.
    rotator = resource(plan_intent(), "module.data.aws_lambda_function.rotator")
    assert rotator.get("reserved_concurrency") is None
    assert rotator.get("dlq_target") is None
    assert rotator.value("tracing") == "PassThrough"


def test_the_model_serialises_unknowns_as_reasons() -> None:
    shown = cdk_intent().to_json()
    json.dumps(shown)  # plain JSON
    table = next(r for r in shown["resources"] if r["logical_id"] == "RawTable1A2B3C4D")
    assert table["properties"]["sse_kms_key"]["value"] == {
        "unknown": "Fn::GetAtt DataKey7F3E2A1B.Arn: set at deploy, and no output or deployed name says it"
    }
    assert isinstance(resource(cdk_intent(), "RawTable1A2B3C4D").value("sse_kms_key"), Unknown)
