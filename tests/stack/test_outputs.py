"""The outputs reader: every format of CONTRACT.md, value normalization, and every bad-file sentence."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from verify.errors import OutputsError, UsageError
from verify.stack.outputs import (
    DEFAULT_OUTPUTS_PATH,
    MAX_OUTPUTS_BYTES,
    PLACEHOLDERS,
    Output,
    load_outputs,
    parse_outputs,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "outputs"


def assert_one_sentence(message: str, *fragments: str) -> None:
    """One sentence: no line breaks, one final stop, no second sentence starting inside."""
    assert "\n" not in message, message
    assert message.endswith("."), message
    assert not re.search(r"[.!?]\s+[A-Z]", message[:-1]), message
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def write(tmp_path: Path, text: str | bytes, name: str = "outputs.json") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def items(outputs: Any) -> dict[str, tuple[str, ...]]:
    return {o.key: o.items for o in outputs.outputs}


# ----------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("fixture", "fmt", "stack", "count"),
    [
        ("pipeline-flat.json", "flat", None, 19),
        ("pipeline-cdk.json", "cdk", "IotPipelineStack-dev", 14),
        ("platform-cdk-multi.json", "cdk", None, 15),
        ("pipeline-terraform.json", "terraform", None, 16),
        ("platform-cdktf.json", "cdk", "platform-dev", 15),
        ("pulumi-camel.json", "flat", None, 14),
        ("cfn-outputs-list.json", "cfn-outputs", None, 10),
        ("describe-stacks.json", "describe-stacks", "telemetry-prod", 9),
        ("localstack-flat.json", "flat", None, 12),
        ("lists-and-placeholders.json", "flat", None, 15),
    ],
)
def test_every_fixture_format_is_detected(fixture: str, fmt: str, stack: str | None, count: int) -> None:
    outputs = load_outputs(FIXTURES / fixture)
    assert (outputs.format, outputs.stack, len(outputs.outputs)) == (fmt, stack, count)
    assert outputs.source == str(FIXTURES / fixture)


def test_flat_values_of_every_type() -> None:
    document = {
        "Name": "raw-sensor-data-dev",
        "Port": 5432,
        "Ratio": 0.5,
        "Enabled": False,
        "Subnets": ["subnet-a", "subnet-b"],
        "Encoded": '["q-1", "q-2"]',
        "Config": '{"b": 1, "a": [1, 2]}',
    }
    outputs = parse_outputs(document, "mem.json")
    assert outputs.format == "flat"
    assert items(outputs) == {
        "Name": ("raw-sensor-data-dev",),
        "Port": ("5432",),
        "Ratio": ("0.5",),
        "Enabled": ("false",),
        "Subnets": ("subnet-a", "subnet-b"),
        "Encoded": ("q-1", "q-2"),
        "Config": ('{"b":1,"a":[1,2]}',),
    }
    port = outputs.get("Port")
    assert port is not None and port.value == 5432


def test_terraform_inner_value_sensitive_flag_and_types() -> None:
    outputs = load_outputs(FIXTURES / "pipeline-terraform.json")
    password = outputs.get("db_password")
    assert password is not None
    assert (password.value, password.sensitive, password.missing) == ("s3cr3t-Pa55word!", True, False)
    subnets = outputs.get("private_subnet_ids")
    assert subnets is not None and subnets.items == ("subnet-0aaa1111bbbb2222c", "subnet-0ccc3333dddd4444e")
    retention = outputs.get("retention_days")
    assert retention is not None and (retention.value, retention.items) == (30, ("30",))
    assert not any(o.sensitive for o in outputs.outputs if o.key != "db_password")


def test_terraform_with_only_value_fields_and_object_values() -> None:
    document = {"tags": {"value": {"env": "dev"}}, "ids": {"value": ["a", "b"], "type": ["list", "string"]}}
    outputs = parse_outputs(document, "tf.json")
    assert outputs.format == "terraform"
    assert items(outputs) == {"tags": ('{"env":"dev"}',), "ids": ("a", "b")}


def test_cdk_single_stack_sets_the_stack_name() -> None:
    outputs = parse_outputs({"App-dev": {"QueueUrl": "https://sqs.x/1/q"}}, "cdk.json")
    assert (outputs.format, outputs.stack, items(outputs)) == (
        "cdk",
        "App-dev",
        {"QueueUrl": ("https://sqs.x/1/q",)},
    )


def test_cdk_many_stacks_merge_when_keys_are_distinct() -> None:
    outputs = load_outputs(FIXTURES / "platform-cdk-multi.json")
    assert outputs.stack is None
    assert outputs.get("VpcId") is not None and outputs.get("EventBusName") is not None


def test_cdk_stack_argument_picks_one_stack() -> None:
    outputs = load_outputs(FIXTURES / "platform-cdk-multi.json", stack="PlatformNetwork-staging")
    assert outputs.stack == "PlatformNetwork-staging"
    assert [o.key for o in outputs.outputs] == [
        "VpcId",
        "PrivateSubnetIds",
        "DatabaseSecurityGroupId",
        "NetworkRegion",
    ]


def test_cdk_colliding_keys_are_namespaced_by_stack(tmp_path: Path) -> None:
    document = {"A": {"TableName": "t1", "OnlyA": "x"}, "B": {"TableName": "t2"}}
    path = write(tmp_path, json.dumps(document))
    outputs = load_outputs(path)
    assert items(outputs) == {"A.TableName": ("t1",), "OnlyA": ("x",), "B.TableName": ("t2",)}
    assert [(o.stack, o.own_key) for o in outputs.outputs] == [
        ("A", "TableName"),
        ("A", "OnlyA"),
        ("B", "TableName"),
    ]
    picked = load_outputs(path, stack="B")
    assert (picked.outputs[0].key, picked.outputs[0].items) == ("TableName", ("t2",))


def test_cdk_absent_stack_lists_the_stacks_found(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"Beta": {"K": "v"}, "Alpha": {"K2": "v"}}))
    with pytest.raises(OutputsError) as caught:
        load_outputs(path, stack="Gamma")
    assert_one_sentence(str(caught.value), str(path), "'Gamma'", "Alpha, Beta")


def test_cdktf_stack_with_terraform_entries() -> None:
    document = {"stack": {"db_password": {"value": "x", "sensitive": True}, "url": {"value": "https://h/"}}}
    outputs = parse_outputs(document, "cdktf.json")
    assert outputs.format == "cdk" and outputs.stack == "stack"
    password = outputs.get("db_password")
    assert password is not None and password.sensitive


def test_cloudformation_outputs_list() -> None:
    document = [{"OutputKey": "A", "OutputValue": "x", "Description": "d"}, {"OutputKey": "B"}]
    outputs = parse_outputs(document, "cfn.json")
    assert outputs.format == "cfn-outputs"
    assert [(o.key, o.items, o.missing) for o in outputs.outputs] == [("A", ("x",), False), ("B", (), True)]


def test_describe_stacks_many_stacks_follow_the_cdk_rule() -> None:
    document = {
        "Stacks": [
            {"StackName": "one", "Outputs": [{"OutputKey": "Same", "OutputValue": "1"}]},
            {"StackName": "two", "Outputs": [{"OutputKey": "Same", "OutputValue": "2"}]},
        ]
    }
    assert items(parse_outputs(document, "ds.json")) == {"one.Same": ("1",), "two.Same": ("2",)}
    picked = parse_outputs(document, "ds.json", stack="two")
    assert (picked.format, picked.stack, items(picked)) == ("describe-stacks", "two", {"Same": ("2",)})
    with pytest.raises(OutputsError) as caught:
        parse_outputs(document, "ds.json", stack="three")
    assert_one_sentence(str(caught.value), "ds.json", "one, two")


def test_a_single_described_stack_is_accepted() -> None:
    document = {"StackName": "solo", "Outputs": [{"OutputKey": "K", "OutputValue": "v"}]}
    outputs = parse_outputs(document, "solo.json")
    assert (outputs.format, outputs.stack) == ("describe-stacks", "solo")


def test_a_flat_output_called_stacks_is_not_a_describe_stacks_response() -> None:
    outputs = parse_outputs({"Stacks": ["network", "data"], "Region": "us-east-1"}, "f.json")
    assert outputs.format == "flat" and items(outputs)["Stacks"] == ("network", "data")


def test_flat_file_whose_keys_look_like_terraform_fields_stays_flat() -> None:
    outputs = parse_outputs({"value": "x", "type": "y"}, "f.json")
    assert outputs.format == "flat" and items(outputs) == {"value": ("x",), "type": ("y",)}


def test_flat_list_of_shallow_objects_is_a_value() -> None:
    outputs = parse_outputs({"Endpoints": [{"host": "h", "port": 1}]}, "f.json")
    assert items(outputs) == {"Endpoints": ('{"host":"h","port":1}',)}


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, b'\xef\xbb\xbf{"QueueName": "q"}')
    assert items(load_outputs(path)) == {"QueueName": ("q",)}


def test_odd_unicode_keys_do_not_crash(tmp_path: Path) -> None:
    document = {"Tabl\u00e9Name": "t", "\U0001f680Rocket": "r", "\u200b": "z", "キュー": "q", "a\u0000b": "n"}
    path = write(tmp_path, json.dumps(document, ensure_ascii=False))
    outputs = load_outputs(path)
    assert [o.key for o in outputs.outputs] == list(document)


def test_default_path_is_the_cdk_convention() -> None:
    assert DEFAULT_OUTPUTS_PATH == "cfn-outputs/flat-outputs.json"


# ----------------------------------------------------------------------------- items and placeholders


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("subnet-a,subnet-b", ("subnet-a", "subnet-b")),
        ("sg-1, sg-2", ("sg-1", "sg-2")),
        ("sg-1 , sg-2 ,", ("sg-1", "sg-2")),
        (
            "arn:aws:sqs:us-east-1:123456789012:a,arn:aws:sqs:us-east-1:123456789012:b",
            ("arn:aws:sqs:us-east-1:123456789012:a", "arn:aws:sqs:us-east-1:123456789012:b"),
        ),
        ("db.example.com:5432", ("db.example.com:5432",)),
        ("h1:6379,h2:6379", ("h1:6379", "h2:6379")),
        ("Hello, world!", ("Hello, world!",)),
        ("a comma, in prose", ("a comma, in prose",)),
        ('["a", "b", null, "N/A", 3]', ("a", "b", "3")),
        ("[not json", ("[not json",)),
        ('{"k": "v"}', ('{"k":"v"}',)),
        ("  padded  ", ("padded",)),
        (["x", "", "unknown", None, 7, True, {"k": 1}, ["n"]], ("x", "7", "true", '{"k":1}', '["n"]')),
        (0, ("0",)),
        (True, ("true",)),
        ("subnet-a,unknown", ("subnet-a",)),
        ("n/a, tbd", ()),
        ([], ()),
        (["", "none", None], ()),
        ("[]", ()),
        (None, ()),
    ],
)
def test_item_normalization(value: object, expected: tuple[str, ...]) -> None:
    output = parse_outputs({"Key": value}, "f.json").outputs[0]
    assert output.items == expected
    assert output.missing is (expected == ())


@pytest.mark.parametrize("placeholder", sorted(PLACEHOLDERS))
def test_every_placeholder_is_missing_in_any_case(placeholder: str) -> None:
    for variant in {placeholder, placeholder.upper(), placeholder.title(), f"  {placeholder} "}:
        output = parse_outputs({"TopicArn": variant}, "f.json").outputs[0]
        assert output.missing, variant
        assert output.items == ()


def test_placeholders_are_exactly_the_documented_set() -> None:
    assert {
        "", "unknown", "n/a", "na", "none", "null", "undefined", "tbd", "todo", "placeholder", "changeme", "-",
    } == PLACEHOLDERS  # fmt: skip


def test_present_and_missing_split_the_outputs() -> None:
    outputs = load_outputs(FIXTURES / "lists-and-placeholders.json")
    missing = [o.key for o in outputs.missing()]
    assert missing == [
        "DeadLetterQueueUrl",
        "AlertsTopicArn",
        "ArchiveBucketName",
        "ReportsFunctionName",
        "OptionalStreams",
        "EmptyList",
    ]
    assert len(outputs.present()) + len(missing) == len(outputs.outputs)
    assert outputs.get("NoSuchKey") is None


@pytest.mark.parametrize(
    ("key", "value", "sensitive"),
    [
        ("db_password", "p", True),
        ("ApiKey", "k", True),
        ("AuthToken", "t", True),
        ("ClientSecret", "s", True),
        ("DbSecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf", False),
        ("DbSecretName", "db-creds", False),
        ("DbPasswordParameterName", "/app/db/password", False),
        ("db_secret", "arn:aws:secretsmanager:us-east-1:123456789012:secret:y", False),
        ("TokenizerFunctionName", "fn", False),
        ("RawTableName", "t", False),
    ],
)
def test_secret_looking_keys_are_sensitive(key: str, value: str, sensitive: bool) -> None:
    assert parse_outputs({key: value}, "f.json").outputs[0].sensitive is sensitive


def test_secret_values_cover_every_string_form() -> None:
    document = {
        "db_password": {"value": "hunter2", "sensitive": True},
        "api_tokens": {"value": ["tok-1", "tok-2"], "sensitive": True},
        "port": {"value": 5432, "sensitive": True},
        "table": {"value": "t", "sensitive": False},
        "nothing": {"value": None, "sensitive": True},
    }
    secrets = parse_outputs(document, "tf.json").secret_values()
    assert secrets == {"hunter2", '["tok-1","tok-2"]', "tok-1", "tok-2", "5432"}


def test_output_is_frozen() -> None:
    output = Output(key="k", value="v", items=("v",))
    with pytest.raises(AttributeError):
        output.key = "other"  # type: ignore[misc]


# ----------------------------------------------------------------------------- bad files


def test_absent_file_says_how_to_produce_one(tmp_path: Path) -> None:
    path = tmp_path / "cfn-outputs" / "flat-outputs.json"
    with pytest.raises(OutputsError) as caught:
        load_outputs(path)
    assert_one_sentence(
        str(caught.value), str(path), "cdk deploy --outputs-file", "terraform output -json", "--stack"
    )
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(OutputsError) as caught:
        load_outputs(tmp_path)
    assert_one_sentence(str(caught.value), str(tmp_path), "directory")


def test_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '{"K": "v"}')

    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    # chmod is no use when the suite runs as root, so the refusal is simulated at the open call.
    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(OutputsError) as caught:
        load_outputs(path)
    assert_one_sentence(str(caught.value), str(path), "cannot be read", "Permission denied")


def test_too_large_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_OUTPUTS_BYTES + 1)  # sparse: costs no disk

    def never(self: Path, *args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened although its size already disqualifies it")

    monkeypatch.setattr(Path, "open", never)
    with pytest.raises(OutputsError) as caught:
        load_outputs(path)
    assert_one_sentence(str(caught.value), str(path), "too large", "20 MB")


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("", ["is empty", "cdk deploy --outputs-file"]),
        ("  \n\t \n", ["is empty"]),
        (b'{"K": "caf\xe9"}', ["not UTF-8", "offset 10"]),
        (b"\xff\xfe{\x00}\x00", ["not UTF-8", "offset 0"]),
        (b'\xef\xbb\xbf{"K": "\xc3"}', ["not UTF-8", "offset 10"]),
        ('{"K": "v",\n  "L": }', ["not valid JSON", "line 2, column 8"]),
        ('{"K": "v"', ["not valid JSON", "line 1, column 10"]),
        ("{'K': 'v'}", ["not valid JSON", "line 1, column 2"]),
        ("null", ["JSON null"]),
        ("42", ["JSON number"]),
        ('"just a string"', ["JSON string"]),
        ("true", ["JSON boolean"]),
        ("[1, 2]", ["not CloudFormation Outputs"]),
        ('[{"Key": "a"}]', ["not CloudFormation Outputs"]),
        ("[]", ["empty list"]),
        ("{}", ["no outputs at all"]),
        ('{"Stack": {}}', ["no outputs at all"]),
        ('{"Stacks": [{"Outputs": []}]}', ["without a StackName"]),
        ('{"Stacks": []}', ["no stacks"]),
        ("[" * 100_000, ["nested too deeply"]),
        ('{"K": ' + "7" * 5000 + "}", ["number too long"]),
    ],
)
def test_bad_content_is_one_sentence_naming_the_file(
    tmp_path: Path, content: str | bytes, fragments: list[str]
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(OutputsError) as caught:
        load_outputs(path)
    assert_one_sentence(str(caught.value), str(path), *fragments)


PACKAGE_JSON = {
    "name": "iot-pipeline",
    "version": "1.0.0",
    "scripts": {"build": "tsc", "deploy": "cdk deploy"},
    "dependencies": {"aws-cdk-lib": "^2.140.0"},
}


@pytest.mark.parametrize(
    ("document", "where"),
    [
        (PACKAGE_JSON, "'scripts'"),
        ({"compilerOptions": {"paths": {"@/*": ["src/*"]}}}, "'compilerOptions.paths'"),
        ({"Stack": {"K": {"deep": {"deeper": 1}}}}, "'Stack.K'"),
        ({"K": [[["three", "levels"]]]}, "'K'"),
        ({"K": [{"nested": {"object": 1}}]}, "'K'"),
    ],
)
def test_nested_documents_are_not_outputs(document: object, where: str) -> None:
    with pytest.raises(OutputsError) as caught:
        parse_outputs(document, "package.json")
    assert_one_sentence(str(caught.value), "package.json", "does not look like stack outputs", where)


def test_keys_that_are_not_strings() -> None:
    with pytest.raises(OutputsError) as caught:
        parse_outputs({1: "x"}, "weird.json")
    assert_one_sentence(str(caught.value), "weird.json", "not a string")
    with pytest.raises(OutputsError, match="of stack 'S'"):
        parse_outputs({"S": {2: "x"}}, "weird.json")


# ----------------------------------------------------------------------------- speed


def test_a_five_megabyte_file_is_read_whole(tmp_path: Path) -> None:
    # How fast is measured in bench/, not here: a timed unit test fails on a busy machine, not on a
    # slow reader. What a test can hold is that a large file is read completely and correctly.
    document = {
        f"Resource{i}TableName": (f"table-{i}-dev" if i % 3 else f"subnet-{i:08x},subnet-{i + 1:08x}")
        for i in range(120_000)
    }
    path = write(tmp_path, json.dumps(document))
    assert path.stat().st_size > 5 * 1024 * 1024
    outputs = load_outputs(path)
    assert len(outputs.outputs) == 120_000
    assert outputs.get("Resource1TableName") is not None
    assert outputs.get("Resource1TableName").items == ("table-1-dev",)  # type: ignore[union-attr]
    assert outputs.get("Resource3TableName").items == ("subnet-00000003", "subnet-00000004")  # type: ignore[union-attr]
