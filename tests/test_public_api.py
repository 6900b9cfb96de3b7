"""The public API: an explicit `__all__` that resolves, and suites that import nothing else.
(Which way imports point inside verify/ is tests/test_architecture.py's.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import verify

ROOT = Path(verify.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_public_api_is_explicit_and_resolves() -> None:
    expected = {
        "Aws", "AwsAccessError", "Category", "CheckFailed", "CheckRecorder", "CheckResult", "Config",
        "ConfigError", "Flow", "HttpResult", "Inventory", "NotApplicable", "NotYet", "Output", "Outputs",
        "OutputsError", "Polled", "ReadOnlyViolation", "Resource", "RunSummary", "Severity", "SignedHttp",
        "Status", "UsageError", "Verdict", "VerifyError", "VerifySession", "Waiter", "__version__",
        "aws_errors", "eventually", "mark", "probes",
    }  # fmt: skip
    assert set(verify.__all__) == expected
    for name in verify.__all__:
        assert getattr(verify, name) is not None, name
    with pytest.raises(AttributeError):
        _ = verify.no_such_thing  # type: ignore[attr-defined]


def test_suites_use_only_the_public_api() -> None:
    suites = ROOT.parent / "suites"
    for path in suites.glob("*.py"):
        for imported in _imports(path):
            assert imported == "verify" or not imported.startswith("verify"), (
                f"{path.name} imports {imported}: suites use `from verify import ...` only"
            )
