"""Declared against live: what the stack's own template asks of a resource, compared with AWS's answer.

The template's properties (`verify.intent`, normalised names such as `pitr`, `rotation_days`) are read
live with the same calls (and parameters) the service probes make, so a smoke run's snapshot answers
both from one call. Each declared property is compared:
- known and different live: a failure naming where it was declared ("declared
  `PointInTimeRecoveryEnabled: true` in cdk.out/TapStack.template.json (RawTable1A2B), live: DISABLED");
- unknown (a token no deployed name settles): not compared, said in the evidence -- never a guess;
  a reference to another declared resource (a DLQ's `Fn::GetAtt`) is compared by identity: the live
  ARN must name the inventory resource that resource was mapped to.
A resource whose template declares nothing verify compares is not applicable (the advisory posture
checks still speak for it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed, NotApplicable, VerifyError
from verify.intent.model import DeclaredProperty, DeclaredResource, Unknown, first_unknown
from verify.stack.inventory import Inventory, Resource

_GONE = "gone"  # a live value that is simply absent (no redrive policy, no rotation)


@dataclass(frozen=True)
class Live:
    """A live value: `value` compared with the declared one, `shown` in AWS's own words."""

    value: Any
    shown: str


# Reads one declared property's live value by its name; None: not a property this check compares.
Reader = Callable[[str], "Live | None"]


def _live(value: Any, shown: Any = None) -> Live:
    return Live(value, str(value if shown is None else shown))


# ---------------------------------------------------------------- comparing


def _key_id(value: str) -> str:
    """A KMS key by its id: `arn:...:key/1234` and `1234` are one key (an alias is not its key)."""
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") and ":key/" in value else value


def _arn_name(arn: str) -> str:
    """The name an ARN ends with: `...:queue-name`, `...:function:name`, `.../name`."""
    tail = arn.split(":", 5)[-1] if arn.startswith("arn:") else arn
    tail = tail.split(":")[1] if tail.startswith("function:") else tail
    return tail.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _equal(name: str, declared: Any, live: Any) -> bool:
    if isinstance(declared, bool) or isinstance(live, bool):
        return bool(declared) == bool(live) if live is not None else declared is False
    if isinstance(declared, int | float) and isinstance(live, int | float):
        return float(declared) == float(live)
    if name == "engine_version" and isinstance(declared, str) and isinstance(live, str):
        # `EngineVersion: "15"` asks for the newest 15.x: 15.7 is what it asked for.
        return live == declared or live.startswith(declared + ".")
    if name == "rotation_function" and isinstance(declared, str) and declared.startswith("hosted: "):
        # A hosted rotation's function is built by CloudFormation under a name of its own: any function.
        return isinstance(live, str) and live.startswith("arn:")
    if name in ("sse_kms_key", "kms_key") and isinstance(declared, str) and isinstance(live, str):
        return _key_id(declared) == _key_id(live)
    if isinstance(declared, str) and isinstance(live, str):
        return declared.lower() == live.lower()
    return bool(declared == live)


def _points_at(live: Any, target: DeclaredResource | None, inventory: Inventory) -> bool | None:
    """Whether the live ARN names the resource `target` was mapped to (None: verify cannot tell)."""
    if target is None or target.mapped_to is None or not isinstance(live, str):
        return None
    resource = next((r for r in inventory.resources if r.key == target.mapped_to), None)
    if resource is None:
        return None
    if resource.arn:
        return live == resource.arn
    return _arn_name(live) == resource.name


@dataclass
class Verdict:
    """Each declared property of one resource, judged."""

    matched: dict[str, str]
    differs: list[tuple[DeclaredProperty, Live]]
    unknown: dict[str, str]


def judge(
    declared: Sequence[DeclaredProperty],
    live: Reader,
    *,
    inventory: Inventory,
    siblings: Iterable[DeclaredResource] = (),
) -> Verdict:
    """Compare every declared property that `live` can read (`live` returns None for a property this
    check does not compare). `siblings`: the template's other resources, for references to them."""
    by_id = {r.logical_id: r for r in siblings}
    verdict = Verdict({}, [], {})
    names = {p.name for p in declared}
    for prop in declared:
        if prop.name == "rotation_schedule" and "rotation_days" in names:
            continue  # `rate(30 days)` is judged once, as its period (a cron has no period: judged as written)
        unknown = first_unknown(prop.value)
        # A reference to another declared resource can still be judged: by what it names.
        target = by_id.get(prop.value.refers_to or "") if isinstance(prop.value, Unknown) else None
        if unknown is not None and target is None:
            verdict.unknown[prop.name] = f"{prop.declared()}: {unknown}"
            continue
        seen = live(prop.name)
        if seen is None:  # not a property this check compares
            continue
        if target is None:
            same: bool | None = _equal(prop.name, prop.value, seen.value)
        else:
            same = _points_at(seen.value, target, inventory)
            if same is None:
                verdict.unknown[prop.name] = f"{prop.declared()}: {unknown}"
                continue
        if same:
            said = f" (the resource {target.logical_id} is)" if target is not None else ""
            verdict.matched[prop.name] = seen.shown + said
        else:
            verdict.differs.append((prop, seen))
    return verdict


