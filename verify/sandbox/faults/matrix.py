"""Which checks each sandbox fault must break: the proof that every shipped check can fail.

Used by the fault-matrix test (`tests/faults/`) and by the checks catalogue. A check id here is the
id in summary.json without its parameters (`suites/<module>::<test>`).

- `FAULT_BREAKS`: what the fault is about. It must make at least one parametrization of each of these
  checks `failed`, with a message that says what was expected and seen.
- `KNOCK_ONS`: the honest consequences beyond that claim (a missing topic has no subscriptions
  either; a flow step after a failed one cannot be observed). These may fail or be "could not
  verify"; any other check that does not pass is a fault breaking more than it says.
- `FAULT_PROFILE`: the profile a fault is proven in, when not the full one.
- `PROVEN_ELSEWHERE`: checks no sandbox fault can honestly break, and the test that proves each fails.
"""

from __future__ import annotations

FLOW = "suites/test_flow.py::"
DDB = "suites/test_dynamodb.py::"
SQS = "suites/test_sqs.py::"
LAMBDA = "suites/test_lambda.py::"
APIGW = "suites/test_apigateway.py::"
CW = "suites/test_cloudwatch.py::"
SMOKE = "suites/test_smoke.py::"
KINESIS = "suites/test_kinesis.py::"
RDS = "suites/test_rds.py::"
CACHE = "suites/test_elasticache.py::"
ECS = "suites/test_ecs.py::"
EFS = "suites/test_efs.py::"
SECRETS = "suites/test_secretsmanager.py::"
SNS = "suites/test_sns.py::"
SSM = "suites/test_ssm.py::"
NETWORK = "suites/test_network.py::"
OUTPUTS = "suites/test_outputs.py::"
INTENT = "suites/test_intent.py::"

# The flow steps after ingest: "could not verify" once ingest fails.
_AFTER_INGEST = tuple(
    FLOW + step
    for step in (
        "test_raw_item_written",
        "test_processor_ran",
        "test_processed_item_enriched",
        "test_queue_hop",
        "test_query_returns_reading",
        "test_trace_spans_hops",
        "test_logs_carry_marker",
    )
)
# What a processor that never runs leaves unseen downstream.
_AFTER_PROCESSOR = (
    FLOW + "test_processed_item_enriched",
    FLOW + "test_query_returns_reading",
    FLOW + "test_trace_spans_hops",
    FLOW + "test_logs_carry_marker",
)

