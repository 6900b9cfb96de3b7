"""Stack outputs, whatever tool wrote them, read into one flat list of `Output`s.

Formats (docs/reference.md), detected from the document's shape, never from the file name:

- ``flat``            ``{"Key": "value"}`` -- values are scalars, lists, or JSON encoded in a string
- ``cdk``             ``{"StackName": {"Key": "value"}}`` (CDK ``--outputs-file``; CDKTF writes it too)
- ``terraform``       ``{"key": {"value": ..., "type": ..., "sensitive": bool}}`` (``output -json``)
- ``cfn-outputs``     ``[{"OutputKey": ..., "OutputValue": ...}]``
- ``describe-stacks`` ``{"Stacks": [{"StackName": ..., "Outputs": [...]}]}``
- ``cloudformation``  read live with DescribeStacks (see `verify.stack.live`)

Every bad input raises `OutputsError` with one sentence that names the file and what to do:
besides what is not outputs at all, a key given twice in one object, `NaN`/`Infinity` (not JSON
numbers). More than `MAX_OUTPUTS` outputs are refused by `check_count` before a run or `discover`
builds an inventory (200 000 outputs took minutes).

`--outputs -` reads stdin; `--outputs <(cmd)`, `/dev/stdin` and FIFOs work too: a file that is not
a regular file is read once per process (later reads of the same path get the same bytes), waiting
at most `SPECIAL_FILE_WAIT_S` for data -- a FIFO nobody writes to is one sentence, not a hang.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import select
import stat
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from verify.errors import OutputsError
from verify.stack.values import PLACEHOLDERS, is_secret_key, normalize_items, scalar_text

__all__ = [
    "DEFAULT_OUTPUTS_PATH",
    "MAX_OUTPUTS",
    "MAX_OUTPUTS_BYTES",
    "PLACEHOLDERS",
    "Output",
    "Outputs",
    "OutputsError",
    "StackResource",
    "load_live_outputs",
    "load_outputs",
    "parse_outputs",
]

DEFAULT_OUTPUTS_PATH = "cfn-outputs/flat-outputs.json"
MAX_OUTPUTS_BYTES = 20 * 1024 * 1024
# CloudFormation allows 200 outputs a stack; 10 000 is far beyond any real stack set, and a size a run
# still finishes in seconds (200 000 took minutes).
MAX_OUTPUTS = 10_000
STDIN = "-"
SPECIAL_FILE_WAIT_S = 15.0  # longest wait for the next bytes from a pipe, FIFO or stdin
_READ_ONCE: dict[str, bytes] = {}  # non-regular inputs by path: a pipe can be read only once
_READ_LOCK = threading.Lock()

_TF_FIELDS = frozenset({"value", "type", "sensitive", "description"})
_SCALARS = (str, int, float, bool, type(None))
_PRODUCE_HINT = (
    "create it with `cdk deploy --outputs-file {path}` or `terraform output -json > {path}`, "
    "or read the outputs live with `--stack NAME`"
)


@dataclass(frozen=True)
class Output:
    key: str
    value: object
    items: tuple[str, ...]
    sensitive: bool = False
    missing: bool = False
    # The stack that declared it, where a file (or a run) holds several; its key is then `Stack.Key`
    # when another stack declares the same key, and `bare_key` the key as that stack wrote it.
    stack: str | None = None
    bare_key: str | None = None

    @property
    def own_key(self) -> str:
        """The key as its stack declared it (what a name rule reads: never the stack's name)."""
        return self.bare_key or self.key

    def __repr__(self) -> str:
        # pytest prints a failing check's arguments, and allure records them: a sensitive output's
        # value must not be in its repr in the first place.
        if not self.sensitive:
            return f"Output(key={self.key!r}, value={self.value!r}, missing={self.missing})"
        return f"Output(key={self.key!r}, value='***', sensitive=True, missing={self.missing})"


@dataclass(frozen=True)
class StackResource:
    logical_id: str
    physical_id: str
    resource_type: str
    status: str


@dataclass(frozen=True)
class Outputs:
    source: str
    format: str
    stack: str | None
    outputs: tuple[Output, ...]
    stack_resources: tuple[StackResource, ...] = ()

    def get(self, key: str) -> Output | None:
        for output in self.outputs:
            if output.key == key:
                return output
        return None

    def present(self) -> list[Output]:
        return [o for o in self.outputs if not o.missing]

    def missing(self) -> list[Output]:
        return [o for o in self.outputs if o.missing]

    def secret_values(self) -> set[str]:
        """Every string form a sensitive value may take in a log line, so redaction catches them all."""
        forms: set[str] = set()
        for output in self.outputs:
            if not output.sensitive or output.value is None:
                continue
            value = output.value
            forms.add(scalar_text(value))
            forms.update(output.items)
        forms.discard("")
        return forms


def make_output(key: str, value: object, *, sensitive: bool = False) -> Output:
    """One output from its key and raw value; the only place items, missing and sensitive are decided."""
    items = normalize_items(value)
    secret = sensitive or is_secret_key(key, items)
    return Output(key=key, value=value, items=items, sensitive=secret, missing=not items)


def load_outputs(
    path: str | os.PathLike[str], stack: str | None = None, *, limit: int | None = None
) -> Outputs:
    """Read an outputs file of any supported format; `stack` picks one stack of a multi-stack file.
    With `limit`, a document of more outputs is refused before any output is built (`check_count`)."""
    file = Path(path)
    document = load_document(file)
    if limit is not None and isinstance(document, dict | list):
        check_count(_count_outputs(document), _shown(file), limit)
    return parse_outputs(document, _shown(file), stack)


def load_document(file: Path) -> Any:
    """The outputs file's JSON document, read strictly (see the module docstring)."""
    text = _read_text(file)
    try:
        document = json.loads(
            text, object_pairs_hook=_strict_object, parse_constant=_NonFinite, parse_float=_finite_float
        )
    except _StrictJsonError as exc:
        raise OutputsError(f"Outputs file {_shown(file)} {exc}") from None
    except json.JSONDecodeError as exc:
        raise OutputsError(
            f"Outputs file {_shown(file)} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    except RecursionError:
        raise OutputsError(f"Outputs file {_shown(file)} is nested too deeply to be stack outputs.") from None
    except ValueError:  # an integer past Python's digit limit: no output value is that long
        raise OutputsError(
            f"Outputs file {_shown(file)} holds a number too long to be an output value."
        ) from None
    if isinstance(document, _NonFinite):
        raise OutputsError(
            f"Outputs file {_shown(file)} holds {document.literal}, which is not stack outputs."
        )
    return document


class _StrictJsonError(Exception):
    """Raised from inside the JSON decoder: the rest of the sentence after the file's name."""


class _NonFinite:
    """NaN, Infinity, -Infinity or an overflowing number: kept as a marker so the object holding it
    can name its key (the decoder's constant hook does not know the key)."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _finite_float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _StrictJsonError(
                f"holds key {key!r} twice in one object; JSON keeps only one of them silently, so "
                "remove the duplicate."
            )
        bad = _non_finite_in(value)
        if bad is not None:
            raise _StrictJsonError(
                f"holds {bad.literal} for key {key!r}, which is not a JSON number; write the value as a "
                "number or a string."
            )
        document[key] = value
    return document


def _non_finite_in(value: Any) -> _NonFinite | None:
    """A marker in `value` or in lists inside it (objects inside are checked by their own hook)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, _NonFinite):
            return item
        if isinstance(item, list):
            pending.extend(item)
    return None


def _shown(file: Path) -> str:
    return "stdin" if str(file) == STDIN else str(file)


def _read_text(file: Path) -> str:
    hint = _PRODUCE_HINT.format(path=file)
    raw = read_bytes(file)
    # PowerShell's `> file` writes a BOM; the file is still UTF-8, and offsets still count from byte 0.
    skipped = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[skipped:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OutputsError(
            f"Outputs file {_shown(file)} is not UTF-8 text (invalid byte at offset {exc.start + skipped}); "
            "save it as UTF-8."
        ) from None
    if not text.strip():
        raise OutputsError(f"Outputs file {_shown(file)} is empty; {hint}.")
    return text


def read_bytes(file: Path) -> bytes:
    """The file's bytes, at most `MAX_OUTPUTS_BYTES`; stdin, pipes and FIFOs read once per process."""
    key = str(file)
    with _READ_LOCK:
        if key in _READ_ONCE:
            return _READ_ONCE[key]
        if key == STDIN:
            if sys.stdin is None or sys.stdin.isatty():
                raise OutputsError(
                    "--outputs - reads the outputs from stdin, but stdin is a terminal; pipe them in "
                    "(`terraform output -json | verify run --outputs -`)."
                )
            raw = _read_stream(sys.stdin.buffer.fileno(), file)
            _READ_ONCE[key] = raw
            return raw
        info = _stat(file)
        if stat.S_ISREG(info.st_mode):
            return _read_regular(file, info)
        try:
            # Non-blocking open: a FIFO without a writer must not block here; the read waits, bounded.
            fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise OutputsError(f"Outputs file {file} cannot be read ({exc.strerror or exc}).") from None
        try:
            raw = _read_stream(fd, file)
        finally:
            os.close(fd)
        _READ_ONCE[key] = raw
        return raw


def _stat(file: Path) -> os.stat_result:
    hint = _PRODUCE_HINT.format(path=file)
    try:
        info = file.stat()
    except FileNotFoundError:
        raise OutputsError(f"Outputs file {file} does not exist; {hint}.") from None
    except OSError as exc:
        raise OutputsError(f"Outputs file {file} cannot be read ({exc.strerror or exc}).") from None
    if stat.S_ISDIR(info.st_mode):
        raise OutputsError(
            f"Outputs path {file} is a directory; pass the outputs JSON file itself with --outputs PATH."
        )
    return info


def _read_regular(file: Path, info: os.stat_result) -> bytes:
    if info.st_size > MAX_OUTPUTS_BYTES:
        raise OutputsError(_too_large(file))
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_OUTPUTS_BYTES + 1)
    except OSError as exc:
        raise OutputsError(f"Outputs file {file} cannot be read ({exc.strerror or exc}).") from None
    if len(raw) > MAX_OUTPUTS_BYTES:  # a file growing while read
        raise OutputsError(_too_large(file))
    return raw


def _read_stream(fd: int, file: Path) -> bytes:
    """Read a pipe, FIFO, stdin or device to its end: at most `SPECIAL_FILE_WAIT_S` between bytes."""
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + SPECIAL_FILE_WAIT_S
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise OutputsError(
                f"Outputs file {_shown(file)} sent no data for {SPECIAL_FILE_WAIT_S:g} s (a pipe or FIFO "
                "nobody writes to?); write the outputs to a file and pass its path."
            )
        try:
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1024 * 1024)
        except BlockingIOError:
            continue
        except (OSError, ValueError) as exc:
            raise OutputsError(f"Outputs file {_shown(file)} cannot be read ({exc}).") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_OUTPUTS_BYTES:
            raise OutputsError(_too_large(file))
        deadline = time.monotonic() + SPECIAL_FILE_WAIT_S


