"""Network probes against moto: VPC, subnets and security groups exist in the VPC; AZ spread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed
from verify.probes import ec2


@pytest.fixture
def client(moto_client: Callable[[str], Any]) -> Any:
    return moto_client("ec2")


def _vpc_with_subnets(client: Any, zones: list[str]) -> tuple[str, list[str]]:
    vpc_id = client.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        client.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=az)["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate(zones)
    ]
    return vpc_id, subnets


def test_vpc_subnets_and_group_exist_in_the_vpc(client: Any) -> None:
    vpc_id, subnets = _vpc_with_subnets(client, ["us-east-1a", "us-east-1b"])
    group = client.create_security_group(GroupName="sg", Description="d", VpcId=vpc_id)["GroupId"]
    assert ec2.vpc(client, vpc_id)["state"] == "available"
    assert ec2.subnet(client, subnets[0], vpc_id)["az"] == "us-east-1a"
    assert ec2.security_group(client, group, vpc_id)["vpc"] == vpc_id
    assert ec2.check_spread(client, {"PrivateSubnetIds": subnets}) == {
        "PrivateSubnetIds": ["us-east-1a", "us-east-1b"]
    }


def test_missing_resources_fail_with_expected_and_seen(client: Any) -> None:
    with pytest.raises(CheckFailed, match="VPC `vpc-0000000000000000a`: expected it to exist, got not found"):
        ec2.vpc(client, "vpc-0000000000000000a")
    with pytest.raises(CheckFailed, match="subnet `subnet-0000000000000000a`: expected it to exist"):
        ec2.subnet(client, "subnet-0000000000000000a", None)
    with pytest.raises(CheckFailed, match="security group `sg-0000000000000000a`: expected it to exist"):
        ec2.security_group(client, "sg-0000000000000000a", None)


def test_a_subnet_of_another_vpc_fails(client: Any) -> None:
    _, subnets = _vpc_with_subnets(client, ["us-east-1a"])
    other = client.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    with pytest.raises(CheckFailed, match=f"expected it in the stack's VPC {other}"):
        ec2.subnet(client, subnets[0], other)


def test_subnets_in_one_zone_fail_the_spread(client: Any) -> None:
    _, subnets = _vpc_with_subnets(client, ["us-east-1a", "us-east-1a"])
    with pytest.raises(CheckFailed, match="PrivateSubnetIds: 2 subnets all in us-east-1a"):
        ec2.check_spread(client, {"PrivateSubnetIds": subnets})
