"""EFS probes against moto: available, encrypted, mount targets in the stack's subnets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed
from verify.polling import NotYet
from verify.probes import efs


@pytest.fixture
def clients(moto_client: Callable[[str], Any]) -> dict[str, Any]:
    return {name: moto_client(name) for name in ("efs", "ec2")}


def _subnets(ec2: Any) -> tuple[str, list[str]]:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    return vpc_id, [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in range(3)
    ]


def test_encrypted_file_system_mounted_in_the_stack_subnets_passes(clients: dict[str, Any]) -> None:
    vpc_id, subnets = _subnets(clients["ec2"])
    fs_id = clients["efs"].create_file_system(CreationToken="t", Encrypted=True)["FileSystemId"]
    clients["efs"].create_mount_target(FileSystemId=fs_id, SubnetId=subnets[0])
    assert efs.file_system_available(clients["efs"], fs_id)["state"] == "available"
    assert efs.check_encrypted(clients["efs"], fs_id)["encrypted"] is True
    assert [t["subnet"] for t in efs.check_mount_targets(clients["efs"], fs_id, set(subnets[:2]))] == [
        subnets[0]
    ]
    assert efs.check_mount_targets(clients["efs"], fs_id, set(), vpc_id)[0]["vpc"] == vpc_id


def test_unencrypted_missing_and_unmounted_fail(clients: dict[str, Any]) -> None:
    fs_id = clients["efs"].create_file_system(CreationToken="u", Encrypted=False)["FileSystemId"]
    with pytest.raises(CheckFailed, match=r"expected encryption at rest \(Encrypted true\), got False"):
        efs.check_encrypted(clients["efs"], fs_id)
    with pytest.raises(CheckFailed, match="expected at least one mount target, got none"):
        efs.check_mount_targets(clients["efs"], fs_id, {"subnet-1"})
    with pytest.raises(CheckFailed, match="expected it to exist, got not found"):
        efs.file_system_available(clients["efs"], "fs-00000000")


def test_a_mount_target_outside_the_named_subnets_fails(clients: dict[str, Any]) -> None:
    _, subnets = _subnets(clients["ec2"])
    fs_id = clients["efs"].create_file_system(CreationToken="s", Encrypted=True)["FileSystemId"]
    clients["efs"].create_mount_target(FileSystemId=fs_id, SubnetId=subnets[2])
    with pytest.raises(
        CheckFailed, match=f"expected every mount target in the outputs' subnets .* {subnets[2]}"
    ):
        efs.check_mount_targets(clients["efs"], fs_id, set(subnets[:2]))


class _State:
    def __init__(self, state: str) -> None:
        self.state = state

    def describe_file_systems(self, FileSystemId: str) -> dict[str, Any]:
        return {"FileSystems": [{"FileSystemId": FileSystemId, "LifeCycleState": self.state}]}


def test_creating_waits_and_error_fails() -> None:
    with pytest.raises(NotYet):
        efs.file_system_available(_State("creating"), "fs-1")
    with pytest.raises(CheckFailed, match="expected LifeCycleState available, got error"):
        efs.file_system_available(_State("error"), "fs-1")
