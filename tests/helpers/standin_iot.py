"""A stand-in "public IoT stack", built in-process: conventions other than the sandbox's.

The public IoT pipeline's handlers want `device_id` with the readings nested under `sensor_data`
(else `400 {"error": "device_id and sensor_data are required"}`), key the raw table by `device_id`
(S) + `timestamp` (N, epoch milliseconds), the processed table by `device_id` + `event_date`
(YYYY-MM-DD), and answer `GET /query?device_id=…&event_date=…&table=processed` (all three required).

One fixed draw of the stand-in generator (tests/helpers/standin_gen.py), which builds it: moto plays
DynamoDB, X-Ray and API Gateway's control plane, a loopback listener plays the API and its handlers.

    with standin_iot() as stack:
        outputs = stack.outputs  # ApiEndpoint, ApiId, RawDataTableName, ProcessedDataTableName
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from tests.helpers.standin_gen import Conventions, StandIn, standin

__all__ = ["PUBLIC_IOT", "REQUIRED_INGEST", "IotStandIn", "standin_iot"]

REQUIRED_INGEST = "device_id and sensor_data are required"
IotStandIn = StandIn

PUBLIC_IOT = Conventions(
    id_field="device_id",
    nest="sensor_data",
    time_field="timestamp",
    time_style="epoch_ms",
    raw_sorted=True,
    processed_by="date",
    date_field="event_date",
    ingest_route="/ingest",
    query_style="query",
    query_route="/query",
    date_param="event_date",
    table_param="table",
    api_key="ApiEndpoint",
    api_id_key="ApiId",
    raw_key="RawDataTableName",
    processed_key="ProcessedDataTableName",
    seeded=False,
    stage="prod",
    raw_name="iot-raw-data",
    processed_name="iot-processed-data",
    refusal=REQUIRED_INGEST,  # the handlers' one message, whatever is missing
)


@contextmanager
def standin_iot(
    *,
    accepts_garbage: bool = False,
    query_style: str = "query",
    request_model: bool = False,
    processed_sort: str = "event_date",
    processor_stopped: bool = False,
    query_broken: bool = False,
    refuses_everything: bool = False,
) -> Iterator[StandIn]:
    """The stand-in stack (inside `aws_mock`), healthy or broken one way.

    `query_style="path"` answers `GET /readings/{device_id}` instead of `/query`; `request_model`
    declares (and validates) a JSON model for `POST /ingest`; `processed_sort="timestamp"` keys the
    processed table by id and time; `refuses_everything` refuses every reading, naming no field."""
    conventions = replace(
        PUBLIC_IOT,
        query_style=query_style,
        query_route="/readings" if query_style == "path" else "/query",
        request_model=request_model,
        validated=request_model,
        processed_by="time" if processed_sort == "timestamp" else "date",
    )
    chosen = [
        name
        for name, on in (
            ("accepts_garbage", accepts_garbage),
            ("processor_stopped", processor_stopped),
            ("query_broken", query_broken),
            ("refuses_everything", refuses_everything),
        )
        if on
    ]
    if len(chosen) > 1:
        raise ValueError(f"one breakage at a time, not {chosen}")
    with standin(conventions, chosen[0] if chosen else None) as stack:
        yield stack
