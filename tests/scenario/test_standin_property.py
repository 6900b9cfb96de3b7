"""Stacks built differently from the sandbox, drawn (issue 15, build item 8 and the first "Done when"):
on each, zero-config verify -- through its engine, as `verify run` drives the shipped flow suite --
passes every flow step and negative check when the stack is healthy, leaves nothing of its own in the
tables, and fails the relevant check for each injected fault (not an error, a skip or a pass).

The stand-ins come from tests/helpers/standin_gen.py (`conventions()` draws the id field, flat or
nested readings, the timestamp's field and format, the raw and processed tables' keys, the ingest and
query routes, the query style, output keys and names, an emulator-style URL in place of an id output, a REST API or an
HTTP API, and single-table designs: generic `pk`/`sk` keys with prefixed values, raw and processed
entities in one table or two, a GSI, a `type` attribute, an answer that does or does not show the key).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings

from tests.helpers.engine import engine_session
from tests.helpers.standin_gen import (
    FAULTS,
    FLOW,
    OTHER_DEVICE,
    RELEVANT,
    Conventions,
    StandIn,
    conventions,
    standin,
)
from verify.config.settings import Config, FlowConfig, HttpConfig
from verify.engine.plan import plan
from verify.engine.runner import run
from verify.model import CheckResult, Status
from verify.scenario import cleanup as cleanup_module

# Each drawn stack is a whole `verify run` (a second or two): few examples, no shrinking (a failure
# prints the drawn conventions and every check's verdict, which says enough).
SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
# The checks a healthy stand-in must pass: every flow step but the logs (the stand-ins have no Lambda
# functions to read logs of: "not applicable", a skip with its reason).
NOT_APPLICABLE = {FLOW + "test_logs_carry_marker": "the outputs name no ingest or processor function"}


# Faults seen only when a wait runs out: the reading never shows up where it should.
WAITED_OUT = frozenset({"processor_stopped", "raw_not_written", "query_wrong_data"})


@dataclass
class Verified:
    results: dict[str, CheckResult]
    verdict: str
    run_id: str

    def status(self, check: str) -> Status:
        return self.results[check].status


@pytest.fixture
def quick_cleanup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A fault that leaves a reading unprocessed makes clean-up wait (bounded) for its processed copy:
    # seconds per drawn stack. The wait itself is tested in tests/reliability/test_cleanup_finishes.py.
    monkeypatch.setattr(cleanup_module, "IN_FLIGHT_GRACE_S", 0.3)
    monkeypatch.setattr(cleanup_module, "IN_FLIGHT_FLOOR_S", 0.3)
    monkeypatch.setattr(cleanup_module, "MIN_GRACE_S", 0.2)
    yield


def verify_stack(
    stack: StandIn,
    tmp_path: Path,
    timeout: float,
    keyword: str | None = "test_flow",
    flow: FlowConfig | None = None,
) -> Verified:
    """`verify run -k test_flow` (or `-k keyword`, or every check with None) on the stand-in's outputs,
    in-process through the engine, zero-config for the flow ([http] allow_hosts only lets the signed
    requests go to the loopback listener)."""
    folder = tmp_path / f"{stack.raw_table}-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    config = Config(http=HttpConfig(allow_hosts=(stack.host,)), flow=flow or FlowConfig())
    session = engine_session(folder, stack.outputs, config=config, timeout=timeout)
    planned = plan(session, keyword)
    done = run(session, planned, out=io.StringIO())
    return Verified({r.id: r for r in session.results}, str(done.summary.verdict), session.run_id)


def _shown(verified: Verified) -> str:
    return "\n".join(f"{r.status} {r.id}: {(r.message or '')[:300]}" for r in verified.results.values())


def _tables(stack: StandIn) -> list[str]:
    return list(dict.fromkeys((stack.raw_table, stack.processed_table)))  # one, in a single-table design


def _ours(stack: StandIn, run_id: str) -> list[dict[str, Any]]:
    """Every item carrying the run's id anywhere (a single-table design's `pk` = DEVICE#<run id> too)."""
    return [
        item
        for table in _tables(stack)
        for item in stack.items(table)
        if run_id in json.dumps(item, default=str)
    ]


