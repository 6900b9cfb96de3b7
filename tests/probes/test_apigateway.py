"""API Gateway probes: which API and stage an output names (pure), and the stage, IAM, throttling and
tracing checks against moto."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed, NotApplicable
from verify.probes import apigateway
from verify.probes.apigateway import ApiTarget
from verify.stack.inventory import Inventory, classify

REGION = "us-east-1"


def inventory(**outputs: str) -> Inventory:
    return Inventory(
        region=REGION, resources=tuple(classify(k, v) for k, v in outputs.items()), missing=(), source="test"
    )


def api(inv: Inventory, key: str) -> Any:
    return next(r for r in inv.resources if r.key == key)


def test_execute_api_url_names_id_and_stage() -> None:
    inv = inventory(ApiUrl="https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/")
    target = apigateway.target(api(inv, "ApiUrl"), inv)
    assert target == ApiTarget(api_id="abc123defg", stage="prod", source="ApiUrl")


def test_emulator_url_takes_the_id_from_a_sibling_and_the_id_output_defers_to_it() -> None:
    inv = inventory(ApiEndpoint="http://127.0.0.1:4010/dev/", ApiId="k2x9q8w7e6", ApiStageName="dev")
    endpoint, api_id = api(inv, "ApiEndpoint"), api(inv, "ApiId")
    assert apigateway.rest_api_id(endpoint, inv) == "k2x9q8w7e6"
    assert apigateway.target(endpoint, inv) == ApiTarget("k2x9q8w7e6", "dev", "ApiEndpoint")
    with pytest.raises(NotApplicable, match="checked through output `ApiEndpoint`"):
        apigateway.target(api_id, inv)


def test_custom_domain_prefers_the_stage_output_over_the_base_path() -> None:
    inv = inventory(ApiUrl="https://api.example.com/v1/", RestApiId="k2x9q8w7e6", StageName="live")
    assert apigateway.target(api(inv, "ApiUrl"), inv).stage == "live"


def test_url_without_any_api_id_is_not_applicable() -> None:
    inv = inventory(ApiEndpoint="http://127.0.0.1:4010/dev/")
    assert apigateway.rest_api_id(api(inv, "ApiEndpoint"), inv) is None
    with pytest.raises(NotApplicable, match="no output names the API id"):
        apigateway.target(api(inv, "ApiEndpoint"), inv)


def test_lambda_function_url_is_not_api_gateway() -> None:
    inv = inventory(FunctionUrl="https://abcdefghij.lambda-url.us-east-1.on.aws/", ApiId="k2x9q8w7e6")
    assert apigateway.rest_api_id(api(inv, "FunctionUrl"), inv) is None


@pytest.fixture
def client(moto_client: Callable[[str], Any]) -> Any:
    return moto_client("apigateway")


def make_api(client: Any, *, ingest_auth: str = "AWS_IAM", configured: bool = True) -> str:
    api_id: str = client.create_rest_api(name="iot-pipeline-api-dev")["id"]
    root = client.get_resources(restApiId=api_id)["items"][0]["id"]
    for part, verb, auth in (("ingest", "POST", ingest_auth), ("query", "GET", "AWS_IAM")):
        resource = client.create_resource(restApiId=api_id, parentId=root, pathPart=part)["id"]
        client.put_method(restApiId=api_id, resourceId=resource, httpMethod=verb, authorizationType=auth)
        client.put_method(
            restApiId=api_id, resourceId=resource, httpMethod="OPTIONS", authorizationType="NONE"
        )
        client.put_integration(restApiId=api_id, resourceId=resource, httpMethod=verb, type="MOCK")
    client.create_deployment(restApiId=api_id, stageName="dev")
    if configured:
        client.update_stage(
            restApiId=api_id,
            stageName="dev",
            patchOperations=[
                {"op": "replace", "path": "/tracingEnabled", "value": "true"},
                {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1000"},
                {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2000"},
            ],
        )
    return api_id


def test_healthy_api_passes(client: Any) -> None:
    api_id = make_api(client)
    target = ApiTarget(api_id, "dev", "ApiEndpoint")
    stage = apigateway.get_stage(client, target)
    methods = apigateway.check_methods_iam(client, api_id)
    assert sorted(f"{m['method']} {m['path']}" for m in methods) == ["GET /query", "POST /ingest"]
    assert apigateway.check_throttling(client, target, stage) == {
        "rate_limit": 1000.0,
        "burst_limit": 2000,
        "source": "stage */*",
    }
    assert apigateway.check_tracing(target, stage) is True


def test_method_without_iam_fails_naming_it(client: Any) -> None:
    api_id = make_api(client, ingest_auth="NONE")
    with pytest.raises(CheckFailed) as failed:
        apigateway.check_methods_iam(client, api_id)
    assert str(failed.value) == (
        f"API Gateway REST API `{api_id}`: expected every method to use AWS_IAM authorization, "
        "got POST /ingest (NONE)"
    )


def test_missing_stage_and_missing_api_fail(client: Any) -> None:
    api_id = make_api(client)
    with pytest.raises(CheckFailed) as stage:
        apigateway.get_stage(client, ApiTarget(api_id, "prod", "ApiUrl"))
    assert str(stage.value) == (
        f"API Gateway REST API `{api_id}`: expected stage `prod` (from output `ApiUrl`), got stages ['dev']"
    )
    with pytest.raises(CheckFailed) as missing:
        apigateway.check_methods_iam(client, "zzzzzzzzzz")
    assert str(missing.value) == "API Gateway REST API `zzzzzzzzzz`: expected it to exist, got not found"


def test_unconfigured_stage_fails_throttling_and_tracing(client: Any) -> None:
    api_id = make_api(client, configured=False)
    target = ApiTarget(api_id, "dev", "ApiEndpoint")
    stage = apigateway.get_stage(client, target)
    with pytest.raises(CheckFailed) as throttling:
        apigateway.check_throttling(client, target, stage)
    assert "expected throttling" in str(throttling.value)
    assert "got rate 0, burst 0 and no usage plan" in str(throttling.value)
    with pytest.raises(CheckFailed) as tracing:
        apigateway.check_tracing(target, stage)
    assert str(tracing.value) == (
        f"API Gateway stage `{api_id}/dev`: expected X-Ray tracing enabled, got tracingEnabled false"
    )


def test_usage_plan_throttle_counts(client: Any) -> None:
    api_id = make_api(client, configured=False)
    client.create_usage_plan(
        name="sensors",
        apiStages=[{"apiId": api_id, "stage": "dev"}],
        throttle={"rateLimit": 50.0, "burstLimit": 100},
    )
    target = ApiTarget(api_id, "dev", "ApiEndpoint")
    evidence = apigateway.check_throttling(client, target, apigateway.get_stage(client, target))
    assert evidence["usage_plan"] == "sensors" and evidence["rateLimit"] == 50.0


# ---------------------------------------------------------------- HTTP APIs (API Gateway v2)


@pytest.fixture
def v2(moto_client: Callable[[str], Any]) -> Any:
    return moto_client("apigatewayv2")


def make_http_api(v2: Any, routes: dict[str, str], **stage: Any) -> str:
    api_id: str = v2.create_api(Name="telemetry-http", ProtocolType="HTTP")["ApiId"]
    for key, auth in routes.items():
        v2.create_route(ApiId=api_id, RouteKey=key, AuthorizationType=auth)
    v2.create_stage(ApiId=api_id, StageName="$default", **stage)
    return api_id


def test_api_kind_tells_rest_from_http_and_refuses_websocket(client: Any, v2: Any) -> None:
    rest = make_api(client)
    http = make_http_api(v2, {"POST /ingest": "AWS_IAM"})
    socket = v2.create_api(Name="live", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.a")
    assert apigateway.api_kind(client, rest, v2) == apigateway.REST
    assert apigateway.api_kind(client, http, v2) == apigateway.HTTP
    with pytest.raises(NotApplicable, match="is a WEBSOCKET API \\(v2\\): these checks cover REST and HTTP"):
        apigateway.api_kind(client, socket["ApiId"], v2)
    with pytest.raises(CheckFailed, match="REST API `zzzzzzzzzz`: expected it to exist, got not found"):
        apigateway.api_kind(client, "zzzzzzzzzz", v2)


def test_http_routes_need_iam_but_cors_preflights_do_not(v2: Any) -> None:
    api_id = make_http_api(v2, {"POST /ingest": "AWS_IAM", "OPTIONS /ingest": "NONE", "$default": "AWS_IAM"})
    assert [r["route"] for r in apigateway.check_routes_iam(v2, api_id)] == ["POST /ingest", "$default"]
    for key, auth in (("GET /query", "JWT"), ("ANY /{proxy+}", "NONE")):
        v2.create_route(ApiId=api_id, RouteKey=key, AuthorizationType=auth)
    with pytest.raises(CheckFailed) as failed:
        apigateway.check_routes_iam(v2, api_id)
    assert str(failed.value).endswith("got GET /query (JWT), ANY /{proxy+} (NONE)")


def test_an_http_api_without_routes_fails_the_iam_check(v2: Any) -> None:
    api_id = make_http_api(v2, {"OPTIONS /ingest": "NONE"})
    with pytest.raises(CheckFailed, match="expected routes requiring AWS_IAM, got no routes at all"):
        apigateway.check_routes_iam(v2, api_id)


def test_http_stage_deployed_by_id_or_auto_deploy(v2: Any) -> None:
    api_id = make_http_api(v2, {"POST /ingest": "AWS_IAM"})
    target = ApiTarget(api_id, None, "ApiEndpoint")
    stage = apigateway.get_http_stage(v2, target)
    assert stage["StageName"] == "$default"
    with pytest.raises(CheckFailed, match="got no deployment and AutoDeploy off"):
        apigateway.check_http_deployed(target, stage)
    assert apigateway.check_http_deployed(target, {**stage, "DeploymentId": "d1"}) == "d1"
    assert apigateway.check_http_deployed(target, {**stage, "AutoDeploy": True}) == "auto-deploy"


def test_http_throttling_needs_every_route_when_there_is_no_default(v2: Any) -> None:
    api_id = make_http_api(v2, {"POST /ingest": "AWS_IAM", "GET /query": "AWS_IAM"})
    target = ApiTarget(api_id, "$default", "ApiEndpoint")
    each = {"ThrottlingRateLimit": 5.0, "ThrottlingBurstLimit": 10}
    stage = {"StageName": "$default", "RouteSettings": {"POST /ingest": each}}
    with pytest.raises(CheckFailed) as failed:
        apigateway.check_http_throttling(v2, target, stage)
    assert str(failed.value) == (
        f"API Gateway HTTP API stage `{api_id}/$default`: expected throttling (DefaultRouteSettings rate "
        "and burst > 0, or every route's RouteSettings), got rate 0, burst 0 (only the account-wide limit "
        "protects the backend)"
    )
    stage["RouteSettings"] = {"POST /ingest": each, "GET /query": each}
    assert apigateway.check_http_throttling(v2, target, stage)["source"] == "RouteSettings of every route"
    defaults = {"StageName": "$default", "DefaultRouteSettings": {**each, "DetailedMetricsEnabled": False}}
    assert apigateway.check_http_throttling(v2, target, defaults) == {
        "rate_limit": 5.0,
        "burst_limit": 10,
        "source": "stage DefaultRouteSettings",
    }
