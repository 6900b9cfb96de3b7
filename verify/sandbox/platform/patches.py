"""Response patchers of the platform stack: what moto cannot say by itself, said as AWS would.

moto reports an ECS service that never runs its tasks, an RDS endpoint on an unresolvable AWS host
name, only `AutomaticallyAfterDays` of a rotation schedule; the patchers in the emulator's middleware
rewrite those answers (and the faults' answers) for the resources of one platform stack. They are
inert once the stack is stopped (`PlatformState.active`).
"""

from __future__ import annotations

import contextlib
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from verify.sandbox.emulator.context import StackContext
from verify.sandbox.emulator.server import AwsRequest
from verify.sandbox.platform import engine_versions, offerings
from verify.sandbox.platform.redis_server import RedisServer

ROTATION_DAYS = 30


@dataclass
class PlatformState:
    """What the response patchers need; `active` turns them off once the stack is stopped."""

    ctx: StackContext
    db_id: str
    db_port: int
    cache_id: str
    cache_port: int
    stream: str
    cluster: str
    service: str
    secret_name: str
    fs_id: str = ""  # known once the file system is created
    active: bool = True

    def has(self, fault: str) -> bool:
        return fault in self.ctx.faults


Edit = Callable[[ET.Element], None]


def _find(parent: ET.Element, name: str) -> list[ET.Element]:
    # `{*}` matches any namespace: moto answers in each service's own XML namespace.
    return parent.findall(f".//{{*}}{name}")


def _set_child(parent: ET.Element, name: str, value: str) -> None:
    for child in parent.findall(f"{{*}}{name}"):
        child.text = value


def _rewrite_xml(body: bytes, edit: Edit) -> bytes:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return body
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else None
    edit(root)
    return ET.tostring(root, default_namespace=namespace) if namespace else ET.tostring(root)


