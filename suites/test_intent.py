"""Declared intent: each resource is as the stack's own template declares it (docs/intent.md).

A value the template declares and the live stack does not have is a failed deploy, not advice: these
checks are functional, so the default policy makes them blocking. What the template does not declare
is left to the advisory posture checks; a value the template leaves to deploy time is not compared
(the evidence says why). Read-only: the same calls the service checks make.
"""

from __future__ import annotations

from verify import Aws, CheckRecorder, Inventory, Resource, VerifySession, mark, probes


def _judge(
    verify_run: VerifySession,
    inventory: Inventory,
    resource: Resource,
    subject: str,
    live: probes.declared.Reader,
    check: CheckRecorder,
    part: str | None = None,
) -> None:
    intent = verify_run.intent()
    declared = probes.declared.declared_for(intent, resource, subject)
    props = probes.declared.properties(probes.declared.declared_of(declared, part))
    verdict = probes.declared.judge(
        props, live, inventory=inventory, siblings=probes.declared.siblings(intent)
    )
    check.record("declared_in", sorted({f"{r.origin}" for r in declared}))
    check.record_all(probes.declared.conclude(subject, resource.key, verdict))


@mark.check("dynamodb", title="DynamoDB table {name} is as its template declares")
@mark.resources("dynamodb_table")
def test_dynamodb_as_declared(
    resource: Resource, aws: Aws, inventory: Inventory, verify_run: VerifySession, check: CheckRecorder
) -> None:
    live = probes.declared.dynamodb_live(aws.client("dynamodb"), resource.name)
    _judge(verify_run, inventory, resource, f"DynamoDB table `{resource.name}`", live, check)


@mark.check("lambda", title="Lambda function {name} is as its template declares")
@mark.resources("lambda_function")
def test_lambda_as_declared(
    resource: Resource, aws: Aws, inventory: Inventory, verify_run: VerifySession, check: CheckRecorder
) -> None:
    live = probes.declared.lambda_live(aws, resource.name)
    _judge(verify_run, inventory, resource, f"Lambda function `{resource.name}`", live, check)


@mark.check("apigateway", title="API {key}: stage and methods as its template declares")
@mark.resources("api")
def test_api_as_declared(
    resource: Resource, aws: Aws, inventory: Inventory, verify_run: VerifySession, check: CheckRecorder
) -> None:
    subject = f"API `{resource.key}`"
    intent = verify_run.intent()
    declared = probes.declared.declared_for(intent, resource, subject)
    api = probes.apigateway.target(resource, inventory)
    client, v2 = aws.client("apigateway"), aws.client("apigatewayv2")
    methods = probes.declared.api_methods_live(client, api.api_id, v2)
    props = [p for m in probes.declared.declared_of(declared, "method") for p in probes.declared.labelled(m)]
    props += [p for m in probes.declared.declared_of(declared, "route") for p in probes.declared.labelled(m)]
    verdict = probes.declared.judge(props, methods, inventory=inventory)
    for stage in probes.declared.declared_of(declared, "stage"):
        if stage.label is None:
            continue
        live = probes.declared.api_stage_live(client, api.api_id, stage.label)
        more = probes.declared.judge(stage.properties, live, inventory=inventory)
        verdict.matched.update({f"{stage.label}.{k}": v for k, v in more.matched.items()})
        verdict.unknown.update({f"{stage.label}.{k}": v for k, v in more.unknown.items()})
        verdict.differs += more.differs
    check.record("declared_in", sorted({f"{r.origin}" for r in declared}))
    check.record_all(probes.declared.conclude(subject, resource.key, verdict))


@mark.check("sqs", title="SQS queue {name} is as its template declares")
@mark.resources("sqs_queue")
def test_sqs_as_declared(
    resource: Resource, aws: Aws, inventory: Inventory, verify_run: VerifySession, check: CheckRecorder
) -> None:
    subject = f"SQS queue `{resource.name}`"
    probes.declared.declared_for(verify_run.intent(), resource, subject)  # before any call
    live = probes.declared.sqs_live(probes.sqs.queue_facts(aws.client("sqs"), resource))
    _judge(verify_run, inventory, resource, subject, live, check)


