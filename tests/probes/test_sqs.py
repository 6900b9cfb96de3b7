"""SQS probes against moto: redrive, DLQ depth, encryption, visibility vs the consumer's timeout."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed, NotApplicable
from verify.probes import sqs
from verify.stack.inventory import classify

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture
def clients(moto_client: Callable[[str], Any]) -> dict[str, Any]:
    return {name: moto_client(name) for name in ("sqs", "lambda", "iam")}


def arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def make_pipeline_queues(client: Any, *, redrive: bool = True, dlq_exists: bool = True) -> tuple[str, str]:
    dlq_url = ""
    if dlq_exists:
        dlq_url = client.create_queue(QueueName="sensor-ingestion-dlq-dev")["QueueUrl"]
    attributes = {"VisibilityTimeout": "30"}
    if redrive:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": arn("sensor-ingestion-dlq-dev"), "maxReceiveCount": 3}
        )
    url = client.create_queue(QueueName="sensor-ingestion-dev", Attributes=attributes)["QueueUrl"]
    return url, dlq_url


def resource(key: str, url: str) -> Any:
    return classify(key, url)


def test_healthy_queue_reachable_redriven_encrypted(clients: dict[str, Any]) -> None:
    url, dlq_url = make_pipeline_queues(clients["sqs"])
    facts = sqs.queue_facts(clients["sqs"], resource("IngestionQueueUrl", url))
    assert facts.arn == arn("sensor-ingestion-dev")
    assert sqs.check_redrive(clients["sqs"], facts) == {
        "dead_letter_target": arn("sensor-ingestion-dlq-dev"),
        "max_receive_count": 3,
    }
    # Since 2022 AWS encrypts new queues with SSE-SQS by default, and moto does the same.
    assert sqs.check_encryption(facts) == {"encryption": "SSE-SQS"}
    dlq = sqs.queue_facts(clients["sqs"], resource("DeadLetterQueueUrl", dlq_url))
    assert sqs.check_dlq_empty(dlq) == {"visible": 0, "in_flight": 0, "delayed": 0}


def test_queue_named_by_arn_or_name_is_resolved(clients: dict[str, Any]) -> None:
    make_pipeline_queues(clients["sqs"])
    by_arn = sqs.queue_facts(clients["sqs"], classify("QueueArn", arn("sensor-ingestion-dev")))
    assert by_arn.url.endswith("/sensor-ingestion-dev")
    by_name = sqs.queue_facts(clients["sqs"], classify("IngestionQueueName", "sensor-ingestion-dev"))
    assert by_name.arn == arn("sensor-ingestion-dev")


def test_missing_queue_is_not_found(clients: dict[str, Any]) -> None:
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/sensor-ingestion-dev"
    with pytest.raises(CheckFailed) as failed:
        sqs.queue_facts(clients["sqs"], resource("IngestionQueueUrl", url))
    assert str(failed.value) == (
        "SQS queue `sensor-ingestion-dev`: expected it to exist, got not found (GetQueueAttributes)"
    )


def test_queue_without_redrive_fails(clients: dict[str, Any]) -> None:
    url, _ = make_pipeline_queues(clients["sqs"], redrive=False)
    facts = sqs.queue_facts(clients["sqs"], resource("IngestionQueueUrl", url))
    with pytest.raises(CheckFailed) as failed:
        sqs.check_redrive(clients["sqs"], facts)
    assert str(failed.value).startswith(
        "SQS queue `sensor-ingestion-dev`: expected a RedrivePolicy to a dead-letter queue, got none"
    )


def test_redrive_to_a_deleted_dlq_fails(clients: dict[str, Any]) -> None:
    url, dlq_url = make_pipeline_queues(clients["sqs"])
    clients["sqs"].delete_queue(QueueUrl=dlq_url)
    facts = sqs.queue_facts(clients["sqs"], resource("IngestionQueueUrl", url))
    with pytest.raises(CheckFailed) as failed:
        sqs.check_redrive(clients["sqs"], facts)
    assert str(failed.value) == (
        f"SQS queue `sensor-ingestion-dev`: expected its dead-letter queue `{arn('sensor-ingestion-dlq-dev')}` "
        "to exist, got not found"
    )


def test_dlq_is_recognised_by_role_or_by_being_a_redrive_target(clients: dict[str, Any]) -> None:
    client = clients["sqs"]
    # Neither key nor name says "dlq": only the other queue's redrive policy tells.
    parked_url = client.create_queue(QueueName="parked-readings")["QueueUrl"]
    redrive = json.dumps({"deadLetterTargetArn": arn("parked-readings"), "maxReceiveCount": 3})
    main_url = client.create_queue(QueueName="readings", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    main, parked = resource("ReadingsQueueUrl", main_url), resource("ParkedQueueUrl", parked_url)
    assert parked.role is None
    targets = sqs.redrive_targets(client, [main, parked])
    assert targets == {arn("parked-readings")}
    assert sqs.is_dlq(parked, sqs.queue_facts(client, parked), targets)
    assert not sqs.is_dlq(main, sqs.queue_facts(client, main), targets)
    _, dlq_url = make_pipeline_queues(client)
    dlq = resource("DeadLetterQueueUrl", dlq_url)
    assert dlq.role == "dlq" and sqs.is_dlq(dlq, sqs.queue_facts(client, dlq), set())


def test_dlq_with_messages_fails_as_lost_work(clients: dict[str, Any]) -> None:
    _, dlq_url = make_pipeline_queues(clients["sqs"])
    for n in range(3):
        clients["sqs"].send_message(QueueUrl=dlq_url, MessageBody=json.dumps({"n": n}))
    facts = sqs.queue_facts(clients["sqs"], resource("DeadLetterQueueUrl", dlq_url))
    with pytest.raises(CheckFailed) as failed:
        sqs.check_dlq_empty(facts)
    assert str(failed.value) == (
        "SQS dead-letter queue `sensor-ingestion-dlq-dev`: expected 0 messages, got 3 "
        "(3 visible, 0 in flight); a backlog means lost work"
    )
    assert (failed.value.expected, failed.value.actual) == (0, 3)


def test_unencrypted_queue_fails_and_kms_queue_passes(clients: dict[str, Any]) -> None:
    plain = clients["sqs"].create_queue(QueueName="plain", Attributes={"SqsManagedSseEnabled": "false"})
    facts = sqs.queue_facts(clients["sqs"], resource("PlainQueueUrl", plain["QueueUrl"]))
    with pytest.raises(CheckFailed) as failed:
        sqs.check_encryption(facts)
    assert "expected server-side encryption" in str(failed.value) and "got none" in str(failed.value)
    kms = clients["sqs"].create_queue(QueueName="kms", Attributes={"KmsMasterKeyId": "alias/aws/sqs"})
    facts = sqs.queue_facts(clients["sqs"], resource("KmsQueueUrl", kms["QueueUrl"]))
    assert sqs.check_encryption(facts)["encryption"] == "SSE-KMS"


def _consumer(clients: dict[str, Any], queue_arn: str, timeout: int) -> None:
    role = clients["iam"].create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    clients["lambda"].create_function(
        FunctionName="sensor-processor-dev",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=timeout,
    )
    clients["lambda"].create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName="sensor-processor-dev"
    )


def test_visibility_timeout_against_the_consumer(clients: dict[str, Any]) -> None:
    url, _ = make_pipeline_queues(clients["sqs"])
    facts = sqs.queue_facts(clients["sqs"], resource("IngestionQueueUrl", url))
    with pytest.raises(NotApplicable, match="no Lambda consumer"):
        sqs.check_visibility_timeout(clients["lambda"], facts)
    _consumer(clients, facts.arn, timeout=60)
    with pytest.raises(CheckFailed) as failed:
        sqs.check_visibility_timeout(clients["lambda"], facts)
    assert str(failed.value) == (
        "SQS queue `sensor-ingestion-dev`: expected VisibilityTimeout >= its consumer's timeout "
        "(60s, sensor-processor-dev; AWS recommends 6 times), got 30s"
    )
    assert failed.value.evidence["ratio"] == 0.5


def test_visibility_timeout_passes_and_reports_the_ratio(clients: dict[str, Any]) -> None:
    url, _ = make_pipeline_queues(clients["sqs"])
    facts = sqs.queue_facts(clients["sqs"], resource("IngestionQueueUrl", url))
    _consumer(clients, facts.arn, timeout=10)
    evidence = sqs.check_visibility_timeout(clients["lambda"], facts)
    assert evidence["ratio"] == 3.0 and evidence["consumer_timeout_s"] == 10
