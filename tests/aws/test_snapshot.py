"""A read-only run asks each question once (verify.aws.snapshot): repeated reads are answered from the
first answer, never inside a wait, never for errors; a run that writes, only its questions about
configuration."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers.moto import MOTO_REGION
from verify.aws.client import Aws
from verify.engine.evidence import CheckRecorder, observe_aws, recording
from verify.polling import eventually


def _table(moto_client: Callable[[str], Any], name: str = "readings") -> None:
    moto_client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_a_repeated_read_is_sent_once_and_answered_with_a_copy(moto_client: Callable[[str], Any]) -> None:
    _table(moto_client)
    aws = Aws(MOTO_REGION, read_only=True)
    observe_aws(aws.session, aws.snapshot)  # as the run's session does: evidence for every call
    client = aws.client("dynamodb")
    first = client.describe_table(TableName="readings")
    first["Table"]["TableStatus"] = "ALTERED BY A CHECK"
    recorder = CheckRecorder()
    with recording(recorder):
        second = client.describe_table(TableName="readings")
    assert aws.call_count() == 1
    assert second["Table"]["TableStatus"] == "ACTIVE"  # no check sees what another did to its answer
    assert recorder.aws_calls[0]["cached"] is True  # the evidence says no call went to AWS
    # A different question is a different call.
    client.describe_continuous_backups(TableName="readings")
    assert aws.call_count() == 2


def test_a_run_that_writes_asks_about_configuration_once_and_about_data_every_time(
    moto_client: Callable[[str], Any],
) -> None:
    _table(moto_client)
    url = moto_client("sqs").create_queue(QueueName="ingest")["QueueUrl"]
    aws = Aws(MOTO_REGION)
    dynamodb, sqs = aws.client("dynamodb"), aws.client("sqs")
    dynamodb.describe_table(TableName="readings")
    dynamodb.describe_table(TableName="readings")
    assert aws.call_count() == 1  # a table's schema: the run's readings cannot change it
    # What the run's own readings change is read afresh each time: an item it wrote, a queue's depth.
    assert dynamodb.scan(TableName="readings")["Count"] == 0
    dynamodb.put_item(TableName="readings", Item={"id": {"S": "vfy-1"}})
    assert dynamodb.scan(TableName="readings")["Count"] == 1
    depth = ["ApproximateNumberOfMessages"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=depth)["Attributes"][depth[0]] == "0"
    sqs.send_message(QueueUrl=url, MessageBody="x")
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=depth)["Attributes"][depth[0]] == "1"


def test_only_configuration_reads_are_answered_in_a_run_that_writes() -> None:
    import botocore.session

    from verify.aws.snapshot import CONFIGURATION_READS

    # Each names an operation that exists (a typo would silently never be answered)...
    session = botocore.session.get_session()
    for entry in CONFIGURATION_READS:
        service, operation = entry.split(":")
        assert operation in session.get_service_model(service).operation_names, entry
        # ...and only reads: a write answered from a snapshot would never reach AWS.
        assert operation.startswith(("Describe", "Get", "List")), entry
    changed_by_a_reading = {
        "sqs:GetQueueAttributes",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:GetItem",
        "logs:DescribeLogGroups",
        "logs:FilterLogEvents",
        "cloudwatch:DescribeAlarms",
        "lambda:ListEventSourceMappings",
        "xray:BatchGetTraces",
        "kinesis:DescribeStream",
    }
    assert not CONFIGURATION_READS & changed_by_a_reading


def test_a_waits_retries_are_always_sent(moto_client: Callable[[str], Any]) -> None:
    _table(moto_client)
    aws = Aws(MOTO_REGION, read_only=True)
    client = aws.client("dynamodb")
    client.describe_table(TableName="readings")
    seen = {"n": 0}

    def probe() -> str:
        seen["n"] += 1
        return str(client.describe_table(TableName="readings")["Table"]["TableStatus"])

    result = eventually(probe, what="table status", timeout=5.0, until=lambda _: seen["n"] >= 3)
    assert result.attempts == 3
    # One before the wait; the wait's first attempt is answered from it, its two retries are sent.
    assert aws.call_count() == 3
    assert aws.snapshot is not None and aws.snapshot.hits == 1


def test_errors_are_not_cached(moto_client: Callable[[str], Any]) -> None:
    aws = Aws(MOTO_REGION, read_only=True)
    client = aws.client("dynamodb")
    for _ in range(2):
        with pytest.raises(ClientError):
            client.describe_table(TableName="missing")
    assert aws.call_count() == 2
    _table(moto_client, "missing")
    assert client.describe_table(TableName="missing")["Table"]["TableName"] == "missing"


def test_concurrent_askers_share_one_call(moto_client: Callable[[str], Any]) -> None:
    _table(moto_client)
    aws = Aws(MOTO_REGION, read_only=True)
    client = aws.client("dynamodb")
    start = threading.Barrier(8)
    answers: list[str] = []

    def ask() -> None:
        start.wait()
        answers.append(client.describe_table(TableName="readings")["Table"]["TableName"])

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == ["readings"] * 8
    assert aws.call_count() == 1


def test_a_stored_answer_is_handed_out_before_botocore_prepares_a_request(
    moto_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The early answer (verify.aws.snapshot.answer_early) skips botocore's endpoint resolution,
    validation, serialisation and user agent; its evidence is what the slower event path records."""
    _table(moto_client)
    aws = Aws(MOTO_REGION, read_only=True)
    observe_aws(aws.session, aws.snapshot)
    client = aws.client("dynamodb")
    client.describe_table(TableName="readings")

    # The slower path (the client's own _make_api_call, answered at before-call) records this:
    slow = CheckRecorder()
    early_path = client._make_api_call
    del client._make_api_call
    with recording(slow):
        slow_answer = client.describe_table(TableName="readings")
    client._make_api_call = early_path

    def no_request(*_: Any, **__: Any) -> None:
        raise AssertionError("botocore prepared a request for an answered question")

    monkeypatch.setattr(client, "_convert_to_request_dict", no_request)
    early = CheckRecorder()
    with recording(early):
        answer = client.describe_table(TableName="readings")
    assert answer == slow_answer
    assert early.aws_calls == slow.aws_calls
    assert early.aws_calls[0]["cached"] is True and early.aws_calls[0]["params"] == {"TableName": "readings"}
    assert aws.call_count() == 1


