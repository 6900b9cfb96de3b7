"""Declared resources mapped to the inventory built from the outputs file: by the output that points
at the logical id, by declared name, by ARN, by CloudFormation's physical id; unmapped ones say why."""

from __future__ import annotations

import json

from tests.intent.helpers import cdk_intent, cdktf_intent, plan_intent, resource, state_intent, yaml_intent
from verify.intent.documents import parse_document
from verify.intent.load import load_intent
from verify.stack.inventory import build_inventory
from verify.stack.outputs import Outputs, StackResource, make_output, parse_outputs


def test_cdk_resources_map_through_the_outputs_that_ref_their_logical_ids() -> None:
    intent = cdk_intent()
    mapped = {r.logical_id: (r.mapped_to, r.mapped_by) for r in intent.resources if r.part is None}
    assert mapped["RawTable1A2B3C4D"] == ("RawTableName", "output RawTableName")
    assert mapped["ProcessedTable9C8D7E6F"] == (
        "ProcessedDataTableNameC4A1F2B9",
        "output ProcessedDataTableNameC4A1F2B9",
    )
    assert mapped["IngestQueue1A2B3C4D"] == ("IngestQueueUrl8F1D2E3C", "output IngestQueueUrl8F1D2E3C")
    assert mapped["IngestDlq9F8E7D6C"] == ("IngestDlqArnB7C6D5E4", "output IngestDlqArnB7C6D5E4")
    assert mapped["SensorStream1B2C3D4E"][0] == "SensorStreamName5A6B7C8D"
    assert mapped["ProcessorFunction3A4B5C6D"][0] == "ProcessorFunctionName"
    # The API's URL output is a Fn::Join of the API's id: it still names the API (the only API in it).
    assert mapped["ApiF70053CD"] == ("ApiEndpoint760E02C8", "output ApiEndpoint760E02C8")


def test_a_generated_name_becomes_known_from_the_output() -> None:
    # CDK generated the table's name; the output that Refs it says what it became.
    processed = resource(cdk_intent(), "ProcessedTable9C8D7E6F")
    assert processed.physical_name == "TapStack-ProcessedTable9C8D7E6F-1QWERTY2ASDF"


def test_api_parts_belong_to_what_their_api_is_mapped_to() -> None:
    intent = cdk_intent()
    stage = resource(intent, "ApiDeploymentStageprod3EB9684E")
    assert stage.parent == "ApiF70053CD"
    assert stage.mapped_to == "ApiEndpoint760E02C8"
    assert stage.mapped_by == "part of API ApiF70053CD"
    assert resource(intent, "ApiingestPOST5E6F7A8B").mapped_to == "ApiEndpoint760E02C8"


def test_unmapped_declared_resources_are_listed_with_the_reason() -> None:
    intent = cdk_intent()
    unmapped = {r.logical_id: r.mapped_by for r in intent.unmapped()}
    assert set(unmapped) == {
        "DataKey7F3E2A1B",
        "ProcessorFunctionServiceRole5F2D9A1C",
        "ProcessorFunctionLogRetention8E2F1A3B",
    }
    assert unmapped["DataKey7F3E2A1B"] == (
        "unmapped: it declares no name and no output of the template points at it"
    )
    assert unmapped["ProcessorFunctionLogRetention8E2F1A3B"].startswith(
        "unmapped: no log_group named /aws/lambda/TapStack-ProcessorFunction3A4B5C6D-aBcDeFgH1234 is in the inventory"
    )


def test_yaml_template_maps_through_its_outputs_list() -> None:
    intent = yaml_intent()
    assert resource(intent, "Database").mapped_to == "DbInstanceId"
    assert (
        resource(intent, "DatabaseSecret").mapped_to == "DbSecretArn"
    )  # its name is unknown; its output is not
    assert resource(intent, "Cache").mapped_to == "RedisPrimaryEndpoint"  # a Join of the cache's endpoint
    assert resource(intent, "WebService").mapped_to == "EcsServiceArn"
    assert resource(intent, "SharedFileSystem").mapped_to == "SharedFileSystemId"
    # `${AWS::StackName}-events` is resolved by what the output says the stream is called.
    assert resource(intent, "EventsStream").physical_name == "PlatformData-staging-events"


def test_cdktf_maps_through_terraform_outputs_and_names() -> None:
    intent = cdktf_intent()
    assert resource(intent, "aws_dynamodb_table.raw").mapped_to == "raw_table_name"
    assert resource(intent, "aws_sqs_queue.IngestDlq_9F8E7D6C").mapped_to == "ingest_dlq_arn"
    # `name = var.stream_name`: the output says what it became.
    stream = resource(intent, "aws_kinesis_stream.SensorStream_1B2C3D4E")
    assert stream.mapped_to == "sensor_stream_name"
    assert stream.physical_name == "iot-sensor-stream-dev"
    assert resource(intent, "aws_api_gateway_rest_api.Api_F70053CD").mapped_to == "api_endpoint"
    queue = resource(intent, "aws_sqs_queue.IngestQueue_1A2B3C4D")
    assert queue.mapped_to is None
    assert "no sqs_queue named iot-ingest-dev is in the inventory" in queue.mapped_by


def test_terraform_plan_maps_by_output_reference_and_declared_name() -> None:
    intent = plan_intent()
    assert resource(intent, "aws_sqs_queue.ingest").mapped_by == "output queue_url"
    database = resource(intent, "module.data.aws_db_instance.main")
    assert (database.mapped_to, database.mapped_by) == ("db_instance_id", "declared name platform-db")


