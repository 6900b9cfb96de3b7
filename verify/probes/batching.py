"""Asking about several resources of one kind in one call, where the API takes a list of names.

Each check still asks about its own resource; it only asks in company, and always in the same
company (a fixed chunk of the sorted names), so the identical calls of a read-only run are answered
once by its snapshot (verify.aws.snapshot).
"""

from __future__ import annotations

from collections.abc import Sequence


def batch_with(name: str, batch: Sequence[str], limit: int) -> list[str]:
    """`name` and its neighbours in the sorted batch, at most `limit` of them: every name of a batch
    lands in the same chunk however the checks ask, so identical calls can be answered once."""
    ordered = sorted(set(batch) | {name})
    start = ordered.index(name) // limit * limit
    return ordered[start : start + limit]
