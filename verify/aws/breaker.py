"""The breaker for dead endpoints: a dead endpoint must not cost every check its full retries.

After a few consecutive tries that could not connect to an endpoint (or that timed out, or got an
HTTP 5xx, on one operation), further tries there fail at once with `EndpointDown`. A run against a
closed port or a hanging operation therefore finishes in seconds, each check still saying (through
`aws_errors`) what it could not reach.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    ProxyConnectionError,
    ReadTimeoutError,
)

from verify.errors import AwsAccessError


class EndpointDown(AwsAccessError):
    """An endpoint (or one operation on it) the breaker gave up on; `aws_errors` adds the resource."""

    def __init__(self, endpoint: str, operation: str, reason: str) -> None:
        self.endpoint, self.operation, self.reason = endpoint, operation, reason
        self.server_error = reason.startswith("HTTP 5")
        super().__init__(f"could not reach {endpoint} for {operation}: {reason}")


# Consecutive failed tries before the breaker opens: enough for botocore's retries to ride out a
# blip, few enough that a dead endpoint costs seconds, not a retry budget per check.
UNREACHABLE_TRIES = 3
TIMED_OUT_TRIES = 2
SERVER_ERROR_TRIES = 3


class Breaker:
    """Counts consecutive failed tries per endpoint (could not connect) and per endpoint+operation
    (read timed out, HTTP 5xx); once open for a key, every further try there fails at once. Never closes
    again within a run: a run is short, and a dead endpoint that comes back halfway would only make
    the report harder to read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: Counter[tuple[str, str]] = Counter()
        self._open: dict[tuple[str, str], str] = {}

    def before_send(self, endpoint: str, event_name: str = "", **_: Any) -> None:
        operation = _operation_of(event_name)
        with self._lock:
            reason = self._open.get((endpoint, "")) or self._open.get((endpoint, operation))
        if reason is not None:
            raise EndpointDown(endpoint, operation, reason)

    def observe(
        self,
        endpoint: str,
        exception: Exception | None = None,
        response_dict: dict[str, Any] | None = None,
        event_name: str = "",
        **_: Any,
    ) -> None:
        operation = _operation_of(event_name)
        status = int((response_dict or {}).get("status_code") or 0)
        if isinstance(exception, EndpointConnectionError | ConnectTimeoutError | ProxyConnectionError):
            self._fail((endpoint, ""), UNREACHABLE_TRIES, f"{type(exception).__name__} on every try")
        elif isinstance(exception, ReadTimeoutError):
            self._fail((endpoint, operation), TIMED_OUT_TRIES, "no answer within the read timeout")
        elif status >= 500:
            self._fail((endpoint, operation), SERVER_ERROR_TRIES, f"HTTP {status} on every try")
        elif exception is None:
            with self._lock:
                self._failures.pop((endpoint, ""), None)
                self._failures.pop((endpoint, operation), None)

    def _fail(self, key: tuple[str, str], limit: int, reason: str) -> None:
        with self._lock:
            self._failures[key] += 1
            if self._failures[key] >= limit:
                self._open.setdefault(key, f"{reason} ({self._failures[key]} tries)")

    def is_open(self, endpoint: str, operation: str = "") -> bool:
        with self._lock:
            return (endpoint, "") in self._open or (endpoint, operation) in self._open


def _operation_of(event_name: str) -> str:
    # "before-send.dynamodb.DescribeTable" -> "dynamodb DescribeTable"
    parts = event_name.split(".")
    return " ".join(parts[1:3]) if len(parts) >= 3 else event_name
