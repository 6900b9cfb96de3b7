"""ARCHITECTURE.md's rule, enforced: an import inside verify/ may only point down the layers, and
nothing in verify/ imports suites/, tests/ or fixtures/. Plus a guard on the public `__all__`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import verify

ROOT = Path(verify.__file__).resolve().parent

# module (dotted, relative to verify) or package prefix -> layer; higher may import lower or equal.
LAYERS: dict[str, int] = {
    "errors": 1,
    "model": 1,
    "polling": 2,
    "engine.sharding": 2,
    "signals": 2,
    "escape": 2,
    "stack.outputs": 3,
    "stack.values": 3,
    "stack.live": 3,
    "stack.inventory": 3,
    "stack.arns": 3,
    "stack.key_rules": 3,
    "config.settings": 3,
    "aws.client": 3,
    "aws.snapshot": 3,
    "aws.http": 3,
    "redact": 3,
    "stack.several": 3,
    "probes": 4,
    "scenario.flow": 4,
    "scenario.targets": 4,
    "scenario.payload": 4,
    "config.initfile": 4,
    "engine.evidence": 4,
    "engine.session": 4,
    "engine.ahead": 4,
    "pytest_plugin.plugin": 5,
    "pytest_plugin.ahead": 5,
    "engine.direct": 5,
    "pytest_plugin.results": 5,
    "cli.catalogue": 5,
    "report": 5,
    "sandbox": 5,
    "cli.main": 6,
    "cli.reports": 6,
    "stack": 3,
    "aws": 3,
    "config": 3,
    "scenario": 4,
    "engine": 4,
    "pytest_plugin": 5,
    "cli": 6,
}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        layer = LAYERS.get(".".join(parts[:n]))
        if layer is not None:
            return layer
    return None


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    own = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    own_layer = _layer(own)
    assert own_layer is not None, f"verify/{own} is in no layer: add it to ARCHITECTURE.md and LAYERS"
    for imported in _imports(path):
        top = imported.split(".")[0]
        assert top not in ("tests", "fixtures"), f"verify/{own} imports {imported}"
        if top == "suites":
            # Only results (check ids) and the CLI may *locate* the shipped suites (never import their checks).
            assert own in ("pytest_plugin.results", "cli.main") and imported == "suites", (
                f"verify/{own} imports {imported}"
            )
            continue
        if top != "verify" or imported == "verify":
            continue
        target = _layer(imported.removeprefix("verify."))
        assert target is not None, f"verify/{own} imports {imported}, which is in no layer"
        same_package = own.split(".")[0] == imported.removeprefix("verify.").split(".")[0]
        assert target <= own_layer or same_package, (
            f"verify/{own} (layer {own_layer}) imports {imported} (layer {target}): imports must point down"
        )


def test_public_api_is_explicit_and_resolves() -> None:
    expected = {
        "Aws", "AwsAccessError", "Category", "CheckFailed", "CheckRecorder", "CheckResult", "Config",
        "ConfigError", "Flow", "HttpResult", "Inventory", "NotApplicable", "NotYet", "Output", "Outputs",
        "OutputsError", "Polled", "ReadOnlyViolation", "Resource", "RunSummary", "Severity", "SignedHttp",
        "Status", "UsageError", "Verdict", "VerifyError", "VerifySession", "Waiter", "__version__",
        "aws_errors", "eventually", "probes",
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
