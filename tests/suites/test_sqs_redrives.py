"""The SQS suite reads which queue redrives where once per run, even when its checks ask at once."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

import suites.test_sqs as suite
from verify import probes


class _Inventory:
    def __init__(self, queues: int) -> None:
        self.queues = [SimpleNamespace(key=f"Q{i}Url", name=f"q{i}") for i in range(queues)]

    def of_kind(self, kind: str) -> list[Any]:
        return self.queues if kind == "sqs_queue" else []


def test_concurrent_checks_read_each_queue_once(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []

    def redrive_targets(client: Any, queues: list[Any]) -> set[str]:
        time.sleep(0.002)  # an AWS call: long enough for every thread to miss the cache at once
        read.extend(q.name for q in queues)
        return {f"arn:{queues[0].name}-dlq"}

    monkeypatch.setattr(probes.sqs, "redrive_targets", redrive_targets)
    aws = SimpleNamespace(client=lambda service: object())
    inventory = _Inventory(queues=20)
    start = threading.Barrier(20)
    answers: list[dict[str, set[str]]] = []

    def check() -> None:
        start.wait()
        answers.append(suite._redrive_targets_by_queue(aws, inventory))  # type: ignore[arg-type]

    threads = [threading.Thread(target=check) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(read) == sorted(q.name for q in inventory.queues)  # 20 reads, not 20 x 20
    assert len(answers) == 20 and all(answer is answers[0] for answer in answers)
    assert answers[0]["Q3Url"] == {"arn:q3-dlq"}
