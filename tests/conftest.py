"""Fixtures shared across the test folders: moto in this process, shielded from the developer's AWS setup."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

MOTO_REGION = "us-east-1"


@pytest.fixture
def aws_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inside `mock_aws()` with fake credentials. A profile, session token or endpoint URL (general or
    per service) from the shell would send boto3 past moto, to a real account or a local emulator."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", MOTO_REGION)
    with mock_aws():
        yield


@pytest.fixture
def moto_client(aws_mock: None) -> Callable[[str], Any]:
    """Makes a boto3 client of the named service, answered by moto in MOTO_REGION."""

    def make(service: str) -> Any:
        return boto3.client(service, region_name=MOTO_REGION)  # type: ignore[call-overload]

    return make
