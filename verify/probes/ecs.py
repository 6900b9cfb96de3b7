"""ECS: the cluster is ACTIVE; the service is ACTIVE, runs as many tasks as it wants, and its
PRIMARY deployment completed. Task definition facts (launch type, cpu, memory) are evidence.

A service output may be a bare name (its cluster comes from the cluster output) or an ARN; the
long ARN format (`service/<cluster>/<name>`) carries its cluster.
"""

from __future__ import annotations

from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed, NotApplicable
from verify.polling import NotYet
from verify.stack.inventory import Inventory, Resource


def _missing(what: str, name: str, reason: str) -> CheckFailed:
    return CheckFailed(
        f"ECS {what} `{name}`: expected it to exist, got {reason}",
        resource=name,
        expected="exists",
        actual=reason,
    )


def describe_cluster(client: Any, cluster: str) -> dict[str, Any]:
    with aws_errors("ecs", "DescribeClusters", cluster):
        answer = client.describe_clusters(clusters=[cluster])
    found = answer.get("clusters", [])
    if not found:
        reasons = [f.get("reason", "MISSING") for f in answer.get("failures", [])]
        raise _missing("cluster", cluster, ", ".join(reasons) or "not found")
    return dict(found[0])


def cluster_status(client: Any, cluster: str) -> dict[str, Any]:
    """ACTIVE: its counts. PROVISIONING: `NotYet`. Anything else: `CheckFailed`."""
    __tracebackhide__ = True
    described = describe_cluster(client, cluster)
    status = str(described.get("status", "UNKNOWN"))
    if status == "PROVISIONING":
        raise NotYet(f"ECS cluster `{cluster}` ACTIVE", f"status {status}")
    if status != "ACTIVE":
        raise CheckFailed(
            f"ECS cluster `{cluster}`: expected status ACTIVE, got {status}",
            resource=cluster,
            expected="ACTIVE",
            actual=status,
        )
    return {
        "status": status,
        "running_tasks": described.get("runningTasksCount"),
        "active_services": described.get("activeServicesCount"),
    }


def service_cluster(resource: Resource, inventory: Inventory) -> str:
    """The cluster of a service output: from its long-format ARN, else the stack's one cluster output."""
    arn = resource.arn or (resource.value if resource.value.startswith("arn:") else "")
    parts = arn.split(":", 5)[-1].split("/") if arn else []
    if len(parts) == 3 and parts[0] == "service":
        return parts[1]
    clusters = {c.name for c in inventory.of_kind("ecs_cluster")}
    if len(clusters) == 1:
        return clusters.pop()
    if not clusters:
        raise NotApplicable(f"ECS service `{resource.name}`: the outputs name no cluster to look it up in")
    raise NotApplicable(
        f"ECS service `{resource.name}`: the outputs name several clusters ({', '.join(sorted(clusters))}) "
        "and its output is not a service ARN that says which"
    )


def describe_service(client: Any, cluster: str, service: str) -> dict[str, Any]:
    with aws_errors("ecs", "DescribeServices", f"{cluster}/{service}"):
        answer = client.describe_services(cluster=cluster, services=[service])
    found = answer.get("services", [])
    if not found:
        reasons = [f.get("reason", "MISSING") for f in answer.get("failures", [])]
        raise _missing("service", f"{cluster}/{service}", ", ".join(reasons) or "not found")
    return dict(found[0])


def service_steady(client: Any, cluster: str, service: str) -> dict[str, Any]:
    """ACTIVE, running == desired, PRIMARY deployment COMPLETED; `NotYet` while it converges."""
    __tracebackhide__ = True
    described = describe_service(client, cluster, service)
    name = f"{cluster}/{service}"
    status = str(described.get("status", "UNKNOWN"))
    if status != "ACTIVE":
        raise CheckFailed(
            f"ECS service `{name}`: expected status ACTIVE, got {status}",
            resource=name,
            expected="ACTIVE",
            actual=status,
        )
    primary: dict[str, Any] = next(
        (d for d in described.get("deployments", []) if d.get("status") == "PRIMARY"), {}
    )
    rollout = primary.get("rolloutState")  # absent on services without the deployment circuit breaker
    running, desired = described.get("runningCount", 0), described.get("desiredCount", 0)
    seen = f"running {running}/{desired}, PRIMARY deployment {rollout or 'without rollout state'}"
    if rollout == "FAILED":
        reason = primary.get("rolloutStateReason") or "no reason given"
        raise CheckFailed(
            f"ECS service `{name}`: expected its PRIMARY deployment COMPLETED with {desired} task(s) running, "
            f"got rollout FAILED ({reason}), running {running}/{desired}",
            resource=name,
            expected={"rollout": "COMPLETED", "running": desired},
            actual={"rollout": "FAILED", "running": running},
        )
    if rollout not in (None, "COMPLETED") or running != desired:
        raise NotYet(f"ECS service `{name}`: expected running == desired and its deployment COMPLETED", seen)
    return {
        "status": status,
        "running": running,
        "desired": desired,
        "rollout": rollout,
        "task_definition": described.get("taskDefinition"),
        "launch_type": described.get("launchType")
        or ",".join(s.get("capacityProvider", "") for s in described.get("capacityProviderStrategy", [])),
    }


def task_definition_facts(client: Any, task_definition: str) -> dict[str, Any]:
    """What the service runs, for the report: compatibilities, cpu/memory, containers, status."""
    with aws_errors("ecs", "DescribeTaskDefinition", task_definition):
        found = client.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    return {
        "family_revision": f"{found.get('family')}:{found.get('revision')}",
        "status": found.get("status"),
        "requires_compatibilities": found.get("requiresCompatibilities", []),
        "cpu": found.get("cpu"),
        "memory": found.get("memory"),
        "network_mode": found.get("networkMode"),
        "containers": [c.get("name") for c in found.get("containerDefinitions", [])],
    }
