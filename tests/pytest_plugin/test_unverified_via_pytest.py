"""A user's own check through pytest that cannot reach its database: pytest shows a skip (no red F,
no traceback), verify's summary says `unverified` with the address."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CHECKS = """
import pytest
from verify.errors import NotReachable


@pytest.mark.check("rds", title="database answers")
def test_database():
    raise NotReachable("database 10.0.1.12:5432 is not reachable from here (timed out)", address="10.0.1.12:5432")


@pytest.mark.check("sqs", title="queue answers")
def test_queue():
    pass
"""


def test_not_reachable_is_unverified_not_failed(pytester: pytest.Pytester) -> None:
    outputs = pytester.path / "outputs.json"
    outputs.write_text(json.dumps({"IngestQueueName": "q-dev"}), encoding="utf-8")
    pytester.makepyfile(test_mine=CHECKS)
    reports = pytester.path / "reports"
    result = pytester.runpytest(
        f"--verify-outputs={outputs}", f"--verify-report-dir={reports}", "-p", "no:cacheprovider"
    )
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    by_id = {Path(c["id"]).name: c for c in summary["checks"]}
    database = by_id["test_mine.py::test_database"]
    assert database["status"] == "unverified", database
    assert database["evidence"]["address"] == "10.0.1.12:5432"
    assert summary["counts"]["unverified"] == 1
    assert summary["verdict"] == "pass"
    assert result.ret == 0, result.stdout.str()
    assert "Traceback" not in result.stdout.str()