@mark.check("kinesis", title="Kinesis stream {name} is as its template declares")
@mark.resources("kinesis_stream")
def test_kinesis_as_declared(
    resource: Resource, aws: Aws, inventory: Inventory, verify_run: VerifySession, check: CheckRecorder
) -> None:
    stream = probes.kinesis.target(resource, inventory)
    live = probes.declared.kinesis_live(aws.client("kinesis"), stream)
    _judge(verify_run, inventory, resource, f"Kinesis stream `{stream}`", live, check)


@mark.check("rds", title="RDS {key} is as its template declares")
@mark.resources("rds_instance", "rds_cluster")
def test_rds_as_declared(
    resource: Resource, aws: Aws, inventory: Inventory, verify_run: VerifySession, check: CheckRecorder
) -> None:
    subject = f"RDS {resource.kind.removeprefix('rds_')} `{resource.name}`"
    probes.declared.declared_for(verify_run.intent(), resource, subject)  # before any call
    client = aws.client("rds")
    if resource.kind == "rds_cluster":
        described = probes.declared.describe_cluster(client, resource.name)
    else:
        described = probes.rds.instance_for(client, resource, inventory)
    _judge(verify_run, inventory, resource, subject, probes.declared.rds_live(described), check)


@mark.check("elasticache", title="ElastiCache {key} is as its template declares")
@mark.resources("elasticache")
def test_elasticache_as_declared(
    resource: Resource, aws: Aws, inventory: Inventory, verify_run: VerifySession, check: CheckRecorder
) -> None:
    subject = f"ElastiCache `{resource.name}`"
    probes.declared.declared_for(verify_run.intent(), resource, subject)  # before any call
    cache = probes.elasticache.cache_for(aws.client("elasticache"), resource, inventory)
    _judge(verify_run, inventory, resource, subject, probes.declared.elasticache_live(cache.facts), check)


@mark.check("secretsmanager", title="secret {name}: rotation as its template declares")
@mark.resources("secret")
def test_secret_as_declared(
    resource: Resource, aws: Aws, inventory: Inventory, verify_run: VerifySession, check: CheckRecorder
) -> None:
    subject = f"secret `{resource.name}`"
    probes.declared.declared_for(verify_run.intent(), resource, subject)  # before any call
    described = probes.secretsmanager.describe(aws.client("secretsmanager"), resource.value)
    _judge(verify_run, inventory, resource, subject, probes.declared.secret_live(described), check)


@mark.check("ecs", title="ECS service {name} is as its template declares")
@mark.resources("ecs_service")
def test_ecs_as_declared(
    resource: Resource, aws: Aws, inventory: Inventory, verify_run: VerifySession, check: CheckRecorder
) -> None:
    subject = f"ECS service `{resource.name}`"
    probes.declared.declared_for(verify_run.intent(), resource, subject)  # before any call
    cluster = probes.ecs.service_cluster(resource, inventory)
    described = probes.ecs.describe_service(aws.client("ecs"), cluster, resource.name)
    _judge(verify_run, inventory, resource, subject, probes.declared.ecs_live(described), check)


@mark.check("efs", title="EFS file system {name} is as its template declares")
@mark.resources("efs_filesystem")
def test_efs_as_declared(
    resource: Resource, aws: Aws, inventory: Inventory, verify_run: VerifySession, check: CheckRecorder
) -> None:
    subject = f"EFS file system `{resource.name}`"
    probes.declared.declared_for(verify_run.intent(), resource, subject)  # before any call
    described = probes.efs.describe(aws.client("efs"), resource.name)
    _judge(verify_run, inventory, resource, subject, probes.declared.efs_live(described), check)
