"""ECS named by the outputs: the cluster is ACTIVE; the service runs what it wants, its deployment done."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Inventory, Resource, Waiter, mark, probes


@mark.check("ecs", title="ECS cluster {name} is ACTIVE")
@mark.resources("ecs_cluster")
def test_cluster_active(resource: Resource, aws: Aws, eventually: Waiter, check: CheckRecorder) -> None:
    client = aws.client("ecs")
    polled = eventually(
        lambda: probes.ecs.cluster_status(client, resource.name),
        what=f"ECS cluster `{resource.name}`: expected ACTIVE",
        resource=resource.key,
    )
    check.record_all(polled.value)


@mark.check("ecs", title="ECS service {name} runs its desired tasks, deployment completed")
@mark.resources("ecs_service")
def test_service_steady(
    resource: Resource, aws: Aws, inventory: Inventory, eventually: Waiter, check: CheckRecorder
) -> None:
    client = aws.client("ecs")
    cluster = probes.ecs.service_cluster(resource, inventory)
    polled = eventually(
        lambda: probes.ecs.service_steady(client, cluster, resource.name),
        what=f"ECS service `{cluster}/{resource.name}`: expected running == desired, deployment COMPLETED",
        resource=resource.key,
    )
    check.record_all(polled.value)
    if polled.value.get("task_definition"):
        check.record(
            "task_definition", probes.ecs.task_definition_facts(client, polled.value["task_definition"])
        )
