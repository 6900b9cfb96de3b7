"""One table of resource kinds: every other table speaks it, and a misspelt kind fails loudly instead of
quietly matching nothing (a check that would have been "not applicable" on every stack)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from verify.errors import UsageError
from verify.stack import arns, inventory, key_rules
from verify.stack.inventory import Inventory, Resource
from verify.stack.kinds import KINDS, Kind, checked_kinds

SUITES = Path(__file__).resolve().parents[2] / "suites"


def test_every_kind_says_what_it_names() -> None:
    assert len(set(KINDS)) == len(KINDS) == len(Kind)
    for kind in Kind:
        assert kind == kind.value and str(kind) == kind.value and f"{kind}" == kind.value
        assert kind.description and kind.description[0].islower(), kind


def test_the_other_tables_speak_the_one_vocabulary() -> None:
    produced = {kind for _, _, kind in arns._ARN_RULES}
    produced |= {kind for _, kind, _ in arns._HOST_RULES} | {kind for _, kind in arns._ID_RULES}
    produced |= set(key_rules.KIND_OF_WORD.values()) | {kind for _, _, kind in key_rules.CONTEXT_RULES}
    produced |= {row[3] for row in inventory._RESOLVERS}
    assert produced and all(isinstance(kind, Kind) for kind in produced)
    assert inventory.KINDS is KINDS


def test_a_classified_resource_carries_the_plain_name() -> None:
    # Reports, `discover --json` and Resource's repr show "dynamodb_table", never "Kind.DYNAMODB_TABLE".
    resource = inventory.classify("RawTableArn", "arn:aws:dynamodb:us-east-1:123456789012:table/raw")
    assert type(resource.kind) is str and resource.kind == "dynamodb_table"
    assert "kind='dynamodb_table'" in repr(resource)


def test_known_kinds_pass_as_written() -> None:
    assert checked_kinds(("dynamodb_table", "sqs_queue"), "suites/test_x.py::test_y") == (
        "dynamodb_table",
        "sqs_queue",
    )
    assert checked_kinds((), "suites/test_x.py::test_y") == ()
    assert checked_kinds((Kind.API,), "c") == ("api",)


def test_a_typo_in_a_resources_mark_fails_loudly() -> None:
    with pytest.raises(UsageError) as raised:
        checked_kinds(("dynamodb_tabel",), "checks/test_orders.py::test_orders_table_has_pitr")
    message = str(raised.value)
    assert "checks/test_orders.py::test_orders_table_has_pitr" in message  # which check
    assert "'dynamodb_tabel'" in message  # what it wrote
    assert "did you mean `dynamodb_table`?" in message
    assert ", ".join(KINDS) in message  # and every kind it could have meant
    assert raised.value.exit_code == 2  # bad input, one sentence, like any other


@pytest.mark.parametrize("kind", ["queue", "", "DynamoDB_Table", 3, None])
def test_anything_that_is_no_kind_is_refused(kind: object) -> None:
    with pytest.raises(UsageError, match="unknown resource kind"):
        checked_kinds(("api", kind), "c")


def test_of_kind_refuses_a_typo_instead_of_finding_nothing() -> None:
    table = Resource(key="T", value="t", kind="dynamodb_table", name="t", role=None)
    stack = Inventory(region=None, resources=(table,), missing=(), source="test")
    assert stack.of_kind("dynamodb_table") == [table]
    assert stack.of_kind("vpc") == []  # a known kind the outputs do not name: nothing, rightly
    with pytest.raises(UsageError, match=r"inventory\.of_kind\('subnett'\) names an unknown resource kind"):
        stack.of_kind("subnett")
    with pytest.raises(UsageError, match="did you mean `dynamodb_table`"):
        stack.one("dynamodb_tables", role="raw")


def _string_args(call: ast.Call) -> list[str]:
    return [arg.value for arg in call.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]


def test_every_shipped_mark_and_lookup_names_a_known_kind() -> None:
    # The shipped suites' own marks and `inventory.of_kind(...)` calls, read from their source.
    named: set[str] = set()
    for path in sorted(SUITES.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr in ("resources", "of_kind"):
                named.update(_string_args(node))
            elif node.func.attr == "one":  # inventory.one(kind, role=...): only the first is a kind
                named.update(_string_args(node)[:1])
    assert {"api", "dynamodb_table", "sqs_queue", "subnet", "vpc"} <= named
    assert named <= set(KINDS), sorted(named - set(KINDS))
