"""How a single-table design keys the reading (verify.scenario.keys), and what a sampled item teaches of
the reading's fields (verify.scenario.conventions.from_sampled_items): each rule on its own, with the
case it must refuse beside the case it must accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from verify.config.settings import Config, load_config
from verify.errors import ConfigError
from verify.scenario.conventions import Convention, from_key_schema, from_sampled_items
from verify.scenario.enrichment import derived_attributes
from verify.scenario.keys import (
    entity_of,
    entity_role,
    id_word,
    is_single_table,
    key_guesses,
    prefix_in_answer,
    split_prefixed,
)
from verify.scenario.payload import KeyAttribute, KeySchema
from verify.scenario.targets import find_targets
from verify.stack.inventory import Inventory, build_inventory
from verify.stack.outputs import parse_outputs

PK_SK = KeySchema(KeyAttribute("pk", "S"), KeyAttribute("sk", "S"))


@pytest.mark.parametrize("name", ["pk", "PK", "pk1", "GSI1PK", "partitionKey", "hash_key", "PartitionKey"])
def test_generic_partition_keys_make_a_single_table_design(name: str) -> None:
    assert is_single_table(KeySchema(KeyAttribute(name, "S"), KeyAttribute("sk", "S")))


@pytest.mark.parametrize("name", ["sensorId", "device_id", "id", "packet", "pkg_id"])
def test_a_readings_own_field_as_key_is_no_single_table_design(name: str) -> None:
    assert not is_single_table(KeySchema(KeyAttribute(name, "S")))
    assert not is_single_table(None)


def test_a_numeric_generic_key_is_no_prefixed_key() -> None:
    assert not is_single_table(KeySchema(KeyAttribute("pk", "N")))


def test_prefixes_and_entities_are_split_at_the_last_and_first_separator() -> None:
    assert split_prefixed("DEVICE#dev-0042") == ("DEVICE#", "dev-0042")
    assert split_prefixed("TENANT#acme#DEVICE#dev-1") == ("TENANT#acme#DEVICE#", "dev-1")
    assert split_prefixed("dev-0042") is None
    assert entity_of("READING#2026-01-01T00:00:00Z") == "READING"
    assert entity_of("PROCESSED#2026-01-01#1700000000000") == "PROCESSED"
    assert entity_of("no-separator") is None
    assert entity_of(5) is None


@pytest.mark.parametrize(
    ("entity", "role"),
    [("READING", "raw"), ("raw_event", "raw"), ("PROCESSED", "processed"), ("SUMMARY", "processed"),
     ("HOURLY", "processed"), ("PROCESSED_READING", "processed"), ("DATUM", None), ("R", None)],
)  # fmt: skip
def test_an_entitys_role_is_told_by_its_words(entity: str, role: str | None) -> None:
    assert entity_role(entity) == role


def test_configured_entities_win_and_one_configured_names_the_other_role() -> None:
    assert entity_role("R", raw_entity="R#", processed_entity="P#") == "raw"
    assert entity_role("P", raw_entity="R#", processed_entity="P#") == "processed"
    assert entity_role("READING", raw_entity="R#", processed_entity="P#") is None
    assert entity_role("DATUM", raw_entity="DATUM#") == "raw"
    assert entity_role("ANYTHING", raw_entity="DATUM#") == "processed"


def test_an_id_fields_word() -> None:
    assert [id_word(n) for n in ("deviceId", "device_id", "sensorId", "thingID", "serial")] == [
        "device", "device", "sensor", "thing", None,
    ]  # fmt: skip


def test_an_answer_echoing_the_key_names_its_prefix_and_only_for_this_marker() -> None:
    marker = "vfy-20260101T000000-0123abcd"
    assert prefix_in_answer(f'{{"pk": "DEVICE#{marker}"}}', marker) == "DEVICE#"
    assert prefix_in_answer(f'{{"items": [{{"PK": "THING|{marker}", "x": 1}}]}}', marker) == "THING|"
    assert prefix_in_answer(f'{{"deviceId": "{marker}"}}', marker) is None
    assert prefix_in_answer('{"pk": "DEVICE#vfy-20260101T000000-ffffffff"}', marker) is None


def _item(pk: str, sk: str, **more: Any) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{k: v for k, v in more.items()}}


def test_key_guesses_order_and_confirm_what_the_stack_said() -> None:
    sample = [
        _item("USER#u1", "PROFILE"),
        _item("USER#u2", "PROFILE"),
        _item("DEVICE#dev-1", "READING#1"),
    ]
    guess = key_guesses(partition="pk", id_field="deviceId", configured=None, answered=None, sample=sample)
    # The sampled prefix naming the id field's entity first, confirmed; other sampled prefixes after.
    assert guess.prefixes[:2] == ("DEVICE#", "USER#")
    assert guess.confirmed == frozenset({"DEVICE#"})
    # The answer first; a config alone.
    answered = key_guesses(partition="pk", id_field="deviceId", configured=None, answered="D#", sample=sample)
    assert answered.prefixes[0] == "D#" and "D#" in answered.confirmed
    configured = key_guesses(partition="pk", id_field="x", configured="", answered="D#", sample=sample)
    assert configured.prefixes == ("",) and configured.confirmed == frozenset({""})


def test_key_guesses_without_evidence_are_the_id_fields_word_and_confirm_nothing() -> None:
    guess = key_guesses(partition="pk", id_field="sensor_id", configured=None, answered=None, sample=[])
    assert guess.prefixes == ("SENSOR#", "Sensor#", "sensor#", "")
    assert guess.confirmed == frozenset()
    # A sampled prefix in front of the item's own id is the reading's, though the id field does not
    # name it; a prefix merely sampled (the id not behind it: `READING#<uuid>`, the id only in an
    # index) is tried but confirms nothing, so not finding the reading there is no failure.
    held = key_guesses(
        partition="pk",
        id_field="sensor_id",
        configured=None,
        answered=None,
        sample=[_item("THING#t1", "R#1", sensor_id={"S": "t1"})],
    )
    assert held.prefixes[0] == "THING#" and held.confirmed == frozenset({"THING#"})
    merely = key_guesses(
        partition="pk",
        id_field="sensor_id",
        configured=None,
        answered=None,
        sample=[_item("READING#0f3a", "R#1", sensor_id={"S": "t1"}, GSI1PK={"S": "SENSOR#t1"})],
    )
    assert "READING#" in merely.prefixes and merely.confirmed == frozenset()


def test_the_key_schema_of_a_single_table_teaches_no_field() -> None:
    convention = from_key_schema(PK_SK)
    assert convention.id_field == "sensorId" and convention.sort_marker is None
    assert "single-table keys (pk + sk)" in convention.learned_from[0]


def test_a_sampled_reading_teaches_the_id_field_the_timestamp_and_the_envelope() -> None:
    processed = _item(
        "DEVICE#dev-1",
        "PROCESSED#2026-01-01#1767225600000",
        device_id={"S": "dev-1"},
        ts={"N": "1767225600000"},
    )
    raw = _item(
        "DEVICE#dev-1",
        "READING#1767225600000",
        device_id={"S": "dev-1"},
        ts={"N": "1767225600000"},
        metrics={"M": {"t": {"N": "1"}}},
    )
    learned = from_sampled_items(from_key_schema(PK_SK), [processed, raw], PK_SK)
    assert (learned.id_field, learned.time_field, learned.time_style, learned.nest) == (
        "device_id", "ts", "epoch_ms", "metrics",
    )  # fmt: skip
    assert learned.learned_from[-1] == "a sampled item (DEVICE#dev-1)"
    iso = _item("D#x", "R#2026-01-01T00:00:00Z", sensorId={"S": "x"}, at={"S": "2026-01-01T00:00:00Z"})
    assert from_sampled_items(Convention(), [iso], PK_SK).time_field == "at"
    # An item holding no attribute equal to its key's id teaches nothing.
    base = from_key_schema(PK_SK)
    assert from_sampled_items(base, [_item("USER#u1", "PROFILE", name={"S": "Ann"})], PK_SK) == base


def test_an_attribute_naming_the_items_entity_is_no_enrichment() -> None:
    processed = {"pk": "DEVICE#x", "sk": "PROCESSED#1", "type": "PROCESSED", "GSI1PK": "DAY#1"}
    derived, why = derived_attributes(processed, {}, {}, {"pk", "sk", "GSI1PK"}, entity="PROCESSED")
    assert derived == []
    assert why["type"] == "the item's entity type"
    # Without an entity (not a single-table design) it counts as derived, as before.
    assert derived_attributes(processed, {}, {}, {"pk", "sk", "GSI1PK"})[0] == ["type"]


def _inventory(outputs: dict[str, str]) -> Inventory:
    return build_inventory(parse_outputs(outputs, source="outputs.json"))


def _schemas(table: Any) -> KeySchema | None:
    return PK_SK if table.name.endswith("data") else KeySchema(KeyAttribute("sensorId", "S"))


def test_the_one_unroled_generic_table_plays_raw_and_processed() -> None:
    inventory = _inventory({"ApiEndpoint": "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/",
                                 "TableName": "acme-data"})  # fmt: skip
    targets = find_targets(inventory, Config(), _schemas)
    assert targets.raw_table is not None and targets.raw_table is targets.processed_table
    assert targets.raw_table.name == "acme-data"


def test_an_unroled_table_keyed_by_a_readings_field_is_still_no_flow_table() -> None:
    from verify.errors import NotApplicable

    inventory = _inventory({"ApiEndpoint": "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/",
                                 "TableName": "acme-sessions"})  # fmt: skip
    with pytest.raises(NotApplicable):
        find_targets(inventory, Config(), _schemas)
    # Two unroled tables: which is the design's one cannot be told.
    two = _inventory({"ApiEndpoint": "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/",
                           "TableName": "acme-data", "OtherTableName": "more-data"})  # fmt: skip
    with pytest.raises(NotApplicable):
        find_targets(two, Config(), _schemas)


def test_the_single_table_keys_are_read_from_verify_toml(tmp_path: Path) -> None:
    (tmp_path / "verify.toml").write_text(
        '[flow]\nkey_prefix = "DEVICE#"\nraw_entity = "READING#"\nprocessed_entity = "PROCESSED#"\n',
        encoding="utf-8",
    )
    flow = load_config(None, cwd=tmp_path).flow
    assert (flow.key_prefix, flow.raw_entity, flow.processed_entity) == ("DEVICE#", "READING#", "PROCESSED#")
    (tmp_path / "verify.toml").write_text("[flow]\nkey_prefix = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="key_prefix"):
        load_config(None, cwd=tmp_path)


def test_cleanup_in_a_single_table_deletes_only_what_carries_this_runs_id(aws_mock: None) -> None:
    import boto3
    from botocore.credentials import Credentials

    from tests.helpers.moto import MOTO_REGION
    from verify.aws.client import Aws
    from verify.aws.http import SignedHttp
    from verify.scenario.flow import Flow
    from verify.scenario.run_ids import run_id_for

    client = boto3.client("dynamodb", region_name=MOTO_REGION)
    client.create_table(
        TableName="acme-data",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    run_id = run_id_for("st")
    others = [
        ("DEVICE#dev-0042", "READING#1"),  # the team's own reading (it teaches the prefix)
        ("DEVICE#vfy-20000101T000000-0badc0de", "READING#1"),  # another run's leftover
        (f"DEVICE#{run_id}x", "READING#1"),  # a key that merely starts like ours: not this run's id
        (run_id.removeprefix("vfy-"), "READING#1"),
    ]
    ours = [
        (f"DEVICE#{run_id}", "READING#1"),
        (f"DEVICE#{run_id}", "PROCESSED#1"),
        (f"DEVICE#{run_id}-malformed", "READING#2"),
    ]
    for pk, sk in others + ours:
        client.put_item(
            TableName="acme-data",
            Item={"pk": {"S": pk}, "sk": {"S": sk}, "deviceId": {"S": pk.split("#")[-1]}},
        )
    outputs = parse_outputs(
        {
            "ApiEndpoint": "https://abc123defg.execute-api.us-east-1.amazonaws.com/dev/",
            "TableName": "acme-data",
        },
        "outputs.json",
    )
    flow = Flow(
        aws=Aws(MOTO_REGION),
        http=SignedHttp(Credentials("testing", "testing"), MOTO_REGION),
        inventory=build_inventory(outputs),
        config=Config(),
        run_id=run_id,
        timeout=1,
    )
    flow._sent = True
    flow._markers_written.add(flow.malformed_marker)
    removed = flow.cleanup()
    assert sorted(removed) == sorted(f"acme-data:DEVICE#{m}" for m in (run_id, run_id, f"{run_id}-malformed"))
    left = sorted((i["pk"]["S"], i["sk"]["S"]) for i in client.scan(TableName="acme-data")["Items"])
    assert left == sorted(others)
