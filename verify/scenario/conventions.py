"""What a stack's readings look like, learned from the stack itself (issue 15, build item 3).

A *convention* is the reading's shape: the id field (which carries the run's marker), whether the
readings are flat or nested under one field, and the timestamp's field and format. Public IoT stacks
differ on all three (`sensorId` + flat + ISO-8601 on the sandbox; `device_id` + `sensor_data` +
epoch milliseconds on the public handlers), and a reading of the wrong shape is refused with a 400
before anything is stored, so zero-config verify learns the shape instead of guessing it:

1. an explicit `[flow] payload` template always wins (nothing is learned);
2. the raw table's key schema (DescribeTable): the id field is the partition key's name; a sort key
   named like a time is the timestamp (type N: epoch milliseconds, or seconds when the name says
   `_s`/`sec` or one sampled existing item holds a value below 10^11; type S: ISO-8601);
3. the ingest method's request model (API Gateway `requestModels` -> GetModel): the JSON schema's
   `required` names the id field and the readings' envelope;
4. the API's 400/422 answers: a try that is refused names, in its body, the fields it wanted
   ("device_id and sensor_data are required"); the next try is the first untried candidate of the
   order below that fits what the answers named. At most `MAX_TRIES` tries; each carries the run's
   marker in its id field (a 4xx stores nothing, and were one stored anyway, clean-up finds it).

A single-table design's keys (`pk`/`sk`, verify.scenario.keys) are no field of the reading: the id
field and the timestamp then come from a sampled item (the attribute holding the id behind `pk`'s
prefix, the one holding the time behind `sk`'s), the request model or the refusals, never from `pk`.

The candidate order (documented in docs/configuration.md): id field `sensorId`, `sensor_id`,
`deviceId`, `device_id` (the raw table's partition key first: only there does the marker make the
item findable), or the one a refusal names; readings flat, then nested under `sensor_data`,
`readings`, `data`, `payload`, `metrics` (or the envelope a refusal names), every envelope with the
timestamp in the learned format before trying the next format (ISO-8601, epoch seconds, epoch ms).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any

from verify.scenario.keys import entity_of, entity_role, is_single_table, split_prefixed
from verify.scenario.payload import TIME_WORDS, KeySchema

__all__ = [
    "ID_FIELDS",
    "MAX_TRIES",
    "NESTINGS",
    "TIME_STYLES",
    "Convention",
    "from_key_schema",
    "from_model",
    "from_payload",
    "from_sampled_items",
    "named_in_answer",
    "next_candidate",
    "style_in_answer",
    "time_field_in_answer",
]

ID_FIELDS = ("sensorId", "sensor_id", "deviceId", "device_id")
NESTINGS: tuple[str | None, ...] = (None, "sensor_data", "readings", "data", "payload", "metrics")
TIME_STYLES = ("iso", "epoch_s", "epoch_ms")
MAX_TRIES = 6  # tries of the ingest (the first included): bounded, each refused one stores nothing
# An epoch in milliseconds has 13 digits today; in seconds 10. 10^11 s is the year 5138.
_MS_FLOOR = 10**11
_SECONDS_NAME = re.compile(r"(_s|_sec|_secs|_seconds|seconds|epoch_?s)$", re.IGNORECASE)
_MILLIS_NAME = re.compile(r"(ms|millis|milliseconds)", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A field named for a time: `ts`, `timestamp`, `recorded_at`, `event_time`, `eventTime`, `createdAt`.
_TIME_NAME = re.compile(
    r"^(ts|time|timestamp|epoch)$|_(ts|time|timestamp|epoch|at)$|[a-z](Time|Timestamp|At|Ts)$"
)


@dataclass(frozen=True)
class Convention:
    """A reading's shape. `sort_marker` names a non-time sort key that carries the marker too."""

    id_field: str = "sensorId"
    nest: str | None = None
    time_field: str = "timestamp"
    time_style: str = "iso"
    sort_marker: str | None = None
    learned_from: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {
            "id_field": self.id_field,
            "readings": f"nested under `{self.nest}`" if self.nest else "flat",
            "timestamp": f"{self.time_field} ({_STYLE_WORDS[self.time_style]})",
            "learned_from": list(self.learned_from),
        }

    def time_value(self, now: dt.datetime) -> str | int:
        if self.time_style == "epoch_ms":
            return int(now.timestamp() * 1000)
        if self.time_style == "epoch_s":
            return int(now.timestamp())
        return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def payload(self, marker: str, now: dt.datetime, value_field: str) -> dict[str, Any]:
        """The tagged reading in this shape (flat and keyed like the sandbox's: today's default)."""
        body: dict[str, Any] = {self.id_field: marker}
        if self.sort_marker:
            body[self.sort_marker] = marker
        body[self.time_field] = self.time_value(now)
        readings = {value_field: 21.5}
        if self.nest:
            body[self.nest] = readings
        else:
            body.update(readings)
        return body

    def malformed(self, marker: str, value_field: str) -> dict[str, Any]:
        """Valid JSON that is malformed *for this shape*: a body the stack's shape simply ignores
        (flat readings where it reads nested ones) would be accepted by a healthy stack.

        Flat: the id, no timestamp, and the value of the wrong type. Nested: the id and a valid
        timestamp, but the readings' envelope missing (the wrong-typed value sits flat, where this
        shape never looks)."""
        body: dict[str, Any] = {self.id_field: marker}
        if self.sort_marker:
            body[self.sort_marker] = marker
        if self.nest:
            body[self.time_field] = self.time_value(dt.datetime.now(dt.UTC))
        body[value_field] = "not-a-number"
        return body

    def template(self, value_field: str) -> str:
        """This shape as a `[flow] payload` template (what `verify init` writes into verify.toml)."""
        placeholder = {"iso": '"{now_iso}"', "epoch_s": "{now_epoch_s}", "epoch_ms": "{now_epoch_ms}"}
        parts = [f'"{self.id_field}": "{{marker}}"']
        if self.sort_marker:
            parts.append(f'"{self.sort_marker}": "{{marker}}"')
        parts.append(f'"{self.time_field}": {placeholder[self.time_style]}')
        readings = f'"{value_field}": 21.5'
        parts.append(f'"{self.nest}": {{{readings}}}' if self.nest else readings)
        return "{" + ", ".join(parts) + "}"