@settings(SETTINGS, max_examples=15)
@given(drawn=conventions())
def test_a_healthy_stand_in_passes_every_flow_check_zero_config(
    aws_mock: None, tmp_path: Path, quick_cleanup: None, drawn: Conventions
) -> None:
    unlearnable = drawn.single_table and not drawn.key_learnable
    with standin(drawn) as stack:
        # A healthy stack answers at once; the budget only bounds one call on a loaded machine. Where
        # nothing tells the reading's key, the key lookups wait out the whole budget before they say
        # so: 2.5 s says it as well as 8, as below (the steps that pass still answer at once).
        verified = verify_stack(stack, tmp_path, timeout=2.5 if unlearnable else 8.0)
        left = _ours(stack, verified.run_id)
        others = [i for t in _tables(stack) for i in stack.items(t)]
    shown = _shown(verified)
    if unlearnable:
        _cannot_learn_the_key(verified, shown)
        return
    flow_checks = [check for check in verified.results if check.startswith(FLOW)]
    assert len(flow_checks) == 11, shown
    for check in flow_checks:
        if check in NOT_APPLICABLE:
            assert verified.status(check) is Status.SKIPPED, shown
            assert NOT_APPLICABLE[check] in (verified.results[check].message or ""), shown
        else:
            assert verified.status(check) is Status.PASSED, f"{drawn}\n{shown}"
    assert verified.verdict == "pass", shown
    # The convention the ingest settled on is the stack's own, and the evidence says so.
    evidence = verified.results[FLOW + "test_ingest_accepted"].evidence or {}
    convention = evidence["convention"]
    assert convention["id_field"] == drawn.id_field
    assert convention["readings"] == (f"nested under `{drawn.nest}`" if drawn.nest else "flat")
    styles = {"iso": "ISO-8601", "epoch_s": "epoch seconds", "epoch_ms": "epoch milliseconds"}
    assert convention["timestamp"] == f"{drawn.time_field} ({styles[drawn.time_style]})"
    assert drawn.ingest_route in evidence["ingest_route"]
    if drawn.single_table:
        # The reading was found under the stack's own prefix, and the evidence says so.
        raw = verified.results[FLOW + "test_raw_item_written"].evidence or {}
        assert raw["key"]["found_under"] == f"{drawn.partition_word}#<marker>", raw["key"]
    # Clean-up: nothing tagged by the run is left; the stack's own readings are untouched.
    assert left == [], left
    assert len(others) == (2 if drawn.seeded else 0)
    assert all(item[drawn.id_field] == OTHER_DEVICE for item in others)


@settings(SETTINGS, max_examples=5)
@given(drawn=conventions())
def test_a_healthy_stand_in_is_a_pass_for_the_whole_run(
    aws_mock: None, tmp_path: Path, quick_cleanup: None, drawn: Conventions
) -> None:
    # Every shipped check, not only the flow: the API's and the tables' own checks and smoke's too.
    # A single-table key nothing can teach is an error by design (naming [flow] key_prefix); the flow
    # test above proves that on its draws, so this test asks only of stacks whose key can be learned.
    assume(not (drawn.single_table and not drawn.key_learnable))
    with standin(drawn) as stack:
        verified = verify_stack(stack, tmp_path, timeout=8.0, keyword=None)
    shown = _shown(verified)
    wrong = [r for r in verified.results.values() if r.status in (Status.FAILED, Status.ERROR)]
    assert wrong == [], f"{drawn}\n{shown}"
    assert verified.verdict == "pass", shown
    passed = {check.split("[")[0] for check, r in verified.results.items() if r.status is Status.PASSED}
    # The API Gateway suite checks REST and HTTP APIs alike (an HTTP API's `$default` stage here).
    assert "suites/test_apigateway.py::test_stage_exists" in passed, shown
    assert "suites/test_dynamodb.py::test_table_active" in passed, shown


