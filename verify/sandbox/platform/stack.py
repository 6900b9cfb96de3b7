"""The sandbox's platform stack: a local stand-in for the CDK IoT platform.

Everything AWS knows about lives in the emulator (moto), created through the AWS APIs as a deploy
would. Where moto reports what no deployed stack would (an ECS service that never runs its tasks, an
RDS endpoint on an unresolvable AWS host name), response patchers in the emulator's middleware say
what AWS would (`patches.py`); the RDS and ElastiCache endpoints point at a real PostgreSQL and redis-server started
here. PostgreSQL's initdb is the slow part, so both servers start in threads while moto is provisioned.

Faults (names from `faults/catalogue.py`), each visible through the AWS APIs or the real servers:
stream_inactive (DescribeStream* says DELETING; puts and reads are refused), stream_unencrypted (no
KMS), rds_stopped (StopDBInstance; no server behind the endpoint), rds_bad_version (reports "15.99"),
rds_unreachable (the secret holds a wrong password: the server refuses the stored credentials),
cache_down (status create-failed and no redis-server behind the endpoint), ecs_not_running (0 running,
deployment FAILED), efs_unencrypted, rotation_disabled (RotationEnabled false, no rules).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from verify.sandbox.emulator.context import ACCESS_KEY_ID, SECRET_ACCESS_KEY, StackContext, StackParts
from verify.sandbox.emulator.server import free_port
from verify.sandbox.platform.patches import ROTATION_DAYS, PlatformState, break_persistence, install_patchers
from verify.sandbox.platform.postgres import PostgresServer, start_postgres
from verify.sandbox.platform.redis_server import RedisServer, start_redis
from verify.sandbox.platform.server_binaries import (
    PG_PROGRAM,
    REDIS_PROGRAM,
    Found,
    find_pg_bin,
    find_redis_server,
    missing_reason,
)

ENGINE_VERSION = "15.7"
BAD_ENGINE_VERSION = "15.99"
DB_NAME = "iot"
DB_USER = "iotadmin"
SERVERS_RECORD = "platform-servers.json"  # in ctx.workdir: the local servers' pids, for `sandbox down`


_Server = TypeVar("_Server", PostgresServer, RedisServer)


def provision_platform(ctx: StackContext) -> StackParts:
    """Create the platform's resources in the emulator and start its servers; stop all on failure."""
    parts = StackParts(name="platform", outputs={})
    try:
        _provision(ctx, parts)
    except BaseException:
        parts.stop()
        raise
    return parts


def _provision(ctx: StackContext, parts: StackParts) -> None:
    sfx = ctx.suffix
    state = PlatformState(
        ctx=ctx,
        db_id=f"iot-platform-db-{sfx}",
        db_port=free_port(),
        cache_id=f"iot-platform-cache-{sfx}",
        cache_port=free_port(),
        stream=f"iot-sensor-stream-{sfx}",
        cluster=f"iot-platform-{sfx}",
        service=f"iot-platform-service-{sfx}",
        secret_name=f"iot-platform/{sfx}/db-credentials",
    )
    parts.stops.append(lambda: setattr(state, "active", False))
    db_password = secrets.token_urlsafe(18)
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="platform-servers")
    pg_future = redis_future = None
    pg_bin, redis_bin = find_pg_bin(), find_redis_server()
    # A stopped instance and a failed cache have no server behind their endpoints, as in AWS.
    if pg_bin is not None and not state.has("rds_stopped"):
        pg_future = _background(
            pool,
            parts,
            lambda: start_postgres(
                port=state.db_port, app_user=DB_USER, app_password=db_password, bin_dir=pg_bin.path
            ),
        )
    if redis_bin is not None and not state.has("cache_down"):
        workdir = ctx.workdir / "platform-redis"
        redis_future = _background(
            pool,
            parts,
            lambda: start_redis(port=state.cache_port, workdir=workdir, binary=str(redis_bin.path)),
        )
    pool.shutdown(wait=False)
    try:
        install_patchers(state)
        outputs = _provision_aws(ctx, state, db_password)
        outputs.update(_start_api(ctx, parts))
    finally:
        # The servers' threads end before we return or raise; each started server has already
        # registered its stop in parts.stops, so a failure anywhere leaves no process behind.
        pg, redis = _result(pg_future), _result(redis_future)
    for outcome in (pg, redis):
        if isinstance(outcome, BaseException):
            raise outcome
    _record_servers(ctx, [s for s in (pg, redis) if isinstance(s, PostgresServer | RedisServer)])
    if isinstance(redis, RedisServer) and state.has("cache_misconf"):
        parts.stops.append(break_persistence(redis))
    if isinstance(pg, PostgresServer):
        parts.services["postgres"] = (
            f"{pg.host}:{pg.port} (PostgreSQL {pg.version}, {_origin(pg_bin)}, data in {pg.root}"
            + (f", copied from the template {pg.template})" if pg.template else ")")
        )
    elif pg_bin is None:
        _missing(parts, "rds", missing_reason(PG_PROGRAM))
    if isinstance(redis, RedisServer):
        parts.services["redis"] = f"{redis.host}:{redis.port} ({_origin(redis_bin)})"
    elif redis_bin is None:
        _missing(parts, "elasticache", missing_reason(REDIS_PROGRAM))
    parts.outputs = outputs


