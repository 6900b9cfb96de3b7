"""The checks catalogue: read from the shipped suites by the engine, cross-checked with the fault
matrix, and docs/checks.md must be what `verify checks list --markdown` prints today."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from verify.cli.catalogue import catalogue_markdown, collect_catalogue
from verify.sandbox.faults.matrix import FAULT_BREAKS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "checks.md"


def test_catalogue_lists_every_check_once_with_its_faults() -> None:
    entries = collect_catalogue()
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids))
    assert all("[" not in i and i.startswith(("suites/test_", "suites/preflight.py::")) for i in ids)
    assert "suites/preflight.py::test_rds_engine_version_offered" in ids  # verify preflight's, listed too
    by_id = {e.id: e for e in entries}
    # Every check the fault matrix names exists, and lists that fault.
    for fault, checks in FAULT_BREAKS.items():
        for check in checks:
            assert check in by_id, f"{fault} names {check}, which no suite defines"
            assert fault in by_id[check].faults
    pitr = by_id["suites/test_dynamodb.py::test_pitr"]
    assert (pitr.service, pitr.category, pitr.faults) == ("dynamodb", "posture", ("pitr_disabled",))
    assert by_id["suites/test_flow.py::test_ingest_accepted"].writes


def test_docs_checks_md_is_current() -> None:
    expected = catalogue_markdown(collect_catalogue())
    assert DOCS.read_text(encoding="utf-8") == expected, (
        "docs/checks.md is stale: regenerate it with `verify checks list --markdown > docs/checks.md`"
    )


@pytest.mark.sandbox
def test_checks_list_json_through_the_cli(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "verify.cli.main", "checks", "list", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert {"id", "service", "category", "title", "proves", "writes", "faults"} == set(listed[0])
    assert not list(tmp_path.iterdir())  # collecting writes no report
