"""SNS probes against moto: topic exists (by ARN or name), subscriptions, KMS encryption."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed
from verify.probes import sns
from verify.stack.inventory import classify

REGION = "us-east-1"


@pytest.fixture
def client(moto_client: Callable[[str], Any]) -> Any:
    return moto_client("sns")


def test_healthy_topic(client: Any) -> None:
    arn = client.create_topic(Name="sensor-alerts-dev", Attributes={"KmsMasterKeyId": "alias/aws/sns"})[
        "TopicArn"
    ]
    client.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=f"arn:aws:sqs:{REGION}:123456789012:q")
    assert sns.topic_arn(client, classify("AlertTopicArn", arn)) == arn
    assert sns.topic_arn(client, classify("AlertTopicName", "sensor-alerts-dev")) == arn
    attributes = sns.topic_attributes(client, arn)
    assert sns.check_encryption(attributes, arn) == "alias/aws/sns"
    assert sns.check_subscriptions(client, arn) == {"confirmed": 1, "pending": 0, "protocols": ["sqs"]}


def test_missing_topic_is_not_found(client: Any) -> None:
    arn = f"arn:aws:sns:{REGION}:123456789012:sensor-alerts-dev"
    with pytest.raises(CheckFailed) as failed:
        sns.topic_attributes(client, arn)
    assert "not found" in str(failed.value) and "sensor-alerts-dev" in str(failed.value)
    with pytest.raises(CheckFailed) as by_name:
        sns.topic_arn(client, classify("AlertTopicName", "sensor-alerts-dev"))
    assert str(by_name.value).startswith("SNS topic `sensor-alerts-dev`: expected it to exist, got not found")


def test_topic_without_subscriptions_or_key_fails(client: Any) -> None:
    arn = client.create_topic(Name="sensor-alerts-dev")["TopicArn"]
    with pytest.raises(CheckFailed) as failed:
        sns.check_subscriptions(client, arn)
    assert str(failed.value) == (
        "SNS topic `sensor-alerts-dev`: expected at least one confirmed subscription, got none"
    )
    with pytest.raises(CheckFailed) as unencrypted:
        sns.check_encryption(sns.topic_attributes(client, arn), arn)
    assert str(unencrypted.value) == (
        "SNS topic `sensor-alerts-dev`: expected server-side encryption (KmsMasterKeyId), got none"
    )


class _PendingOnly:
    """AWS lists an unconfirmed e-mail subscription with the ARN "PendingConfirmation"; moto confirms at once."""

    def get_paginator(self, _: str) -> Any:
        return self

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return [{"Subscriptions": [{"SubscriptionArn": "PendingConfirmation", "Protocol": "email"}]}]


def test_only_pending_subscriptions_fail() -> None:
    with pytest.raises(CheckFailed) as failed:
        sns.check_subscriptions(_PendingOnly(), "arn:aws:sns:us-east-1:123456789012:t")
    assert str(failed.value).endswith("got 1 pending confirmation, none confirmed")
