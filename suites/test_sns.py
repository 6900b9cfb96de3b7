"""SNS topics named by the outputs: exist, have a subscriber, are encrypted."""

from __future__ import annotations

import pytest

from verify import Aws, CheckRecorder, Config, NotApplicable, Resource, probes


@pytest.mark.check("sns", title="SNS topic {name} exists")
@pytest.mark.resources("sns_topic")
def test_topic_exists(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    client = aws.client("sns")
    arn = probes.sns.topic_arn(client, resource)
    attributes = probes.sns.topic_attributes(client, arn)
    check.record("arn", attributes.get("TopicArn", arn))


@pytest.mark.check("sns", category="posture", title="SNS topic {name} has a confirmed subscription")
@pytest.mark.resources("sns_topic")
def test_topic_has_subscriptions(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    client = aws.client("sns")
    check.record_all(probes.sns.check_subscriptions(client, probes.sns.topic_arn(client, resource)))


@pytest.mark.check("sns", category="posture", title="SNS topic {name} is encrypted with KMS")
@pytest.mark.resources("sns_topic")
def test_topic_encryption(resource: Resource, aws: Aws, verify_config: Config, check: CheckRecorder) -> None:
    if not verify_config.expect.sse:
        raise NotApplicable("expect.sse is false in the configuration")
    client = aws.client("sns")
    arn = probes.sns.topic_arn(client, resource)
    check.record("kms_key", probes.sns.check_encryption(probes.sns.topic_attributes(client, arn), arn))
