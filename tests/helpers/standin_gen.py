"""A generator of stand-in stacks: conventions other than the sandbox's, drawn, healthy or broken.

`Conventions` says how one stack is built: the id field, readings flat or nested, the timestamp's
field and format (and the raw table's sort key accordingly, or none), a processed table keyed by id +
date or id + time, the ingest route, the query style (`GET /<route>?<id>=…` plus the parameters the
method requires, or `GET /<route>/{param}`), the output keys, table and resource names, and whether
the API's id is its own output or only in an emulator-style URL. `conventions()` is a hypothesis
strategy drawing them; `standin(conventions, fault=...)` builds the stack in-process, inside
`aws_mock`: moto plays DynamoDB, X-Ray and API
Gateway's control plane (the routes, their required query strings, optionally a request model), and
a loopback listener plays the API and its handlers -- SigV4 checked like IAM authorization, `403
Missing Authentication Token` off the declared routes, a 400 naming the fields a refused reading
lacks (as real handlers do), and each accepted reading "processed" at once, with derived fields and
a trace (the API's and the processor's segments) for a sampled request.

`FAULTS` are the broken variants, each with the checks that must fail on it (`RELEVANT`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import strategies as st

from tests.helpers.moto import MOTO_REGION
from verify.sandbox.emulator.sigv4 import SigV4Error, verify_request

ID_FIELDS = ("sensorId", "sensor_id", "deviceId", "device_id")
NESTINGS: tuple[str | None, ...] = (None, "sensor_data", "readings", "data", "payload", "metrics")
TIME_STYLES = ("iso", "epoch_s", "epoch_ms")
INGEST_ROUTES = ("/ingest", "/readings", "/telemetry", "/v1/events")
# When the query route's path is the ingest route's (`POST /readings`, `GET /readings?…`), one
# resource has both methods.
QUERY_ROUTES = ("/query", "/readings", "/lookup", "/v1/devices")
API_KEYS = ("ApiEndpoint", "ApiUrl", "api_endpoint", "HttpApiEndpoint")
API_ID_KEYS: tuple[str | None, ...] = ("ApiId", "RestApiId", "api_id", None)
# (output key, table name's role word): the role is in the key, or only in the table's name.
RAW_KEYS = (
    ("RawDataTableName", "raw"),
    ("raw_table", "readings"),
    ("IngestTable", "telemetry"),
    ("TelemetryTable", "landing"),
)
PROCESSED_KEYS = (
    ("ProcessedDataTableName", "processed"),
    ("processed_table", "summary"),
    ("EnrichedTable", "hourly"),
    ("SummaryTable", "curated"),
)

FAULTS = (
    "processor_stopped",  # accepted readings never reach the processed table
    "no_enrichment",  # the processed copy has the keys and copies, no derived field
    "accepts_unsigned",  # the ingest route checks no signature (IAM auth off)
    "accepts_garbage",  # the ingest stores whatever carries an id (no validation, no validator)
    "query_broken",  # the query route answers 500
    "query_wrong_data",  # the query answers someone else's readings (or none)
    "raw_not_written",  # the ingest answers 200 and hands the reading on, but never stores it raw
)
# Broken in ways no check is about, for the learning's own tests: every reading refused, naming nothing.
OTHER_BREAKAGES = ("refuses_everything",)
FLOW = "suites/test_flow.py::"
# The checks each fault must make fail (not error, not skip, not pass).
RELEVANT: dict[str, tuple[str, ...]] = {
    "processor_stopped": (FLOW + "test_processor_ran",),
    "no_enrichment": (FLOW + "test_processed_item_enriched",),
    "accepts_unsigned": (FLOW + "test_unsigned_rejected", FLOW + "test_wrong_secret_rejected"),
    "accepts_garbage": (FLOW + "test_malformed_rejected_and_not_stored",),
    "query_broken": (FLOW + "test_query_returns_reading",),
    "query_wrong_data": (FLOW + "test_query_returns_reading",),
    "raw_not_written": (FLOW + "test_raw_item_written",),
}
OTHER_DEVICE = "dev-0042"  # a reading that is not verify's: seeded, never to be touched
_MS_FLOOR = 10**11
# Single-table entities (raw, processed): worded as verify reads them, or one of them not ("DATUM").
ENTITY_PAIRS = (
    ("READING", "PROCESSED"),
    ("EVENT", "SUMMARY"),
    ("RAW", "ENRICHED"),
    ("TELEMETRY", "HOURLY"),
    ("DATUM", "PROCESSED"),
)
_WORDED_ENTITIES = frozenset(
    {"READING", "PROCESSED", "EVENT", "SUMMARY", "RAW", "ENRICHED", "TELEMETRY", "HOURLY"}
)
_STYLE_WORDS = {"iso": "an ISO-8601 string", "epoch_s": "epoch seconds", "epoch_ms": "epoch milliseconds"}
_numbers = count(1)


@dataclass(frozen=True)
class Conventions:
    id_field: str = "device_id"
    nest: str | None = "sensor_data"  # None: flat readings
    time_field: str = "timestamp"
    time_style: str = "epoch_ms"
    raw_sorted: bool = True  # the raw table: id + time (typed by the style), or id alone
    processed_by: str = "date"  # "date": id + date_field (YYYY-MM-DD); "time": id + time_field
    date_field: str = "event_date"
    ingest_route: str = "/ingest"
    query_style: str = "query"  # "query": GET <route>?<id>=…; "path": GET <route>/{path_param}
    query_route: str = "/query"
    path_param: str = ""  # "" -> the id field
    date_param: str = "event_date"  # query style, processed by date: the required day parameter
    table_param: str | None = "table"  # query style: a required selector, value `processed`
    request_model: bool = False  # the ingest method declares a JSON request model
    validated: bool = False  # ...and a request validator: API Gateway refuses a body unlike it first
    api_key: str = "ApiEndpoint"
    api_id_key: str | None = "ApiId"  # None: the id only in an emulator-style URL
    raw_key: str = "RawDataTableName"
    raw_word: str = "raw"
    processed_key: str = "ProcessedDataTableName"
    processed_word: str = "processed"
    seeded: bool = True  # the tables hold another device's readings already
    stage: str = "prod"
    prefix: str = "acme"
    api_kind: str = "rest"  # "rest": API Gateway REST API (v1); "http": HTTP API (v2), `$default` stage
    # A single-table design: tables keyed by generic names (`pk`/`sk`), values with a type prefix
    # (`DEVICE#<id>`, `READING#<time>`, `PROCESSED#<day>#<time>`). `one_table`: raw and processed
    # entities in ONE table (one `TableName` output), else a raw and a processed table keyed alike.
    single_table: bool = False
    one_table: bool = True
    key_names: tuple[str, str] = ("pk", "sk")
    key_word: str = ""  # the partition's entity ("" -> the id field's word upper-cased: DEVICE)
    entities: tuple[str, str] = ("READING", "PROCESSED")  # the raw and processed items' sort prefixes
    gsi: bool = False  # a GSI (`GSI1PK` = DAY#<day>, `GSI1SK` = <key word>#<id>#<time>) on every item
    entity_attr: bool = False  # every item carries `type` = its entity (not enrichment)
    echo_key: bool = False  # the ingest's 2xx answer echoes the reading's partition key
    answers_keys: bool = True  # the query's answer carries the items' keys (`pk`, `sk`), else strips them
    raw_name: str = ""  # the tables' names ("" -> `<prefix>-<word>-<n>`)
    processed_name: str = ""
    refusal: str = ""  # one refusal text for every malformed reading, as some handlers have

    @property
    def rest(self) -> bool:
        return self.api_kind == "rest"

    @property
    def pk(self) -> str:
        return self.key_names[0]

    @property
    def sk(self) -> str:
        return self.key_names[1]

    @property
    def partition_word(self) -> str:
        if self.key_word:
            return self.key_word
        word = re.sub(r"_?[iI][dD]$", "", self.id_field)
        return word.upper()

    def partition_of(self, device: Any) -> str:
        return f"{self.partition_word}#{device}"

    @property
    def key_learnable(self) -> bool:
        """Whether the reading's key can be learned zero-config: the answer echoes it, existing items
        show it, or the id field's word names it (`deviceId` -> DEVICE#)."""
        guessable = self.partition_word.lower() == re.sub(r"_?[iI][dD]$", "", self.id_field).lower()
        return self.echo_key or self.seeded or guessable or self.answers_keys

    @property
    def key_told(self) -> bool:
        """Whether the reading's key is learned even when the stack is broken (its query answers
        nothing): the ingest's answer, existing items or the id field's word say it."""
        guessable = self.partition_word.lower() == re.sub(r"_?[iI][dD]$", "", self.id_field).lower()
        return self.echo_key or self.seeded or guessable

    @property
    def entities_told(self) -> bool:
        """Whether ONE table's raw and processed entities are told apart even when only one of them is
        written: both by their words, or one worded and the other paired with it in a seeded partition."""
        worded = [e for e in self.entities if e in _WORDED_ENTITIES]
        return not self.one_table or len(worded) == 2 or (len(worded) == 1 and self.seeded)

    @property
    def param(self) -> str:
        return self.path_param or self.id_field

    def stored_time(self, value: Any) -> Any:
        """The time as the stack stores it (epoch numbers as numbers, ISO as a string)."""
        return value if self.time_style == "iso" else int(value)

    def epoch_s(self, value: Any) -> float:
        if self.time_style == "iso":
            return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        return float(value) / (1000 if self.time_style == "epoch_ms" else 1)

    def time_of(self, when: dt.datetime) -> Any:
        if self.time_style == "epoch_ms":
            return int(when.timestamp() * 1000)
        if self.time_style == "epoch_s":
            return int(when.timestamp())
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def time_ok(self, value: Any) -> bool:
        if self.time_style == "iso":
            if not isinstance(value, str):
                return False
            try:
                dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return False
            return True
        if not isinstance(value, int | Decimal) or isinstance(value, bool) or value != int(value):
            return False
        return (value >= _MS_FLOOR) == (self.time_style == "epoch_ms") and value > 10**9

    @property
    def time_type(self) -> str:
        return "S" if self.time_style == "iso" else "N"