_STYLE_WORDS = {"iso": "ISO-8601", "epoch_s": "epoch seconds", "epoch_ms": "epoch milliseconds"}


def from_key_schema(schema: KeySchema | None, sample: dict[str, Any] | None = None) -> Convention:
    """The shape the raw table's keys imply (the same reading verify always sent by default)."""
    if schema is None:
        return Convention(learned_from=("default (no raw table)",))
    if is_single_table(schema):
        # `pk`/`sk` say where an item sits, not what the reading's fields are: the id field and the
        # timestamp come from a sampled item, the request model or the API's refusals instead.
        keys = schema.partition.name + (f" + {schema.sort.name}" if schema.sort else "")
        return Convention(learned_from=(f"single-table keys ({keys}): not the reading's fields",))
    sources = [f"raw table key schema ({schema.partition.name} {schema.partition.type}"]
    sort = schema.sort
    convention = Convention(id_field=schema.partition.name)
    if sort is not None:
        sources[0] += f" + {sort.name} {sort.type}"
        if sort.type == "N":
            style = "epoch_ms"
            if _SECONDS_NAME.search(sort.name) and not _MILLIS_NAME.search(sort.name):
                style = "epoch_s"
            sampled = _sampled_number(sample, sort.name)
            if sampled is not None and not _MILLIS_NAME.search(sort.name):
                style = "epoch_ms" if sampled >= _MS_FLOOR else "epoch_s"
                sources.append(f"a sampled item's {sort.name} ({sampled:.0f})")
            convention = replace(convention, time_field=sort.name, time_style=style)
        elif TIME_WORDS.search(sort.name):
            convention = replace(convention, time_field=sort.name, time_style="iso")
        else:
            convention = replace(convention, sort_marker=sort.name)
    sources[0] += ")"
    return replace(convention, learned_from=tuple(sources))


