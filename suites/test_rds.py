"""RDS instances named by the outputs: available, a real engine version, encrypted, Multi-AZ, backed
up, protected from deletion, and reachable with the credentials the stack stores."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Config, Inventory, NotApplicable, Resource, Waiter, mark, probes


@mark.check("rds", title="RDS instance {key} is available")
@mark.resources("rds_instance")
def test_instance_available(
    resource: Resource, aws: Aws, inventory: Inventory, eventually: Waiter, check: CheckRecorder
) -> None:
    client = aws.client("rds")
    identifier = str(probes.rds.instance_for(client, resource, inventory)["DBInstanceIdentifier"])
    polled = eventually(
        lambda: probes.rds.instance_status(client, identifier),
        what=f"RDS instance `{identifier}`: expected available",
        resource=resource.key,
    )
    instance = polled.value
    check.record("instance", identifier)
    check.record("engine", f"{instance.get('Engine')} {instance.get('EngineVersion')}")
    check.record("class", instance.get("DBInstanceClass"))
    check.record("deletion_protection", instance.get("DeletionProtection"))


@mark.check("rds", category="posture", title="RDS instance {key} runs an engine version RDS offers")
@mark.resources("rds_instance")
def test_engine_version_offered(
    resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder
) -> None:
    instance = probes.rds.instance_for(aws.client("rds"), resource, inventory)
    check.record_all(probes.rds.check_engine_version(aws.client("rds"), instance))


@mark.check("rds", category="posture", title="RDS instance {key} has encrypted storage")
@mark.resources("rds_instance")
def test_storage_encrypted(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    instance = probes.rds.instance_for(aws.client("rds"), resource, inventory)
    check.record_all(probes.rds.check_storage_encrypted(instance))


@mark.check("rds", category="posture", title="RDS instance {key} is Multi-AZ")
@mark.resources("rds_instance")
def test_multi_az(resource: Resource, aws: Aws, inventory: Inventory, verify_config: Config) -> None:
    if not verify_config.expect.multi_az:
        raise NotApplicable("expect.multi_az is false in the configuration")
    probes.rds.check_multi_az(probes.rds.instance_for(aws.client("rds"), resource, inventory))


@mark.check("rds", category="posture", title="RDS instance {key} keeps automated backups")
@mark.resources("rds_instance")
def test_backup_retention(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    instance = probes.rds.instance_for(aws.client("rds"), resource, inventory)
    check.record("backup_retention_days", probes.rds.check_backups(instance))


@mark.check("rds", category="posture", title="RDS instance {key} has deletion protection on")
@mark.resources("rds_instance")
def test_deletion_protection(resource: Resource, aws: Aws, inventory: Inventory) -> None:
    probes.rds.check_deletion_protection(probes.rds.instance_for(aws.client("rds"), resource, inventory))


@mark.check("rds", title="RDS instance {key} accepts the stored credentials (SELECT 1)")
@mark.resources("rds_instance")
def test_connectivity(
    resource: Resource, aws: Aws, inventory: Inventory, verify_config: Config, check: CheckRecorder
) -> None:
    instance = probes.rds.instance_for(aws.client("rds"), resource, inventory)
    engine = str(instance.get("Engine", ""))
    if "postgres" not in engine:
        raise NotApplicable(f"the connectivity check speaks PostgreSQL; this instance runs {engine}")
    secret = probes.rds.database_secret(inventory)
    if secret is None:
        raise NotApplicable("the outputs name no database credentials secret to connect with")
    credentials = probes.rds.read_credentials(aws.client("secretsmanager"), secret.value)
    described = instance.get("Endpoint") or {}
    endpoint = probes.rds.Endpoint(
        str(described.get("Address") or credentials.host), described.get("Port") or credentials.port
    )
    dbname = credentials.dbname or instance.get("DBName") or "postgres"
    check.record("endpoint", str(endpoint))
    check.record("secret_output_name", secret.key)  # which output named it (a key called "secret" is masked)
    answer = probes.rds.connect_and_query(
        endpoint,
        credentials,
        str(dbname),
        must_be_reachable=verify_config.expect.db_must_be_reachable,
        instance_status=str(instance.get("DBInstanceStatus", "available")),
    )
    check.record("server_version", answer["server_version"])
    check.record("reported_engine_version", instance.get("EngineVersion"))
