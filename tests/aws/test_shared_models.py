"""Service models are parsed once per process and search path, not once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from verify.aws.client import Aws


def _loader(aws: Aws) -> object:
    return aws.session._session.get_component("data_loader")


def test_a_second_session_reuses_the_models_the_first_one_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    first = Aws("us-east-1")
    first.client("dynamodb")
    second = Aws("us-east-1")
    assert _loader(second) is _loader(first)
    assert second.session._loader is _loader(first)  # boto3's own reference too (resource models)
    # Nothing is read from disk again: the parsed model comes from the shared loader's cache.
    loader = _loader(second)
    reads: list[str] = []
    file_loader = loader.file_loader  # type: ignore[attr-defined]
    original = file_loader.load_file
    monkeypatch.setattr(file_loader, "load_file", lambda path: reads.append(path) or original(path))
    second.client("dynamodb")
    assert reads == []


def test_a_session_with_other_search_paths_gets_its_own_loader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    default = Aws("us-east-1")
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))  # a user's own models (botocore's documented knob)
    custom = Aws("us-east-1")
    assert _loader(custom) is not _loader(default)
    assert str(tmp_path) in [str(p) for p in _loader(custom).search_paths]  # type: ignore[attr-defined]


def test_clients_share_their_event_names_and_events_still_reach_their_handlers() -> None:
    """A session's clients share one cache of botocore's event-name aliasing (worked out per new
    client before), and what an event reaches is unchanged: an alias still names the same event."""
    aws = Aws("us-east-1")
    sqs, sns = aws.client("sqs"), aws.client("sns")
    names = sqs.meta.events._alias_name_cache
    assert names is sns.meta.events._alias_name_cache and names  # filled by the clients' registrations
    seen: list[str] = []
    # botocore's alias table renames an event's `apigateway` part to `api-gateway`
    sqs.meta.events.register("verify-test.apigateway", lambda **_: seen.append("called"))
    sns.meta.events.emit("verify-test.api-gateway")  # another client: its own handlers only
    sqs.meta.events.emit("verify-test.api-gateway")
    assert seen == ["called"]
    assert names["verify-test.apigateway"] == "verify-test.api-gateway"


def test_the_shared_names_are_the_ones_botocore_works_out() -> None:
    from botocore.hooks import EventAliaser, HierarchicalEmitter

    aws = Aws("us-east-1")
    for service in ("sqs", "apigateway", "dynamodb"):
        aws.client(service).meta.events.emit(f"verify-test.{service}.Op")
    names = aws.client("sqs").meta.events._alias_name_cache
    fresh = EventAliaser(HierarchicalEmitter())  # botocore's own, on an empty cache of its own
    assert fresh._alias_name_cache is not names
    assert {name: fresh._alias_event_name(name) for name in list(names)} == names
