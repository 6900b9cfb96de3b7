"""What on-call needs in seconds, read-only: the API answers signed GETs on the paths the config
marks safe and refuses unsigned ones; the newest processed record is recent.

DLQ backlog and alarms in ALARM are covered by test_sqs.py and test_cloudwatch.py; every resource
suite runs in the smoke profile too, so "exists and serving" comes from them.
"""

from __future__ import annotations

from verify import (
    Aws,
    CheckRecorder,
    Config,
    Inventory,
    NotApplicable,
    Resource,
    SignedHttp,
    VerifySession,
    mark,
    probes,
)


def _safe_urls(resource: Resource, aws: Aws, inventory: Inventory, config: Config) -> list[str]:
    """The API's URL joined with each `smoke.safe_paths` entry the API really has a GET for."""
    api = probes.apigateway.target(resource, inventory)  # an id output and its URL are one resource
    base = resource.url or resource.value
    if not base.startswith(("http://", "https://")):
        raise NotApplicable(f"output `{resource.key}` is not an API URL to call")
    paths = [p.strip("/") for p in config.smoke.safe_paths]
    # A REST API's resources or an HTTP API's route keys (GetResources, else GetRoutes).
    routes = probes.apigateway.declared_routes(
        aws.client("apigateway"), api.api_id, aws.client("apigatewayv2")
    )
    existing = probes.smoke.get_paths({"method": r.method, "path": r.path} for r in routes)
    safe = [p for p in paths if p in existing]
    if not safe:
        raise NotApplicable(
            f"none of smoke.safe_paths {paths} is a GET resource of API `{api.api_id}` (it has "
            f"{sorted(existing) or 'none'}): add one to [smoke] safe_paths"
        )
    return [probes.smoke.api_url(base, p) for p in safe]


@mark.check("apigateway", title="API {key} answers a signed GET on each safe path")
@mark.resources("api")
def test_api_answers_signed_get(
    resource: Resource,
    aws: Aws,
    inventory: Inventory,
    verify_config: Config,
    signed_http: SignedHttp,
    check: CheckRecorder,
) -> None:
    for url in _safe_urls(resource, aws, inventory, verify_config):
        check.record(url, probes.smoke.check_answers(signed_http, url))


@mark.check("apigateway", title="API {key} rejects an unsigned GET with 403")
@mark.resources("api")
def test_api_rejects_unsigned_get(
    resource: Resource,
    aws: Aws,
    inventory: Inventory,
    verify_config: Config,
    signed_http: SignedHttp,
    check: CheckRecorder,
) -> None:
    # A path the API really serves: an unknown one gets 403 from API Gateway even when auth is open.
    url = _safe_urls(resource, aws, inventory, verify_config)[0]
    check.record("response", probes.smoke.check_unsigned_rejected(signed_http, url).evidence())


@mark.check("dynamodb", title="the newest processed record is recent")
def test_latest_processed_record_recent(
    verify_run: VerifySession, inventory: Inventory, verify_config: Config, aws: Aws, check: CheckRecorder
) -> None:
    if not verify_run.read_only:
        # The full profile follows its own reading through the pipeline (test_flow.py), which says
        # more than the age of somebody else's; this check answers on-call's question in smoke.
        raise NotApplicable("not applicable: the full profile proves the data path with its own reading")
    key = verify_config.flow.processed_table
    table = next((t for t in inventory.of_kind("dynamodb_table") if key in t.keys), None) if key else None
    table = table or inventory.one("dynamodb_table", role="processed")
    if table is None:
        raise NotApplicable("not applicable: the outputs name no processed DynamoDB table")
    sample = probes.smoke.sample_newest(aws.client("dynamodb"), table.name)
    evidence = probes.smoke.check_fresh(sample, table.name, verify_config.expect.processed_max_age_s)
    check.record_all(evidence)
