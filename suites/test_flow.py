"""The end-to-end flow: one tagged reading through ingest, raw, queue, processor, processed, query,
X-Ray and logs -- each hop its own check, with its time since ingest -- and the negative paths.

The checks share the run's one `Flow` (the plugin's `flow` fixture). In a single-process run they
run ahead, concurrently: each step waits for the steps it needs (its `flow_step` mark says which
step it is), so the waits for the raw item, the processed item, the query answer, the trace and the
log lines overlap. With --workers they stay together on one worker (xdist_group) and run in file
order. A step whose prerequisite failed is "could not verify", never a pass. Every item written is
removed at the end of the run, also when a step failed or the run was interrupted.
"""

from __future__ import annotations

from verify import CheckRecorder, Flow, mark

pytestmark = [mark.writes, mark.xdist_group("flow")]


@mark.flow_step("ingest")
@mark.check("flow", title="signed POST /ingest accepts a tagged reading")
def test_ingest_accepted(flow: Flow, check: CheckRecorder) -> None:
    check.record_all(flow.ingest())


@mark.flow_step("raw")
@mark.check("flow", title="the raw table holds the reading")
def test_raw_item_written(flow: Flow, check: CheckRecorder) -> None:
    check.record_all(flow.raw_item())


@mark.flow_step("processed")
@mark.check("flow", title="the processor wrote the processed reading")
def test_processor_ran(flow: Flow, check: CheckRecorder) -> None:
    check.record_all(flow.processed_item())


@mark.flow_step("enriched")
@mark.check("flow", title="the processed reading is enriched")
def test_processed_item_enriched(flow: Flow, check: CheckRecorder) -> None:
    check.record_all(flow.enriched())


@mark.flow_step("queue")
@mark.check("flow", title="the queue hop happened and the DLQ did not grow")
def test_queue_hop(flow: Flow, check: CheckRecorder) -> None:
    check.record_all(flow.queue_hop())


@mark.flow_step("query")
@mark.check("flow", title="signed GET /query returns the reading")
def test_query_returns_reading(flow: Flow, check: CheckRecorder) -> None:
    check.record_all(flow.query())


@mark.flow_step("trace")
@mark.check("flow", title="X-Ray traces the reading through ingest and processor")
def test_trace_spans_hops(flow: Flow, check: CheckRecorder) -> None:
    check.record_all(flow.trace())


@mark.flow_step("logs")
@mark.check("flow", title="CloudWatch logs of ingest and processor carry the reading's marker")
def test_logs_carry_marker(flow: Flow, check: CheckRecorder) -> None:
    check.record_all(flow.logs())


@mark.check("flow", title="an unsigned call to /ingest is rejected with 403")
def test_unsigned_rejected(flow: Flow, check: CheckRecorder) -> None:
    check.record_all(flow.rejects("unsigned"))


@mark.check("flow", title="a call signed with a wrong secret is rejected with 403")
def test_wrong_secret_rejected(flow: Flow, check: CheckRecorder) -> None:
    check.record_all(flow.rejects("wrong_secret"))


@mark.check("flow", title="a malformed payload gets 4xx and nothing is stored")
def test_malformed_rejected_and_not_stored(flow: Flow, check: CheckRecorder) -> None:
    check.record_all(flow.malformed_not_stored())
