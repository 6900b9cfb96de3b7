"""Discovery that follows a stack's wiring (verify/stack/wiring.py), against a stand-in stack in moto.

The stand-in is not the sandbox's: a telemetry service whose outputs name only its HTTP endpoint, two
tables, a work queue and a topic. Its dead-letter queue, its four functions and their log groups are
one or two hops away, and discovery must find them, say how, add nothing twice, invent no log group,
keep to its call bound and only read.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers.moto import MOTO_REGION
from tests.helpers.stub_clients import stub_clients
from tests.stack.cfn_answers import answer_as_aws
from verify.aws.client import Aws
from verify.aws.guard import is_read_operation
from verify.errors import AwsAccessError
from verify.probes import logs as logs_probe
from verify.probes import sqs as sqs_probe
from verify.stack.inventory import Inventory, Resource, build_inventory
from verify.stack.outputs import parse_outputs
from verify.stack.wiring import MAX_CALLS, READ_OPERATIONS, describe, discover_wiring, follow_wiring

ACCOUNT = "123456789012"
WRITER, READER = "telemetry-writer-stg", "telemetry-reader-stg"
ENRICHER, AUDITOR = "telemetry-enricher-stg", "telemetry-stream-audit-stg"
QUEUE, DLQ = "telemetry-work-stg", "telemetry-work-dlq-stg"
RAW, DAILY = "telemetry-raw-stg", "telemetry-daily-stg"


@dataclass
class StandIn:
    outputs: dict[str, Any]
    api_id: str
    queue_url: str
    dlq_url: str


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def _function(clients: dict[str, Any], role: str, name: str) -> str:
    arn: str = clients["lambda"].create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _zip()},
    )["FunctionArn"]
    return arn


def _integration_uri(function_arn: str) -> str:
    return f"arn:aws:apigateway:{MOTO_REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def _rest_api(clients: dict[str, Any], routes: list[tuple[str, str, str]]) -> str:
    """A REST API whose routes (path part, method, function ARN) each integrate with a function."""
    apigw = clients["apigateway"]
    api_id: str = apigw.create_rest_api(name="telemetry-api-stg")["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    for part, method, function_arn in routes:
        resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=part)["id"]
        apigw.put_method(
            restApiId=api_id, resourceId=resource, httpMethod=method, authorizationType="AWS_IAM"
        )
        apigw.put_integration(
            restApiId=api_id,
            resourceId=resource,
            httpMethod=method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=_integration_uri(function_arn),
        )
    return api_id


@pytest.fixture
def clients(moto_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    answer_as_aws(monkeypatch)  # no stack holds the stand-in: CloudFormation says so as AWS does
    names = ("apigateway", "apigatewayv2", "dynamodb", "iam", "lambda", "logs", "sns", "sqs")
    return {name: moto_client(name) for name in names}


@pytest.fixture
def stand_in(clients: dict[str, Any]) -> StandIn:
    role = clients["iam"].create_role(RoleName="telemetry-stg", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arns = {name: _function(clients, role, name) for name in (WRITER, READER, ENRICHER, AUDITOR)}
    api_id = _rest_api(clients, [("readings", "POST", arns[WRITER]), ("history", "GET", arns[READER])])

    sqs = clients["sqs"]
    dlq_url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    dlq_arn = f"arn:aws:sqs:{MOTO_REGION}:{ACCOUNT}:{DLQ}"
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "4"})
    queue_url = sqs.create_queue(QueueName=QUEUE, Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{MOTO_REGION}:{ACCOUNT}:{QUEUE}"
    clients["lambda"].create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=ENRICHER)

    ddb = clients["dynamodb"]
    keys: dict[str, Any] = {
        "KeySchema": [{"AttributeName": "device_id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "device_id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    stream = ddb.create_table(
        TableName=RAW, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}, **keys
    )["TableDescription"]["LatestStreamArn"]
    ddb.create_table(TableName=DAILY, **keys)
    clients["lambda"].create_event_source_mapping(
        EventSourceArn=stream, FunctionName=AUDITOR, StartingPosition="LATEST"
    )
    # The reader has never run: Lambda has made no log group for it, and discovery must not invent one.
    for name in (WRITER, ENRICHER, AUDITOR):
        clients["logs"].create_log_group(logGroupName=f"/aws/lambda/{name}")
    topic = clients["sns"].create_topic(Name="telemetry-notify-stg")["TopicArn"]
    outputs = {
        "HttpEndpoint": f"https://{api_id}.execute-api.{MOTO_REGION}.amazonaws.com/stg/",
        "RawReadingsTable": RAW,
        "DailyRollupTable": DAILY,
        "WorkQueueUrl": queue_url,
        "NotifyTopicArn": topic,
    }
    return StandIn(outputs=outputs, api_id=api_id, queue_url=queue_url, dlq_url=dlq_url)


def _inventory(outputs: dict[str, Any]) -> Inventory:
    return build_inventory(parse_outputs(outputs, "telemetry-outputs.json"))


def _found(inventory: Inventory) -> dict[tuple[str, str], Resource]:
    return {(r.kind, r.name): r for r in inventory.resources if r.discovered}


def test_discovery_lists_the_dlq_functions_and_log_groups_found_by_relationship(stand_in: StandIn) -> None:
    aws = Aws(MOTO_REGION, read_only=True)  # the read-only guard would refuse any write
    before = aws.call_count()
    inventory = discover_wiring(_inventory(stand_in.outputs), aws)

    found = _found(inventory)
    assert {(kind, name): r.found_via for (kind, name), r in found.items()} == {
        ("sqs_queue", DLQ): "redrive policy of WorkQueueUrl",
        ("lambda_function", ENRICHER): "event-source mapping of WorkQueueUrl",
        ("lambda_function", WRITER): "integration of HttpEndpoint POST /readings",
        ("lambda_function", READER): "integration of HttpEndpoint GET /history",
        ("lambda_function", AUDITOR): "stream consumer of RawReadingsTable",
        ("log_group", f"/aws/lambda/{ENRICHER}"): (
            f"log group of function {ENRICHER} (event-source mapping of WorkQueueUrl)"
        ),
        ("log_group", f"/aws/lambda/{WRITER}"): (
            f"log group of function {WRITER} (integration of HttpEndpoint POST /readings)"
        ),
        ("log_group", f"/aws/lambda/{AUDITOR}"): (
            f"log group of function {AUDITOR} (stream consumer of RawReadingsTable)"
        ),
    }
    origins = {r.name: r.origin for r in found.values()}
    assert origins[DLQ] == origins[ENRICHER] == "WorkQueueUrl"
    assert origins[WRITER] == origins[f"/aws/lambda/{WRITER}"] == "HttpEndpoint"
    assert origins[AUDITOR] == "RawReadingsTable"
    assert found[("sqs_queue", DLQ)].role == "dlq"  # so "SQS dead-letter queue ... is empty" applies to it
    assert found[("sqs_queue", DLQ)].url == stand_in.dlq_url  # asked of SQS: the flow reads the DLQ by URL
    # The output-named resources are all still there, first, and marked as named by an output.
    assert [r.key for r in inventory.resources if not r.discovered] == list(stand_in.outputs)
    assert all(r.found_via == "output" for r in inventory.resources[: len(stand_in.outputs)])

    report = inventory.discovery
    assert report is not None
    assert report.found == len(found) == 8
    assert report.calls == aws.call_count() - before  # every call discovery made, and only those
    assert report.calls <= MAX_CALLS and not report.bound_reached
    # The only notes: no AWS error, no write refused by the read-only guard; no stack holds the
    # stand-in (asked of the first table and the queue); the reader's log group.
    assert report.notes == (
        "CloudFormation manages none of RawReadingsTable, WorkQueueUrl (asked by physical id): "
        "no stack's resource list was read",
        f"function {READER} (integration of HttpEndpoint GET /history): its log group "
        f"/aws/lambda/{READER} does not exist (not invented)",
    )


def test_a_log_group_that_does_not_exist_is_not_invented(stand_in: StandIn) -> None:
    inventory = discover_wiring(_inventory(stand_in.outputs), Aws(MOTO_REGION, read_only=True))
    groups = {r.name for r in inventory.of_kind("log_group")}
    assert f"/aws/lambda/{READER}" not in groups
    assert ("lambda_function", READER) in _found(inventory)  # its function is still found


def test_a_resource_an_output_names_is_not_added_again(stand_in: StandIn) -> None:
    outputs = {
        **stand_in.outputs,
        # The same resources, named the ways outputs name them: URL, ARN, bare name, log group name.
        "DeadLetterQueueUrl": stand_in.dlq_url,
        "WriterFunctionArn": f"arn:aws:lambda:{MOTO_REGION}:{ACCOUNT}:function:{WRITER}",
        "EnricherFunctionName": ENRICHER,
        "EnricherLogGroup": f"/aws/lambda/{ENRICHER}",
        "ApiId": stand_in.api_id,  # a second output naming the API: its routes are read once
    }
    inventory = discover_wiring(_inventory(outputs), Aws(MOTO_REGION, read_only=True))
    names = [(r.kind, r.name) for r in inventory.resources]
    for wanted in (("sqs_queue", DLQ), ("lambda_function", WRITER), ("lambda_function", ENRICHER)):
        assert names.count(wanted) == 1, wanted
    assert names.count(("log_group", f"/aws/lambda/{ENRICHER}")) == 1
    assert set(_found(inventory)) == {
        ("lambda_function", READER),
        ("lambda_function", AUDITOR),
        ("log_group", f"/aws/lambda/{WRITER}"),
        ("log_group", f"/aws/lambda/{AUDITOR}"),
    }
    assert inventory.discovery is not None
    assert dict(inventory.discovery.calls_by_operation)["apigateway:GetResources"] == 1
    # One resource each, carrying every output and every relationship that names it.
    named = {(r.kind, r.name): r for r in inventory.resources if not r.discovered}
    api = named[("api", stand_in.api_id)]
    assert api.keys == ("HttpEndpoint", "ApiId")
    dlq = named[("sqs_queue", DLQ)]
    assert (dlq.keys, dlq.relations) == (("DeadLetterQueueUrl",), ("redrive policy of WorkQueueUrl",))
    writer = named[("lambda_function", WRITER)]
    assert writer.relations == ("integration of HttpEndpoint POST /readings",)
    enricher = named[("lambda_function", ENRICHER)]
    assert enricher.relations == ("event-source mapping of WorkQueueUrl",)
    assert named[("log_group", f"/aws/lambda/{ENRICHER}")].relations == ("log group of EnricherFunctionName",)


def test_a_discovered_resource_lists_every_relationship_that_leads_to_it(stand_in: StandIn) -> None:
    inventory = discover_wiring(_inventory(stand_in.outputs), Aws(MOTO_REGION, read_only=True))
    for resource in _found(inventory).values():
        assert resource.relations[0] == resource.found_via, resource


def test_discovered_resources_are_reachable_by_the_shipped_probes(
    stand_in: StandIn, clients: dict[str, Any]
) -> None:
    """The DLQ found by ARN alone and a discovered log group are what the checks read, as if named."""
    inventory = discover_wiring(_inventory(stand_in.outputs), Aws(MOTO_REGION, read_only=True))
    clients["sqs"].send_message(QueueUrl=stand_in.dlq_url, MessageBody="poison")
    dlq = _found(inventory)[("sqs_queue", DLQ)]
    facts = sqs_probe.queue_facts(clients["sqs"], dlq)
    assert facts.count("ApproximateNumberOfMessages") == 1  # the backlog a run would now see
    group = _found(inventory)[("log_group", f"/aws/lambda/{WRITER}")]
    assert logs_probe.log_group(clients["logs"], group.name)["logGroupName"] == group.name


def test_discover_json_says_how_each_resource_was_found(stand_in: StandIn) -> None:
    inventory = discover_wiring(_inventory(stand_in.outputs), Aws(MOTO_REGION, read_only=True))
    shown: dict[str, Any] = json.loads(json.dumps(inventory.to_json()))  # as `discover --json` prints it
    entries = {e["name"]: e for e in shown["resources"]}
    assert entries[DLQ] == {
        "key": None,  # the contract: null when no output names it
        "value": f"arn:aws:sqs:{MOTO_REGION}:{ACCOUNT}:{DLQ}",
        "kind": "sqs_queue",
        "name": DLQ,
        "role": "dlq",
        "found_via": "redrive policy of WorkQueueUrl",
        "origin": "WorkQueueUrl",
        "keys": [],  # no output names it
        "relations": ["redrive policy of WorkQueueUrl"],
    }
    assert entries[RAW]["found_via"] == "output"  # the contract: "output" when an output names it
    assert entries[RAW]["keys"] == [entries[RAW]["key"]]
    assert inventory.discovery is not None
    assert shown["discovery"]["calls"] == inventory.discovery.calls


def test_an_http_api_v2_is_followed_through_its_routes(clients: dict[str, Any]) -> None:
    role = clients["iam"].create_role(RoleName="telemetry-v2", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = _function(clients, role, WRITER)
    v2 = clients["apigatewayv2"]
    api_id = v2.create_api(Name="telemetry-http-stg", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="POST /readings", Target=f"integrations/{integration}")
    outputs = {"HttpApiUrl": f"https://{api_id}.execute-api.{MOTO_REGION}.amazonaws.com/"}
    inventory = discover_wiring(_inventory(outputs), Aws(MOTO_REGION, read_only=True))
    found = _found(inventory)
    assert found[("lambda_function", WRITER)].found_via == "integration of HttpApiUrl POST /readings"
    assert inventory.discovery is not None
    assert any(f"/aws/lambda/{WRITER} does not exist" in note for note in inventory.discovery.notes)


# ------------------------------------------------------------------ bounds, errors, read-only: stubs


def _unmanaged(PhysicalResourceId: str) -> Any:  # boto3 passes it by this name
    raise ClientError(
        {"Error": {"Code": "ValidationError", "Message": f"Stack for {PhysicalResourceId} does not exist"}},
        "DescribeStackResources",
    )


def _factory(calls: list[str], answers: dict[str, dict[str, Callable[..., Any]]]) -> Callable[[str], Any]:
    # No stack holds a stub's resources unless the test says otherwise (tests/stack/test_cloudformation_discovery.py).
    answers = {"cloudformation": {"describe_stack_resources": _unmanaged}, **answers}
    return stub_clients(calls, answers)


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, operation)


def _raise(error: Exception) -> Callable[..., Any]:
    def answer(**_: Any) -> Any:
        raise error

    return answer


def _many_routes(count: int) -> Callable[..., Any]:
    def answer(**_: Any) -> dict[str, Any]:
        items = [
            {
                "path": f"/r{n}",
                "resourceMethods": {
                    "POST": {
                        "methodIntegration": {
                            "uri": _integration_uri(
                                f"arn:aws:lambda:{MOTO_REGION}:{ACCOUNT}:function:route-{n}"
                            )
                        }
                    }
                },
            }
            for n in range(count)
        ]
        return {"items": items}

    return answer


def test_a_stack_with_500_routes_keeps_to_the_call_bound() -> None:
    calls: list[str] = []
    answers: dict[str, dict[str, Callable[..., Any]]] = {
        "apigateway": {"get_resources": _many_routes(500)},
        "lambda": {
            "get_function_configuration": lambda **_: {},
            "get_function_event_invoke_config": _raise(_client_error("ResourceNotFoundException", "X")),
        },
        "logs": {"describe_log_groups": lambda **_: {"logGroups": []}},
    }
    outputs = {"ApiUrl": f"https://abcde12345.execute-api.{MOTO_REGION}.amazonaws.com/prod/"}
    inventory = discover_wiring(_inventory(outputs), _factory(calls, answers))
    report = inventory.discovery
    assert report is not None
    assert len(calls) == report.calls == MAX_CALLS  # not 1 + 3 x 500
    assert report.bound_reached
    assert report.found == 500  # one page named them all; following each is what the bound stops
    stop = next(n for n in report.notes if n.startswith("discovery stopped at its bound"))
    assert f"({MAX_CALLS} AWS calls" in stop and "more" in stop


def test_a_smaller_bound_is_kept_and_said() -> None:
    calls: list[str] = []
    answers = {"apigateway": {"get_resources": _many_routes(3)}, "lambda": {}, "logs": {}}
    outputs = {"ApiUrl": f"https://abcde12345.execute-api.{MOTO_REGION}.amazonaws.com/prod/"}
    inventory = discover_wiring(_inventory(outputs), _factory(calls, answers), max_calls=1)
    assert inventory.discovery is not None
    assert len(calls) == inventory.discovery.calls == 1
    assert inventory.discovery.bound_reached


def test_the_time_bound_stops_discovery_between_calls() -> None:
    now = [0.0]

    def slow_routes(**params: Any) -> dict[str, Any]:
        now[0] += 30.0  # one call outlasts the whole budget: nothing else is asked
        answer: dict[str, Any] = _many_routes(2)(**params)
        return answer

    calls: list[str] = []
    outputs = {"ApiUrl": f"https://abcde12345.execute-api.{MOTO_REGION}.amazonaws.com/prod/"}
    inventory = discover_wiring(
        _inventory(outputs),
        _factory(calls, {"apigateway": {"get_resources": slow_routes}}),
        clock=lambda: now[0],
    )
    assert calls == ["apigateway.get_resources"]
    assert inventory.discovery is not None and inventory.discovery.bound_reached


def test_an_aws_error_is_a_note_and_the_rest_is_still_followed() -> None:
    calls: list[str] = []
    answers: dict[str, dict[str, Callable[..., Any]]] = {
        "sqs": {"get_queue_attributes": _raise(_client_error("AccessDenied", "GetQueueAttributes"))},
        "dynamodb": {"describe_table": _raise(ConnectionError("endpoint unreachable"))},
        "apigateway": {"get_resources": _many_routes(1)},
        "lambda": {
            "get_function_configuration": lambda **_: {},
            "get_function_event_invoke_config": lambda **_: {},
        },
        "logs": {"describe_log_groups": lambda **_: {"logGroups": [{"logGroupName": "/aws/lambda/route-0"}]}},
    }
    outputs = {
        "QueueUrl": f"https://sqs.{MOTO_REGION}.amazonaws.com/{ACCOUNT}/{QUEUE}",
        "TableName": RAW,
        "ApiUrl": f"https://abcde12345.execute-api.{MOTO_REGION}.amazonaws.com/prod/",
    }
    inventory = discover_wiring(_inventory(outputs), _factory(calls, answers))
    report = inventory.discovery
    assert report is not None
    assert report.notes[:2] == (
        "could not follow the redrive policy and consumers of QueueUrl: GetQueueAttributes answered AccessDenied",
        "could not follow the stream consumers of TableName: ConnectionError: endpoint unreachable",
    )
    assert {(r.kind, r.name) for r in inventory.resources if r.discovered} == {
        ("lambda_function", "route-0"),
        ("log_group", "/aws/lambda/route-0"),
    }


def test_dead_letter_config_and_destinations_of_a_named_function() -> None:
    """moto drops DeadLetterConfig, so a stub answers as Lambda does."""
    calls: list[str] = []
    dlq = f"arn:aws:sqs:{MOTO_REGION}:{ACCOUNT}:{DLQ}"
    bus = f"arn:aws:events:{MOTO_REGION}:{ACCOUNT}:event-bus/telemetry-stg"
    answers: dict[str, dict[str, Callable[..., Any]]] = {
        "sqs": {"get_queue_url": lambda **_: {"QueueUrl": f"https://sqs.example/{DLQ}"}},
        "lambda": {
            "get_function_configuration": lambda **_: {
                "DeadLetterConfig": {"TargetArn": dlq},
                "LoggingConfig": {"LogGroup": "telemetry-shared-logs"},
            },
            "get_function_event_invoke_config": lambda **_: {
                "DestinationConfig": {"OnFailure": {"Destination": dlq}, "OnSuccess": {"Destination": bus}}
            },
        },
        "logs": {
            "describe_log_groups": lambda **_: {"logGroups": [{"logGroupName": "telemetry-shared-logs"}]}
        },
    }
    inventory = discover_wiring(_inventory({"WriterFunctionName": WRITER}), _factory(calls, answers))
    found = _found(inventory)
    assert found[("sqs_queue", DLQ)].found_via == "dead-letter config of WriterFunctionName"
    assert found[("sqs_queue", DLQ)].role == "dlq"
    assert found[("event_bus", "telemetry-stg")].found_via == "on-success destination of WriterFunctionName"
    # A custom log group from the function's LoggingConfig, not the /aws/lambda/ default.
    assert found[("log_group", "telemetry-shared-logs")].found_via == "log group of WriterFunctionName"
    assert len(found) == 3  # the DLQ named twice (dead-letter config and on-failure) is added once
    assert inventory.discovery is not None and inventory.discovery.notes == (
        "CloudFormation manages none of WriterFunctionName (asked by physical id): no stack's resource list was read",
    )
    assert calls.count("sqs.get_queue_url") == 1


def test_a_redrive_to_a_queue_that_is_gone_is_said(stand_in: StandIn, clients: dict[str, Any]) -> None:
    clients["sqs"].delete_queue(QueueUrl=stand_in.dlq_url)
    inventory = discover_wiring(_inventory(stand_in.outputs), Aws(MOTO_REGION, read_only=True))
    dlq = _found(inventory)[("sqs_queue", DLQ)]
    assert dlq.url is None  # kept by its ARN: "SQS dead-letter queue ... is empty" then fails it as not found
    assert inventory.discovery is not None
    assert f"redrive policy of WorkQueueUrl: queue {DLQ} does not exist" in inventory.discovery.notes


def test_a_lambda_integration_through_a_stage_variable_is_said_not_guessed() -> None:
    uri = _integration_uri(f"arn:aws:lambda:{MOTO_REGION}:{ACCOUNT}:function:${{stageVariables.fn}}")
    answers: dict[str, dict[str, Callable[..., Any]]] = {
        "apigateway": {
            "get_resources": lambda **_: {
                "items": [{"path": "/x", "resourceMethods": {"GET": {"methodIntegration": {"uri": uri}}}}]
            }
        }
    }
    outputs = {"ApiUrl": f"https://abcde12345.execute-api.{MOTO_REGION}.amazonaws.com/prod/"}
    inventory = discover_wiring(_inventory(outputs), _factory([], answers))
    assert not _found(inventory)
    assert inventory.discovery is not None
    assert inventory.discovery.notes == (
        "integration of ApiUrl GET /x: its Lambda integration names no function we can resolve",
    )


@pytest.mark.parametrize(("service", "operation"), sorted(READ_OPERATIONS))
def test_discovery_only_sends_reads(service: str, operation: str) -> None:
    api_name = "".join(part.capitalize() for part in operation.split("_"))
    assert is_read_operation(service, api_name)


def test_without_credentials_discovery_asks_nothing_and_says_why() -> None:
    class NoCredentials:
        def __init__(self) -> None:
            self.clients: list[str] = []

        def client(self, service: str) -> Any:
            self.clients.append(service)
            raise AssertionError("no client may be made")

        def credentials(self) -> Any:
            raise AwsAccessError("no AWS credentials found: set AWS_PROFILE")

    aws = NoCredentials()
    outputs = {"QueueUrl": f"https://sqs.{MOTO_REGION}.amazonaws.com/{ACCOUNT}/{QUEUE}"}
    inventory = discover_wiring(_inventory(outputs), aws)
    assert aws.clients == []
    assert inventory.discovery is not None
    assert inventory.discovery.calls == 0
    assert inventory.discovery.notes == (
        "discovery did not follow the stack's wiring: no AWS credentials found: set AWS_PROFILE",
    )
    assert [r.key for r in inventory.resources] == ["QueueUrl"]


def test_describe_lists_what_was_found_and_how(stand_in: StandIn) -> None:
    inventory = discover_wiring(_inventory(stand_in.outputs), Aws(MOTO_REGION, read_only=True))
    assert inventory.discovery is not None
    lines = describe(inventory)
    assert lines[0] == (
        f"found by following the stack's wiring: 8 resource(s), {inventory.discovery.calls} AWS call(s) "
        f"of at most {MAX_CALLS}"
    )
    assert f"  sqs_queue        dlq  {DLQ}  <- redrive policy of WorkQueueUrl" in lines  # columns aligned
    assert f"note: function {READER} (integration of HttpEndpoint GET /history): its log group " in "\n".join(
        lines
    )
    assert describe(_inventory(stand_in.outputs)) == []  # nothing followed, nothing said


def test_describe_says_which_output_named_resources_the_wiring_reaches_too(stand_in: StandIn) -> None:
    outputs = {
        **stand_in.outputs,
        "DeadLetterQueueUrl": stand_in.dlq_url,
        "DeadLetterQueueArn": (f"arn:aws:sqs:{MOTO_REGION}:{ACCOUNT}:{DLQ}"),
    }
    lines = describe(discover_wiring(_inventory(outputs), Aws(MOTO_REGION, read_only=True)))
    assert "named by an output and reached by the wiring too:" in lines
    assert "  DeadLetterQueueUrl, DeadLetterQueueArn  <- redrive policy of WorkQueueUrl" in lines


def test_follow_wiring_says_why_when_the_run_has_no_aws(stand_in: StandIn) -> None:
    """The session's lazy `aws` may refuse (no region): the inventory is still built, with one note."""

    def no_region() -> Aws:
        raise AwsAccessError("no AWS region: pass --region")

    inventory = follow_wiring(_inventory(stand_in.outputs), no_region)
    assert [r.key for r in inventory.resources] == list(stand_in.outputs)
    assert inventory.discovery is not None
    assert inventory.discovery.notes == (
        "discovery did not follow the stack's wiring: no AWS region: pass --region",
    )
    followed = follow_wiring(_inventory(stand_in.outputs), lambda: Aws(MOTO_REGION, read_only=True))
    assert followed.discovery is not None and followed.discovery.found == 8


