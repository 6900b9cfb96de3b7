"""The sandbox tests' shared fixture; the helpers themselves live in tests/helpers/sandbox.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.sandbox import Stack, spawn_stack


@pytest.fixture(scope="session")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A child process, not threads of this one: moto's state is per process, and this sandbox lives as
    # long as the test worker. Any later test of the worker that enters `mock_aws()` (the `aws_mock`
    # fixture) wipes that state, and in-process it wiped this sandbox's tables under the tests that
    # came after (3 failures on a CI run, when work stealing put such a test in between).
    with spawn_stack(tmp_path_factory.mktemp("healthy")) as handle:
        yield Stack(handle)
