"""What an output *value* says on its own: ARNs, AWS and emulator URLs, endpoint hosts, resource ids.

Pure and table-driven: each table row is (pattern, kind); the first row that matches wins. Returns
`ValueFacts`, or None when the value carries no signal and the key's words must decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from verify.stack.kinds import Kind

_PARTITIONS = "aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b"
_ARN = re.compile(
    rf"^arn:(?:{_PARTITIONS}):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{{12}}|aws)?:"
    r"(?P<resource>.+)$"
)
REGION = re.compile(r"^(?:us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso|us-isob)-[a-z]+-\d{1,2}$")


@dataclass(frozen=True)
class ValueFacts:
    kind: str
    name: str
    region: str | None = None
    account: str | None = None
    arn: str | None = None
    url: str | None = None


# (service, resource pattern with a `name` group, kind). Secrets Manager appends `-` and 6 random
# characters to a secret's name in its ARN; the name is the part before.
_ARN_RULES: tuple[tuple[str, re.Pattern[str], Kind], ...] = tuple(
    (service, re.compile(pattern), kind)
    for service, pattern, kind in (
        ("dynamodb", r"^table/(?P<name>[^/]+)(?:/.*)?$", Kind.DYNAMODB_TABLE),
        ("sqs", r"^(?P<name>[^:/]+)$", Kind.SQS_QUEUE),
        ("sns", r"^(?P<name>[^:/]+)(?::.*)?$", Kind.SNS_TOPIC),
        ("kinesis", r"^stream/(?P<name>[^/]+)(?:/.*)?$", Kind.KINESIS_STREAM),
        ("rds", r"^db:(?P<name>.+)$", Kind.RDS_INSTANCE),
        ("rds", r"^cluster:(?P<name>.+)$", Kind.RDS_CLUSTER),
        ("lambda", r"^function:(?P<name>[^:]+)(?::.*)?$", Kind.LAMBDA_FUNCTION),
        ("logs", r"^log-group:(?P<name>.+?)(?::\*|:log-stream:.*)?$", Kind.LOG_GROUP),
        ("secretsmanager", r"^secret:(?P<name>.+?)(?:-[A-Za-z0-9]{6})?$", Kind.SECRET),
        ("ssm", r"^parameter(?P<name>/.+)$", Kind.SSM_PARAMETER),
        ("s3", r"^(?P<name>[^/]+)(?:/.*)?$", Kind.S3_BUCKET),
        ("ecs", r"^cluster/(?P<name>.+)$", Kind.ECS_CLUSTER),
        ("ecs", r"^service/(?:[^/]+/)?(?P<name>[^/]+)$", Kind.ECS_SERVICE),
        ("elasticache", r"^(?:cluster|replicationgroup|serverlesscache):(?P<name>.+)$", Kind.ELASTICACHE),
        ("elasticfilesystem", r"^file-system/(?P<name>.+)$", Kind.EFS_FILESYSTEM),
        ("ec2", r"^vpc/(?P<name>.+)$", Kind.VPC),
        ("ec2", r"^subnet/(?P<name>.+)$", Kind.SUBNET),
        ("ec2", r"^security-group/(?P<name>.+)$", Kind.SECURITY_GROUP),
        ("kms", r"^key/(?P<name>.+)$", Kind.KMS_KEY),
        ("kms", r"^(?P<name>alias/.+)$", Kind.KMS_KEY),
        ("cloudwatch", r"^alarm:(?P<name>.+)$", Kind.ALARM),
        ("states", r"^stateMachine:(?P<name>[^:]+)$", Kind.STATE_MACHINE),
        ("events", r"^event-bus/(?P<name>.+)$", Kind.EVENT_BUS),
        ("iam", r"^role/(?:.*/)?(?P<name>[^/]+)$", Kind.IAM_ROLE),
        ("execute-api", r"^(?P<name>[a-z0-9]+)(?:/.*)?$", Kind.API),
        ("apigateway", r"^/restapis/(?P<name>[^/]+)(?:/.*)?$", Kind.API),
        ("apigateway", r"^/apis/(?P<name>[^/]+)(?:/.*)?$", Kind.API),
    )
)

_AWS_SUFFIX = r"\.amazonaws\.com(?:\.cn)?"
_LOCALSTACK = r"\.localhost\.localstack\.cloud"
# (host pattern, kind, how the name is found: "host" = the `name` group, "path" = last path segment).
_HOST_RULES: tuple[tuple[re.Pattern[str], Kind, str], ...] = tuple(
    (re.compile(pattern), kind, source)
    for pattern, kind, source in (
        (rf"^(?P<name>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+){_AWS_SUFFIX}$", Kind.API, "host"),
        (rf"^(?P<name>[a-z0-9]+)\.execute-api{_LOCALSTACK}$", Kind.API, "host"),
        (r"^(?P<name>[a-z0-9]+)\.lambda-url\.(?P<region>[a-z0-9-]+)\.on\.aws$", Kind.API, "host"),
        (rf"^sqs\.(?P<region>[a-z0-9-]+){_AWS_SUFFIX}$", Kind.SQS_QUEUE, "path"),
        (r"^sqs\.(?P<region>[a-z0-9-]+)\.api\.aws$", Kind.SQS_QUEUE, "path"),
        (rf"^(?:(?P<region>[a-z0-9-]+)\.)?queue{_AWS_SUFFIX}$", Kind.SQS_QUEUE, "path"),
        (rf"^sqs\.(?P<region>[a-z0-9-]+){_LOCALSTACK}$", Kind.SQS_QUEUE, "path"),
        (
            rf"^(?P<name>[a-z0-9-]+)\.cluster-(?:ro-|custom-)?[a-z0-9]+\.(?P<region>[a-z0-9-]+)\.rds{_AWS_SUFFIX}$",
            Kind.RDS_CLUSTER,
            "host",
        ),
        (
            rf"^(?P<name>[a-z0-9-]+)\.[a-z0-9]+\.(?P<region>[a-z0-9-]+)\.rds{_AWS_SUFFIX}$",
            Kind.RDS_INSTANCE,
            "host",
        ),
        (
            rf"^(?:master\.|clustercfg\.|replica\.)(?P<name>[a-z0-9-]+)\.[a-z0-9.-]+\.cache{_AWS_SUFFIX}$",
            Kind.ELASTICACHE,
            "host",
        ),
        (rf"^(?P<name>[a-z0-9-]+)\.[a-z0-9.-]+\.cache{_AWS_SUFFIX}$", Kind.ELASTICACHE, "host"),
        (
            rf"^(?:[a-z0-9-]+\.)?(?P<name>fs-[a-z0-9]+)\.efs\.(?P<region>[a-z0-9-]+){_AWS_SUFFIX}$",
            Kind.EFS_FILESYSTEM,
            "host",
        ),
        (
            r"^(?P<name>[a-z0-9.-]+)\.s3[.-](?:website[.-])?(?:(?P<region>[a-z]{2}-[a-z-]+-\d)\.)?"
            r"(?:dualstack\.)?amazonaws\.com$",
            Kind.S3_BUCKET,
            "host",
        ),
    )
)

# Ids whose prefix names the resource type. EC2 instances (`i-`) have no kind in the vocabulary.
_ID_RULES: tuple[tuple[re.Pattern[str], Kind], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"^vpc-[0-9a-f]{8,17}$", Kind.VPC),
        (r"^subnet-[0-9a-f]{8,17}$", Kind.SUBNET),
        (r"^sg-[0-9a-f]{8,17}$", Kind.SECURITY_GROUP),
        (r"^fs-[0-9a-f]{8,17}$", Kind.EFS_FILESYSTEM),
        (r"^alias/[A-Za-z0-9/_-]+$", Kind.KMS_KEY),
        (
            r"^/aws/(?:lambda|apigateway|ecs|rds|states|vendedlogs|codebuild|events|kinesis|api-gateway)/\S+$",
            Kind.LOG_GROUP,
        ),
    )
)

_LOCAL_HOSTS = re.compile(
    r"^(?:localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[::1\]|::1|host\.docker\.internal|"
    r"[a-z0-9.-]*localstack[a-z0-9.-]*|[a-z0-9-]+\.local)$"
)
_SQS_PATH = re.compile(r"^/(?P<account>\d{12})/(?P<name>[A-Za-z0-9_-]{1,80}(?:\.fifo)?)/?$")
_RESTAPI_PATH = re.compile(r"^/restapis/(?P<name>[a-z0-9]+)/")
_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")


def parse_arn(value: str) -> ValueFacts | None:
    match = _ARN.match(value)
    if not match:
        return None
    service, resource = match["service"], match["resource"]
    region, account = match["region"] or None, match["account"]
    if service == "ssm" and resource.startswith("parameter/"):
        rest = resource[len("parameter/") :]
        # Hierarchical names keep their leading slash; the ARN drops it.
        name = "/" + rest if "/" in rest else rest
        return ValueFacts(Kind.SSM_PARAMETER, name, region, account, arn=value)
    for rule_service, pattern, kind in _ARN_RULES:
        if rule_service == service and (found := pattern.match(resource)):
            return ValueFacts(kind, found["name"], region, account if account != "aws" else None, arn=value)
    return ValueFacts(Kind.UNKNOWN, resource, region, account, arn=value)


def parse_url(value: str) -> ValueFacts | None:
    """Kind of an http(s) URL whose host or path tells it; None for URLs that need the key's words."""
    if not value.lower().startswith(("http://", "https://")):
        return None
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    path = parts.path or "/"
    facts = _match_host(host, path)
    if facts is not None:
        return ValueFacts(facts.kind, facts.name, facts.region, facts.account, url=value)
    if _LOCAL_HOSTS.match(host) or host.endswith(".localstack.cloud"):
        if sqs := _SQS_PATH.match(path):
            return ValueFacts(Kind.SQS_QUEUE, sqs["name"], None, sqs["account"], url=value)
        if api := _RESTAPI_PATH.match(path):
            return ValueFacts(Kind.API, api["name"], url=value)
    return None


