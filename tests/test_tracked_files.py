"""Every file the tests and the package read is in the repository: a file git ignores passes here
and fails on CI's fresh clone (an intent fixture under an ignored `cfn-outputs/` folder once did)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CACHES = ("__pycache__", ".pyc", ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache")


@pytest.mark.sandbox  # runs git in a subprocess
def test_nothing_the_tests_or_the_package_read_is_ignored_by_git() -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: nothing to compare with what a fresh clone holds")
    listed = subprocess.run(
        [
            "git",
            "ls-files",
            "--others",
            "--ignored",
            "--exclude-standard",
            "--",
            "fixtures",
            "tests",
            "suites",
            "verify",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    ignored = [path for path in listed if not any(cache in path for cache in CACHES)]
    assert ignored == [], f"ignored by git, so missing from a fresh clone: {ignored}"