FAULT_BREAKS: dict[str, tuple[str, ...]] = {
    "processor_down": (FLOW + "test_processor_ran", FLOW + "test_queue_hop"),
    "auth_open": (
        FLOW + "test_unsigned_rejected",
        FLOW + "test_wrong_secret_rejected",
        SMOKE + "test_api_rejects_unsigned_get",
    ),
    # The smoke check GETs /query too (a safe path by default): a 500 there is the API failing.
    "query_broken": (FLOW + "test_query_returns_reading", SMOKE + "test_api_answers_signed_get"),
    "raw_not_written": (FLOW + "test_raw_item_written",),
    "lost_enrichment": (FLOW + "test_processed_item_enriched",),
    "accepts_garbage": (FLOW + "test_malformed_rejected_and_not_stored",),
    "no_traces": (FLOW + "test_trace_spans_hops",),
    "no_logs": (FLOW + "test_logs_carry_marker",),
    "pitr_disabled": (DDB + "test_pitr",),
    "sse_disabled": (DDB + "test_sse", SQS + "test_encryption"),
    "no_dlq": (SQS + "test_redrive_policy",),
    "dlq_backlog": (SQS + "test_dlq_empty",),
    "table_missing": (DDB + "test_table_active", DDB + "test_key_schema"),
    # ingest queues every reading: without the queue it answers 502.
    "queue_missing": (SQS + "test_queue_reachable", FLOW + "test_ingest_accepted"),
    "log_retention_missing": (CW + "test_log_group_retention",),
    # With tracing off no trace is recorded either, so the flow's trace step breaks too.
    "tracing_disabled": (
        LAMBDA + "test_tracing_active",
        APIGW + "test_stage_tracing",
        FLOW + "test_trace_spans_hops",
    ),
    "slow_processor": (),  # healthy, just slow: must pass
    "no_subscribers": (SNS + "test_topic_has_subscriptions",),
    "topic_unencrypted": (SNS + "test_topic_encryption",),
    "topic_missing": (SNS + "test_topic_exists",),
    "no_reserved_concurrency": (LAMBDA + "test_reserved_concurrency",),
    "no_failure_destination": (LAMBDA + "test_failure_destination",),
    "deprecated_runtime": (LAMBDA + "test_runtime_supported",),
    "lambda_update_failed": (LAMBDA + "test_function_active",),
    # A disabled mapping invokes nothing: the flow sees what processor_down shows.
    "esm_disabled": (
        LAMBDA + "test_event_sources_enabled",
        FLOW + "test_processor_ran",
        FLOW + "test_queue_hop",
    ),
    # Open for real, not only on paper: an unsigned GET /query is answered.
    "method_open": (APIGW + "test_methods_use_iam", SMOKE + "test_api_rejects_unsigned_get"),
    "throttling_off": (APIGW + "test_throttling",),
    "stage_missing": (
        APIGW + "test_stage_exists",
        FLOW + "test_ingest_accepted",
        SMOKE + "test_api_answers_signed_get",
    ),
    "short_visibility": (SQS + "test_visibility_timeout",),
    "parameter_missing": (SSM + "test_parameter_readable",),
    "alarm_firing": (CW + "test_alarm_not_firing",),
    "log_group_missing": (CW + "test_log_group_exists",),
    "output_placeholder": (OUTPUTS + "test_output_present",),
    "stale_processed_data": (SMOKE + "test_latest_processed_record_recent",),
    # platform
    "stream_inactive": (KINESIS + "test_stream_active",),
    "stream_unencrypted": (KINESIS + "test_stream_encrypted",),
    "rds_stopped": (RDS + "test_instance_available",),
    "rds_bad_version": (RDS + "test_engine_version_offered",),
    # The stored password is a rotation's that stopped half-way: the database refuses it, and the
    # secret still shows the unfinished AWSPENDING version.
    "rds_unreachable": (RDS + "test_connectivity", SECRETS + "test_last_rotation_finished"),
    "cache_down": (CACHE + "test_cache_available",),
    "ecs_not_running": (ECS + "test_service_steady",),
    "efs_unencrypted": (EFS + "test_file_system_encrypted",),
    "rotation_disabled": (SECRETS + "test_rotation_enabled",),
    "output_malformed": (OUTPUTS + "test_output_well_formed", NETWORK + "test_vpc_exists"),
    "single_az": (NETWORK + "test_subnets_span_azs",),
    "subnet_missing": (NETWORK + "test_subnet_exists",),
    "sg_missing": (NETWORK + "test_security_group_exists",),
    "efs_failed": (EFS + "test_file_system_available",),
    "efs_no_mount_targets": (EFS + "test_mount_targets_in_stack_subnets",),
    "cache_transit_unencrypted": (CACHE + "test_cache_encrypted",),
    "cache_misconf": (CACHE + "test_cache_ping",),
    "ecs_cluster_inactive": (ECS + "test_cluster_active", ECS + "test_service_steady"),
    "stream_short_retention": (KINESIS + "test_stream_retention",),
    "rds_unencrypted": (RDS + "test_storage_encrypted",),
    "rds_single_az": (RDS + "test_multi_az",),
    "rds_no_backups": (RDS + "test_backup_retention",),
    "rds_unprotected": (RDS + "test_deletion_protection",),
    "secret_deleted": (SECRETS + "test_secret_exists",),
    # template drift: the live stack differs from what its template declares (blocking)
    "drift_pitr": (INTENT + "test_dynamodb_as_declared",),
    "drift_log_retention": (INTENT + "test_lambda_as_declared",),
    "drift_visibility": (INTENT + "test_sqs_as_declared",),
    "drift_throttling": (INTENT + "test_api_as_declared",),
    "drift_rotation": (INTENT + "test_secret_as_declared",),
    "drift_multi_az": (INTENT + "test_rds_as_declared",),
    "drift_stream_retention": (INTENT + "test_kinesis_as_declared",),
}