def test_what_is_found_never_depends_on_thread_timing() -> None:
    """A queue's mapping and an API route lead to one function; the steps run at once, and the slower
    answer must not decide how it is said to be found (the queue's step comes first, so it wins)."""
    function = f"arn:aws:lambda:{MOTO_REGION}:{ACCOUNT}:function:shared-fn"
    queue_arn = f"arn:aws:sqs:{MOTO_REGION}:{ACCOUNT}:{QUEUE}"
    delays = iter([0.05, 0.0] * 10)

    def slow_first(answer: dict[str, Any]) -> Callable[..., Any]:
        def call(**_: Any) -> dict[str, Any]:
            time.sleep(next(delays))
            return answer

        return call

    answers: dict[str, dict[str, Callable[..., Any]]] = {
        "sqs": {"get_queue_attributes": lambda **_: {"Attributes": {"QueueArn": queue_arn}}},
        "lambda": {
            "list_event_source_mappings": slow_first({"EventSourceMappings": [{"FunctionArn": function}]}),
            "get_function_configuration": lambda **_: {},
            "get_function_event_invoke_config": lambda **_: {},
        },
        "apigateway": {
            "get_resources": lambda **_: {
                "items": [
                    {
                        "path": "/x",
                        "resourceMethods": {
                            "GET": {"methodIntegration": {"uri": _integration_uri(function)}}
                        },
                    }
                ]
            }
        },
        "logs": {"describe_log_groups": lambda **_: {"logGroups": []}},
    }
    outputs = {
        "QueueUrl": f"https://sqs.{MOTO_REGION}.amazonaws.com/{ACCOUNT}/{QUEUE}",
        "ApiUrl": f"https://abcde12345.execute-api.{MOTO_REGION}.amazonaws.com/prod/",
    }
    for _ in range(3):
        inventory = discover_wiring(_inventory(outputs), _factory([], answers))
        found = _found(inventory)
        assert found[("lambda_function", "shared-fn")].found_via == "event-source mapping of QueueUrl"
        assert len(found) == 1