def _too_large(file: Path) -> str:
    limit = MAX_OUTPUTS_BYTES // (1024 * 1024)
    return (
        f"Outputs file {file} is too large (over {limit} MB) to be stack outputs; check the --outputs path."
    )


def parse_outputs(document: object, source: str, stack: str | None = None) -> Outputs:
    """Detect the format of an already-decoded JSON document and flatten it into `Outputs`."""
    if document is None:
        raise OutputsError(f"Outputs file {source} contains JSON null instead of stack outputs.")
    if isinstance(document, list):
        return _parse_outputs_list(document, source)
    if not isinstance(document, dict):
        kind = {bool: "boolean", str: "string", int: "number", float: "number"}.get(type(document), "value")
        raise OutputsError(
            f"Outputs file {source} contains a JSON {kind} instead of stack outputs "
            '(an object such as {"Key": "value"}).'
        )
    if not document:
        raise OutputsError(f"Outputs file {source} contains no outputs at all (an empty JSON object).")
    _check_keys(document, source, None)
    if _looks_like_describe_stacks(document):
        return _parse_describe_stacks(document, source, stack)
    values = list(document.values())
    if all(_is_tf_entry(v) for v in values):
        return _finish(source, "terraform", None, _terraform_outputs(document))
    objects = [k for k, v in document.items() if isinstance(v, dict)]
    if not objects:
        _check_flat(document, source, None)
        return _finish(source, "flat", None, _flat_outputs(document))
    if len(objects) == len(document):
        return _parse_cdk(document, source, stack)
    raise _not_outputs(source, objects[0], "holds a nested object while other keys hold plain values")


