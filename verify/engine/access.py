"""The access check before the checks: can this run ask AWS anything at all?

One identity call (STS GetCallerIdentity: needs no permission) and one cheap read per service the
stack's resources live in, side by side. When every one of them fails for want of access (no
credentials, an unreachable endpoint, a region that does not exist, an expired token), no check could
verify anything: the run says so in one sentence, writes a summary that says so, and exits 3 -- instead
of one error per check with the same sentence. When some answer, the checks run: a service that
failed here gives its own checks' errors, which the console then prints once per cause.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from verify.aws.errors import aws_errors
from verify.errors import AwsAccessError, VerifyError
from verify.report.text import error_reason

if TYPE_CHECKING:
    from verify.aws.client import Aws
    from verify.engine.session import VerifySession
    from verify.engine.spec import CheckSpec

# Per resource kind: the service and its cheapest read (one page of one item, no resource named).
_READS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "dynamodb_table": ("dynamodb", "list_tables", {"Limit": 1}),
    "sqs_queue": ("sqs", "list_queues", {"MaxResults": 1}),
    "sns_topic": ("sns", "list_topics", {}),
    "kinesis_stream": ("kinesis", "list_streams", {"Limit": 1}),
    "rds_instance": ("rds", "describe_db_instances", {"MaxRecords": 20}),
    "rds_cluster": ("rds", "describe_db_instances", {"MaxRecords": 20}),
    "lambda_function": ("lambda", "list_functions", {"MaxItems": 1}),
    "log_group": ("logs", "describe_log_groups", {"limit": 1}),
    "secret": ("secretsmanager", "list_secrets", {"MaxResults": 1}),
    "ssm_parameter": ("ssm", "describe_parameters", {"MaxResults": 1}),
    "s3_bucket": ("s3", "list_buckets", {}),
    "api": ("apigateway", "get_rest_apis", {"limit": 1}),
    "ecs_cluster": ("ecs", "list_clusters", {"maxResults": 1}),
    "ecs_service": ("ecs", "list_clusters", {"maxResults": 1}),
    "elasticache": ("elasticache", "describe_cache_clusters", {"MaxRecords": 20}),
    "efs_filesystem": ("efs", "describe_file_systems", {"MaxItems": 1}),
    "vpc": ("ec2", "describe_vpcs", {"MaxResults": 5}),
    "subnet": ("ec2", "describe_vpcs", {"MaxResults": 5}),
    "security_group": ("ec2", "describe_vpcs", {"MaxResults": 5}),
    "kms_key": ("kms", "list_keys", {"Limit": 1}),
    "alarm": ("cloudwatch", "describe_alarms", {"MaxRecords": 1}),
    "state_machine": ("stepfunctions", "list_state_machines", {"maxResults": 1}),
    "event_bus": ("events", "list_event_buses", {"Limit": 1}),
    "iam_role": ("iam", "list_roles", {"MaxItems": 1}),
}


# A check asking for one of these asks AWS (the fixtures of engine/fixtures.py).
NEEDS_AWS = frozenset({"aws", "flow", "signed_http"})


def needs_aws(planned: list[CheckSpec]) -> bool:
    """Whether any check that will run asks AWS: only then can the access check stop the run."""
    return any(NEEDS_AWS & set(spec.parameters) for spec in planned if not spec.skip)


@dataclass(frozen=True)
class Access:
    """What the access check found: each call's failure (None: it answered)."""

    failures: dict[str, str | None]  # "sts:GetCallerIdentity" -> the reason it failed, or None
    calls: int

    @property
    def none(self) -> bool:
        """True when nothing answered: every check would fail for the same want of access."""
        return bool(self.failures) and all(reason is not None for reason in self.failures.values())

    def sentence(self) -> str:
        """One sentence for the console and the summary: the cause, and what was asked."""
        reasons = [r for r in self.failures.values() if r is not None]
        cause = reasons[0] if reasons else "no AWS call answered"
        asked = ", ".join(self.failures)
        return f"nothing could be verified: {cause} (every call of the access check failed: {asked})"


def _operation_name(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


def _reads(session: VerifySession) -> list[tuple[str, str, dict[str, Any]]]:
    """STS's identity call, then one read per service the inventory's resources live in."""
    wanted: list[tuple[str, str, dict[str, Any]]] = [("sts", "get_caller_identity", {})]
    seen = {"sts"}
    for resource in session.inventory().resources:
        read = _READS.get(str(resource.kind))
        if read is not None and read[0] not in seen:
            seen.add(read[0])
            wanted.append(read)
    return wanted


def _ask(aws: Aws, service: str, method: str, params: dict[str, Any]) -> str | None:
    operation = _operation_name(method)
    try:
        with aws_errors(service, operation, "the account"):
            getattr(aws.client(service), method)(**params)
    except AwsAccessError as exc:
        return error_reason(str(exc))
    except Exception:  # any other answer (a 4xx, a stub) is an answer: access works
        return None
    return None


def check_access(session: VerifySession, ask: Callable[..., str | None] = _ask) -> Access:
    """Ask the identity call and each service's read side by side (a hanging endpoint costs one
    call's timeout, not one per service). The calls are counted apart in the summary."""
    try:
        aws = session.aws()
        reads = _reads(session)
    except AwsAccessError as exc:  # no region, an unknown profile: nothing can be asked
        return Access(failures={"session": error_reason(str(exc))}, calls=0)
    except VerifyError:
        return Access(failures={}, calls=0)  # the inputs' own error: the run reports it as before
    before = aws.call_count()
    with concurrent.futures.ThreadPoolExecutor(len(reads), thread_name_prefix="verify-access") as pool:
        futures = {
            f"{service}:{_operation_name(method)}": pool.submit(ask, aws, service, method, params)
            for service, method, params in reads
        }
        failures = {name: future.result() for name, future in futures.items()}
    return Access(failures=failures, calls=aws.call_count() - before)