@st.composite
def conventions(draw: st.DrawFn, single: bool | None = None) -> Conventions:
    """A stack's conventions, drawn (a hypothesis strategy); `single` forces a single-table design
    (True) or none (False)."""
    raw_sorted = draw(st.booleans())
    # Named by the raw table's sort key, or else only by the request model or a refusal.
    time_field = draw(st.sampled_from(("timestamp", "ts", "recorded_at", "eventTime")))
    query_style = draw(st.sampled_from(("query", "path")))
    ingest_route = draw(st.sampled_from(INGEST_ROUTES))
    query_route = draw(st.sampled_from(QUERY_ROUTES))  # POST /readings and GET /readings: one path
    raw_key, raw_word = draw(st.sampled_from(RAW_KEYS))
    processed_key, processed_word = draw(st.sampled_from(PROCESSED_KEYS))
    id_field = draw(st.sampled_from(ID_FIELDS))
    api_kind = draw(st.sampled_from(("rest", "rest", "http")))
    rest = api_kind == "rest"
    # One stack in three a single-table design: generic keys, prefixed values, maybe one table for
    # both entities, a GSI, a `type` attribute, an answer echoing the key, a key word no id field names.
    if single is None:
        single = draw(st.sampled_from((False, False, True)))
    single_table: dict[str, Any] = {}
    if single:
        single_table = {
            "single_table": True,
            "one_table": draw(st.booleans()),
            "key_names": draw(st.sampled_from((("pk", "sk"), ("PK", "SK")))),
            "key_word": draw(st.sampled_from(("", "", "THING"))),
            "entities": draw(st.sampled_from(ENTITY_PAIRS)),
            "gsi": draw(st.booleans()),
            "entity_attr": draw(st.booleans()),
            "echo_key": draw(st.booleans()),
            "answers_keys": draw(st.booleans()),
        }
    return Conventions(
        **single_table,
        api_kind=api_kind,
        id_field=id_field,
        nest=draw(st.sampled_from(NESTINGS)),
        time_field=time_field,
        time_style=draw(st.sampled_from(TIME_STYLES)),
        raw_sorted=raw_sorted,
        processed_by=draw(st.sampled_from(("date", "time"))),
        date_field=draw(st.sampled_from(("event_date", "day", "date"))),
        ingest_route=ingest_route,
        query_style=query_style,
        query_route=query_route,
        path_param=draw(st.sampled_from(("", "id"))) if query_style == "path" else "",
        date_param=draw(st.sampled_from(("event_date", "date", "day"))),
        table_param=draw(st.sampled_from(("table", "source", None))),
        # An HTTP API declares no request models, and its id is no emulator's /restapis/ path.
        request_model=(model := draw(st.booleans()) if rest else False),
        validated=draw(st.booleans()) if model else False,
        api_key=draw(st.sampled_from(API_KEYS)),
        api_id_key=draw(st.sampled_from(API_ID_KEYS if rest else ("HttpApiId", "ApiId"))),
        raw_key=raw_key,
        raw_word=raw_word,
        processed_key=processed_key,
        processed_word=processed_word,
        seeded=draw(st.booleans()),
        stage=draw(st.sampled_from(("prod", "v1", "live"))),
        prefix=draw(st.sampled_from(("acme", "fleet", "plant7"))),
    )


