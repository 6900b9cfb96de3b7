"""Reading a stack live: moto's in-process CloudFormation stands in for AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from moto import mock_aws

from verify.errors import AwsAccessError, OutputsError
from verify.stack.inventory import build_inventory
from verify.stack.outputs import load_live_outputs

REGION = "eu-west-1"
TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "IngestQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "ingest-queue-test"}},
        "RawTable": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": "raw-sensor-data-test",
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        },
    },
    "Outputs": {
        "IngestQueueUrl": {"Value": {"Ref": "IngestQueue"}},
        "IngestQueueArn": {"Value": {"Fn::GetAtt": ["IngestQueue", "Arn"]}},
        "RawSensorTableName": {"Value": {"Ref": "RawTable"}},
    },
}


@pytest.fixture
def cloudformation(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDFORMATION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("cloudformation", region_name=REGION)
        client.create_stack(StackName="pipeline-test", TemplateBody=json.dumps(TEMPLATE))
        yield client


def test_outputs_and_resources_of_a_live_stack(cloudformation: Any) -> None:
    outputs = load_live_outputs("pipeline-test", cloudformation)
    assert (outputs.source, outputs.format, outputs.stack) == (
        "cloudformation:pipeline-test",
        "cloudformation",
        "pipeline-test",
    )
    values = {o.key: o.items for o in outputs.outputs}
    assert values["RawSensorTableName"] == ("raw-sensor-data-test",)
    assert values["IngestQueueUrl"][0].endswith("/ingest-queue-test")
    assert values["IngestQueueArn"] == (f"arn:aws:sqs:{REGION}:123456789012:ingest-queue-test",)
    resources = {r.logical_id: r for r in outputs.stack_resources}
    assert set(resources) == {"IngestQueue", "RawTable"}
    assert resources["RawTable"].resource_type == "AWS::DynamoDB::Table"
    assert resources["RawTable"].physical_id == "raw-sensor-data-test"
    assert resources["IngestQueue"].status == "CREATE_COMPLETE"


def test_live_outputs_feed_the_inventory(cloudformation: Any) -> None:
    inventory = build_inventory(load_live_outputs("pipeline-test", cloudformation))
    kinds = {(r.keys, r.kind, r.name, r.role) for r in inventory.resources}
    assert (("RawSensorTableName",), "dynamodb_table", "raw-sensor-data-test", "raw") in kinds
    # The queue's URL and ARN outputs name one queue: one resource, both keys.
    assert (("IngestQueueUrl", "IngestQueueArn"), "sqs_queue", "ingest-queue-test", "raw") in kinds
    assert inventory.region == REGION


def test_a_stack_that_does_not_exist(cloudformation: Any) -> None:
    with pytest.raises(OutputsError) as caught:
        load_live_outputs("no-such-stack", cloudformation)
    message = str(caught.value)
    assert "'no-such-stack'" in message and REGION in message and "--stack" in message
    assert "\n" not in message


class FakeCloudFormation:
    """Just enough of the client to exercise paging and failures moto does not produce."""

    class meta:  # mirrors botocore's client.meta
        region_name = "us-east-1"

    def __init__(self, fail_with: Exception | None = None, resources: int = 0) -> None:
        self.fail_with = fail_with
        self.resources = resources
        self.listed = False

    def get_paginator(self, operation: str) -> Any:
        outer = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
                if outer.fail_with is not None:
                    raise outer.fail_with
                if operation == "describe_stacks":
                    yield {
                        "Stacks": [{"StackName": "big", "Outputs": [{"OutputKey": "K", "OutputValue": "v"}]}]
                    }
                else:
                    outer.listed = True
                    rows = [_row(i) for i in range(outer.resources)]
                    yield {"StackResourceSummaries": rows[:150]}
                    yield {"StackResourceSummaries": rows[150:]}

        return Paginator()

    def describe_stack_resources(self, **kwargs: Any) -> dict[str, Any]:
        return {"StackResources": [_row(i) for i in range(min(self.resources, 100))]}


def _row(index: int) -> dict[str, str]:
    return {
        "LogicalResourceId": f"R{index}",
        "PhysicalResourceId": f"p-{index}",
        "ResourceType": "AWS::SQS::Queue",
        "ResourceStatus": "CREATE_COMPLETE",
    }


def test_more_than_a_hundred_resources_are_paged() -> None:
    client = FakeCloudFormation(resources=230)
    outputs = load_live_outputs("big", client)
    assert client.listed
    assert [r.logical_id for r in outputs.stack_resources] == [f"R{i}" for i in range(230)]


def test_a_small_stack_needs_no_listing() -> None:
    client = FakeCloudFormation(resources=3)
    assert len(load_live_outputs("big", client).stack_resources) == 3
    assert not client.listed


def _client_error(code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "DescribeStacks")


@pytest.mark.parametrize(
    ("error", "fragments"),
    [
        (_client_error("AccessDenied", "User arn:aws:iam::1:user/x is not authorized"),
         ["cloudformation:DescribeStacks", "denied", "'big'"]),
        (_client_error("ExpiredToken"), ["cloudformation:DescribeStacks", "ExpiredToken"]),
        (_client_error("Throttling"), ["cloudformation:DescribeStacks", "Throttling"]),
        (NoCredentialsError(), ["No AWS credentials", "cloudformation:DescribeStacks"]),
        (EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com/"),
         ["Could not reach CloudFormation", "cloudformation:DescribeStacks"]),
    ],
)  # fmt: skip
def test_access_problems_name_the_permission(error: Exception, fragments: list[str]) -> None:
    with pytest.raises(AwsAccessError) as caught:
        load_live_outputs("big", FakeCloudFormation(fail_with=error))
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message and message.endswith(".")


def test_validation_error_for_a_missing_stack_is_an_outputs_error() -> None:
    error = _client_error("ValidationError", "Stack with id gone does not exist")
    with pytest.raises(OutputsError, match="'gone' does not exist in us-east-1"):
        load_live_outputs("gone", FakeCloudFormation(fail_with=error))
