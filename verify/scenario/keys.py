"""How a table keys the reading, when its keys are not the reading's own fields: single-table designs.

A single-table design keys every item by generic attributes (`pk`/`sk`, `PK`/`SK`, `pk1`, `hashKey`,
...) whose *values* carry an entity prefix: the device's partition is `DEVICE#<id>`, its raw reading
`READING#<time>` and its processed one `PROCESSED#<day>#<time>` under it. The marker then sits behind a
prefix nobody declares, so the flow learns it, in this order (each step only when the one before
says nothing):

1. `[flow] key_prefix` (the text before the marker in the partition key, e.g. `DEVICE#`);
2. the ingest's 2xx answer, when it echoes the key (`{"pk": "DEVICE#vfy-..."}`);
3. a bounded sample of the table's items (one Scan of `SAMPLE_ITEMS`): the prefixes of their partition
   keys, the one naming the id field's entity (`DEVICE#` for `deviceId`) first, then by frequency;
4. the prefixes the id field's name implies (`deviceId` -> `DEVICE#`, `Device#`, `device#`), then the
   bare marker.

A prefix is *confirmed* when the answer or config said it, when the sample shows it for the id
field's own entity (`DEVICE#dev-0042` for `deviceId`) or in front of an item's own id
(`pk = THING#t1` beside `deviceId = t1`), or when the reading was found under it. A reading not found under an unconfirmed prefix is "could not verify", never "the
stack is wrong": the message names `[flow] key_prefix`.

Which item of the reading's partition is raw and which processed (when one table holds both) is told
by the sort key's entity (the text before its first `#`): `[flow] raw_entity` / `processed_entity`
when set, else its words (`ENTITY_WORDS`), else, of two entities, the one not already told apart.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from verify.scenario.payload import KeySchema

__all__ = [
    "ENTITY_WORDS",
    "SAMPLE_ITEMS",
    "KeyGuess",
    "entity_of",
    "entity_role",
    "id_word",
    "is_single_table",
    "key_guesses",
    "prefix_in_answer",
    "split_prefixed",
]

SAMPLE_ITEMS = 25  # one read-only Scan of this many items: enough to see a table's entity prefixes
MAX_PREFIXES = 5  # prefixes tried per lookup: bounded, so a wait's poll costs at most this many Queries
# Generic key names: they say where an item sits, not what it is (`pk`, `SK`, `pk1`, `GSI1PK`,
# `partitionKey`, `hash_key`, `sortKey`, `range`).
_GENERIC = re.compile(
    r"^(gsi\d*_?)?(pk|sk|hk|rk)\d*$|^(partition|sort|hash|range)(_?key)?\d*$", re.IGNORECASE
)
_SEPARATORS = "#|"
_PREFIXED = re.compile(r"^(?P<prefix>.*[#|])(?P<rest>[^#|]+)$")
# An entity's words (case-insensitive, the sort key's text before its first separator).
ENTITY_WORDS: dict[str, tuple[str, ...]] = {
    "processed": (
        "processed", "enriched", "summary", "aggregate", "agg", "derived", "curated", "transformed",
        "stat", "hourly", "daily", "result", "analytics", "rollup", "computed",
    ),
    "raw": (
        "reading", "raw", "event", "telemetry", "measurement", "ingest", "sample", "record", "metric",
        "message", "input", "datapoint", "observation",
    ),
}  # fmt: skip
_ID_WORD = re.compile(r"^(?P<word>[A-Za-z]+?)(_?id|Id|ID)$")


def is_single_table(schema: KeySchema | None) -> bool:
    """A table keyed by generic names (`pk`/`sk`, ...): its keys are not the reading's own fields."""
    return schema is not None and schema.partition.type == "S" and bool(_GENERIC.match(schema.partition.name))


def split_prefixed(value: str) -> tuple[str, str] | None:
    """`DEVICE#dev-0042` -> (`DEVICE#`, `dev-0042`); None for a value without a separator."""
    found = _PREFIXED.match(value)
    if found is None:
        return None
    return found.group("prefix"), found.group("rest")


def entity_of(sort_value: Any) -> str | None:
    """The entity a sort key names: the text before its first separator (`READING#2026-...` -> READING)."""
    if not isinstance(sort_value, str):
        return None
    for index, char in enumerate(sort_value):
        if char in _SEPARATORS:
            return sort_value[:index] or None
    return None


