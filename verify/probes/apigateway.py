"""API Gateway REST and HTTP APIs: which API and stage an output names, the stage, IAM auth, throttling,
tracing (REST only: HTTP APIs have none).

An `api` output is an execute-api URL (its host is the API id, its first path segment the stage), a
bare id, an ARN, or a custom/emulator URL; the last says nothing about the API, so its id comes
from a sibling `api` output that is an id (`ApiEndpoint` + `ApiId`, as CDK and Terraform stacks
commonly emit).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed, NotApplicable
from verify.stack.inventory import Inventory, Resource

# API Gateway ids are 10 lower-case letters and digits (moto makes them the same way).
_API_ID = re.compile(r"^[a-z0-9]{10}$")
_EXECUTE_API = re.compile(r"^[a-z0-9]+\.execute-api\.")
_LAMBDA_URL = re.compile(r"\.lambda-url\.")


@dataclass(frozen=True)
class ApiTarget:
    api_id: str
    stage: str | None
    source: str  # the output key that named the id


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # not a URL after all: it names no host
        return ""


def _is_id_output(resource: Resource) -> bool:
    return resource.url is None and (resource.arn is not None or bool(_API_ID.match(resource.name)))


def _named_id(resource: Resource) -> str | None:
    """The API id an id output among the outputs naming `resource` gives outright."""
    return next((m.name for m in resource.members if _is_id_output(m)), None)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def rest_api_id(resource: Resource, inventory: Inventory) -> str | None:
    """The REST API id the output names, directly or through a sibling id output; None if none."""
    host = _host(resource.url) if resource.url else ""
    if resource.url and _LAMBDA_URL.search(host):
        return None  # a Lambda function URL is not API Gateway
    if _EXECUTE_API.match(host) or _is_id_output(resource):
        return resource.name
    if named := _named_id(resource):
        return named  # an id output names this resource too (`verify.stack.resources.merge`)
    if resource.url and "/restapis/" in resource.url:
        return resource.name  # an emulator's path-style URL: inventory put the id in the name
    if resource.url and _API_ID.match(resource.name):
        return resource.name  # a URL merged with its id output (one resource, one row): the id is its name
    apis = [m for r in inventory.of_kind("api") for m in (r, *r.members)]
    siblings = [r for r in apis if r is not resource and _is_id_output(r)]
    if not siblings:
        return None
    # Several APIs in one stack: the id output whose key shares most with this one (ApiEndpoint ~ ApiId).
    best = max(siblings, key=lambda r: _common_prefix(r.key, resource.key))
    return best.name


def _url_stage(url: str) -> str | None:
    try:
        segments = [s for s in urlsplit(url).path.split("/") if s]
    except ValueError:  # not a URL after all (an unbalanced `[` in the host, say)
        return None
    if "restapis" in segments:  # an emulator's .../restapis/{id}/{stage}/_user_request_/...
        index = segments.index("restapis")
        segments = segments[index + 2 : index + 3]
    return segments[0] if segments else None


def stage_name(resource: Resource, inventory: Inventory) -> str | None:
    """The stage: first path segment of an execute-api URL naming the API; else a `...Stage...`
    setting among the outputs; else the first path segment of another URL naming the API.

    Behind a custom domain the first segment is a base-path mapping, not the stage, hence the order.
    """
    api_id = rest_api_id(resource, inventory)
    urls = [r for r in [resource, *inventory.of_kind("api")] if r.url and rest_api_id(r, inventory) == api_id]
    for candidate in urls:
        host = _host(candidate.url or "")
        if _EXECUTE_API.match(host) or "/restapis/" in (candidate.url or ""):
            return _url_stage(candidate.url or "")
    for scalar in inventory.of_kind("scalar"):
        if "stage" in scalar.key.lower():
            return scalar.value
    for candidate in urls:
        if stage := _url_stage(candidate.url or ""):
            return stage
    return None


def covered_by(resource: Resource, inventory: Inventory) -> str | None:
    """The key of a URL output naming the same API, when `resource` is a bare id: the API is checked
    once, through the output that also names the stage."""
    if not _is_id_output(resource):
        return None
    for other in inventory.of_kind("api"):
        if other is not resource and other.url and rest_api_id(other, inventory) == resource.name:
            return other.key
    return None


def target(resource: Resource, inventory: Inventory) -> ApiTarget:
    """Which REST API (and stage) to check for this output; `NotApplicable` when it names none."""
    if (other := covered_by(resource, inventory)) is not None:
        raise NotApplicable(f"API `{resource.name}` is checked through output `{other}`")
    api_id = rest_api_id(resource, inventory)
    if api_id is None:
        raise NotApplicable(
            f"output `{resource.key}` ({resource.value}) is not an API Gateway REST API URL and no "
            "output names the API id"
        )
    return ApiTarget(api_id=api_id, stage=stage_name(resource, inventory), source=resource.key)


def _v2_protocol(v2_client: Any, api_id: str) -> str | None:
    """`HTTP` or `WEBSOCKET` when API Gateway v2 knows `api_id` (same hostnames as REST APIs), else None."""
    try:
        with aws_errors("apigatewayv2", "GetApi", api_id):
            return str(v2_client.get_api(ApiId=api_id).get("ProtocolType", "HTTP"))
    except CheckFailed:
        return None


def _rest_not_found(api_id: str) -> CheckFailed:
    return CheckFailed(
        f"API Gateway REST API `{api_id}`: expected it to exist, got not found",
        resource=api_id,
        expected="exists",
        actual="not found",
    )


def get_rest_api(client: Any, api_id: str, v2_client: Any | None = None) -> dict[str, Any]:
    """The REST API; an HTTP/WebSocket API (API Gateway v2, same hostnames) is NotApplicable here."""
    try:
        with aws_errors("apigateway", "GetRestApi", api_id):
            answer: dict[str, Any] = client.get_rest_api(restApiId=api_id)
    except CheckFailed:
        if v2_client is not None and (protocol := _v2_protocol(v2_client, api_id)):
            raise NotApplicable(f"API `{api_id}` is an {protocol} API (v2), not a REST API") from None
        raise _rest_not_found(api_id) from None
    return answer


REST = "REST"
HTTP = "HTTP"


def api_kind(client: Any, api_id: str, v2_client: Any) -> str:
    """`REST` (GetRestApi knows it) or `HTTP` (API Gateway v2's GetApi says so): which checks apply.

    A WebSocket API is `NotApplicable` (these checks cover REST and HTTP APIs); an API neither knows
    fails as a missing REST API always did (the REST rows' message is unchanged).
    """
    __tracebackhide__ = True
    try:
        with aws_errors("apigateway", "GetRestApi", api_id):
            client.get_rest_api(restApiId=api_id)
    except CheckFailed:
        protocol = _v2_protocol(v2_client, api_id)
        if protocol == HTTP:
            return HTTP
        if protocol:
            raise NotApplicable(
                f"API `{api_id}` is a {protocol} API (v2): these checks cover REST and HTTP APIs"
            ) from None
        raise _rest_not_found(api_id) from None
    return REST


def get_stage(client: Any, api: ApiTarget) -> dict[str, Any]:
    __tracebackhide__ = True
    if api.stage is None:
        raise NotApplicable(
            f"no stage name for API `{api.api_id}` in the outputs (no URL, no *Stage* output)"
        )
    try:
        with aws_errors("apigateway", "GetStage", f"{api.api_id}/{api.stage}"):
            stage: dict[str, Any] = client.get_stage(restApiId=api.api_id, stageName=api.stage)
    except CheckFailed:
        get_rest_api(client, api.api_id)  # a missing API says so, rather than "stage not found"
        with aws_errors("apigateway", "GetStages", api.api_id):
            names = sorted(s["stageName"] for s in client.get_stages(restApiId=api.api_id).get("item", []))
        raise CheckFailed(
            f"API Gateway REST API `{api.api_id}`: expected stage `{api.stage}` (from output `{api.source}`), "
            f"got stages {names or 'none'}",
            resource=api.api_id,
            expected=api.stage,
            actual=names,
        ) from None
    stage.pop("ResponseMetadata", None)
    return stage


def methods(client: Any, api_id: str) -> list[dict[str, str]]:
    """Every method of every resource: path, HTTP method, authorization type."""
    found: list[dict[str, str]] = []
    with aws_errors("apigateway", "GetResources", api_id):
        pages = client.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"])
        resources = [item for page in pages for item in page.get("items", [])]
    for item in resources:
        for verb, method in (item.get("resourceMethods") or {}).items():
            auth = method.get("authorizationType")
            if auth is None:  # the embed was not honoured: ask for the method itself
                with aws_errors("apigateway", "GetMethod", f"{api_id} {verb} {item['path']}"):
                    auth = client.get_method(restApiId=api_id, resourceId=item["id"], httpMethod=verb).get(
                        "authorizationType"
                    )
            found.append({"path": str(item["path"]), "method": verb, "authorization": str(auth or "NONE")})
    return found


def check_methods_iam(client: Any, api_id: str) -> list[dict[str, str]]:
    """Every method but CORS preflights (OPTIONS) requires SigV4 (AWS_IAM)."""
    __tracebackhide__ = True
    get_rest_api(client, api_id)
    guarded = [m for m in methods(client, api_id) if m["method"] != "OPTIONS"]
    return _all_iam(
        f"API Gateway REST API `{api_id}`", api_id, guarded, "method", lambda m: f"{m['method']} {m['path']}"
    )


def _all_iam(
    subject: str,
    api_id: str,
    guarded: list[dict[str, str]],
    noun: str,
    shown: Callable[[dict[str, str]], str],
) -> list[dict[str, str]]:
    """`guarded` (an API's methods or routes, CORS preflights aside) when every one uses AWS_IAM;
    else the failure naming each that does not, or saying there are none."""
    __tracebackhide__ = True
    if not guarded:
        raise CheckFailed(
            f"{subject}: expected {noun}s requiring AWS_IAM, got no {noun}s at all",
            resource=api_id,
            expected=f"{noun}s with AWS_IAM",
            actual=[],
        )
    unguarded = [entry for entry in guarded if entry["authorization"] != "AWS_IAM"]
    if unguarded:
        listed = ", ".join(f"{shown(entry)} ({entry['authorization']})" for entry in unguarded)
        raise CheckFailed(
            f"{subject}: expected every {noun} to use AWS_IAM authorization, got {listed}",
            resource=api_id,
            expected="AWS_IAM",
            actual=unguarded,
        )
    return guarded


def _usage_plan_throttle(client: Any, api: ApiTarget) -> dict[str, Any] | None:
    with aws_errors("apigateway", "GetUsagePlans", api.api_id):
        plans = [
            p for page in client.get_paginator("get_usage_plans").paginate() for p in page.get("items", [])
        ]
    for plan in plans:
        throttle = plan.get("throttle") or {}
        for stage in plan.get("apiStages", []):
            if (
                stage.get("apiId") == api.api_id
                and stage.get("stage") == api.stage
                and throttle.get("rateLimit", 0) > 0
                and throttle.get("burstLimit", 0) > 0
            ):
                return {"usage_plan": plan.get("name") or plan.get("id"), **throttle}
    return None


def check_throttling(client: Any, api: ApiTarget, stage: dict[str, Any]) -> dict[str, Any]:
    """Stage-wide throttling (methodSettings `*/*`) or a usage plan with a throttle on this stage."""
    __tracebackhide__ = True
    defaults = (stage.get("methodSettings") or {}).get("*/*") or {}
    rate = defaults.get("throttlingRateLimit") or 0
    burst = defaults.get("throttlingBurstLimit") or 0
    if rate > 0 and burst > 0:
        return {"rate_limit": rate, "burst_limit": burst, "source": "stage */*"}
    plan = _usage_plan_throttle(client, api)
    if plan is not None:
        return plan
    raise CheckFailed(
        f"API Gateway stage `{api.api_id}/{api.stage}`: expected throttling (methodSettings */* rate and "
        f"burst > 0, or a usage plan), got rate {rate}, burst {burst} and no usage plan "
        "(only the account-wide limit protects the backend)",
        resource=f"{api.api_id}/{api.stage}",
        expected="rate > 0 and burst > 0",
        actual={"rate": rate, "burst": burst},
    )


def check_tracing(api: ApiTarget, stage: dict[str, Any]) -> bool:
    __tracebackhide__ = True
    # AWS always returns tracingEnabled; moto omits it when false.
    enabled = bool(stage.get("tracingEnabled", False))
    if not enabled:
        raise CheckFailed(
            f"API Gateway stage `{api.api_id}/{api.stage}`: expected X-Ray tracing enabled, got tracingEnabled false",
            resource=f"{api.api_id}/{api.stage}",
            expected=True,
            actual=False,
        )
    return enabled


# ---------------------------------------------------------------- HTTP APIs (API Gateway v2)
# The REST checks' equivalents where AWS has one: the stage the URL names (or `$default`, which an
# HTTP API's stage-less URL reaches) exists and is deployed; every route requires AWS_IAM; the stage
# throttles by default. Read-only: GetStages, GetRoutes. HTTP APIs have no X-Ray tracing and no usage
# plans, so neither is asked for.

DEFAULT_STAGE = "$default"


def _http_subject(api_id: str) -> str:
    return f"API Gateway HTTP API `{api_id}`"


def get_http_stage(v2_client: Any, api: ApiTarget) -> dict[str, Any]:
    """The stage an HTTP API serves the output's URL from: the one it names (first path segment of an
    execute-api URL, or a `...Stage...` output), else `$default`. `CheckFailed` naming the stages there
    are when it does not exist."""
    __tracebackhide__ = True
    wanted = api.stage or DEFAULT_STAGE
    with aws_errors("apigatewayv2", "GetStages", api.api_id, subject=_http_subject(api.api_id)):
        pages = v2_client.get_paginator("get_stages").paginate(ApiId=api.api_id)
        stages = {str(s.get("StageName")): s for page in pages for s in page.get("Items", [])}
    if wanted not in stages:
        named = "" if api.stage else " (the URL names no stage)"
        raise CheckFailed(
            f"{_http_subject(api.api_id)}: expected stage `{wanted}` (from output `{api.source}`){named}, "
            f"got stages {sorted(stages) or 'none'}",
            resource=api.api_id,
            expected=wanted,
            actual=sorted(stages),
        )
    return dict(stages[wanted])


def check_http_deployed(api: ApiTarget, stage: dict[str, Any]) -> str:
    """The stage serves a deployment: it names one, or deploys every change itself (AutoDeploy)."""
    __tracebackhide__ = True
    if stage.get("DeploymentId"):
        return str(stage["DeploymentId"])
    if stage.get("AutoDeploy"):
        return "auto-deploy"
    name = stage.get("StageName")
    raise CheckFailed(
        f"{_http_subject(api.api_id)}: expected stage `{name}` to be deployed, got no deployment and "
        "AutoDeploy off (the stage serves nothing)",
        resource=f"{api.api_id}/{name}",
        expected="a deployment or AutoDeploy",
        actual="none",
    )


def http_routes(v2_client: Any, api_id: str) -> list[dict[str, str]]:
    """Every route of HTTP API `api_id`: its route key and authorization type."""
    with aws_errors("apigatewayv2", "GetRoutes", api_id, subject=_http_subject(api_id)):
        pages = v2_client.get_paginator("get_routes").paginate(ApiId=api_id)
        items = [item for page in pages for item in page.get("Items", [])]
    return [
        {
            "route": str(item.get("RouteKey", "")),
            "authorization": str(item.get("AuthorizationType") or "NONE"),
        }
        for item in items
    ]


def check_routes_iam(v2_client: Any, api_id: str) -> list[dict[str, str]]:
    """Every route but CORS preflights (`OPTIONS ...`) requires SigV4 (AWS_IAM), as a REST API's
    methods must. `$default` is checked like any other route: it takes every request no other route
    matches, so an open `$default` opens the API."""
    __tracebackhide__ = True
    guarded = [r for r in http_routes(v2_client, api_id) if not r["route"].upper().startswith("OPTIONS ")]
    return _all_iam(_http_subject(api_id), api_id, guarded, "route", lambda r: r["route"])


def _throttled(settings: dict[str, Any]) -> bool:
    return bool(
        (settings.get("ThrottlingRateLimit") or 0) > 0 and (settings.get("ThrottlingBurstLimit") or 0) > 0
    )


def check_http_throttling(v2_client: Any, api: ApiTarget, stage: dict[str, Any]) -> dict[str, Any]:
    """The stage's default route settings throttle (rate and burst > 0), or every route's own settings
    do. An HTTP API has no usage plans: nothing else limits it but the account-wide limit."""
    __tracebackhide__ = True
    name = stage.get("StageName")
    defaults = stage.get("DefaultRouteSettings") or {}
    rate = defaults.get("ThrottlingRateLimit") or 0
    burst = defaults.get("ThrottlingBurstLimit") or 0
    if _throttled(defaults):
        return {"rate_limit": rate, "burst_limit": burst, "source": "stage DefaultRouteSettings"}
    per_route = stage.get("RouteSettings") or {}
    keys = [r["route"] for r in http_routes(v2_client, api.api_id)] if per_route else []
    if keys and all(_throttled(per_route.get(key) or {}) for key in keys):
        return {"source": "RouteSettings of every route", "routes": keys}
    raise CheckFailed(
        f"API Gateway HTTP API stage `{api.api_id}/{name}`: expected throttling (DefaultRouteSettings "
        f"rate and burst > 0, or every route's RouteSettings), got rate {rate}, burst {burst} "
        "(only the account-wide limit protects the backend)",
        resource=f"{api.api_id}/{name}",
        expected="rate > 0 and burst > 0",
        actual={"rate": rate, "burst": burst},
    )


def http_tracing_not_applicable(api: ApiTarget) -> NotApplicable:
    return NotApplicable(
        f"API `{api.api_id}` is an HTTP API: API Gateway offers X-Ray tracing for REST APIs only "
        "(trace the integration's function instead)"
    )


def custom_domain_maps_api(
    client: Any, domain: str, v2_client: Any | None = None, api_ids: frozenset[str] = frozenset()
) -> bool:
    """Whether the account's API Gateway serves `domain` as a custom domain mapped to an API -- to one
    of `api_ids` (the APIs the outputs name) when there are any.

    Read-only (GetDomainName + GetBasePathMappings, or API Gateway v2's GetDomainName +
    GetApiMappings): an outputs file can name any host, but only the account's own API Gateway can
    say a custom domain is its, so the run's signed requests may go there (verify.aws.http.SigningHosts).
    Any error (not found, denied, unreachable) vouches for nothing.
    """

    def ties(mapped: set[str]) -> bool:
        return bool(mapped & api_ids) if api_ids else bool(mapped)

    try:
        client.get_domain_name(domainName=domain)
        items = client.get_base_path_mappings(domainName=domain).get("items") or []
        if ties({str(m.get("restApiId")) for m in items}):
            return True
    except Exception:  # not a v1 custom domain (or no answer): v2 may know it
        pass
    if v2_client is None:
        return False
    try:
        v2_client.get_domain_name(DomainName=domain)
        items = v2_client.get_api_mappings(DomainName=domain).get("Items") or []
        return ties({str(m.get("ApiId")) for m in items})
    except Exception:
        return False


def named_api_ids(inventory: Inventory) -> frozenset[str]:
    """The REST/HTTP API ids the outputs name: id outputs, and execute-api hosts."""
    found: set[str] = set()
    for resource in inventory.of_kind("api"):
        host = _host(resource.url) if resource.url else ""
        if _is_id_output(resource) or _EXECUTE_API.match(host):
            found.add(resource.name)
        if named := _named_id(resource):
            found.add(named)
    return frozenset(found)


# ---------------------------------------------------------------- declared routes
# A REST API answers `403 Missing Authentication Token` for every route it does not declare, signed
# or not: a negative check (unsigned, wrong secret, malformed) that got that 403 from an undeclared
# route proves nothing about the route the reading uses. These say which routes an API declares.


@dataclass(frozen=True)
class Route:
    """One declared route: an HTTP method (or `ANY`) and a path template (`/readings/{id}`,
    `/{proxy+}`), or an HTTP API's `$default` route, which takes every request."""

    method: str
    path: str

    def __str__(self) -> str:
        return self.path if self.path == "$default" else f"{self.method} {self.path}"

    def matches(self, method: str, path: str) -> bool:
        if self.path == "$default":
            return True
        if self.method not in ("ANY", method.upper()):
            return False
        return _path_matches(self.path, path)


def _path_matches(template: str, path: str) -> bool:
    wanted = [s for s in template.split("/") if s]
    given = [s for s in path.split("?", 1)[0].split("/") if s]
    for index, segment in enumerate(wanted):
        if segment.startswith("{") and segment.endswith("+}"):
            return len(given) > index  # a greedy parameter takes one segment or more
        if index >= len(given):
            return False
        if not (segment.startswith("{") and segment.endswith("}")) and segment != given[index]:
            return False
    return len(given) == len(wanted)


def declared_routes(client: Any, api_id: str, v2_client: Any | None = None) -> list[Route]:
    """The routes API `api_id` declares: GetResources for a REST API (v1), GetRoutes for an HTTP API
    (v2). `CheckFailed` when neither knows the API; `AwsAccessError` when AWS refuses to say."""
    try:
        return [Route(m["method"], m["path"]) for m in methods(client, api_id)]
    except CheckFailed:
        if v2_client is None:
            raise
    with aws_errors("apigatewayv2", "GetRoutes", api_id, subject=f"API Gateway API `{api_id}`"):
        pages = v2_client.get_paginator("get_routes").paginate(ApiId=api_id)
        keys = [str(item.get("RouteKey", "")) for page in pages for item in page.get("Items", [])]
    routes: list[Route] = []
    for key in keys:
        method, _, path = key.partition(" ")
        routes.append(Route("ANY", "$default") if key == "$default" else Route(method.upper(), path))
    return routes


def is_function_url(resource: Resource) -> bool:
    """A Lambda function URL: no routes, every path reaches the function."""
    return bool(resource.url and _LAMBDA_URL.search(_host(resource.url)))


# ---------------------------------------------------------------- what a method asks of a request
# The flow learns a stack's conventions from the API itself (verify.scenario.conventions): the query
# parameters a method requires (`method.request.querystring.X: true`) and the JSON schema of its
# request model. Read-only: GetResources (the same page `methods` reads), GetModel.


@dataclass(frozen=True)
class MethodRequest:
    """What one declared method asks of a request."""

    method: str
    path: str
    required_query: tuple[str, ...] = ()
    optional_query: tuple[str, ...] = ()
    path_params: tuple[str, ...] = ()
    model: str | None = None  # the application/json request model's name
    validated: bool = False  # a request validator is attached


def method_requests(client: Any, api_id: str) -> list[MethodRequest]:
    """Every method of REST API `api_id` with its request parameters and model."""
    with aws_errors("apigateway", "GetResources", api_id, subject=f"API Gateway REST API `{api_id}`"):
        pages = client.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"])
        resources = [item for page in pages for item in page.get("items", [])]
    found: list[MethodRequest] = []
    for item in resources:
        path = str(item["path"])
        params = tuple(s[1:-1].rstrip("+") for s in path.split("/") if s.startswith("{") and s.endswith("}"))
        for verb, method in (item.get("resourceMethods") or {}).items():
            declared = method.get("requestParameters") or {}
            prefix = "method.request.querystring."
            query = {k[len(prefix) :]: bool(v) for k, v in declared.items() if k.startswith(prefix)}
            models = method.get("requestModels") or {}
            found.append(
                MethodRequest(
                    method=str(verb),
                    path=path,
                    required_query=tuple(sorted(k for k, v in query.items() if v)),
                    optional_query=tuple(sorted(k for k, v in query.items() if not v)),
                    path_params=params,
                    model=models.get("application/json"),
                    validated=bool(method.get("requestValidatorId")),
                )
            )
    return found


def model_schema(client: Any, api_id: str, model: str) -> dict[str, Any]:
    """A request model's JSON schema (`{}` when it has none or it is not JSON)."""
    with aws_errors("apigateway", "GetModel", f"{api_id} {model}", subject=f"API Gateway model `{model}`"):
        text = client.get_model(restApiId=api_id, modelName=model).get("schema") or "{}"
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
