"""ECS probes: cluster status against moto; service convergence from the answers AWS gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed, NotApplicable
from verify.polling import NotYet
from verify.probes import ecs
from verify.stack.inventory import Inventory, classify

REGION = "us-east-1"


@pytest.fixture
def client(moto_client: Callable[[str], Any]) -> Any:
    return moto_client("ecs")


def test_cluster_active_and_missing(client: Any) -> None:
    client.create_cluster(clusterName="iot-platform-dev")
    assert ecs.cluster_status(client, "iot-platform-dev")["status"] == "ACTIVE"
    with pytest.raises(CheckFailed, match="ECS cluster `nope`: expected it to exist, got MISSING"):
        ecs.cluster_status(client, "nope")


def test_deleted_cluster_fails(client: Any) -> None:
    client.create_cluster(clusterName="gone")
    client.delete_cluster(cluster="gone")
    with pytest.raises(CheckFailed, match="expected status ACTIVE, got INACTIVE"):
        ecs.cluster_status(client, "gone")


class _Services:
    def __init__(self, **service: Any) -> None:
        self.service = {"serviceName": "svc", "status": "ACTIVE", "desiredCount": 2, **service}

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        return {"services": [self.service], "failures": []}


def _deployment(rollout: str | None) -> list[dict[str, Any]]:
    deployment: dict[str, Any] = {"status": "PRIMARY", "rolloutStateReason": "tasks failed to start"}
    if rollout:
        deployment["rolloutState"] = rollout
    return [deployment]


def test_service_converged_passes_with_task_definition_and_launch_type() -> None:
    fake = _Services(
        runningCount=2, deployments=_deployment("COMPLETED"), launchType="FARGATE", taskDefinition="td:1"
    )
    facts = ecs.service_steady(fake, "c", "svc")
    assert facts["running"] == facts["desired"] == 2 and facts["launch_type"] == "FARGATE"


def test_service_in_progress_or_short_of_tasks_waits() -> None:
    with pytest.raises(NotYet):
        ecs.service_steady(_Services(runningCount=2, deployments=_deployment("IN_PROGRESS")), "c", "svc")
    with pytest.raises(NotYet):
        ecs.service_steady(_Services(runningCount=1, deployments=_deployment(None)), "c", "svc")


def test_failed_rollout_and_draining_service_fail() -> None:
    with pytest.raises(CheckFailed, match=r"got rollout FAILED \(tasks failed to start\), running 0/2"):
        ecs.service_steady(_Services(runningCount=0, deployments=_deployment("FAILED")), "c", "svc")
    with pytest.raises(CheckFailed, match="expected status ACTIVE, got DRAINING"):
        ecs.service_steady(_Services(status="DRAINING", runningCount=2), "c", "svc")


def test_service_cluster_from_arn_or_the_one_cluster_output() -> None:
    arn = classify("EcsServiceArn", "arn:aws:ecs:us-east-1:123456789012:service/prod-cluster/api")
    cluster = classify("EcsClusterName", "iot-platform-dev")
    named = classify("EcsServiceName", "iot-platform-service-dev")
    inventory = Inventory(region=REGION, resources=(cluster, named, arn), missing=(), source="test")
    assert ecs.service_cluster(arn, inventory) == "prod-cluster"
    assert ecs.service_cluster(named, inventory) == "iot-platform-dev"
    with pytest.raises(NotApplicable, match="the outputs name no cluster"):
        ecs.service_cluster(named, Inventory(region=REGION, resources=(named,), missing=(), source="t"))
