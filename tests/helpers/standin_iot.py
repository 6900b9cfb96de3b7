"""A stand-in "public IoT stack", built in-process: conventions other than the sandbox's.

The public IoT pipeline's handlers want `device_id` with the readings nested under `sensor_data`
(else `400 {"error": "device_id and sensor_data are required"}`), key the raw table by `device_id`
(S) + `timestamp` (N, epoch milliseconds), the processed table by `device_id` + `event_date`
(YYYY-MM-DD), and answer `GET /query?device_id=…&event_date=…&table=processed` (all three required).
Here moto plays DynamoDB and API Gateway's control plane (the routes, their required query strings,
optionally a request model), and a loopback HTTP listener plays the API with its Lambda handlers: it
checks SigV4 like IAM authorization, answers `403 Missing Authentication Token` off its routes, and
"processes" each accepted reading at once (a processed copy with derived fields).

Use inside `aws_mock` (moto is process-wide, so the listener's thread writes to the same tables):

    with standin_iot() as stack:
        outputs = stack.outputs  # ApiEndpoint, ApiId, RawDataTableName, ProcessedDataTableName
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from tests.helpers.moto import MOTO_REGION
from verify.sandbox.emulator.sigv4 import SigV4Error, verify_request

REQUIRED_INGEST = "device_id and sensor_data are required"
REQUIRED_QUERY = "device_id, event_date and table are required"


@dataclass
class StandInOptions:
    accepts_garbage: bool = False  # the ingest stores whatever carries a device_id (a broken stack)
    query_style: str = (
        "query"  # "query": GET /query?device_id&event_date&table; "path": /readings/{device_id}
    )
    request_model: bool = False  # POST /ingest declares a JSON request model (required fields)
    processed_sort: str = "event_date"  # or "timestamp": processed keyed by id and time (N, epoch ms)
    processor_stopped: bool = False  # accepted readings never reach the processed table
    query_broken: bool = False  # the query route answers 500
    refuses_everything: bool = False  # every reading gets 400 "invalid reading", naming no field
    raw_table: str = "iot-raw-data"
    processed_table: str = "iot-processed-data"
    stage: str = "prod"


@dataclass
class IotStandIn:
    base: str
    api_id: str
    options: StandInOptions
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def outputs(self) -> dict[str, str]:
        return {
            "ApiEndpoint": f"{self.base}/{self.options.stage}/",
            "ApiId": self.api_id,
            "RawDataTableName": self.options.raw_table,
            "ProcessedDataTableName": self.options.processed_table,
        }

    def items(self, table: str) -> list[dict[str, Any]]:
        answer = boto3.client("dynamodb", region_name=MOTO_REGION).scan(TableName=table)
        return [_plain(item) for item in answer.get("Items", [])]


def create_tables(options: StandInOptions) -> None:
    ddb: Any = boto3.client("dynamodb", region_name=MOTO_REGION)
    for name, sort, sort_type in (
        (options.raw_table, "timestamp", "N"),
        (
            options.processed_table,
            options.processed_sort,
            "S" if options.processed_sort == "event_date" else "N",
        ),
    ):
        ddb.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": "device_id", "KeyType": "HASH"},
                {"AttributeName": sort, "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "device_id", "AttributeType": "S"},
                {"AttributeName": sort, "AttributeType": sort_type},
            ],
            BillingMode="PAY_PER_REQUEST",
        )


def create_api(options: StandInOptions) -> str:
    """The REST API's declared routes in moto: what verify reads to learn the query's parameters."""
    client = boto3.client("apigateway", region_name=MOTO_REGION)
    api_id = str(client.create_rest_api(name="iot-public-api")["id"])
    root = next(r["id"] for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    ingest = client.create_resource(restApiId=api_id, parentId=root, pathPart="ingest")["id"]
    extra: dict[str, Any] = {}
    if options.request_model:
        schema = {
            "type": "object",
            "required": ["device_id", "sensor_data"],
            "properties": {
                "device_id": {"type": "string"},
                "timestamp": {"type": "integer"},
                "sensor_data": {"type": "object"},
            },
        }
        client.create_model(
            restApiId=api_id, name="Reading", contentType="application/json", schema=json.dumps(schema)
        )
        validator = client.create_request_validator(restApiId=api_id, name="body", validateRequestBody=True)
        extra = {"requestModels": {"application/json": "Reading"}, "requestValidatorId": validator["id"]}
    client.put_method(
        restApiId=api_id, resourceId=ingest, httpMethod="POST", authorizationType="AWS_IAM", **extra
    )
    if options.query_style == "path":
        readings = client.create_resource(restApiId=api_id, parentId=root, pathPart="readings")["id"]
        one = client.create_resource(restApiId=api_id, parentId=readings, pathPart="{device_id}")["id"]
        client.put_method(
            restApiId=api_id,
            resourceId=one,
            httpMethod="GET",
            authorizationType="AWS_IAM",
            requestParameters={"method.request.path.device_id": True},
        )
    else:
        query = client.create_resource(restApiId=api_id, parentId=root, pathPart="query")["id"]
        client.put_method(
            restApiId=api_id,
            resourceId=query,
            httpMethod="GET",
            authorizationType="AWS_IAM",
            requestParameters={
                f"method.request.querystring.{name}": True for name in ("device_id", "event_date", "table")
            },
        )
    return api_id


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in item.items()}


def _typed(item: dict[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in item.items() if v is not None}


def _event_date(epoch_ms: int) -> str:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC).strftime("%Y-%m-%d")


class _Handler(BaseHTTPRequestHandler):
    server: _Listener

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        stage = "/" + self.server.options.stage
        route = parts.path[len(stage) :] if parts.path.startswith(stage + "/") else parts.path
        self.server.stack.received.append({"method": method, "route": route, "body": body.decode()})
        declared = (method, route) == ("POST", "/ingest") or (
            method == "GET"
            and (
                route == "/query"
                if self.server.options.query_style == "query"
                else route.startswith("/readings/") and route.count("/") == 2
            )
        )
        if not declared:
            self._answer(403, {"message": "Missing Authentication Token"})
            return
        try:
            verify_request(
                method=method,
                path=parts.path,
                query=parts.query,
                headers=dict(self.headers.items()),
                body=body,
                secret_for=lambda key: "testing" if key == "testing" else None,
                region=MOTO_REGION,
            )
        except SigV4Error as exc:
            self._answer(403, {"message": f"Forbidden: {exc.reason}"})
            return
        if method == "POST":
            self._ingest(body)
        elif route == "/query":
            self._query(parse_qs(parts.query))
        else:
            self._by_path(unquote(route.rsplit("/", 1)[1]))

    def do_POST(self) -> None:
        self._handle("POST")

    def do_GET(self) -> None:
        self._handle("GET")

    def _ingest(self, body: bytes) -> None:
        try:
            reading = json.loads(body or b"{}", parse_float=Decimal)
        except ValueError:
            self._answer(400, {"error": "invalid JSON"})
            return
        if self.server.options.refuses_everything:
            self._answer(400, {"error": "invalid reading"})
            return
        device = reading.get("device_id") if isinstance(reading, dict) else None
        sensor_data = reading.get("sensor_data") if isinstance(reading, dict) else None
        if not device or (not isinstance(sensor_data, dict) and not self.server.options.accepts_garbage):
            self._answer(400, {"error": REQUIRED_INGEST})
            return
        stamp = reading.get("timestamp")
        epoch_ms = (
            int(stamp)
            if isinstance(stamp, int | Decimal)
            else int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        )
        ddb = boto3.client("dynamodb", region_name=MOTO_REGION)
        raw = {**reading, "device_id": device, "timestamp": epoch_ms}
        ddb.put_item(TableName=self.server.options.raw_table, Item=_typed(raw))
        if isinstance(sensor_data, dict) and not self.server.options.processor_stopped:
            # The processor's part, at once: the reading by day, with fields it derives.
            temperature = sensor_data.get("temperature")
            processed = {
                "device_id": device,
                "event_date": _event_date(epoch_ms),
                "timestamp": epoch_ms,
                "sensor_data": sensor_data,
                "temperature_f": (
                    temperature * Decimal("1.8") + 32 if isinstance(temperature, Decimal) else None
                ),
                "processed_at": dt.datetime.now(dt.UTC).isoformat(),
            }
            ddb.put_item(TableName=self.server.options.processed_table, Item=_typed(processed))
        self._answer(200, {"message": "Data ingested successfully", "device_id": device})

    def _query(self, params: dict[str, list[str]]) -> None:
        if self.server.options.query_broken:
            self._answer(500, {"message": "Internal server error"})
            return
        device = (params.get("device_id") or [""])[0]
        day = (params.get("event_date") or [""])[0]
        table = (params.get("table") or [""])[0]
        if not (device and day and table):
            self._answer(400, {"error": REQUIRED_QUERY})
            return
        processed = table == "processed"
        name = self.server.options.processed_table if processed else self.server.options.raw_table
        key = "event_date" if processed and self.server.options.processed_sort == "event_date" else None
        condition = "device_id = :d" + (" AND event_date = :e" if key else "")
        values = {":d": {"S": device}, **({":e": {"S": day}} if key else {})}
        answer = boto3.client("dynamodb", region_name=MOTO_REGION).query(
            TableName=name, KeyConditionExpression=condition, ExpressionAttributeValues=values
        )
        self._answer(200, {"items": [_plain(i) for i in answer.get("Items", [])]})

    def _by_path(self, device: str) -> None:
        answer = boto3.client("dynamodb", region_name=MOTO_REGION).query(
            TableName=self.server.options.processed_table,
            KeyConditionExpression="device_id = :d",
            ExpressionAttributeValues={":d": {"S": device}},
        )
        self._answer(200, {"items": [_plain(i) for i in answer.get("Items", [])]})


class _Listener(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, options: StandInOptions) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.options = options
        self.stack: IotStandIn


@contextmanager
def standin_iot(**options: Any) -> Iterator[IotStandIn]:
    """The stand-in stack (inside `aws_mock`): tables, the API's routes, and the listener playing it."""
    chosen = StandInOptions(**options)
    create_tables(chosen)
    api_id = create_api(chosen)
    server = _Listener(chosen)
    stack = IotStandIn(base=f"http://127.0.0.1:{server.server_address[1]}", api_id=api_id, options=chosen)
    server.stack = stack
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield stack
    finally:
        server.shutdown()
        server.server_close()
