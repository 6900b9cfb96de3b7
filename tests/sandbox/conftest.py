"""The sandbox tests' shared fixture; the helpers themselves live in tests/helpers/sandbox.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.sandbox import Stack, start_stack


@pytest.fixture(scope="session")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with start_stack(tmp_path_factory.mktemp("healthy")) as handle:
        yield Stack(handle)
