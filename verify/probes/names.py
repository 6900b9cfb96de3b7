"""AWS's length and character rules for the names a template declares, for `verify preflight`.

A name that breaks them fails the deploy at the resource that declares it, minutes in, and rolls the
stack back. Each rule is the one the service's API reference (or CloudFormation's resource reference)
states for the name's parameter; the sentence it gives names the rule broken.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from verify.stack.kinds import Kind

Extra = Callable[[str], str | None]


@dataclass(frozen=True)
class NameRule:
    what: str  # "DynamoDB table name"
    low: int
    high: int
    allowed: str  # a regex character class body
    allowed_said: str  # how the sentence says it
    extra: tuple[Extra, ...] = ()


def _starts_with_letter(name: str) -> str | None:
    return None if name[:1].isascii() and name[:1].isalpha() else "must begin with a letter"


def _no_double_or_trailing_hyphen(name: str) -> str | None:
    if "--" in name:
        return "must not contain two consecutive hyphens"
    return "must not end with a hyphen" if name.endswith("-") else None


def _bucket(name: str) -> str | None:
    if not (name[:1].isalnum() and name[-1:].isalnum()):
        return "must begin and end with a letter or digit"
    if ".." in name:
        return "must not contain two adjacent periods"
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", name):
        return "must not be formatted as an IP address"
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            return f"must not begin with the reserved prefix {prefix!r}"
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            return f"must not end with the reserved suffix {suffix!r}"
    return None


def _log_group(name: str) -> str | None:
    return "must not begin with 'aws/' (reserved for AWS)" if name.startswith("aws/") else None


def _kms_alias(name: str) -> str | None:
    if not name.startswith("alias/"):
        return "must begin with 'alias/'"
    return "must not begin with 'alias/aws/' (reserved for AWS)" if name.startswith("alias/aws/") else None


_DB_ID = (_starts_with_letter, _no_double_or_trailing_hyphen)

# kind -> rule; ElastiCache's identifiers differ by type (below).
RULES: dict[str, NameRule] = {
    Kind.DYNAMODB_TABLE: NameRule("DynamoDB table name", 3, 255, r"A-Za-z0-9_.\-", "letters, digits, _ . -"),
    Kind.SQS_QUEUE: NameRule("SQS queue name", 1, 80, r"A-Za-z0-9_\-.", "letters, digits, _ - (and .fifo)"),
    Kind.S3_BUCKET: NameRule(
        "S3 bucket name", 3, 63, r"a-z0-9.\-", "lower-case letters, digits, . -", (_bucket,)
    ),
    Kind.LAMBDA_FUNCTION: NameRule("Lambda function name", 1, 64, r"A-Za-z0-9_\-", "letters, digits, _ -"),
    Kind.LOG_GROUP: NameRule(
        "log group name", 1, 512, r"A-Za-z0-9_\-./#", "letters, digits, _ - . / #", (_log_group,)
    ),
    Kind.KINESIS_STREAM: NameRule("Kinesis stream name", 1, 128, r"A-Za-z0-9_.\-", "letters, digits, _ . -"),
    Kind.RDS_INSTANCE: NameRule(
        "DB instance identifier", 1, 63, r"A-Za-z0-9\-", "letters, digits, -", _DB_ID
    ),
    Kind.RDS_CLUSTER: NameRule("DB cluster identifier", 1, 63, r"A-Za-z0-9\-", "letters, digits, -", _DB_ID),
    Kind.SECRET: NameRule("secret name", 1, 512, r"A-Za-z0-9/_+=.@\-", "letters, digits, / _ + = . @ -"),
    Kind.SNS_TOPIC: NameRule("SNS topic name", 1, 256, r"A-Za-z0-9_\-.", "letters, digits, _ - (and .fifo)"),
    Kind.SSM_PARAMETER: NameRule(
        "SSM parameter name", 1, 2048, r"A-Za-z0-9_.\-/", "letters, digits, _ . - /"
    ),
    Kind.IAM_ROLE: NameRule("IAM role name", 1, 64, r"\w+=,.@\-", "letters, digits, + = , . @ _ -"),
    Kind.ECS_CLUSTER: NameRule("ECS cluster name", 1, 255, r"A-Za-z0-9_\-", "letters, digits, _ -"),
    Kind.ECS_SERVICE: NameRule("ECS service name", 1, 255, r"A-Za-z0-9_\-", "letters, digits, _ -"),
    Kind.EVENT_BUS: NameRule("event bus name", 1, 256, r"A-Za-z0-9/._\-", "letters, digits, / . _ -"),
    Kind.KMS_KEY: NameRule(
        "KMS alias name", 1, 256, r"A-Za-z0-9/_\-", "letters, digits, / _ -", (_kms_alias,)
    ),
}
_CACHE = {
    # CreateReplicationGroup: 1-40; CreateCacheCluster: 1-50; CreateServerlessCache: 1-40.
    "replication": NameRule(
        "ElastiCache replication group id", 1, 40, r"A-Za-z0-9\-", "letters, digits, -", _DB_ID
    ),
    "cluster": NameRule("ElastiCache cluster id", 1, 50, r"A-Za-z0-9\-", "letters, digits, -", _DB_ID),
    "serverless": NameRule(
        "ElastiCache serverless cache name", 1, 40, r"A-Za-z0-9\-", "letters, digits, -", _DB_ID
    ),
}


def rule_for(kind: str, resource_type: str) -> NameRule | None:
    if kind == Kind.ELASTICACHE:
        lowered = resource_type.lower()
        if "serverless" in lowered:
            return _CACHE["serverless"]
        return _CACHE["replication" if "replication" in lowered else "cluster"]
    return RULES.get(kind)


def name_problem(rule: NameRule, name: str, *, fifo: bool | None = None) -> str | None:
    """Why `name` breaks `rule` (one reason, the first found), or None when it fits."""
    if not rule.low <= len(name) <= rule.high:
        return f"is {len(name)} characters; a {rule.what} has {rule.low} to {rule.high}"
    stem = name.removesuffix(".fifo") if rule.what in ("SQS queue name", "SNS topic name") else name
    bad = sorted(set(re.sub(f"[{rule.allowed}]", "", stem)))
    if bad:
        shown = "".join(bad).replace(" ", "space ")
        return f"has characters a {rule.what} may not hold ({shown!r}); allowed: {rule.allowed_said}"
    for extra in rule.extra:
        problem = extra(name)
        if problem is not None:
            return f"{problem} (a {rule.what})"
    if fifo is not None and rule.what == "SQS queue name" and fifo != name.endswith(".fifo"):
        return (
            "declares a FIFO queue, whose name must end with '.fifo'"
            if fifo
            else "ends with '.fifo', which only a FIFO queue's name may (FifoQueue is not true)"
        )
    return None
