"""The flow's tagged reading: built from the raw table's key schema and the config's template.

Stacks key readings by `sensorId` or `device_id`, timestamps as ISO strings or epoch numbers; the
default fits those conventions without configuration, and a `[flow] payload` template with
`{marker}`, `{now_iso}`, `{now_epoch_ms}`, `{now_epoch_s}` covers the rest.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from verify.errors import ConfigError

TIME_WORDS = re.compile(r"(time|timestamp|ts|date|at|epoch|created|recorded)", re.IGNORECASE)
PLACEHOLDERS = ("{marker}", "{now_iso}", "{now_epoch_ms}", "{now_epoch_s}")


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: str  # "S", "N" or "B"


@dataclass(frozen=True)
class KeySchema:
    partition: KeyAttribute
    sort: KeyAttribute | None = None

    @classmethod
    def from_describe(cls, table: dict[str, Any]) -> KeySchema:
        types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
        partition: KeyAttribute | None = None
        sort: KeyAttribute | None = None
        for element in table.get("KeySchema", []):
            attribute = KeyAttribute(element["AttributeName"], types.get(element["AttributeName"], "S"))
            if element["KeyType"] == "HASH":
                partition = attribute
            else:
                sort = attribute
        if partition is None:
            raise ValueError("table has no partition key")
        return cls(partition=partition, sort=sort)


def _now_values(now: dt.datetime) -> dict[str, str]:
    return {
        "{now_iso}": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "{now_epoch_ms}": str(int(now.timestamp() * 1000)),
        "{now_epoch_s}": str(int(now.timestamp())),
    }


def render_template(template: str, marker: str, now: dt.datetime) -> dict[str, Any]:
    """Fill a JSON template; placeholders inside strings stay strings, bare ones become numbers."""
    values = {"{marker}": marker, **_now_values(now)}
    text = template
    for placeholder, value in values.items():
        # A placeholder inside quotes is a string value; JSON-escape what goes there.
        text = text.replace(placeholder, json.dumps(value)[1:-1] if placeholder == "{marker}" else value)
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"[flow] payload is not a JSON template after substitution: {exc}") from None
    if not isinstance(loaded, dict):
        raise ConfigError("[flow] payload must be a JSON object")
    return loaded


def default_payload(
    schema: KeySchema | None, marker: str, now: dt.datetime, value_field: str
) -> dict[str, Any]:
    """A reading that fits the table's keys: the marker as partition key, a timestamp as sort key."""
    times = _now_values(now)
    partition_name = schema.partition.name if schema else "sensorId"
    payload: dict[str, Any] = {partition_name: marker}
    sort = schema.sort if schema else KeyAttribute("timestamp", "S")
    if sort is not None:
        if sort.type == "N":
            payload[sort.name] = int(times["{now_epoch_ms}"])
        elif TIME_WORDS.search(sort.name):
            payload[sort.name] = times["{now_iso}"]
        else:
            payload[sort.name] = marker
    # Many handlers also require a timestamp even when it is not a key.
    if "timestamp" not in payload and not any(TIME_WORDS.fullmatch(k) for k in payload):
        payload["timestamp"] = times["{now_iso}"]
    payload.setdefault(value_field, 21.5)
    return payload


def key_of(payload: dict[str, Any], schema: KeySchema) -> dict[str, Any]:
    """The DynamoDB key (typed) of the item this payload should have produced, as far as it names it."""
    key = {schema.partition.name: _typed(payload.get(schema.partition.name), schema.partition.type)}
    if schema.sort is not None and schema.sort.name in payload:
        key[schema.sort.name] = _typed(payload[schema.sort.name], schema.sort.type)
    return key


def _typed(value: Any, attribute_type: str) -> dict[str, str]:
    return {attribute_type: str(value)}