def _origin(found: Found | None) -> str:
    return f"{found.source}: {found.path}" if found else "unknown origin"


def _missing(parts: StackParts, service: str, reason: str) -> None:
    """No server behind an endpoint: the harness is told (VERIFY_SANDBOX_MISSING, through the sandbox's
    environment), so the check that would connect is skipped naming the program, not blamed on a network."""
    parts.missing[service] = reason
    parts.notes.append(reason)


def _record_servers(ctx: StackContext, servers: list[PostgresServer | RedisServer]) -> None:
    """Leave each server's pid, stop signal and directory in the workdir, so that `sandbox down` can
    still end them should this process be killed before it could run its own stops."""
    record = [
        {
            "pid": server.process.pid,
            "signal": "SIGQUIT" if isinstance(server, PostgresServer) else "SIGTERM",
            "dir": str(server.root if isinstance(server, PostgresServer) else server.workdir),
            "port": server.port,
        }
        for server in servers
        if server.process is not None
    ]
    (ctx.workdir / SERVERS_RECORD).write_text(json.dumps(record, indent=1) + "\n")


def _background(pool: ThreadPoolExecutor, parts: StackParts, start: Callable[[], _Server]) -> Future[_Server]:
    def run() -> _Server:
        server = start()
        parts.stops.append(server.stop)
        return server

    return pool.submit(run)


def _result(future: Future[_Server] | None) -> _Server | BaseException | None:
    if future is None:
        return None
    try:
        return future.result()
    except BaseException as exc:
        return exc