def from_payload(payload: dict[str, Any], marker: str, fallback: Convention) -> Convention:
    """The shape of an explicit `[flow] payload` (rendered): the field carrying the marker is the id,
    an object-valued field the readings' envelope. What the template does not show comes from
    `fallback` (the learned shape). Used to make the malformed body malformed for *that* shape."""
    ids = [name for name, value in payload.items() if value == marker]
    envelopes = [name for name, value in payload.items() if isinstance(value, dict)]
    known = [name for name in envelopes if name in NESTINGS]
    return replace(
        fallback,
        id_field=ids[0] if ids else fallback.id_field,
        sort_marker=ids[1] if len(ids) > 1 else None,
        nest=next(iter(known or envelopes), None),
        learned_from=("[flow] payload",),
    )


def _text(value: Any) -> str | None:
    """A DynamoDB-typed scalar as text (`{"S": "x"}` -> x, `{"N": "5"}` -> 5); None otherwise."""
    if isinstance(value, dict):
        for tag in ("S", "N"):
            if isinstance(value.get(tag), str):
                return str(value[tag])
    return None


def from_sampled_items(base: Convention, items: list[dict[str, Any]], schema: KeySchema) -> Convention:
    """Refine `base` by an existing reading of a single-table design: the attribute holding the id
    behind the partition key's prefix (`pk = DEVICE#dev-1`, `deviceId = dev-1`) is the id field; the
    one holding the time behind the sort key's (`sk = READING#<t>`, `ts = <t>`) is the timestamp, its
    type and size its format; a map attribute named like an envelope holds the readings."""
    keys = {schema.partition.name, *([schema.sort.name] if schema.sort else [])}
    # Raw readings first: a processed copy carries the same fields, but maybe more besides.
    ordered = sorted(
        items,
        key=lambda item: (
            entity_role(entity_of(_text(item.get(schema.sort.name)) if schema.sort else None)) != "raw"
        ),
    )
    for item in ordered:
        partition = _text(item.get(schema.partition.name))
        split = split_prefixed(partition) if partition else None
        if split is None:
            continue
        ids = [n for n, v in item.items() if n not in keys and _text(v) == split[1] and "S" in v]
        if not ids:
            continue
        id_field = next((n for n in ids if n in ID_FIELDS), ids[0])
        convention = replace(base, id_field=id_field, sort_marker=None)
        sort = _text(item.get(schema.sort.name)) if schema.sort else None
        sort_split = split_prefixed(sort) if sort else None
        moment = sort_split[1] if sort_split else None
        timed = [
            n for n, v in item.items() if n not in keys and n != id_field and moment and _text(v) == moment
        ]
        if not timed:
            timed = [n for n, v in item.items() if n not in keys and _TIME_NAME.search(n) and _text(v)]
        if timed:
            value = item[timed[0]]
            style = "iso"
            if "N" in value:
                style = "epoch_ms" if float(value["N"]) >= _MS_FLOOR else "epoch_s"
            convention = replace(convention, time_field=timed[0], time_style=style)
        envelopes = [n for n, v in item.items() if n in NESTINGS and isinstance(v, dict) and "M" in v]
        if envelopes:
            convention = replace(convention, nest=envelopes[0])
        return replace(convention, learned_from=(*base.learned_from, f"a sampled item ({partition})"))
    return base


def _sampled_number(sample: dict[str, Any] | None, name: str) -> float | None:
    value = (sample or {}).get(name, {})
    if isinstance(value, dict) and "N" in value:
        try:
            return float(value["N"])
        except ValueError:
            return None
    return None


def from_model(base: Convention, schema: dict[str, Any], source: str) -> Convention:
    """Refine `base` by a request model's JSON schema: its `required` fields name the id field and
    the readings' envelope; its properties' types say how the timestamp is written."""
    required = [str(name) for name in schema.get("required") or []]
    properties: dict[str, Any] = schema.get("properties") or {}
    named = set(required) | set(properties)
    convention = base
    ids = [name for name in required if name in ID_FIELDS]
    if base.id_field not in named and ids:
        convention = replace(convention, id_field=ids[0])
    nests = [name for name in required if name in NESTINGS]
    if nests:
        convention = replace(convention, nest=nests[0])
    elif base.nest is None:
        # An envelope that is an object property in the schema is where the readings go.
        objects = [n for n, p in properties.items() if isinstance(p, dict) and p.get("type") == "object"]
        known = [n for n in objects if n in NESTINGS]
        if known:
            convention = replace(convention, nest=known[0])
    if convention.time_field not in properties:
        # The model names the timestamp's field where the raw table's keys do not (no time sort key).
        timed = [name for name in properties if _TIME_NAME.search(name)]
        if timed:
            convention = replace(convention, time_field=timed[0])
    time_type = (properties.get(convention.time_field) or {}).get("type")
    if time_type == "string" and convention.time_style != "iso":
        convention = replace(convention, time_style="iso")
    elif time_type in ("integer", "number") and convention.time_style == "iso":
        convention = replace(convention, time_style="epoch_ms")
    return replace(convention, learned_from=(*base.learned_from, source))


