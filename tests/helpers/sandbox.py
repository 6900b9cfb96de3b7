"""Shared by the sandbox tests: drive sandboxes from outside, as the harness does: outputs file, boto3 on the endpoint, signed HTTP."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import requests
from requests_aws4auth import AWS4Auth

from verify.sandbox import SandboxHandle, spawn_sandbox, start_sandbox

_suffixes = itertools.count()


class Stack:
    """A running sandbox seen from outside."""

    def __init__(self, handle: SandboxHandle) -> None:
        self.handle = handle
        self.outputs: dict[str, Any] = json.loads(handle.outputs_path.read_text())
        self.api = str(self.outputs["ApiEndpoint"])
        self.auth = AWS4Auth(
            handle.env["AWS_ACCESS_KEY_ID"], handle.env["AWS_SECRET_ACCESS_KEY"], handle.region, "execute-api"
        )
        self.http = requests.Session()
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            env = self.handle.env
            self._clients[service] = boto3.session.Session().client(
                service,  # type: ignore[call-overload]
                region_name=env["AWS_REGION"],
                endpoint_url=env["AWS_ENDPOINT_URL"],
                aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            )
        return self._clients[service]

    def ingest(self, payload: Any, *, signed: bool = True) -> requests.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        return self.http.post(
            self.api + "ingest", data=body, headers=headers, auth=self.auth if signed else None
        )

    def query(self, sensor: str) -> requests.Response:
        return self.http.get(self.api + "query", params={"sensorId": sensor}, auth=self.auth)

    def item(self, table_key: str, sensor: str, stamp: str) -> dict[str, Any] | None:
        key = {"sensorId": {"S": sensor}, "timestamp": {"S": stamp}}
        found: dict[str, Any] | None = (
            self.client("dynamodb").get_item(TableName=self.outputs[table_key], Key=key).get("Item")
        )
        return found

    def trace_segments(self, trace_id: str) -> list[dict[str, Any]]:
        traces = self.client("xray").batch_get_traces(TraceIds=[trace_id])["Traces"]
        return [json.loads(s["Document"]) for t in traces for s in t["Segments"]]

    def log_messages(self, group_key: str, needle: str) -> list[str]:
        events = self.client("logs").filter_log_events(logGroupName=self.outputs[group_key])["events"]
        return [e["message"] for e in events if needle in e["message"]]


def reading(**extra: Any) -> dict[str, Any]:
    """A valid reading with a unique sensor id (so tests sharing a sandbox never collide)."""
    return {
        "sensorId": f"sensor-{uuid.uuid4().hex[:12]}",
        "timestamp": "2024-05-01T12:00:00Z",
        "temperature": 21.5,
        **extra,
    }


def wait_until(probe: Callable[[], Any], timeout: float = 5.0, interval: float = 0.1) -> Any:
    """The probe's first truthy answer, or its last (falsy) one when the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(interval)


def _where(tmp: Path) -> dict[str, Any]:
    """A sandbox's own suffix, outputs file and state folder under `tmp`."""
    suffix = f"t{next(_suffixes)}{uuid.uuid4().hex[:4]}"
    return {"suffix": suffix, "outputs_path": tmp / "outputs.json", "state_dir": tmp / "state"}


def start_stack(tmp: Path, faults: tuple[str, ...] = (), **options: Any) -> SandboxHandle:
    """A sandbox in threads of this process (moto's state is this process's)."""
    return start_sandbox(faults=faults, **_where(tmp), **options)


def spawn_stack(tmp: Path, faults: tuple[str, ...] = (), **options: Any) -> SandboxHandle:
    """A sandbox in a child process: for one that outlives its test (see tests/sandbox/conftest.py)."""
    return spawn_sandbox(faults=faults, **_where(tmp), **options)
