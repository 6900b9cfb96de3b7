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

FAULT_BREAKS: dict[str, tuple[str, ...]] = {
    "processor_down": (FLOW + "test_processor_ran", FLOW + "test_queue_hop"),
    "auth_open": (FLOW + "test_unsigned_rejected", FLOW + "test_wrong_secret_rejected"),
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
}
