"""Lambda functions named by the outputs: active, on a supported runtime, traced, bounded,
with somewhere for failures to go, and their event sources switched on."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Resource, Waiter, mark, probes


@mark.check("lambda", title="Lambda function {name} is Active and its last update Successful")
@mark.resources("lambda_function")
def test_function_active(resource: Resource, aws: Aws, eventually: Waiter, check: CheckRecorder) -> None:
    client = aws.client("lambda")
    polled = eventually(
        lambda: probes.lambda_.check_state(client, resource.name),
        what=f"Lambda function `{resource.name}`: expected State Active, LastUpdateStatus Successful",
        resource=resource.key,
    )
    check.record_all(polled.value)


@mark.check("lambda", category="posture", title="Lambda function {name} runs on a supported runtime")
@mark.resources("lambda_function")
def test_runtime_supported(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    config = probes.lambda_.function_configuration(aws.client("lambda"), resource.name)
    check.record_all(probes.lambda_.check_runtime(config, resource.name))


@mark.check("lambda", category="posture", title="Lambda function {name} has X-Ray tracing Active")
@mark.resources("lambda_function")
def test_tracing_active(resource: Resource, aws: Aws) -> None:
    config = probes.lambda_.function_configuration(aws.client("lambda"), resource.name)
    probes.lambda_.check_tracing(config, resource.name)


@mark.check("lambda", category="posture", title="Lambda function {name} has reserved concurrency")
@mark.resources("lambda_function")
def test_reserved_concurrency(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    check.record(
        "reserved_concurrency", probes.lambda_.check_reserved_concurrency(aws.client("lambda"), resource.name)
    )


@mark.check("lambda", category="posture", title="Lambda function {name} sends failures somewhere")
@mark.resources("lambda_function")
def test_failure_destination(resource: Resource, aws: Aws, check: CheckRecorder) -> None:
    client = aws.client("lambda")
    config = probes.lambda_.function_configuration(client, resource.name)
    check.record_all(probes.lambda_.check_failure_destination(client, config, resource.name))


@mark.check("lambda", title="event source mappings of Lambda function {name} are Enabled")
@mark.resources("lambda_function")
def test_event_sources_enabled(
    resource: Resource, aws: Aws, eventually: Waiter, check: CheckRecorder
) -> None:
    client = aws.client("lambda")
    polled = eventually(
        lambda: probes.lambda_.check_event_sources_enabled(client, resource.name),
        what=f"Lambda function `{resource.name}`: expected its event source mappings Enabled",
        resource=resource.key,
    )
    check.record("mappings", polled.value)
