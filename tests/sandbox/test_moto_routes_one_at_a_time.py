"""moto builds a service's URL routes on its first request, in whichever thread serves it, and
werkzeug builds them as Python `ast` trees. CPython 3.11 counts that construction's depth per
interpreter, not per thread: two threads building at once raised "SystemError: AST constructor
recursion depth mismatch", and a discovery step on a healthy stack failed with it under load.
`build_moto_routes_one_at_a_time` makes those builds take turns; routes already built are answered
without waiting."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from verify.sandbox.emulator.server import build_moto_routes_one_at_a_time

# An older moto (5.2.1) builds no per-service router in mock mode (it matches URLs by regular
# expressions): there is nothing to take turns on, and the function leaves such a moto as it is.
routing: Any = pytest.importorskip("moto.core.routing", reason="this moto builds no per-service routers")

SERVICES = ("lambda", "apigateway", "efs")  # rest-json: each builds a werkzeug Map of its own


def _build_all_at_once(monkeypatch: pytest.MonkeyPatch) -> int:
    """Build a router for each service from a thread of its own, all released together; returns how
    many builds were ever in progress at the same moment."""
    active, most = 0, 0
    lock = threading.Lock()
    original = routing.RestRouter.__init__

    def slow_build(self: Any, service_model: Any) -> None:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(0.1)  # long enough for the others to arrive, were they let in
        try:
            original(self, service_model)
        finally:
            with lock:
                active -= 1

    monkeypatch.setattr(routing.RestRouter, "__init__", slow_build)
    routers = [routing.ServiceOperationRouter(routing.get_service_model(name)) for name in SERVICES]
    start = threading.Barrier(len(routers))

    def build(router: Any) -> None:
        start.wait()
        router._get_router("rest-json")

    threads = [threading.Thread(target=build, args=(router,)) for router in routers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert all(r._routers.get("rest-json") is not None for r in routers)  # each got its router
    return most


def test_moto_builds_its_routes_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    build_moto_routes_one_at_a_time()  # tests/conftest.py does it too: idempotent
    assert _build_all_at_once(monkeypatch) == 1


def test_a_router_already_built_does_not_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    build_moto_routes_one_at_a_time()
    router = routing.ServiceOperationRouter(routing.get_service_model("lambda"))
    built = router._get_router("rest-json")
    from verify.sandbox.emulator import server

    with server._AST_BUILDS:  # another thread building: a built router is still answered
        answered: list[Any] = []
        thread = threading.Thread(target=lambda: answered.append(router._get_router("rest-json")))
        thread.start()
        thread.join(2)
    assert answered == [built]
