"""Clients whose named methods return canned answers (or raise), counting every call: for the
discovery tests' bounds, paging and errors, where moto cannot be made to answer so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class StubClient:
    """A boto3-like client of `service`: each operation in `answers` is a method; every call is
    appended to `calls` as `service.operation`; any other operation does not exist."""

    def __init__(self, service: str, calls: list[str], answers: dict[str, Callable[..., Any]]) -> None:
        self._service, self._calls, self._answers = service, calls, answers

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        if operation not in self._answers:
            raise AttributeError(operation)

        def call(**params: Any) -> Any:
            self._calls.append(f"{self._service}.{operation}")
            return self._answers[operation](**params)

        return call


def stub_clients(calls: list[str], answers: dict[str, dict[str, Callable[..., Any]]]) -> Callable[[str], Any]:
    """A client factory (`service -> client`) over `answers`, keyed by service then operation."""
    return lambda service: StubClient(service, calls, answers.get(service, {}))
