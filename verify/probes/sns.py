"""SNS topics: exists, has subscriptions, encrypted with KMS."""

from __future__ import annotations

from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed
from verify.stack.inventory import Resource

_PENDING = "PendingConfirmation"


def topic_arn(client: Any, resource: Resource) -> str:
    """The topic's ARN: the output's own, else found by name (ListTopics; a topic is addressed by ARN)."""
    __tracebackhide__ = True
    if resource.arn:
        return resource.arn
    with aws_errors("sns", "ListTopics", resource.name):
        for page in client.get_paginator("list_topics").paginate():
            for topic in page.get("Topics", []):
                arn = str(topic["TopicArn"])
                if arn.rsplit(":", 1)[-1] == resource.name:
                    return arn
    raise CheckFailed(
        f"SNS topic `{resource.name}`: expected it to exist, got not found (no topic of that name in ListTopics)",
        resource=resource.name,
        expected="exists",
        actual="not found",
    )


def topic_attributes(client: Any, arn: str) -> dict[str, str]:
    with aws_errors("sns", "GetTopicAttributes", arn):
        attributes = client.get_topic_attributes(TopicArn=arn).get("Attributes", {})
    return {k: str(v) for k, v in attributes.items()}


def check_subscriptions(client: Any, arn: str) -> dict[str, Any]:
    """At least one confirmed subscription: a topic nobody listens to alerts nobody.

    Counted from ListSubscriptionsByTopic rather than the SubscriptionsConfirmed attribute, which
    AWS updates lazily (and moto never).
    """
    __tracebackhide__ = True
    with aws_errors("sns", "ListSubscriptionsByTopic", arn):
        subscriptions = [
            s
            for page in client.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
            for s in page.get("Subscriptions", [])
        ]
    confirmed = [s for s in subscriptions if s.get("SubscriptionArn") not in (_PENDING, "Deleted")]
    pending = [s for s in subscriptions if s.get("SubscriptionArn") == _PENDING]
    protocols = sorted({str(s.get("Protocol")) for s in confirmed})
    if not confirmed:
        seen = f"{len(pending)} pending confirmation, none confirmed" if pending else "none"
        raise CheckFailed(
            f"SNS topic `{arn.rsplit(':', 1)[-1]}`: expected at least one confirmed subscription, got {seen}",
            resource=arn,
            expected=">= 1 confirmed subscription",
            actual=seen,
        )
    return {"confirmed": len(confirmed), "pending": len(pending), "protocols": protocols}


def check_encryption(attributes: dict[str, str], arn: str) -> str:
    __tracebackhide__ = True
    key = attributes.get("KmsMasterKeyId")
    if not key:
        raise CheckFailed(
            f"SNS topic `{arn.rsplit(':', 1)[-1]}`: expected server-side encryption (KmsMasterKeyId), got none",
            resource=arn,
            expected="KmsMasterKeyId set",
            actual="unencrypted",
        )
    return key
