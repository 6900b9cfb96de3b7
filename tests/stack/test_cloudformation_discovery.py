"""A CloudFormation stack's resource list as a discovery source (verify/stack/cloudformation.py, walk.py).

The stand-in is a CloudFormation stack in moto whose outputs name only its raw table and its topic.
Its work queue, the queue's dead-letter queue, two functions, one declared log group and a role are
in its resource list only. `--stack` reads that list with the outputs; an outputs file leads to it
through one named resource (`DescribeStackResources(PhysicalResourceId=...)`, answered as AWS does:
tests/stack/cfn_answers.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers.moto import MOTO_REGION
from tests.helpers.stub_clients import stub_clients
from tests.stack.cfn_answers import answer_as_aws
from verify.aws.client import Aws
from verify.aws.guard import is_read_operation
from verify.stack import cloudformation
from verify.stack.inventory import Inventory, Resource, build_inventory
from verify.stack.outputs import StackResource, load_live_outputs, parse_outputs
from verify.stack.wiring import READ_OPERATIONS, describe, discover_wiring

STACK = "TelemetryStack"
ACCOUNT = "123456789012"
RAW, QUEUE, DLQ = "tlm-raw-readings", "tlm-work", "tlm-work-dlq"
INGEST, SWEEPER, ROLE = "tlm-ingest", "tlm-sweeper", "tlm-exec-role"
VIA = f"CloudFormation stack {STACK}"

TEMPLATE: dict[str, Any] = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "RawTable": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": RAW,
                "AttributeDefinitions": [{"AttributeName": "device_id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "device_id", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        },
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "tlm-alerts"}},
        "DeadLetters": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": DLQ}},
        "Work": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": QUEUE,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]},
                    "maxReceiveCount": 3,
                },
            },
        },
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"RoleName": ROLE, "AssumeRolePolicyDocument": {"Statement": []}},
        },
        "Ingest": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": INGEST,
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
            },
        },
        "Sweeper": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": SWEEPER,
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
            },
        },
        # Declared in the stack (a retention set in the template); the sweeper's is Lambda's own.
        "IngestLogs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": f"/aws/lambda/{INGEST}", "RetentionInDays": 14},
        },
    },
    "Outputs": {
        "RawTableName": {"Value": {"Ref": "RawTable"}},
        "AlertsTopicArn": {"Value": {"Ref": "Topic"}},
    },
}


@pytest.fixture
def stack(moto_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    answer_as_aws(monkeypatch)
    moto_client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))
    # Lambda makes a function's log group when it first runs: the sweeper's is not in the stack.
    moto_client("logs").create_log_group(logGroupName=f"/aws/lambda/{SWEEPER}")
    return {o["OutputKey"]: o["OutputValue"] for o in _outputs(moto_client)}


def _outputs(moto_client: Callable[[str], Any]) -> list[dict[str, str]]:
    described = moto_client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return list(described["Outputs"])


def _found(inventory: Inventory) -> dict[tuple[str, str], Resource]:
    return {(r.kind, r.name): r for r in inventory.resources if r.discovered}


def _live(aws: Aws) -> Inventory:
    return build_inventory(load_live_outputs(STACK, aws.client("cloudformation")))


def test_a_stack_run_lists_what_the_outputs_never_name(stack: dict[str, Any]) -> None:
    aws = Aws(MOTO_REGION, read_only=True)  # the read-only guard refuses any write
    inventory = discover_wiring(_live(aws), aws)

    found = _found(inventory)
    assert {name: r.found_via for (_, name), r in found.items()} == {
        DLQ: VIA,
        QUEUE: VIA,
        INGEST: VIA,
        SWEEPER: VIA,
        ROLE: VIA,
        f"/aws/lambda/{INGEST}": VIA,  # the stack declares it
        # Lambda made it, not the stack: found from the stack-listed function, and said so.
        f"/aws/lambda/{SWEEPER}": f"log group of function {SWEEPER} ({VIA})",
    }
    kinds = {name: kind for kind, name in found}
    assert kinds[DLQ] == kinds[QUEUE] == "sqs_queue"
    assert kinds[INGEST] == "lambda_function" and kinds[ROLE] == "iam_role"
    assert kinds[f"/aws/lambda/{INGEST}"] == "log_group"
    assert found[("sqs_queue", DLQ)].role == "dlq"  # its name says so: the DLQ checks apply to it
    assert found[("sqs_queue", DLQ)].url is not None  # the queue's physical id is its URL
    # The declared log group is reached from its function too: one resource, both relationships.
    # (Once, in a full suite run on a heavily loaded machine, only the first was there: the notes
    # say what the function's step met, should it happen again.)
    assert found[("log_group", f"/aws/lambda/{INGEST}")].relations == (
        VIA,
        f"log group of function {INGEST} ({VIA})",
    ), inventory.discovery.notes if inventory.discovery else None
    # Read with the outputs: the stack's list cost no call; only the functions were followed.
    report = inventory.discovery
    assert report is not None and report.stacks == (STACK,)
    assert not any(op.startswith("cloudformation:") for op, _ in report.calls_by_operation)
    assert report.found == len(found) == 7


def test_what_the_outputs_name_is_not_added_again(stack: dict[str, Any]) -> None:
    aws = Aws(MOTO_REGION, read_only=True)
    inventory = discover_wiring(_live(aws), aws)
    names = [(r.kind, r.name) for r in inventory.resources]
    assert len(names) == len(set(names))  # one resource, one row
    table = next(r for r in inventory.resources if r.name == RAW)
    assert (table.found_via, table.keys, table.relations) == ("output", ("RawTableName",), (VIA,))
    topic = next(r for r in inventory.resources if r.kind == "sns_topic")
    assert topic.keys == ("AlertsTopicArn",) and topic.relations == (VIA,)
    lines = describe(inventory)
    assert f"named by an output and listed by {VIA} too: RawTableName, AlertsTopicArn" in lines
    assert "named by an output and reached by the wiring too:" not in lines  # said once, not per row


def test_an_outputs_file_finds_its_stack_through_one_named_resource(stack: dict[str, Any]) -> None:
    aws = Aws(MOTO_REGION, read_only=True)
    before = aws.call_count()
    inventory = discover_wiring(build_inventory(parse_outputs(stack, "outputs.json")), aws)

    found = _found(inventory)
    assert {name for _, name in found} == {DLQ, QUEUE, INGEST, SWEEPER, ROLE} | {
        f"/aws/lambda/{INGEST}",
        f"/aws/lambda/{SWEEPER}",
    }
    assert found[("sqs_queue", DLQ)].found_via == VIA
    # The table (a name is its physical id) led to the stack: what the stack lists hangs from it.
    assert {r.origin for r in found.values()} == {"RawTableName"}
    report = inventory.discovery
    assert report is not None and report.stacks == (STACK,)
    calls = dict(report.calls_by_operation)
    assert calls["cloudformation:DescribeStackResources"] == 1  # one read found the whole stack
    assert "cloudformation:ListStackResources" not in calls  # fewer than 100 rows: all were there
    assert report.calls == aws.call_count() - before
    assert report.notes == ()


def test_an_app_of_two_stacks_has_both_lists_read(
    stack: dict[str, Any], moto_client: Callable[[str], Any]
) -> None:
    """A CDK app's outputs file names resources of two stacks: the second named resource is asked
    about because the first one's stack does not list it."""
    jobs: dict[str, Any] = {
        "Resources": {
            "JobsQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "tlm-jobs-queue"}},
            "JobsTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "tlm-jobs-done"}},
        },
        "Outputs": {"JobsQueueUrl": {"Value": {"Ref": "JobsQueue"}}},
    }
    moto_client("cloudformation").create_stack(StackName="TelemetryJobs", TemplateBody=json.dumps(jobs))
    jobs_url = moto_client("sqs").get_queue_url(QueueName="tlm-jobs-queue")["QueueUrl"]
    outputs = {"RawTableName": RAW, "JobsQueueUrl": jobs_url}
    inventory = discover_wiring(
        build_inventory(parse_outputs(outputs, "cdk-outputs.json")), Aws(MOTO_REGION, read_only=True)
    )
    report = inventory.discovery
    assert report is not None and report.stacks == (STACK, "TelemetryJobs")
    assert dict(report.calls_by_operation)["cloudformation:DescribeStackResources"] == 2
    found = _found(inventory)
    assert found[("sqs_queue", DLQ)].found_via == VIA
    assert found[("sqs_queue", DLQ)].origin == "RawTableName"
    topic = next(r for r in found.values() if r.kind == "sns_topic" and r.name == "tlm-jobs-done")
    assert (topic.found_via, topic.origin) == ("CloudFormation stack TelemetryJobs", "JobsQueueUrl")
    lines = describe(inventory)
    assert f"named by an output and listed by {VIA} too: RawTableName" in lines
    assert "named by an output and listed by CloudFormation stack TelemetryJobs too: JobsQueueUrl" in lines