def _finish(source: str, fmt: str, stack: str | None, outputs: Iterable[Output]) -> Outputs:
    found = tuple(outputs)
    if not found:
        raise OutputsError(f"Outputs file {source} contains no outputs at all.")
    return Outputs(source=source, format=fmt, stack=stack, outputs=found)


def _not_outputs(source: str, key: str, why: str) -> OutputsError:
    return OutputsError(
        f"Outputs file {source} does not look like stack outputs: key {key!r} {why}; expected a flat "
        '{"Key": "value"} map, a CDK --outputs-file, `terraform output -json`, or CloudFormation Outputs.'
    )


def _check_keys(mapping: Mapping[Any, Any], source: str, stack: str | None) -> None:
    for key in mapping:
        if not isinstance(key, str):
            where = f" of stack {stack!r}" if stack else ""
            raise OutputsError(f"Outputs file {source} has a key{where} that is not a string ({key!r}).")


def _is_tf_entry(value: object) -> bool:
    return isinstance(value, dict) and "value" in value and set(value) <= _TF_FIELDS


def _is_flat_value(value: object, depth: int = 0) -> bool:
    """Scalars, and lists of scalars or of shallow objects (Pulumi and Terraform lists hold such)."""
    if isinstance(value, _SCALARS):
        return True
    if depth >= 2:
        return False
    if isinstance(value, list):
        return all(_is_flat_value(item, depth + 1) for item in value)
    if isinstance(value, dict) and depth == 1:
        return all(isinstance(k, str) and _is_flat_value(v, 2) for k, v in value.items())
    return False