def _rewrite_json(body: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    edit(data)
    return json.dumps(data).encode()


def install_patchers(state: PlatformState) -> None:
    middleware = state.ctx.emulator.middleware
    engine_versions.install(middleware)
    offerings.install(middleware, state.ctx.region)  # what verify preflight asks (moto lacks it)

    def rds_endpoint(root: ET.Element) -> None:
        for instance in _find(root, "DBInstance"):
            if instance.findtext("{*}DBInstanceIdentifier") != state.db_id:
                continue
            for endpoint in _find(instance, "Endpoint"):
                _set_child(endpoint, "Address", "127.0.0.1")
                _set_child(endpoint, "Port", str(state.db_port))
            _set_child(instance, "DbInstancePort", str(state.db_port))

    def cache_endpoint(root: ET.Element) -> None:
        for group in _find(root, "ReplicationGroup"):
            if group.findtext("{*}ReplicationGroupId") != state.cache_id:
                continue
            for name in ("PrimaryEndpoint", "ReaderEndpoint", "ReadEndpoint", "ConfigurationEndpoint"):
                for endpoint in _find(group, name):
                    _set_child(endpoint, "Address", "127.0.0.1")
                    _set_child(endpoint, "Port", str(state.cache_port))
            if state.has("cache_down"):
                _set_child(group, "Status", "create-failed")
                for node_group in _find(group, "NodeGroup"):
                    _set_child(node_group, "Status", "create-failed")

    def ecs_services(data: dict[str, Any]) -> None:
        for service in data.get("services", []):
            if service.get("serviceName") != state.service:
                continue
            down = state.has("ecs_not_running")
            running = 0 if down else service.get("desiredCount", 0)
            service.update(runningCount=running, pendingCount=0)
            for deployment in service.get("deployments", []):
                deployment.update(runningCount=running, pendingCount=0, failedTasks=2 if down else 0)
                deployment["rolloutState"] = "FAILED" if down else "COMPLETED"
                deployment["rolloutStateReason"] = (
                    "ECS deployment circuit breaker: tasks failed to start."
                    if down
                    else f"ECS deployment {deployment.get('id', '')} completed."
                )

    def ecs_clusters(data: dict[str, Any]) -> None:
        for cluster in data.get("clusters", []):
            if cluster.get("clusterName") == state.cluster:
                running = 0 if {"ecs_not_running", "ecs_cluster_inactive"} & state.ctx.faults else 2
                cluster["runningTasksCount"] = running
                cluster["pendingTasksCount"] = 0
                cluster["activeServicesCount"] = 0 if state.has("ecs_cluster_inactive") else 1
                if state.has("ecs_cluster_inactive"):
                    cluster["status"] = "INACTIVE"

    def ecs_deleted_service(data: dict[str, Any]) -> None:
        # A cluster is deleted only after its services: a deleted service stays INACTIVE, scaled to 0.
        for service in data.get("services", []):
            if service.get("serviceName") == state.service:
                service.update(status="INACTIVE", desiredCount=0, runningCount=0, pendingCount=0)
                service["deployments"] = []

    def efs_failed(data: dict[str, Any]) -> None:
        for found in data.get("FileSystems", []):
            if found.get("FileSystemId") == state.fs_id:
                found["LifeCycleState"] = "error"

    def stream_status(data: dict[str, Any]) -> None:
        for key in ("StreamDescription", "StreamDescriptionSummary"):
            described = data.get(key)
            if isinstance(described, dict) and described.get("StreamName") == state.stream:
                described["StreamStatus"] = "DELETING"

    def secret_rotation(data: dict[str, Any]) -> None:
        if data.get("Name") != state.secret_name:
            return
        if state.has("rotation_disabled"):
            data["RotationEnabled"] = False
            data.pop("RotationRules", None)
            data.pop("NextRotationDate", None)
            return
        # moto keeps only AutomaticallyAfterDays; AWS reports the schedule the stack asked for.
        rules = data.setdefault("RotationRules", {})
        rules["AutomaticallyAfterDays"] = ROTATION_DAYS
        rules["ScheduleExpression"] = f"rate({ROTATION_DAYS} days)"
        if not data.get("RotationLambdaARN"):
            # The stack declares a hosted rotation; AWS reports the function CloudFormation built for
            # it. moto cannot run one (its rotation would invoke the Lambda), so the answer names it.
            region, account = str(data.get("ARN", "")).split(":")[3:5] or ["us-east-1", "123456789012"]
            data["RotationLambdaARN"] = (
                f"arn:aws:lambda:{region}:{account}:function:{state.secret_name.replace('/', '-')}-rotation"
            )

    def xml_patcher(edit: Edit) -> Callable[[AwsRequest, bytes], bytes]:
        return lambda _req, body: _rewrite_xml(body, edit) if state.active else body

    def json_patcher(edit: Callable[[dict[str, Any]], None]) -> Callable[[AwsRequest, bytes], bytes]:
        return lambda _req, body: _rewrite_json(body, edit) if state.active else body

    middleware.patch("rds", "DescribeDBInstances", xml_patcher(rds_endpoint))
    middleware.patch("elasticache", "DescribeReplicationGroups", xml_patcher(cache_endpoint))
    middleware.patch("ecs", "DescribeServices", json_patcher(ecs_services))
    middleware.patch("ecs", "DescribeClusters", json_patcher(ecs_clusters))
    middleware.patch("secretsmanager", "DescribeSecret", json_patcher(secret_rotation))
    if state.has("ecs_cluster_inactive"):
        middleware.patch("ecs", "DescribeServices", json_patcher(ecs_deleted_service))
    if state.has("efs_failed"):
        middleware.patch("elasticfilesystem", "GET /2015-02-01/file-systems", json_patcher(efs_failed))
    if state.has("stream_inactive"):
        middleware.patch("kinesis", "DescribeStream", json_patcher(stream_status))
        middleware.patch("kinesis", "DescribeStreamSummary", json_patcher(stream_status))
        for operation in ("PutRecord", "PutRecords", "GetShardIterator"):
            middleware.intercept("kinesis", operation, lambda req: _stream_refusal(state, req))


def _stream_refusal(state: PlatformState, req: AwsRequest) -> tuple[int, dict[str, str], bytes] | None:
    named = req.params.get("StreamName") == state.stream
    if not state.active or not (named or req.params.get("StreamARN", "").endswith(f"/{state.stream}")):
        return None
    message = f"Stream {state.stream} under account {state.ctx.account_id} is not ACTIVE (DELETING)."
    body = json.dumps({"__type": "ResourceInUseException", "message": message}).encode()
    return 400, {"Content-Type": "application/x-amz-json-1.1"}, body


def break_persistence(server: RedisServer, timeout_s: float = 5.0) -> Callable[[], None]:
    """Fault cache_misconf: a snapshot that cannot be written (its target is a directory, as a full
    or read-only disk would fail it), so Redis refuses writes and PING with MISCONF, as it does in
    ElastiCache. Returns the stop step that lets the server shut down without saving."""
    import redis

    client = redis.Redis(host=server.host, port=server.port, protocol=2, socket_timeout=2)
    (server.workdir / "dump.rdb").mkdir(exist_ok=True)
    client.config_set("save", "3600 1")
    client.bgsave()
    deadline = time.monotonic() + timeout_s
    while True:
        persistence = client.info("persistence")
        if (
            not persistence.get("rdb_bgsave_in_progress")
            and persistence.get("rdb_last_bgsave_status") == "err"
        ):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis on port {server.port} did not fail its snapshot within {timeout_s} s")
        time.sleep(0.05)

    def restore() -> None:
        # With a save point set and a failing disk, Redis refuses to exit on SIGTERM.
        with contextlib.suppress(redis.RedisError):
            client.config_set("save", "")
        client.close()

    return restore
