"""One version: the leaf module the harness reports is the one the distribution is built with."""

from __future__ import annotations

import tomllib
from pathlib import Path

import verify
from verify.version import __version__


def test_the_version_module_matches_the_distribution() -> None:
    pyproject = tomllib.loads(
        (Path(verify.__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert __version__ == pyproject["project"]["version"]
    assert verify.__version__ == __version__
