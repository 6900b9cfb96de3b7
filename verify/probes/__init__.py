"""One module per AWS service: ask AWS, return facts, or raise CheckFailed. Never import pytest.

Submodules load on first use (`verify.probes.dynamodb`), so importing the package costs nothing.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def __getattr__(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"verify.probes.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"verify.probes.{name}":
            raise AttributeError(f"verify.probes has no module {name!r}") from None
        raise
