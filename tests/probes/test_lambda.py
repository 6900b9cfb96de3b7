"""Lambda probes against moto: state, runtime support, tracing, concurrency, failure destination,
event source mappings."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed, NotApplicable
from verify.polling import NotYet
from verify.probes import lambda_

REGION = "us-east-1"
FUNCTION = "sensor-processor-dev"


@pytest.fixture
def clients(moto_client: Callable[[str], Any]) -> dict[str, Any]:
    return {name: moto_client(name) for name in ("lambda", "iam", "sqs")}


def make_function(clients: dict[str, Any], *, runtime: str = "python3.12", tracing: str = "Active") -> None:
    role = clients["iam"].create_role(RoleName=f"role-{runtime}", AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    clients["lambda"].create_function(
        FunctionName=FUNCTION,
        Runtime=runtime,
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": buffer.getvalue()},
        TracingConfig={"Mode": tracing},
    )


def test_healthy_function(clients: dict[str, Any]) -> None:
    dlq = f"arn:aws:sqs:{REGION}:123456789012:sensor-ingestion-dlq-dev"
    make_function(clients)
    client = clients["lambda"]
    client.put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=100)
    # moto drops DeadLetterConfig (it never stores it), so the healthy function here uses the other
    # accepted form, an on-failure destination; the DeadLetterConfig form is covered below.
    client.put_function_event_invoke_config(
        FunctionName=FUNCTION, DestinationConfig={"OnFailure": {"Destination": dlq}}
    )
    assert lambda_.check_state(client, FUNCTION) == {"state": "Active", "last_update_status": "Successful"}
    config = lambda_.function_configuration(client, FUNCTION)
    # Supported, with its planned date (Lambda's runtimes page) shown, and far enough away for no warning.
    assert lambda_.check_runtime(config, FUNCTION, today=dt.date(2026, 11, 22)) == {
        "runtime": "python3.12",
        "deprecation_date": "2028-10-31",
    }
    assert lambda_.check_tracing(config, FUNCTION) == "Active"
    assert lambda_.check_reserved_concurrency(client, FUNCTION) == 100
    assert lambda_.check_failure_destination(client, config, FUNCTION) == {"on_failure_destination": dlq}


def test_missing_function_is_not_found(clients: dict[str, Any]) -> None:
    with pytest.raises(CheckFailed) as failed:
        lambda_.check_state(clients["lambda"], FUNCTION)
    assert str(failed.value) == (
        f"Lambda function `{FUNCTION}`: expected it to exist, got not found (GetFunctionConfiguration)"
    )


def test_deprecated_runtime_fails_with_its_date(clients: dict[str, Any]) -> None:
    make_function(clients, runtime="python3.8")
    config = lambda_.function_configuration(clients["lambda"], FUNCTION)
    with pytest.raises(CheckFailed) as failed:
        lambda_.check_runtime(config, FUNCTION, today=dt.date(2026, 11, 22))
    assert str(failed.value) == (
        f"Lambda function `{FUNCTION}`: expected a supported runtime, got python3.8, deprecated since "
        "2024-10-14 (no more security patches)"
    )


def test_runtime_near_its_deprecation_passes_with_a_warning() -> None:
    config = {"Runtime": "dotnet8"}
    evidence = lambda_.check_runtime(config, FUNCTION, today=dt.date(2026, 9, 1))
    assert evidence["warning"] == "dotnet8 is deprecated on 2026-11-10"
    with pytest.raises(CheckFailed):
        lambda_.check_runtime(config, FUNCTION, today=dt.date(2026, 11, 10))


def test_container_image_function_has_no_runtime_to_judge() -> None:
    with pytest.raises(NotApplicable, match="container image"):
        lambda_.check_runtime({"PackageType": "Image"}, FUNCTION)


def test_passthrough_tracing_fails(clients: dict[str, Any]) -> None:
    make_function(clients, tracing="PassThrough")
    config = lambda_.function_configuration(clients["lambda"], FUNCTION)
    with pytest.raises(CheckFailed) as failed:
        lambda_.check_tracing(config, FUNCTION)
    assert str(failed.value) == (
        f"Lambda function `{FUNCTION}`: expected X-Ray TracingConfig.Mode Active, got PassThrough"
    )


def test_no_reserved_concurrency_and_no_failure_destination_fail(clients: dict[str, Any]) -> None:
    make_function(clients)
    client = clients["lambda"]
    with pytest.raises(CheckFailed) as unreserved:
        lambda_.check_reserved_concurrency(client, FUNCTION)
    assert str(unreserved.value).startswith(
        f"Lambda function `{FUNCTION}`: expected reserved concurrency to be set, got none"
    )
    config = lambda_.function_configuration(client, FUNCTION)
    with pytest.raises(CheckFailed) as nowhere:
        lambda_.check_failure_destination(client, config, FUNCTION)
    assert "expected a DeadLetterConfig target or an on-failure destination, got neither" in str(
        nowhere.value
    )


def test_dead_letter_config_counts_without_asking_for_destinations() -> None:
    dlq = f"arn:aws:sqs:{REGION}:123456789012:sensor-ingestion-dlq-dev"
    config = {"DeadLetterConfig": {"TargetArn": dlq}}  # AWS's shape; the fake client is never called
    assert lambda_.check_failure_destination(None, config, FUNCTION) == {"dead_letter_target": dlq}


def test_on_failure_destination_counts(clients: dict[str, Any]) -> None:
    make_function(clients)
    client = clients["lambda"]
    target = f"arn:aws:sqs:{REGION}:123456789012:failures"
    client.put_function_event_invoke_config(
        FunctionName=FUNCTION, DestinationConfig={"OnFailure": {"Destination": target}}
    )
    config = lambda_.function_configuration(client, FUNCTION)
    assert lambda_.check_failure_destination(client, config, FUNCTION) == {"on_failure_destination": target}


def test_event_source_mappings(clients: dict[str, Any]) -> None:
    make_function(clients)
    client = clients["lambda"]
    with pytest.raises(NotApplicable, match="no event source mapping"):
        lambda_.check_event_sources_enabled(client, FUNCTION)
    queue_url = clients["sqs"].create_queue(QueueName="sensor-ingestion-dev")["QueueUrl"]
    queue_arn = clients["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    mapping = client.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=FUNCTION, Enabled=True
    )
    # moto reports "Enabled" at once; AWS passes through "Creating" first (covered below).
    assert lambda_.check_event_sources_enabled(client, FUNCTION) == [
        {"source": queue_arn, "state": "Enabled"}
    ]
    client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    with pytest.raises(CheckFailed) as failed:
        lambda_.check_event_sources_enabled(client, FUNCTION)
    assert str(failed.value).startswith(
        f"Lambda function `{FUNCTION}`: expected its event source mappings Enabled, got "
        "sensor-ingestion-dev is Disabled"
    )


class _Fake:
    """Answers moto never gives: transitional and failed states, as AWS reports them."""

    def __init__(self, **answer: Any) -> None:
        self.answer = answer

    def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
        return dict(self.answer)

    def get_paginator(self, _: str) -> Any:
        return self

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return [{"EventSourceMappings": self.answer["mappings"]}]


def test_transitional_states_wait_and_failed_states_fail() -> None:
    with pytest.raises(NotYet):
        lambda_.check_state(_Fake(State="Pending", LastUpdateStatus="Successful"), FUNCTION)
    with pytest.raises(NotYet):
        lambda_.check_state(_Fake(State="Active", LastUpdateStatus="InProgress"), FUNCTION)
    with pytest.raises(CheckFailed) as failed:
        lambda_.check_state(
            _Fake(State="Failed", StateReason="The role cannot be assumed", LastUpdateStatus="Failed"),
            FUNCTION,
        )
    assert str(failed.value) == (
        f"Lambda function `{FUNCTION}`: expected State Active, got Failed: The role cannot be assumed"
    )
    with pytest.raises(CheckFailed) as update:
        lambda_.check_state(_Fake(State="Active", LastUpdateStatus="Failed"), FUNCTION)
    assert (
        str(update.value) == f"Lambda function `{FUNCTION}`: expected LastUpdateStatus Successful, got Failed"
    )
    with pytest.raises(NotYet):
        lambda_.check_event_sources_enabled(
            _Fake(mappings=[{"EventSourceArn": "arn:aws:sqs:us-east-1:1:q", "State": "Creating"}]), FUNCTION
        )
