"""API Gateway REST and HTTP APIs named by the outputs: the stage is deployed, every method (an HTTP
API's every route) demands SigV4, the stage is throttled and (REST APIs) traced."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Inventory, Resource, mark, probes


def _is_http(api: probes.apigateway.ApiTarget, aws: Aws) -> bool:
    """Whether the API is an HTTP API (v2): the REST rows ask exactly what they always asked."""
    kind = probes.apigateway.api_kind(aws.client("apigateway"), api.api_id, aws.client("apigatewayv2"))
    return kind == probes.apigateway.HTTP


@mark.check("apigateway", title="API {key}: the stage of its URL is deployed")
@mark.resources("api")
def test_stage_exists(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    """API <key>: the stage of its URL is deployed (an HTTP API: the stage its URL names, else `$default`, with a deployment or AutoDeploy)"""
    api = probes.apigateway.target(resource, inventory)
    if _is_http(api, aws):
        v2 = aws.client("apigatewayv2")
        http_stage = probes.apigateway.get_http_stage(v2, api)
        check.record("api_id", api.api_id)
        check.record("protocol", probes.apigateway.HTTP)
        check.record("stage", http_stage.get("StageName"))
        check.record("deployment", probes.apigateway.check_http_deployed(api, http_stage))
        return
    client = aws.client("apigateway")
    stage = probes.apigateway.get_stage(client, api)
    check.record("api_id", api.api_id)
    check.record("stage", api.stage)
    check.record("deployment", stage.get("deploymentId"))


@mark.check("apigateway", title="API {key}: every method requires AWS_IAM")
@mark.resources("api")
def test_methods_use_iam(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    """API <key>: every method requires AWS_IAM (an HTTP API: every route, `$default` included; CORS `OPTIONS` aside)"""
    api = probes.apigateway.target(resource, inventory)
    if _is_http(api, aws):
        routes = probes.apigateway.check_routes_iam(aws.client("apigatewayv2"), api.api_id)
        check.record("protocol", probes.apigateway.HTTP)
        check.record("routes", [r["route"] for r in routes])
        return
    client = aws.client("apigateway")
    methods = probes.apigateway.check_methods_iam(client, api.api_id)
    check.record("methods", [f"{m['method']} {m['path']}" for m in methods])


@mark.check("apigateway", category="posture", title="API {key}: the stage is throttled")
@mark.resources("api")
def test_throttling(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    """API <key>: the stage is throttled (an HTTP API: by its default route settings, or every route's own)"""
    api = probes.apigateway.target(resource, inventory)
    if _is_http(api, aws):
        v2 = aws.client("apigatewayv2")
        http_stage = probes.apigateway.get_http_stage(v2, api)
        check.record_all(probes.apigateway.check_http_throttling(v2, api, http_stage))
        return
    client = aws.client("apigateway")
    stage = probes.apigateway.get_stage(client, api)
    check.record_all(probes.apigateway.check_throttling(client, api, stage))


@mark.check("apigateway", category="posture", title="API {key}: X-Ray tracing on the stage")
@mark.resources("api")
def test_stage_tracing(resource: Resource, aws: Aws, inventory: Inventory) -> None:
    """API <key>: X-Ray tracing on the stage (REST APIs; an HTTP API has none: skipped, saying so)"""
    api = probes.apigateway.target(resource, inventory)
    if _is_http(api, aws):
        raise probes.apigateway.http_tracing_not_applicable(api)
    client = aws.client("apigateway")
    probes.apigateway.check_tracing(api, probes.apigateway.get_stage(client, api))