def parse_host(value: str) -> ValueFacts | None:
    """Kind of a bare endpoint host or `host:port` (RDS, ElastiCache, EFS)."""
    host_port = _HOST_PORT.match(value)
    host = (host_port["host"] if host_port else value).lower()
    if "/" in host or not host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return None
    facts = _match_host(host, "/")
    if facts is None or facts.kind in {Kind.API, Kind.SQS_QUEUE}:
        return None
    return facts


def _match_host(host: str, path: str) -> ValueFacts | None:
    for pattern, kind, source in _HOST_RULES:
        match = pattern.match(host)
        if not match:
            continue
        groups = match.groupdict()
        region = groups.get("region") or None
        if source == "path":
            sqs = _SQS_PATH.match(path)
            if sqs is None:
                continue
            return ValueFacts(kind, sqs["name"], region, sqs["account"])
        return ValueFacts(kind, groups["name"], region)
    return None


def parse_id(value: str) -> ValueFacts | None:
    for pattern, kind in _ID_RULES:
        if pattern.match(value):
            return ValueFacts(kind, value)
    return None


def value_facts(value: str) -> ValueFacts | None:
    """The kind a value proves by its shape alone, most certain signal first."""
    for parse in (parse_arn, parse_url, parse_host, parse_id):
        facts = parse(value)
        if facts is not None:
            return facts
    return None


def url_host(value: str) -> str | None:
    """`host[:port]` of an http(s) URL, for naming APIs the tables do not know."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return parts.netloc.rsplit("@", 1)[-1]
