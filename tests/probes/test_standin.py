"""The sandbox's word that no server stands behind an endpoint: heard only for loopback hosts, and
under the same environment name the sandbox's manager writes."""

from __future__ import annotations

import json

import pytest

from verify.errors import NotApplicable
from verify.probes import standin
from verify.sandbox import manager


def test_the_manager_and_the_probe_agree_on_the_name() -> None:
    assert manager.MISSING_ENV == standin.MISSING_ENV


def test_a_missing_server_on_loopback_is_a_skip_naming_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(standin.MISSING_ENV, json.dumps({"redis": "no redis-server on this machine"}))
    with pytest.raises(NotApplicable, match="no redis-server"):
        standin.skip_if_no_server("redis", "127.0.0.1")


def test_a_real_host_is_never_skipped_on_the_sandbox_s_word(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(standin.MISSING_ENV, json.dumps({"redis": "no redis-server on this machine"}))
    standin.skip_if_no_server("redis", "cache.abc123.use1.cache.amazonaws.com")
    assert standin.missing_server("postgres", "127.0.0.1") is None
