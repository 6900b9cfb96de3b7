"""Which checks each sandbox fault must break: the proof that every shipped check can fail.

One table, used by the fault-matrix test (`tests/faults/`) and by the checks catalogue. A check id
here is the id in summary.json without its parameters (`suites/<module>::<test>`); the fault must make
at least one parametrization of it `failed`, with a message that says what was expected and seen.
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

FAULT_BREAKS: dict[str, tuple[str, ...]] = {
    "processor_down": (FLOW + "test_processor_ran", FLOW + "test_queue_hop"),
    "auth_open": (
        FLOW + "test_unsigned_rejected",
        FLOW + "test_wrong_secret_rejected",
        SMOKE + "test_api_rejects_unsigned_get",
    ),
    "query_broken": (FLOW + "test_query_returns_reading",),
    "raw_not_written": (FLOW + "test_raw_item_written",),
    "lost_enrichment": (FLOW + "test_processed_item_enriched",),
    "accepts_garbage": (FLOW + "test_malformed_rejected_and_not_stored",),
    "no_traces": (FLOW + "test_trace_spans_hops",),
    "no_logs": (FLOW + "test_logs_carry_marker",),
    "pitr_disabled": (DDB + "test_pitr",),
    "sse_disabled": (DDB + "test_sse",),
    "no_dlq": (SQS + "test_redrive_policy",),
    "dlq_backlog": (SQS + "test_dlq_empty",),
    "table_missing": (DDB + "test_table_active", DDB + "test_key_schema"),
    "queue_missing": (SQS + "test_queue_reachable",),
    "log_retention_missing": (CW + "test_log_group_retention",),
    # With tracing off no trace is recorded either, so the flow's trace step breaks too.
    "tracing_disabled": (
        LAMBDA + "test_tracing_active",
        APIGW + "test_stage_tracing",
        FLOW + "test_trace_spans_hops",
    ),
    "slow_processor": (),  # healthy, just slow: must pass
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
}