def test_paginated_reads_are_answered_early_too(
    moto_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _table(moto_client)
    aws = Aws(MOTO_REGION, read_only=True)
    client = aws.client("dynamodb")
    first = [page["TableNames"] for page in client.get_paginator("list_tables").paginate()]
    monkeypatch.setattr(client, "_convert_to_request_dict", lambda *_, **__: pytest.fail("request built"))
    again = [page["TableNames"] for page in client.get_paginator("list_tables").paginate()]
    assert again == first == [["readings"]]
    assert aws.call_count() == 1


@pytest.mark.parametrize(
    "parsed",
    [
        {"MetricAlarms": [{"AlarmName": "a", "Dimensions": [{"Name": "n"}]}]},
        {"Body": threading.Lock(), "MetricAlarms": [{"AlarmName": "a"}]},  # pickle cannot take a lock
    ],
)
def test_each_hit_gets_a_fresh_copy(parsed: dict[str, Any]) -> None:
    from verify.aws.snapshot import _frozen

    thaw = _frozen(parsed)
    first = thaw()
    first["MetricAlarms"][0]["AlarmName"] = "changed by a check"
    first["MetricAlarms"].append({})
    second = thaw()
    assert second["MetricAlarms"] == [{k: v for k, v in parsed["MetricAlarms"][0].items()}]
    assert second["MetricAlarms"][0] is not parsed["MetricAlarms"][0]