KNOCK_ONS: dict[str, tuple[str, ...]] = {
    "processor_down": _AFTER_PROCESSOR,
    "esm_disabled": _AFTER_PROCESSOR,
    "auth_open": (),
    "dlq_backlog": (CW + "test_alarm_not_firing",),  # the DLQ depth alarm fires, as it should
    # The stored garbage also reaches the queue; the processor cannot enrich it, so after three
    # receives it is redriven to the DLQ -- whether that lands before the DLQ checks run is timing.
    "accepts_garbage": (SQS + "test_dlq_empty", CW + "test_alarm_not_firing"),
    "table_missing": (
        DDB + "test_pitr",
        DDB + "test_sse",
        *_AFTER_PROCESSOR,
        FLOW + "test_processor_ran",
        FLOW + "test_queue_hop",
        # The processor's writes fail; after three receives the reading lands in the DLQ.
        SQS + "test_dlq_empty",
    ),
    "queue_missing": (
        *_AFTER_INGEST,
        SQS + "test_redrive_policy",
        SQS + "test_dlq_empty",
        SQS + "test_encryption",
        SQS + "test_visibility_timeout",
    ),
    "topic_missing": (SNS + "test_topic_has_subscriptions", SNS + "test_topic_encryption"),
    "stage_missing": (APIGW + "test_throttling", APIGW + "test_stage_tracing", *_AFTER_INGEST),
    "log_group_missing": (CW + "test_log_group_retention",),
    # A stopped database or a failed cache has nothing listening behind its endpoint.
    "rds_stopped": (RDS + "test_connectivity",),
    "cache_down": (CACHE + "test_cache_ping",),
    # A stream that is not ACTIVE refuses the tagged record: "could not verify".
    "stream_inactive": (KINESIS + "test_tagged_record_read_back",),
    "subnet_missing": (NETWORK + "test_subnets_span_azs",),
    # The CIDR in VpcId is looked up as a VPC id, and nothing is "in" that VPC.
    "output_malformed": (NETWORK + "test_subnet_exists", NETWORK + "test_security_group_exists"),
    # The database credentials can no longer be read to connect with.
    "secret_deleted": (RDS + "test_connectivity",),
    # What drifted is also what the posture check asks for: it fails beside the intent check (advice).
    "drift_pitr": (DDB + "test_pitr",),
    "drift_multi_az": (RDS + "test_multi_az",),
}

FAULT_PROFILE: dict[str, str] = {
    # Only the smoke profile judges the age of the newest processed record (the full one follows its
    # own reading through the pipeline instead).
    "stale_processed_data": "smoke",
}

PROVEN_ELSEWHERE: dict[str, str] = {
    # Kinesis cannot be made to lose or alter a record it acknowledged; what a stack can break (a
    # stream that is not ACTIVE, a disabled KMS key) makes PutRecord refuse, which is "could not
    # verify" (see stream_inactive). The failure path is proven against moto with forged data.
    KINESIS + "test_tagged_record_read_back": (
        "tests/probes/test_kinesis.py::test_other_data_at_the_sequence_number_fails"
    ),
    # The emulator cannot change these after the deploy (encryption of a replication group or a file
    # system is fixed at creation; the stand-in ECS service's count is the patched answer's): the
    # failures are proven against moto, the live stack made to differ from its template there.
    INTENT
    + "test_elasticache_as_declared": "tests/intent/test_declared_checks.py::test_cache_transit_declared_on_live_off_fails",
    INTENT
    + "test_ecs_as_declared": "tests/intent/test_declared_checks.py::test_ecs_desired_count_differs_fails",
    INTENT
    + "test_efs_as_declared": "tests/intent/test_declared_checks.py::test_efs_declared_encrypted_live_not_fails",
}


def fault_table_markdown() -> str:
    """The fault table of docs/sandbox.md: the catalogue, with the checks each fault must break."""
    from verify.sandbox.faults.catalogue import FAULTS

    lines = [
        "| Fault | Stack | Category | What it breaks | Checks it must fail |",
        "|---|---|---|---|---|",
    ]
    for stack in ("pipeline", "platform"):
        for fault in (f for f in FAULTS.values() if f.stack == stack):
            checks = ", ".join(f"`{c.removeprefix('suites/')}`" for c in FAULT_BREAKS.get(fault.name, ()))
            profile = f" (in `verify {FAULT_PROFILE[fault.name]}`)" if fault.name in FAULT_PROFILE else ""
            lines.append(
                f"| `{fault.name}` | {fault.stack} | {fault.category} | {fault.breaks} | "
                f"{checks or 'none: it must pass'}{profile} |"
            )
    return "\n".join(lines) + "\n"
