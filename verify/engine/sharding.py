"""Splitting the checks across CI jobs: `--shard I/N`, deterministic on every machine."""

from __future__ import annotations

import hashlib

from verify.errors import UsageError


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` -> (I, N), 1 <= I <= N."""
    index, _, total = text.partition("/")
    if not (index.isdigit() and total.isdigit()) or not 1 <= int(index) <= int(total):
        raise UsageError(f"--shard {text}: expected I/N with 1 <= I <= N, like 1/2")
    return int(index), int(total)


def shard_of(group: str, total: int) -> int:
    """1-based shard of a group of checks: a stable hash (never Python's salted `hash`)."""
    digest = hashlib.sha256(group.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % total + 1
