"""The report directory's files, written so that nothing planted in it is followed.

A pull request controls what is committed under the default `reports/`: a symlink
`reports/allure-results -> ~/` once made a run delete every file in the target, and
`reports/.summary.md.tmp -> somewhere` made it overwrite the target. So:

- every report file is written to a fresh temporary file (created with O_EXCL and O_NOFOLLOW, by
  `tempfile.mkstemp`) in the real directory, then renamed over its name: a symlink of that name is
  replaced itself, its target never opened;
- a directory verify clears (allure-results) is first made a real directory (a symlink of that name is
  removed, not followed), and only the regular files and links directly inside it are removed;
- a report directory that cannot hold reports (a file, a path under a file, an unwritable place) is
  refused with one sentence before anything is verified (and before anything is created).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from verify.errors import UsageError

ALLURE_DIR = "allure-results"


def check_report_dir(path: Path, option: str = "--report-dir", *, allure: bool = True) -> None:
    """Refuse, with one sentence, a report directory that cannot hold reports; create nothing (bad
    input elsewhere must still leave no report directory behind).

    Writable means a file can be created in it, or -- while it does not exist yet -- in its nearest
    existing parent (a probe file, removed at once). The directory itself may be a symlink to a
    directory (a CI artifacts mount): the user named it. A symlinked `allure-results` inside it is
    removed, to be recreated as a real directory (see the module docstring).
    """
    existing = _refuse_file_in_the_way(path, option)
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".verify-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        what = "is not writable" if existing == path else f"cannot be created in {existing}"
        raise UsageError(
            f"{option} {path} {what} ({exc.strerror or exc}); pass a directory you can write to"
        ) from None
    if not allure or existing != path:
        return
    results = path / ALLURE_DIR
    if results.is_symlink():
        _unlink(results, option)
    elif results.exists() and not results.is_dir():
        raise UsageError(
            f"{option} {path}: {results} is a file, not the directory of Allure results; remove it or "
            "pass another report directory"
        )


def _refuse_file_in_the_way(path: Path, option: str) -> Path:
    """The nearest existing directory of `path` (itself when it exists); one sentence when a file is
    in the way."""
    for part in (path, *path.parents):
        try:
            info = part.stat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise UsageError(f"{option} {path} cannot be used ({exc.strerror or exc})") from None
        if stat.S_ISDIR(info.st_mode):
            return part
        if part == path:
            raise UsageError(f"{option} {path} is a file, not a directory; pass a directory for the reports")
        raise UsageError(
            f"{option} {path} lies under {part}, which is a file, not a directory; pass a directory for the reports"
        )
    return Path(path.anchor or ".")


def write_text(path: Path, text: str) -> None:
    """Write `path` atomically (readers never see half a report) without following a symlink there."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"report {path} cannot be written ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)  # replaces a symlink named `path` itself, never its target
    except OSError as exc:
        _discard(tmp)
        raise UsageError(f"report {path} cannot be written ({exc.strerror or exc})") from None


def reset_dir(path: Path) -> None:
    """Make `path` an empty real directory of verify's: a symlink there is removed (not followed),
    and only the entries directly inside are removed, never through a link."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        _unlink(path, "report directory")
    path.mkdir(parents=True, exist_ok=True)
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_symlink() or entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)


def real_dir(path: Path) -> Path:
    """`path` as a real directory (a symlink of that name replaced), created when missing."""
    if path.is_symlink():
        _unlink(path, "report directory")
    path.mkdir(parents=True, exist_ok=True)
    return path


def regular_files(directory: Path, pattern: str = "*") -> list[Path]:
    """The regular files directly in `directory` matching `pattern`; links are never followed."""
    return sorted(p for p in directory.glob(pattern) if stat.S_ISREG(os.lstat(p).st_mode))


def _unlink(path: Path, option: str) -> None:
    try:
        path.unlink()
    except OSError as exc:
        raise UsageError(f"{option}: {path} cannot be replaced ({exc.strerror or exc})") from None


def _discard(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)
