"""The AWS client's breaker: a dead endpoint or a hanging operation costs a run seconds, not a retry
budget per check, and every check still names what it could not reach."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from verify.aws import Aws, Breaker, EndpointDown, aws_errors
from verify.errors import AwsAccessError


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """Accepts connections and never answers: an endpoint that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


def test_closed_port_costs_one_call_then_every_check_fails_fast(creds: pytest.MonkeyPatch) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    creds.setenv("AWS_ENDPOINT_URL", endpoint)
    aws = Aws("us-east-1")  # the run's defaults: 5 tries per call, standard backoff
    started = time.monotonic()
    messages = []
    for table in ("raw", "processed", "other", "fourth", "fifth"):
        with pytest.raises(AwsAccessError) as info, aws_errors("dynamodb", "DescribeTable", table):
            aws.client("dynamodb").describe_table(TableName=table)
        messages.append(str(info.value))
    # Without the breaker: five calls x five tries with exponential backoff, about a minute.
    assert time.monotonic() - started < 12
    assert aws.breaker.is_open(endpoint)
    for table, message in zip(("raw", "processed", "other", "fourth", "fifth"), messages, strict=True):
        assert f"could not reach {endpoint}" in message and f"on {table}" in message, message
    # Another service behind the same endpoint is just as dead, and says so at once.
    started = time.monotonic()
    with (
        pytest.raises(AwsAccessError, match="sqs GetQueueAttributes on q"),
        aws_errors("sqs", "GetQueueAttributes", "q"),
    ):
        aws.client("sqs").get_queue_attributes(QueueUrl=f"{endpoint}/123456789012/q")
    assert time.monotonic() - started < 1


def test_hanging_operation_is_bounded_by_the_read_timeout(
    creds: pytest.MonkeyPatch, silent_endpoint: str
) -> None:
    creds.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    aws = Aws("us-east-1", read_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(AwsAccessError, match="could not reach"), aws_errors("dynamodb", "DescribeTable", "t"):
        aws.client("dynamodb").describe_table(TableName="t")
    first = time.monotonic() - started
    # Two timed-out tries and one backoff, not five of each.
    assert first < 5, first
    started = time.monotonic()
    with (
        pytest.raises(AwsAccessError, match="no answer within the read timeout"),
        aws_errors("dynamodb", "DescribeTable", "t"),
    ):
        aws.client("dynamodb").describe_table(TableName="t")
    assert time.monotonic() - started < 0.5
    # Only that operation is given up on: the endpoint itself answered the connection.
    assert aws.breaker.is_open(silent_endpoint, "dynamodb DescribeTable")
    assert not aws.breaker.is_open(silent_endpoint, "dynamodb ListTables")


def test_a_success_resets_the_count_so_blips_never_open_it() -> None:
    breaker = Breaker()
    blip = EndpointConnectionError(endpoint_url="http://x")
    for _ in range(10):
        breaker.observe("http://x", exception=blip, event_name="response-received.dynamodb.Query")
        breaker.observe("http://x", exception=blip, event_name="response-received.dynamodb.Query")
        breaker.observe("http://x", exception=None, event_name="response-received.dynamodb.Query")
    assert not breaker.is_open("http://x")
    breaker.before_send("http://x", event_name="before-send.dynamodb.Query")  # does not raise
    timeout = ReadTimeoutError(endpoint_url="http://x")
    breaker.observe("http://x", exception=timeout, event_name="response-received.dynamodb.Scan")
    breaker.observe("http://x", exception=timeout, event_name="response-received.dynamodb.Scan")
    with pytest.raises(EndpointDown, match="dynamodb Scan"):
        breaker.before_send("http://x", event_name="before-send.dynamodb.Scan")
    breaker.before_send("http://x", event_name="before-send.dynamodb.Query")


def test_persistent_server_errors_open_the_breaker_for_that_operation_only() -> None:
    breaker = Breaker()
    for _ in range(3):
        breaker.observe(
            "http://x",
            response_dict={"status_code": 500},
            event_name="response-received.sns.GetTopicAttributes",
        )
    assert breaker.is_open("http://x", "sns GetTopicAttributes")
    assert not breaker.is_open("http://x", "sns ListTopics")
    with pytest.raises(AwsAccessError) as info, aws_errors("sns", "GetTopicAttributes", "arn:topic"):
        breaker.before_send("http://x", event_name="before-send.sns.GetTopicAttributes")
    # A 5xx is AWS's trouble, not an unreachable endpoint: the sentence says which.
    assert "AWS answered HTTP 500" in str(info.value) and "could not reach" not in str(info.value)
    assert "arn:topic" in str(info.value)