def named_in_answer(text: str, time_field: str = "timestamp") -> set[str]:
    """The candidate field names a refusal's body mentions ("device_id and sensor_data are required"),
    the learned timestamp field's own name among them (`ts must be epoch seconds`)."""
    words = set(_WORD.findall(text))
    known = set(ID_FIELDS) | {n for n in NESTINGS if n} | {"timestamp", time_field}
    return {w for w in words if w in known}


def time_field_in_answer(text: str, convention: Convention) -> str | None:
    """A timestamp field a refusal names that the reading does not use (`recorded_at is required`),
    when the raw table's keys did not say which field carries the time."""
    known = {*ID_FIELDS, *(n for n in NESTINGS if n), convention.time_field, convention.id_field}
    for word in _WORD.findall(text):
        # A field's name (`recorded_at`, `eventTime`, `ts`), not an English word ("epoch", "time").
        named = "_" in word or word != word.lower() or word == "ts"
        if named and word not in known and _TIME_NAME.search(word):
            return str(word)
    return None


def style_in_answer(text: str) -> str | None:
    """The timestamp format a refusal asks for ("must be epoch seconds"), when it says one."""
    lowered = text.lower()
    if re.search(r"milli|\bms\b", lowered):
        return "epoch_ms"
    if re.search(r"second|\bepoch\b|unix", lowered):
        return "epoch_s"
    if re.search(r"iso|8601|date.?time string", lowered):
        return "iso"
    return None


def next_candidate(
    tried: list[Convention],
    named: set[str],
    keyed_by: str | None,
    time_hint: tuple[bool, str | None] = (False, None),
) -> Convention | None:
    """The first untried candidate, in the documented order, that fits what the refusals named.

    `keyed_by` is the raw table's partition key: when known, only an id field of that name puts the
    marker where the item can be found, unless a refusal names another id field. `time_hint` says
    whether the last refusal was about the timestamp (it named the timestamp field and no envelope)
    and which format it asked for: then the timestamp's format changes first, the envelope kept."""
    if not tried:
        return None
    first, last = tried[0], tried[-1]
    about_time, wanted_style = time_hint
    # A try is its id field, envelope, format and timestamp field (a refusal may rename the last).
    seen_now = {(c.id_field, c.nest, c.time_style, c.time_field) for c in tried}
    if about_time:
        order = [wanted_style] if wanted_style else []
        order += [s for s in TIME_STYLES if s not in order]
        why = "the API's 4xx answers"
        sources = last.learned_from if why in last.learned_from else (*last.learned_from, why)
        for style in order:
            if (last.id_field, last.nest, style, last.time_field) not in seen_now:
                return replace(last, time_style=style, learned_from=sources)
    ids: list[str] = [name for name in ID_FIELDS if name in named]
    if not ids:
        ids = [keyed_by] if keyed_by else [first.id_field, *[n for n in ID_FIELDS if n != first.id_field]]
    nests: list[str | None] = [n for n in NESTINGS if n and n in named]
    if not nests:
        nests = [first.nest, *[n for n in NESTINGS if n != first.nest]]
    # The envelope is what nothing but a request model or a refusal can teach; the timestamp's format
    # the key schema usually says: so every envelope in the learned format before another format.
    styles = [first.time_style, *[s for s in TIME_STYLES if s != first.time_style]]
    seen = seen_now
    why = "the API's 4xx answers"
    sources = last.learned_from if why in last.learned_from else (*last.learned_from, why)
    for style in styles:
        for nest in nests:
            for id_field in ids:
                if (id_field, nest, style, last.time_field) not in seen:
                    return replace(last, id_field=id_field, nest=nest, time_style=style, learned_from=sources)
    return None
