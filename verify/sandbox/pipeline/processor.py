"""The reference pipeline's behaviour: the ingest and query functions behind the API, and the processor.

They do what the deployed Lambda functions do, against the emulator: ingest validates a reading,
writes the raw item and queues it; the processor drains the queue, enriches the reading and writes
the processed item; query answers a sensor's processed readings. Faults bend this behaviour.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from verify.sandbox.emulator.api_gateway import ApiRequest, json_response
from verify.sandbox.emulator.latency import Delays, Telemetry

log = logging.getLogger(__name__)

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
SLOW_PROCESSOR_S = 3.0
# A failed message becomes visible again this soon, so redrive to the DLQ takes seconds, not minutes.
RETRY_VISIBILITY_S = 1
_CONTROL = "sandbox-control"


@dataclass(frozen=True)
class PipelineNames:
    suffix: str
    raw_table: str
    processed_table: str
    queue_url: str
    ingest_function: str
    processor_function: str
    query_function: str
    threshold_parameter: str
    api_name: str

    @staticmethod
    def log_group(function: str) -> str:
        return f"/aws/lambda/{function}"


class InvalidReading(ValueError):
    pass


def _number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool) and math.isfinite(value)


def validate_reading(payload: Any) -> dict[str, Any]:
    """The reading as the raw item to store; InvalidReading says what is wrong with it."""
    if not isinstance(payload, dict):
        raise InvalidReading("body must be a JSON object")
    sensor = payload.get("sensorId", payload.get("device_id"))
    if not isinstance(sensor, str) or not sensor.strip() or len(sensor) > 256:
        raise InvalidReading("sensorId (or device_id) must be a non-empty string")
    stamp = payload.get("timestamp")
    if isinstance(stamp, str):
        try:
            dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidReading("timestamp must be an ISO-8601 string or an epoch number") from None
    elif not _number(stamp):
        raise InvalidReading("timestamp must be an ISO-8601 string or an epoch number")
    value = payload.get("temperature", payload.get("value"))
    if not _number(value):
        raise InvalidReading("temperature (or value) must be a number")
    return {**payload, "sensorId": sensor, "timestamp": stamp if isinstance(stamp, str) else str(stamp)}


def _garbage_item(body: bytes, payload: Any) -> dict[str, Any]:
    """What a handler without validation would store for a malformed payload."""
    item: dict[str, Any] = (
        dict(payload) if isinstance(payload, dict) else {"body": body.decode("utf-8", "replace")}
    )
    item["sensorId"] = str(item.get("sensorId") or item.get("device_id") or "unknown")
    item["timestamp"] = str(item.get("timestamp") or dt.datetime.now(dt.UTC).isoformat())
    return item


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dumps(item: dict[str, Any]) -> str:
    return json.dumps(item, default=lambda v: float(v) if isinstance(v, Decimal) else str(v))


def to_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    clean = json.loads(_dumps(item), parse_float=Decimal)
    return {key: _SERIALIZER.serialize(value) for key, value in clean.items()}


def from_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}


def _ids(item: dict[str, Any]) -> dict[str, Any]:
    """The identifying fields a log line or annotation carries (ids, marker, timestamp)."""
    keep = {"marker", "timestamp", "runid", "run_id"}
    return {k: v for k, v in item.items() if k.lower().endswith("id") or k.lower() in keep}


class PipelineFunctions:
    """The ingest and query functions, as routes of the SignedApiServer."""

    def __init__(
        self, *, names: PipelineNames, clients: dict[str, Any], telemetry: Telemetry, faults: frozenset[str]
    ) -> None:
        self.names = names
        self.ddb = clients["dynamodb"]
        self.sqs = clients["sqs"]
        self.telemetry = telemetry
        self.faults = faults

    def routes(self) -> dict[tuple[str, str], Any]:
        return {("POST", "/ingest"): self.ingest, ("GET", "/query"): self.query}

    def _api_segment(self, req: ApiRequest, start: float) -> str:
        stage = f"{self.names.api_name}/{self.names.suffix}"
        return self.telemetry.segment(
            name=stage, trace_id=req.trace_id, start=start, origin="AWS::ApiGateway::Stage"
        )

    def ingest(self, req: ApiRequest) -> tuple[int, dict[str, str], bytes]:
        start, request_id = time.time(), str(uuid.uuid4())
        try:
            payload = json.loads(req.body or b"null", parse_float=Decimal)
        except ValueError:
            payload = None
        # Only a valid reading's marker is known; a stored malformed payload is no signal anyone awaits.
        seen = self.telemetry.visibility
        try:
            item = validate_reading(payload)
        except InvalidReading as exc:
            if "accepts_garbage" not in self.faults:
                return json_response(400, {"message": f"Invalid reading: {exc}"})
            item, seen = _garbage_item(req.body, payload), None
        item["ingestedAt"] = _now_iso()
        marker = str(item["sensorId"])
        if "raw_not_written" not in self.faults:
            self.ddb.put_item(TableName=self.names.raw_table, Item=to_dynamo(item))
            if seen is not None:
                seen.record("raw", marker)
        parent = self._api_segment(req, start)
        self.sqs.send_message(
            QueueUrl=self.names.queue_url,
            MessageBody=_dumps(item),
            MessageSystemAttributes={
                "AWSTraceHeader": {"DataType": "String", "StringValue": f"Root={req.trace_id};Sampled=1"}
            },
        )
        ids = _ids(item)
        self.telemetry.segment(
            name=self.names.ingest_function,
            trace_id=req.trace_id,
            start=start,
            parent_id=parent,
            annotations={"sensorId": item["sensorId"], "readingTimestamp": item["timestamp"]},
            on_visible=seen.on_trace(req.trace_id, marker, "ingest") if seen else None,
        )
        group = PipelineNames.log_group(self.names.ingest_function)
        _log_invocation(
            self.telemetry,
            self.names.ingest_function,
            request_id,
            req.trace_id,
            "reading ingested",
            ids,
            on_visible=seen.on_log(marker, group) if seen else None,
        )
        return json_response(200, {"ok": True, "sensorId": item["sensorId"], "timestamp": item["timestamp"]})

    def query(self, req: ApiRequest) -> tuple[int, dict[str, str], bytes]:
        start, request_id = time.time(), str(uuid.uuid4())
        if "query_broken" in self.faults:
            return json_response(500, {"message": "Internal server error"})
        sensor = (req.query.get("sensorId") or req.query.get("device_id") or [""])[0]
        if not sensor:
            return json_response(400, {"message": "sensorId (or device_id) query parameter is required"})
        answer = self.ddb.query(
            TableName=self.names.processed_table,
            KeyConditionExpression="sensorId = :s",
            ExpressionAttributeValues={":s": {"S": sensor}},
        )
        items = [from_dynamo(raw) for raw in answer.get("Items", [])]
        parent = self._api_segment(req, start)
        self.telemetry.segment(
            name=self.names.query_function,
            trace_id=req.trace_id,
            start=start,
            parent_id=parent,
            annotations={"sensorId": sensor},
        )
        _log_invocation(
            self.telemetry,
            self.names.query_function,
            request_id,
            req.trace_id,
            "readings queried",
            {"sensorId": sensor},
        )
        body = json.dumps({"items": items}, default=lambda v: float(v) if isinstance(v, Decimal) else str(v))
        return 200, {"Content-Type": "application/json"}, body.encode()


def _log_invocation(
    telemetry: Telemetry,
    function: str,
    request_id: str,
    trace_id: str,
    message: str,
    ids: dict[str, Any],
    on_visible: Callable[[], None] | None = None,
) -> None:
    line = _dumps({"level": "INFO", "message": message, "requestId": request_id, "traceId": trace_id, **ids})
    telemetry.log_lines(
        PipelineNames.log_group(function),
        [f"START RequestId: {request_id} Version: $LATEST", line, f"END RequestId: {request_id}"],
        on_visible=on_visible,
    )


class Processor:
    """The queue-triggered processor: long-polls, enriches, writes, deletes; failures stay for redrive."""

    def __init__(
        self,
        *,
        names: PipelineNames,
        clients: dict[str, Any],
        telemetry: Telemetry,
        delays: Delays,
        faults: frozenset[str],
    ) -> None:
        self.names = names
        self.ddb = clients["dynamodb"]
        self.sqs = clients["sqs"]
        self.ssm = clients["ssm"]
        self.telemetry = telemetry
        self.delays = delays
        self.faults = faults
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-processor", daemon=True)
        self._threshold: Decimal | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if not self._thread.is_alive():
            return
        # Wake the long poll at once instead of waiting out WaitTimeSeconds: stop() stays instant.
        with contextlib.suppress(Exception):
            self.sqs.send_message(
                QueueUrl=self.names.queue_url,
                MessageBody="{}",
                MessageAttributes={_CONTROL: {"DataType": "String", "StringValue": "stop"}},
            )
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                # A missing queue or a stopping emulator: wait a little, as Lambda's poller would.
                log.debug("sandbox processor poll failed", exc_info=True)
                self._stop.wait(0.5)

    def poll_once(self) -> None:
        answer = self.sqs.receive_message(
            QueueUrl=self.names.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["AWSTraceHeader", "ApproximateReceiveCount"],
            MessageAttributeNames=[_CONTROL],
        )
        messages = answer.get("Messages", [])
        if self._stop.is_set():
            for message in messages:
                self._release(message)
            return
        if not messages:
            return
        pause = self.delays.delay("pickup") + (SLOW_PROCESSOR_S if "slow_processor" in self.faults else 0.0)
        if pause and self._stop.wait(pause):
            return
        for message in messages:
            self._handle(message)

    def _release(self, message: dict[str, Any]) -> None:
        """At stop: drop the wake-up message, hand real ones back to the queue untouched."""
        handle = message["ReceiptHandle"]
        if _CONTROL in message.get("MessageAttributes", {}):
            self.sqs.delete_message(QueueUrl=self.names.queue_url, ReceiptHandle=handle)
        else:
            self.sqs.change_message_visibility(
                QueueUrl=self.names.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
            )

    def _handle(self, message: dict[str, Any]) -> None:
        start, request_id = time.time(), str(uuid.uuid4())
        header = message.get("Attributes", {}).get("AWSTraceHeader", "")
        trace_id = header.split("Root=", 1)[1].split(";", 1)[0] if "Root=" in header else ""
        try:
            item = self.enrich(json.loads(message["Body"], parse_float=Decimal))
            self.ddb.put_item(TableName=self.names.processed_table, Item=to_dynamo(item))
            self._seen_processed(item)
            self.sqs.delete_message(QueueUrl=self.names.queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception as exc:
            self._record(trace_id, start, request_id, {"error": type(exc).__name__}, failed=True)
            # Not deleted: it comes back, and after maxReceiveCount the queue's redrive moves it to the DLQ.
            self.sqs.change_message_visibility(
                QueueUrl=self.names.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=RETRY_VISIBILITY_S,
            )
            return
        self._record(trace_id, start, request_id, _ids(item), failed=False, marker=str(item["sensorId"]))

    def _seen_processed(self, item: dict[str, Any]) -> None:
        seen = self.telemetry.visibility
        if seen is not None:
            # GET /query reads the processed table: it answers with the item from this moment on.
            now, marker = time.time(), str(item["sensorId"])
            seen.record("processed", marker, t=now)
            seen.record("query", marker, t=now)

    def _record(
        self,
        trace_id: str,
        start: float,
        request_id: str,
        ids: dict[str, Any],
        failed: bool,
        marker: str | None = None,
    ) -> None:
        seen = self.telemetry.visibility if marker is not None else None
        if trace_id:
            annotations = {k: str(v) for k, v in ids.items() if k in ("sensorId", "timestamp")}
            if "timestamp" in annotations:
                annotations["readingTimestamp"] = annotations.pop("timestamp")
            self.telemetry.segment(
                name=self.names.processor_function,
                trace_id=trace_id,
                start=start,
                annotations=annotations,
                error=failed,
                on_visible=seen.on_trace(trace_id, marker, "processor") if seen and marker else None,
            )
        message = "reading processing failed" if failed else "reading processed"
        group = PipelineNames.log_group(self.names.processor_function)
        _log_invocation(
            self.telemetry,
            self.names.processor_function,
            request_id,
            trace_id,
            message,
            ids,
            on_visible=seen.on_log(marker, group) if seen and marker else None,
        )

    def threshold(self) -> Decimal:
        if self._threshold is None:
            answer = self.ssm.get_parameter(Name=self.names.threshold_parameter)
            self._threshold = Decimal(answer["Parameter"]["Value"])
        return self._threshold

    def enrich(self, item: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(item, dict) or "sensorId" not in item or "timestamp" not in item:
            raise InvalidReading("message is not a reading")
        if "lost_enrichment" in self.faults:
            return dict(item)
        celsius = item.get("temperature", item.get("value"))
        if not _number(celsius):
            raise InvalidReading("reading has no numeric temperature")
        fahrenheit = Decimal(str(celsius)) * 9 / 5 + 32
        return {
            **item,
            "processedAt": _now_iso(),
            "temperatureF": fahrenheit.quantize(Decimal("0.01")),
            "alert": Decimal(str(celsius)) > self.threshold(),
        }
