"""The network a stack names: the VPC, its subnets and security groups exist (in that VPC), and
subnets named together spread over more than one Availability Zone."""

from __future__ import annotations

from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed


def _in_vpc(what: str, name: str, seen_vpc: str | None, vpc_id: str | None) -> None:
    __tracebackhide__ = True
    if vpc_id and seen_vpc != vpc_id:
        raise CheckFailed(
            f"{what} `{name}`: expected it in the stack's VPC {vpc_id}, got VPC {seen_vpc}",
            resource=name,
            expected=vpc_id,
            actual=seen_vpc,
        )


def vpc(client: Any, vpc_id: str) -> dict[str, Any]:
    __tracebackhide__ = True
    with aws_errors("ec2", "DescribeVpcs", vpc_id, subject=f"VPC `{vpc_id}`"):
        found = client.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    state = str(found.get("State", "unknown"))
    if state != "available":
        raise CheckFailed(
            f"VPC `{vpc_id}`: expected state available, got {state}",
            resource=vpc_id,
            expected="available",
            actual=state,
        )
    return {"state": state, "cidr": found.get("CidrBlock")}


def subnets(client: Any, subnet_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Every subnet named, by id; `CheckFailed` for the first that does not exist."""
    answer: dict[str, dict[str, Any]] = {}
    for subnet_id in subnet_ids:
        with aws_errors("ec2", "DescribeSubnets", subnet_id, subject=f"subnet `{subnet_id}`"):
            answer[subnet_id] = dict(client.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0])
    return answer


def subnet(client: Any, subnet_id: str, vpc_id: str | None) -> dict[str, Any]:
    __tracebackhide__ = True
    found = subnets(client, [subnet_id])[subnet_id]
    _in_vpc("subnet", subnet_id, found.get("VpcId"), vpc_id)
    state = str(found.get("State", "unknown"))
    if state != "available":
        raise CheckFailed(
            f"subnet `{subnet_id}`: expected state available, got {state}",
            resource=subnet_id,
            expected="available",
            actual=state,
        )
    return {"az": found.get("AvailabilityZone"), "cidr": found.get("CidrBlock"), "vpc": found.get("VpcId")}


def security_group(client: Any, group_id: str, vpc_id: str | None) -> dict[str, Any]:
    __tracebackhide__ = True
    with aws_errors("ec2", "DescribeSecurityGroups", group_id, subject=f"security group `{group_id}`"):
        found = client.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    _in_vpc("security group", group_id, found.get("VpcId"), vpc_id)
    return {
        "name": found.get("GroupName"),
        "vpc": found.get("VpcId"),
        "ingress_rules": len(found.get("IpPermissions", [])),
    }


def check_spread(client: Any, groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each output that names several subnets spreads them over at least two AZs; AZs by output key."""
    __tracebackhide__ = True
    zones: dict[str, list[str]] = {}
    for key, ids in groups.items():
        described = subnets(client, ids)
        zones[key] = sorted({str(s.get("AvailabilityZone")) for s in described.values()})
    single = {key: azs for key, azs in zones.items() if len(azs) < 2}
    if single:
        listed = "; ".join(
            f"{key}: {len(groups[key])} subnets all in {azs[0]}" for key, azs in single.items()
        )
        raise CheckFailed(
            f"subnets: expected the subnets of each output spread over >= 2 Availability Zones, got {listed}",
            resource=", ".join(single),
            expected=">= 2 AZs",
            actual=single,
        )
    return zones
