"""What counts as enrichment in the processed reading: what the processor *derived*.

An attribute of the processed item is derived when it is non-null, is not a key attribute of the
processed table (a processor writes its keys by necessity: the partition key, a date or time sort
key) and is not a copy -- the same name with the same value -- of the payload or of the raw item (what
the ingest stored itself: an `ingestedAt` stamp is the ingest's, not the processor's). A processor that
lost every derived field but keeps the keys, the copies and some nulls derives nothing, and fails.

Items come as DynamoDB reads them (`{"S": "x"}`, `{"N": "21.5"}`) or as plain values; both are
compared as plain values, numbers as decimals (so `21.5` in the payload equals `{"N": "21.5"}`).

In a single-table design the keys include every index's (`GSI1PK`), and an attribute naming the item's
entity (`type = "PROCESSED"` beside `sk = PROCESSED#...`) says what the item is, not what was derived.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer

__all__ = ["derived_attributes"]

_DESERIALIZER = TypeDeserializer()
_TYPE_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})


def _plain(value: Any) -> Any:
    """A DynamoDB-typed value as a plain one; a plain value as it is, numbers as Decimal."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _TYPE_TAGS:
        try:
            return _DESERIALIZER.deserialize(cast(Any, value))
        except (TypeError, ValueError, ArithmeticError):
            return value  # not a typed value after all (a map that happens to have an `S` key)
    try:
        return json.loads(json.dumps(value, default=str), parse_float=Decimal)
    except (TypeError, ValueError):
        return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    if _number(a) and _number(b):
        return Decimal(str(a)) == Decimal(str(b))
    return bool(a == b)


def derived_attributes(
    processed: Mapping[str, Any],
    payload: Mapping[str, Any],
    raw: Mapping[str, Any],
    keys: frozenset[str] | set[str],
    entity: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    """(the derived attributes, sorted; every other attribute -> why it is not enrichment). `entity`
    is the processed item's entity in a single-table design (its sort key's prefix)."""
    derived: list[str] = []
    not_derived: dict[str, str] = {}
    for name in sorted(processed):
        value = _plain(processed[name])
        if value is None:
            not_derived[name] = "null"
        elif name in keys:
            not_derived[name] = "a key of the processed table"
        elif entity and isinstance(value, str) and _squashed(value) == _squashed(entity):
            not_derived[name] = "the item's entity type"
        elif name in payload and _same(value, _plain(payload[name])):
            not_derived[name] = "copied from the payload"
        elif name in raw and _same(value, _plain(raw[name])):
            not_derived[name] = "copied from the raw item"
        else:
            derived.append(name)
    return derived, not_derived


def _squashed(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())
