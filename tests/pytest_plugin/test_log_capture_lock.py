"""While checks run ahead in threads, pytest's log capture must not iterate logging's registry of
loggers while a thread adds to it: under load, the main thread's iteration raised "dictionary changed
size during iteration" and a healthy stack's check became an error (or the next check's set-up
"previous item was not torn down properly").

The interleaving is made deterministic: a non-propagating logger's `addHandler`, which pytest calls
in the middle of that iteration, starts a thread that meets a new logger and waits for it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import _pytest.logging
import pytest

from verify.pytest_plugin.plugin import capture_logs_under_logging_lock

NEW_LOGGER = "verify-test.met-late"


class _MeetsALoggerMidIteration(logging.Logger):
    """Stands for a check's thread: while pytest attaches its handler to this logger, another
    thread meets a logger nobody has asked for yet (a module imported late, say)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.propagate = False
        self.armed = False  # pytest's own capture of this test attaches here too: not that one
        self.thread: threading.Thread | None = None

    def addHandler(self, hdlr: logging.Handler) -> None:
        super().addHandler(hdlr)
        if self.armed and self.thread is None:
            self.thread = threading.Thread(target=logging.getLogger, args=(NEW_LOGGER,), daemon=True)
            self.thread.start()
            # Unlocked, the thread adds its logger now, in the middle of pytest's iteration; locked,
            # it waits for the lock until pytest is done with the registry, and this wait times out.
            self.thread.join(0.5)


@pytest.fixture
def planted() -> Iterator[_MeetsALoggerMidIteration]:
    registry = logging.Logger.manager.loggerDict
    logger = _MeetsALoggerMidIteration("verify-test.planted")
    registry[logger.name] = logger
    try:
        yield logger
    finally:
        registry.pop(logger.name, None)
        registry.pop(NEW_LOGGER, None)


def test_capture_attaches_while_a_thread_meets_a_new_logger(planted: _MeetsALoggerMidIteration) -> None:
    original = _pytest.logging.catching_logs.__enter__
    undo = capture_logs_under_logging_lock()
    try:
        capture = _pytest.logging.catching_logs(logging.NullHandler())
        planted.armed = True
        with capture:  # unlocked: RuntimeError: dictionary changed size during iteration
            attached = capture.handler in planted.handlers
        if not attached:
            # pytest 9.0 attaches its capture to the root logger alone (9.2 also to each logger that
            # does not propagate, iterating them): no iteration, no race.
            pytest.skip(f"pytest {pytest.__version__} does not attach its log capture to each logger")
        assert planted.thread is not None
        planted.thread.join(5)
        assert NEW_LOGGER in logging.Logger.manager.loggerDict  # the thread got its logger after all
    finally:
        undo()
    assert _pytest.logging.catching_logs.__enter__ is original
