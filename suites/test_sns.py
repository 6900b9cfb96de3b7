"""SNS topics named by the outputs: exist, have a subscriber, are encrypted."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Config, NotApplicable, Resource, mark, probes


@mark.check("sns", title="SNS topic {name} exists")
@mark.resources("sns_topic")
def test_topic_exists(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    client = aws.client("sns")
    arn = probes.sns.topic_arn(client, resource)
    attributes = probes.sns.topic_attributes(client, arn)
    check.record("arn", attributes.get("TopicArn", arn))


@mark.check("sns", category="posture", title="SNS topic {name} has a confirmed subscription")
@mark.resources("sns_topic")
def test_topic_has_subscriptions(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    client = aws.client("sns")
    check.record_all(probes.sns.check_subscriptions(client, probes.sns.topic_arn(client, resource)))


@mark.check("sns", category="posture", title="SNS topic {name} is encrypted with KMS")
@mark.resources("sns_topic")
def test_topic_encryption(resource: Resource, aws: Aws, verify_config: Config, check: CheckRecorder) -> None:
    if not verify_config.expect.sse:
        raise NotApplicable("expect.sse is false in the configuration")
    client = aws.client("sns")
    arn = probes.sns.topic_arn(client, resource)
    check.record("kms_key", probes.sns.check_encryption(probes.sns.topic_attributes(client, arn), arn))