@pytest.mark.parametrize("api_kind", ["rest", "http"])
def test_smoke_reads_the_safe_paths_of_a_rest_or_an_http_api(
    aws_mock: None, tmp_path: Path, quick_cleanup: None, api_kind: str
) -> None:
    # Smoke's API checks asked only a REST API's resources: on an HTTP API, GetResources says "not
    # found", and both checks failed on a healthy stack. A declared `GET /query` is a safe path.
    drawn = Conventions(api_kind=api_kind, api_id_key="ApiId", query_route="/query", query_style="query")
    with standin(drawn) as stack:
        verified = verify_stack(stack, tmp_path, timeout=8.0, keyword="test_api_answers or test_api_rejects")
    shown = _shown(verified)
    assert [r.status for r in verified.results.values()] == [Status.PASSED, Status.PASSED], shown
    gets = [r for r in stack.received if r["method"] == "GET"]
    assert [r["route"] for r in gets] == ["/query", "/query"]


def _cannot_learn_the_key(verified: Verified, shown: str) -> None:
    """A single-table design whose reading's key nothing tells (no sampled item, no answer showing
    it, a prefix no id field names): the steps that look it up are errors naming `[flow] key_prefix`,
    never a pass and never a failure."""
    for check in (FLOW + "test_raw_item_written", FLOW + "test_processor_ran"):
        assert verified.status(check) is Status.ERROR, shown
        assert "[flow] key_prefix" in (verified.results[check].message or ""), shown
    assert not [r for r in verified.results.values() if r.status is Status.FAILED], shown
    assert verified.verdict == "error", shown


SINGLE_TABLES = {
    # The issue's own example: one table, `pk`/`sk`, DEVICE#<id> / READING#<time>, seeded.
    "one-table": Conventions(
        single_table=True, id_field="deviceId", nest=None, time_style="iso", query_style="path",
        query_route="/devices", path_param="id",
    ),
    # Empty, `PK`/`SK`, a GSI, a `type` attribute, nested readings in epoch ms: learned from the id
    # field's word and the API's refusals alone.
    "empty-gsi-typed": Conventions(
        single_table=True, key_names=("PK", "SK"), seeded=False, gsi=True, entity_attr=True,
        id_field="sensor_id", nest="metrics", time_field="ts", time_style="epoch_ms", answers_keys=False,
    ),
    # Raw and processed in two tables keyed alike; a partition word no id field names, echoed by the
    # ingest's answer.
    "two-tables-echoed": Conventions(
        single_table=True, one_table=False, key_word="THING", seeded=False, echo_key=True,
        answers_keys=False, entities=("EVENT", "SUMMARY"),
    ),
    # A raw entity no word tells ("DATUM"), paired with its worded processed one in the run's own partition.
    "untold-raw-entity": Conventions(single_table=True, entities=("DATUM", "PROCESSED"), seeded=False),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SINGLE_TABLES))
