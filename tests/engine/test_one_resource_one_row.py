"""One resource, one row: the plan gives a resource's checks once, however many outputs name it,
under the first output's key; its evidence lists every output naming it. Two resources, two sets."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.engine import engine_session
from verify.config.settings import load_config
from verify.engine.outcome import with_asked
from verify.engine.plan import plan
from verify.engine.session import VerifySession

ACCOUNT = "123456789012"
RAW_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/raw-orders"


def _session(tmp_path: Path, outputs: dict[str, Any]) -> VerifySession:
    return engine_session(tmp_path, outputs, config=load_config(None), region="us-east-1")


def _rows(session: VerifySession, file: str) -> Counter[str]:
    """How many rows each parameter id has among the checks of suites/<file>."""
    return Counter(
        spec.id.split("[", 1)[1].rstrip("]")
        for spec in plan(session)
        if spec.id.startswith(f"suites/{file}::") and "[" in spec.id
    )


@pytest.mark.usefixtures("aws_mock")
def test_two_outputs_naming_one_table_give_one_set_of_rows_listing_both(tmp_path: Path) -> None:
    session = _session(tmp_path, {"RawTableName": "raw-orders", "RawTableArn": RAW_ARN})
    rows = _rows(session, "test_dynamodb.py")
    assert set(rows) == {"RawTableName"}  # no row for RawTableArn: the same table
    checks = rows["RawTableName"]
    assert checks >= 3
    specs = [s for s in plan(session) if s.id.startswith("suites/test_dynamodb.py::")]
    assert not [s for s in specs if s.skip]  # and none skipped as a duplicate
    table = specs[0].subject
    asked = with_asked({}, table, specs[0].meta())["asked"]
    assert asked["outputs"] == ["RawTableName", "RawTableArn"]
    # The outputs' own checks stay one per output.
    assert set(_rows(session, "test_outputs.py")) == {"RawTableName", "RawTableArn"}


@pytest.mark.usefixtures("aws_mock")
def test_two_tables_give_two_sets_of_rows(tmp_path: Path) -> None:
    session = _session(tmp_path, {"RawTableName": "raw-orders", "ProcessedTableName": "processed-orders"})
    rows = _rows(session, "test_dynamodb.py")
    assert set(rows) == {"RawTableName", "ProcessedTableName"}
    assert rows["RawTableName"] == rows["ProcessedTableName"] >= 3


@pytest.mark.usefixtures("aws_mock")
def test_the_ids_depend_only_on_the_outputs_file(tmp_path: Path) -> None:
    outputs = {
        "KinesisStreamArn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/sensor-stream",
        "KinesisStreamName": "sensor-stream",
    }
    first = [s.id for s in plan(_session(tmp_path / "a", outputs))]
    again = [s.id for s in plan(_session(tmp_path / "b", outputs))]
    assert first == again
    # The first output naming the stream gives its id, whichever form it has.
    assert {i.split("[", 1)[1] for i in first if i.startswith("suites/test_kinesis.py")} == {
        "KinesisStreamArn]"
    }
