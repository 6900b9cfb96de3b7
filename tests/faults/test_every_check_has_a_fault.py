"""Every shipped check can be shown to fail: a sandbox fault breaks it (FAULT_BREAKS), or, where no
sandbox fault can, a named test elsewhere proves its failure (PROVEN_ELSEWHERE, kept minimal).

Fast and sandbox-free: the checks are read from the suites' source (every module-level `def test_*`
of `suites/test_*.py`), so a new check without a fault fails here before any sandbox runs.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from verify.sandbox.faults.catalogue import FAULTS
from verify.sandbox.faults.matrix import FAULT_BREAKS, KNOCK_ONS, PROVEN_ELSEWHERE

ROOT = Path(__file__).resolve().parents[2]


def _module_tests(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    ]


def shipped_checks() -> set[str]:
    return {
        f"suites/{path.name}::{name}"
        for path in sorted((ROOT / "suites").glob("test_*.py"))
        for name in _module_tests(path)
    }


def test_the_suites_are_found() -> None:
    checks = shipped_checks()
    # A broken glob or parse would make "every check has a fault" vacuously true.
    assert len(checks) >= 60, sorted(checks)
    assert "suites/test_flow.py::test_ingest_accepted" in checks


def test_every_shipped_check_has_a_fault_or_a_proof_elsewhere() -> None:
    broken = {check for checks in FAULT_BREAKS.values() for check in checks}
    missing = sorted(shipped_checks() - broken - set(PROVEN_ELSEWHERE))
    assert missing == [], f"checks no sandbox fault breaks and no test proves failing: {missing}"


def test_the_matrix_names_only_checks_that_exist() -> None:
    checks = shipped_checks()
    named = {c for row in (*FAULT_BREAKS.values(), *KNOCK_ONS.values()) for c in row} | set(PROVEN_ELSEWHERE)
    assert sorted(named - checks) == []
    assert set(KNOCK_ONS) <= set(FAULTS)


def test_proven_elsewhere_is_minimal_and_points_at_real_tests() -> None:
    broken = {check for checks in FAULT_BREAKS.values() for check in checks}
    assert sorted(broken & set(PROVEN_ELSEWHERE)) == [], "a check a fault breaks needs no other proof"
    # Never a whole suite: every suite keeps at least one check that a sandbox fault breaks.
    per_suite = Counter(check.split("::", 1)[0] for check in shipped_checks())
    elsewhere = Counter(check.split("::", 1)[0] for check in PROVEN_ELSEWHERE)
    assert [s for s, n in elsewhere.items() if n >= per_suite[s]] == []
    for check, node_id in PROVEN_ELSEWHERE.items():
        path, _, function = node_id.partition("::")
        assert path.startswith("tests/") and function.startswith("test_"), (check, node_id)
        source = ROOT / path
        assert source.is_file(), f"{check}: {path} does not exist"
        assert function in _module_tests(source), f"{check}: {path} has no test {function}"


def test_each_fault_breaks_something_or_is_benign() -> None:
    for name, fault in FAULTS.items():
        assert bool(FAULT_BREAKS.get(name)) == (fault.category != "benign"), name


def test_docs_sandbox_md_lists_every_fault_as_the_catalogue_says() -> None:
    from verify.sandbox.faults.matrix import fault_table_markdown

    docs = (ROOT / "docs" / "sandbox.md").read_text(encoding="utf-8")
    table = docs.split("<!-- fault table: generated -->\n", 1)[-1].split("<!-- /fault table -->", 1)[0]
    assert table == fault_table_markdown(), (
        "docs/sandbox.md's fault table is stale: paste verify.sandbox.faults.matrix.fault_table_markdown()"
    )
    for name in FAULTS:
        assert f"| `{name}` |" in table
