"""The end-to-end scenario: one tagged reading followed through the stack, hop by hop.

marker -> POST {api}/ingest (signed) -> raw table -> queue -> processor -> processed table (enriched)
-> GET {api}/query -> X-Ray trace of the ingest call -> CloudWatch log lines with the marker.

Steps may run one after another (pytest order) or all at once (checks running ahead, each in its own
thread): a step waits for the steps it needs only when they are `schedule`d to run, so the waits for
the raw item, the processed item, the query answer, the trace and the log lines overlap, and a
step nobody scheduled is "did not run" at once, as before.

The marker is the run id (always `vfy-...-<random>`, see `run_ids.run_id_for`), placed in the raw
table's partition key, so every read is a key lookup (never a scan) and clean-up deletes exactly what
this run wrote: each delete is conditional on the key still carrying the run id. In a single-table
design (verify.scenario.keys) the key is the stack's prefix + the marker (`DEVICE#vfy-...`): the
prefix is learned (from one bounded Scan of existing items, the API's answers, the id field's name),
each lookup is a Query on it, and each delete is conditional on the prefix + run id. Where a flow table
has TTL enabled the reading also carries that attribute (an hour ahead), so even a run killed before
its clean-up leaves nothing behind for long. Queues are never received from: the processed record is
the evidence that the message hop happened.

Clean-up that finishes: a reading the API accepted may still be queued when the run ends (a slow
processor, `--timeout 1`, Ctrl-C), and the processor would then write it after the clean-up. So
clean-up deletes what it finds, then waits -- bounded: until `IN_FLIGHT_GRACE_S` (or twice the
run's timeout, when shorter; at least `IN_FLIGHT_FLOOR_S`) after the reading was sent, at least
`MIN_GRACE_S` after the first sweep, only `INTERRUPTED_GRACE_S` when the run was interrupted -- for the
processed copy of each reading still in flight, and sweeps again. What it could not remove, or may
still arrive, is reported as left behind (`RunSummary.left_behind`), with its key.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin

from verify.aws.client import Aws
from verify.aws.errors import aws_errors
from verify.aws.http import HttpResult, SignedHttp
from verify.config.settings import Config, FlowConfig
from verify.errors import AwsAccessError, CheckFailed, NotApplicable, VerifyError
from verify.model import LeftBehind
from verify.polling import (
    CLEANUP_GRACE_S,
    NotYet,
    Polled,
    eventually,
    run_deadline,
    stop_deadline,
    waits_cancelled,
)
from verify.probes.apigateway import (
    MethodRequest,
    declared_routes,
    is_function_url,
    method_requests,
    model_schema,
    rest_api_id,
)
from verify.redact import REDACTOR
from verify.scenario.conventions import (
    MAX_TRIES,
    NESTINGS,
    Convention,
    from_key_schema,
    from_model,
    from_payload,
    from_sampled_items,
    named_in_answer,
    next_candidate,
    style_in_answer,
    time_field_in_answer,
)
from verify.scenario.enrichment import derived_attributes
from verify.scenario.keys import (
    SAMPLE_ITEMS,
    KeyGuess,
    entity_of,
    entity_role,
    is_single_table,
    key_guesses,
    prefix_in_answer,
)
from verify.scenario.payload import KeySchema, render_template
from verify.scenario.query_route import (
    QueryRequest,
    fill_named,
    ingest_route,
    methods_of_routes,
    plan_query,
)
from verify.scenario.run_ids import is_ours
from verify.scenario.targets import find_targets
from verify.stack.inventory import Inventory, Resource

Waiter = Callable[..., Polled[Any]]
_EVIDENCE_CHARS = 600
TTL_AHEAD_S = 3600
# Clean-up waits for readings in flight until this long after they were sent (a processor's pickup
# and write take seconds on AWS; the sandbox's `slow_processor` takes ~3 s)...
IN_FLIGHT_GRACE_S = 15.0
# ...or twice the run's --timeout when that is shorter, but never under this.
IN_FLIGHT_FLOOR_S = 5.0
# ...but at least this long after the first sweep, and only this long when the run was interrupted
# (a stopped run must end within seconds).
MIN_GRACE_S = 2.0
INTERRUPTED_GRACE_S = 2.0
SWEEP_EVERY_S = 0.5
BUDGET_MARGIN_S = 1.0  # kept from the run's stop budget for the last sweep and the reports
# The steps other steps can depend on, in the order they happen.
STEPS = ("ingest", "raw", "processed", "enriched", "queue", "query", "trace", "logs")
Step = Callable[..., dict[str, Any]]


def _ends(name: str) -> Callable[[Step], Step]:
    """Mark step `name` finished whenever its method returns or raises (NotApplicable included),
    so a concurrent step waiting on it never waits for a step that already gave its answer."""

    def wrap(method: Step) -> Step:
        @functools.wraps(method)
        def run(self: Flow, *args: Any, **kwargs: Any) -> dict[str, Any]:
            try:
                return method(self, *args, **kwargs)
            finally:
                self._done[name].set()

        return run

    return wrap


# Steps whose verdict reads another step's signal: they became visible with it.
_SEEN_WITH = {"queue": "processed", "enriched": "processed"}


def _seen_at(evidence: dict[str, Any]) -> float | None:
    """The latest `seen_at` of the step's waits (the logs step waits once per log group)."""
    waits = [evidence.get("wait")] + [v.get("wait") for v in evidence.values() if isinstance(v, dict)]
    seen = [float(w["seen_at"]) for w in waits if isinstance(w, dict) and "seen_at" in w]
    return max(seen) if seen else None


