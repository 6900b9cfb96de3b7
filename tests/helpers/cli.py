"""What the reliability tests share: the console script as a subprocess, boto3 aimed at a sandbox,
a snapshot of everything a sandbox holds, and a process tree read from /proc."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any AWS setting, plus `extra`; no AWS config files."""
    env = {k: v for k, v in os.environ.items() if k not in AWS_VARIABLES and not k.startswith("AWS_ENDPOINT")}
    env.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def verify_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "verify.cli.main", *args]


def run_verify(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        verify_command(*args),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def summary(report_dir: Path) -> dict[str, Any]:
    path = report_dir / "summary.json"
    assert path.is_file(), f"no summary.json in {report_dir}"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def client(env: Mapping[str, str], service: str) -> Any:
    return boto3.client(
        service,
        region_name=env["AWS_REGION"],
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def items(env: Mapping[str, str], table: str) -> list[dict[str, Any]]:
    ddb = client(env, "dynamodb")
    return [i for page in ddb.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]


def snapshot(env: Mapping[str, str]) -> dict[str, Any]:
    """Every table's items, every queue's message counts (DLQs included), every stream's records.
    Reading a stream from TRIM_HORIZON is the test's privilege; the harness never does."""
    ddb, sqs, kinesis = (client(env, s) for s in ("dynamodb", "sqs", "kinesis"))
    tables = {
        name: sorted(json.dumps(i, sort_keys=True) for i in items(env, name))
        for name in ddb.list_tables()["TableNames"]
    }
    queues: dict[str, dict[str, str]] = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        queues[url] = {k: v for k, v in attributes.items() if k.startswith("ApproximateNumberOfMessages")}
    streams: dict[str, list[tuple[str, str, bytes]]] = {}
    for name in kinesis.list_streams()["StreamNames"]:
        records: list[tuple[str, str, bytes]] = []
        for shard in kinesis.list_shards(StreamName=name)["Shards"]:
            iterator = kinesis.get_shard_iterator(
                StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for _ in range(20):
                page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
                records += [(shard["ShardId"], r["SequenceNumber"], r["Data"]) for r in page["Records"]]
                if not page["Records"] or not page.get("NextShardIterator"):
                    break
                iterator = page["NextShardIterator"]
        streams[name] = records
    return {"tables": tables, "queues": queues, "streams": streams}


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


# ---------------------------------------------------------------- processes, from /proc


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses; split after the last ')'.
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def descendants(pid: int) -> set[int]:
    """Every process below `pid` right now (children, grandchildren...)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents.setdefault(stat[1], []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain `text` (a /proc scan: no psutil needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


def create_flow_tables(region: str, *tables: str) -> None:
    """The flow's tables as the reference pipeline keys them (sensorId + timestamp), in moto."""
    ddb = boto3.client("dynamodb", region_name=region)
    for table in tables:
        ddb.create_table(
            TableName=table,
            KeySchema=[
                {"AttributeName": "sensorId", "KeyType": "HASH"},
                {"AttributeName": "timestamp", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "sensorId", "AttributeType": "S"},
                {"AttributeName": "timestamp", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )


class _HeaderLogger(BaseHTTPRequestHandler):
    server: HeaderListener

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _any(self) -> None:
        self.server.seen.append({k.lower(): v for k, v in self.headers.items()})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _any


class HeaderListener(ThreadingHTTPServer):
    """A loopback HTTP server that answers `{}` and keeps every request's headers (names lower-cased):
    the attacker's listener of issue 16, to prove signed requests and tokens never reach it."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HeaderLogger)
        self.seen: list[dict[str, str]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextlib.contextmanager
def header_listener() -> Iterator[HeaderListener]:
    server = HeaderListener()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