def test_terraform_state_maps_by_arn() -> None:
    intent = state_intent()
    database = resource(intent, "module.data.aws_db_instance.main")
    assert database.mapped_to == "db_arn"
    secret = resource(intent, "module.data.aws_secretsmanager_secret.db")
    assert secret.mapped_to == "secret_arn"


def test_state_maps_by_arn_when_the_name_says_nothing() -> None:
    document = parse_document(
        json.dumps(
            {
                "format_version": "1.0",
                "values": {
                    "root_module": {
                        "resources": [
                            {
                                "address": "aws_efs_file_system.shared",
                                "mode": "managed",
                                "type": "aws_efs_file_system",
                                "name": "shared",
                                "values": {
                                    "arn": "arn:aws:elasticfilesystem:us-east-2:456789012345:file-system/fs-0123456789abcdef0",
                                    "id": "fs-0123456789abcdef0",
                                    "encrypted": True,
                                },
                            }
                        ]
                    }
                },
            }
        ),
        "state.json",
    )
    outputs = parse_outputs(
        {"SharedFs": "arn:aws:elasticfilesystem:us-east-2:456789012345:file-system/fs-0123456789abcdef0"},
        "o.json",
    )
    shared = resource(
        load_intent(document, outputs=outputs, inventory=build_inventory(outputs)),
        "aws_efs_file_system.shared",
    )
    assert shared.mapped_to == "SharedFs"
    assert shared.mapped_by.startswith("ARN arn:aws:elasticfilesystem:")


def test_live_stack_resources_map_by_physical_id() -> None:
    # `--stack`: CloudFormation lists each logical id's physical id; no output needs to point at it.
    document = parse_document(
        json.dumps({"Resources": {"RawTable1A2B3C4D": {"Type": "AWS::DynamoDB::Table"}}}),
        "cloudformation:TapStack",
    )
    outputs = Outputs(
        source="cloudformation:TapStack",
        format="cloudformation",
        stack="TapStack",
        outputs=(make_output("RawTableName", "TapStack-RawTable1A2B3C4D-XYZ"),),
        stack_resources=(
            StackResource(
                "RawTable1A2B3C4D", "TapStack-RawTable1A2B3C4D-XYZ", "AWS::DynamoDB::Table", "CREATE_COMPLETE"
            ),
        ),
    )
    table = resource(
        load_intent(document, outputs=outputs, inventory=build_inventory(outputs)), "RawTable1A2B3C4D"
    )
    assert table.mapped_to == "RawTableName"
    assert table.mapped_by == "CloudFormation's physical id TapStack-RawTable1A2B3C4D-XYZ"
    assert table.physical_name == "TapStack-RawTable1A2B3C4D-XYZ"


def test_an_output_of_another_kind_does_not_map() -> None:
    # The role's ARN output points at the role, not at the function that uses it.
    document = parse_document(
        json.dumps(
            {
                "Resources": {
                    "Fn1A2B": {"Type": "AWS::Lambda::Function"},
                    "Role3C4D": {"Type": "AWS::IAM::Role"},
                },
                "Outputs": {"FnRole": {"Value": {"Fn::GetAtt": ["Role3C4D", "Arn"]}}},
            }
        ),
        "t.json",
    )
    outputs = parse_outputs({"FnRole": "arn:aws:iam::123456789012:role/Stack-Role3C4D-XYZ"}, "o.json")
    intent = load_intent(document, outputs=outputs, inventory=build_inventory(outputs))
    assert resource(intent, "Role3C4D").mapped_to == "FnRole"
    assert resource(intent, "Fn1A2B").mapped_to is None


def test_an_output_built_from_two_resources_of_one_kind_maps_neither() -> None:
    # `"${RawA}/${RawB}"` names two tables: which one the output's value is cannot be told.
    document = parse_document(
        json.dumps(
            {
                "Resources": {
                    "RawA1B2C": {"Type": "AWS::DynamoDB::Table"},
                    "RawB3D4E": {"Type": "AWS::DynamoDB::Table"},
                },
                "Outputs": {"Tables": {"Value": {"Fn::Sub": "${RawA1B2C}/${RawB3D4E}"}}},
            }
        ),
        "t.json",
    )
    outputs = parse_outputs({"Tables": "arn:aws:dynamodb:eu-west-1:123456789012:table/raw-a"}, "o.json")
    intent = load_intent(document, outputs=outputs, inventory=build_inventory(outputs))
    assert resource(intent, "RawA1B2C").mapped_to is None
    assert resource(intent, "RawB3D4E").mapped_to is None


def test_rds_identifiers_map_whatever_their_case() -> None:
    document = parse_document(
        json.dumps(
            {
                "Resources": {
                    "Database": {
                        "Type": "AWS::RDS::DBInstance",
                        "Properties": {"DBInstanceIdentifier": "Platform-DB"},
                    },
                    "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "Raw-Data"}},
                }
            }
        ),
        "t.json",
    )
    outputs = parse_outputs(
        {
            "DbArn": "arn:aws:rds:eu-west-1:123456789012:db:platform-db",
            "TableArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/raw-data",
        },
        "o.json",
    )
    intent = load_intent(document, outputs=outputs, inventory=build_inventory(outputs))
    assert resource(intent, "Database").mapped_to == "DbArn"
    assert resource(intent, "Table").mapped_to is None  # DynamoDB names are case-sensitive: another table
