"""The end-to-end scenario: one tagged reading followed through the stack, hop by hop.

marker -> POST {api}/ingest (signed) -> raw table -> queue -> processor -> processed table (enriched)
-> GET {api}/query -> X-Ray trace of the ingest call -> CloudWatch log lines with the marker.

This module is the flow's entry point: `Flow` and its steps, in the order they happen. Its parts live
beside it, each with one reason to change:
- `recording`: a step's bookkeeping, evidence and timeline (steps run in order or all at once);
- `lookup`: where the tagged reading is looked up (key lookups, single-table prefixes and entities);
- `learning`: what the stack teaches before the reading is sent (its shape, the API's routes, TTL);
- `cleanup`: removal of exactly what this run wrote, and what it had to leave behind;
- `negative`: the refusals the API owes (unsigned, wrong secret, malformed), on a declared route.

The marker is the run id (always `vfy-...-<random>`, see `run_ids.run_id_for`), placed in the raw
table's partition key, so every read is a key lookup (never a scan) and clean-up deletes exactly what
this run wrote. Queues are never received from: the processed record is the evidence that the message
hop happened.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from verify.aws.client import Aws
from verify.aws.errors import aws_errors
from verify.aws.http import HttpResult, SignedHttp
from verify.config.settings import Config, FlowConfig
from verify.errors import CheckFailed, NotApplicable, VerifyError
from verify.model import LeftBehind
from verify.polling import NotYet, eventually
from verify.probes.apigateway import MethodRequest
from verify.scenario.conventions import (
    MAX_TRIES,
    NESTINGS,
    Convention,
    named_in_answer,
    next_candidate,
    style_in_answer,
    time_field_in_answer,
)
from verify.scenario.enrichment import derived_attributes
from verify.scenario.keys import prefix_in_answer
from verify.scenario.learning import TTL_AHEAD_S
from verify.scenario.negative import NegativeChecks
from verify.scenario.payload import KeySchema
from verify.scenario.query_route import QueryRequest, fill_named, plan_query
from verify.scenario.recording import STEPS, Waiter, ends, not_yet, trim
from verify.scenario.targets import find_targets
from verify.stack.inventory import Inventory, Resource

# The names other modules, suites and tests import from here (the flow's entry point).
__all__ = ["STEPS", "TTL_AHEAD_S", "Flow", "Waiter", "find_targets", "learn_convention"]


class Flow(NegativeChecks):
    """One run's tagged reading. Steps are called in order; each records its time since ingest."""

    def __init__(
        self,
        *,
        aws: Aws,
        http: SignedHttp,
        inventory: Inventory,
        config: Config,
        run_id: str,
        timeout: float,
        waiter: Waiter = eventually,
        left_behind: list[LeftBehind] | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.aws = aws
        self.http = http
        self.config = config
        self.timeout = timeout
        self.waiter = waiter
        self.inventory = inventory
        self._schemas: dict[str, KeySchema] = {}
        self._described: dict[str, dict[str, Any]] = {}
        self.targets = find_targets(inventory, config, self._schema_if_known)
        self.marker = run_id
        self.malformed_marker = f"{run_id}-malformed"
        self.payload: dict[str, Any] = {}
        self.passed: dict[str, bool] = {}
        self.timeline: dict[str, float] = {}
        self.seen_at: dict[str, float] = {}  # step -> epoch s its signal was seen
        self.ingest_response: HttpResult | None = None
        self.dlq_depth_before: int | None = None
        self._sent_at: float | None = None
        self._sent_epoch_ms = 0
        # Single-table designs (verify.scenario.keys): sampled items, the prefix the ingest's answer
        # echoed, the prefix each table's reading was found under, the raw items' entity once told.
        self._samples: dict[str, list[dict[str, Any]]] = {}
        self._answered_prefix: str | None = None
        self._key_found: dict[str, str] = {}
        self._raw_entity: str | None = None
        self._doubt: dict[str, str] = {}  # what a wait could not tell apart, by the wait's table role
        self._unverifiable: dict[str, str] = {}  # role -> why its wait ended "could not verify"
        self._markers_written = {self.marker}
        self._sent = False  # nothing reached the API yet: nothing of ours can be in a table
        # Readings the API may have accepted (not refused with 4xx), by marker: when each was sent.
        self._in_flight: dict[str, float] = {}
        self._processed_seen: set[str] = set()  # markers whose processed copy clean-up found
        self._raw_swept: set[str] = set()  # markers clean-up has removed from the raw table
        self._malformed_status: int | None = None
        self.left_behind: list[LeftBehind] = left_behind if left_behind is not None else []
        self._stopping = stopping
        self.processed: dict[str, Any] = {}
        self.raw: dict[str, Any] = {}
        self._done = {name: threading.Event() for name in STEPS}
        # Whether the reading's route is one the API declares: asked once, by the first negative check.
        self._route_lock = threading.Lock()
        self._route_verdict: tuple[dict[str, Any], str | None] | None = None
        self._scheduled: frozenset[str] = frozenset()
        # The reading's shape (verify.scenario.conventions): learned once, refined by the ingest's tries.
        self._learn_lock = threading.RLock()  # learning asks the API's methods under it
        self.convention: Convention | None = None
        self._static_convention: Convention | None = None
        self._methods: list[MethodRequest] | None = None
        self._methods_note: str | None = None
        self._ingest: tuple[str, str] | None = None  # the ingest route and how it was chosen
        self._reading_time = dt.datetime.now(dt.UTC)

    def _dlq_depth(self) -> int | None:
        if self.targets.dlq is None:
            return None
        url = self.targets.dlq.url or self.targets.dlq.value
        with aws_errors("sqs", "GetQueueAttributes", self.targets.dlq.name):
            attributes = self.aws.client("sqs").get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
            attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
        )

    def _send_reading(self, evidence: dict[str, Any]) -> HttpResult:
        """POST the tagged reading; while the API refuses it with 400/422 and no `[flow] payload` is
        set, try the next candidate shape its answer points to (bounded: `MAX_TRIES`). Every try carries
        the run's marker in its id field, so were a refused try stored after all, clean-up finds it."""
        url = self._url(self.ingest_path())
        explicit = bool(self.config.flow.payload)
        convention = None if explicit else self.learned_convention()
        tried: list[Convention] = []
        tries: list[dict[str, Any]] = []
        named: set[str] = set()
        keyed_by = self.schema(self.targets.raw_table).partition.name if self.targets.raw_table else None
        if self.single_table(self.targets.raw_table):
            keyed_by = None  # `pk` is no field of the reading: the id field is learned elsewhere
        while True:
            # The reading's time: the query's date parameter (`event_date`) is its UTC day.
            self._reading_time = dt.datetime.now(dt.UTC)
            self.payload = self.build_payload(convention, self._reading_time)
            self._sent_at = time.monotonic()
            self._sent_epoch_ms = int(time.time() * 1000)
            # Sampled=1: the request whose trace the trace step looks up (verify.aws.http).
            response = self._send(
                self.marker,
                functools.partial(
                    self.http.request, self.config.flow.method, url, json_body=self.payload, sampled=True
                ),
            )
            if convention is not None:
                tried.append(convention)
                tries.append(
                    {**convention.describe(), "status": response.status, "answer": response.text[:200]}
                )
            if convention is None or response.status not in (400, 422) or len(tried) >= MAX_TRIES:
                break
            said = named_in_answer(response.text, convention.time_field)
            named |= said
            # A refusal about the timestamp alone (`ts must be epoch seconds`): its format is wrong,
            # not the envelope.
            about_time = convention.time_field in said and not any(n in said for n in NESTINGS if n)
            hint = (about_time, style_in_answer(response.text) if about_time else None)
            renamed = time_field_in_answer(response.text, convention)
            following: Convention | None
            if renamed is not None and renamed not in {c.time_field for c in tried}:
                # The time goes in a field the raw table's keys did not name: that field, same shape.
                why = "the API's 4xx answers"
                sources = (*convention.learned_from, why) if why not in convention.learned_from else None
                following = replace(
                    convention, time_field=renamed, learned_from=sources or convention.learned_from
                )
            else:
                following = next_candidate(tried, named, keyed_by, hint)
            if following is None:
                break
            convention = following
        self.convention = convention
        if convention is None:
            evidence["convention"] = {"learned_from": ["[flow] payload (explicit, nothing learned)"]}
        else:
            evidence["convention"] = convention.describe()
            if len(tries) > 1:
                evidence["tries"] = tries
        return response

    @ends("ingest")
    def ingest(self) -> dict[str, Any]:
        with self.step("ingest") as evidence:
            self.dlq_depth_before = self._dlq_depth()
            url = self._url(self.ingest_path())
            evidence["ingest_route"] = self.ingest_route_evidence()
            response = self._send_reading(evidence)
            if 200 <= response.status < 300:
                self._answered_prefix = prefix_in_answer(response.text, self.marker)
            self._key_evidence(evidence)
            evidence["sent_at"] = round(self._sent_epoch_ms / 1000, 3)
            self.ingest_response = response
            evidence.update(request=response.evidence(), payload=trim(self.payload))
            if 200 <= response.status < 300 and "html" in response.content_type.lower():
                # A sign-in portal or proxy page answering 200 is not the API accepting a reading.
                snippet = " ".join(response.text[:120].split())
                raise CheckFailed(
                    f"{self.config.flow.method} {url}: expected the API's own answer, got an HTML page "
                    f"(HTTP {response.status}, {response.content_type}): {snippet!r}",
                    resource=url,
                    expected="a JSON (or empty) 2xx answer",
                    actual=response.content_type,
                    evidence=evidence,
                )
            if not 200 <= response.status < 300:
                raise CheckFailed(
                    f"{self.config.flow.method} {url}: expected 2xx for a signed, valid reading, got HTTP "
                    f"{response.status}: {response.text[:200]!r}"
                    + (
                        f" (after {len(evidence['tries'])} shapes, see the evidence's tries; set [flow] payload "
                        "to the stack's own)"
                        if "tries" in evidence
                        else ""
                    ),
                    resource=url,
                    expected="2xx",
                    actual=response.status,
                    evidence=evidence,
                )
        return evidence

    def _wait_for_reading(
        self, table: Resource, what: str, evidence: dict[str, Any], role: str
    ) -> dict[str, Any]:
        """The first item tagged with this run's marker in `table` playing `role`, once it is there
        (kept in evidence). In a single-table design a wait that runs out while the reading's key or
        entity is in doubt is "could not verify", saying which [flow] key tells verify."""

        def look() -> list[dict[str, Any]]:
            found = self._role_items(table, role, self.marker)
            return found or not_yet(self._doubt.get(role, "no item"))

        try:
            items: list[dict[str, Any]] = self._wait(look, what, table.key, evidence)
        except CheckFailed:
            if role in self._doubt:
                self._unverifiable[role] = self._doubt[role]
                raise VerifyError(self._doubt[role]) from None
            raise
        finally:
            if self.single_table(table):
                evidence["key"] = self._key_description(table)
        evidence["item"] = trim(items[0])
        return items[0]

    @ends("raw")
    def raw_item(self) -> dict[str, Any]:
        table = self._require_table(self.targets.raw_table, "raw")
        with self.step("raw", "ingest") as evidence:
            self.raw = self._wait_for_reading(
                table, f"reading {self.marker} in raw table {table.name}", evidence, "raw"
            )
        return evidence

    @ends("processed")
    def processed_item(self) -> dict[str, Any]:
        table = self._require_table(self.targets.processed_table, "processed")
        schema = self.schema(table)
        self._await("ingest")  # the reading must exist before asking whether it carries the key
        if schema.partition.name not in self.payload and self.payload and not self.single_table(table):
            raise NotApplicable(
                f"not applicable: processed table {table.name} is keyed by {schema.partition.name}, which the "
                "reading does not carry; set [flow] payload to include it"
            )
        with self.step("processed", "ingest") as evidence:
            self.processed = self._wait_for_reading(
                table, f"processed reading {self.marker} in table {table.name}", evidence, "processed"
            )
        return evidence

    @ends("enriched")
    def enriched(self) -> dict[str, Any]:
        # What the ingest stored itself (in the raw item) is no enrichment: judged before the raw
        # step has its item, ingest timestamps would pass for derived fields.
        self._await("raw")
        with self.step("enriched", "processed") as evidence:
            # Enrichment is what the processor derived (verify.scenario.enrichment): not the table's
            # keys, not a copy of the payload or of what the ingest stored itself, not null.
            keys = self._key_names(self.targets.processed_table)
            table = self.targets.processed_table
            entity = self._entity(self.processed, table) if table and self.single_table(table) else None
            derived, not_derived = derived_attributes(self.processed, self.payload, self.raw, keys, entity)
            evidence["added_attributes"] = derived
            evidence["not_enrichment"] = not_derived
            wanted = self.config.flow.enriched_fields
            if wanted:
                evidence["enriched_fields"] = list(wanted)
                missing = [name for name in wanted if name not in derived]
                if missing:
                    raise CheckFailed(
                        f"processed reading {self.marker}: expected the fields [flow] enriched_fields names "
                        f"({', '.join(wanted)}) derived by the processor, got "
                        + "; ".join(f"{name}: {not_derived.get(name, 'absent')}" for name in missing),
                        expected=list(wanted),
                        actual=derived,
                        evidence=evidence,
                    )
            elif not derived:
                raise CheckFailed(
                    f"processed reading {self.marker}: expected attributes the processor derived (non-null, "
                    "not a key, not copied from the payload or the raw item), got none: "
                    + (
                        ", ".join(f"{name} ({why})" for name, why in sorted(not_derived.items()))
                        or "no attributes"
                    ),
                    expected="derived attributes",
                    actual=sorted(self.processed),
                    evidence=evidence,
                )
        return evidence

    @ends("queue")
    def queue_hop(self) -> dict[str, Any]:
        self._await("processed")  # its answer is the evidence of the hop
        with self.step("queue", "ingest") as evidence:
            if "processed" in self._unverifiable:
                # No processed record *found* is no evidence the hop failed when verify could not
                # tell where (or which) it is.
                raise VerifyError(
                    "the processed step could not be verified, so the queue hop cannot be: "
                    + self._unverifiable["processed"]
                )
            if not self.passed.get("processed"):
                depth = self._queue_depth()
                raise CheckFailed(
                    f"queue hop: expected a processed record for {self.marker} as evidence the message left the "
                    f"queue, got none (queue now holds {depth} message(s))",
                    expected="a processed record",
                    actual=depth,
                )
            after = self._dlq_depth()
            evidence.update(dlq_depth_before=self.dlq_depth_before, dlq_depth_after=after)
            if after is not None and self.dlq_depth_before is not None and after > self.dlq_depth_before:
                raise CheckFailed(
                    f"dead-letter queue {self.targets.dlq.name if self.targets.dlq else ''}: expected its depth "
                    f"unchanged by this run, got {self.dlq_depth_before} -> {after}",
                    expected=self.dlq_depth_before,
                    actual=after,
                )
        return evidence

    def _queue_depth(self) -> int | str:
        if self.targets.queue is None:
            return "unknown: no queue in the outputs"
        with aws_errors("sqs", "GetQueueAttributes", self.targets.queue.name):
            attributes = self.aws.client("sqs").get_queue_attributes(
                QueueUrl=self.targets.queue.url or self.targets.queue.value,
                AttributeNames=["ApproximateNumberOfMessages"],
            )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    @ends("query")
    def query(self) -> dict[str, Any]:
        with self.step("query", "ingest", after=("processed",)) as evidence:
            planned = self._query_request()
            evidence.update(planned.evidence)
            url = self._url(planned.path)
            last: dict[str, HttpResult] = {}
            params = dict(planned.params)
            param = self.config.flow.query_param or self._query_param()

            def ask() -> HttpResult:
                response = self.http.request("GET", url, params=dict(params))
                named = (
                    fill_named(response.text, params, param, self.marker, self._reading_time)
                    if response.status == 400
                    else {}
                )
                if named:
                    # The route wants parameters its definition did not declare (an HTTP API declares
                    # none): its 400 named them; asked again at once, with them.
                    params.update(named)
                    evidence["learned_query"] = sorted(named)
                    response = self.http.request("GET", url, params=dict(params))
                last["response"] = response
                if response.status >= 500 or response.status in (401, 403, 404):
                    # Not something to wait out: the endpoint itself is broken or refuses us.
                    shown = url + "?" + "&".join(f"{k}={v}" for k, v in params.items())
                    raise CheckFailed(
                        f"GET {shown}: expected 2xx with the reading, got HTTP "
                        f"{response.status}: {response.text[:200]!r}",
                        expected="2xx",
                        actual=response.status,
                        evidence={"response": response.evidence()},
                    )
                if not 200 <= response.status < 300 or self.marker not in json.dumps(response.json()):
                    raise NotYet(
                        "reading not in the answer", f"HTTP {response.status}: {response.text[:120]}"
                    )
                return response

            answer = self._wait(ask, f"reading {self.marker} in GET {url}", url, evidence, ("processed",))
            evidence["response"] = answer.evidence()
            if self._answered_prefix is None and self.single_table(self.targets.processed_table):
                # The API's answer may carry the item's key (`"pk": "DEVICE#vfy-..."`): the prefix.
                self._answered_prefix = prefix_in_answer(answer.text, self.marker)
        return evidence

    def _query_request(self) -> QueryRequest:
        """Where to ask for the reading: the routes the API declares and the query strings they
        require (verify.scenario.query_route); `[flow] query_path`/`query_param` when set."""
        param = self.config.flow.query_param or self._query_param()
        return plan_query(
            self.method_requests(),
            query_path=self.config.flow.query_path,
            id_param=param,
            marker=self.marker,
            when=self._reading_time,
            note=self._methods_note,
            explicit=self.config.flow.query_path != FlowConfig().query_path,
        )

    def _query_param(self) -> str:
        table = self.targets.processed_table or self.targets.raw_table
        if self.single_table(table):
            return self.id_field()  # an API asks by the device's id, not by the table's `pk`
        return self.schema(table).partition.name if table else "sensorId"

    @ends("trace")
    def trace(self) -> dict[str, Any]:
        with self.step("trace", "ingest", after=("processed",)) as evidence:
            trace_id = self.ingest_response.trace_id if self.ingest_response else None
            if not trace_id:
                raise CheckFailed(
                    "ingest response: expected an X-Amzn-Trace-Id header (X-Ray tracing on the API), got none",
                    expected="X-Amzn-Trace-Id",
                    actual=None,
                )
            wanted = [f for f in (self.targets.ingest_function, self.targets.processor_function) if f]
            evidence["trace_id"] = trace_id

            def segments() -> list[str]:
                with aws_errors("xray", "BatchGetTraces", trace_id):
                    traces = self.aws.client("xray").batch_get_traces(TraceIds=[trace_id]).get("Traces", [])
                names = sorted(
                    {json.loads(s["Document"]).get("name", "") for t in traces for s in t.get("Segments", [])}
                )
                missing = [f for f in wanted if not any(f in n for n in names)]
                if not traces or missing or (not wanted and len(names) < 2):
                    raise NotYet("segments missing", {"segments": names, "missing": missing})
                return names

            evidence["segments"] = self._wait(
                segments, f"X-Ray trace {trace_id} with segments {wanted}", trace_id, evidence, ("processed",)
            )
        return evidence

    @ends("logs")
    def logs(self) -> dict[str, Any]:
        if not self.targets.log_groups:
            raise NotApplicable(
                "not applicable: the outputs name no ingest or processor function to read logs of"
            )
        with self.step("logs", "ingest", after=("processed",)) as evidence:
            for role, group in sorted(self.targets.log_groups.items()):

                def lines(group: str = group) -> list[str]:
                    with aws_errors("logs", "FilterLogEvents", group):
                        events = (
                            self.aws.client("logs")
                            .filter_log_events(
                                logGroupName=group,
                                filterPattern=f'"{self.marker}"',
                                startTime=self._sent_epoch_ms - 60_000,
                            )
                            .get("events", [])
                        )
                    if not events:
                        raise NotYet("no log line", f"no line with {self.marker} in {group}")
                    return [str(e.get("message", ""))[:200] for e in events]

                waited: dict[str, Any] = {}
                found = self._wait(
                    lines, f"log line with {self.marker} in {group}", group, waited, ("processed",)
                )
                evidence[role] = {"group": group, "lines": len(found), "first": found[0], **waited}
        return evidence

    def _require_table(self, table: Resource | None, role: str) -> Resource:
        if table is None:
            raise NotApplicable(f"not applicable: the outputs name no {role} DynamoDB table")
        return table


def learn_convention(aws: Aws, inventory: Inventory, config: Config) -> Convention:
    """The reading's shape as far as the stack tells it without a reading sent (key schemas, a
    sampled item, the ingest method's request model): what `verify init` writes into verify.toml.
    Read-only; `NotApplicable` when the outputs name no API and flow table."""
    flow = Flow(
        aws=aws,
        http=SignedHttp(aws.credentials(), aws.region),  # never used: learning sends nothing
        inventory=inventory,
        config=config,
        run_id="vfy-init",
        timeout=1,
    )
    return flow.learned_convention()