def test_a_resource_no_stack_manages_is_a_note(moto_client: Callable[[str], Any], monkeypatch: Any) -> None:
    answer_as_aws(monkeypatch)
    sqs = moto_client("sqs")
    url = sqs.create_queue(QueueName="tf-work")["QueueUrl"]
    outputs = {"WorkQueueUrl": url, "JobsFunctionName": "tf-jobs"}
    inventory = discover_wiring(
        build_inventory(parse_outputs(outputs, "tf.json")), Aws(MOTO_REGION, read_only=True)
    )
    report = inventory.discovery
    assert report is not None and report.stacks == ()
    assert (
        "CloudFormation manages none of JobsFunctionName, WorkQueueUrl (asked by physical id): no stack's resource list was read"
        in report.notes
    )
    assert dict(report.calls_by_operation)["cloudformation:DescribeStackResources"] == 2  # one or two only
    assert not any(r.found_via.startswith("CloudFormation") for r in inventory.resources)


# ------------------------------------------------------------------ stubs: bound, paging, errors


def _factory(calls: list[str], answers: dict[str, dict[str, Callable[..., Any]]]) -> Callable[[str], Any]:
    return stub_clients(calls, answers)


def _row(n: int, kind: str = "AWS::Lambda::Function") -> dict[str, str]:
    return {
        "StackName": "big",
        "StackId": f"arn:aws:cloudformation:{MOTO_REGION}:{ACCOUNT}:stack/big/1",
        "LogicalResourceId": f"Fn{n}",
        "PhysicalResourceId": f"big-fn-{n}",
        "ResourceType": kind,
        "ResourceStatus": "CREATE_COMPLETE",
    }