def _trim(value: Any) -> Any:
    # Secret-named attributes (`deviceToken`, `apiKey`) masked in the item first: once it is cut into
    # a string, no key says which part is a secret any more.
    return REDACTOR.trimmed(value, _EVIDENCE_CHARS)


class Flow:
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

    def schedule(self, steps: Iterator[str] | set[str] | frozenset[str] | list[str]) -> None:
        """Say which steps will run concurrently: a step then waits for these before judging."""
        unknown = set(steps) - set(STEPS)
        if unknown:
            raise VerifyError(f"[flow] unknown step(s) {sorted(unknown)}; the steps are {', '.join(STEPS)}")
        self._scheduled = frozenset(steps)

    @property
    def ingested(self) -> threading.Event:
        """Set once the ingest step has its answer (sent or refused)."""
        return self._done["ingest"]

    def _await(self, name: str) -> None:
        """Wait until a scheduled step has its answer (bounded: it has its own deadline)."""
        if name not in self._scheduled:
            return
        bound = time.monotonic() + 2 * self.timeout + 60
        while not self._done[name].wait(0.05):
            if waits_cancelled() or time.monotonic() > bound:
                raise VerifyError(f"the {name} step did not finish, so this step cannot be observed")

    def _upstream_failed(self, after: tuple[str, ...]) -> str | None:
        for upstream in after:
            if self.passed.get(upstream) is False and (
                upstream not in self._scheduled or self._done[upstream].is_set()
            ):
                return upstream
        return None

    # ---------------------------------------------------------------- step bookkeeping

    @contextmanager
    def step(self, name: str, *requires: str, after: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
        """Run one step: refuse (could not verify) when a step it depends on did not pass.

        `after` names steps whose signal this one is downstream of when they apply: if one of them
        ran and failed, waiting out a full timeout for a signal that cannot come would only delay
        the verdict (with a 90 s budget, a stopped processor would cost minutes per later step).
        """
        for needed in requires:
            self._await(needed)
            if not self.passed.get(needed):
                state = "failed" if needed in self.passed else "did not run"
                raise VerifyError(f"the {needed} step {state}, so the {name} step cannot be observed")
        failed = self._upstream_failed(after)
        if failed:
            raise VerifyError(f"the {failed} step failed, so the {name} step cannot be observed")
        # `flow_step` names the hop for the reports' timeline, failed or passed (issue 18).
        evidence: dict[str, Any] = {"flow_step": name}
        self.passed[name] = False
        try:
            yield evidence
        except CheckFailed as exc:
            exc.evidence.setdefault("flow_step", name)
            raise
        self.passed[name] = True
        if self._sent_at is not None:
            self.timeline[name] = time.monotonic() - self._sent_at
            evidence["at_s"] = round(self.timeline[name], 3)
        # When the hop's signal became visible (epoch s), not when its check finished: its own
        # wait's answer, the ingest's answer, or the processed item a queue/enrichment verdict reads.
        seen = _seen_at(evidence) or self.seen_at.get(_SEEN_WITH.get(name, ""))
        if seen is None and name == "ingest":
            seen = round(time.time(), 3)
        if seen is not None:
            self.seen_at[name] = evidence["seen_at"] = seen

    def _wait(
        self,
        probe: Callable[[], Any],
        what: str,
        resource: str,
        evidence: dict[str, Any],
        after: tuple[str, ...] = (),
    ) -> Any:
        """Poll for a signal; record when it was seen (epoch) and how many calls the wait took.

        `after` names upstream steps running concurrently: once one of them fails, the signal cannot
        come, so the wait ends there ("could not verify") instead of running out its deadline.
        """

        def guarded() -> Any:
            failed = self._upstream_failed(after)
            if failed:
                raise VerifyError(f"the {failed} step failed, so {what} cannot be observed")
            return probe()

        try:
            polled = self.waiter(guarded, what=what, timeout=self.timeout, resource=resource)
        except CheckFailed:
            # Waiting side by side, an upstream step may run out its deadline at the same moment: if
            # it failed, this signal could never come, and that is "could not verify", not a failure.
            for upstream in after:
                self._await(upstream)
            failed = self._upstream_failed(after)
            if failed:
                raise VerifyError(f"the {failed} step failed, so {what} cannot be observed") from None
            raise
        evidence["wait"] = {
            "attempts": polled.attempts,
            "waited_s": round(polled.elapsed_s, 3),
            "seen_at": round(time.time(), 3),
        }
        return polled.value

    # ---------------------------------------------------------------- helpers

    def schema(self, table: Resource) -> KeySchema:
        if table.name not in self._schemas:
            with aws_errors("dynamodb", "DescribeTable", table.name):
                described = self.aws.client("dynamodb").describe_table(TableName=table.name)["Table"]
            self._described[table.name] = described
            self._schemas[table.name] = KeySchema.from_describe(described)
        return self._schemas[table.name]

    def _schema_if_known(self, table: Resource) -> KeySchema | None:
        try:
            return self.schema(table)
        except (CheckFailed, VerifyError, ValueError):
            return None  # its own checks say why; the flow then treats it as an ordinary table

    def single_table(self, table: Resource | None) -> bool:
        """Whether `table` keys items by generic names (`pk`/`sk`) with prefixed values."""
        return table is not None and is_single_table(self._schema_if_known(table))

    def _shared(self) -> bool:
        """One table holds the raw and the processed items (a single-table design)."""
        raw, processed = self.targets.raw_table, self.targets.processed_table
        return raw is not None and processed is not None and raw.name == processed.name

    def _sample(self, table: Resource) -> list[dict[str, Any]]:
        """Some existing items (one bounded, read-only Scan, asked once): a single-table design's
        prefixes and fields (verify.scenario.keys)."""
        if table.name not in self._samples:
            try:
                with aws_errors("dynamodb", "Scan", table.name):
                    answer = self.aws.client("dynamodb").scan(TableName=table.name, Limit=SAMPLE_ITEMS)
                self._samples[table.name] = list(answer.get("Items", []))
            except (CheckFailed, VerifyError):
                self._samples[table.name] = []  # no permission or no table: other evidence teaches
        return self._samples[table.name]

    def id_field(self) -> str:
        """The payload's field that carries the marker: the learned (or the template's) id field."""
        if self.config.flow.payload:
            rendered = render_template(self.config.flow.payload, self.marker, dt.datetime.now(dt.UTC))
            ids = [name for name, value in rendered.items() if value == self.marker]
            if ids:
                return ids[0]
        return (self.convention or self.learned_convention()).id_field

    def key_guess(self, table: Resource) -> KeyGuess:
        """The prefixes a single-table design's partition key may put before the marker, in order."""
        schema = self.schema(table)
        found = [self._key_found[t] for t in sorted(self._key_found)]
        guess = key_guesses(
            partition=schema.partition.name,
            id_field=self.id_field(),
            configured=self.config.flow.key_prefix,
            answered=self._answered_prefix,
            sample=self._sample(table),
        )
        if self.config.flow.key_prefix is None and found:
            # Where this run's reading was found (in either flow table): that is the stack's prefix.
            first = found[0]
            return KeyGuess(
                (first, *[p for p in guess.prefixes if p != first]),
                guess.confirmed | {first},
                {first: "this run's reading, found under it", **guess.learned_from},
            )
        return guess

    def _prefixes(self, table: Resource) -> tuple[str, ...]:
        if not self.single_table(table):
            return ("",)
        if table.name in self._key_found:
            return (self._key_found[table.name],)
        return self.key_guess(table).prefixes

    def _query_key(self, table: Resource, value: str) -> list[dict[str, Any]]:
        schema = self.schema(table)
        with aws_errors("dynamodb", "Query", table.name):
            answer = self.aws.client("dynamodb").query(
                TableName=table.name,
                KeyConditionExpression="#pk = :marker",
                ExpressionAttributeNames={"#pk": schema.partition.name},
                ExpressionAttributeValues={":marker": {schema.partition.type: value}},
                ConsistentRead=True,
            )
        items: list[dict[str, Any]] = answer.get("Items", [])
        return items

    def _items(self, table: Resource, marker: str) -> list[dict[str, Any]]:
        """The items keyed by `marker` (behind a single-table design's prefix: each candidate in turn,
        the first that holds any is the stack's, remembered)."""
        for prefix in self._prefixes(table):
            items = self._query_key(table, prefix + marker)
            if items:
                if self.single_table(table):
                    self._key_found.setdefault(table.name, prefix)
                return items
        return []

    def _entity(self, item: dict[str, Any], table: Resource) -> str | None:
        sort = self.schema(table).sort
        value = item.get(sort.name, {}).get("S") if sort is not None else None
        return entity_of(value)

    def _roles(self, items: list[dict[str, Any]], table: Resource) -> tuple[dict[str, str], list[str]]:
        """Each entity in a shared table's partition -> `raw`/`processed`; the entities left untold.
        Configured or worded entities first; of two, one told, the other takes the other role; the
        raw step's entity, once told, stays raw."""
        entities = list(dict.fromkeys(str(self._entity(i, table)) for i in items))
        known = self._sampled_roles(table)
        roles: dict[str, str] = {}
        for entity in entities:
            role = self._entity_role(entity) or known.get(entity)
            if role is None and entity == self._raw_entity:
                role = "raw"
            if role is not None:
                roles[entity] = role
        untold = [e for e in entities if e not in roles]
        if len(entities) == 2 and len(untold) == 1:
            (told,) = [e for e in entities if e in roles]
            roles[untold[0]] = "processed" if roles[told] == "raw" else "raw"
            untold = []
        return roles, untold

    def _entity_role(self, entity: str) -> str | None:
        flow = self.config.flow
        return entity_role(None if entity == "None" else entity, flow.raw_entity, flow.processed_entity)

    def _sampled_roles(self, table: Resource) -> dict[str, str]:
        """Entities told apart by the sampled items: in one partition, two entities of which one is
        told by its words (`DATUM#…` beside `PROCESSED#…`), the other plays the other role."""
        schema = self.schema(table)
        by_partition: dict[str, set[str]] = {}
        for item in self._sample(table):
            partition = item.get(schema.partition.name, {}).get("S")
            entity = self._entity(item, table)
            if isinstance(partition, str) and entity is not None:
                by_partition.setdefault(partition, set()).add(entity)
        learned: dict[str, str] = {}
        for entities in by_partition.values():
            told = {e: r for e in entities if (r := self._entity_role(e)) is not None}
            untold = entities - set(told)
            if len(entities) == 2 and len(told) == 1 and len(untold) == 1:
                learned[untold.pop()] = "processed" if next(iter(told.values())) == "raw" else "raw"
        return learned

    def _role_items(self, table: Resource, role: str, marker: str) -> list[dict[str, Any]]:
        """This run's items that play `role` in `table`: every item keyed by the marker, unless one
        table holds both (then by their sort key's entity, verify.scenario.keys)."""
        items = self._items(table, marker)
        if not self._shared() or not items:
            if not items and self.single_table(table):
                self._note_unfound(table, role)
            return items
        roles, untold = self._roles(items, table)
        mine = [i for i in items if roles.get(str(self._entity(i, table))) == role]
        if mine and role == "raw":
            self._raw_entity = str(self._entity(mine[0], table))
        if not mine and untold:
            self._doubt[role] = (
                f"{table.name} holds this run's items of entity {', '.join(untold)} under "
                f"{self.schema(table).partition.name} = {self._key_found.get(table.name, '')}{marker}, and "
                "verify cannot tell which of them is the raw and which the processed reading: set [flow] "
                "raw_entity and processed_entity to their sort keys' prefixes (e.g. READING#, PROCESSED#)"
            )
        else:
            self._doubt.pop(role, None)  # found, or the key is known and the item is not there yet
        return mine

    def _note_unfound(self, table: Resource, role: str) -> None:
        """Nothing found under any prefix: when none of them is the stack's for sure, a wait that runs
        out is "could not verify" (the reading may be under a prefix verify does not know)."""
        guess = self.key_guess(table)
        if table.name in self._key_found or self._key_found or guess.confirmed & set(guess.prefixes):
            self._doubt.pop(role, None)
            return
        name = self.schema(table).partition.name
        tried = ", ".join(f"{p}<marker>" for p in guess.prefixes)
        self._doubt[role] = (
            f"single-table design {table.name}: the reading's {name} could not be learned (looked up as "
            f"{name} = {tried}; no sampled item, answer or config says which); set [flow] key_prefix to "
            "the text before the id in its partition key (e.g. DEVICE#). A design whose partition key "
            "does not hold the id at all (only an index's does) is not followed by the flow"
        )

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

    def _url(self, path: str) -> str:
        return urljoin(self.targets.api_url, path.lstrip("/"))

    def build_payload(
        self, convention: Convention | None = None, now: dt.datetime | None = None
    ) -> dict[str, Any]:
        now = now or dt.datetime.now(dt.UTC)
        if self.config.flow.payload:
            payload = render_template(self.config.flow.payload, self.marker, now)
        else:
            shape = convention or self.convention or self.learned_convention()
            payload = shape.payload(self.marker, now, self.config.flow.value_field)
        for name, value in self._ttl_values(now).items():
            payload.setdefault(name, value)
        return payload

    # ---------------------------------------------------------------- the stack's conventions

    def learned_convention(self) -> Convention:
        """The reading's shape as the stack describes it without a reading sent: the raw table's key
        schema (with one sampled item when an epoch sort key's unit is in doubt), then the ingest
        method's request model. Asked once; the ingest's tries may refine it (`self.convention`)."""
        with self._learn_lock:
            if self._static_convention is None:
                self._static_convention = self._learn()
            return self._static_convention

    def _learn(self) -> Convention:
        table = self.targets.raw_table
        schema = self.schema(table) if table is not None else None
        sample = None
        if table is not None and schema is not None and schema.sort is not None and schema.sort.type == "N":
            sample = self._sample_item(table)
        convention = from_key_schema(schema, sample)
        if table is not None and schema is not None and is_single_table(schema):
            # The keys say nothing of the reading's fields; an existing reading may (its id behind
            # the partition key's prefix, its time behind the sort key's).
            convention = from_sampled_items(convention, self._sample(table), schema)
        for flow_table in (self.targets.raw_table, self.targets.processed_table):
            if flow_table is not None and self.single_table(flow_table):
                # Sampled before anything is sent: what the samples teach is the stack's own data,
                # the same on every run (never this run's reading, seen or not by the timing).
                self._sample(flow_table)
        request = self._ingest_method()
        if request is not None and request.model:
            api_id = rest_api_id(self.targets.api, self.inventory) if self.targets.api else None
            try:
                with aws_errors("apigateway", "GetModel", request.model):
                    body_schema = model_schema(self.aws.client("apigateway"), str(api_id), request.model)
            except (CheckFailed, VerifyError):
                body_schema = {}  # no model to read: the 4xx answers still teach the shape
            if body_schema:
                convention = from_model(convention, body_schema, f"request model `{request.model}`")
        return convention

    def _sample_item(self, table: Resource) -> dict[str, Any] | None:
        """One existing item (a bounded, read-only Scan of 1): its epoch says seconds or milliseconds."""
        try:
            with aws_errors("dynamodb", "Scan", table.name):
                items = self.aws.client("dynamodb").scan(TableName=table.name, Limit=1).get("Items", [])
        except (CheckFailed, VerifyError):
            return None  # no permission or no table: the key's name alone decides
        return items[0] if items else None

    def method_requests(self) -> list[MethodRequest]:
        """What each method of the API (when an output names its id) asks of a request; [] when unknown."""
        with self._learn_lock:
            if self._methods is None:
                self._methods = []
                api = self.targets.api
                api_id = rest_api_id(api, self.inventory) if api is not None else None
                if api_id is None:
                    self._methods_note = "no output names the API Gateway id"
                else:
                    try:
                        self._methods = method_requests(self.aws.client("apigateway"), api_id)
                    except CheckFailed:
                        # Not a REST API: an HTTP API (v2) declares route keys (`POST /readings`), no
                        # models or required query strings; its 400 answers say those.
                        self._methods = self._http_api_routes(api_id)
                    except VerifyError as exc:
                        self._methods_note = f"could not read API {api_id}'s methods: {exc}"
            return self._methods

    def _http_api_routes(self, api_id: str) -> list[MethodRequest]:
        try:
            routes = declared_routes(self.aws.client("apigateway"), api_id, self.aws.client("apigatewayv2"))
        except (CheckFailed, VerifyError) as exc:
            self._methods_note = f"could not read API {api_id}'s methods or routes: {exc}"
            return []
        return methods_of_routes(routes)

    def ingest_path(self) -> str:
        """The route the reading (and every negative check) is sent to: `[flow] ingest_path` when set,
        else the one the API declares for readings (verify.scenario.query_route.ingest_route)."""
        with self._learn_lock:
            if self._ingest is None:
                configured = self.config.flow.ingest_path
                if configured != FlowConfig().ingest_path:
                    self._ingest = (configured, "[flow] ingest_path")
                else:
                    self._ingest = ingest_route(self.method_requests(), self.config.flow.method, configured)
            return self._ingest[0]

    def ingest_route_evidence(self) -> str:
        path = self.ingest_path()
        how = self._ingest[1] if self._ingest is not None else ""
        return f"{self.config.flow.method.upper()} /{path.lstrip('/')} ({how})"

    def _ingest_method(self) -> MethodRequest | None:
        method = self.config.flow.method.upper()
        path = "/" + self.ingest_path().split("?", 1)[0].strip("/")
        for request in self.method_requests():
            if request.method in (method, "ANY") and request.path == path:
                return request
        return None

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
            self._sending(self.marker)
            # Sampled=1: the request whose trace the trace step looks up (verify.aws.http).
            response = self.http.request(self.config.flow.method, url, json_body=self.payload, sampled=True)
            self._answered(self.marker, response.status)
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

    def _ttl_values(self, now: dt.datetime) -> dict[str, int]:
        """The TTL attribute of each flow table that has TTL on, an hour ahead: a processor that copies
        the reading's fields gives its copy the processed table's TTL too."""
        values: dict[str, int] = {}
        for table in (self.targets.raw_table, self.targets.processed_table):
            name = self.ttl_attribute(table)
            if name is not None:
                values.setdefault(name, int(now.timestamp()) + TTL_AHEAD_S)
        return values

    def ttl_attribute(self, table: Resource | None = None) -> str | None:
        """A table's (the raw one by default) TTL attribute when TTL is enabled on it; None when it is
        not (or unknown)."""
        table = table or self.targets.raw_table
        if table is None:
            return None
        try:
            with aws_errors("dynamodb", "DescribeTimeToLive", table.name):
                described = self.aws.client("dynamodb").describe_time_to_live(TableName=table.name)
        except (AwsAccessError, CheckFailed):
            return None  # no permission to ask, or no table: the reading goes without, clean-up still runs
        ttl = described.get("TimeToLiveDescription", {})
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName"):
            return str(ttl["AttributeName"])
        return None

    # ---------------------------------------------------------------- the steps

    @_ends("ingest")
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
            evidence.update(request=response.evidence(), payload=_trim(self.payload))
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
            return found or _not_yet(self._doubt.get(role, "no item"))

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
        evidence["item"] = _trim(items[0])
        return items[0]

    def _key_description(self, table: Resource) -> dict[str, Any]:
        schema = self.schema(table)
        described: dict[str, Any] = {
            "partition_key": schema.partition.name,
            **self.key_guess(table).describe(),
        }
        if table.name in self._key_found:
            described["found_under"] = f"{self._key_found[table.name]}<marker>"
        if self._shared():
            flow = self.config.flow
            described["entities"] = {
                "raw": flow.raw_entity or self._raw_entity or "told by its words",
                "processed": flow.processed_entity or "told by its words, or the other entity",
            }
        return described

    def _key_evidence(self, evidence: dict[str, Any]) -> None:
        table = self.targets.raw_table or self.targets.processed_table
        if table is not None and self.single_table(table):
            evidence["single_table"] = {
                "table": table.name,
                "answered_prefix": self._answered_prefix,
                **self.key_guess(table).describe(),
            }

    @_ends("raw")
    def raw_item(self) -> dict[str, Any]:
        table = self._require_table(self.targets.raw_table, "raw")
        with self.step("raw", "ingest") as evidence:
            self.raw = self._wait_for_reading(
                table, f"reading {self.marker} in raw table {table.name}", evidence, "raw"
            )
        return evidence

    @_ends("processed")
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

    @_ends("enriched")
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

    def _key_names(self, table: Resource | None) -> frozenset[str]:
        """The key attributes of a flow table: a processor writes them by necessity, never as enrichment."""
        if table is None:
            return frozenset()
        schema = self.schema(table)
        names = {schema.partition.name} | ({schema.sort.name} if schema.sort else set())
        # An index's keys too (a single-table design's `GSI1PK`/`GSI1SK`): written to be found by.
        described = self._described.get(table.name, {})
        for index in (
            *described.get("GlobalSecondaryIndexes", []),
            *described.get("LocalSecondaryIndexes", []),
        ):
            names |= {str(k["AttributeName"]) for k in index.get("KeySchema", [])}
        return frozenset(names)

    @_ends("queue")
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

    @_ends("query")
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

    @_ends("trace")
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

    @_ends("logs")
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

    # ---------------------------------------------------------------- negative steps

    def declared_route(self) -> dict[str, Any]:
        """Evidence that the reading's route is one the API declares. Otherwise `VerifyError` (could
        not verify), saying why: a REST API answers `403 Missing Authentication Token` for every route
        it does not declare, signed or not, so a refusal from such a route proves nothing."""
        with self._route_lock:
            if self._route_verdict is None:
                self._route_verdict = self._judge_route()
            evidence, problem = self._route_verdict
        if problem is not None:
            raise VerifyError(problem)
        return dict(evidence)

    def _judge_route(self) -> tuple[dict[str, Any], str | None]:
        method = self.config.flow.method.upper()
        path = "/" + self.ingest_path().split("?", 1)[0].strip("/")
        shown = f"{method} {path}"
        api = self.targets.api
        if api is None:
            return {}, f"no output names the API, so whether it declares {shown} is unknown"
        if is_function_url(api):
            return {
                "route": shown,
                "declared_by": f"Lambda function URL {api.key}: every path reaches it",
            }, None
        api_id = rest_api_id(api, self.inventory)
        if api_id is None:
            return {}, (
                f"cannot tell whether {shown} is a route the API at output `{api.key}` declares: no output "
                "names its API Gateway id (add one, e.g. `ApiId`), and a 403 from a route it does not "
                "declare proves nothing"
            )
        try:
            routes = declared_routes(self.aws.client("apigateway"), api_id, self.aws.client("apigatewayv2"))
        except (CheckFailed, VerifyError) as exc:
            return {}, (
                f"could not read the routes of API {api_id} (output `{api.key}`): {exc}; a 403 from a route "
                f"it does not declare proves nothing, so {shown} must be known to be one"
            )
        declared = [str(route) for route in routes]
        if not any(route.matches(method, path) for route in routes):
            return {}, (
                f"{shown} is not a route API {api_id} declares; declared: {', '.join(declared) or 'none'}. "
                "A REST API answers 403 Missing Authentication Token for every route it does not declare, "
                "so a refusal there proves nothing: set [flow] ingest_path and method to the route "
                "the stack ingests readings on"
            )
        return {"route": shown, "api_id": api_id, "declared": declared}, None

    def rejects(self, how: str) -> dict[str, Any]:
        route = self.declared_route()  # before anything is sent: an undeclared route proves nothing
        url = self._url(self.ingest_path())
        marker = f"{self.marker}-{how}"
        self._markers_written.add(marker)
        body = {**(self.payload or self.build_payload()), **self._partition(marker)}
        self._sending(marker)
        if how == "unsigned":
            response = self.http.request(self.config.flow.method, url, json_body=body, sign=False)
        else:
            frozen = self.aws.credentials().get_frozen_credentials()
            # Same key id, different secret: the API must check the signature, not just its presence.
            wrong = (str(frozen.access_key), "wrong" + str(frozen.secret_key)[5:], frozen.token)
            response = self.http.request(
                self.config.flow.method, url, json_body=body, credentials_override=wrong
            )
        self._answered(marker, response.status)
        evidence = {"route": route, "response": response.evidence()}
        if response.status not in (401, 403):
            raise CheckFailed(
                f"{self.config.flow.method} {url} with {how.replace('_', ' ')} request: expected 403, got HTTP "
                f"{response.status}",
                expected=403,
                actual=response.status,
                evidence=evidence,
            )
        return evidence

    def malformed_not_stored(self) -> dict[str, Any]:
        route = self.declared_route()  # a 4xx from a route the API does not declare proves nothing
        url = self._url(self.ingest_path())
        # Valid JSON that no sane handler accepts *in the stack's shape* (verify.scenario.conventions):
        # the key (so a stack that stores it anyway stores it under this run's marker, where the check
        # finds it and clean-up removes it), and flat: no timestamp and a value of the wrong type;
        # nested: the readings' envelope missing. The shape the ingest settled on, once it has.
        body: dict[str, Any] = self._ttl_values(dt.datetime.now(dt.UTC))
        self._await("ingest")
        shape = self.convention or self.learned_convention()
        if self.config.flow.payload:
            # An explicit template is the shape: malformed for it, not for what learning would say.
            rendered = render_template(self.config.flow.payload, self.marker, dt.datetime.now(dt.UTC))
            shape = from_payload(rendered, self.marker, shape)
        body.update(shape.malformed(self.malformed_marker, self.config.flow.value_field))
        self._markers_written.add(self.malformed_marker)
        self._sending(self.malformed_marker)
        response = self.http.request(self.config.flow.method, url, json_body=body)
        self._answered(self.malformed_marker, response.status)
        self._malformed_status = response.status
        evidence: dict[str, Any] = {"route": route, "response": response.evidence(), "sent": _trim(body)}
        evidence["malformed_for"] = shape.describe()
        stored = self._items(self.targets.raw_table, self.malformed_marker) if self.targets.raw_table else []
        evidence["stored_items"] = len(stored)
        if not stored and not 200 <= response.status < 300:
            self._key_known_or_error(evidence)
        if 200 <= response.status < 300 or stored:
            raise CheckFailed(
                f"{self.config.flow.method} {url} with a malformed payload: expected 4xx and nothing stored, got "
                f"HTTP {response.status} and {len(stored)} stored item(s)",
                expected="4xx, 0 items",
                actual=f"HTTP {response.status}, {len(stored)} items",
                evidence=evidence,
            )
        if not 400 <= response.status < 500:
            raise CheckFailed(
                f"{self.config.flow.method} {url} with a malformed payload: expected 4xx, got HTTP {response.status}",
                expected="4xx",
                actual=response.status,
                evidence=evidence,
            )
        return evidence

    def _key_known_or_error(self, evidence: dict[str, Any]) -> None:
        """ "Nothing stored" holds only where verify knows how a single-table design keys a reading:
        otherwise it may sit under a prefix verify never looked at ("could not verify")."""
        table = self.targets.raw_table
        if table is None or not self.single_table(table):
            return
        self._await("raw")  # the raw step may find the reading, and so the prefix
        guess = self.key_guess(table)
        evidence["key"] = guess.describe()
        if self._key_found or guess.confirmed & set(guess.prefixes):
            return
        name = self.schema(table).partition.name
        raise VerifyError(
            f"single-table design {table.name}: the reading's {name} could not be learned, so whether the "
            f"malformed reading was stored cannot be told (looked up as {name} = "
            + ", ".join(f"{p}<marker>" for p in guess.prefixes)
            + "); set [flow] key_prefix to the text before the id in its partition key (e.g. DEVICE#)"
        )

    def _sending(self, marker: str) -> None:
        """Before a reading goes out: from here on something of ours may be in the stack."""
        self._sent = True
        self._in_flight[marker] = time.monotonic()

    def _answered(self, marker: str, status: int) -> None:
        if 400 <= status < 500:
            self._in_flight.pop(marker, None)  # refused: it never entered the pipeline

    def _partition(self, marker: str) -> dict[str, Any]:
        if self.single_table(self.targets.raw_table):
            return {self.id_field(): marker}  # the stack builds `pk` from it (`DEVICE#<id>`)
        name = self.schema(self.targets.raw_table).partition.name if self.targets.raw_table else "sensorId"
        return {name: marker}

    def _require_table(self, table: Resource | None, role: str) -> Resource:
        if table is None:
            raise NotApplicable(f"not applicable: the outputs name no {role} DynamoDB table")
        return table

    # ---------------------------------------------------------------- clean-up

    def cleanup(self) -> list[str]:
        """Delete every item this run wrote (by its markers) from the flow's tables, wait (bounded) for
        its readings still in flight and sweep again; return what went. What stays is appended to
        `left_behind` (see the module docstring)."""
        removed: list[str] = []
        if not self._sent:
            return removed  # e.g. the run could not even read the table's keys: nothing was written
        if not is_ours(self.marker):
            # Defensive: an id without verify's prefix could be a real item's key; delete nothing.
            self._leave_in_flight(f"run id {self.marker!r} lacks verify's prefix, so nothing was deleted")
            return removed
        try:
            removed += self._sweep()
            deadline = self._grace_deadline()
            while self._awaited() and time.monotonic() < deadline:
                time.sleep(min(SWEEP_EVERY_S, max(0.0, deadline - time.monotonic())))
                removed += self._sweep()
        except (VerifyError, CheckFailed) as exc:
            self._leave_in_flight(f"clean-up stopped: {exc}")
            raise
        self._leave_in_flight(None)
        return removed

    def _sweep(self) -> list[str]:
        removed: list[str] = []
        tables = {t.name: t for t in (self.targets.raw_table, self.targets.processed_table) if t is not None}
        for table in tables.values():
            try:
                schema = self.schema(table)
            except CheckFailed:
                continue  # the table does not exist (its own check says so): nothing of ours is in it
            for marker in sorted(self._markers_written):
                if not marker.startswith(self.marker):
                    continue  # defensive: only ever delete what carries this run's id
                # Every prefix the reading may be keyed under (one, once it was found): what a
                # single-table design stored under any of them carries the run's id behind it.
                for prefix in self._prefixes(table):
                    items = self._query_key(table, prefix + marker)
                    if items and self._holds_processed(table, items):
                        self._processed_seen.add(marker)
                    for item in items:
                        if self._delete_ours(table, schema, item, prefix):
                            removed.append(f"{table.name}:{prefix}{marker}")
        return removed

    def _holds_processed(self, table: Resource, items: list[dict[str, Any]]) -> bool:
        """Whether this run's items in `table` include the processed reading."""
        if table is not self.targets.processed_table and not self._shared():
            return False
        if not self._shared():
            return True
        roles, untold = self._roles(items, table)
        return "processed" in roles.values() or len(roles) + len(untold) >= 2

    def _delete_ours(
        self, table: Resource, schema: KeySchema, item: dict[str, Any], prefix: str = ""
    ) -> bool:
        """Delete one item -- only when its key carries this run's id (behind `prefix`, a single-table
        design's `DEVICE#`), checked here and by DynamoDB itself (a condition), so a real item can
        never go, not even one written in between."""
        partition = schema.partition.name
        value = item.get(partition, {}).get("S")
        if not isinstance(value, str) or not is_ours(self.marker):
            return False
        if not value.startswith(prefix + self.marker) or not is_ours(value[len(prefix) :]):
            return False
        key = {partition: item[partition]}
        if schema.sort is not None:
            key[schema.sort.name] = item[schema.sort.name]
        try:
            with aws_errors("dynamodb", "DeleteItem", table.name):
                self.aws.client("dynamodb").delete_item(
                    TableName=table.name,
                    Key=key,
                    ConditionExpression="begins_with(#pk, :run)",
                    ExpressionAttributeNames={"#pk": partition},
                    ExpressionAttributeValues={":run": {"S": prefix + self.marker}},
                )
        except CheckFailed as exc:
            if "ConditionalCheckFailed" in str(exc) or "not found" in str(exc):
                return False  # already gone, or no longer ours: nothing to delete
            raise
        return True

    def _processed_lookup(self) -> Resource | None:
        """The processed table, when this run's readings can be found in it by their marker."""
        table = self.targets.processed_table
        if table is None or self.targets.raw_table is None:
            return None
        try:
            same_key = self.schema(table).partition.name == self.schema(self.targets.raw_table).partition.name
        except CheckFailed:
            return None
        # A single-table design's processed items are found by the prefixed marker, whatever its key's name.
        return table if same_key or self.single_table(table) else None

    def _processed_table_exists(self) -> bool:
        if self.targets.processed_table is None:
            return False
        try:
            self.schema(self.targets.processed_table)
        except (CheckFailed, VerifyError):
            return False
        return True

    def _awaited(self) -> list[str]:
        """Readings still in flight whose processed copy may yet be written (and then removed)."""
        if self._processed_lookup() is None:
            return []
        return [m for m in self._in_flight if m not in self._processed_seen]

    def _in_flight_grace_s(self) -> float:
        """How long after a reading was sent its processed copy is still waited for. `--timeout` is the
        run's word on how long a signal may take: a copy later than twice that is a stuck reading,
        reported as left behind, and a run with a stopped processor does not wait 15 s for it."""
        return min(IN_FLIGHT_GRACE_S, max(IN_FLIGHT_FLOOR_S, 2 * self.timeout))

    def _grace_deadline(self) -> float:
        now = time.monotonic()
        waiting = self._awaited()
        if not waiting:
            return now
        stopped_by = stop_deadline()
        if self._stopping() or stopped_by is not None:
            deadline = now + INTERRUPTED_GRACE_S
        else:
            first_sent = min(self._in_flight[m] for m in waiting)
            deadline = max(first_sent + self._in_flight_grace_s(), now + MIN_GRACE_S)
        # Never past the run's own bounds (verify.polling): the last sweep and the reports still need
        # their time within the stop budget, or within the clean-up grace after the run's deadline.
        if stopped_by is not None:
            deadline = min(deadline, stopped_by - BUDGET_MARGIN_S)
        run_ends = run_deadline()
        if run_ends is not None:
            deadline = min(deadline, run_ends + CLEANUP_GRACE_S - BUDGET_MARGIN_S)
        return deadline

    def _leave_in_flight(self, stopped: str | None) -> None:
        """Say what may remain: readings accepted but never seen processed, and a malformed reading a
        stack accepted (its place is the dead-letter queue; verify never receives from a stack's
        queues, so it can only say so)."""
        prefix = ""
        try:
            partition = self._partition(self.marker).popitem()[0]
            table = self.targets.processed_table or self.targets.raw_table
            if table is not None and self.single_table(table):
                # The key as the stack stores it: `pk=DEVICE#<marker>`.
                partition, prefix = self.schema(table).partition.name, self._prefixes(table)[0]
        except (CheckFailed, VerifyError):
            partition = "sensorId"  # the raw table vanished: the key as the default reading names it
        processed = self._processed_lookup()
        unreadable = self._processed_table_exists() and processed is None
        dlq = self.targets.dlq.name if self.targets.dlq else None
        for marker in sorted(self._in_flight):
            if marker in self._processed_seen:
                continue
            key = f"{partition}={prefix}{marker}"
            if marker == self.malformed_marker and self._malformed_status is not None:
                place = f"SQS queue {dlq}" if dlq else "the stack's queue"
                self.left_behind.append(
                    LeftBehind(
                        place=place,
                        key=key,
                        reason=(
                            f"the malformed reading was accepted (HTTP {self._malformed_status}); a processor "
                            "that rejects it leaves it in the dead-letter queue"
                            + (" (the ingestion queue's redrive target)" if dlq else "")
                            + "; verify never receives from a stack's queues: remove it there"
                        ),
                    )
                )
                if processed is None:
                    continue
            if processed is not None:
                waited = time.monotonic() - self._in_flight[marker]
                why = stopped or (
                    f"accepted by the API but not seen in the processed table {waited:.0f} s after it was "
                    "sent; if the stack still processes it, it is written there under this key"
                )
                self.left_behind.append(
                    LeftBehind(place=f"DynamoDB table {processed.name}", key=key, reason=why)
                )
            elif unreadable and self.targets.processed_table is not None:
                self.left_behind.append(
                    LeftBehind(
                        place=f"DynamoDB table {self.targets.processed_table.name}",
                        key=key,
                        reason="its key differs from the raw table's, so verify cannot look this reading up there",
                    )
                )


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


def _not_yet(observed: str) -> Any:
    raise NotYet(observed, observed)