def test_a_single_table_design_passes_every_flow_check_zero_config(
    aws_mock: None, tmp_path: Path, quick_cleanup: None, name: str
) -> None:
    drawn = SINGLE_TABLES[name]
    with standin(drawn) as stack:
        # Another run's leftover under the same prefix: it carries *a* run id, not this run's, and
        # must stay (clean-up deletes only what carries its own).
        decoy = {
            drawn.pk: {"S": f"{drawn.partition_word}#vfy-20000101T000000-0badc0de"},
            drawn.sk: {"S": "X#1"},
        }
        stack.client("dynamodb").put_item(TableName=stack.raw_table, Item=decoy)
        verified = verify_stack(stack, tmp_path, timeout=8.0)
        left = _ours(stack, verified.run_id)
        kept = [i for t in _tables(stack) for i in stack.items(t)]
    shown = _shown(verified)
    for check in verified.results:
        if check in NOT_APPLICABLE:
            assert verified.status(check) is Status.SKIPPED, shown
        else:
            assert verified.status(check) is Status.PASSED, f"{name}\n{shown}"
    assert verified.verdict == "pass", shown
    ingest = verified.results[FLOW + "test_ingest_accepted"].evidence or {}
    assert ingest["convention"]["id_field"] == drawn.id_field, ingest["convention"]
    processed = verified.results[FLOW + "test_processor_ran"].evidence or {}
    assert processed["key"]["found_under"] == f"{drawn.partition_word}#<marker>", processed["key"]
    enriched = verified.results[FLOW + "test_processed_item_enriched"].evidence or {}
    assert sorted(enriched["added_attributes"]) == ["max_value", "processed_at", "reading_count"], enriched
    assert left == [], left
    assert decoy[drawn.pk]["S"] in json.dumps(kept, default=str)
    assert len(kept) == 1 + (2 if drawn.seeded else 0)


def test_a_single_table_key_nothing_tells_is_an_error_naming_key_prefix_until_configured(
    aws_mock: None, tmp_path: Path, quick_cleanup: None
) -> None:
    drawn = Conventions(single_table=True, key_word="THING", seeded=False, echo_key=False, answers_keys=False)
    with standin(drawn) as stack:
        verified = verify_stack(stack, tmp_path, timeout=2.5)
        told = verify_stack(stack, tmp_path, timeout=8.0, flow=FlowConfig(key_prefix="THING#"))
        left = _ours(stack, told.run_id)
    _cannot_learn_the_key(verified, _shown(verified))
    # The malformed reading's "nothing stored" cannot be told either: an error, not a pass.
    assert verified.status(FLOW + "test_malformed_rejected_and_not_stored") is Status.ERROR
    shown = _shown(told)
    assert told.verdict == "pass", shown
    assert left == [], left


def test_single_table_entities_nothing_tells_are_an_error_naming_them_until_configured(
    aws_mock: None, tmp_path: Path, quick_cleanup: None
) -> None:
    # Only the raw item is written (processor stopped) and its entity's name says nothing: it might
    # be the processed one as well. Configured, the stopped processor is a failure.
    drawn = Conventions(single_table=True, entities=("DATUM", "PROCESSED"), seeded=False)
    with standin(drawn, "processor_stopped") as stack:
        verified = verify_stack(stack, tmp_path, timeout=2.5)
        told = verify_stack(stack, tmp_path, timeout=2.5, flow=FlowConfig(raw_entity="DATUM#"))
    shown = _shown(verified)
    for check in (FLOW + "test_raw_item_written", FLOW + "test_processor_ran"):
        assert verified.status(check) is Status.ERROR, shown
        assert "[flow] raw_entity and processed_entity" in (verified.results[check].message or ""), shown
    assert verified.status(FLOW + "test_queue_hop") is Status.ERROR, shown
    shown = _shown(told)
    assert told.status(FLOW + "test_raw_item_written") is Status.PASSED, shown
    assert told.status(FLOW + "test_processor_ran") is Status.FAILED, shown


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_fails_its_relevant_check_on_a_single_table_design(
    aws_mock: None, tmp_path: Path, quick_cleanup: None, fault: str
) -> None:
    @settings(SETTINGS, max_examples=2)
    @given(drawn=conventions(single=True).filter(lambda c: c.key_told and c.entities_told))
    def broken(drawn: Conventions) -> None:
        with standin(drawn, fault) as stack:
            verified = verify_stack(stack, tmp_path, timeout=2.5 if fault in WAITED_OUT else 8.0)
            left = _ours(stack, verified.run_id)
        shown = _shown(verified)
        for check in RELEVANT[fault]:
            assert verified.status(check) is Status.FAILED, f"{fault} on {drawn}\n{shown}"
        assert verified.verdict == "fail", shown
        if fault != "processor_stopped":
            assert left == [], left

    broken()


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_fails_its_relevant_check(
    aws_mock: None, tmp_path: Path, quick_cleanup: None, fault: str
) -> None:
    # A single-table design whose key or entities only a healthy stack's answers could teach is an
    # error by design once broken (naming [flow] key_prefix / the entities): tested on its own in
    # test_a_single_table_key_nothing_tells_… and test_single_table_entities_nothing_tells_….
    @settings(SETTINGS, max_examples=2)
    @given(drawn=conventions().filter(lambda c: not c.single_table or (c.key_told and c.entities_told)))
    def broken(drawn: Conventions) -> None:
        with standin(drawn, fault) as stack:
            # A fault seen by a wait running out gets a short budget (it bounds one call too); the
            # others are seen at once, and a generous budget keeps a loaded machine from an error.
            verified = verify_stack(stack, tmp_path, timeout=2.5 if fault in WAITED_OUT else 8.0)
            left = _ours(stack, verified.run_id)
        shown = _shown(verified)
        for check in RELEVANT[fault]:
            assert verified.status(check) is Status.FAILED, f"{fault} on {drawn}\n{shown}"
        assert verified.verdict == "fail", shown
        if fault != "processor_stopped":
            assert left == [], left

    broken()


