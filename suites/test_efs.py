"""EFS file systems named by the outputs: available, encrypted, mounted in the stack's own subnets."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Inventory, NotApplicable, Resource, Waiter, mark, probes


@mark.check("efs", title="EFS file system {name} is available")
@mark.resources("efs_filesystem")
def test_file_system_available(
    resource: Resource, aws: Aws, eventually: Waiter, check: CheckRecorder
) -> None:
    client = aws.client("efs")
    polled = eventually(
        lambda: probes.efs.file_system_available(client, resource.name),
        what=f"EFS file system `{resource.name}`: expected available",
        resource=resource.key,
    )
    check.record_all(polled.value)


@mark.check("efs", category="posture", title="EFS file system {name} is encrypted at rest")
@mark.resources("efs_filesystem")
def test_file_system_encrypted(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    check.record_all(probes.efs.check_encrypted(aws.client("efs"), resource.name))


@mark.check("efs", category="posture", title="EFS file system {name} is mounted in the stack's subnets")
@mark.resources("efs_filesystem")
def test_mount_targets_in_stack_subnets(
    resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder
) -> None:
    subnets = {s.name for s in inventory.of_kind("subnet")}
    vpcs = [v.name for v in inventory.of_kind("vpc")]
    if not subnets and len(vpcs) != 1:
        raise NotApplicable("the outputs name no subnets and no single VPC to compare mount targets with")
    targets = probes.efs.check_mount_targets(
        aws.client("efs"), resource.name, subnets, vpcs[0] if vpcs else None
    )
    check.record("mount_targets", targets)
