"""RDS instances: status, engine version AWS really offers, storage encryption, Multi-AZ, backups,
deletion protection, and a real connection with the credentials the stack stores.

Which instance: an identifier output names it; an endpoint output (`host:port`) is matched against
DescribeDBInstances. When both name the same instance, the run's discovery makes them one resource
(`verify.stack.endpoints`); should it not have (its bound reached, an AWS error), the instance is
still checked once, through the identifier, and the endpoint's rows say so.

Connectivity: the stack's own credentials (the Secrets Manager secret the outputs name), psycopg with
a short connect timeout, `SELECT 1` and `SHOW server_version`. A refused or timed-out connection says
nothing about the stack when the verifier runs outside its VPC, so it is "could not verify" unless the
configuration says the database must be reachable from here; credentials the server refuses are the
stack's fault. The password is registered with the redactor before it is used.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed, NotApplicable, VerifyError
from verify.polling import NotYet
from verify.probes.standin import skip_if_no_server
from verify.probes.vantage import not_reachable
from verify.redact import REDACTOR
from verify.stack.inventory import Inventory, Resource

# Statuses in which RDS accepts no connection from anywhere (AWS's DBInstanceStatus values). Not
# "backing-up" or "modifying": an instance in those still serves, and from outside its VPC its silence
# is the private-subnet case, never a reason to turn a healthy stack red.
_NOT_SERVING = frozenset(
    {
        "stopped",
        "stopping",
        "failed",
        "deleting",
        "inaccessible-encryption-credentials",
        "incompatible-network",
        "incompatible-restore",
        "restore-error",
        "storage-full",
    }
)
# Usable soon: wait. Everything not here and not "available" is a verdict.
_TRANSITIONAL = frozenset(
    {
        "creating",
        "starting",
        "rebooting",
        "modifying",
        "backing-up",
        "upgrading",
        "maintenance",
        "renaming",
        "resetting-master-credentials",
        "storage-optimization",
        "configuring-enhanced-monitoring",
        "configuring-iam-database-auth",
        "configuring-log-exports",
        "moving-to-vpc",
    }
)
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_AUTH_REFUSED = (
    "password authentication failed",
    "authentication failed",
    "no pg_hba.conf entry",
    "does not exist",  # role or database named by the secret
    "permission denied",
)
CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int | None

    def __str__(self) -> str:
        return f"{self.host}:{self.port}" if self.port else self.host


def parse_endpoint(value: str) -> Endpoint | None:
    """`host:port` or a bare host name; None for something that is neither (an identifier)."""
    if _IDENTIFIER.match(value):
        return None
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit():
        return Endpoint(host, int(port))
    return Endpoint(value, None)


def describe(client: Any, identifier: str) -> dict[str, Any]:
    with aws_errors("rds", "DescribeDBInstances", identifier, subject=f"RDS instance `{identifier}`"):
        answer = client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    return dict(answer[0])


def _by_endpoint(client: Any, endpoint: Endpoint) -> dict[str, Any]:
    with aws_errors("rds", "DescribeDBInstances", str(endpoint)):
        pages = client.get_paginator("describe_db_instances").paginate()
        instances = [i for page in pages for i in page.get("DBInstances", [])]
    for instance in instances:
        seen = instance.get("Endpoint") or {}
        if seen.get("Address") == endpoint.host and endpoint.port in (None, seen.get("Port")):
            return dict(instance)
    raise CheckFailed(
        f"RDS endpoint `{endpoint}`: expected an instance with that endpoint, got none among "
        f"{len(instances)} instance(s)",
        resource=str(endpoint),
        expected=str(endpoint),
        actual=sorted(str((i.get("Endpoint") or {}).get("Address")) for i in instances),
    )


def instance_for(client: Any, resource: Resource, inventory: Inventory) -> dict[str, Any]:
    """The instance this output names; `NotApplicable` when another output is the one to check it
    through (an identifier output before an endpoint output, else the first output naming it)."""
    endpoint = parse_endpoint(resource.value)
    # An endpoint is matched as a whole (host and port), even when its host names the instance: an
    # output pointing at a port the instance does not listen on is a broken output.
    instance = describe(client, resource.name) if endpoint is None else _by_endpoint(client, endpoint)
    identifier = str(instance.get("DBInstanceIdentifier"))
    naming = [o for o in inventory.of_kind("rds_instance") if o is resource or o.name == identifier]
    preferred = next((o for o in naming if parse_endpoint(o.value) is None), naming[0])
    if preferred is not resource:
        raise NotApplicable(f"RDS instance `{identifier}` is checked through output `{preferred.key}`")
    return instance


def instance_status(client: Any, identifier: str) -> dict[str, Any]:
    """`available`: the instance. Transitional states: `NotYet`. Anything else: `CheckFailed`."""
    __tracebackhide__ = True
    instance = describe(client, identifier)
    status = str(instance.get("DBInstanceStatus", "unknown"))
    if status in _TRANSITIONAL:
        raise NotYet(f"RDS instance `{identifier}` available", f"status {status}")
    if status != "available":
        raise CheckFailed(
            f"RDS instance `{identifier}`: expected status available, got {status}",
            resource=identifier,
            expected="available",
            actual=status,
        )
    return instance


def check_engine_version(client: Any, instance: dict[str, Any]) -> dict[str, Any]:
    """The instance's engine version is one RDS offers; "could not verify" when RDS cannot say."""
    __tracebackhide__ = True
    identifier = str(instance.get("DBInstanceIdentifier"))
    engine, version = str(instance.get("Engine")), str(instance.get("EngineVersion"))
    with aws_errors("rds", "DescribeDBEngineVersions", f"{engine} {version}"):
        exact = client.describe_db_engine_versions(Engine=engine, EngineVersion=version).get(
            "DBEngineVersions", []
        )
    if any(v.get("EngineVersion") == version for v in exact):
        return {"engine": engine, "engine_version": version}
    with aws_errors("rds", "DescribeDBEngineVersions", engine):
        offered = [
            str(v.get("EngineVersion"))
            for v in client.describe_db_engine_versions(Engine=engine, MaxRecords=100).get(
                "DBEngineVersions", []
            )
        ]
    if not offered:
        # An engine with no versions at all means RDS did not answer the question, not that it said no.
        raise VerifyError(
            f"RDS DescribeDBEngineVersions lists no version of engine {engine}, so {version} cannot be judged"
        )
    major = version.split(".", 1)[0]
    nearby = [v for v in offered if v.split(".", 1)[0] == major]
    raise CheckFailed(
        f"RDS instance `{identifier}`: expected an engine version RDS offers for {engine}, got {version} "
        f"(offered {major}.x: {', '.join(nearby) or 'none'})",
        resource=identifier,
        expected=f"a {engine} version listed by DescribeDBEngineVersions",
        actual=version,
    )


