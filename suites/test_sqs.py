"""SQS queues named by the outputs: reachable, dead-lettered, DLQs empty, encrypted, timeouts sane.

Read-only by construction: attributes and Lambda mappings only, never a receive or a purge.
"""

from __future__ import annotations

import threading

from verify import Aws, CheckRecorder, Config, Inventory, NotApplicable, Resource, mark, probes

# Which queue redrives where, read once per run: asked per check, a stack of N queues cost N^2
# GetQueueAttributes calls. Keyed by the run's inventory (held, so an id is never reused).
_redrives: dict[int, tuple[Inventory, dict[str, set[str]]]] = {}
_redrives_lock = threading.Lock()


def _redrive_targets_by_queue(aws: Aws, inventory: Inventory) -> dict[str, set[str]]:
    # Read under the lock: checks run concurrently, and twenty SQS checks that all missed the cache
    # at once each read all twenty queues (N^2 again, ~0.15 s of CPU at 200 resources).
    with _redrives_lock:
        cached = _redrives.get(id(inventory))
        if cached is not None and cached[0] is inventory:
            return cached[1]
        client = aws.client("sqs")
        found = {q.key: probes.sqs.redrive_targets(client, [q]) for q in inventory.of_kind("sqs_queue")}
        _redrives[id(inventory)] = (inventory, found)
        return found


# `facts` is typed through `verify.probes`, the public API: suites name no type outside `verify`.
def _is_dlq(resource: Resource, facts: probes.sqs.QueueFacts, aws: Aws, inventory: Inventory) -> bool:
    if resource.role == "dlq":
        return True
    by_queue = _redrive_targets_by_queue(aws, inventory)
    others = set().union(*(targets for key, targets in by_queue.items() if key != resource.key))
    return bool(probes.sqs.is_dlq(resource, facts, others))


@mark.check("sqs", title="SQS queue {name} is reachable")
@mark.resources("sqs_queue")
def test_queue_reachable(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    facts = probes.sqs.queue_facts(aws.client("sqs"), resource)
    check.record("arn", facts.arn)
    check.record("messages", facts.count("ApproximateNumberOfMessages"))
    check.record("in_flight", facts.count("ApproximateNumberOfMessagesNotVisible"))


@mark.check("sqs", title="SQS queue {name} redrives to a dead-letter queue that exists")
@mark.resources("sqs_queue")
def test_redrive_policy(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    client = aws.client("sqs")
    facts = probes.sqs.queue_facts(client, resource)
    if _is_dlq(resource, facts, aws, inventory):
        raise NotApplicable(f"`{resource.name}` is a dead-letter queue")
    check.record_all(probes.sqs.check_redrive(client, facts))


@mark.check("sqs", title="SQS dead-letter queue {name} is empty")
@mark.resources("sqs_queue")
def test_dlq_empty(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    facts = probes.sqs.queue_facts(aws.client("sqs"), resource)
    if not _is_dlq(resource, facts, aws, inventory):
        raise NotApplicable(f"`{resource.name}` is not a dead-letter queue")
    check.record("depth", probes.sqs.check_dlq_empty(facts))


@mark.check("sqs", category="posture", title="SQS queue {name} is encrypted at rest")
@mark.resources("sqs_queue")
def test_encryption(resource: Resource, aws: Aws, verify_config: Config, check: CheckRecorder) -> None:
    if not verify_config.expect.sse:
        raise NotApplicable("expect.sse is false in the configuration")
    facts = probes.sqs.queue_facts(aws.client("sqs"), resource)
    check.record_all(probes.sqs.check_encryption(facts))


@mark.check("sqs", category="posture", title="SQS queue {name} outlasts its consumer's timeout")
@mark.resources("sqs_queue")
def test_visibility_timeout(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    facts = probes.sqs.queue_facts(aws.client("sqs"), resource)
    check.record_all(probes.sqs.check_visibility_timeout(aws.client("lambda"), facts))
