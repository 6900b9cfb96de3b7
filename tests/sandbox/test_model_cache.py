"""The sandbox child's shared botocore data (verify.sandbox.emulator.model_cache): the same documents
as botocore's own loading, each file decoded once per process however many sessions ask.

In process and fast: the caching wrappers are put on botocore's classes with monkeypatch (undone after
each test), never through share_botocore_data(), which would change this test process for good."""

from __future__ import annotations

from typing import Any

import botocore.loaders
import botocore.session
import pytest

from verify.sandbox.emulator import model_cache


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files botocore decodes while the test runs, with the cache in place."""
    seen: list[str] = []
    original = botocore.loaders.JSONFileLoader.load_file

    def counting(self: Any, file_path: str) -> Any:
        seen.append(file_path)
        return original(self, file_path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", model_cache._cached_load_file(counting))
    monkeypatch.setattr(
        botocore.loaders.Loader,
        "list_available_services",
        model_cache._cached_list_services(botocore.loaders.Loader.list_available_services),
    )
    return seen


def test_this_botocore_has_the_two_places_the_cache_goes() -> None:
    # Otherwise share_botocore_data() leaves botocore alone and the sandbox silently starts slower.
    assert callable(getattr(botocore.loaders.JSONFileLoader, "load_file", None))
    assert callable(getattr(botocore.loaders.Loader, "list_available_services", None))


def test_sessions_share_decodes_and_see_what_botocore_alone_gives(decodes: list[str]) -> None:
    # rds has sdk-extras, the one document botocore writes into after loading it.
    first = botocore.session.Session().get_service_data("rds")
    decoded_once = len(decodes)
    second = botocore.session.Session().get_service_data("rds")
    assert len(decodes) == decoded_once, "a second session decoded its files again"
    assert decoded_once >= 1 and any("rds" in path for path in decodes)
    assert second == first
    regions = botocore.session.Session().get_available_regions("sqs")
    assert "us-east-1" in regions


def test_cached_documents_equal_a_fresh_decode(decodes: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    cached = botocore.session.Session().get_service_data("rds")
    botocore.session.Session().get_service_data("rds")  # sdk-extras merged into the shared one again
    monkeypatch.undo()
    fresh = botocore.session.Session().get_service_data("rds")
    assert cached == fresh


def test_a_missing_file_is_asked_again() -> None:
    answers = iter([None, {"found": True}])
    calls: list[str] = []

    def load(_self: object, path: str) -> Any:
        calls.append(path)
        return next(answers)

    cached = model_cache._cached_load_file(load)
    assert cached(None, "/x") is None
    assert cached(None, "/x") == {"found": True}
    assert cached(None, "/x") == {"found": True}
    assert calls == ["/x", "/x"]


def test_service_lists_are_per_search_path_and_copies() -> None:
    class FakeLoader:
        def __init__(self, paths: list[str]) -> None:
            self.search_paths = paths

    calls: list[tuple[str, ...]] = []

    def list_services(self: FakeLoader, type_name: str) -> list[str]:
        calls.append(tuple(self.search_paths))
        return [f"{type_name}@{p}" for p in self.search_paths]

    cached = model_cache._cached_list_services(list_services)
    one = cached(FakeLoader(["a"]), "service-2")
    one.append("mutated")
    assert cached(FakeLoader(["a"]), "service-2") == ["service-2@a"]
    assert cached(FakeLoader(["a", "b"]), "service-2") == ["service-2@a", "service-2@b"]
    assert calls == [("a",), ("a", "b")]
