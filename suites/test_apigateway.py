"""API Gateway REST APIs named by the outputs: the stage is deployed, every method demands SigV4,
the stage is throttled and traced."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Inventory, Resource, mark, probes


@mark.check("apigateway", title="API {key}: the stage of its URL is deployed")
@mark.resources("api")
def test_stage_exists(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    api = probes.apigateway.target(resource, inventory)
    client = aws.client("apigateway")
    probes.apigateway.get_rest_api(client, api.api_id, aws.client("apigatewayv2"))
    stage = probes.apigateway.get_stage(client, api)
    check.record("api_id", api.api_id)
    check.record("stage", api.stage)
    check.record("deployment", stage.get("deploymentId"))


@mark.check("apigateway", title="API {key}: every method requires AWS_IAM")
@mark.resources("api")
def test_methods_use_iam(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    api = probes.apigateway.target(resource, inventory)
    client = aws.client("apigateway")
    probes.apigateway.get_rest_api(client, api.api_id, aws.client("apigatewayv2"))
    methods = probes.apigateway.check_methods_iam(client, api.api_id)
    check.record("methods", [f"{m['method']} {m['path']}" for m in methods])


@mark.check("apigateway", category="posture", title="API {key}: the stage is throttled")
@mark.resources("api")
def test_throttling(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    api = probes.apigateway.target(resource, inventory)
    client = aws.client("apigateway")
    probes.apigateway.get_rest_api(client, api.api_id, aws.client("apigatewayv2"))
    stage = probes.apigateway.get_stage(client, api)
    check.record_all(probes.apigateway.check_throttling(client, api, stage))


@mark.check("apigateway", category="posture", title="API {key}: X-Ray tracing on the stage")
@mark.resources("api")
def test_stage_tracing(resource: Resource, aws: Aws, inventory: Inventory) -> None:
    api = probes.apigateway.target(resource, inventory)
    client = aws.client("apigateway")
    probes.apigateway.get_rest_api(client, api.api_id, aws.client("apigatewayv2"))
    probes.apigateway.check_tracing(api, probes.apigateway.get_stage(client, api))
