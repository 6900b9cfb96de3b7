"""Finding 12 of issue 16: an output value a deploy tool never resolved (a CDK token, an
interpolation) is a missing output like "" or "N/A" -- never a name, never a traceback -- and a run
left with nothing else to verify is one sentence and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verify.cli.main import main
from verify.stack.inventory import build_inventory, classify
from verify.stack.outputs import load_outputs
from verify.stack.values import is_unresolved, normalize_items

UNRESOLVED = [
    "https://${Token[TOKEN.12]}.execute-api.us-east-1.amazonaws.com/prod/",
    "${Token[TOKEN.99]}",
    "raw-sensor-${Token[AWS.Region.4]}",
    "#{Token[TOKEN.31]}",
    "arn:aws:dynamodb:${AWS::Region}:${AWS::AccountId}:table/raw",
    "${aws_dynamodb_table.raw.name}",
    "${var.environment}-queue",
    "-1.8881545897087626e+289",
    "(known after apply)",
]


@pytest.mark.parametrize("value", UNRESOLVED)
def test_unresolved_values_are_missing(value: str) -> None:
    assert is_unresolved(value)
    assert normalize_items(value) == ()
    assert normalize_items([value, "raw-sensor-data"]) == ("raw-sensor-data",)


def test_a_cdk_number_token_as_a_json_number_is_missing() -> None:
    assert normalize_items(-1.8881545897087626e289) == ()


@pytest.mark.parametrize(
    "value", ["raw-sensor-data", '{"a": 1}', "https://abc.execute-api.us-east-1.amazonaws.com/prod/", "1e+28"]
)
def test_ordinary_values_are_not_unresolved(value: str) -> None:
    assert not is_unresolved(value)
    assert normalize_items(value) != ()


def test_an_outputs_file_with_tokens_lists_them_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps(
            {"ApiEndpoint": UNRESOLVED[0], "RawTableName": UNRESOLVED[2], "ProcessedTableName": "p-dev"}
        ),
        encoding="utf-8",
    )
    inventory = build_inventory(load_outputs(path))
    assert [r.key for r in inventory.resources] == ["ProcessedTableName"]
    assert sorted(o.key for o in inventory.missing) == ["ApiEndpoint", "RawTableName"]


@pytest.mark.parametrize(
    "value",
    [
        "https://[TOKEN.12].execute-api.us-east-1.amazonaws.com/prod/",
        "https://a[b]c.example/x",
        "http://[::1/p/",
    ],
)
def test_a_value_that_only_looks_like_a_url_names_nothing_reachable(value: str) -> None:
    resource = classify("ApiEndpoint", value)
    assert resource.kind == "unknown" and resource.url is None


def test_run_with_only_a_token_is_one_sentence_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs.json").write_text(json.dumps({"ApiEndpoint": UNRESOLVED[0]}), encoding="utf-8")
    code = main(["run", "--outputs", "outputs.json", "--report-dir", "reports"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and "ApiEndpoint" in err
    assert len(err.strip().splitlines()) == 1
