"""Property tests: whatever JSON arrives, the reader and the inventory either work or say OutputsError."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify.errors import OutputsError
from verify.stack.inventory import KINDS, ROLES, build_inventory, classify
from verify.stack.outputs import load_outputs, parse_outputs

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40)
json_documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=30,
)
# Values shaped like the real thing, so the generator reaches the classifier's branches, not only errors.
aws_like = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"arn:aws:[a-z0-9-]{0,12}:[a-z0-9-]{0,12}:\d{0,12}:.{0,30}", fullmatch=True),
    st.from_regex(r"https?://[a-z0-9.:-]{0,30}/[\w/.-]{0,30}", fullmatch=True),
    st.from_regex(r"(vpc|subnet|sg|fs)-[0-9a-f]{0,17}(,\s?(vpc|subnet|sg)-[0-9a-f]{0,9})*", fullmatch=True),
    st.sampled_from(["", "unknown", "N/A", "null", "-", "[]", '["a", "b"]', "{}", "us-east-1", "5432"]),
)
key_words = st.sampled_from(
    ["Raw", "Processed", "Dlq", "Table", "Queue", "Url", "Arn", "Name", "Api", "Endpoint", "dev", "760E02C8",
     "_", "-", "Log", "Group", "Db", "Cluster", "Secret", "Password", "Stage", "Namedev", "pr123", "\u00e9", ""]
)  # fmt: skip
keys = st.one_of(st.text(max_size=30), st.lists(key_words, max_size=6).map("".join))


def _inventory_is_consistent(document: object) -> None:
    try:
        outputs = parse_outputs(document, "fuzz.json")
    except OutputsError as error:
        assert str(error).strip() and "\n" not in str(error)
        return
    inventory = build_inventory(outputs)
    for resource in inventory.resources:
        assert resource.kind in KINDS
        assert resource.role in (*ROLES, None)
    json.dumps(inventory.to_json())  # what `discover --json` prints must always serialize


@SETTINGS
@given(json_documents)
def test_any_json_document(document: object) -> None:
    _inventory_is_consistent(document)


@SETTINGS
@given(st.dictionaries(keys, aws_like | scalars | st.lists(aws_like, max_size=4), min_size=1, max_size=8))
def test_any_flat_outputs(document: dict[str, object]) -> None:
    _inventory_is_consistent(document)


@SETTINGS
@given(
    st.dictionaries(st.text(max_size=10), st.dictionaries(keys, aws_like, max_size=4), min_size=1, max_size=3)
)
def test_any_cdk_shaped_outputs(document: dict[str, object]) -> None:
    _inventory_is_consistent(document)


@SETTINGS
@given(
    st.dictionaries(
        keys,
        st.fixed_dictionaries(
            {"value": json_documents}, optional={"sensitive": st.booleans(), "type": scalars}
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_terraform_shaped_outputs(document: dict[str, object]) -> None:
    _inventory_is_consistent(document)


@SETTINGS
@given(st.lists(st.fixed_dictionaries({"OutputKey": keys}, optional={"OutputValue": aws_like | scalars})))
def test_any_cloudformation_list(document: list[object]) -> None:
    _inventory_is_consistent(document)


@SETTINGS
@given(keys, aws_like)
def test_classify_always_answers_with_a_known_kind(key: str, value: str) -> None:
    resource = classify(key, value)
    assert resource.kind in KINDS and resource.role in (*ROLES, None)
    assert resource.to_json()["key"] == key


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_any_bytes_on_disk(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "outputs.json"
    path.write_bytes(content)
    try:
        load_outputs(path)
    except OutputsError as error:
        assert str(path) in str(error)
