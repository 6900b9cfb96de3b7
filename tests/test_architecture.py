"""ARCHITECTURE.md's picture, checked against the import graph the code actually has.

The picture is a `layers` block per package: one line per floor, top floor first; a line may hold
several units (a module or a sub-package) only when none of them imports another. The rules:
- every unit of the package is on exactly one floor, and every unit named exists;
- an import between two units points strictly down (same-floor imports are wrong-way imports too);
- no module anywhere in verify/ sits in an import cycle, function-level imports included.
So the picture cannot drift from the code: moving a module, or adding an upward import, fails here
with a sentence naming the import.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import verify

ROOT = Path(verify.__file__).resolve().parent
ARCHITECTURE = ROOT.parent / "ARCHITECTURE.md"
# The facade (`verify/__init__.py`) re-exports names from every floor for suites and users; no
# module inside verify/ imports it, which test_nothing_inside_imports_the_facade holds.
FACADE = "verify"


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__")


def _all_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


MODULES = _all_modules()


def _imported(path: Path, name: str) -> Iterator[str]:
    """verify modules that `path` imports, at any depth in the file (function-level ones too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            candidates = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for candidate in candidates:
            # `from verify.x import name` names module verify.x; `import verify.x.y` names verify.x.y.
            while candidate and candidate not in MODULES:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                yield candidate


GRAPH: dict[str, set[str]] = {name: set(_imported(path, name)) for name, path in MODULES.items()}


def _blocks() -> dict[str, list[list[str]]]:
    """`layers <package>` blocks of ARCHITECTURE.md: package -> floors, top first."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    blocks: dict[str, list[list[str]]] = {}
    for match in re.finditer(r"^```layers (\S+)\n(.*?)^```", text, re.M | re.S):
        floors = []
        for line in match.group(2).splitlines():
            units = line.split("#", 1)[0].split()
            if units:
                floors.append([u.rstrip("/").removesuffix(".py") for u in units])
        blocks[match.group(1)] = floors
    return blocks


BLOCKS = _blocks()


def _units(package: str) -> set[str]:
    """The direct children of a package: its modules and sub-packages (not its own __init__)."""
    prefix = f"{package}."
    return {name[len(prefix) :].split(".")[0] for name in MODULES if name.startswith(prefix)}


def _unit_of(module: str, package: str) -> str | None:
    prefix = f"{package}."
    return module[len(prefix) :].split(".")[0] if module.startswith(prefix) else None


def test_the_picture_has_a_block_for_the_package_itself() -> None:
    assert FACADE in BLOCKS, "ARCHITECTURE.md has no ```layers verify``` block"
    assert len(BLOCKS) >= 2, "expected the sandbox's own block as well"


@pytest.mark.parametrize("package", sorted(BLOCKS))
def test_every_unit_is_drawn_once_and_every_drawn_unit_exists(package: str) -> None:
    drawn = [unit for floor in BLOCKS[package] for unit in floor]
    twice = sorted({u for u in drawn if drawn.count(u) > 1})
    assert not twice, f"ARCHITECTURE.md draws {twice} more than once in the `{package}` block"
    actual = _units(package)
    assert not (actual - set(drawn)), f"{package}: {sorted(actual - set(drawn))} exist but are not drawn"
    assert not (set(drawn) - actual), f"{package}: {sorted(set(drawn) - actual)} are drawn but do not exist"


@pytest.mark.parametrize("package", sorted(BLOCKS))
def test_imports_between_units_point_strictly_down(package: str) -> None:
    floor_of = {unit: i for i, floor in enumerate(BLOCKS[package]) for unit in floor}  # 0 = top
    wrong: list[str] = []
    for module, targets in GRAPH.items():
        own = _unit_of(module, package)
        if own is None or own not in floor_of:
            continue
        for target in targets:
            other = _unit_of(target, package)
            if other is None or other == own or other not in floor_of:
                continue
            if floor_of[other] <= floor_of[own]:
                how = "the same floor" if floor_of[other] == floor_of[own] else "a higher floor"
                wrong.append(f"{module} imports {target}, which ARCHITECTURE.md draws on {how}")
    assert not wrong, "\n".join(sorted(wrong))


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(GRAPH.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def test_no_module_is_in_an_import_cycle() -> None:
    # A package's __init__ that lazily re-exports its own modules is not a cycle worth the name,
    # but nothing here needs one: so the rule has no exception.
    assert not _cycles(), f"import cycles: {_cycles()}"


def test_nothing_inside_imports_the_facade() -> None:
    offenders = sorted(m for m, targets in GRAPH.items() if FACADE in targets and m != FACADE)
    assert not offenders, f"{offenders} import `verify` itself; import the module that defines the name"


def test_the_rules_catch_a_wrong_way_import() -> None:
    # The rule must be able to fail: the lowest floor importing the highest is named as wrong.
    floors = BLOCKS[FACADE]
    top, bottom = floors[0][0], floors[-1][0]
    GRAPH.setdefault(f"verify.{bottom}", set()).add(f"verify.{top}")
    try:
        with pytest.raises(AssertionError, match="a higher floor"):
            test_imports_between_units_point_strictly_down(FACADE)
    finally:
        GRAPH[f"verify.{bottom}"].discard(f"verify.{top}")


def test_nothing_inside_imports_the_suites_the_tests_or_the_fixtures() -> None:
    # The suites are located (a path handed to pytest or to the runner), never imported for their
    # checks; tests and fixtures are the project's own, never the harness's.
    wrong = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            for module in modules:
                top = module.split(".")[0]
                if top in ("tests", "fixtures") or (top == "suites" and module != "suites"):
                    wrong.append(f"{name} imports {module}")
    assert not wrong, wrong
