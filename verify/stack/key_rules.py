"""What an output *key* says: its kind word, whether it is a plain setting, and the role it plays.

Keys come in every convention (`RawSensorTableName`, `raw_sensor_table_name`, `rawSensorTableName`,
`ApiEndpoint760E02C8`, `KinesisStreamNamedev`, `queue_url_staging`); all are reduced to lower-case
words first, then read with the tables below. The head noun wins: the kind word closest to the end of
the key (`ProcessorFunctionLogGroupName` is a log group, `DbSecretArn` a secret).
"""

from __future__ import annotations

import re

from verify.stack.kinds import Kind
from verify.stack.values import ENV_WORDS, REFERENCE_WORDS, key_words, split_words

# Adjacent words that mean one thing together.
COMPOUNDS: dict[tuple[str, str], str] = {
    ("log", "group"): "loggroup",
    ("log", "stream"): "logstream",
    ("security", "group"): "securitygroup",
    ("security", "groups"): "securitygroup",
    ("state", "machine"): "statemachine",
    ("step", "function"): "statemachine",
    ("step", "functions"): "statemachine",
    ("event", "bus"): "eventbus",
    ("dead", "letter"): "deadletter",
    ("file", "system"): "filesystem",
    ("replication", "group"): "replicationgroup",
    ("cache", "cluster"): "elasticache",
    ("dynamo", "db"): "dynamodb",
    ("rest", "api"): "api",
    ("http", "api"): "api",
    ("api", "gateway"): "api",
    ("api", "key"): "apikey",
    ("access", "key"): "accesskey",
    ("secret", "key"): "secretkey",
    ("private", "key"): "privatekey",
    ("account", "id"): "accountid",
    ("availability", "zone"): "az",
    ("parameter", "store"): "ssm",
    ("parameter", "group"): "parametergroup",
    ("subnet", "group"): "subnetgroup",
    ("target", "group"): "targetgroup",
    ("load", "balancer"): "loadbalancer",
    ("user", "pool"): "userpool",
    ("hosted", "zone"): "hostedzone",
}

_KIND_WORDS: dict[Kind, tuple[str, ...]] = {
    Kind.DYNAMODB_TABLE: ("table", "tables", "ddb", "dynamo", "dynamodb"),
    Kind.SQS_QUEUE: ("queue", "queues", "sqs", "dlq", "deadletter", "deadletterqueue"),
    Kind.SNS_TOPIC: ("topic", "topics", "sns", "alerts"),
    Kind.KINESIS_STREAM: ("stream", "streams", "kinesis"),
    Kind.RDS_INSTANCE: ("db", "database", "rds", "postgres", "postgresql", "mysql", "mariadb", "rdsinstance"),
    Kind.RDS_CLUSTER: ("aurora",),
    Kind.LAMBDA_FUNCTION: ("function", "functions", "lambda", "fn"),
    Kind.LOG_GROUP: ("loggroup", "logs", "log"),
    Kind.SECRET: ("secret", "secrets"),
    Kind.SSM_PARAMETER: ("parameter", "parameters", "param", "ssm"),
    Kind.S3_BUCKET: ("bucket", "buckets", "s3"),
    Kind.ELASTICACHE: ("redis", "cache", "elasticache", "memcached", "valkey", "replicationgroup"),
    Kind.EFS_FILESYSTEM: ("efs", "filesystem"),
    Kind.VPC: ("vpc",),
    Kind.SUBNET: ("subnet", "subnets"),
    Kind.SECURITY_GROUP: ("securitygroup", "sg", "sgs"),
    Kind.KMS_KEY: ("kms", "cmk", "key"),
    Kind.ALARM: ("alarm", "alarms"),
    Kind.STATE_MACHINE: ("statemachine", "sfn"),
    Kind.EVENT_BUS: ("eventbus", "bus"),
    Kind.IAM_ROLE: ("role",),
    Kind.API: ("api", "apis", "graphql", "restapi"),
}
KIND_OF_WORD: dict[str, Kind] = {word: kind for kind, words in _KIND_WORDS.items() for word in words}

# Head words that only mean something next to another word: (head, context words, kind).
CONTEXT_RULES: tuple[tuple[str, frozenset[str], Kind], ...] = (
    ("cluster", frozenset({"ecs", "fargate"}), Kind.ECS_CLUSTER),
    (
        "cluster",
        frozenset({"db", "database", "rds", "aurora", "postgres", "postgresql", "mysql"}),
        Kind.RDS_CLUSTER,
    ),
    ("cluster", frozenset({"redis", "cache", "elasticache", "memcached", "valkey"}), Kind.ELASTICACHE),
    ("service", frozenset({"ecs", "fargate"}), Kind.ECS_SERVICE),
    ("stream", frozenset({"table", "ddb", "dynamo", "dynamodb"}), Kind.DYNAMODB_TABLE),
    ("db", frozenset({"cluster"}), Kind.RDS_CLUSTER),
)
CONTEXT_HEADS = frozenset(head for head, _, _ in CONTEXT_RULES)

