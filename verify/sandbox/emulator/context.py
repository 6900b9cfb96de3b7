"""What every sandbox stack receives and returns, so the manager can compose them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verify.sandbox.emulator.server import Emulator
from verify.sandbox.emulator.visibility import VisibilityLog

# One boto3 session for every sandbox client: a session per client re-reads botocore's endpoint and
# service models each time (~0.1 s a client). Creating clients from one session is not thread-safe.
_SESSION: list[Any] = []
_SESSION_LOCK = threading.Lock()

ACCOUNT_ID = "123456789012"
ACCESS_KEY_ID = "AKIASANDBOXTESTKEY01"
SECRET_ACCESS_KEY = "sandbox-secret-access-key-not-a-real-one"


@dataclass
class StackContext:
    emulator: Emulator
    region: str
    suffix: str  # environment suffix carried by every name, e.g. "dev"
    faults: frozenset[str]
    workdir: Path  # private temporary directory of this sandbox; removed on stop
    latency: str | None = None  # None (fast) or "aws" (realistic delays)
    account_id: str = ACCOUNT_ID
    grow: int | None = None  # the pipeline names this many resources in all (benchmarks' stack sizes)
    visibility: VisibilityLog | None = None  # when each signal became readable, if asked for

    def client(self, service: str) -> Any:
        """A boto3 client aimed at the emulator, with the sandbox's fixed test credentials."""
        import boto3

        with _SESSION_LOCK:
            if not _SESSION:
                from verify.aws.client import share_event_names

                share_event_names()  # a fault switch makes every client again
                _SESSION.append(boto3.session.Session())
            client = _SESSION[0].client(
                service,
                region_name=self.region,
                endpoint_url=self.emulator.endpoint_url,
                aws_access_key_id=ACCESS_KEY_ID,
                aws_secret_access_key=SECRET_ACCESS_KEY,
            )
        return self.emulator.connect(client)


@dataclass
class StackParts:
    """A provisioned stack: its outputs (as a deploy would write them) and how to stop it."""

    name: str
    outputs: dict[str, Any]
    stops: list[Callable[[], None]] = field(default_factory=list)
    # e.g. "redis-server not installed (...)"
    notes: list[str] = field(default_factory=list)
    # service ("rds", "elasticache") -> why no real server stands behind its endpoint
    missing: dict[str, str] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)  # what runs where, for `sandbox status`

    def stop(self) -> None:
        for stop in reversed(self.stops):
            stop()
