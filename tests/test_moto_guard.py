"""`aws_mock` refuses to run beside a sandbox started in this process: `mock_aws()` would wipe the
sandbox's moto state under whichever tests come after (tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conftest import _refuse_beside_a_live_sandbox
from verify.sandbox.manager import _LIVE, _LIVE_LOCK


def test_a_live_in_process_sandbox_makes_aws_mock_fail_with_the_reason() -> None:
    key = ("us-east-1", "guard-test")
    with _LIVE_LOCK:
        _LIVE.add(key)
    try:
        with pytest.raises(pytest.fail.Exception, match="mock_aws\\(\\) would wipe its state"):
            _refuse_beside_a_live_sandbox()
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(key)


def test_without_a_live_sandbox_aws_mock_is_allowed() -> None:
    with _LIVE_LOCK:
        assert not _LIVE
    _refuse_beside_a_live_sandbox()  # no failure