def conclude(subject: str, resource: str, verdict: Verdict, not_compared: str = "") -> dict[str, Any]:
    """The evidence of a verdict; `CheckFailed` when a known declared value differs live;
    `NotApplicable` when nothing declared could be compared."""
    __tracebackhide__ = True
    evidence: dict[str, Any] = {"as_declared": verdict.matched}
    if verdict.unknown:
        evidence["not_compared"] = verdict.unknown
    if verdict.differs:
        said = "; ".join(f"{p.declared()}, live: {seen.shown}" for p, seen in verdict.differs)
        raise CheckFailed(
            f"{subject} is not as its template declares (expected the declared value, got the live one): {said}",
            resource=resource,
            expected={p.name: p.as_declared() for p, _ in verdict.differs},
            actual={p.name: seen.shown for p, seen in verdict.differs},
            evidence=evidence,
        )
    if not verdict.matched:
        reasons = (
            "; ".join(verdict.unknown.values())
            or not_compared
            or "it declares none of the properties compared"
        )
        raise NotApplicable(f"{subject}: nothing its template declares can be compared: {reasons}")
    return evidence


def declared_of(declared: Sequence[DeclaredResource], part: str | None = None) -> list[DeclaredResource]:
    return [r for r in declared if r.part == part]


def properties(declared: Sequence[DeclaredResource]) -> list[DeclaredProperty]:
    return [p for r in declared for p in r.properties]


# ---------------------------------------------------------------- live readers, one per kind


def dynamodb_live(client: Any, table: str) -> Reader:
    from verify.probes.dynamodb import describe_table

    answers: dict[str, Any] = {}

    def table_facts() -> dict[str, Any]:
        if "table" not in answers:
            answers["table"] = describe_table(client, table)
        return dict(answers["table"])

    def read(name: str) -> Live | None:
        if name == "pitr":
            with aws_errors(
                "dynamodb", "DescribeContinuousBackups", table, subject=f"DynamoDB table `{table}`"
            ):
                backups = client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
            status = str(
                backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED")
            )
            return _live(status == "ENABLED", status)
        if name in ("sse", "sse_type", "sse_kms_key"):
            sse = table_facts().get("SSEDescription") or {}
            if name == "sse":
                status = str(sse.get("Status", "no SSEDescription (the AWS-owned key)"))
                return _live(status in ("ENABLED", "UPDATING"), status)
            if name == "sse_type":
                return _live(sse.get("SSEType"), sse.get("SSEType") or "no SSEDescription")
            return _live(sse.get("KMSMasterKeyArn"), sse.get("KMSMasterKeyArn") or "no KMS key")
        if name in ("stream_enabled", "stream_view_type"):
            spec = table_facts().get("StreamSpecification") or {}
            if name == "stream_enabled":
                enabled = bool(spec.get("StreamEnabled"))
                return _live(enabled, "stream enabled" if enabled else "no stream")
            return _live(spec.get("StreamViewType"), spec.get("StreamViewType") or "no stream")
        if name in ("ttl_enabled", "ttl_attribute"):
            with aws_errors("dynamodb", "DescribeTimeToLive", table, subject=f"DynamoDB table `{table}`"):
                ttl = client.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
            status = str(ttl.get("TimeToLiveStatus", "DISABLED"))
            if name == "ttl_enabled":
                return _live(status in ("ENABLED", "ENABLING"), status)
            return _live(ttl.get("AttributeName"), ttl.get("AttributeName") or f"TTL {status}")
        return None

    return read


