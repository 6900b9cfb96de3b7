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