@dataclass
class StandIn:
    conventions: Conventions
    fault: str | None
    base: str
    api_id: str
    raw_table: str
    processed_table: str
    received: list[dict[str, Any]] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)  # access key id -> secret the API accepts
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def api_url(self) -> str:
        if not self.conventions.rest:
            return f"{self.base}/"  # an HTTP API's `$default` stage: no stage in the path
        if self.conventions.api_id_key is None:
            # An emulator's path-style URL (LocalStack's): the API's id is in the path, nowhere else.
            return f"{self.base}/restapis/{self.api_id}/{self.conventions.stage}/_user_request_/"
        return f"{self.base}/{self.conventions.stage}/"

    @property
    def outputs(self) -> dict[str, str]:
        """What the stack outputs: the API and the two tables, nothing more."""
        c = self.conventions
        named = {c.api_key: self.api_url, c.raw_key: self.raw_table, c.processed_key: self.processed_table}
        if c.single_table and c.one_table:
            named = {c.api_key: self.api_url, "TableName": self.raw_table}
        if c.api_id_key is not None:
            named[c.api_id_key] = self.api_id
        return named

    def client(self, service: str) -> Any:
        """One client per service for the listener's handlers (a client a request is ~30 ms here)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(service, region_name=MOTO_REGION)  # type: ignore[call-overload]
            return self._clients[service]

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def items(self, table: str) -> list[dict[str, Any]]:
        answer = boto3.client("dynamodb", region_name=MOTO_REGION).scan(TableName=table)
        return [_plain(item) for item in answer.get("Items", [])]


def _create_tables(c: Conventions, raw: str, processed: str) -> None:
    ddb: Any = boto3.client("dynamodb", region_name=MOTO_REGION)
    processed_sort = (c.date_field, "S") if c.processed_by == "date" else (c.time_field, c.time_type)
    tables: tuple[tuple[str, tuple[str, str] | None], ...] = (
        (raw, (c.time_field, c.time_type) if c.raw_sorted else None),
        (processed, processed_sort),
    )
    partition = c.id_field
    extra: dict[str, Any] = {}
    if c.single_table:
        partition = c.pk
        tables = ((raw, (c.sk, "S")),) if c.one_table else ((raw, (c.sk, "S")), (processed, (c.sk, "S")))
        if c.gsi:
            extra["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": "GSI1",
                    "KeySchema": [
                        {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                        {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ]
    for name, sort in tables:
        keys = [{"AttributeName": partition, "KeyType": "HASH"}]
        attributes = [{"AttributeName": partition, "AttributeType": "S"}]
        if sort is not None:
            keys.append({"AttributeName": sort[0], "KeyType": "RANGE"})
            attributes.append({"AttributeName": sort[0], "AttributeType": sort[1]})
        if extra:
            attributes += [{"AttributeName": n, "AttributeType": "S"} for n in ("GSI1PK", "GSI1SK")]
        # A healthy stack's posture: encrypted with KMS, point-in-time recovery on.
        ddb.create_table(
            TableName=name,
            KeySchema=keys,
            AttributeDefinitions=attributes,
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True, "SSEType": "KMS"},
            **extra,
        )
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def _create_http_api(c: Conventions, fault: str | None) -> str:
    """An HTTP API (v2): route keys only (no request models, no required query strings to read)."""
    client = boto3.client("apigatewayv2", region_name=MOTO_REGION)
    created = str(client.create_api(Name=f"{c.prefix}-telemetry-http", ProtocolType="HTTP")["ApiId"])
    api_id = _aws_like_id(created)
    query = f"{c.query_route}/{{{c.param}}}" if c.query_style == "path" else c.query_route
    for key, auth in (
        (f"POST {c.ingest_route}", "NONE" if fault == "accepts_unsigned" else "AWS_IAM"),
        (f"GET {query}", "AWS_IAM"),
    ):
        client.create_route(ApiId=api_id, RouteKey=key, AuthorizationType=auth)
    client.create_stage(
        ApiId=api_id,
        StageName="$default",
        AutoDeploy=True,
        DefaultRouteSettings={"ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100},
    )
    return api_id


def _aws_like_id(created: str) -> str:
    """moto names an HTTP API with 8 letters; AWS's API ids (REST and HTTP alike) have 10 letters and
    digits, which is what verify reads an id output by. Re-keyed in moto's backend to such an id."""
    from moto.apigatewayv2.models import apigatewayv2_backends
    from moto.core.models import DEFAULT_ACCOUNT_ID

    backend = apigatewayv2_backends[DEFAULT_ACCOUNT_ID][MOTO_REGION]
    api_id = f"{created}{next(_numbers) % 100:02d}"
    api = backend.apis.pop(created)
    api.api_id = api_id
    backend.apis[api_id] = api
    return api_id


