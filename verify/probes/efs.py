"""EFS file systems: available, encrypted at rest, mount targets in the stack's own subnets."""

from __future__ import annotations

from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed
from verify.polling import NotYet

_TRANSITIONAL = frozenset({"creating", "updating"})


def describe(client: Any, fs_id: str) -> dict[str, Any]:
    with aws_errors("efs", "DescribeFileSystems", fs_id, subject=f"EFS file system `{fs_id}`"):
        found = client.describe_file_systems(FileSystemId=fs_id)["FileSystems"]
    return dict(found[0])


def file_system_available(client: Any, fs_id: str) -> dict[str, Any]:
    """`available`: facts. creating/updating: `NotYet`. deleting, deleted, error: `CheckFailed`."""
    __tracebackhide__ = True
    found = describe(client, fs_id)
    state = str(found.get("LifeCycleState", "unknown"))
    if state in _TRANSITIONAL:
        raise NotYet(f"EFS file system `{fs_id}` available", f"state {state}")
    if state != "available":
        raise CheckFailed(
            f"EFS file system `{fs_id}`: expected LifeCycleState available, got {state}",
            resource=fs_id,
            expected="available",
            actual=state,
        )
    return {
        "state": state,
        "mount_targets": found.get("NumberOfMountTargets"),
        "performance_mode": found.get("PerformanceMode"),
    }


def check_encrypted(client: Any, fs_id: str) -> dict[str, Any]:
    __tracebackhide__ = True
    found = describe(client, fs_id)
    if not found.get("Encrypted"):
        raise CheckFailed(
            f"EFS file system `{fs_id}`: expected encryption at rest (Encrypted true), got {found.get('Encrypted')}",
            resource=fs_id,
            expected=True,
            actual=found.get("Encrypted"),
        )
    return {"encrypted": True, "kms_key": found.get("KmsKeyId")}


def check_mount_targets(
    client: Any, fs_id: str, subnets: set[str], vpc_id: str | None = None
) -> list[dict[str, Any]]:
    """At least one mount target, each in one of `subnets` (or, with no subnets named, in `vpc_id`)."""
    __tracebackhide__ = True
    with aws_errors("efs", "DescribeMountTargets", fs_id):
        targets = client.describe_mount_targets(FileSystemId=fs_id).get("MountTargets", [])
    seen = [
        {
            "id": t.get("MountTargetId"),
            "subnet": t.get("SubnetId"),
            "vpc": t.get("VpcId"),
            "az": t.get("AvailabilityZoneName"),
        }
        for t in targets
    ]
    if not seen:
        raise CheckFailed(
            f"EFS file system `{fs_id}`: expected at least one mount target, got none",
            resource=fs_id,
            expected=">= 1 mount target",
            actual=[],
        )
    if subnets:
        stray = [t for t in seen if t["subnet"] not in subnets]
        wanted = f"in the outputs' subnets {sorted(subnets)}"
    else:
        stray = [t for t in seen if t["vpc"] != vpc_id]
        wanted = f"in VPC {vpc_id}"
    if stray:
        raise CheckFailed(
            f"EFS file system `{fs_id}`: expected every mount target {wanted}, got "
            + ", ".join(f"{t['id']} in {t['subnet']} ({t['vpc']})" for t in stray),
            resource=fs_id,
            expected=wanted,
            actual=stray,
        )
    return seen
