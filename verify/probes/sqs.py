"""SQS queues: reachable, redrive to a DLQ that exists, DLQ empty, encryption, visibility timeout.

Only GetQueueUrl / GetQueueAttributes (and Lambda's List/Get for consumers) are ever called: a
ReceiveMessage would hide messages from the stack's own consumer, and a purge would destroy them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed, NotApplicable
from verify.stack.inventory import Resource


@dataclass(frozen=True)
class QueueFacts:
    name: str
    url: str
    arn: str
    attributes: dict[str, str]

    def count(self, attribute: str) -> int:
        try:
            return int(self.attributes.get(attribute, "0"))
        except ValueError:
            return 0

    @property
    def redrive_target(self) -> str | None:
        policy = self.attributes.get("RedrivePolicy")
        if not policy:
            return None
        try:
            target = json.loads(policy).get("deadLetterTargetArn")
        except (ValueError, AttributeError):
            return None
        return str(target) if target else None


def _arn_parts(arn: str) -> tuple[str, str]:
    """(queue name, account id) of an SQS ARN."""
    parts = arn.split(":")
    return parts[-1], parts[4] if len(parts) > 4 else ""


def queue_url(client: Any, resource: Resource) -> str:
    """The URL to address the queue by: the output's own URL, else resolved from its name or ARN."""
    if resource.url:
        return resource.url
    params: dict[str, str] = {"QueueName": resource.name}
    if resource.arn:
        name, account = _arn_parts(resource.arn)
        params = {"QueueName": name, **({"QueueOwnerAWSAccountId": account} if account else {})}
    with aws_errors("sqs", "GetQueueUrl", resource.name, subject=f"SQS queue `{resource.name}`"):
        return str(client.get_queue_url(**params)["QueueUrl"])


def queue_facts(client: Any, resource: Resource) -> QueueFacts:
    """Every attribute of the queue (one GetQueueAttributes); `CheckFailed` when it does not exist."""
    url = queue_url(client, resource)
    with aws_errors("sqs", "GetQueueAttributes", resource.name, subject=f"SQS queue `{resource.name}`"):
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
    return QueueFacts(
        name=resource.name,
        url=url,
        arn=str(attributes.get("QueueArn", resource.arn or "")),
        attributes={k: str(v) for k, v in attributes.items()},
    )


def redrive_targets(client: Any, queues: Iterable[Resource]) -> set[str]:
    """DLQ ARNs named by the redrive policies of `queues`; a queue that cannot be found is its own
    check's failure, so it is passed over here (access problems still propagate)."""
    targets: set[str] = set()
    for queue in queues:
        try:
            target = queue_facts(client, queue).redrive_target
        except CheckFailed:
            continue
        if target:
            targets.add(target)
    return targets


def is_dlq(resource: Resource, facts: QueueFacts, targets: set[str]) -> bool:
    return resource.role == "dlq" or facts.arn in targets


def check_redrive(client: Any, facts: QueueFacts) -> dict[str, Any]:
    """The queue sends failed messages to a dead-letter queue, and that queue exists."""
    __tracebackhide__ = True
    target = facts.redrive_target
    if target is None:
        raise CheckFailed(
            f"SQS queue `{facts.name}`: expected a RedrivePolicy to a dead-letter queue, got none "
            "(messages that keep failing are retried until they expire and are lost)",
            resource=facts.name,
            expected="RedrivePolicy.deadLetterTargetArn",
            actual=facts.attributes.get("RedrivePolicy"),
        )
    name, account = _arn_parts(target)
    params: dict[str, str] = {"QueueName": name, **({"QueueOwnerAWSAccountId": account} if account else {})}
    try:
        with aws_errors("sqs", "GetQueueUrl", name):
            client.get_queue_url(**params)
    except CheckFailed:
        raise CheckFailed(
            f"SQS queue `{facts.name}`: expected its dead-letter queue `{target}` to exist, got not found",
            resource=facts.name,
            expected=f"{target} exists",
            actual="not found",
        ) from None
    policy = json.loads(facts.attributes["RedrivePolicy"])
    return {"dead_letter_target": target, "max_receive_count": policy.get("maxReceiveCount")}


def check_dlq_empty(facts: QueueFacts) -> dict[str, int]:
    __tracebackhide__ = True
    visible = facts.count("ApproximateNumberOfMessages")
    in_flight = facts.count("ApproximateNumberOfMessagesNotVisible")
    depth = {
        "visible": visible,
        "in_flight": in_flight,
        "delayed": facts.count("ApproximateNumberOfMessagesDelayed"),
    }
    if visible + in_flight > 0:
        raise CheckFailed(
            f"SQS dead-letter queue `{facts.name}`: expected 0 messages, got {visible + in_flight} "
            f"({visible} visible, {in_flight} in flight); a backlog means lost work",
            resource=facts.name,
            expected=0,
            actual=visible + in_flight,
            evidence={"depth": depth},
        )
    return depth


def check_encryption(facts: QueueFacts) -> dict[str, str]:
    __tracebackhide__ = True
    kms_key = facts.attributes.get("KmsMasterKeyId")
    if kms_key:
        return {"encryption": "SSE-KMS", "kms_key": kms_key}
    if facts.attributes.get("SqsManagedSseEnabled", "false").lower() == "true":
        return {"encryption": "SSE-SQS"}
    raise CheckFailed(
        f"SQS queue `{facts.name}`: expected server-side encryption (SqsManagedSseEnabled or "
        "KmsMasterKeyId), got none",
        resource=facts.name,
        expected="SSE-SQS or SSE-KMS",
        actual="unencrypted",
    )


def consumer_timeouts(lambda_client: Any, facts: QueueFacts) -> dict[str, int]:
    """Timeout (s) of each Lambda function that consumes the queue, by function ARN."""
    with aws_errors("lambda", "ListEventSourceMappings", facts.name):
        paginator = lambda_client.get_paginator("list_event_source_mappings")
        functions = [
            str(m["FunctionArn"])
            for page in paginator.paginate(EventSourceArn=facts.arn)
            for m in page.get("EventSourceMappings", [])
        ]
    timeouts: dict[str, int] = {}
    for function in functions:
        with aws_errors("lambda", "GetFunctionConfiguration", function):
            timeouts[function] = int(
                lambda_client.get_function_configuration(FunctionName=function)["Timeout"]
            )
    return timeouts


def check_visibility_timeout(lambda_client: Any, facts: QueueFacts) -> dict[str, Any]:
    """Visibility timeout ≥ the consumer's timeout, or a message is redelivered while still in work.

    AWS recommends six times the function timeout; the check demands at least one and reports the ratio.
    """
    __tracebackhide__ = True
    timeouts = consumer_timeouts(lambda_client, facts)
    if not timeouts:
        raise NotApplicable(f"SQS queue `{facts.name}` has no Lambda consumer (no event source mapping)")
    visibility = facts.count("VisibilityTimeout")
    slowest, timeout = max(timeouts.items(), key=lambda item: item[1])
    ratio = round(visibility / timeout, 2) if timeout else None
    evidence = {
        "visibility_timeout_s": visibility,
        "consumer": slowest,
        "consumer_timeout_s": timeout,
        "ratio": ratio,
        "recommended_ratio": 6,
    }
    if visibility < timeout:
        raise CheckFailed(
            f"SQS queue `{facts.name}`: expected VisibilityTimeout >= its consumer's timeout ({timeout}s, "
            f"{slowest.split(':function:')[-1]}; AWS recommends 6 times), got {visibility}s",
            resource=facts.name,
            expected=f">= {timeout}",
            actual=visibility,
            evidence=evidence,
        )
    return evidence