def _create_api(c: Conventions, fault: str | None) -> str:
    """The REST API's declared routes in moto: what verify reads to learn the routes and parameters."""
    if not c.rest:
        return _create_http_api(c, fault)
    client = boto3.client("apigateway", region_name=MOTO_REGION)
    api_id = str(client.create_rest_api(name=f"{c.prefix}-telemetry-api")["id"])
    parents = {"": next(r["id"] for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/")}

    def resource(path: str) -> str:
        parent = ""
        for part in [p for p in path.split("/") if p]:
            here = f"{parent}/{part}"
            if here not in parents:
                parents[here] = client.create_resource(
                    restApiId=api_id, parentId=parents[parent], pathPart=part
                )["id"]
            parent = here
        return parents[parent]

    extra: dict[str, Any] = {}
    if c.request_model:
        properties: dict[str, Any] = {
            c.id_field: {"type": "string"},
            c.time_field: {"type": "string" if c.time_style == "iso" else "integer"},
        }
        required = [c.id_field, c.time_field]
        if c.nest:
            properties[c.nest] = {"type": "object"}
            required.append(c.nest)
        schema = {"type": "object", "required": required, "properties": properties}
        client.create_model(
            restApiId=api_id, name="Reading", contentType="application/json", schema=json.dumps(schema)
        )
        extra = {"requestModels": {"application/json": "Reading"}}
        if c.validated and fault != "accepts_garbage":
            # API Gateway validates the body first: `400 {"message": "Invalid request body"}`,
            # naming no field (the model itself says the shape).
            validator = client.create_request_validator(
                restApiId=api_id, name="body", validateRequestBody=True
            )
            extra["requestValidatorId"] = validator["id"]
    auth = "NONE" if fault == "accepts_unsigned" else "AWS_IAM"
    methods: list[tuple[str, str]] = [(resource(c.ingest_route), "POST")]
    client.put_method(
        restApiId=api_id,
        resourceId=methods[0][0],
        httpMethod="POST",
        authorizationType=auth,
        **extra,
    )
    if c.query_style == "path":
        methods.append((resource(f"{c.query_route}/{{{c.param}}}"), "GET"))
        client.put_method(
            restApiId=api_id,
            resourceId=methods[-1][0],
            httpMethod="GET",
            authorizationType="AWS_IAM",
            requestParameters={f"method.request.path.{c.param}": True},
        )
    else:
        methods.append((resource(c.query_route), "GET"))
        client.put_method(
            restApiId=api_id,
            resourceId=methods[-1][0],
            httpMethod="GET",
            authorizationType="AWS_IAM",
            requestParameters={f"method.request.querystring.{name}": True for name in _query_params(c)},
        )
    for resource_id, verb in methods:  # the handlers are the listener's; moto wants an integration
        client.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=verb, type="MOCK")
    # Deployed to its stage, traced and throttled: a healthy REST API's posture.
    client.create_deployment(restApiId=api_id, stageName=c.stage)
    client.update_stage(
        restApiId=api_id,
        stageName=c.stage,
        patchOperations=[
            {"op": "replace", "path": "/tracingEnabled", "value": "true"},
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "100"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "200"},
        ],
    )
    return api_id


