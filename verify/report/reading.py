"""Reading a finished run's `summary.json` back (for `verify gate` and `verify report merge`).

The file may come from anywhere (a CI artifact, a pull request), so it is read as hostile input: at
most `MAX_SUMMARY_BYTES`, no NaN/Infinity, nesting at most `MAX_DEPTH` deep, and every field the
harness uses checked for its type before `RunSummary.from_dict` sees it. Anything else is one
`UsageError` sentence naming the file and the field (exit 2), never a traceback.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from verify.errors import UsageError
from verify.model import Category, RunSummary, Severity, Status, Verdict

MAX_SUMMARY_BYTES = 200 * 1024 * 1024  # a 10 000-check run with its evidence is a few tens of MB
MAX_DEPTH = 64  # real evidence nests a handful of levels
_SHARD = re.compile(r"[0-9]{1,6}/[0-9]{1,6}")
_NUMBER = (int, float)


class _Bad(Exception):
    """A field of the wrong shape: its dotted name."""


def read_summary(path: Path) -> RunSummary:
    """A finished run's summary.json; `UsageError` (one sentence, exit 2) when it is missing or not one."""
    data = _load(path)
    try:
        _check(data)
        return RunSummary.from_dict(data)
    except _Bad as bad:
        field = str(bad)
    except (KeyError, ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        field = str(exc)[:80]
    raise UsageError(
        f"summary {path} is not a verify summary.json (bad or missing {field}): pass the summary.json a "
        "`verify run` wrote"
    )


def _load(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SUMMARY_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"summary {path} not found: pass the summary.json a `verify run` wrote") from None
    except OSError as exc:
        raise UsageError(f"summary {path} cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_SUMMARY_BYTES:
        raise UsageError(
            f"summary {path} is larger than {MAX_SUMMARY_BYTES // (1024 * 1024)} MB: not a summary.json "
            "a `verify run` wrote"
        )
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise UsageError(f"summary {path} is not UTF-8 text: pass an unmodified summary.json") from None
    except RecursionError:
        raise UsageError(f"summary {path} is nested too deeply to be a summary.json") from None
    except ValueError as exc:
        raise UsageError(
            f"summary {path} is not valid JSON ({exc}): pass an unmodified summary.json"
        ) from None
    if _depth(data) > MAX_DEPTH:
        raise UsageError(f"summary {path} is nested more than {MAX_DEPTH} levels deep: not a summary.json")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _depth(data: Any) -> int:
    """How deep containers nest, counted without recursion (the document may be hostile)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            values: Any = value.values()
        elif isinstance(value, list):
            values = value
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in values)
    return deepest


def _check(data: Any) -> None:
    if not isinstance(data, dict):
        raise _Bad("top-level object")
    _enum(data, "verdict", Verdict, required=True)
    for name in ("profile", "run_id", "started_at", "shard"):
        _optional(data, name, str)
    _optional(data, "duration_s", _NUMBER, finite=True)
    _optional(data, "interrupted", bool)
    stack = _optional(data, "stack", dict) or {}
    _optional(stack, "source", str, where="stack.source")
    _optional(stack, "region", (str, type(None)), where="stack.region")
    shard = data.get("shard")
    if shard:
        index, _, total = str(shard).partition("/")
        if not _SHARD.fullmatch(str(shard)) or not 1 <= int(index) <= int(total):
            raise _Bad("shard (expected I/N with 1 <= I <= N)")
    checks = data.get("checks")
    if not isinstance(checks, list):
        raise _Bad("checks")
    for number, check in enumerate(checks, start=1):
        _check_result(check, f"checks[{number}]")
    for number, note in enumerate(_optional(data, "notes", list) or [], start=1):
        if not isinstance(note, str):
            raise _Bad(f"notes[{number}]")
    environment = _optional(data, "environment", dict) or {}
    for key, value in environment.items():
        if not isinstance(value, str | int | float | bool):
            raise _Bad(f"environment.{key}")
    calls = _optional(data, "aws_calls", dict) or {}
    operations = _optional(calls, "by_operation", dict, where="aws_calls.by_operation") or {}
    for key, value in operations.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Bad(f"aws_calls.by_operation.{key}")
    gate = data.get("gate")
    if gate is not None:
        if not isinstance(gate, dict):
            raise _Bad("gate")
        _enum(gate, "verdict", Verdict, required=True, where="gate.verdict")
        _optional(gate, "policy", str, where="gate.policy")
        if not all(isinstance(r, str) for r in _optional(gate, "reasons", list, where="gate.reasons") or []):
            raise _Bad("gate.reasons")
    for number, item in enumerate(_optional(data, "left_behind", list) or [], start=1):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("place", "key")):
            raise _Bad(f"left_behind[{number}]")
        _optional(item, "reason", str, where=f"left_behind[{number}].reason")


def _check_result(check: Any, where: str) -> None:
    if not isinstance(check, dict):
        raise _Bad(where)
    if not isinstance(check.get("id"), str):
        raise _Bad(f"{where}.id")
    _enum(check, "status", Status, required=True, where=f"{where}.status")
    _enum(check, "category", Category, where=f"{where}.category")
    _enum(check, "severity", Severity, where=f"{where}.severity")
    for name in ("title", "service", "resource", "message", "stack", "waiver"):
        _optional(check, name, str, where=f"{where}.{name}")
    _optional(check, "duration_s", _NUMBER, where=f"{where}.duration_s", finite=True)
    attempts = check.get("attempts", 1)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 0 <= attempts <= 10**9:
        raise _Bad(f"{where}.attempts")
    evidence = _optional(check, "evidence", (dict, type(None)), where=f"{where}.evidence") or {}
    at_s = evidence.get("at_s")
    if at_s is not None and not (isinstance(at_s, _NUMBER) and _finite(at_s)):
        raise _Bad(f"{where}.evidence.at_s")


def _optional(
    data: dict[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    *,
    where: str = "",
    finite: bool = False,
) -> Any:
    value = data.get(name)
    if name not in data:
        return None
    bad_bool = isinstance(value, bool) and kind is _NUMBER
    if not isinstance(value, kind) or bad_bool or (finite and not _finite(value)):
        raise _Bad(where or name)
    return value


def _enum(data: dict[str, Any], name: str, kind: Any, *, required: bool = False, where: str = "") -> None:
    if name not in data and not required:
        return
    value = data.get(name)
    if not isinstance(value, str) or value not in {str(member) for member in kind}:
        raise _Bad(where or name)


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (OverflowError, ValueError, TypeError):
        return False