def _check_flat(mapping: Mapping[str, object], source: str, stack: str | None) -> None:
    for key, value in mapping.items():
        if not _is_flat_value(value):
            where = f"{stack}.{key}" if stack else key
            raise _not_outputs(source, where, "holds a nested structure deeper than an output value")


def _flat_outputs(mapping: Mapping[str, object]) -> list[Output]:
    return [make_output(key, value) for key, value in mapping.items()]


def _terraform_outputs(mapping: Mapping[str, Any]) -> list[Output]:
    return [
        make_output(key, entry.get("value"), sensitive=entry.get("sensitive") is True)
        for key, entry in mapping.items()
    ]


def _parse_cdk(document: Mapping[str, Any], source: str, stack: str | None) -> Outputs:
    stacks: dict[str, list[Output]] = {}
    for name, inner in document.items():
        _check_keys(inner, source, name)
        if inner and all(_is_tf_entry(v) for v in inner.values()):
            stacks[name] = _terraform_outputs(inner)
            continue
        _check_flat(inner, source, name)
        stacks[name] = _flat_outputs(inner)
    return _pick_stack(stacks, source, stack, "cdk")


def _pick_stack(stacks: Mapping[str, list[Output]], source: str, stack: str | None, fmt: str) -> Outputs:
    if stack is not None:
        if stack not in stacks:
            found = ", ".join(sorted(stacks)) or "none"
            raise OutputsError(f"Outputs file {source} has no stack {stack!r} (stacks found: {found}).")
        return _finish(source, fmt, stack, stacks[stack])
    if len(stacks) == 1:
        (only,) = stacks
        return _finish(source, fmt, only, stacks[only])
    named = [(name, output) for name, outputs in stacks.items() for output in outputs]
    return _finish(source, fmt, None, namespaced(named, source))


