"""Work a test session does once, however many xdist workers ask for it.

A module-scoped fixture is set up once per *worker*: when work stealing spreads a module's tests over
three workers, a fixture that starts two sandboxes and runs `verify` against them does it three
times (measured: the report screenshots' runs cost ~10 s of CPU per worker, the sandbox reports'
~7 s). The suite is CPU-bound on two cores, so that repetition was wall time.

`once()` makes a folder of finished artefacts (reports, not live processes: a live sandbox would
die with the worker that started it) the first time any worker asks, under a lock file in the
folder every worker of the session shares; a worker that asks meanwhile waits, then reads the same
folder. Only a make that returned is marked done: a make that raised is made again, from an empty
folder, by the next worker that asks, so its failure is reported there too.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

DONE = ".made"


def session_root(factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of the whole session: a worker's own is a child of it (`popen-gwN`)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder `make` filled for this session, made now if no worker has made it yet."""
    root = session_root(factory)
    folder = root / f"once-{name}"
    with open(root / f"once-{name}.lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes
        if not (folder / DONE).is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / DONE).touch()
    return folder
