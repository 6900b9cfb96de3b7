"""tests/helpers/once.py: a session's shared artefacts are made once, and a failed make is not kept."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.helpers.once import DONE, once, session_root


class Factory:
    """The one method of pytest's TempPathFactory that `once` uses."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def getbasetemp(self) -> Path:
        return self.base


def test_workers_asking_at_once_share_one_make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    made: list[str] = []

    def make(folder: Path) -> None:
        made.append(threading.current_thread().name)
        time.sleep(0.2)  # long enough that the other askers arrive while it runs
        (folder / "report.txt").write_text("ran")

    folders: list[Path] = []
    askers = [
        threading.Thread(
            target=lambda n=n: folders.append(once(Factory(tmp_path / f"popen-gw{n}"), "x", make))
        )
        for n in range(3)
    ]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    assert len(made) == 1, made
    assert folders == [tmp_path / "once-x"] * 3
    assert (tmp_path / "once-x" / "report.txt").read_text() == "ran"
    assert session_root(Factory(tmp_path / "popen-gw0")) == tmp_path  # the workers' shared parent


def test_a_failed_make_is_made_again_from_an_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # no workers: the session's own folder
    factory = Factory(tmp_path)

    def broken(folder: Path) -> None:
        (folder / "half.txt").write_text("half")
        raise AssertionError("the run failed")

    with pytest.raises(AssertionError, match="the run failed"):
        once(factory, "y", broken)
    assert not (tmp_path / "once-y" / DONE).exists()

    seen: list[list[str]] = []

    def good(folder: Path) -> None:
        seen.append(sorted(p.name for p in folder.iterdir()))
        (folder / "whole.txt").write_text("whole")

    assert once(factory, "y", good) == tmp_path / "once-y"
    assert seen == [[]]  # nothing of the failed make was left for the retry to read
    assert once(factory, "y", good) == tmp_path / "once-y"
    assert len(seen) == 1  # made, so not made again
