"""The stop-signal handler the CLI installs around a run: one KeyboardInterrupt, then patience."""

from __future__ import annotations

import os
import signal

import pytest

from verify.signals import stop_signals_interrupt


def test_first_sigterm_interrupts_a_second_waits_and_handlers_come_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with stop_signals_interrupt() as received:
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0)  # give the handler its chance to run
        # Clean-up time: a second signal must not cut it short.
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        assert received == [signal.SIGTERM, signal.SIGINT, signal.SIGTERM]
    assert "still removing test data" in capsys.readouterr().err
    assert {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)} == before
