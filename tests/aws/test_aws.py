"""Aws: client cache, read-only guard, call counting, credentials, region and endpoint resolution,
and the translation of botocore errors into the harness's two families."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.stub import Stubber
from moto import mock_aws

from verify.aws import Aws, aws_errors, is_read_operation
from verify.errors import AwsAccessError, CheckFailed, ReadOnlyViolation

REGION = "eu-west-1"
_AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No AWS configuration at all: no env credentials, empty config files, no instance metadata."""
    for name in _AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture
def fake_creds(clean_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKEFAKE")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-key-for-tests")
    return clean_env


@pytest.fixture
def moto_aws(fake_creds: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mock_aws():
        aws = Aws(REGION)
        aws.client("dynamodb").create_table(
            TableName="raw-data",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        aws.client("sqs").create_queue(QueueName="work")
        yield aws


# --- is_read_operation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation"),
    [
        ("dynamodb", "DescribeTable"),
        ("dynamodb", "Query"),
        ("dynamodb", "Scan"),
        ("dynamodb", "BatchGetItem"),
        ("dynamodb", "GetItem"),
        ("sqs", "GetQueueAttributes"),
        ("sqs", "GetQueueUrl"),
        ("sqs", "ListQueues"),
        ("logs", "FilterLogEvents"),
        ("logs", "StartQuery"),
        ("xray", "GetTraceSummaries"),
        ("xray", "BatchGetTraces"),
        ("sts", "GetCallerIdentity"),
        ("s3", "HeadObject"),
        ("s3", "SelectObjectContent"),
        ("cloudtrail", "LookupEvents"),
        ("cloudformation", "ValidateTemplate"),
        ("events", "TestEventPattern"),
    ],
)
def test_reads(service: str, operation: str) -> None:
    assert is_read_operation(service, operation)


@pytest.mark.parametrize(
    ("service", "operation"),
    [
        ("sqs", "ReceiveMessage"),
        ("sqs", "SendMessage"),
        ("sqs", "DeleteMessage"),
        ("sqs", "PurgeQueue"),
        ("dynamodb", "PutItem"),
        ("dynamodb", "UpdateItem"),
        ("dynamodb", "ExecuteStatement"),
        ("kinesis", "PutRecord"),
        ("lambda", "Invoke"),
        ("apigateway", "TestInvokeMethod"),
        ("stepfunctions", "TestState"),
        ("license-manager", "CheckoutLicense"),
        ("sns", "Publish"),
        ("ec2", "Getaway"),
    ],
)
def test_non_reads(service: str, operation: str) -> None:
    assert not is_read_operation(service, operation)


# --- clients, guard, counters (moto in-process) -------------------------------------------------


def test_clients_are_cached_per_service_and_region(moto_aws: Aws) -> None:
    assert moto_aws.client("dynamodb") is moto_aws.client("dynamodb")
    assert moto_aws.client("dynamodb") is moto_aws.client("dynamodb", REGION)
    assert moto_aws.client("dynamodb", "us-east-1") is not moto_aws.client("dynamodb")
    assert moto_aws.client("dynamodb", "us-east-1").meta.region_name == "us-east-1"
    assert moto_aws.client("sqs") is not moto_aws.client("dynamodb")


def test_paginators_of_a_client_load_once_when_threads_ask_together(
    fake_creds: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore's loader lists every service directory it ships to find a paginator model, and its
    cache is not single-flight: 30 checks reaching their first get_paginator at once listed ~420
    directories each (strace, 200 resources). The client comes with its paginators loaded."""
    import os
    import threading

    aws = Aws(REGION)
    client = aws.client("logs")
    listed: list[str] = []
    real_listdir = os.listdir

    def listdir(path: Any = ".") -> list[str]:
        listed.append(str(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    start = threading.Barrier(16)

    def ask() -> None:
        start.wait()
        client.get_paginator("describe_log_groups")

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert listed == []


def test_client_config_retries_timeouts_and_user_agent(fake_creds: pytest.MonkeyPatch) -> None:
    aws = Aws(REGION, connect_timeout=2.5, read_timeout=7.0, max_attempts=3)
    config = aws.client("dynamodb").meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert config.connect_timeout == 2.5
    assert config.read_timeout == 7.0
    assert config.user_agent_extra.startswith("verify/")


def test_requests_carry_the_sdk_and_verify_in_their_user_agent(moto_aws: Aws) -> None:
    sent: list[str] = []
    client = moto_aws.client("sqs")
    client.meta.events.register(
        "before-send", lambda request, **_: sent.append(request.headers["User-Agent"])
    )
    client.list_queues()
    agent = sent[0].decode() if isinstance(sent[0], bytes) else sent[0]
    assert agent.startswith("Boto3/") and " Botocore/" in agent
    assert agent.endswith(f" verify/{moto_aws.client('sqs').meta.config.user_agent_extra.split('/')[1]}")


def test_read_only_refuses_writes_before_sending(moto_aws: Aws) -> None:
    moto_aws.read_only = True
    table = moto_aws.client("dynamodb")
    with pytest.raises(ReadOnlyViolation, match="read-only mode: refused dynamodb PutItem on raw-data"):
        table.put_item(TableName="raw-data", Item={"pk": {"S": "x"}})
    queue_url = moto_aws.client("sqs").get_queue_url(QueueName="work")["QueueUrl"]
    with pytest.raises(ReadOnlyViolation, match="refused sqs SendMessage"):
        moto_aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody="hi")
    with pytest.raises(ReadOnlyViolation, match="refused sqs ReceiveMessage"):
        moto_aws.client("sqs").receive_message(QueueUrl=queue_url)
    # Nothing reached the (emulated) service: the item is absent and the queue is empty.
    moto_aws.read_only = False
    assert "Item" not in table.get_item(TableName="raw-data", Key={"pk": {"S": "x"}})
    attributes = moto_aws.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


def test_read_only_allows_reads(moto_aws: Aws) -> None:
    moto_aws.read_only = True
    assert (
        moto_aws.client("dynamodb").describe_table(TableName="raw-data")["Table"]["TableName"] == "raw-data"
    )
    queue_url = moto_aws.client("sqs").get_queue_url(QueueName="work")["QueueUrl"]
    attributes = moto_aws.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])
    assert attributes["Attributes"]["QueueArn"].endswith(":work")


def test_read_only_is_settable_and_applies_to_cached_clients(moto_aws: Aws) -> None:
    sqs = moto_aws.client("sqs")
    queue_url = sqs.get_queue_url(QueueName="work")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="allowed")
    moto_aws.read_only = True
    with pytest.raises(ReadOnlyViolation):
        sqs.send_message(QueueUrl=queue_url, MessageBody="refused")


def test_read_only_from_constructor(fake_creds: pytest.MonkeyPatch) -> None:
    with mock_aws():
        aws = Aws(REGION, read_only=True)
        assert aws.read_only
        with pytest.raises(ReadOnlyViolation, match="CreateTable"):
            aws.client("dynamodb").create_table(
                TableName="t",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )


def test_calls_are_counted_per_operation(moto_aws: Aws) -> None:
    before = moto_aws.call_count()
    # Scans: a run that writes answers a repeated read of configuration (DescribeTable) from its
    # snapshot (tests/aws/test_snapshot.py), and a call it never sends is never counted.
    moto_aws.client("dynamodb").scan(TableName="raw-data")
    moto_aws.client("dynamodb").scan(TableName="raw-data")
    moto_aws.client("sqs").list_queues()
    assert moto_aws.call_count() == before + 3
    by_op = moto_aws.calls_by_operation()
    assert by_op["dynamodb:Scan"] == 2
    assert by_op["sqs:ListQueues"] == 1
    # the setup's CreateTable and CreateQueue were counted too
    assert by_op["dynamodb:CreateTable"] == 1


def test_refused_calls_are_not_counted(moto_aws: Aws) -> None:
    moto_aws.read_only = True
    before = moto_aws.calls_by_operation()
    with pytest.raises(ReadOnlyViolation):
        moto_aws.client("dynamodb").delete_table(TableName="raw-data")
    assert moto_aws.calls_by_operation() == before


# --- credentials and region ----------------------------------------------------------------------


def test_no_credentials_is_a_clear_access_error(clean_env: pytest.MonkeyPatch) -> None:
    aws = Aws(REGION)
    with pytest.raises(AwsAccessError) as info:
        aws.credentials()
    assert str(info.value) == (
        "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
        "or run `aws sso login`"
    )


def test_credentials_from_env(fake_creds: pytest.MonkeyPatch) -> None:
    fake_creds.setenv("AWS_SESSION_TOKEN", "session-token-value")
    frozen = Aws(REGION).credentials().get_frozen_credentials()
    assert frozen.access_key == "AKIAFAKEFAKEFAKEFAKE"
    assert frozen.token == "session-token-value"


def test_no_credentials_inside_aws_errors(clean_env: pytest.MonkeyPatch) -> None:
    aws = Aws(REGION, max_attempts=1)
    with (
        pytest.raises(AwsAccessError, match="no AWS credentials found") as info,
        aws_errors("dynamodb", "DescribeTable", "raw-data"),
    ):
        aws.client("dynamodb").describe_table(TableName="raw-data")
    assert "dynamodb:DescribeTable" in str(info.value)


def test_region_explicit_wins(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_REGION", "us-west-2")
    clean_env.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert Aws("eu-central-1").region == "eu-central-1"


def test_region_from_aws_region_then_default_region(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert Aws().region == "ap-south-1"
    clean_env.setenv("AWS_REGION", "us-west-2")
    aws = Aws()
    assert aws.region == "us-west-2"
    assert aws.client("sqs").meta.region_name == "us-west-2"


def test_region_from_profile(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[profile staging]\nregion = ca-central-1\n")
    clean_env.setenv("AWS_CONFIG_FILE", str(config))
    assert Aws(profile="staging").region == "ca-central-1"


def test_unknown_profile_is_an_access_error(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(AwsAccessError, match="AWS profile 'nope' not found"):
        Aws(REGION, profile="nope")


def test_no_region_at_all(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(AwsAccessError, match="pass --region or set AWS_REGION"):
        Aws()


# --- endpoints -----------------------------------------------------------------------------------


def test_aws_endpoint_url_is_honoured_by_boto3_itself(fake_creds: pytest.MonkeyPatch) -> None:
    fake_creds.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    fake_creds.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:4577")
    aws = Aws(REGION)
    assert aws.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:4566"
    assert aws.client("sqs").meta.endpoint_url == "http://127.0.0.1:4577"


def test_default_endpoint_without_env(fake_creds: pytest.MonkeyPatch) -> None:
    assert Aws(REGION).client("dynamodb").meta.endpoint_url == f"https://dynamodb.{REGION}.amazonaws.com"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_a_quick_access_error(fake_creds: pytest.MonkeyPatch) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    fake_creds.setenv("AWS_ENDPOINT_URL", endpoint)
    aws = Aws(REGION, connect_timeout=0.5, read_timeout=0.5, max_attempts=1)
    started = time.monotonic()
    with pytest.raises(AwsAccessError) as info, aws_errors("dynamodb", "DescribeTable", "raw-data"):
        aws.client("dynamodb").describe_table(TableName="raw-data")
    assert time.monotonic() - started < 5
    assert f"could not reach {endpoint}" in str(info.value)
    assert "raw-data" in str(info.value)


# --- aws_errors translations ---------------------------------------------------------------------


def _client_error(code: str, status: int = 400, message: str = "boom") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "AnyOperation",
    )


@pytest.mark.parametrize(
    "code",
    [
        "ResourceNotFoundException",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "NotFoundException",
        "DBInstanceNotFound",
        "DBInstanceNotFoundFault",
        "DBClusterNotFoundFault",
        "CacheClusterNotFound",
        "FileSystemNotFound",
        "ClusterNotFoundException",
        "ParameterNotFound",
        "NoSuchEntity",
        "StreamNotFound",
        "InvalidVpcID.NotFound",
    ],
)
def test_not_found_codes_are_check_failures(code: str) -> None:
    with pytest.raises(CheckFailed) as info, aws_errors("rds", "DescribeDBInstances", "orders-db"):
        raise _client_error(code)
    assert (
        info.value.message
        == f"rds orders-db: expected it to exist, got not found (DescribeDBInstances: {code})"
    )
    assert info.value.resource == "orders-db"


def test_not_found_with_a_subject_speaks_as_the_check_does() -> None:
    # The one place every probe's "not found" is written: what was expected, what was seen, which call.
    subject = "RDS instance `orders-db`"
    with (
        pytest.raises(CheckFailed) as info,
        aws_errors("rds", "DescribeDBInstances", "orders-db", subject=subject),
    ):
        raise _client_error("DBInstanceNotFoundFault", 404)
    failed = info.value
    assert (
        failed.message
        == "RDS instance `orders-db`: expected it to exist, got not found (DescribeDBInstances)"
    )
    assert (failed.resource, failed.expected, failed.actual) == ("orders-db", "exists", "not found")
    # Only "not found" takes the subject: any other answer still names service, operation and resource.
    with (
        pytest.raises(AwsAccessError, match="rds:DescribeDBInstances on orders-db"),
        aws_errors("rds", "DescribeDBInstances", "orders-db", subject=subject),
    ):
        raise _client_error("AccessDenied", 403)


@pytest.mark.parametrize(
    "code", ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"]
)
def test_access_denied_names_the_permission(code: str) -> None:
    with pytest.raises(AwsAccessError) as info, aws_errors("dynamodb", "DescribeTable", "raw-data"):
        raise _client_error(code, 403, "User arn:aws:iam::123:user/x is not authorized")
    assert "dynamodb:DescribeTable" in str(info.value)
    assert "raw-data" in str(info.value)
    assert "access denied" in str(info.value)


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidClientTokenId", "UnrecognizedClientException"])
def test_bad_credentials(code: str) -> None:
    with (
        pytest.raises(AwsAccessError, match="invalid or expired"),
        aws_errors("sqs", "GetQueueUrl", "work"),
    ):
        raise _client_error(code, 403)


def test_no_credentials_error() -> None:
    with (
        pytest.raises(AwsAccessError, match="no AWS credentials found"),
        aws_errors("sqs", "GetQueueUrl", "work"),
    ):
        raise NoCredentialsError()


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://sqs.eu-west-1.amazonaws.com/"),
        ConnectTimeoutError(endpoint_url="https://sqs.eu-west-1.amazonaws.com/"),
        ReadTimeoutError(endpoint_url="https://sqs.eu-west-1.amazonaws.com/"),
    ],
)
def test_unreachable_endpoint(error: Exception) -> None:
    with (
        pytest.raises(AwsAccessError, match=r"could not reach https://sqs\.eu-west-1\.amazonaws\.com/"),
        aws_errors("sqs", "GetQueueUrl", "work"),
    ):
        raise error


@pytest.mark.parametrize(
    "code", ["ThrottlingException", "ProvisionedThroughputExceededException", "SlowDown"]
)
def test_throttling_that_survived_retries(code: str) -> None:
    with (
        pytest.raises(AwsAccessError, match="throttled"),
        aws_errors("kinesis", "DescribeStream", "events"),
    ):
        raise _client_error(code, 400)


@pytest.mark.parametrize(("code", "status"), [("InternalFailure", 500), ("ServiceUnavailable", 503)])
def test_server_errors(code: str, status: int) -> None:
    with (
        pytest.raises(AwsAccessError, match=f"HTTP {status}"),
        aws_errors("kinesis", "DescribeStream", "events"),
    ):
        raise _client_error(code, status)


def test_other_client_errors_are_access_errors_without_secrets() -> None:
    with pytest.raises(AwsAccessError) as info, aws_errors("ssm", "GetParameter", "/app/db"):
        raise _client_error("ValidationException", 400, "bad value AKIAIOSFODNN7EXAMPLE")
    assert "ValidationException" in str(info.value)
    assert "AKIAIOSFODNN7EXAMPLE" not in str(info.value)


def test_other_botocore_errors_are_access_errors() -> None:
    with (
        pytest.raises(AwsAccessError, match="ParamValidationError"),
        aws_errors("dynamodb", "DescribeTable", "x"),
    ):
        raise ParamValidationError(report="Invalid length for parameter TableName")


def test_read_only_violation_and_other_exceptions_pass_through() -> None:
    with pytest.raises(ReadOnlyViolation), aws_errors("dynamodb", "PutItem", "t"):
        raise ReadOnlyViolation("read-only mode: refused dynamodb PutItem on t")
    with pytest.raises(KeyError), aws_errors("dynamodb", "DescribeTable", "t"):
        raise KeyError("Table")


def test_stubbed_client_error_is_translated(fake_creds: pytest.MonkeyPatch) -> None:
    client = Aws(REGION).client("dynamodb")
    with Stubber(client) as stub:
        stub.add_client_error(
            "describe_table", service_error_code="ResourceNotFoundException", http_status_code=400
        )
        stub.add_client_error(
            "describe_table", service_error_code="AccessDeniedException", http_status_code=400
        )
        with (
            pytest.raises(CheckFailed, match="dynamodb ghost: expected it to exist, got not found"),
            aws_errors("dynamodb", "DescribeTable", "ghost"),
        ):
            client.describe_table(TableName="ghost")
        with (
            pytest.raises(AwsAccessError, match="dynamodb:DescribeTable"),
            aws_errors("dynamodb", "DescribeTable", "ghost"),
        ):
            client.describe_table(TableName="ghost")


def test_not_found_through_moto(moto_aws: Aws) -> None:
    with (
        pytest.raises(
            CheckFailed,
            match=r"dynamodb missing: expected it to exist, got not found \(DescribeTable: ResourceNotFoundException\)",
        ),
        aws_errors("dynamodb", "DescribeTable", "missing"),
    ):
        moto_aws.client("dynamodb").describe_table(TableName="missing")
    with (
        pytest.raises(CheckFailed, match="sqs nope: expected it to exist, got not found"),
        aws_errors("sqs", "GetQueueUrl", "nope"),
    ):
        moto_aws.client("sqs").get_queue_url(QueueName="nope")