def namespaced(named: Iterable[tuple[str, Output]], source: str) -> list[Output]:
    """The outputs of several stacks as one list, each carrying its stack; a key two stacks declare
    (an `Environment` each, the `KmsKeyArn` of both) becomes `Stack.Key` in each, never an error."""
    pairs = list(named)
    owners: dict[str, set[str]] = {}
    for name, output in pairs:
        owners.setdefault(output.own_key, set()).add(name)
    merged: list[Output] = []
    seen: dict[str, str] = {}
    for name, output in pairs:
        key = output.own_key
        if len(owners[key]) > 1:
            out = replace(output, key=f"{name}.{key}", stack=name, bare_key=key)
        else:
            out = replace(output, stack=name)
        if out.key in seen:  # one stack name given twice (two files of one stack, say)
            raise OutputsError(
                f"{source}: output {out.key!r} is declared twice by stack {name!r}; "
                "pass each stack's outputs once, or pick one with --stack NAME"
            )
        seen[out.key] = name
        merged.append(out)
    return merged


def _looks_like_describe_stacks(document: Mapping[str, Any]) -> bool:
    stacks = document.get("Stacks")
    if isinstance(stacks, list):
        # A flat output that happens to be called "Stacks" holds strings, not stack descriptions.
        return all(isinstance(entry, dict) for entry in stacks)
    return isinstance(document.get("StackName"), str) and isinstance(document.get("Outputs"), list)


def _parse_describe_stacks(document: Mapping[str, Any], source: str, stack: str | None) -> Outputs:
    entries = document.get("Stacks", [document])
    stacks: dict[str, list[Output]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("StackName"), str):
            raise OutputsError(
                f"Outputs file {source} has a Stacks entry (number {index + 1}) without a StackName, "
                "so it is not a describe-stacks response."
            )
        outputs = entry.get("Outputs") or []
        if not isinstance(outputs, list):
            raise OutputsError(f"Outputs file {source} has an Outputs field that is not a list.")
        stacks[entry["StackName"]] = _cfn_output_list(outputs, source)
    if not stacks:
        raise OutputsError(f"Outputs file {source} is a describe-stacks response with no stacks.")
    return _pick_stack(stacks, source, stack, "describe-stacks")


def check_count(count: int, source: str, limit: int = MAX_OUTPUTS) -> None:
    """More than `MAX_OUTPUTS` outputs is refused before a run or `discover` builds an inventory of
    them (the reader itself handles more: 120 000 outputs load in about two seconds)."""
    if count > limit:
        raise OutputsError(
            f"Outputs file {source} holds {count} outputs, more than verify handles in one run "
            f"({limit}); verify the stacks' outputs files one at a time."
        )


def _count_outputs(document: dict[str, Any] | list[Any]) -> int:
    """About how many outputs a document holds (a CDK file: the sum over its stacks), cheaply."""
    if isinstance(document, list):
        return len(document)
    stacks = document.get("Stacks")
    if isinstance(stacks, list):
        return sum(len(s.get("Outputs") or []) for s in stacks if isinstance(s, dict))
    return sum(len(v) if isinstance(v, dict) and not _is_tf_entry(v) else 1 for v in document.values())


def is_read_once(path: str) -> bool:
    """stdin, a pipe or a FIFO: its content can be read only once (see the module docstring)."""
    if path == STDIN:
        return True
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _parse_outputs_list(document: list[Any], source: str) -> Outputs:
    if not document:
        raise OutputsError(f"Outputs file {source} contains an empty list, so there are no outputs at all.")
    return _finish(source, "cfn-outputs", None, _cfn_output_list(document, source))


def _cfn_output_list(entries: list[Any], source: str) -> list[Output]:
    outputs: list[Output] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("OutputKey"), str):
            raise OutputsError(
                f"Outputs file {source} holds a JSON list that is not CloudFormation Outputs "
                '(expected [{"OutputKey": ..., "OutputValue": ...}]).'
            )
        outputs.append(make_output(entry["OutputKey"], entry.get("OutputValue")))
    return outputs


def load_live_outputs(stack_name: str, cloudformation: Any) -> Outputs:
    """Outputs and resources of a deployed stack, read live (DescribeStacks, DescribeStackResources)."""
    from verify.stack.live import read_stack  # deferred: botocore is only needed for live reads

    outputs, resources = read_stack(stack_name, cloudformation)
    return Outputs(
        source=f"cloudformation:{stack_name}",
        format="cloudformation",
        stack=stack_name,
        outputs=tuple(make_output(key, value) for key, value in outputs),
        stack_resources=tuple(StackResource(*r) for r in resources),
    )
