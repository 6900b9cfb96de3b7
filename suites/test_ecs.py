"""ECS named by the outputs: the cluster is ACTIVE; the service runs what it wants, its deployment done."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from verify import Aws, Inventory, Resource, probes


@pytest.mark.check("ecs", title="ECS cluster {name} is ACTIVE")
@pytest.mark.resources("ecs_cluster")
def test_cluster_active(resource: Resource, aws: Aws, eventually: Callable[..., Any], check: Any) -> None:
    client = aws.client("ecs")
    polled = eventually(
        lambda: probes.ecs.cluster_status(client, resource.name),
        what=f"ECS cluster `{resource.name}`: expected ACTIVE",
        resource=resource.key,
    )
    for key, value in polled.value.items():
        check.record(key, value)


@pytest.mark.check("ecs", title="ECS service {name} runs its desired tasks, deployment completed")
@pytest.mark.resources("ecs_service")
def test_service_steady(
    resource: Resource, aws: Aws, inventory: Inventory, eventually: Callable[..., Any], check: Any
) -> None:
    client = aws.client("ecs")
    cluster = probes.ecs.service_cluster(resource, inventory)
    polled = eventually(
        lambda: probes.ecs.service_steady(client, cluster, resource.name),
        what=f"ECS service `{cluster}/{resource.name}`: expected running == desired, deployment COMPLETED",
        resource=resource.key,
    )
    for key, value in polled.value.items():
        check.record(key, value)
    if polled.value.get("task_definition"):
        check.record(
            "task_definition", probes.ecs.task_definition_facts(client, polled.value["task_definition"])
        )
