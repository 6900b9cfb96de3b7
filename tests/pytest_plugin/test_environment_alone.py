"""While checks run ahead in threads, pytest must not set and delete PYTEST_CURRENT_TEST: a thread
reading os.environ (proxy look-ups in requests and botocore) met a delete and the check errored with
"KeyError: 'PYTEST_CURRENT_TEST'" on CI."""

from __future__ import annotations

import os

import _pytest.runner
import pytest

from verify.pytest_plugin.plugin import leave_the_environment_alone


def test_pytest_leaves_the_environment_alone_until_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    original = _pytest.runner._update_current_test_var
    undo = leave_the_environment_alone()
    try:
        _pytest.runner._update_current_test_var(object(), "setup")  # type: ignore[arg-type]
        assert "PYTEST_CURRENT_TEST" not in os.environ
        _pytest.runner._update_current_test_var(object(), None)  # type: ignore[arg-type]  # no KeyError
    finally:
        undo()
    assert _pytest.runner._update_current_test_var is original
