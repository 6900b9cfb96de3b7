"""Unresolved intrinsics are `Unknown(reason)`, resolved only where the deployed names say the value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.intent.helpers import cdk_intent, cdktf_intent, plan_intent, resource, yaml_intent
from verify.intent.documents import parse_document
from verify.intent.evaluate import Names, cfn_value, tf_value
from verify.intent.load import load_intent
from verify.intent.model import Unknown
from verify.intent.read import read_intent
from verify.stack.inventory import build_inventory
from verify.stack.outputs import parse_outputs

NAMES = Names(
    refs={"Dlq": "https://sqs.eu-west-1.amazonaws.com/1/dlq"},
    attrs={
        ("Dlq", "Arn"): "arn:aws:sqs:eu-west-1:1:dlq",
        ("aws_sqs_queue.dlq", "arn"): "arn:aws:sqs:eu-west-1:1:dlq",
    },
    pseudo={"AWS::Region": "eu-west-1", "AWS::StackName": "TapStack"},
    parameters=frozenset({"Env"}),
    resources=frozenset({"Dlq", "Key", "Fn"}),
)


@pytest.mark.parametrize(
    ("node", "reason"),
    [
        ({"Ref": "Env"}, "Ref Env: a parameter, whose deployed value the template does not hold"),
        ({"Ref": "Key"}, "Ref Key: set at deploy, and no output or deployed name says it"),
        (
            {"Fn::GetAtt": ["Key", "Arn"]},
            "Fn::GetAtt Key.Arn: set at deploy, and no output or deployed name says it",
        ),
        ({"Fn::GetAtt": "Key.Arn"}, "Fn::GetAtt Key.Arn: set at deploy"),
        ({"Fn::Join": ["", ["/aws/lambda/", {"Ref": "Fn"}]]}, "Fn::Join of Ref Fn: set at deploy"),
        ({"Fn::Sub": "${Env}-raw"}, "Fn::Sub '${Env}-raw': Ref Env: a parameter"),
        ({"Fn::Sub": "${Key.Arn}"}, "Fn::GetAtt Key.Arn"),
        (
            {"Fn::If": ["IsProd", 14, 7]},
            "Fn::If on condition IsProd: which branch holds depends on the deploy's parameters",
        ),
        (
            {"Fn::ImportValue": "shared-vpc-id"},
            'Fn::ImportValue "shared-vpc-id" comes from another stack\'s exports',
        ),
        ({"Ref": "AWS::AccountId"}, "Ref AWS::AccountId is known only where the stack is deployed"),
        ("${Token[TOKEN.231]}", "CDK token ${Token[TOKEN.231]} is resolved only at deploy"),
        ("arn:${Token[AWS.Partition.3]}:s3:::b", "CDK token ${Token[AWS.Partition.3]}"),
        ({"Fn::FindInMap": ["M", "k", "v"]}, "Fn::FindInMap"),
        (
            "{{resolve:ssm:/platform/db/engine-version}}",
            "dynamic reference {{resolve:ssm:/platform/db/engine-version}} is read from ssm at deploy",
        ),
        ({"Fn::Sub": "{{resolve:secretsmanager:${Env}-db:SecretString:password}}"}, "Ref Env: a parameter"),
        (
            {"Fn::Sub": "{{resolve:secretsmanager:${AWS::StackName}:SecretString:password}}"},
            "read from secretsmanager at deploy",
        ),
    ],
)
def test_cloudformation_intrinsics_left_to_deploy_time_are_unknown_with_the_reason(
    node: Any, reason: str
) -> None:
    value = cfn_value(node, NAMES)
    assert isinstance(value, Unknown), value
    assert reason in value.reason


@pytest.mark.parametrize(
    ("node", "value"),
    [
        ({"Ref": "Dlq"}, "https://sqs.eu-west-1.amazonaws.com/1/dlq"),
        ({"Fn::GetAtt": ["Dlq", "Arn"]}, "arn:aws:sqs:eu-west-1:1:dlq"),
        ({"Fn::Sub": "${AWS::StackName}-events"}, "TapStack-events"),
        ({"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "AWS::Region"}}]}, "eu-west-1-x"),
        ({"Fn::Sub": "literal ${!NotAVariable}"}, "literal ${NotAVariable}"),
        ({"Fn::Join": [":", [{"Fn::GetAtt": ["Dlq", "Arn"]}, "x"]]}, "arn:aws:sqs:eu-west-1:1:dlq:x"),
        ({"Fn::Select": [1, ["a", "b"]]}, "b"),
        ({"Fn::If": ["IsProd", True, True]}, True),  # either branch the same: no guess needed
        ({"A": {"Ref": "AWS::NoValue"}, "B": 1}, {"B": 1}),
    ],
)
def test_cloudformation_intrinsics_the_deployed_names_settle_are_resolved(node: Any, value: Any) -> None:
    assert cfn_value(node, NAMES) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("${var.env}", "Terraform variable ${var.env} is set at plan time"),
        ("raw-${local.suffix}", "Terraform local value ${local.suffix} is set at plan time"),
        ("${data.aws_caller_identity.current.account_id}", "Terraform data source"),
        ("${aws_kms_key.data.arn}", "Terraform reference ${aws_kms_key.data.arn}: set at apply"),
        (
            "${module.data.aws_db_instance.main.arn}",
            "Terraform reference ${module.data.aws_db_instance.main.arn}",
        ),
        ('${jsonencode({"a" = 1})}', "Terraform expression ${jsonencode"),
        ("${TfToken[TOKEN.87]}", "CDKTF token ${TfToken[TOKEN.87]}"),
    ],
)
def test_terraform_references_left_to_plan_or_apply_are_unknown(text: str, reason: str) -> None:
    value = tf_value(text, NAMES)
    assert isinstance(value, Unknown), value
    assert reason in value.reason


def test_terraform_references_the_deployed_names_settle_are_resolved() -> None:
    assert tf_value("${aws_sqs_queue.dlq.arn}", NAMES) == "arn:aws:sqs:eu-west-1:1:dlq"
    assert tf_value("dlq=${aws_sqs_queue.dlq.arn};", NAMES) == "dlq=arn:aws:sqs:eu-west-1:1:dlq;"
    assert tf_value("$${literal}", NAMES) == "${literal}"
    assert tf_value({"//": {"metadata": 1}, "a": 1}, NAMES) == {"a": 1}


def test_an_unknown_points_at_the_resource_it_refers_to() -> None:
    kms = resource(cdk_intent(), "RawTable1A2B3C4D").value("sse_kms_key")
    assert isinstance(kms, Unknown) and kms.refers_to == "DataKey7F3E2A1B"
    tf_kms = resource(cdktf_intent(), "aws_dynamodb_table.raw").value("sse_kms_key")
    assert isinstance(tf_kms, Unknown) and tf_kms.refers_to == "aws_kms_key.DataKey_7F3E2A1B"
    # A plan's after_unknown value points where the configuration's expression does.
    redrive = resource(plan_intent(), "aws_sqs_queue.ingest").value("redrive_target")
    assert isinstance(redrive, Unknown)
    assert redrive.reason == "known only after terraform apply"
    assert redrive.refers_to == "aws_sqs_queue.dlq"


def test_fixture_unknowns_keep_their_reasons() -> None:
    cdk = resource(cdk_intent(), "ProcessedTable9C8D7E6F").value("sse_kms_key")
    assert cdk == Unknown("CDK token ${Token[TOKEN.412]} is resolved only at deploy")
    backup = resource(yaml_intent(), "Database").value("backup_retention_days")
    assert isinstance(backup, Unknown) and "Fn::If on condition IsProd" in backup.reason
    rotator = resource(yaml_intent(), "DatabaseSecret").value("rotation_function")
    assert isinstance(rotator, Unknown) and "parameter" in rotator.reason


def test_the_same_reference_is_unknown_without_outputs_and_resolved_with_them() -> None:
    # Never guessed: without the outputs file the DLQ's ARN is unknown; with it, it is the deployed ARN.
    template = json.dumps(
        {
            "Resources": {
                "Dlq1A2B3C4D": {"Type": "AWS::SQS::Queue"},
                "Queue5E6F7A8B": {
                    "Type": "AWS::SQS::Queue",
                    "Properties": {
                        "RedrivePolicy": {
                            "deadLetterTargetArn": {"Fn::GetAtt": ["Dlq1A2B3C4D", "Arn"]},
                            "maxReceiveCount": 3,
                        }
                    },
                },
            },
            "Outputs": {"DlqArn": {"Value": {"Fn::GetAtt": ["Dlq1A2B3C4D", "Arn"]}}},
        }
    )
    document = parse_document(template, "t.json")
    alone = resource(read_intent(document), "Queue5E6F7A8B").value("redrive_target")
    assert isinstance(alone, Unknown) and alone.refers_to == "Dlq1A2B3C4D"
    outputs = parse_outputs({"DlqArn": "arn:aws:sqs:eu-west-1:123456789012:Stack-Dlq1A2B3C4D-XYZ"}, "o.json")
    told = load_intent(document, outputs=outputs, inventory=build_inventory(outputs))
    assert (
        resource(told, "Queue5E6F7A8B").value("redrive_target")
        == "arn:aws:sqs:eu-west-1:123456789012:Stack-Dlq1A2B3C4D-XYZ"
    )


def test_a_reference_resolved_from_the_inventory_arn_not_only_from_outputs() -> None:
    # No output carries the DLQ's ARN, but its URL output maps it; the inventory's resource has no ARN
    # for a URL, so the GetAtt stays unknown: the ARN is not built from parts (that would be a guess).
    template = json.dumps(
        {
            "Resources": {
                "Dlq1A2B3C4D": {"Type": "AWS::SQS::Queue"},
                "Queue5E6F7A8B": {
                    "Type": "AWS::SQS::Queue",
                    "Properties": {
                        "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq1A2B3C4D", "Arn"]}}
                    },
                },
            },
            "Outputs": {"DlqUrl": {"Value": {"Ref": "Dlq1A2B3C4D"}}},
        }
    )
    outputs = parse_outputs(
        {"DlqUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/Stack-Dlq-XYZ"}, "o.json"
    )
    intent = load_intent(
        parse_document(template, "t.json"), outputs=outputs, inventory=build_inventory(outputs)
    )
    assert resource(intent, "Dlq1A2B3C4D").mapped_to == "DlqUrl"
    assert isinstance(resource(intent, "Queue5E6F7A8B").value("redrive_target"), Unknown)


def test_a_counted_instance_in_a_plan_points_where_its_blocks_expression_does() -> None:
    plan = {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_sqs_queue.q[0]",
                        "mode": "managed",
                        "type": "aws_sqs_queue",
                        "name": "q",
                        "index": 0,
                        "values": {"name": "q-0"},
                    },
                    {
                        "address": "aws_sqs_queue.dlq",
                        "mode": "managed",
                        "type": "aws_sqs_queue",
                        "name": "dlq",
                        "values": {"name": "dlq"},
                    },
                ]
            }
        },
        "resource_changes": [
            {"address": "aws_sqs_queue.q[0]", "change": {"after_unknown": {"redrive_policy": True}}}
        ],
        "configuration": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_sqs_queue.q",
                        "expressions": {
                            "redrive_policy": {"references": ["aws_sqs_queue.dlq.arn", "aws_sqs_queue.dlq"]}
                        },
                    }
                ]
            }
        },
    }
    queue = resource(read_intent(parse_document(json.dumps(plan), "plan.json")), "aws_sqs_queue.q[0]")
    target = queue.value("redrive_target")
    assert isinstance(target, Unknown) and target.refers_to == "aws_sqs_queue.dlq"