def test_a_big_stack_is_paged_and_the_bound_holds() -> None:
    """100 rows from DescribeStackResources may hold back more: ListStackResources pages the rest;
    following 250 stack-listed functions stops at the bound, said in a note."""
    calls: list[str] = []

    def pages(**params: Any) -> dict[str, Any]:
        page = int(params.get("NextToken") or 0)
        rows = [_row(n) for n in range(page * 100, min(page * 100 + 100, 250))]
        return {"StackResourceSummaries": rows, **({"NextToken": str(page + 1)} if page < 2 else {})}

    answers: dict[str, dict[str, Callable[..., Any]]] = {
        "cloudformation": {
            "describe_stack_resources": lambda **_: {"StackResources": [_row(n) for n in range(100)]},
            "list_stack_resources": pages,
        },
        "lambda": {
            "get_function_configuration": lambda **_: {},
            "get_function_event_invoke_config": lambda **_: {},
        },
        "logs": {"describe_log_groups": lambda **_: {"logGroups": []}},
    }
    inventory = discover_wiring(
        build_inventory(parse_outputs({"JobsFunctionName": "big-fn-0"}, "o.json")),
        _factory(calls, answers),
        max_calls=20,
    )
    report = inventory.discovery
    assert report is not None
    assert calls.count("cloudformation.list_stack_resources") == 3
    assert len(calls) == report.calls == 20  # not 4 + 3 x 250
    assert report.bound_reached and report.stacks == ("big",)
    assert len(inventory.of_kind("lambda_function")) == 250  # every one listed; following them is cut
    assert any(n.startswith("discovery stopped at its bound (20 AWS calls") for n in report.notes)