def _require(instance: dict[str, Any], field: str, wanted: Any, what: str) -> Any:
    __tracebackhide__ = True
    seen = instance.get(field)
    if seen != wanted:
        identifier = instance.get("DBInstanceIdentifier")
        raise CheckFailed(
            f"RDS instance `{identifier}`: expected {what} ({field} {wanted}), got {seen}",
            resource=str(identifier),
            expected=wanted,
            actual=seen,
        )
    return seen


def check_storage_encrypted(instance: dict[str, Any]) -> dict[str, Any]:
    _require(instance, "StorageEncrypted", True, "storage encryption")
    return {"storage_encrypted": True, "kms_key": instance.get("KmsKeyId")}


def check_multi_az(instance: dict[str, Any]) -> bool:
    return bool(_require(instance, "MultiAZ", True, "a Multi-AZ deployment"))


def check_deletion_protection(instance: dict[str, Any]) -> bool:
    return bool(_require(instance, "DeletionProtection", True, "deletion protection"))


def check_backups(instance: dict[str, Any]) -> int:
    __tracebackhide__ = True
    days = int(instance.get("BackupRetentionPeriod") or 0)
    if days <= 0:
        identifier = instance.get("DBInstanceIdentifier")
        raise CheckFailed(
            f"RDS instance `{identifier}`: expected automated backups (BackupRetentionPeriod > 0), got {days}",
            resource=str(identifier),
            expected="> 0 days",
            actual=days,
        )
    return days


# ------------------------------------------------------------------ connectivity


@dataclass(frozen=True)
class DbCredentials:
    username: str
    password: str
    host: str | None
    port: int | None
    dbname: str | None