def _query_params(c: Conventions) -> list[str]:
    params = [c.id_field]
    if c.processed_by == "date":
        params.append(c.date_param)
    if c.table_param:
        params.append(c.table_param)
    return params


def _day(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).strftime("%Y-%m-%d")


class _Handler(BaseHTTPRequestHandler):
    server: _Listener

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any, trace: str | None = None) -> None:
        data = json.dumps(body, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if trace:
            self.send_header("X-Amzn-Trace-Id", trace)
        self.end_headers()
        self.wfile.write(data)

    def _route(self, path: str) -> str:
        c = self.server.stack.conventions
        if not c.rest:
            return path
        for base in (
            f"/restapis/{self.server.stack.api_id}/{c.stage}/_user_request_",
            f"/{c.stage}",
        ):
            if path.startswith(base + "/"):
                return path[len(base) :]
        return path

    def _handle(self, method: str) -> None:
        stack = self.server.stack
        c = stack.conventions
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        route = self._route(parts.path)
        stack.received.append({"method": method, "route": route, "body": body.decode()})
        segments = [s for s in route.split("/") if s]
        declared_query = [s for s in c.query_route.split("/") if s]
        if method == "POST" and route.rstrip("/") == c.ingest_route:
            kind = "ingest"
        elif method == "GET" and c.query_style == "query" and route.rstrip("/") == c.query_route:
            kind = "query"
        elif (
            method == "GET"
            and c.query_style == "path"
            and len(segments) == len(declared_query) + 1
            and segments[:-1] == declared_query
        ):
            kind = "path"
        else:
            self._answer(403, {"message": "Missing Authentication Token"})
            return
        if not (kind == "ingest" and stack.fault == "accepts_unsigned"):
            try:
                verify_request(
                    method=method,
                    path=parts.path,
                    query=parts.query,
                    headers=dict(self.headers.items()),
                    body=body,
                    secret_for=lambda key: stack.secrets.get(key),
                    region=MOTO_REGION,
                )
            except SigV4Error as exc:
                self._answer(403, {"message": f"Forbidden: {exc.reason}"})
                return
        if kind == "ingest":
            self._ingest(body)
        elif kind == "query":
            self._query(parse_qs(parts.query))
        else:
            self._lookup(unquote(segments[-1]))

    def do_POST(self) -> None:
        self._handle("POST")

    def do_GET(self) -> None:
        self._handle("GET")

    # ------------------------------------------------------------------ the ingest handler

    def _refusal(self, reading: dict[str, Any]) -> str | None:
        """Why a handler refuses this reading (naming the fields), None when it is well-formed."""
        c = self.server.stack.conventions
        missing = []
        if not isinstance(reading.get(c.id_field), str) or not reading.get(c.id_field):
            missing.append(c.id_field)
        if c.nest:
            envelope = reading.get(c.nest)
            if not isinstance(envelope, dict) or not envelope:
                missing.append(c.nest)
            elif not all(_number(v) for v in envelope.values()):
                return f"{c.nest} values must be numbers"
        if missing:
            return " and ".join(missing) + (" are required" if len(missing) > 1 else " is required")
        if c.time_field not in reading:
            return f"{c.time_field} is required"
        if not c.nest:
            values = {k: v for k, v in reading.items() if k not in (c.id_field, c.time_field)}
            wrong = sorted(k for k, v in values.items() if not _number(v))
            if wrong:
                return f"{', '.join(wrong)} must be numbers"
            if not values:
                return "a reading needs at least one value"
        if not c.time_ok(reading[c.time_field]):
            return f"{c.time_field} must be {_STYLE_WORDS[c.time_style]}"
        return None

    def _ingest(self, body: bytes) -> None:
        stack = self.server.stack
        c = stack.conventions
        try:
            reading = json.loads(body or b"{}", parse_float=Decimal)
        except ValueError:
            self._answer(400, {"error": "invalid JSON"})
            return
        if not isinstance(reading, dict):
            self._answer(400, {"error": "a reading is a JSON object"})
            return
        if stack.fault == "refuses_everything":
            self._answer(400, {"error": "invalid reading"})
            return
        if c.validated and stack.fault != "accepts_garbage" and not _fits_model(c, reading):
            self._answer(400, {"message": "Invalid request body"})
            return
        refusal = self._refusal(reading)
        valid = refusal is None
        if refusal is not None and c.refusal:
            refusal = c.refusal
        if refusal is not None and not (stack.fault == "accepts_garbage" and reading.get(c.id_field)):
            self._answer(400, {"error": refusal})
            return
        now = dt.datetime.now(dt.UTC)
        stamp = reading.get(c.time_field)
        when = c.stored_time(stamp) if c.time_ok(stamp) else c.time_of(now)
        ddb = stack.client("dynamodb")
        raw = {
            **reading,
            c.time_field: when,
            "received_at": now.isoformat(),
            **_single_keys(c, reading, when),
        }
        if stack.fault != "raw_not_written":
            ddb.put_item(TableName=stack.raw_table, Item=_typed(raw))
        answer: dict[str, Any] = {"message": "accepted", c.id_field: reading.get(c.id_field)}
        if c.single_table and c.echo_key:
            answer[c.pk] = c.partition_of(reading.get(c.id_field))
        # A pipeline without validation processes whatever it stored (garbage too).
        processed = (valid or stack.fault == "accepts_garbage") and stack.fault != "processor_stopped"
        if processed:
            ddb.put_item(TableName=stack.processed_table, Item=_typed(self._processed(reading, when)))
        trace = self.headers.get("X-Amzn-Trace-Id") or ""
        root = re.search(r"Root=([^;]+)", trace)
        if root and "Sampled=1" in trace:
            _trace(stack.client("xray"), root.group(1), c.prefix, processed)
        self._answer(200, answer, trace or None)

    def _processed(self, reading: dict[str, Any], when: Any) -> dict[str, Any]:
        """The processor's part, at once: the reading by day or time, with fields it derives."""
        stack = self.server.stack
        c = stack.conventions
        values: dict[str, Any] = (
            reading.get(c.nest) or {}
            if c.nest
            else {k: v for k, v in reading.items() if k not in (c.id_field, c.time_field)}
        )
        item: dict[str, Any] = {c.id_field: reading[c.id_field], c.time_field: when}
        if c.single_table:
            item.update(_entity_keys(c, reading[c.id_field], 1, when))
        elif c.processed_by == "date":
            item[c.date_field] = _day(c.epoch_s(when))
        if c.nest:
            item[c.nest] = values
        else:
            item.update(values)
        if stack.fault == "no_enrichment":
            item["anomaly"] = None  # a derived field lost: written as null
            return item
        numbers = [v for v in values.values() if _number(v)]
        item["reading_count"] = len(numbers)
        item["max_value"] = max(numbers) if numbers else None
        item["processed_at"] = dt.datetime.now(dt.UTC).isoformat()
        return item

    # ------------------------------------------------------------------ the query handlers

    def _query(self, params: dict[str, list[str]]) -> None:
        c = self.server.stack.conventions
        given = {name: (params.get(name) or [""])[0] for name in _query_params(c)}
        missing = [name for name, value in given.items() if not value]
        if missing:
            self._answer(400, {"error": f"{', '.join(_query_params(c))} are required"})
            return
        if c.table_param and given[c.table_param] not in ("processed", "raw"):
            self._answer(400, {"error": f"{c.table_param} must be processed or raw"})
            return
        processed = not c.table_param or given[c.table_param] == "processed"
        day = given.get(c.date_param) if c.processed_by == "date" and processed else None
        self._items(given[c.id_field], processed, day)

    def _lookup(self, device: str) -> None:
        self._items(device, True, None)

    def _items(self, device: str, processed: bool, day: str | None) -> None:
        stack = self.server.stack
        c = stack.conventions
        if stack.fault == "query_broken":
            self._answer(500, {"message": "Internal server error"})
            return
        if stack.fault == "query_wrong_data":
            device = OTHER_DEVICE  # a handler that reads the wrong key: someone else's data, or none
        names = {"#id": c.id_field}
        values: dict[str, Any] = {":id": {"S": device}}
        condition = "#id = :id"
        if c.single_table:
            names = {"#id": c.pk, "#sk": c.sk}
            entity = c.entities[1 if processed else 0]
            values = {":id": {"S": c.partition_of(device)}, ":sk": {"S": f"{entity}#"}}
            condition = "#id = :id AND begins_with(#sk, :sk)"
        elif day is not None:
            names["#day"] = c.date_field
            values[":day"] = {"S": day}
            condition += " AND #day = :day"
        answer = stack.client("dynamodb").query(
            TableName=stack.processed_table if processed else stack.raw_table,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        items = [_plain(i) for i in answer.get("Items", [])]
        if c.single_table and not c.answers_keys:
            hidden = {c.pk, c.sk, "GSI1PK", "GSI1SK"}
            items = [{k: v for k, v in item.items() if k not in hidden} for item in items]
        self._answer(200, {"items": items})


def _single_keys(c: Conventions, reading: dict[str, Any], when: Any) -> dict[str, str]:
    """A single-table design's raw keys: the type-prefixed id and time."""
    if not c.single_table:
        return {}
    return _entity_keys(c, reading.get(c.id_field), 0, when)


def _entity_keys(c: Conventions, device: Any, which: int, when: Any) -> dict[str, str]:
    """The keys of a single-table design's raw (0) or processed (1) item: `pk` = DEVICE#<id>, `sk` =
    READING#<time> or PROCESSED#<day>#<time>; the GSI's keys and the `type` attribute when it has them."""
    entity = c.entities[which]
    day = _day(c.epoch_s(when))
    keys = {
        c.pk: c.partition_of(device),
        c.sk: f"{entity}#{when}" if which == 0 else f"{entity}#{day}#{when}",
    }
    if c.gsi:
        keys.update(GSI1PK=f"DAY#{day}", GSI1SK=f"{c.partition_of(device)}#{when}")
    if c.entity_attr:
        keys["type"] = entity
    return keys


def _fits_model(c: Conventions, reading: dict[str, Any]) -> bool:
    """What API Gateway's validator checks of the `Reading` model: required fields and their types."""
    if not isinstance(reading.get(c.id_field), str):
        return False
    stamp = reading.get(c.time_field)
    if c.time_style == "iso" and not isinstance(stamp, str):
        return False
    if c.time_style != "iso" and not (isinstance(stamp, int | Decimal) and stamp == int(stamp)):
        return False
    return not c.nest or isinstance(reading.get(c.nest), dict)


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in item.items()}


def _typed(item: dict[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in item.items() if v is not None}


def _number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _trace(xray: Any, root: str, prefix: str, processed: bool) -> None:
    """The API's segment and, when the reading was processed, the processor's: what X-Ray would hold."""
    now = dt.datetime.now(dt.UTC).timestamp()
    names = [f"{prefix}-api/prod"] + ([f"{prefix}-processor"] if processed else [])
    documents = [
        json.dumps(
            {"name": name, "id": f"{index + 1:016x}", "trace_id": root, "start_time": now, "end_time": now}
        )
        for index, name in enumerate(names)
    ]
    xray.put_trace_segments(TraceSegmentDocuments=documents)


class _Listener(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stack: StandIn


def _seed(c: Conventions, raw: str, processed: str) -> None:
    """Another device's reading, already there (a live stack has data): never verify's to touch."""
    ddb = boto3.client("dynamodb", region_name=MOTO_REGION)
    when = c.time_of(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    reading: dict[str, Any] = {c.id_field: OTHER_DEVICE, c.time_field: when}
    values = {"temperature": Decimal("19.5")}
    if c.nest:
        reading[c.nest] = values
    else:
        reading.update(values)
    ddb.put_item(TableName=raw, Item=_typed({**reading, **_single_keys(c, reading, when)}))
    item = {**reading, "processed_at": dt.datetime.now(dt.UTC).isoformat()}
    if c.single_table:
        item.update(_entity_keys(c, OTHER_DEVICE, 1, when))
    elif c.processed_by == "date":
        item[c.date_field] = _day(c.epoch_s(when))
    ddb.put_item(TableName=processed, Item=_typed(item))


@contextmanager
def standin(conventions: Conventions, fault: str | None = None) -> Iterator[StandIn]:
    """The stand-in stack (inside `aws_mock`): tables, the API's routes, the listener playing it.
    Names carry a fresh number, so several stacks can live in one moto."""
    if fault is not None and fault not in (*FAULTS, *OTHER_BREAKAGES):
        raise ValueError(f"unknown fault {fault!r}; known: {', '.join((*FAULTS, *OTHER_BREAKAGES))}")
    c = conventions
    n = next(_numbers)
    raw = c.raw_name or f"{c.prefix}-{c.raw_word}-{n}"
    processed = c.processed_name or f"{c.prefix}-{c.processed_word}-{n}"
    if c.single_table and c.one_table:
        raw = processed = f"{c.prefix}-data-{n}"  # one table holds both
    _create_tables(c, raw, processed)
    if c.seeded:
        _seed(c, raw, processed)
    api_id = _create_api(c, fault)
    server = _Listener()
    stack = StandIn(
        conventions=c,
        fault=fault,
        base=f"http://127.0.0.1:{server.server_address[1]}",
        api_id=api_id,
        raw_table=raw,
        processed_table=processed,
    )
    # The caller's own credentials (what verify signs with), as IAM would know them.
    # ...and the fake pair tests sign with by hand (`Credentials("testing", "testing")`).
    stack.secrets["testing"] = "testing"
    credentials = boto3.Session().get_credentials()
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        stack.secrets[str(frozen.access_key)] = str(frozen.secret_key)
    server.stack = stack
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield stack
    finally:
        server.shutdown()
        server.server_close()
