"""Text shapes shared by the report writers."""

from __future__ import annotations

import json
import re
from typing import Any

# What differs between the checks one cause stopped: which call, on which resource. Cut, the rest is
# the cause itself ("no AWS credentials found: ...", "could not reach http://...: check the network").
_CALL_DETAIL = (
    (re.compile(r"\s*\(needed for [^()]*\)$"), ""),
    (re.compile(r"^(could not reach \S+) for .+? on .+? (\(\w+\)): "), r"\1 \2: "),
    (re.compile(r"^(could not reach \S+) for .+? on .+?: "), r"\1: "),
)


def error_reason(message: str) -> str:
    """A check's error without the call and resource it names: what the checks one cause stopped
    share, so the console says "N checks could not run: <reason>" once instead of N times."""
    reason = (message or "no message").splitlines()[0].removeprefix("could not verify: ")
    for pattern, replacement in _CALL_DETAIL:
        reason = pattern.sub(replacement, reason)
    return reason


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at a word's end with "…" (never mid-word)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"


def readable_json(value: Any) -> str:
    """JSON for a person: each top-level key on its own line, each item of a top-level list on its
    own line below it, everything deeper compact. It parses to what json.dumps gives.

    json.dumps(indent=2) runs the pure-Python encoder, ~10x slower than the C one: the evidence of
    700 checks, pretty-printed into report.html and junit.xml, cost ~0.1 s of a 200-resource smoke."""
    if not isinstance(value, dict) or not value:
        return json.dumps(value, default=str)
    lines = []
    for key, item in value.items():
        name = json.dumps({key: 0})[1:-4]  # the key as json.dumps writes it, whatever its type
        if isinstance(item, list) and item:
            inner = ",\n".join("    " + json.dumps(element, default=str) for element in item)
            lines.append(f"  {name}: [\n{inner}\n  ]")
        else:
            lines.append(f"  {name}: {json.dumps(item, default=str)}")
    return "{\n" + ",\n".join(lines) + "\n}"
