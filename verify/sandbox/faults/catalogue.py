"""The fault catalogue: switches that each break one thing of a sandbox stack.

The catalogue names every fault of both stacks, so `verify sandbox faults` lists them all and a typo
is caught before anything starts. Each stack module implements its own faults; this module only knows
what they are called, which stack owns them and what they break.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from verify.errors import UsageError

STACKS = ("pipeline", "platform")


@dataclass(frozen=True)
class Fault:
    name: str
    stack: str  # "pipeline" | "platform"
    breaks: str  # one sentence: what it breaks
    category: str  # "functional" | "posture" | "benign"


def _catalogue(*faults: Fault) -> dict[str, Fault]:
    return {fault.name: fault for fault in faults}


FAULTS: dict[str, Fault] = _catalogue(
    # pipeline (the CDKTF IoT pipeline)
    Fault(
        "processor_down", "pipeline", "The processor never runs: readings stay in the queue.", "functional"
    ),
    Fault("auth_open", "pipeline", "The API accepts unsigned or wrongly signed calls.", "functional"),
    Fault("query_broken", "pipeline", "GET /query answers 500 instead of the readings.", "functional"),
    Fault(
        "raw_not_written",
        "pipeline",
        "POST /ingest answers 200 but never writes the raw item.",
        "functional",
    ),
    Fault(
        "lost_enrichment",
        "pipeline",
        "Processed items lack the derived fields (processedAt, temperatureF, alert).",
        "functional",
    ),
    Fault(
        "accepts_garbage",
        "pipeline",
        "POST /ingest stores a malformed payload and answers 200 instead of 400.",
        "functional",
    ),
    Fault("no_traces", "pipeline", "No X-Ray segments are written although tracing is Active.", "functional"),
    Fault("no_logs", "pipeline", "The functions write no log lines.", "functional"),
    Fault("pitr_disabled", "pipeline", "Point-in-time recovery is off on both tables.", "posture"),
    Fault(
        "sse_disabled",
        "pipeline",
        "Tables have no KMS server-side encryption and the queues no SQS-managed SSE.",
        "posture",
    ),
    Fault("no_dlq", "pipeline", "The ingestion queue has no redrive policy to the DLQ.", "functional"),
    Fault(
        "dlq_backlog",
        "pipeline",
        "Three failed messages sit in the DLQ and its depth alarm is in ALARM.",
        "functional",
    ),
    Fault(
        "table_missing",
        "pipeline",
        "The processed table does not exist although the outputs name it.",
        "functional",
    ),
    Fault(
        "queue_missing",
        "pipeline",
        "The ingestion queue does not exist although the outputs name it.",
        "functional",
    ),
    Fault(
        "log_retention_missing",
        "pipeline",
        "Log groups keep logs forever instead of 30 days.",
        "posture",
    ),
    Fault(
        "tracing_disabled",
        "pipeline",
        "Lambda tracing is PassThrough and stage tracing is off, so no traces appear.",
        "posture",
    ),
    Fault(
        "slow_processor",
        "pipeline",
        "Healthy but slow: each reading is processed about 3 s after it arrives.",
        "benign",
    ),
    Fault(
        "no_subscribers",
        "pipeline",
        "The alert topic has no subscription, so its alarms reach nobody.",
        "posture",
    ),
    Fault(
        "topic_unencrypted",
        "pipeline",
        "The alert topic has no KMS server-side encryption.",
        "posture",
    ),
    Fault(
        "topic_missing",
        "pipeline",
        "The alert topic does not exist although the outputs name its ARN.",
        "functional",
    ),
    Fault(
        "no_reserved_concurrency",
        "pipeline",
        "The query function has no reserved concurrency and shares the account's pool.",
        "posture",
    ),
    Fault(
        "no_failure_destination",
        "pipeline",
        "The ingest function has neither a dead-letter queue nor an on-failure destination.",
        "posture",
    ),
    Fault(
        "deprecated_runtime",
        "pipeline",
        "The query function runs on python3.8, which AWS no longer supports.",
        "posture",
    ),
    Fault(
        "esm_disabled",
        "pipeline",
        "The queue's event source mapping to the processor is Disabled, so readings stay in the queue.",
        "functional",
    ),
    Fault(
        "lambda_update_failed",
        "pipeline",
        "The query function's last update failed (LastUpdateStatus Failed); the previous code still runs.",
        "functional",
    ),
    Fault(
        "method_open",
        "pipeline",
        "GET /query has authorization NONE and answers unsigned calls.",
        "functional",
    ),
    Fault(
        "throttling_off",
        "pipeline",
        "The API stage has no throttling and no usage plan.",
        "posture",
    ),
    Fault(
        "stage_missing",
        "pipeline",
        "The stage the API URL names is not deployed, so every call to it is refused.",
        "functional",
    ),
    Fault(
        "short_visibility",
        "pipeline",
        "The ingestion queue's visibility timeout (10 s) is shorter than the processor's timeout (30 s).",
        "posture",
    ),
    Fault(
        "parameter_missing",
        "pipeline",
        "The alert webhook token parameter does not exist although the outputs name it.",
        "functional",
    ),
    Fault(
        "alarm_firing",
        "pipeline",
        "The processor errors alarm is in ALARM.",
        "functional",
    ),
    Fault(
        "log_group_missing",
        "pipeline",
        "The API's access log group does not exist although the outputs name it.",
        "functional",
    ),
    Fault(
        "output_placeholder",
        "pipeline",
        'The outputs file carries the placeholder "unknown" for QueryLogGroupName.',
        "functional",
    ),
    Fault(
        "stale_processed_data",
        "pipeline",
        "The processed table's newest record is two days old: nothing has been processed since.",
        "functional",
    ),
    # platform (the CDK IoT platform)
    Fault("stream_inactive", "platform", "The Kinesis stream is not ACTIVE.", "functional"),
    Fault("stream_unencrypted", "platform", "The Kinesis stream has no KMS encryption.", "posture"),
    Fault("rds_stopped", "platform", "The RDS instance is stopped.", "functional"),
    Fault(
        "rds_bad_version",
        "platform",
        "The RDS instance reports a PostgreSQL engine version that does not exist.",
        "posture",
    ),
    Fault(
        "rds_unreachable",
        "platform",
        "The database cannot be reached with the stored credentials (wrong password or port).",
        "functional",
    ),
    Fault("cache_down", "platform", "The Redis cache does not answer.", "functional"),
    Fault("ecs_not_running", "platform", "The ECS service runs no tasks.", "functional"),
    Fault("efs_unencrypted", "platform", "The EFS file system is not encrypted.", "posture"),
    Fault("rotation_disabled", "platform", "The database secret has no rotation.", "posture"),
    Fault(
        "output_malformed",
        "platform",
        "The VpcId output carries the VPC's CIDR block instead of its id.",
        "functional",
    ),
    Fault("single_az", "platform", "Both public subnets sit in one Availability Zone.", "posture"),
    Fault(
        "subnet_missing",
        "platform",
        "A public subnet the outputs name has been deleted.",
        "functional",
    ),
    Fault(
        "sg_missing",
        "platform",
        "The security group the outputs name has been deleted.",
        "functional",
    ),
    Fault("efs_failed", "platform", "The EFS file system is in LifeCycleState error.", "functional"),
    Fault("efs_no_mount_targets", "platform", "The EFS file system has no mount targets.", "posture"),
    Fault(
        "cache_transit_unencrypted",
        "platform",
        "The Redis replication group has in-transit encryption off.",
        "posture",
    ),
    Fault(
        "cache_misconf",
        "platform",
        "Redis cannot persist to disk and refuses PING with MISCONF.",
        "functional",
    ),
    Fault(
        "ecs_cluster_inactive",
        "platform",
        "The ECS cluster and its service have been deleted (status INACTIVE).",
        "functional",
    ),
    Fault(
        "stream_short_retention",
        "platform",
        "The Kinesis stream keeps records for the 24 h default only.",
        "posture",
    ),
    Fault("rds_unencrypted", "platform", "The RDS instance's storage is not encrypted.", "posture"),
    Fault("rds_single_az", "platform", "The RDS instance is not Multi-AZ.", "posture"),
    Fault("rds_no_backups", "platform", "The RDS instance keeps no automated backups.", "posture"),
    Fault("rds_unprotected", "platform", "The RDS instance has deletion protection off.", "posture"),
    Fault(
        "secret_deleted",
        "platform",
        "The database secret is scheduled for deletion and can no longer be read.",
        "functional",
    ),
    # template drift (verify/sandbox/faults/drift.py): the live stack differs from its declared template
    Fault(
        "drift_pitr",
        "pipeline",
        "PITR is off on the raw table, which its template declares on.",
        "functional",
    ),
    Fault(
        "drift_log_retention",
        "pipeline",
        "The processor's log group keeps 7 days; its template declares 30.",
        "functional",
    ),
    Fault(
        "drift_visibility",
        "pipeline",
        "The ingestion queue's visibility timeout is 45 s; its template declares 30 s.",
        "functional",
    ),
    Fault(
        "drift_throttling",
        "pipeline",
        "The API stage throttles at 100 req/s; its template declares 1000.",
        "functional",
    ),
    Fault(
        "drift_rotation",
        "platform",
        "The database secret rotates every 90 days; its template declares rate(30 days).",
        "functional",
    ),
    Fault(
        "drift_multi_az",
        "platform",
        "The database is single-AZ; its template declares Multi-AZ.",
        "functional",
    ),
    Fault(
        "drift_stream_retention",
        "platform",
        "The Kinesis stream keeps 72 h; its template declares 48 h.",
        "functional",
    ),
)


# AWS-level faults (implemented in aws_level.py): the stack stays healthy while AWS or the network
# misbehaves, so checks must say they could not verify (`error`), never fail. They are kept out of
# FAULTS, whose every entry the fault matrix expects to fail checks; tests/reliability/ proves them.
AWS_FAULTS: dict[str, Fault] = _catalogue(
    Fault("aws_access_denied", "pipeline", "DynamoDB DescribeTable answers AccessDeniedException.", "aws"),
    Fault(
        "aws_throttling",
        "pipeline",
        "Each service's first two tries are throttled; botocore's retries absorb it.",
        "aws",
    ),
    Fault("aws_5xx", "pipeline", "Every SNS call answers HTTP 500.", "aws"),
    Fault("aws_hang", "pipeline", "Lambda GetFunctionConfiguration never answers.", "aws"),
    Fault("aws_expired_token", "pipeline", "Every AWS call answers ExpiredTokenException.", "aws"),
    Fault("api_html", "pipeline", "Where the API would answer 2xx, it answers an HTML sign-in page.", "aws"),
    Fault("api_huge_body", "pipeline", "Where the API would answer a GET with 2xx, the body is 5 MB.", "aws"),
)


def validate_faults(
    names: Iterable[str], stacks: Iterable[str], *, stack_option: str = "--stack"
) -> frozenset[str]:
    """The faults asked for, checked against the catalogue and the stacks that will start.
    `stack_option` is the option that chooses the stacks where the user typed the faults: `verify
    sandbox up`'s `--stack`, or `verify run --sandbox`'s `--sandbox-stack` (there `--stack` names a
    CloudFormation stack, and would be taken for one)."""
    started = set(stacks)
    unknown_stacks = sorted(started - set(STACKS))
    if unknown_stacks:
        raise UsageError(f"Unknown sandbox stack {unknown_stacks[0]!r}; valid stacks: {', '.join(STACKS)}.")
    chosen = frozenset(names)
    for name in sorted(chosen):
        fault = FAULTS.get(name) or AWS_FAULTS.get(name)
        if fault is None:
            raise UsageError(
                f"Unknown sandbox fault {name!r}; valid faults: {', '.join(sorted({**FAULTS, **AWS_FAULTS}))} "
                "(see `verify sandbox faults`)."
            )
        if fault.stack not in started:
            raise UsageError(
                f"Fault {name!r} belongs to the {fault.stack} stack, which is not started; "
                f"add `{stack_option} {fault.stack}` or `{stack_option} both`."
            )
    return chosen
