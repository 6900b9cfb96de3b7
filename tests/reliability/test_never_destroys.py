"""The harness never consumes, purges or deletes what it did not create, checked in its source: no
call that receives, purges or deletes queue messages or deletes a table, queue, stream, bucket or
object; a stream is read only at the sequence number of the run's own record; the only delete is the
flow's clean-up of its own items.
(The sandbox, which plays the stack, is exempt; so are comments and strings.)"""

from __future__ import annotations

import ast
from pathlib import Path

import verify

ROOT = Path(verify.__file__).resolve().parent.parent
SOURCES = sorted(
    p
    for folder in ("verify", "suites")
    for p in (ROOT / folder).rglob("*.py")
    if "sandbox" not in p.relative_to(ROOT).parts
)
# boto3 method names (snake case) that consume or destroy what a stack holds.
DESTRUCTIVE = {
    "receive_message",
    "purge_queue",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "delete_queue",
    "delete_table",
    "batch_write_item",
    "delete_stream",
    "delete_bucket",
    "delete_object",
    "delete_objects",
    "delete_secret",
    "delete_parameter",
    "delete_log_group",
    "delete_log_stream",
    "delete_function",
}
ALLOWED = {("verify/scenario/cleanup.py", "delete_item")}


def _calls(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }


def test_the_sources_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in SOURCES}
    assert {"verify/scenario/cleanup.py", "verify/probes/sqs.py", "suites/test_sqs.py"} <= names
    assert not any("sandbox" in n for n in names)


def test_no_destructive_call_outside_the_flows_own_clean_up() -> None:
    found = []
    for path in SOURCES:
        where = path.relative_to(ROOT).as_posix()
        for name in _calls(path):
            if name in DESTRUCTIVE or (name.startswith("delete_") and (where, name) not in ALLOWED):
                found.append((where, name))
    assert found == []


def test_the_only_delete_is_guarded_by_the_run_marker() -> None:
    source = (ROOT / "verify" / "scenario" / "cleanup.py").read_text(encoding="utf-8")
    cleanup = source[source.index("def cleanup(") :]
    guard = cleanup.index("if not marker.startswith(self.marker):")
    assert guard < cleanup.index("delete_item(")


def test_streams_are_read_only_at_the_runs_own_record() -> None:
    iterators = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "get_shard_iterator":
                kinds = [k.value for k in node.keywords if k.arg == "ShardIteratorType"]
                iterators.append((path.name, ast.literal_eval(kinds[0]) if kinds else None))
    assert iterators, "expected the Kinesis probe's read-back"
    assert {kind for _, kind in iterators} == {"AT_SEQUENCE_NUMBER"}, iterators


def test_no_destructive_operation_is_named_in_code() -> None:
    """Also no low-level route to them (`_make_api_call("PurgeQueue", ...)`, an operation-name table):
    the operation names appear in no string of the code except in docstrings and messages."""
    names = {
        "ReceiveMessage",
        "PurgeQueue",
        "DeleteMessage",
        "DeleteMessageBatch",
        "DeleteQueue",
        "DeleteTable",
    }
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append((path.relative_to(ROOT).as_posix(), node.value))
    assert found == []