def lambda_live(aws: Any, function: str) -> Reader:
    from verify.probes.lambda_ import function_configuration

    client = aws.client("lambda")
    answers: dict[str, Any] = {}

    def config() -> dict[str, Any]:
        if "config" not in answers:
            answers["config"] = function_configuration(client, function)
        return dict(answers["config"])

    def read(name: str) -> Live | None:
        simple = {"runtime": "Runtime", "timeout": "Timeout", "memory_size": "MemorySize"}
        if name in simple:
            return _live(config().get(simple[name]))
        if name == "tracing":
            mode = (config().get("TracingConfig") or {}).get("Mode", "PassThrough")
            return _live(mode)
        if name == "dlq_target":
            target = (config().get("DeadLetterConfig") or {}).get("TargetArn")
            return _live(target, target or "no dead-letter queue")
        if name == "reserved_concurrency":
            with aws_errors("lambda", "GetFunctionConcurrency", function):
                reserved = client.get_function_concurrency(FunctionName=function).get(
                    "ReservedConcurrentExecutions"
                )
            return _live(reserved, "none reserved" if reserved is None else reserved)
        if name == "on_failure_destination":
            try:
                with aws_errors("lambda", "GetFunctionEventInvokeConfig", function):
                    answer = client.get_function_event_invoke_config(FunctionName=function)
            except CheckFailed:  # no event-invoke config at all: no destination
                return _live(None, "no on-failure destination")
            found = ((answer.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            return _live(found, found or "no on-failure destination")
        if name == "log_retention_days":
            from verify.probes.logs import log_group

            group = (config().get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{function}"
            found = log_group(aws.client("logs"), group)
            days = found.get("retentionInDays")
            return _live(days, f"{days} days" if days else f"log group {group} keeps logs forever")
        return None

    return read


def sqs_live(facts: Any) -> Reader:
    import json

    attributes: dict[str, Any] = dict(facts.attributes)

    def read(name: str) -> Live | None:
        if name == "visibility_timeout":
            value = attributes.get("VisibilityTimeout")
            return _live(int(value) if value is not None else None, value)
        if name in ("redrive_target", "max_receive_count"):
            try:
                policy = json.loads(attributes.get("RedrivePolicy") or "{}")
            except ValueError:
                policy = {}
            if not policy:
                return _live(None, "no redrive policy")
            if name == "redrive_target":
                return _live(policy.get("deadLetterTargetArn"))
            count = policy.get("maxReceiveCount")
            return _live(int(count) if count is not None else None, count)
        return None

    return read


def kinesis_live(client: Any, stream: str) -> Reader:
    from verify.probes.kinesis import summary

    answers: dict[str, Any] = {}

    def read(name: str) -> Live | None:
        if name not in ("retention_hours", "encryption", "kms_key"):
            return None
        if "summary" not in answers:
            answers["summary"] = summary(client, stream)
        found = answers["summary"]
        if name == "retention_hours":
            hours = found.get("RetentionPeriodHours")
            return _live(hours, f"{hours} hours")
        if name == "encryption":
            return _live(found.get("EncryptionType", "NONE"))
        return _live(found.get("KeyId"), found.get("KeyId") or "no KMS key")

    return read


_RDS_FIELDS = {
    "engine": "Engine",
    "engine_version": "EngineVersion",
    "instance_class": "DBInstanceClass",
    "multi_az": "MultiAZ",
    "storage_encrypted": "StorageEncrypted",
    "deletion_protection": "DeletionProtection",
    "backup_retention_days": "BackupRetentionPeriod",
}


def rds_live(described: dict[str, Any]) -> Reader:
    def read(name: str) -> Live | None:
        field = _RDS_FIELDS.get(name)
        if field is None or (field == "DBInstanceClass" and field not in described):
            return None  # a cluster has no instance class of its own
        value = described.get(field)
        return _live(value, f"{field} {value}")

    return read


def describe_cluster(client: Any, identifier: str) -> dict[str, Any]:
    with aws_errors("rds", "DescribeDBClusters", identifier, subject=f"RDS cluster `{identifier}`"):
        found = client.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
    return dict(found[0]) if found else {}


def elasticache_live(facts: dict[str, Any]) -> Reader:
    fields = {
        "transit_encryption": "TransitEncryptionEnabled",
        "at_rest_encryption": "AtRestEncryptionEnabled",
        "engine": "Engine",
        "engine_version": "EngineVersion",
    }

    def read(name: str) -> Live | None:
        field = fields.get(name)
        if field is None or (name in ("engine", "engine_version") and field not in facts):
            return None  # a replication group does not report its engine version
        value = facts.get(field)
        return _live(bool(value) if name.endswith("encryption") else value, f"{field} {value}")

    return read


def secret_live(described: dict[str, Any]) -> Reader:
    from verify.probes.secretsmanager import rotation_days

    rules = described.get("RotationRules") or {}
    enabled = bool(described.get("RotationEnabled"))

    def read(name: str) -> Live | None:
        if name == "rotation_days":
            if not enabled:
                return _live(None, "rotation off")
            days = rotation_days(rules)
            spelled = (
                rules.get("ScheduleExpression")
                or f"AutomaticallyAfterDays: {rules.get('AutomaticallyAfterDays')}"
            )
            return _live(days, f"{days:g} days ({spelled})" if days is not None else spelled)
        if name == "rotation_schedule":
            return _live(
                rules.get("ScheduleExpression") if enabled else None,
                rules.get("ScheduleExpression") or "rotation off",
            )
        if name == "rotation_function":
            found = described.get("RotationLambdaARN")
            return _live(found, found or "no rotation function")
        return None

    return read


def ecs_live(described: dict[str, Any]) -> Reader:
    def read(name: str) -> Live | None:
        if name != "desired_count":
            return None
        return _live(described.get("desiredCount"), f"desiredCount {described.get('desiredCount')}")

    return read


def efs_live(described: dict[str, Any]) -> Reader:
    def read(name: str) -> Live | None:
        if name == "encrypted":
            return _live(bool(described.get("Encrypted")), f"Encrypted {described.get('Encrypted')}")
        if name == "kms_key":
            return _live(described.get("KmsKeyId"), described.get("KmsKeyId") or "no KMS key")
        return None

    return read


# ---------------------------------------------------------------- API Gateway: a stage, its methods


def api_stage_live(client: Any, api_id: str, stage: str) -> Reader:
    from verify.probes.apigateway import ApiTarget, get_stage

    answers: dict[str, Any] = {}

    def read(name: str) -> Live | None:
        if name not in ("tracing", "throttling_rate_limit", "throttling_burst_limit"):
            return None
        if "stage" not in answers:
            answers["stage"] = get_stage(client, ApiTarget(api_id, stage, "template"))
        found = answers["stage"]
        if name == "tracing":
            on = bool(found.get("tracingEnabled"))
            return _live(on, f"tracingEnabled {str(on).lower()}")
        settings = (found.get("methodSettings") or {}).get("*/*") or {}
        field = "throttlingRateLimit" if name == "throttling_rate_limit" else "throttlingBurstLimit"
        value = settings.get(field)
        return _live(value, f"{field} {value}" if value is not None else "no stage-wide throttling")

    return read


_VERB_PATH = re.compile(r"^([A-Z]+)\s+(\S+)$")


def api_methods_live(client: Any, api_id: str, v2_client: Any | None = None) -> Reader:
    """`method <VERB> <path>` → the live method's (or HTTP API route's) authorization type."""
    answers: dict[str, dict[str, str]] = {}

    def read(name: str) -> Live | None:
        if not name.startswith("method "):
            return None
        if "methods" not in answers:
            from verify.probes.apigateway import api_kind, http_routes, methods

            if v2_client is not None and api_kind(client, api_id, v2_client) == "HTTP":
                rows = http_routes(v2_client, api_id)
                answers["methods"] = {str(r.get("route")): str(r.get("authorization")) for r in rows}
            else:
                answers["methods"] = {
                    f"{m['method']} {m['path']}": m["authorization"] for m in methods(client, api_id)
                }
        label = name.split(" ", 1)[1]
        found = answers["methods"].get(label)
        return _live(found, f"{label}: {found}" if found else f"no method {label}")

    return read


def labelled(resource: DeclaredResource) -> list[DeclaredProperty]:
    """A method's `authorization`, named after its method (`method POST /ingest`). Its sentence says
    "authorization (POST /ingest): NONE": "authorization: X" reads as a credential and is masked."""
    from dataclasses import replace

    return [
        replace(
            p,
            name=f"method {resource.label}",
            written=f"{p.written.rsplit('.', 1)[-1]} ({resource.label})",
            whole_path=True,
        )
        if p.name == "authorization"
        else p
        for p in resource.properties
    ]


def resource_of(inventory: Inventory, key: str) -> Resource | None:
    return next((r for r in inventory.resources if r.key == key), None)


def unreadable(reason: str) -> VerifyError:
    return VerifyError(f"the stack's template could not be read: {reason}")


def declared_for(intent: Any, resource: Resource, what: str) -> list[DeclaredResource]:
    """What the run's templates (`verify.intent.run.RunIntent`) declare for `resource` (`what` names it
    in messages). Not applicable without a template or a declaration; could not verify when a found
    template was unreadable."""
    __tracebackhide__ = True
    if intent.broken:
        raise unreadable(intent.broken)
    if intent.missing:
        raise NotApplicable(f"{what}: no template declares its intent ({intent.missing})")
    try:
        found: list[DeclaredResource] = intent.declared_for(resource.key)
    except LookupError as exc:
        raise NotApplicable(f"{what}: {exc}") from None
    if not found:
        sources = ", ".join(intent.sources)
        raise NotApplicable(
            f"{what}: not declared in {sources} (no declared resource maps to it), so only the advisory "
            "posture checks speak for it"
        )
    return found


def siblings(intent: Any) -> list[DeclaredResource]:
    """Every declared resource of the run's templates: references point at them."""
    return [r for i in intent.intents for r in i.resources]
