"""docs/reliability.md names a test for every guarantee: every test it names must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_the_document_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?", text)
    assert len(named) >= 10
    for path, function in named:
        assert (ROOT / path).is_file(), path
        if function:
            assert function in _tests_in(ROOT / path), f"{path}::{function}"
    for short in re.findall(r"`(test_\w+\.py)::(\w+)", text):
        matches = list((ROOT / "tests").rglob(short[0]))
        # A short name may match files in several folders: one of them must hold the test.
        assert any(short[1] in _tests_in(m) for m in matches), short


def test_every_reliability_test_module_is_in_the_document() -> None:
    text = DOC.read_text(encoding="utf-8")
    for module in (ROOT / "tests" / "reliability").glob("test_*.py"):
        if module.name != "test_docs.py":
            assert module.name in text, f"{module.name} proves something docs/reliability.md does not list"
