"""The stop-signal handler the CLI installs around a run: one KeyboardInterrupt, then patience."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


_STUCK = """
import sys, threading
from verify.signals import stop_signals_interrupt
with stop_signals_interrupt(watchdog_s=float(sys.argv[1])):
    try:
        print("ready", flush=True)
        threading.Event().wait(60)
    except KeyboardInterrupt:
        if sys.argv[2] == "hang":
            threading.Event().wait(60)  # the bug the watchdog exists for: a clean-up that never ends
import time
time.sleep(float(sys.argv[1]) * 1.5)  # past the watchdog's time: it must have stood down
print("ended in time", flush=True)
sys.exit(7)
"""


def _stopped(tmp_path: Path, watchdog_s: str, mode: str) -> tuple[int, str, float]:
    script = tmp_path / "stuck.py"
    script.write_text(_STUCK, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), watchdog_s, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return proc.returncode, out.decode(errors="replace"), time.monotonic() - sent


@pytest.mark.sandbox  # a subprocess
def test_a_stop_that_hangs_is_ended_by_the_watchdog_which_says_where(tmp_path: Path) -> None:
    code, out, took = _stopped(tmp_path, "1.0", "hang")
    assert code == 130, out
    assert 0.9 <= took < 8, took
    assert "did not end within 1 s of the stop signal" in out, out
    assert "Traceback" not in out, out
    dumps = list(tmp_path.glob("verify-stop-*.txt"))
    assert len(dumps) == 1 and str(dumps[0]) in out, (dumps, out)
    assert "stuck.py" in dumps[0].read_text(encoding="utf-8")  # where the main thread was


@pytest.mark.sandbox  # a subprocess
def test_a_stop_that_ends_in_time_is_left_alone_by_the_watchdog(tmp_path: Path) -> None:
    code, out, _ = _stopped(tmp_path, "1.0", "clean")
    assert code == 7 and "ended in time" in out, out
    assert not list(tmp_path.glob("verify-stop-*.txt"))