def database_secret(inventory: Inventory) -> Resource | None:
    """The secret holding the database credentials: one named like it, else the only secret."""
    secrets = inventory.of_kind("secret")
    for secret in secrets:
        text = f"{secret.key} {secret.name}".lower()
        if any(word in text for word in ("database", "db", "rds", "postgres", "credential")):
            return secret
    return secrets[0] if len(secrets) == 1 else None


def read_credentials(client: Any, secret_id: str) -> DbCredentials:
    """The secret's JSON; the password is registered with the redactor before anything else."""
    with aws_errors("secretsmanager", "GetSecretValue", secret_id):
        text = client.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    try:
        value = json.loads(text)
    except ValueError:
        REDACTOR.add(text)
        raise CheckFailed(
            f"secret `{secret_id}`: expected JSON database credentials, got a value that is not JSON",
            resource=secret_id,
            expected="JSON with username and password",
            actual="not JSON",
        ) from None
    if not isinstance(value, dict):
        raise CheckFailed(
            f"secret `{secret_id}`: expected a JSON object of credentials, got {type(value).__name__}",
            resource=secret_id,
        )
    password = str(value.get("password") or "")
    if password:
        REDACTOR.add(password)
    if not value.get("username") or not password:
        raise CheckFailed(
            f"secret `{secret_id}`: expected username and password keys, got keys {sorted(value)}",
            resource=secret_id,
            expected=["password", "username"],
            actual=sorted(value),
        )
    port = str(value.get("port") or "")
    return DbCredentials(
        username=str(value["username"]),
        password=password,
        host=str(value["host"]) if value.get("host") else None,
        port=int(port) if port.isdigit() else None,
        dbname=str(value["dbname"]) if value.get("dbname") else None,
    )


def connect_and_query(
    endpoint: Endpoint,
    credentials: DbCredentials,
    dbname: str,
    *,
    must_be_reachable: bool,
    timeout_s: int = CONNECT_TIMEOUT_S,
    instance_status: str = "available",
) -> dict[str, Any]:
    """Connect, `SELECT 1`, `SHOW server_version`; see the module docstring for the verdicts.

    `instance_status` is the instance's DBInstanceStatus: an instance that serves no one (stopped,
    failed: `_NOT_SERVING`) answers no connection wherever verify runs, so its silence is not "not
    reachable from here" (which reads as the normal private-subnet case) but a check that could not
    verify, naming the status."""
    __tracebackhide__ = True
    skip_if_no_server("rds", endpoint.host)
    import psycopg  # a heavy import only the connectivity check pays for

    try:
        with (
            psycopg.connect(
                host=endpoint.host,
                port=endpoint.port or 5432,
                user=credentials.username,
                password=credentials.password,
                dbname=dbname,
                connect_timeout=timeout_s,
                application_name="verify",
            ) as connection,
            connection.cursor() as cursor,
        ):
            one = cursor.execute("SELECT 1").fetchone()
            version = cursor.execute("SHOW server_version").fetchone()
    except psycopg.OperationalError as error:
        reason = REDACTOR.redact(" ".join(str(error).split()))
        where = f"database {endpoint} (user {credentials.username}, database {dbname})"
        if any(marker in reason.lower() for marker in _AUTH_REFUSED):
            raise CheckFailed(
                f"{where}: expected the stored credentials to be accepted, got {reason}",
                resource=str(endpoint),
                expected="connection accepted",
                actual=reason,
            ) from None
        if must_be_reachable:
            raise CheckFailed(
                f"{where}: expected a connection (expect.db_must_be_reachable), got {reason}",
                resource=str(endpoint),
                expected="reachable",
                actual=reason,
            ) from None
        if instance_status in _NOT_SERVING:
            raise VerifyError(
                f"{where}: could not connect because the instance is {instance_status} "
                f"(its availability check says so); {reason}"
            ) from None
        raise not_reachable("database", endpoint.host, endpoint.port or 5432, reason) from None
    if one is None or one[0] != 1:
        raise CheckFailed(
            f"database {endpoint}: expected SELECT 1 to return 1, got {one!r}",
            resource=str(endpoint),
            expected=1,
            actual=one,
        )
    return {"select_1": 1, "server_version": version[0] if version else None}
