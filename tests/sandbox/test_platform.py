"""The platform stack seen from outside, as the harness sees it: boto3 against the emulator, the real
PostgreSQL and Redis behind the endpoints the outputs name, and the signed platform API."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
import pytest
import redis
import requests
from botocore.exceptions import ClientError
from requests_aws4auth import AWS4Auth

from tests.helpers.cli import processes_mentioning
from verify.sandbox.emulator.context import ACCESS_KEY_ID, SECRET_ACCESS_KEY, StackContext, StackParts
from verify.sandbox.emulator.server import Emulator
from verify.sandbox.platform import stack as platform_module
from verify.sandbox.platform.server_binaries import find_pg_bin, find_redis_server
from verify.sandbox.platform.stack import SERVERS_RECORD, provision_platform

pytestmark = pytest.mark.sandbox
HAS_PG = find_pg_bin() is not None
HAS_REDIS = find_redis_server() is not None
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    emu = Emulator()
    emu.start()
    yield emu
    emu.stop()


class Platform:
    def __init__(
        self,
        emulator: Emulator,
        suffix: str,
        faults: frozenset[str] = frozenset(),
        with_postgres: bool = True,
    ) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="platform-test-"))
        self.ctx = StackContext(
            emulator=emulator, region=REGION, suffix=suffix, faults=faults, workdir=self.workdir
        )
        started = time.monotonic()
        # initdb is most of a start-up; faults that do not touch the database spare it.
        no_postgres = mock.patch.object(platform_module, "find_pg_bin", lambda: None)
        with contextlib.nullcontext() if with_postgres else no_postgres:
            self.parts: StackParts = provision_platform(self.ctx)
        self.startup_s = time.monotonic() - started
        self.out = self.parts.outputs

    def stop(self) -> list[str]:
        """Stop the platform; return the processes still serving its database or cache port."""
        self.parts.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        db_port = self.out["DatabaseEndpoint"].rsplit(":", 1)[1]
        cache_port = self.out["RedisEndpoint"].rsplit(":", 1)[1]
        return processes_mentioning(f"port={db_port}") + processes_mentioning(f"127.0.0.1:{cache_port}")

    def client(self, service: str) -> Any:
        return self.ctx.client(service)

    def db_credentials(self) -> dict[str, Any]:
        value = self.client("secretsmanager").get_secret_value(SecretId=self.out["DatabaseSecretArn"])
        loaded: dict[str, Any] = json.loads(value["SecretString"])
        return loaded

    def db_connect(self) -> psycopg.Connection[Any]:
        creds = self.db_credentials()
        return psycopg.connect(
            host=creds["host"],
            port=creds["port"],
            user=creds["username"],
            password=creds["password"],
            dbname=creds["dbname"],
            connect_timeout=3,
        )

    def db_instance(self) -> dict[str, Any]:
        found = self.client("rds").describe_db_instances(
            DBInstanceIdentifier=self.out["DatabaseInstanceIdentifier"]
        )
        instance: dict[str, Any] = found["DBInstances"][0]
        return instance

    def cache_group(self) -> dict[str, Any]:
        found = self.client("elasticache").describe_replication_groups(
            ReplicationGroupId=self.out["RedisReplicationGroupId"]
        )
        group: dict[str, Any] = found["ReplicationGroups"][0]
        return group

    def stream(self) -> dict[str, Any]:
        summary: dict[str, Any] = self.client("kinesis").describe_stream_summary(
            StreamName=self.out["KinesisStreamName"]
        )["StreamDescriptionSummary"]
        return summary

    def service(self) -> dict[str, Any]:
        found = self.client("ecs").describe_services(
            cluster=self.out["EcsClusterName"], services=[self.out["EcsServiceName"]]
        )
        service: dict[str, Any] = found["services"][0]
        return service

    def secret(self) -> dict[str, Any]:
        described: dict[str, Any] = self.client("secretsmanager").describe_secret(
            SecretId=self.out["DatabaseSecretArn"]
        )
        return described


@pytest.fixture(scope="module")
def healthy(emulator: Emulator) -> Iterator[Platform]:
    platform = Platform(emulator, suffix="healthy")
    yield platform
    platform.stop()


# --- the healthy platform ---------------------------------------------------------------------


def test_startup_is_bounded(healthy: Platform) -> None:
    # The target is < 8 s on an idle 2-core machine including PostgreSQL (about 2-3 s measured, most
    # of it moto's first imports); this bound only catches a start-up that waits out a timeout,
    # without failing on a CI machine busy with other workers.
    assert healthy.startup_s < 20, f"platform took {healthy.startup_s:.1f} s to start"


def test_network_spans_two_zones(healthy: Platform) -> None:
    ec2 = healthy.client("ec2")
    private = healthy.out["PrivateSubnetIds"].split(",")
    public = healthy.out["PublicSubnetIds"].split(",")
    subnets = ec2.describe_subnets(SubnetIds=private + public)["Subnets"]
    assert {s["VpcId"] for s in subnets} == {healthy.out["VpcId"]}
    assert {s["AvailabilityZone"] for s in subnets if s["SubnetId"] in private} == {
        f"{REGION}a",
        f"{REGION}b",
    }
    assert ec2.describe_vpcs(VpcIds=[healthy.out["VpcId"]])["Vpcs"][0]["CidrBlock"] == "10.0.0.0/16"
    groups = ec2.describe_security_groups(GroupIds=[healthy.out["SecurityGroupId"]])["SecurityGroups"]
    assert groups[0]["VpcId"] == healthy.out["VpcId"]


def test_stream_is_active_and_kms_encrypted(healthy: Platform) -> None:
    stream = healthy.stream()
    assert stream["StreamName"] == "iot-sensor-stream-healthy"
    assert (stream["StreamStatus"], stream["EncryptionType"], stream["OpenShardCount"]) == (
        "ACTIVE",
        "KMS",
        2,
    )
    assert stream["KeyId"] == healthy.out["KmsKeyArn"]
    assert stream["RetentionPeriodHours"] >= 24
    assert stream["StreamARN"] == healthy.out["KinesisStreamArn"]


def test_rds_instance_facts(healthy: Platform) -> None:
    instance = healthy.db_instance()
    assert instance["DBInstanceStatus"] == "available"
    assert instance["Engine"] == "postgres"
    assert (instance["StorageEncrypted"], instance["MultiAZ"], instance["DeletionProtection"]) == (
        True,
        True,
        True,
    )
    assert instance["BackupRetentionPeriod"] == 7
    endpoint = instance["Endpoint"]
    assert f"{endpoint['Address']}:{endpoint['Port']}" == healthy.out["DatabaseEndpoint"]
    offered = healthy.client("rds").describe_db_engine_versions(
        Engine="postgres", EngineVersion=instance["EngineVersion"]
    )["DBEngineVersions"]
    assert [v["EngineVersion"] for v in offered] == [instance["EngineVersion"]]
    assert instance["EngineVersion"].startswith("15.")


def test_secret_matches_endpoint_and_rotates_every_30_days(healthy: Platform) -> None:
    creds = healthy.db_credentials()
    assert set(creds) >= {"username", "password", "host", "port", "dbname", "engine"}
    assert f"{creds['host']}:{creds['port']}" == healthy.out["DatabaseEndpoint"]
    described = healthy.secret()
    assert described["Name"] == "iot-platform/healthy/db-credentials"
    assert described["RotationEnabled"] is True
    assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert described["RotationRules"]["ScheduleExpression"] == "rate(30 days)"
    assert "LastRotatedDate" in described
    # A lone AWSPENDING label is how AWS shows a rotation that failed half-way.
    assert not any(
        "AWSPENDING" in stages and "AWSCURRENT" not in stages
        for stages in described["VersionIdsToStages"].values()
    )


def test_database_answers_with_the_secret_credentials(healthy: Platform) -> None:
    with healthy.db_connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        version = conn.execute("SHOW server_version").fetchone()
        assert version is not None and version[0].split(".")[0].isdigit()
        assert conn.execute("SELECT current_database()").fetchone() == ("iot",)


def test_running_servers_are_recorded_for_sandbox_down(healthy: Platform) -> None:
    record = json.loads((healthy.workdir / SERVERS_RECORD).read_text())
    expected = {"postgres": HAS_PG, "redis": HAS_REDIS}
    assert len(record) == sum(expected.values())
    for server in record:
        cmdline = Path(f"/proc/{server['pid']}/cmdline").read_bytes().decode(errors="replace")
        assert "postgres" in cmdline or "redis-server" in cmdline
        assert server["signal"] in {"SIGQUIT", "SIGTERM"} and Path(server["dir"]).is_dir()


def test_missing_servers_are_noted_never_silent(healthy: Platform) -> None:
    assert ("rds" in healthy.parts.missing) is not HAS_PG
    assert ("elasticache" in healthy.parts.missing) is not HAS_REDIS
    assert all(reason in healthy.parts.notes for reason in healthy.parts.missing.values())


def test_cache_is_available_encrypted_and_answers_ping(healthy: Platform) -> None:
    group = healthy.cache_group()
    assert group["Status"] == "available"
    assert (group["AtRestEncryptionEnabled"], group["TransitEncryptionEnabled"]) == (True, True)
    primary = group["NodeGroups"][0]["PrimaryEndpoint"]
    assert f"{primary['Address']}:{primary['Port']}" == healthy.out["RedisEndpoint"]
    if HAS_REDIS:
        host, port = healthy.out["RedisEndpoint"].split(":")
        assert redis.Redis(host=host, port=int(port), socket_timeout=2).ping() is True


def test_ecs_service_runs_what_it_wants(healthy: Platform) -> None:
    service = healthy.service()
    assert (service["status"], service["desiredCount"], service["runningCount"]) == ("ACTIVE", 2, 2)
    primary = [d for d in service["deployments"] if d["status"] == "PRIMARY"]
    assert [d["rolloutState"] for d in primary] == ["COMPLETED"]
    cluster = healthy.client("ecs").describe_clusters(clusters=[healthy.out["EcsClusterName"]])["clusters"][0]
    assert (cluster["status"], cluster["runningTasksCount"], cluster["pendingTasksCount"]) == ("ACTIVE", 2, 0)
    task = healthy.client("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])[
        "taskDefinition"
    ]
    assert (task["cpu"], task["memory"], task["requiresCompatibilities"]) == ("512", "1024", ["FARGATE"])


def test_efs_is_encrypted_with_mount_targets_in_private_subnets(healthy: Platform) -> None:
    efs = healthy.client("efs")
    fs = efs.describe_file_systems(FileSystemId=healthy.out["EfsFileSystemId"])["FileSystems"][0]
    assert (fs["LifeCycleState"], fs["Encrypted"]) == ("available", True)
    targets = efs.describe_mount_targets(FileSystemId=healthy.out["EfsFileSystemId"])["MountTargets"]
    assert sorted(t["SubnetId"] for t in targets) == sorted(healthy.out["PrivateSubnetIds"].split(","))


def test_platform_api_enforces_sigv4(healthy: Platform) -> None:
    url = healthy.out["PlatformApiEndpoint"].rstrip("/")
    auth = AWS4Auth(ACCESS_KEY_ID, SECRET_ACCESS_KEY, REGION, "execute-api")
    signed = requests.get(f"{url}/health", auth=auth, timeout=5)
    assert signed.status_code == 200 and signed.json()["status"] == "ok"
    devices = requests.get(f"{url}/devices", auth=auth, timeout=5)
    assert devices.status_code == 200 and devices.json()["devices"]
    assert requests.get(f"{url}/health", timeout=5).status_code == 403
    wrong = AWS4Auth(ACCESS_KEY_ID, "not-the-secret", REGION, "execute-api")
    assert requests.get(f"{url}/health", auth=wrong, timeout=5).status_code == 403
    apis = healthy.client("apigateway").get_rest_apis()["items"]
    assert healthy.out["PlatformApiId"] in {a["id"] for a in apis}


# --- faults: each one breaks what it claims, and a healthy platform shows none of them -----------


def _db_refuses_stored_credentials(p: Platform) -> bool:
    try:
        with p.db_connect() as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


def _cache_down(p: Platform) -> bool:
    if p.cache_group()["Status"] != "available":
        return True
    if not HAS_REDIS:
        return False
    host, port = p.out["RedisEndpoint"].split(":")
    try:
        return redis.Redis(host=host, port=int(port), socket_timeout=2).ping() is not True
    except redis.ConnectionError:
        return True
    except redis.ResponseError:
        return False  # it answers, if only to refuse (cache_misconf)


def _cache_refuses_ping(p: Platform) -> bool:
    if not HAS_REDIS:
        return True  # nothing to refuse with: the fault needs a server
    host, port = p.out["RedisEndpoint"].split(":")
    try:
        redis.Redis(host=host, port=int(port), socket_timeout=2).ping()
    except redis.ResponseError as error:
        return str(error).startswith("MISCONF")
    except redis.ConnectionError:
        return False  # nothing answers at all: that is cache_down
    return False


def _missing(call: Callable[[], Any]) -> bool:
    try:
        call()
    except ClientError:
        return True
    return False


def _stream_refuses_writes(p: Platform) -> bool:
    try:
        p.client("kinesis").put_record(StreamName=p.out["KinesisStreamName"], Data=b"{}", PartitionKey="k")
    except ClientError:
        return True
    return False


def _version_not_offered(p: Platform) -> bool:
    version = p.db_instance()["EngineVersion"]
    offered = p.client("rds").describe_db_engine_versions(Engine="postgres")["DBEngineVersions"]
    return version not in {v["EngineVersion"] for v in offered}


BROKEN: dict[str, Callable[[Platform], bool]] = {
    "stream_inactive": lambda p: p.stream()["StreamStatus"] != "ACTIVE" and _stream_refuses_writes(p),
    "stream_unencrypted": lambda p: p.stream()["EncryptionType"] != "KMS",
    "rds_stopped": lambda p: p.db_instance()["DBInstanceStatus"] == "stopped",
    "rds_bad_version": _version_not_offered,
    "rds_unreachable": _db_refuses_stored_credentials,
    "cache_down": _cache_down,
    "ecs_not_running": lambda p: p.service()["runningCount"] < p.service()["desiredCount"],
    "efs_unencrypted": lambda p: (
        not p.client("efs").describe_file_systems(FileSystemId=p.out["EfsFileSystemId"])["FileSystems"][0][
            "Encrypted"
        ]
    ),
    "rotation_disabled": lambda p: p.secret().get("RotationEnabled") is not True,
    "single_az": lambda p: (
        len(
            {
                s["AvailabilityZone"]
                for s in p.client("ec2").describe_subnets(SubnetIds=p.out["PublicSubnetIds"].split(","))[
                    "Subnets"
                ]
            }
        )
        < 2
    ),
    "subnet_missing": lambda p: _missing(
        lambda: p.client("ec2").describe_subnets(SubnetIds=[p.out["PublicSubnetIds"].split(",")[-1]])
    ),
    "sg_missing": lambda p: _missing(
        lambda: p.client("ec2").describe_security_groups(GroupIds=[p.out["SecurityGroupId"]])
    ),
    "efs_failed": lambda p: (
        p.client("efs").describe_file_systems(FileSystemId=p.out["EfsFileSystemId"])["FileSystems"][0][
            "LifeCycleState"
        ]
        != "available"
    ),
    "efs_no_mount_targets": lambda p: (
        not p.client("efs").describe_mount_targets(FileSystemId=p.out["EfsFileSystemId"])["MountTargets"]
    ),
    "cache_transit_unencrypted": lambda p: not p.cache_group().get("TransitEncryptionEnabled"),
    "cache_misconf": _cache_refuses_ping,
    "ecs_cluster_inactive": lambda p: (
        p.client("ecs").describe_clusters(clusters=[p.out["EcsClusterName"]])["clusters"][0]["status"]
        != "ACTIVE"
    ),
    "stream_short_retention": lambda p: p.stream()["RetentionPeriodHours"] <= 24,
    "rds_unencrypted": lambda p: not p.db_instance()["StorageEncrypted"],
    "rds_single_az": lambda p: not p.db_instance()["MultiAZ"],
    "rds_no_backups": lambda p: p.db_instance()["BackupRetentionPeriod"] == 0,
    "rds_unprotected": lambda p: not p.db_instance()["DeletionProtection"],
    "secret_deleted": lambda p: "DeletedDate" in p.secret(),
}
# A stopped database cannot be reached either: that overlap is what AWS would show too. A deleted
# cluster's service is gone with it. A subnet that no longer exists is in no zone.
ALSO_BREAKS = {
    "rds_stopped": {"rds_unreachable"},
    "ecs_cluster_inactive": {"ecs_not_running"},
    "subnet_missing": {"single_az"},
}


def _probe_applies(probe: str, platform: Platform) -> bool:
    return probe != "rds_unreachable" or "postgres" in platform.parts.services


@pytest.mark.parametrize("probe", sorted(BROKEN))
def test_healthy_platform_shows_no_fault(healthy: Platform, probe: str) -> None:
    assert _probe_applies(probe, healthy), "no PostgreSQL behind the healthy platform's endpoint"
    assert not BROKEN[probe](healthy), f"healthy platform looks broken by {probe}'s probe"


@pytest.mark.parametrize("fault", sorted(BROKEN))
def test_fault_breaks_what_it_claims_and_only_that(emulator: Emulator, fault: str) -> None:
    assert HAS_PG or fault != "rds_unreachable", "no PostgreSQL: wrong credentials cannot be shown to fail"
    platform = Platform(
        emulator,
        suffix=fault.replace("_", "-"),
        faults=frozenset({fault}),
        with_postgres=fault == "rds_unreachable",
    )
    try:
        assert BROKEN[fault](platform), f"{fault} did not break what it claims"
        for other, probe in BROKEN.items():
            if (
                other != fault
                and other not in ALSO_BREAKS.get(fault, set())
                and _probe_applies(other, platform)
            ):
                assert not probe(platform), f"{fault} also broke {other}"
    finally:
        assert platform.stop() == [], "a server outlived the platform's stop()"


def test_platform_faults_combine(emulator: Emulator) -> None:
    faults = frozenset(
        {
            "rds_unencrypted",
            "rds_single_az",
            "rds_no_backups",
            "rds_unprotected",
            "single_az",
            "sg_missing",
            "efs_failed",
            "efs_no_mount_targets",
            "cache_transit_unencrypted",
            "ecs_cluster_inactive",
            "stream_short_retention",
            "secret_deleted",
        }
    )
    platform = Platform(emulator, suffix="combined", faults=faults, with_postgres=False)
    try:
        for fault in sorted(faults):
            assert BROKEN[fault](platform), f"{fault} did not break what it claims alongside the others"
        assert not BROKEN["stream_unencrypted"](platform)  # what no fault touched is as healthy
    finally:
        assert platform.stop() == []
