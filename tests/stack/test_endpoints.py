"""A database or cache endpoint output joins its identifier output only when AWS lists that exact
host and port for it (moto): one resource then, checked once; a wrong port stays its own resource,
whose checks fail it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed
from verify.probes import rds
from verify.stack.inventory import Inventory, build_inventory
from verify.stack.outputs import parse_outputs
from verify.stack.wiring import discover_wiring

DB = "orders-db"
CACHE = "orders-cache"


def _inventory(**outputs: Any) -> Inventory:
    return build_inventory(parse_outputs(outputs, "test outputs"))


def _database(client: Any) -> tuple[str, int]:
    client.create_db_instance(
        DBInstanceIdentifier=DB,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin",
        MasterUserPassword="not-the-real-one",
        AllocatedStorage=20,
    )
    endpoint = client.describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0]["Endpoint"]
    return str(endpoint["Address"]), int(endpoint["Port"])


def _rds_keys(inventory: Inventory) -> list[tuple[str, ...]]:
    return [r.keys for r in inventory.resources if r.kind == "rds_instance"]


def test_an_endpoint_rds_lists_for_the_instance_is_one_resource_with_its_identifier(
    moto_client: Callable[[str], Any],
) -> None:
    address, port = _database(moto_client("rds"))
    inventory = _inventory(DatabaseInstanceIdentifier=DB, DatabaseEndpoint=f"{address}:{port}")
    assert _rds_keys(inventory) == [("DatabaseInstanceIdentifier",), ("DatabaseEndpoint",)]
    merged = discover_wiring(inventory, moto_client)
    assert _rds_keys(merged) == [("DatabaseInstanceIdentifier", "DatabaseEndpoint")]
    (database,) = (r for r in merged.resources if r.kind == "rds_instance")
    assert rds.instance_for(moto_client("rds"), database, merged)["DBInstanceIdentifier"] == DB
    assert merged.discovery is not None
    assert dict(merged.discovery.calls_by_operation)["rds:DescribeDBInstances"] == 1
    assert merged.same_as == (("DatabaseEndpoint", DB),)


def test_an_endpoint_with_a_wrong_port_keeps_its_own_checks_and_fails_them(
    moto_client: Callable[[str], Any],
) -> None:
    address, port = _database(moto_client("rds"))
    inventory = _inventory(DatabaseInstanceIdentifier=DB, DatabaseEndpoint=f"{address}:{port + 1}")
    merged = discover_wiring(inventory, moto_client)
    assert _rds_keys(merged) == [("DatabaseInstanceIdentifier",), ("DatabaseEndpoint",)]
    stray = next(r for r in merged.resources if r.key == "DatabaseEndpoint")
    with pytest.raises(CheckFailed, match="expected an instance with that endpoint"):
        rds.instance_for(moto_client("rds"), stray, merged)


def test_an_endpoint_alone_costs_no_call(moto_client: Callable[[str], Any]) -> None:
    address, port = _database(moto_client("rds"))
    merged = discover_wiring(_inventory(DatabaseEndpoint=f"{address}:{port}"), moto_client)
    assert merged.discovery is not None
    assert "rds:DescribeDBInstances" not in dict(merged.discovery.calls_by_operation)


def test_a_cache_endpoint_joins_its_replication_group(moto_client: Callable[[str], Any]) -> None:
    client = moto_client("elasticache")
    client.create_replication_group(
        ReplicationGroupId=CACHE,
        ReplicationGroupDescription="cache",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=1,
    )
    group = client.describe_replication_groups(ReplicationGroupId=CACHE)["ReplicationGroups"][0]
    primary = group["NodeGroups"][0]["PrimaryEndpoint"]
    inventory = _inventory(
        RedisReplicationGroupId=CACHE, RedisEndpoint=f"{primary['Address']}:{primary['Port']}"
    )
    merged = discover_wiring(inventory, moto_client)
    assert [r.keys for r in merged.resources if r.kind == "elasticache"] == [
        ("RedisReplicationGroupId", "RedisEndpoint")
    ]


def test_an_aws_error_merges_nothing_and_says_so(moto_client: Callable[[str], Any]) -> None:
    def no_rds(service: str) -> Any:
        if service == "rds":
            raise RuntimeError("rds is unreachable from here")
        return moto_client(service)

    inventory = _inventory(DatabaseInstanceIdentifier=DB, DatabaseEndpoint="10.0.3.7:5432")
    merged = discover_wiring(inventory, no_rds)
    assert _rds_keys(merged) == [("DatabaseInstanceIdentifier",), ("DatabaseEndpoint",)]
    assert merged.discovery is not None
    assert any("rds is unreachable" in note for note in merged.discovery.notes)