def entity_role(
    entity: str | None, raw_entity: str | None = None, processed_entity: str | None = None
) -> str | None:
    """`raw`, `processed` or None (cannot tell) for an entity, configured names first."""
    if entity is None:
        return None
    for role, configured in (("raw", raw_entity), ("processed", processed_entity)):
        if configured and entity.lower() == configured.rstrip(_SEPARATORS).lower():
            return role
    if raw_entity or processed_entity:
        # One of them configured: the other role is every other entity's, when only one is named.
        if raw_entity and not processed_entity:
            return "processed"
        if processed_entity and not raw_entity:
            return "raw"
        return None
    words = [part for part in re.split(r"[^a-z0-9]+", entity.lower()) if part]
    for role in ("processed", "raw"):  # `PROCESSED_READING` is processed
        if any(word.startswith(w) for word in words for w in ENTITY_WORDS[role]):
            return role
    return None


def id_word(id_field: str) -> str | None:
    """The entity an id field names: `deviceId`, `device_id` -> `device`; `sensorId` -> `sensor`."""
    found = _ID_WORD.match(id_field)
    return found.group("word").lower() if found else None


def prefix_in_answer(text: str, marker: str) -> str | None:
    """The prefix before the marker when the ingest's answer echoes the key (`"DEVICE#vfy-..."`)."""
    found = re.search(r'"([A-Za-z][A-Za-z0-9_\-]*[#|])' + re.escape(marker) + r'(?:"|[#|])', text)
    return found.group(1) if found else None


@dataclass(frozen=True)
class KeyGuess:
    """The prefixes to look the reading up by, in order, and which of them the stack confirmed."""

    prefixes: tuple[str, ...]
    confirmed: frozenset[str]
    learned_from: dict[str, str]  # prefix -> what taught it

    def describe(self) -> dict[str, Any]:
        return {
            "key_prefixes": [f"{p}<marker>" for p in self.prefixes],
            "confirmed": sorted(self.confirmed),
            "learned_from": dict(self.learned_from),
        }


def _sampled_prefixes(
    items: Iterable[dict[str, Any]], partition: str, id_field: str
) -> tuple[Counter[str], set[str]]:
    """How often each partition prefix is sampled, and the prefixes seen in front of an item's own
    `id_field` value (`pk = THING#t1` beside `deviceId = t1`): the id sits behind those."""
    seen: Counter[str] = Counter()
    holding_id: set[str] = set()
    for item in items:
        value = item.get(partition, {})
        text = value.get("S") if isinstance(value, dict) else value
        if isinstance(text, str):
            split = split_prefixed(text)
            seen[split[0] if split else ""] += 1
            own = item.get(id_field, {})
            if split and isinstance(own, dict) and own.get("S") == split[1]:
                holding_id.add(split[0])
    return seen, holding_id


def key_guesses(
    *,
    partition: str,
    id_field: str,
    configured: str | None,
    answered: str | None,
    sample: list[dict[str, Any]],
) -> KeyGuess:
    """The prefixes to try for the reading's partition key (see the module docstring for the order)."""
    if configured is not None:
        return KeyGuess((configured,), frozenset({configured}), {configured: "[flow] key_prefix"})
    order: list[str] = []
    confirmed: set[str] = set()
    taught: dict[str, str] = {}

    def add(prefix: str, how: str, sure: bool) -> None:
        if prefix not in order:
            order.append(prefix)
            taught[prefix] = how
        if sure:
            confirmed.add(prefix)

    if answered is not None:
        add(answered, "the ingest's answer", True)
    word = id_word(id_field)
    sampled, holding_id = _sampled_prefixes(sample, partition, id_field)
    named = [p for p in sampled if word and p.rstrip(_SEPARATORS).lower().endswith(word)]
    for prefix in [*named, *sorted(holding_id)]:
        add(prefix, f"sampled items' {partition}", True)
    for prefix, _count in sampled.most_common():
        if prefix:
            # Only sampled: another entity's prefix (`USER#`) or the reading's, not known which.
            add(prefix, f"sampled items' {partition}", False)
    if word:
        for spelled in (word.upper(), word.capitalize(), word):
            add(spelled + "#", f"the id field `{id_field}`", False)
    add("", "the bare marker", False)
    return KeyGuess(tuple(order[:MAX_PREFIXES]), frozenset(confirmed), taught)