def _provision_aws(ctx: StackContext, state: PlatformState, db_password: str) -> dict[str, Any]:
    sfx, region = ctx.suffix, ctx.region
    tags = [{"Key": "Environment", "Value": sfx}, {"Key": "Project", "Value": "iot-platform"}]
    ec2 = ctx.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": f"iot-platform-vpc-{sfx}"}, *tags])
    zones = [f"{region}a", f"{region}b"]
    private = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
        for i, az in enumerate(zones)
    ]
    public_zones = [zones[0], zones[0]] if state.has("single_az") else zones
    public = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i + 10}.0/24", AvailabilityZone=az)["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate(public_zones)
    ]
    sg_id = ec2.create_security_group(
        GroupName=f"iot-platform-sg-{sfx}", Description="IoT platform services", VpcId=vpc_id
    )["GroupId"]

    kms = ctx.client("kms")
    key_arn = kms.create_key(Description=f"IoT platform key ({sfx})", Tags=[])["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=f"alias/iot-platform-{sfx}", TargetKeyId=key_arn)

    kinesis = ctx.client("kinesis")
    kinesis.create_stream(
        StreamName=state.stream, ShardCount=2, StreamModeDetails={"StreamMode": "PROVISIONED"}
    )
    if not state.has("stream_short_retention"):
        kinesis.increase_stream_retention_period(StreamName=state.stream, RetentionPeriodHours=48)
    if not state.has("stream_unencrypted"):
        kinesis.start_stream_encryption(StreamName=state.stream, EncryptionType="KMS", KeyId=key_arn)
    stream_arn = kinesis.describe_stream_summary(StreamName=state.stream)["StreamDescriptionSummary"][
        "StreamARN"
    ]

    ecs = ctx.client("ecs")
    ecs.create_cluster(clusterName=state.cluster, tags=[{"key": "Environment", "value": sfx}])
    task_def = ecs.register_task_definition(
        family=f"iot-platform-task-{sfx}",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="512",
        memory="1024",
        containerDefinitions=[
            {
                "name": "iot-platform",
                "image": "public.ecr.aws/docker/library/python:3.11-slim",
                "essential": True,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=state.cluster,
        serviceName=state.service,
        taskDefinition=task_def,
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": private, "securityGroups": [sg_id]}},
    )

    rds = ctx.client("rds")
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"iot-platform-db-subnets-{sfx}",
        DBSubnetGroupDescription="IoT platform database subnets",
        SubnetIds=private,
    )
    rds.create_db_instance(
        DBInstanceIdentifier=state.db_id,
        Engine="postgres",
        EngineVersion=BAD_ENGINE_VERSION if state.has("rds_bad_version") else ENGINE_VERSION,
        DBInstanceClass="db.t3.medium",
        DBName=DB_NAME,
        MasterUsername=DB_USER,
        MasterUserPassword=db_password,
        AllocatedStorage=20,
        StorageEncrypted=not state.has("rds_unencrypted"),
        **({} if state.has("rds_unencrypted") else {"KmsKeyId": key_arn}),
        MultiAZ=not state.has("rds_single_az"),
        BackupRetentionPeriod=0 if state.has("rds_no_backups") else 7,
        DeletionProtection=not state.has("rds_unprotected"),
        DBSubnetGroupName=f"iot-platform-db-subnets-{sfx}",
        VpcSecurityGroupIds=[sg_id],
        Tags=tags,
    )
    if state.has("rds_stopped"):
        rds.stop_db_instance(DBInstanceIdentifier=state.db_id)

    cache = ctx.client("elasticache")
    cache.create_cache_subnet_group(
        CacheSubnetGroupName=f"iot-platform-cache-subnets-{sfx}",
        CacheSubnetGroupDescription="IoT platform cache subnets",
        SubnetIds=private,
    )
    cache.create_replication_group(
        ReplicationGroupId=state.cache_id,
        ReplicationGroupDescription="IoT platform Redis",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=2,
        AutomaticFailoverEnabled=True,
        MultiAZEnabled=True,
        AtRestEncryptionEnabled=True,
        TransitEncryptionEnabled=not state.has("cache_transit_unencrypted"),
        KmsKeyId=key_arn,
        CacheSubnetGroupName=f"iot-platform-cache-subnets-{sfx}",
        SecurityGroupIds=[sg_id],
    )

    efs = ctx.client("efs")
    encrypted = not state.has("efs_unencrypted")
    fs_id = efs.create_file_system(
        CreationToken=f"iot-platform-efs-{sfx}",
        Encrypted=encrypted,
        **({"KmsKeyId": key_arn} if encrypted else {}),
        PerformanceMode="generalPurpose",
        Tags=[{"Key": "Name", "Value": f"iot-platform-efs-{sfx}"}],
    )["FileSystemId"]
    state.fs_id = fs_id
    for subnet in [] if state.has("efs_no_mount_targets") else private:
        efs.create_mount_target(FileSystemId=fs_id, SubnetId=subnet, SecurityGroups=[sg_id])

    secret_arn = _create_secret(ctx, state, db_password)
    # Drift: what someone deleted by hand after the deploy, while the outputs still name it.
    if state.has("subnet_missing"):
        ec2.delete_subnet(SubnetId=public[-1])
    if state.has("sg_missing"):
        ec2.delete_security_group(GroupId=sg_id)
    if state.has("secret_deleted"):
        ctx.client("secretsmanager").delete_secret(SecretId=secret_arn, RecoveryWindowInDays=7)
    return {
        "VpcId": vpc_id,
        "PrivateSubnetIds": ",".join(private),
        "PublicSubnetIds": ",".join(public),
        "SecurityGroupId": sg_id,
        "KmsKeyArn": key_arn,
        "KinesisStreamName": state.stream,
        "KinesisStreamArn": stream_arn,
        "EcsClusterName": state.cluster,
        "EcsServiceName": state.service,
        "EcsTaskDefinitionArn": task_def,
        "DatabaseInstanceIdentifier": state.db_id,
        "DatabaseEndpoint": f"127.0.0.1:{state.db_port}",
        "DatabaseName": DB_NAME,
        "DatabaseSecretArn": secret_arn,
        "RedisReplicationGroupId": state.cache_id,
        "RedisEndpoint": f"127.0.0.1:{state.cache_port}",
        "EfsFileSystemId": fs_id,
    }


def _create_secret(ctx: StackContext, state: PlatformState, db_password: str) -> str:
    # rds_unreachable: the secret no longer matches the database -- a rotation that half-failed: its
    # setSecret step changed the password (staged AWSPENDING below) but AWSCURRENT never moved to it.
    stored = secrets.token_urlsafe(18) if state.has("rds_unreachable") else db_password
    value = {
        "username": DB_USER,
        "password": stored,
        "host": "127.0.0.1",
        "port": state.db_port,
        "dbname": DB_NAME,
        "engine": "postgres",
        "dbInstanceIdentifier": state.db_id,
    }
    sm = ctx.client("secretsmanager")
    arn: str = sm.create_secret(
        Name=state.secret_name,
        Description="IoT platform database credentials",
        SecretString=json.dumps(value),
    )["ARN"]
    if not state.has("rotation_disabled"):
        rules = {"AutomaticallyAfterDays": ROTATION_DAYS, "ScheduleExpression": f"rate({ROTATION_DAYS} days)"}
        sm.rotate_secret(SecretId=arn, RotationRules=rules, RotateImmediately=False)
        # moto leaves an AWSPENDING version beside AWSCURRENT, which in AWS is the mark of a rotation
        # that failed half-way; a completed rotation has none.
        stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        for version, labels in stages.items():
            if "AWSPENDING" in labels and "AWSCURRENT" not in labels:
                sm.update_secret_version_stage(
                    SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=version
                )
    if state.has("rds_unreachable"):
        sm.put_secret_value(
            SecretId=arn,
            SecretString=json.dumps({**value, "password": db_password}),
            VersionStages=["AWSPENDING"],
        )
    return arn


def _start_api(ctx: StackContext, parts: StackParts) -> dict[str, Any]:
    from verify.sandbox.emulator.api_gateway import SignedApiServer, json_response

    apigw = ctx.client("apigateway")
    api_id = apigw.create_rest_api(
        name=f"iot-platform-api-{ctx.suffix}", endpointConfiguration={"types": ["REGIONAL"]}
    )["id"]
    root_id = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    for part in ("health", "devices"):
        resource_id = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart=part)["id"]
        apigw.put_method(
            restApiId=api_id, resourceId=resource_id, httpMethod="GET", authorizationType="AWS_IAM"
        )
        apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod="GET", type="MOCK")
    # The stage is named after the environment, as the pipeline's is: a stack whose outputs also name
    # a stage setting (`ApiStageName`) must not see two APIs disagree about what "the stage" is.
    stage = ctx.suffix
    apigw.create_deployment(restApiId=api_id, stageName=stage)
    apigw.update_stage(
        restApiId=api_id,
        stageName=stage,
        patchOperations=[
            {"op": "replace", "path": "/tracingEnabled", "value": "true"},
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "500"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "1000"},
        ],
    )

    devices = [
        {"deviceId": f"sensor-{n:03d}", "type": kind, "status": "online"}
        for n, kind in enumerate(("temperature", "humidity", "pressure"), start=1)
    ]
    server = SignedApiServer(
        region=ctx.region,
        stage=stage,
        routes={
            ("GET", "/health"): lambda _req: json_response(200, {"status": "ok", "environment": ctx.suffix}),
            ("GET", "/devices"): lambda _req: json_response(200, {"devices": devices}),
        },
        secret_for=lambda key_id: SECRET_ACCESS_KEY if key_id == ACCESS_KEY_ID else None,
    )
    server.start()
    parts.stops.append(server.stop)
    parts.services["platform-api"] = server.url
    return {"PlatformApiEndpoint": server.url, "PlatformApiId": api_id}
