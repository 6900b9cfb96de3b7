"""The network named by the outputs: VPC, subnets and security groups exist (in that VPC); subnets
named together spread over at least two Availability Zones."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Inventory, NotApplicable, Resource, mark, probes


def _vpc_id(inventory: Inventory) -> str | None:
    vpcs = {v.name for v in inventory.of_kind("vpc")}
    return vpcs.pop() if len(vpcs) == 1 else None


@mark.check("ec2", title="VPC {name} exists")
@mark.resources("vpc")
def test_vpc_exists(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    check.record_all(probes.ec2.vpc(aws.client("ec2"), resource.name))


@mark.check("ec2", title="subnet {name} ({key}) exists in the stack's VPC")
@mark.resources("subnet")
def test_subnet_exists(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    check.record_all(probes.ec2.subnet(aws.client("ec2"), resource.name, _vpc_id(inventory)))


@mark.check("ec2", title="security group {name} exists in the stack's VPC")
@mark.resources("security_group")
def test_security_group_exists(
    resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder
) -> None:
    check.record_all(probes.ec2.security_group(aws.client("ec2"), resource.name, _vpc_id(inventory)))


@mark.check("ec2", category="posture", title="subnets named together span at least two AZs")
def test_subnets_span_azs(aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    groups: dict[str, list[str]] = {}
    for subnet in inventory.of_kind("subnet"):
        groups.setdefault(subnet.key, []).append(subnet.name)
    several = {key: ids for key, ids in groups.items() if len(ids) > 1}
    if not several:
        raise NotApplicable("no output names more than one subnet, so no spread is claimed")
    check.record_all(probes.ec2.check_spread(aws.client("ec2"), several))