def test_verify_discover_follows_by_default_and_lists_what_was_found_and_how(
    stand_in: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15's Done-when: plain `verify discover` on outputs naming only the API, two tables, the
    queue and the topic lists the DLQ, the functions and their log groups, found by relationship."""
    from verify.cli.main import main

    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(stand_in.outputs), encoding="utf-8")
    assert main(["discover", "--outputs", str(outputs)]) == 0
    printed = capsys.readouterr().out
    assert "found by following the stack's wiring: 8 resource(s)" in printed
    assert f"{DLQ}  <- redrive policy of WorkQueueUrl" in printed
    assert (
        f"/aws/lambda/{WRITER}  <- log group of function {WRITER} (integration of HttpEndpoint POST /readings)"
        in printed
    )
    table = printed.split("found by following")[0]
    assert DLQ not in table  # the outputs' table lists what the outputs name, nothing more
    assert main(["discover", "--outputs", str(outputs), "--follow"]) == 0  # said outright: the same
    assert capsys.readouterr().out == printed
    built: list[object] = []

    def no_aws(*args: object, **kwargs: object) -> None:
        built.append(args)
        raise AssertionError("--no-follow builds no AWS client")

    monkeypatch.setattr(Aws, "__init__", no_aws)
    assert main(["discover", "--outputs", str(outputs), "--no-follow"]) == 0  # the outputs' view only
    assert "found by following" not in capsys.readouterr().out
    assert built == []  # asked AWS nothing