# Words that say a key names an API (an http(s) value with one of them is an `api`). A key that merely
# holds a URL (`DashboardUrl`, `SlackWebhookUrl`, `DocsLink`) is no API: classed `api`, smoke would
# sign GETs to it and the flow would post its reading there.
API_WORDS = frozenset({"api", "endpoint", "invoke"})

# A key whose head word is one of these holds a plain setting, whatever service it mentions.
SCALAR_WORDS = frozenset(
    {
        "port", "ports", "region", "stage", "env", "environment", "account", "accountid", "version",
        "timeout", "count", "size", "memory", "retention", "days", "level", "mode", "enabled", "az",
        "zone", "type", "class", "engine", "apikey", "accesskey", "secretkey", "privatekey", "password",
        "passwd", "pwd", "token", "username", "user", "capacity", "concurrency", "tier", "cidr", "domain",
        "limit", "threshold", "interval", "arch", "runtime", "handler",
    }
)  # fmt: skip

ROLE_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("dlq", frozenset({"dlq", "dlqs", "deadletter", "deadletterqueue"})),
    (
        "processed",
        frozenset(
            {"processed", "enriched", "transformed", "curated", "aggregated", "clean", "cleaned", "output"}
        ),
    ),
    ("raw", frozenset({"raw", "ingest", "ingested", "incoming", "landing", "input", "source"})),
)

# Words that say how a key refers to its resource; `parameter` is a kind word here, not a reference.
_POINTER_WORDS = REFERENCE_WORDS - {"parameter", "param"}
# CDK names cross-stack exports `ExportsOutputRef<Construct><hash>`; "Output" there is no role word.
_CDK_EXPORT_PREFIX = re.compile(r"^ExportsOutput(?:Ref|FnGetAtt)")
_PR_ENV = re.compile(r"pr\d+")
_ALWAYS_ENV = ENV_WORDS - {"stage", "test"}  # `ApiStage`, `TestTable`: these two also mean something


def join_compounds(words: list[str]) -> list[str]:
    joined: list[str] = []
    for word in words:
        if joined and (joined[-1], word) in COMPOUNDS:
            joined[-1] = COMPOUNDS[(joined[-1], word)]
        else:
            joined.append(word)
    return joined


def strip_env_suffix(words: list[str]) -> list[str]:
    """Drop environment names glued onto the end of a key: `...Namedev`, `..._staging`, `...-pr123`."""
    out = list(words)
    while len(out) > 1:
        last = out[-1]
        if last.isdigit() and out[-2] == "pr" and len(out) > 2:
            del out[-2:]
        elif (
            _PR_ENV.fullmatch(last)
            or last in _ALWAYS_ENV
            or (last in {"stage", "test"} and out[-2] in REFERENCE_WORDS)
        ):
            out.pop()
        else:
            break
    if out:
        last = out[-1]
        for env in sorted(ENV_WORDS, key=len, reverse=True):
            stem = last[: -len(env)]
            if last.endswith(env) and (stem in REFERENCE_WORDS or stem in KIND_OF_WORD):
                out[-1] = stem
                break
    return out


def key_terms(key: str) -> list[str]:
    """The meaningful words of an output key, with hash and environment suffixes gone."""
    words = key_words(_CDK_EXPORT_PREFIX.sub("", key))
    return join_compounds(strip_env_suffix(words) or words)


def name_terms(name: str) -> list[str]:
    return join_compounds(split_words(name))


def head_words(terms: list[str]) -> list[str]:
    """The key's words from the end, without reference words (`Name`, `Arn`, `Url`) and numbers."""
    return [w for w in reversed(terms) if w not in _POINTER_WORDS and not w.isdigit()]


def is_setting_key(terms: list[str]) -> bool:
    heads = head_words(terms)
    if terms[-2:] in (["database", "name"], ["db", "name"]) or terms[-1:] == ["dbname"]:
        return True  # `DatabaseName` is the schema inside the server (RDS's own DBName), not an instance
    return bool(heads) and heads[0] in SCALAR_WORDS


def kind_from_key(terms: list[str]) -> Kind | None:
    """The kind named by the key's head noun, or None when the key names no service."""
    context = set(terms)
    for word in head_words(terms):
        if word in CONTEXT_HEADS:
            for head, needs, kind in CONTEXT_RULES:
                if head == word and needs & context:
                    return kind
        if word in KIND_OF_WORD:
            return KIND_OF_WORD[word]
    return None


def says_api(terms: list[str]) -> bool:
    return bool(API_WORDS.intersection(terms))


def role_from(terms: list[str]) -> str | None:
    present = set(terms)
    for role, words in ROLE_WORDS:
        if words & present:
            return role
    return None
