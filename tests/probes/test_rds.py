"""RDS probes against moto: instance status and posture, engine versions, the stored credentials,
and connectivity verdicts (refused is "could not verify" unless the database must be reachable)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from verify.errors import AwsAccessError, CheckFailed, NotApplicable, NotReachable, VerifyError
from verify.probes import rds
from verify.redact import REDACTOR
from verify.stack.inventory import Inventory, classify

REGION = "us-east-1"
DB = "iot-platform-db-dev"


@pytest.fixture
def clients(moto_client: Callable[[str], Any]) -> dict[str, Any]:
    return {name: moto_client(name) for name in ("rds", "secretsmanager")}


def make_instance(client: Any, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "DBInstanceIdentifier": DB,
        "Engine": "postgres",
        "EngineVersion": "15.7",
        "DBInstanceClass": "db.t3.medium",
        "MasterUsername": "iotadmin",
        "MasterUserPassword": "not-the-real-one",
        "AllocatedStorage": 20,
        "StorageEncrypted": True,
        "MultiAZ": True,
        "BackupRetentionPeriod": 7,
        "DeletionProtection": True,
        **overrides,
    }
    client.create_db_instance(**settings)
    return rds.describe(client, DB)


def test_healthy_instance_passes_every_posture_check(clients: dict[str, Any]) -> None:
    instance = make_instance(clients["rds"])
    assert rds.instance_status(clients["rds"], DB)["DBInstanceStatus"] == "available"
    assert rds.check_storage_encrypted(instance)["storage_encrypted"] is True
    assert rds.check_multi_az(instance) is True
    assert rds.check_backups(instance) == 7
    assert rds.check_deletion_protection(instance) is True


def test_stopped_instance_fails(clients: dict[str, Any]) -> None:
    make_instance(clients["rds"])
    clients["rds"].stop_db_instance(DBInstanceIdentifier=DB)
    with pytest.raises(CheckFailed, match=f"RDS instance `{DB}`: expected status available, got stopped"):
        rds.instance_status(clients["rds"], DB)


def test_missing_instance_fails(clients: dict[str, Any]) -> None:
    with pytest.raises(CheckFailed, match="expected it to exist, got not found"):
        rds.instance_status(clients["rds"], "nope")


def test_each_posture_gap_fails_with_expected_and_seen(clients: dict[str, Any]) -> None:
    instance = make_instance(
        clients["rds"],
        StorageEncrypted=False,
        MultiAZ=False,
        BackupRetentionPeriod=0,
        DeletionProtection=False,
    )
    with pytest.raises(
        CheckFailed, match=r"expected storage encryption \(StorageEncrypted True\), got False"
    ):
        rds.check_storage_encrypted(instance)
    with pytest.raises(CheckFailed, match="expected a Multi-AZ deployment"):
        rds.check_multi_az(instance)
    with pytest.raises(CheckFailed, match=r"expected automated backups \(BackupRetentionPeriod > 0\), got 0"):
        rds.check_backups(instance)
    with pytest.raises(CheckFailed, match="expected deletion protection"):
        rds.check_deletion_protection(instance)


class _Versions:
    """DescribeDBEngineVersions as RDS answers it (moto answers HTTP 500)."""

    def __init__(self, offered: list[str] | None) -> None:
        self.offered = offered

    def describe_db_engine_versions(self, Engine: str, **kwargs: Any) -> dict[str, Any]:
        if self.offered is None:
            raise ClientError(
                {"Error": {"Code": "InternalFailure"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
                "DescribeDBEngineVersions",
            )
        wanted = kwargs.get("EngineVersion")
        return {
            "DBEngineVersions": [
                {"Engine": Engine, "EngineVersion": v} for v in self.offered if wanted in (None, v)
            ]
        }


def test_engine_version_offered_passes_and_invented_one_fails() -> None:
    instance = {"DBInstanceIdentifier": DB, "Engine": "postgres", "EngineVersion": "15.7"}
    assert rds.check_engine_version(_Versions(["15.6", "15.7"]), instance)["engine_version"] == "15.7"
    with pytest.raises(CheckFailed, match=r"expected an engine version RDS offers for postgres, got 15\.99"):
        rds.check_engine_version(_Versions(["15.6", "15.7"]), {**instance, "EngineVersion": "15.99"})


def test_engine_version_is_never_passed_when_rds_cannot_answer() -> None:
    instance = {"DBInstanceIdentifier": DB, "Engine": "postgres", "EngineVersion": "15.7"}
    with pytest.raises(AwsAccessError):
        rds.check_engine_version(_Versions(None), instance)
    with pytest.raises(VerifyError, match="lists no version of engine postgres"):
        rds.check_engine_version(_Versions([]), instance)


def test_endpoint_output_finds_the_instance_and_defers_to_the_identifier(clients: dict[str, Any]) -> None:
    instance = make_instance(clients["rds"])
    address, port = instance["Endpoint"]["Address"], instance["Endpoint"]["Port"]
    endpoint = classify("DatabaseEndpoint", f"{address}:{port}")
    alone = Inventory(region=REGION, resources=(endpoint,), missing=(), source="test")
    assert rds.instance_for(clients["rds"], endpoint, alone)["DBInstanceIdentifier"] == DB
    both = Inventory(
        region=REGION,
        resources=(classify("DatabaseInstanceIdentifier", DB), endpoint),
        missing=(),
        source="t",
    )
    with pytest.raises(NotApplicable, match="checked through output `DatabaseInstanceIdentifier`"):
        rds.instance_for(clients["rds"], endpoint, both)
    stray = classify("DatabaseEndpoint", f"{address}:6543")
    with pytest.raises(CheckFailed, match="expected an instance with that endpoint"):
        rds.instance_for(clients["rds"], stray, alone)


def test_credentials_are_masked_as_soon_as_they_are_read(clients: dict[str, Any]) -> None:
    password = "s3cret-Pa55word-for-the-test"
    clients["secretsmanager"].create_secret(
        Name="db-credentials",
        SecretString=json.dumps({"username": "iotadmin", "password": password, "port": 5432}),
    )
    credentials = rds.read_credentials(clients["secretsmanager"], "db-credentials")
    assert credentials.port == 5432 and credentials.username == "iotadmin"
    assert password not in REDACTOR.redact(f"connect failed for {password}")


def test_a_secret_that_is_not_json_fails_without_showing_its_value(clients: dict[str, Any]) -> None:
    clients["secretsmanager"].create_secret(Name="plain", SecretString="hunter2-plain-text")
    with pytest.raises(CheckFailed) as caught:
        rds.read_credentials(clients["secretsmanager"], "plain")
    assert "not JSON" in str(caught.value) and "hunter2" not in str(caught.value)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_refused_connection_is_not_verified_from_here_unless_it_must_be_reachable() -> None:
    port = _closed_port()
    endpoint = rds.Endpoint("127.0.0.1", port)
    credentials = rds.DbCredentials("iotadmin", "whatever-password", None, None, "iot")
    with pytest.raises(NotReachable, match="not reachable from here") as caught:
        rds.connect_and_query(endpoint, credentials, "iot", must_be_reachable=False, timeout_s=2)
    assert not isinstance(caught.value, CheckFailed)
    assert caught.value.address == f"127.0.0.1:{port}"
    with pytest.raises(CheckFailed, match=r"expected a connection \(expect.db_must_be_reachable\)"):
        rds.connect_and_query(endpoint, credentials, "iot", must_be_reachable=True, timeout_s=2)


def test_parse_endpoint_tells_identifiers_from_endpoints() -> None:
    assert rds.parse_endpoint(DB) is None
    assert rds.parse_endpoint("db.abc.us-east-1.rds.amazonaws.com:5432") == rds.Endpoint(
        "db.abc.us-east-1.rds.amazonaws.com", 5432
    )
    assert rds.parse_endpoint("127.0.0.1") == rds.Endpoint("127.0.0.1", None)


@pytest.mark.parametrize("status", ["stopped", "failed"])
def test_an_instance_that_serves_no_one_is_not_blamed_on_the_network(status: str) -> None:
    # A newcomer saw a stopped instance's connectivity reported "not reachable from here (normal for
    # private subnets ...)": the instance was down, not out of reach.
    endpoint = rds.Endpoint("127.0.0.1", _closed_port())
    credentials = rds.DbCredentials("iotadmin", "whatever-password", None, None, "iot")
    with pytest.raises(VerifyError, match=f"because the instance is {status}") as caught:
        rds.connect_and_query(
            endpoint, credentials, "iot", must_be_reachable=False, timeout_s=2, instance_status=status
        )
    assert not isinstance(caught.value, NotReachable)


def test_an_instance_that_still_serves_keeps_the_private_subnet_reading() -> None:
    # backing-up and modifying instances accept connections: silence from outside the VPC stays unverified.
    endpoint = rds.Endpoint("127.0.0.1", _closed_port())
    credentials = rds.DbCredentials("iotadmin", "whatever-password", None, None, "iot")
    with pytest.raises(NotReachable, match="not reachable from here"):
        rds.connect_and_query(
            endpoint, credentials, "iot", must_be_reachable=False, timeout_s=2, instance_status="backing-up"
        )