def test_the_lookup_is_cut_by_the_bound_like_any_step() -> None:
    calls: list[str] = []
    answers = {"cloudformation": {"describe_stack_resources": lambda **_: {"StackResources": [_row(1)]}}}
    inventory = discover_wiring(
        build_inventory(parse_outputs({"JobsFunctionName": "big-fn-0"}, "o.json")),
        _factory(calls, answers),
        max_calls=0,
    )
    assert calls == []
    assert inventory.discovery is not None and inventory.discovery.bound_reached
    assert "CloudFormation stack of JobsFunctionName" in inventory.discovery.notes[-1]


def test_a_denied_lookup_is_a_note_not_a_stack_nobody_manages() -> None:
    def denied(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DescribeStackResources")

    answers = {"cloudformation": {"describe_stack_resources": denied}}
    inventory = discover_wiring(
        build_inventory(parse_outputs({"JobsFunctionName": "jobs"}, "o.json")), _factory([], answers)
    )
    assert inventory.discovery is not None
    notes = inventory.discovery.notes
    assert (
        "could not follow the CloudFormation stack of JobsFunctionName: "
        "DescribeStackResources answered AccessDenied"
    ) in notes
    assert not any("manages none" in n for n in notes)  # a refusal says nothing of who manages it


def test_rows_verify_does_not_check_are_left_out_and_nested_stacks_said() -> None:
    rows = [
        StackResource("Table", "t1", "AWS::DynamoDB::Table", "CREATE_COMPLETE"),
        StackResource("Perm", "p1", "AWS::Lambda::Permission", "CREATE_COMPLETE"),
        StackResource("Gone", "t2", "AWS::DynamoDB::Table", "DELETE_COMPLETE"),
        StackResource("Failed", "", "AWS::SQS::Queue", "CREATE_FAILED"),
        StackResource("Child", "arn:aws:cloudformation:x", "AWS::CloudFormation::Stack", "CREATE_COMPLETE"),
    ]
    listed = cloudformation.listed(rows)
    assert listed.resources == (("t1", "dynamodb_table"),)
    assert listed.nested == ("Child",)


def test_every_mapped_type_is_a_kind_the_checks_know() -> None:
    from verify.stack.kinds import KINDS

    assert set(cloudformation.KIND_OF_TYPE.values()) <= set(KINDS)
    assert len(cloudformation.KIND_OF_TYPE) >= 28


@pytest.mark.parametrize(("service", "operation"), sorted(cloudformation.READ_OPERATIONS))
def test_the_stack_is_only_read(service: str, operation: str) -> None:
    assert (service, operation) in READ_OPERATIONS  # discovery's one door admits it
    assert is_read_operation(service, "".join(p.capitalize() for p in operation.split("_")))


# ------------------------------------------------------------------ the command


def test_verify_discover_stack_lists_the_stack_by_default(
    stack: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    from verify.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["discover", "--stack", STACK, "--region", MOTO_REGION]) == 0
    printed = capsys.readouterr().out
    assert f"found by following the stack's wiring and {VIA}'s resource list: 7 resource(s)" in printed
    assert f"{DLQ}  <- {VIA}" in printed
    assert main(["discover", "--stack", STACK, "--region", MOTO_REGION, "--json"]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out)["resources"]}
    assert entries[DLQ]["found_via"] == VIA and entries[DLQ]["key"] is None
    assert main(["discover", "--stack", STACK, "--region", MOTO_REGION, "--no-follow"]) == 0
    assert DLQ not in capsys.readouterr().out  # the outputs' view: the stack's list not added


def test_what_the_stack_lists_gets_the_checks_an_output_would_give_it(
    stack: dict[str, Any], tmp_path: Path
) -> None:
    """The shipped suites are parametrized from the inventory by kind: a stack-listed DLQ, function
    and log group get their checks, under their names (no output key names them)."""
    from verify.config.settings import Config
    from verify.engine.plan import plan
    from verify.engine.session import start_session

    session = start_session(
        config=Config(),
        profile="smoke",
        region=MOTO_REGION,
        outputs_paths=[],
        stack=STACK,
        policy=None,
        report_dir=tmp_path,
        timeout=10,
    )
    ids = {spec.id for spec in plan(session)}
    for name in (DLQ, SWEEPER, f"/aws/lambda/{SWEEPER}"):
        assert any(i.endswith(f"[{name}]") for i in ids), name
    assert not any(
        i.endswith("[none]") and "test_lambda.py" in i for i in ids
    )  # not "the outputs name no function"
