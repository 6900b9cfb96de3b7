"""A check that cannot apply to the stack's kinds is not planned at all (issue 18): no "ECS cluster
(none) is ACTIVE" row on a pipeline without ECS, no flow rows on a stack without an API and a table.
A resource that exists but a check does not fit stays a skip with its reason (tested by the suites)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.engine import engine_session
from verify.engine.plan import parameter_sets, plan
from verify.engine.session import VerifySession
from verify.marks import Mark

PIPELINE = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "pipeline-flat.json"


def _session(tmp_path: Path, outputs: Path) -> VerifySession:
    return engine_session(tmp_path, outputs, region=None)


def test_a_kind_the_outputs_do_not_name_plans_no_instance(tmp_path: Path) -> None:
    session = _session(tmp_path, PIPELINE)
    assert parameter_sets(session, {"resource"}, Mark("resources", ("ecs_cluster",)), "c") == []
    tables = parameter_sets(session, {"resource"}, Mark("resources", ("dynamodb_table",)), "c")
    assert tables and all(reason == "" for _, _, reason in tables)
    ids = {spec.id for spec in plan(session)}
    assert not any(i.endswith("[none]") for i in ids)
    assert not any(i.startswith("suites/test_ecs.py::") for i in ids)
    assert any(i.startswith("suites/test_dynamodb.py::test_table_active[") for i in ids)
    # The pipeline has an API and tables: the flow is planned.
    assert "suites/test_flow.py::test_ingest_accepted" in ids


def test_the_flow_is_not_planned_without_an_api_and_a_table(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps({"IngestQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/ingest"}),
        encoding="utf-8",
    )
    session = _session(tmp_path, outputs)
    assert parameter_sets(session, {"flow", "check"}, None, "suites/test_flow.py::test_ingest_accepted") == []
    ids = {spec.id for spec in plan(session)}
    assert not any(i.startswith("suites/test_flow.py::") for i in ids)
    assert any(i.startswith("suites/test_sqs.py::test_queue_reachable[") for i in ids)
    # With both, it is planned again: the rule reads the stack, it does not switch the flow off.
    both = parameter_sets(_session(tmp_path, PIPELINE), {"flow", "check"}, None, "c")
    assert both == [("", {}, "")]
