"""The API Gateway suite through the engine, in-process against moto: an HTTP API (API Gateway v2)
gets the REST checks' equivalents -- each fails on its own fault and passes healthy -- and a REST API's
rows are what they always were."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.helpers.engine import engine_session
from tests.helpers.moto import MOTO_REGION
from tests.helpers.standin_gen import Conventions, standin
from verify.engine.plan import plan
from verify.engine.runner import run
from verify.model import CheckResult, Status

SUITE = "suites/test_apigateway.py::"
STAGE, IAM, THROTTLE, TRACING = (
    SUITE + "test_stage_exists",
    SUITE + "test_methods_use_iam",
    SUITE + "test_throttling",
    SUITE + "test_stage_tracing",
)


def run_suite(tmp_path: Path, outputs: dict[str, str]) -> dict[str, CheckResult]:
    """`verify run -k test_apigateway` on these outputs, through the engine; one row per check."""
    session = engine_session(tmp_path, outputs, timeout=10.0)
    run(session, plan(session, "test_apigateway"), out=io.StringIO())
    rows = {r.id.split("[")[0]: r for r in session.results}
    assert len(rows) == len(session.results) == 4, [r.id for r in session.results]
    return rows


def shown(rows: dict[str, CheckResult]) -> str:
    return "\n".join(f"{r.status} {r.id}: {r.message} {r.evidence}" for r in rows.values())


def http_api(
    *,
    ingest_auth: str = "AWS_IAM",
    default_auth: str | None = None,
    stage: str = "$default",
    auto_deploy: bool = True,
    throttled: bool = True,
    per_route: bool = False,
) -> str:
    """An HTTP API as CDK's HttpApi makes one: routes with IAM auth, a `$default` stage that deploys
    itself and throttles by default."""
    client: Any = boto3.client("apigatewayv2", region_name=MOTO_REGION)
    api_id = str(client.create_api(Name="telemetry-http", ProtocolType="HTTP")["ApiId"])
    routes = [("POST /ingest", ingest_auth), ("GET /query", "AWS_IAM"), ("OPTIONS /ingest", "NONE")]
    if default_auth is not None:
        routes.append(("$default", default_auth))
    for key, auth in routes:
        client.create_route(ApiId=api_id, RouteKey=key, AuthorizationType=auth)
    settings = {"ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100.0} if throttled else {}
    each = {"ThrottlingBurstLimit": 10, "ThrottlingRateLimit": 5.0}
    client.create_stage(
        ApiId=api_id,
        StageName=stage,
        AutoDeploy=auto_deploy,
        DefaultRouteSettings=settings,
        RouteSettings={key: each for key, _ in routes} if per_route else {},
    )
    return api_id


def url(api_id: str, path: str = "/") -> str:
    return f"https://{api_id}.execute-api.{MOTO_REGION}.amazonaws.com{path}"


def test_a_healthy_http_api_passes_and_tracing_says_why_it_is_skipped(aws_mock: None, tmp_path: Path) -> None:
    api_id = http_api(default_auth="AWS_IAM")
    rows = run_suite(tmp_path, {"ApiEndpoint": url(api_id)})
    assert [rows[c].status for c in (STAGE, IAM, THROTTLE)] == [Status.PASSED] * 3, shown(rows)
    evidence = rows[STAGE].evidence
    assert [evidence[k] for k in ("api_id", "protocol", "stage", "deployment")] == [
        api_id,
        "HTTP",
        "$default",
        "auto-deploy",
    ]
    # `$default` is a route like any other; CORS preflights are left out, as a REST API's OPTIONS.
    assert sorted(rows[IAM].evidence["routes"]) == ["$default", "GET /query", "POST /ingest"]
    assert rows[THROTTLE].evidence["source"] == "stage DefaultRouteSettings"
    assert rows[TRACING].status is Status.SKIPPED
    assert "HTTP API" in rows[TRACING].message and "REST APIs only" in rows[TRACING].message


def test_a_named_stage_in_the_url_is_the_one_checked(aws_mock: None, tmp_path: Path) -> None:
    api_id = http_api(stage="live")
    rows = run_suite(tmp_path, {"ApiUrl": url(api_id, "/live/")})
    assert rows[STAGE].status is Status.PASSED, shown(rows)
    assert rows[STAGE].evidence["stage"] == "live"


def test_a_route_without_auth_fails_naming_the_route(aws_mock: None, tmp_path: Path) -> None:
    api_id = http_api(ingest_auth="NONE")
    rows = run_suite(tmp_path, {"ApiEndpoint": url(api_id)})
    assert rows[IAM].status is Status.FAILED, shown(rows)
    assert rows[IAM].message == (
        f"API Gateway HTTP API `{api_id}`: expected every route to use AWS_IAM authorization, "
        "got POST /ingest (NONE)"
    )
    assert rows[IAM].category == "functional"  # blocking, as the REST check
    assert rows[STAGE].status is Status.PASSED


def test_an_open_default_route_fails(aws_mock: None, tmp_path: Path) -> None:
    api_id = http_api(default_auth="NONE")
    rows = run_suite(tmp_path, {"ApiEndpoint": url(api_id)})
    assert rows[IAM].status is Status.FAILED, shown(rows)
    assert rows[IAM].message.endswith("got $default (NONE)")


@pytest.mark.parametrize(
    ("stage", "path", "expected"),
    [
        (
            "live",
            "/",
            "expected stage `$default` (from output `ApiEndpoint`) (the URL names no stage), got stages ['live']",
        ),
        ("$default", "/prod/", "expected stage `prod` (from output `ApiEndpoint`), got stages ['$default']"),
    ],
)
def test_a_missing_stage_fails(aws_mock: None, tmp_path: Path, stage: str, path: str, expected: str) -> None:
    api_id = http_api(stage=stage)
    rows = run_suite(tmp_path, {"ApiEndpoint": url(api_id, path)})
    assert rows[STAGE].status is Status.FAILED, shown(rows)
    assert rows[STAGE].message == f"API Gateway HTTP API `{api_id}`: {expected}"
    assert rows[THROTTLE].status is Status.FAILED  # the posture check has no stage to read either


def test_a_stage_that_never_deployed_fails(aws_mock: None, tmp_path: Path) -> None:
    api_id = http_api(auto_deploy=False)
    rows = run_suite(tmp_path, {"ApiEndpoint": url(api_id)})
    assert rows[STAGE].status is Status.FAILED, shown(rows)
    assert (
        "expected stage `$default` to be deployed, got no deployment and AutoDeploy off"
        in rows[STAGE].message
    )


def test_an_unthrottled_stage_fails_the_posture_check(aws_mock: None, tmp_path: Path) -> None:
    api_id = http_api(throttled=False)
    rows = run_suite(tmp_path, {"ApiEndpoint": url(api_id)})
    assert rows[THROTTLE].status is Status.FAILED, shown(rows)
    assert rows[THROTTLE].category == "posture"
    assert f"stage `{api_id}/$default`: expected throttling" in rows[THROTTLE].message
    assert [rows[c].status for c in (STAGE, IAM)] == [Status.PASSED] * 2


def test_throttling_on_every_route_counts(aws_mock: None, tmp_path: Path) -> None:
    api_id = http_api(throttled=False, per_route=True)
    rows = run_suite(tmp_path, {"ApiEndpoint": url(api_id)})
    assert rows[THROTTLE].status is Status.PASSED, shown(rows)
    assert rows[THROTTLE].evidence["source"] == "RouteSettings of every route"


def rest_api(*, ingest_auth: str = "AWS_IAM", configured: bool = True) -> str:
    client: Any = boto3.client("apigateway", region_name=MOTO_REGION)
    api_id = str(client.create_rest_api(name="telemetry-rest")["id"])
    root = client.get_resources(restApiId=api_id)["items"][0]["id"]
    for part, verb, auth in (("ingest", "POST", ingest_auth), ("query", "GET", "AWS_IAM")):
        resource = client.create_resource(restApiId=api_id, parentId=root, pathPart=part)["id"]
        client.put_method(restApiId=api_id, resourceId=resource, httpMethod=verb, authorizationType=auth)
        client.put_integration(restApiId=api_id, resourceId=resource, httpMethod=verb, type="MOCK")
    client.create_deployment(restApiId=api_id, stageName="prod")
    if configured:
        client.update_stage(
            restApiId=api_id,
            stageName="prod",
            patchOperations=[
                {"op": "replace", "path": "/tracingEnabled", "value": "true"},
                {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1000"},
                {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2000"},
            ],
        )
    return api_id


def _rest_rows(rows: dict[str, CheckResult]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    # What each check recorded; what it asked AWS is compared apart (`calls`), the deployment id is moto's.
    skip = {"asked", "aws_calls", "deployment", "actual", "expected"}
    return {
        c.removeprefix(SUITE): (
            str(r.status),
            r.message,
            {k: v for k, v in r.evidence.items() if k not in skip},
        )
        for c, r in rows.items()
    }


def calls(rows: dict[str, CheckResult]) -> dict[str, list[str]]:
    return {
        c.removeprefix(SUITE): [f"{x['service']} {x['operation']}" for x in r.evidence.get("aws_calls", [])]
        for c, r in rows.items()
    }


def test_a_rest_api_s_rows_are_unchanged(aws_mock: None, tmp_path: Path) -> None:
    # The rows before HTTP APIs were checked (recorded from the previous suite on the same stacks).
    healthy = rest_api()
    rows = run_suite(tmp_path / "healthy", {"ApiEndpoint": url(healthy, "/prod/")})
    assert rows[STAGE].evidence["deployment"]
    # The same AWS calls as before: a REST API is never asked about as an HTTP API.
    assert calls(rows) == {
        "test_stage_exists": ["apigateway GetRestApi", "apigateway GetStage"],
        "test_methods_use_iam": ["apigateway GetRestApi", "apigateway GetRestApi", "apigateway GetResources"],
        "test_throttling": ["apigateway GetRestApi", "apigateway GetStage"],
        "test_stage_tracing": ["apigateway GetRestApi", "apigateway GetStage"],
    }
    assert _rest_rows(rows) == {
        "test_stage_exists": ("passed", "", {"api_id": healthy, "stage": "prod"}),
        "test_methods_use_iam": ("passed", "", {"methods": ["POST /ingest", "GET /query"]}),
        "test_throttling": ("passed", "", {"rate_limit": 1000.0, "burst_limit": 2000, "source": "stage */*"}),
        "test_stage_tracing": ("passed", "", {}),
    }
    broken = rest_api(ingest_auth="NONE", configured=False)
    rows = run_suite(tmp_path / "broken", {"ApiEndpoint": url(broken, "/prod/")})
    subject = f"API Gateway REST API `{broken}`"
    assert _rest_rows(rows) == {
        "test_stage_exists": ("passed", "", {"api_id": broken, "stage": "prod"}),
        "test_methods_use_iam": (
            "failed",
            f"{subject}: expected every method to use AWS_IAM authorization, got POST /ingest (NONE)",
            {},
        ),
        "test_throttling": (
            "failed",
            f"API Gateway stage `{broken}/prod`: expected throttling (methodSettings */* rate and burst > 0, "
            "or a usage plan), got rate 0, burst 0 and no usage plan (only the account-wide limit protects "
            "the backend)",
            {},
        ),
        "test_stage_tracing": (
            "failed",
            f"API Gateway stage `{broken}/prod`: expected X-Ray tracing enabled, got tracingEnabled false",
            {},
        ),
    }
    missing = run_suite(tmp_path / "missing", {"ApiEndpoint": url("zzzzzzzzzz", "/prod/")})
    assert {str(r.status) for r in missing.values()} == {"failed"}
    assert set(map(tuple, calls(missing).values())) == {("apigateway GetRestApi", "apigatewayv2 GetApi")}
    assert {r.message for r in missing.values()} == {
        "API Gateway REST API `zzzzzzzzzz`: expected it to exist, got not found"
    }


@pytest.mark.parametrize("fault", [None, "accepts_unsigned"])
def test_a_generated_http_stand_in(aws_mock: None, tmp_path: Path, fault: str | None) -> None:
    # The stand-in generator's HTTP API (an emulator URL and an id output, as the property tests draw
    # it): healthy, every applicable check passes; with the ingest route's auth off, the IAM check
    # names that route. (The flow's own unsigned check sees it too: tests/scenario.)
    drawn = Conventions(api_kind="http", api_id_key="HttpApiId", ingest_route="/telemetry")
    with standin(drawn, fault) as stack:
        rows = run_suite(
            tmp_path, {k: v for k, v in stack.outputs.items() if k in ("ApiEndpoint", "HttpApiId")}
        )
    assert rows[STAGE].status is Status.PASSED, shown(rows)
    assert rows[STAGE].evidence["stage"] == "$default"
    assert rows[THROTTLE].status is Status.PASSED, shown(rows)
    assert rows[TRACING].status is Status.SKIPPED, shown(rows)
    if fault is None:
        assert rows[IAM].status is Status.PASSED, shown(rows)
    else:
        assert rows[IAM].status is Status.FAILED, shown(rows)
        assert rows[IAM].message.endswith("got POST /telemetry (NONE)")
