"""Negative checks aim at declared routes (issue 15, finding 8): a REST API answers `403 Missing
Authentication Token` for every route it does not declare, so the unsigned, wrong-secret and malformed
checks accept a refusal only from the route the reading uses, once the API is known to declare it."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.helpers.cli import create_flow_tables
from tests.helpers.moto import MOTO_REGION
from tests.scenario.standin import StandInHttp, rest_api_answer
from verify.aws.client import Aws
from verify.config.settings import Config, FlowConfig
from verify.errors import CheckFailed, VerifyError
from verify.probes.apigateway import Route, declared_routes
from verify.scenario.flow import Flow
from verify.stack.inventory import build_inventory
from verify.stack.outputs import parse_outputs

# The stack ingests on POST /readings: /ingest is no route of its API.
DECLARED = {("POST", "/readings"), ("GET", "/readings/{id}")}


def _rest_api() -> str:
    client = boto3.client("apigateway", region_name=MOTO_REGION)
    api_id = str(client.create_rest_api(name="readings-api")["id"])
    root = next(r["id"] for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    readings = client.create_resource(restApiId=api_id, parentId=root, pathPart="readings")["id"]
    one = client.create_resource(restApiId=api_id, parentId=readings, pathPart="{id}")["id"]
    for resource, verb in ((readings, "POST"), (one, "GET")):
        client.put_method(restApiId=api_id, resourceId=resource, httpMethod=verb, authorizationType="AWS_IAM")
    return api_id


@pytest.fixture
def api_id(aws_mock: None) -> str:
    create_flow_tables(MOTO_REGION, "raw-data", "processed-data")
    return _rest_api()


def _flow(api_id: str, http: StandInHttp, **flow: Any) -> Flow:
    outputs = parse_outputs(
        {
            "ApiEndpoint": f"https://{api_id}.execute-api.{MOTO_REGION}.amazonaws.com/dev/",
            "RawSensorTableName": "raw-data",
            "ProcessedDataTableName": "processed-data",
        },
        "test.json",
    )
    return Flow(
        aws=Aws(MOTO_REGION),
        http=http,
        inventory=build_inventory(outputs),
        config=Config(flow=FlowConfig(**flow)),
        run_id="vfy-test-routes",
        timeout=1,
    )


@pytest.mark.parametrize("how", ["unsigned", "wrong_secret"])
def test_a_403_from_an_undeclared_route_is_an_error_not_a_pass(api_id: str, how: str) -> None:
    http = StandInHttp(rest_api_answer(DECLARED))
    flow = _flow(api_id, http, ingest_path="v1/ingest")  # set by hand, and no route of this API
    with pytest.raises(VerifyError) as caught:
        flow.rejects(how)
    message = str(caught.value)
    assert f"POST /v1/ingest is not a route API {api_id} declares; declared: " in message
    assert "POST /readings" in message and "GET /readings/{id}" in message
    assert http.sent == []  # nothing sent: a refusal from there would prove nothing


def test_a_malformed_payload_refused_by_an_undeclared_route_is_an_error(api_id: str) -> None:
    http = StandInHttp(rest_api_answer(DECLARED))
    with pytest.raises(VerifyError, match="POST /v1/ingest is not a route API"):
        _flow(api_id, http, ingest_path="v1/ingest").malformed_not_stored()
    assert http.sent == []


@pytest.mark.parametrize("how", ["unsigned", "wrong_secret"])
def test_zero_config_aims_at_the_post_route_the_api_declares(api_id: str, how: str) -> None:
    # No [flow] ingest_path: the API's one declared POST route is the reading's, not /ingest (where
    # every request, signed or not, gets 403 Missing Authentication Token and proves nothing).
    http = StandInHttp(lambda method, path, signed, wrong: (200, {"ok": True}))
    flow = _flow(api_id, http)
    with pytest.raises(CheckFailed, match=r"POST .*/readings with .*expected 403, got HTTP 200"):
        flow.rejects(how)
    assert [(s["method"], s["path"]) for s in http.sent] == [("POST", "/readings")]
    assert flow.ingest_route_evidence() == "POST /readings (the API's one declared POST route)"


@pytest.mark.parametrize("how", ["unsigned", "wrong_secret"])
def test_the_declared_route_accepting_unsigned_garbage_fails(api_id: str, how: str) -> None:
    # The real route takes anything: aimed there, the check sees it.
    http = StandInHttp(lambda method, path, signed, wrong: (200, {"ok": True}))
    with pytest.raises(CheckFailed, match="expected 403, got HTTP 200"):
        _flow(api_id, http, ingest_path="readings").rejects(how)
    assert [(s["method"], s["path"]) for s in http.sent] == [("POST", "/readings")]


def test_the_declared_route_accepting_a_malformed_payload_fails(api_id: str) -> None:
    http = StandInHttp(lambda method, path, signed, wrong: (200, {"ok": True}))
    with pytest.raises(CheckFailed, match="malformed payload"):
        _flow(api_id, http, ingest_path="readings").malformed_not_stored()


@pytest.mark.parametrize("how", ["unsigned", "wrong_secret"])
def test_a_refusal_from_the_declared_route_passes(api_id: str, how: str) -> None:
    http = StandInHttp(rest_api_answer(DECLARED))
    evidence = _flow(api_id, http, ingest_path="readings").rejects(how)
    assert evidence["route"]["route"] == "POST /readings"
    assert evidence["response"]["status"] == 403


def test_the_routes_are_read_once_for_all_negative_checks(
    api_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def counted(client: Any, api: str, v2_client: Any = None) -> list[Route]:
        asked.append(api)
        return declared_routes(client, api, v2_client)

    monkeypatch.setattr("verify.scenario.negative.declared_routes", counted)
    flow = _flow(api_id, StandInHttp(rest_api_answer(DECLARED)), ingest_path="readings")
    flow.rejects("unsigned")
    flow.rejects("wrong_secret")
    with pytest.raises(CheckFailed):  # the stand-in's POST /readings takes a malformed payload
        flow.malformed_not_stored()
    assert asked == [api_id]


def test_an_api_whose_id_no_output_names_is_an_error_that_says_so(aws_mock: None) -> None:
    create_flow_tables(MOTO_REGION, "raw-data", "processed-data")
    outputs = parse_outputs(
        {"ApiUrl": "https://api.example.com/v1/", "RawSensorTableName": "raw-data"}, "test.json"
    )
    http = StandInHttp(rest_api_answer(DECLARED))
    flow = Flow(
        aws=Aws(MOTO_REGION),
        http=http,
        inventory=build_inventory(outputs),
        config=Config(),
        run_id="vfy-test-routes",
        timeout=1,
    )
    with pytest.raises(VerifyError, match="no output names its API Gateway id"):
        flow.rejects("unsigned")
    assert http.sent == []


def test_an_http_api_v2_declares_its_route_keys(aws_mock: None) -> None:
    v2 = boto3.client("apigatewayv2", region_name=MOTO_REGION)
    api = v2.create_api(Name="readings-http", ProtocolType="HTTP")["ApiId"]
    v2.create_route(ApiId=api, RouteKey="POST /readings")
    v2.create_route(ApiId=api, RouteKey="GET /readings/{id}")
    routes = declared_routes(boto3.client("apigateway", region_name=MOTO_REGION), api, v2)
    assert sorted(map(str, routes)) == ["GET /readings/{id}", "POST /readings"]


@pytest.mark.parametrize(
    ("route", "method", "path", "matches"),
    [
        (Route("POST", "/readings"), "POST", "/readings", True),
        (Route("POST", "/readings"), "POST", "/ingest", False),
        (Route("POST", "/readings"), "GET", "/readings", False),
        (Route("ANY", "/readings"), "POST", "/readings", True),
        (Route("GET", "/readings/{id}"), "GET", "/readings/42", True),
        (Route("GET", "/readings/{id}"), "GET", "/readings", False),
        (Route("GET", "/readings/{id}"), "GET", "/readings/42/x", False),
        (Route("ANY", "/{proxy+}"), "POST", "/ingest/now", True),
        (Route("ANY", "/{proxy+}"), "POST", "/", False),
        (Route("ANY", "$default"), "POST", "/anything", True),
        (Route("POST", "/ingest"), "POST", "/ingest?x=1", True),
    ],
)
def test_route_templates_match_as_api_gateway_routes_them(
    route: Route, method: str, path: str, matches: bool
) -> None:
    assert route.matches(method, path) is matches
