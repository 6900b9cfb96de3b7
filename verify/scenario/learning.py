"""What the flow learns of the stack before (and while) it sends the reading: the reading's shape
(verify.scenario.conventions), the API's methods and the ingest route, the payload, and the flow
tables' TTL attribute (a reading carries it an hour ahead, so even a run killed before its clean-up
leaves nothing behind for long)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any
from urllib.parse import urljoin

from verify.aws.errors import aws_errors
from verify.config.settings import FlowConfig
from verify.errors import AwsAccessError, CheckFailed, VerifyError
from verify.probes.apigateway import (
    MethodRequest,
    declared_routes,
    method_requests,
    model_schema,
    rest_api_id,
)
from verify.scenario.conventions import Convention, from_key_schema, from_model, from_sampled_items
from verify.scenario.keys import is_single_table
from verify.scenario.lookup import ReadingLookup
from verify.scenario.payload import render_template
from verify.scenario.query_route import ingest_route, methods_of_routes
from verify.stack.inventory import Inventory, Resource

TTL_AHEAD_S = 3600


class StackLearning(ReadingLookup):
    """The stack's conventions, asked once (`verify.scenario.flow.Flow` sets the state in its `__init__`)."""

    inventory: Inventory
    # The reading's shape (verify.scenario.conventions): learned once, refined by the ingest's tries.
    convention: Convention | None
    _learn_lock: threading.RLock  # learning asks the API's methods under it
    _static_convention: Convention | None
    _methods: list[MethodRequest] | None
    _methods_note: str | None
    _ingest: tuple[str, str] | None  # the ingest route and how it was chosen

    def id_field(self) -> str:
        """The payload's field that carries the marker: the learned (or the template's) id field."""
        if self.config.flow.payload:
            rendered = render_template(self.config.flow.payload, self.marker, dt.datetime.now(dt.UTC))
            ids = [name for name, value in rendered.items() if value == self.marker]
            if ids:
                return ids[0]
        return (self.convention or self.learned_convention()).id_field

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
