"""Intent declared on a resource of its own is attached to the resource it configures, in each
spelling the tools write; and the template's own guards (conditions, aliases) are said, not assumed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.intent.helpers import resource
from verify.intent.documents import parse_document
from verify.intent.load import load_intent
from verify.intent.model import Intent, TemplateError, Unknown
from verify.intent.read import read_intent
from verify.stack.inventory import build_inventory
from verify.stack.outputs import parse_outputs


def _cfn(resources: dict[str, Any]) -> Intent:
    return read_intent(parse_document(json.dumps({"Resources": resources}), "t.json"))


def _tf(resources: dict[str, Any]) -> Intent:
    return read_intent(parse_document(json.dumps({"resource": resources}), "cdk.tf.json"))


def test_log_retention_through_the_functions_logging_config() -> None:
    intent = _cfn(
        {
            "ProcessorLogs1A2B": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 14}},
            "Processor3C4D": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "nodejs20.x",
                    "LoggingConfig": {"LogGroup": {"Ref": "ProcessorLogs1A2B"}},
                },
            },
            "Other5E6F": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "nodejs20.x"}},
        }
    )
    retention = resource(intent, "Processor3C4D").get("log_retention_days")
    assert retention is not None and retention.value == 14
    assert retention.origin.logical_id == "ProcessorLogs1A2B"
    assert resource(intent, "Other5E6F").get("log_retention_days") is None  # not every function's


def test_log_retention_by_the_log_groups_name() -> None:
    intent = _cfn(
        {
            "Fn1A2B": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "ingest-fn"}},
            "Logs3C4D": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": "/aws/lambda/ingest-fn", "RetentionInDays": 30},
            },
        }
    )
    assert resource(intent, "Fn1A2B").value("log_retention_days") == 30


def test_failure_destination_from_an_event_invoke_config() -> None:
    for read, resources, fn in (
        (
            _cfn,
            {
                "Fn1A2B": {"Type": "AWS::Lambda::Function"},
                "FnEventInvokeConfig3C4D": {
                    "Type": "AWS::Lambda::EventInvokeConfig",
                    "Properties": {
                        "FunctionName": {"Ref": "Fn1A2B"},
                        "Qualifier": "$LATEST",
                        "DestinationConfig": {
                            "OnFailure": {"Destination": "arn:aws:sqs:eu-west-1:123456789012:failed"}
                        },
                    },
                },
            },
            "Fn1A2B",
        ),
        (
            _tf,
            {
                "aws_lambda_function": {"fn": {"function_name": "ingest-fn"}},
                "aws_lambda_function_event_invoke_config": {
                    "fn": {
                        "function_name": "${aws_lambda_function.fn.function_name}",
                        "destination_config": {
                            "on_failure": {"destination": "arn:aws:sqs:eu-west-1:123456789012:failed"}
                        },
                    }
                },
            },
            "aws_lambda_function.fn",
        ),
    ):
        intent = read(resources)
        assert (
            resource(intent, fn).value("on_failure_destination")
            == "arn:aws:sqs:eu-west-1:123456789012:failed"
        )


def test_http_api_stage_throttling_and_route_authorization() -> None:
    intent = _cfn(
        {
            "HttpApi1A2B": {
                "Type": "AWS::ApiGatewayV2::Api",
                "Properties": {"Name": "ingest", "ProtocolType": "HTTP"},
            },
            "HttpApiDefaultStage3C4D": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {
                    "ApiId": {"Ref": "HttpApi1A2B"},
                    "StageName": "$default",
                    "DefaultRouteSettings": {"ThrottlingRateLimit": 500, "ThrottlingBurstLimit": 1000},
                },
            },
            "HttpApiPOSTingest5E6F": {
                "Type": "AWS::ApiGatewayV2::Route",
                "Properties": {
                    "ApiId": {"Ref": "HttpApi1A2B"},
                    "RouteKey": "POST /ingest",
                    "AuthorizationType": "AWS_IAM",
                },
            },
        }
    )
    stage = resource(intent, "HttpApiDefaultStage3C4D")
    assert (stage.part, stage.parent, stage.label) == ("stage", "HttpApi1A2B", "$default")
    assert stage.value("throttling_rate_limit") == 500 and stage.value("throttling_burst_limit") == 1000
    route = resource(intent, "HttpApiPOSTingest5E6F")
    assert (route.part, route.label, route.value("authorization")) == ("method", "POST /ingest", "AWS_IAM")


def test_terraform_redrive_policy_resource_belongs_to_its_queue() -> None:
    intent = _tf(
        {
            "aws_sqs_queue": {"ingest": {"name": "ingest"}, "dlq": {"name": "ingest-dlq"}},
            "aws_sqs_queue_redrive_policy": {
                "ingest": {
                    "queue_url": "${aws_sqs_queue.ingest.id}",
                    "redrive_policy": '{"deadLetterTargetArn":"${aws_sqs_queue.dlq.arn}","maxReceiveCount":4}',
                }
            },
        }
    )
    queue = resource(intent, "aws_sqs_queue.ingest")
    assert queue.value("max_receive_count") == 4
    target = queue.value("redrive_target")
    assert isinstance(target, Unknown) and target.refers_to == "aws_sqs_queue.dlq"
    assert resource(intent, "aws_sqs_queue.dlq").get("max_receive_count") is None


def test_cloudformation_redrive_policy_written_as_a_json_string() -> None:
    intent = _cfn(
        {
            "Queue1A2B": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "RedrivePolicy": '{"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:dlq", "maxReceiveCount": "3"}'
                },
            }
        }
    )
    queue = resource(intent, "Queue1A2B")
    assert queue.value("redrive_target") == "arn:aws:sqs:eu-west-1:1:dlq"
    assert queue.value("max_receive_count") == 3


def test_hosted_rotation_and_a_cron_schedule() -> None:
    intent = _cfn(
        {
            "Secret1A2B": {"Type": "AWS::SecretsManager::Secret"},
            "Rotation3C4D": {
                "Type": "AWS::SecretsManager::RotationSchedule",
                "Properties": {
                    "SecretId": {"Ref": "Secret1A2B"},
                    "HostedRotationLambda": {"RotationType": "PostgreSQLSingleUser"},
                    "RotationRules": {"ScheduleExpression": "cron(0 4 1 * ? *)"},
                },
            },
        }
    )
    secret = resource(intent, "Secret1A2B")
    assert secret.value("rotation_function") == "hosted: PostgreSQLSingleUser"
    assert secret.value("rotation_schedule") == "cron(0 4 1 * ? *)"
    assert secret.get("rotation_days") is None  # a cron has no one period: never a made-up number


def test_a_conditional_resource_says_so_when_unmapped() -> None:
    document = parse_document(
        json.dumps(
            {
                "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
                "Parameters": {"Env": {"Type": "String"}},
                "Resources": {"Replica1A2B": {"Type": "AWS::RDS::DBInstance", "Condition": "IsProd"}},
            }
        ),
        "t.json",
    )
    outputs = parse_outputs({"Other": "x"}, "o.json")
    replica = resource(
        load_intent(document, outputs=outputs, inventory=build_inventory(outputs)), "Replica1A2B"
    )
    assert replica.condition == "IsProd"
    assert replica.mapped_to is None
    assert replica.mapped_by.endswith("; it exists only when condition IsProd holds")


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("q-${count.index}", "count index"),
        ("${each.key}", "for_each key or value"),
        ("${path.module}/x", "path value"),
    ],
)
def test_terraform_meta_references_are_unknown_with_what_they_are(text: str, what: str) -> None:
    intent = _tf({"aws_sqs_queue": {"q": {"name": text}}})
    name = resource(intent, "aws_sqs_queue.q").physical_name
    assert isinstance(name, Unknown) and f"Terraform {what}" in name.reason and name.refers_to is None


def test_yaml_aliases_are_refused_as_cloudformation_refuses_them() -> None:
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nResources: *c\n"
    with pytest.raises(
        TemplateError, match=r"found the alias \*a, which CloudFormation templates cannot use at line 2"
    ):
        parse_document(bomb, "t.yaml")


def _global_table(replicas: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "TableV2A1B2C3D4": {
            "Type": "AWS::DynamoDB::GlobalTable",
            "Properties": {
                "TableName": "raw-sensor-data-dev",
                "BillingMode": "PAY_PER_REQUEST",
                "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
                "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
                "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
                "Replicas": replicas,
            },
        }
    }


def test_cdk_table_v2_reads_the_replica_of_the_stacks_own_region() -> None:
    intent = _cfn(
        _global_table(
            [
                {
                    "Region": "us-west-2",
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": False},
                },
                {
                    "Region": {"Ref": "AWS::Region"},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "SSESpecification": {"KMSMasterKeyId": "alias/raw"},
                },
            ]
        )
    )
    table = resource(intent, "TableV2A1B2C3D4")
    assert table.kind == "dynamodb_table" and table.physical_name == "raw-sensor-data-dev"
    pitr = table.get("pitr")
    assert pitr is not None and pitr.value is True
    assert pitr.declared().startswith(
        "declared `PointInTimeRecoveryEnabled: true` in t.json (TableV2A1B2C3D4)"
    )
    assert table.value("sse_kms_key") == "alias/raw"
    assert (table.value("sse"), table.value("stream_enabled"), table.value("ttl_attribute")) == (
        True,
        True,
        "ttl",
    )


def test_table_v2_with_several_literal_regions_takes_no_replica_without_the_region() -> None:
    replicas = [
        {"Region": "us-west-2", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": False}},
        {"Region": "eu-west-1", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
    ]
    assert resource(_cfn(_global_table(replicas)), "TableV2A1B2C3D4").get("pitr") is None
    # With the region the outputs show, that replica is the stack's.
    document = parse_document(json.dumps({"Resources": _global_table(replicas)}), "t.json")
    outputs = parse_outputs(
        {"RawTableArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/raw-sensor-data-dev"}, "o.json"
    )
    table = resource(
        load_intent(document, outputs=outputs, inventory=build_inventory(outputs)), "TableV2A1B2C3D4"
    )
    assert table.value("pitr") is True
    assert table.mapped_by == "declared name raw-sensor-data-dev"


def test_a_sam_function_reads_as_a_function_in_the_same_words() -> None:
    document = parse_document(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Globals:\n"
        "  Function:\n"
        "    MemorySize: 256\n"
        "Resources:\n"
        "  Processor:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Runtime: python3.12\n"
        "      Tracing: Active\n"
        "      Timeout: 30\n"
        "      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt Dlq.Arn}\n"
        "  Dlq: {Type: AWS::SQS::Queue}\n",
        "template.yaml",
    )
    function = resource(read_intent(document), "Processor")
    assert function.kind == "lambda_function"
    assert (function.value("runtime"), function.value("tracing"), function.value("timeout")) == (
        "python3.12",
        "Active",
        30,
    )
    dlq = function.value("dlq_target")
    assert isinstance(dlq, Unknown) and dlq.refers_to == "Dlq"
    assert function.get("memory_size") is None  # Globals are not applied: undeclared, never a guess


def test_log_retention_by_name_once_an_output_tells_the_functions_generated_name() -> None:
    # CDK generated the function's name; the log group was written with the deployed name in it.
    document = parse_document(
        json.dumps(
            {
                "Resources": {
                    "Fn1A2B": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "python3.12"}},
                    "Logs3C4D": {
                        "Type": "AWS::Logs::LogGroup",
                        "Properties": {"LogGroupName": "/aws/lambda/Stack-Fn1A2B-XyZ", "RetentionInDays": 7},
                    },
                },
                "Outputs": {"FnName": {"Value": {"Ref": "Fn1A2B"}}},
            }
        ),
        "t.json",
    )
    assert resource(read_intent(document), "Fn1A2B").get("log_retention_days") is None  # unknown name
    outputs = parse_outputs({"FnName": "Stack-Fn1A2B-XyZ"}, "o.json")
    function = resource(load_intent(document, outputs=outputs, inventory=build_inventory(outputs)), "Fn1A2B")
    assert function.physical_name == "Stack-Fn1A2B-XyZ"
    assert function.value("log_retention_days") == 7


def test_a_log_group_that_only_mentions_a_function_is_not_its_log() -> None:
    intent = _cfn(
        {
            "Fn1A2B": {"Type": "AWS::Lambda::Function"},
            "AccessLogs3C4D": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {
                    "LogGroupName": {"Fn::Sub": "/aws/apigateway/${Fn1A2B}-access"},
                    "RetentionInDays": 3,
                },
            },
        }
    )
    assert resource(intent, "Fn1A2B").get("log_retention_days") is None
