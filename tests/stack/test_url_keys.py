"""Finding 1 of issue 16, the part with no attacker: keys that merely hold a URL (`DashboardUrl`,
`SlackWebhookUrl`) are no APIs, so smoke never signs GETs to them and the flow never posts there."""

from __future__ import annotations

import pytest

from verify.stack.inventory import classify


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (
            "DashboardUrl",
            "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=iot",
        ),
        ("SlackWebhookUrl", "https://hooks.slack.com/services/T000/B000/XXXX"),
        ("GrafanaURL", "https://grafana.example.com/d/abc"),
        ("DocsLink", "https://docs.example.com/runbook"),
        ("StatusPageUri", "http://status.example.com/"),
        ("WebsiteHost", "https://www.example.com"),
    ],
)
def test_a_key_that_merely_holds_a_url_is_not_an_api(key: str, value: str) -> None:
    assert classify(key, value).kind != "api"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ApiEndpoint", "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/"),
        ("ServiceEndpoint", "https://api.example.com/prod/"),
        ("ApiUrl", "https://api.example.com/"),
        ("IngestApiGatewayUrl", "http://127.0.0.1:8719/prod/"),
        ("InvokeUrl", "https://gw.example.com/prod/"),
        # The value's own host says it: an execute-api URL is an API whatever the key.
        ("DashboardUrl", "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/"),
    ],
)
def test_keys_that_say_api_or_endpoint_and_execute_api_hosts_are_apis(key: str, value: str) -> None:
    assert classify(key, value).kind == "api"