def test_the_generator_draws_every_convention() -> None:
    """The strategy reaches each convention the issue lists (a property test is only as wide as it)."""
    seen: dict[str, set[Any]] = {}

    @settings(max_examples=150, deadline=None, database=None)
    @given(drawn=conventions())
    def record(drawn: Conventions) -> None:
        names = ("id_field", "nest", "time_style", "time_field", "raw_sorted", "processed_by", "ingest_route")
        for name in (*names, "validated"):
            seen.setdefault(name, set()).add(getattr(drawn, name))
        seen.setdefault("query_style", set()).add(drawn.query_style)
        seen.setdefault("api_id_key", set()).add(drawn.api_id_key is None)
        seen.setdefault("api_kind", set()).add(drawn.api_kind)
        seen.setdefault("single_table", set()).add(drawn.single_table)
        if drawn.single_table:
            for name in (
                "one_table",
                "key_names",
                "gsi",
                "entity_attr",
                "echo_key",
                "answers_keys",
                "entities",
            ):
                seen.setdefault(name, set()).add(getattr(drawn, name))
            seen.setdefault("key_guessable", set()).add(drawn.key_word == "")

    record()
    assert seen["id_field"] == {"sensorId", "sensor_id", "deviceId", "device_id"}
    assert seen["nest"] == {None, "sensor_data", "readings", "data", "payload", "metrics"}
    assert seen["time_style"] == {"iso", "epoch_s", "epoch_ms"}
    assert seen["time_field"] == {"timestamp", "ts", "recorded_at", "eventTime"}
    assert seen["validated"] == {True, False}
    assert seen["raw_sorted"] == {True, False}
    assert seen["processed_by"] == {"date", "time"}
    assert len(seen["ingest_route"]) == 4
    assert seen["query_style"] == {"query", "path"}
    assert seen["api_id_key"] == {True, False}
    assert seen["api_kind"] == {"rest", "http"}
    # Single-table designs: one table or two, `pk`/`sk` or `PK`/`SK`, with and without a GSI, a `type`
    # attribute, an answer echoing the key or a query answer showing it, a key word no id field names.
    assert seen["single_table"] == {True, False}
    for name in ("one_table", "gsi", "entity_attr", "echo_key", "answers_keys", "key_guessable"):
        assert seen[name] == {True, False}, name
    assert seen["key_names"] == {("pk", "sk"), ("PK", "SK")}
    assert len(seen["entities"]) >= 4
