"""Checks on the outputs themselves: placeholders, and the shape each kind of value must have."""

from __future__ import annotations

import pytest

from verify.errors import CheckFailed
from verify.probes.outputs import check_present, check_well_formed
from verify.stack.inventory import Resource, build_inventory, classify
from verify.stack.outputs import make_output, parse_outputs


@pytest.mark.parametrize("value", ["", "unknown", "N/A", None, "  TBD "])
def test_placeholder_fails_naming_the_key(value: object) -> None:
    output = make_output("ProcessedTableName", value)
    with pytest.raises(CheckFailed) as excinfo:
        check_present(output)
    failure = excinfo.value
    assert str(failure).startswith(
        f"output `ProcessedTableName`: expected a value, got a placeholder ({value!r})"
    )
    assert failure.resource == "ProcessedTableName"
    assert failure.expected == "a value"
    assert failure.actual == value


def test_present_output_passes() -> None:
    assert check_present(make_output("ProcessedTableName", "processed-data-dev")) is None


def test_sensitive_placeholder_does_not_echo_its_value() -> None:
    # "changeme" is a placeholder word, and may also be the real password of a demo stack.
    output = make_output("DbPassword", "changeme")
    assert output.sensitive and output.missing
    with pytest.raises(CheckFailed) as excinfo:
        check_present(output)
    assert "changeme" not in str(excinfo.value)
    assert excinfo.value.actual is None
    assert "`DbPassword`" in str(excinfo.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ProcessedTableArn", "arn:aws:dynamodb:us-east-1:123456789012:table/processed-data-dev"),
        ("AlertTopicArn", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts"),
        ("BucketArn", "arn:aws:s3:::my-bucket"),
        ("VpcId", "vpc-0123456789abcdef0"),
        ("VpcId", "vpc-01234567"),
        ("PrivateSubnetId", "subnet-0123456789abcdef0"),
        ("DbSecurityGroupId", "sg-0123456789abcdef0"),
        ("FileSystemId", "fs-0123456789abcdef0"),
        ("ApiUrl", "https://abc123.execute-api.us-east-1.amazonaws.com/prod/"),
        ("IngestQueueUrl", "https://sqs.us-east-1.amazonaws.com/123456789012/ingest-queue-dev"),
        ("IngestQueueName", "ingest-queue-dev"),
        ("RawTableName", "raw-sensor-data-dev"),
        ("Environment", "dev"),
        ("Note", "anything goes here, even spaces"),
    ],
)
def test_well_formed_values_pass(key: str, value: str) -> None:
    resource = classify(key, value)
    assert resource.kind != "unknown" or key == "Note"
    assert check_well_formed(resource) is None


@pytest.mark.parametrize(
    ("key", "value", "kind", "problem"),
    [
        ("AlertTopicArn", "arn:aws:sns:us-east-1:12345:alerts", "sns_topic", "a malformed ARN"),
        ("ProcessedTableArn", "arn:aws:dynamodb", "dynamodb_table", "a malformed ARN"),
        ("VpcId", "vpc-XYZ", "vpc", "not a vpc id"),
        ("VpcId", "0123456789abcdef0", "vpc", "not a vpc id"),
        ("PrivateSubnetId", "subnet-zz", "subnet", "not a subnet id"),
        ("DbSecurityGroupId", "sg-1", "security_group", "not a security_group id"),
        ("ApiUrl", "https:///prod", "api", "a URL without a host"),
        ("IngestQueueUrl", "http://", "sqs_queue", "a URL without a host"),
        ("IngestQueueName", "ingest queue", "sqs_queue", "not a queue URL, ARN or name"),
        ("RawTableName", "raw sensor data", "dynamodb_table", "not an AWS resource name"),
        ("BucketName", "bucket\tname", "s3_bucket", "not an AWS resource name"),
    ],
)
def test_ill_formed_values_fail(key: str, value: str, kind: str, problem: str) -> None:
    resource = classify(key, value)
    assert resource.kind == kind
    with pytest.raises(CheckFailed) as excinfo:
        check_well_formed(resource)
    message = str(excinfo.value)
    assert message.startswith(f"output `{key}` ({kind}): expected a well-formed value, got {problem}")
    assert message.endswith(repr(value))
    assert excinfo.value.resource == key
    assert excinfo.value.actual == value
    assert excinfo.value.expected == f"a {kind} identifier"


@pytest.mark.parametrize("value", ["arn:aws:secretsmanager", "not a name at all", "vpc-XYZ"])
def test_sensitive_resource_is_never_judged_nor_echoed(value: str) -> None:
    # A malformed-looking value under a sensitive key is not reported: its shape would print it.
    resource = Resource(key="DbPassword", value=value, kind="vpc", name=value, role=None, sensitive=True)
    assert check_well_formed(resource) is None


def test_sensitive_terraform_output_is_not_judged() -> None:
    document = {
        "db_connection": {"value": "host=db user=app password=hunter 2", "type": "string", "sensitive": True},
        "table_name": {"value": "raw table", "type": "string", "sensitive": False},
    }
    inventory = build_inventory(parse_outputs(document, "tf.json"))
    secret, table = inventory.resources
    assert secret.sensitive is True
    assert check_well_formed(secret) is None
    with pytest.raises(CheckFailed, match="not an AWS resource name"):
        check_well_formed(table)
