"""Call counting: one count per API call (botocore's `before-call`, not per retry), for benchmarks
and the summary's `aws_calls`."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class CallCounter:
    """Calls so far, keyed like IAM actions (`dynamodb:DescribeTable`); safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()

    def count(self, model: Any, **_: Any) -> None:
        """botocore `before-call` handler."""
        name = f"{model.service_model.service_name}:{model.name}"
        with self._lock:
            self._calls[name] += 1

    def total(self) -> int:
        with self._lock:
            return sum(self._calls.values())

    def by_operation(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)
