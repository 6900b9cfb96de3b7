"""Finding 1 of issue 16: signed requests (and the session token) go only to AWS hosts, the hosts of
AWS_ENDPOINT_URL*, custom domains the account's API Gateway maps, and hosts the config allows.
Everything else is refused before a byte is sent, in one sentence naming the output and the host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import Credentials

from tests.helpers.cli import HeaderListener, header_listener
from verify.aws.http import HostRefused, SignedHttp, SigningHosts, endpoint_hosts, valid_allow_entry
from verify.config.settings import load_config
from verify.errors import ConfigError

CANARY_TOKEN = "CANARY-session-token-0123456789"


@pytest.fixture
def listener() -> Iterator[HeaderListener]:
    with header_listener() as server:
        yield server


@pytest.mark.parametrize(
    "url",
    [
        "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/",
        "https://abc123defg.execute-api.cn-north-1.amazonaws.com.cn/prod/ingest",
        "https://abc123defg-vpce-0a1b2c3d.execute-api.eu-west-1.amazonaws.com/prod/",
        "https://abcdefghijklmnop.lambda-url.us-east-1.on.aws/",
    ],
)
def test_aws_api_hosts_over_https_are_allowed(url: str) -> None:
    assert SigningHosts(endpoints=frozenset()).allows(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://abc123defg.execute-api.us-east-1.amazonaws.com/prod/",  # plain HTTP: anyone on the path reads it
        "https://abc123defg.execute-api.us-east-1.amazonaws.com:8443/prod/",
        "https://abc123defg.execute-api.us-east-1.amazonaws.com.evil.example/prod/",
        "https://execute-api.us-east-1.amazonaws.com@evil.example/prod/",
        "https://dashboard.example.com/d/abc",
        "https://hooks.slack.com/services/T000/B000/XXXX",
        "http://127.0.0.1:8080/prod/",
        "ftp://abc123defg.execute-api.us-east-1.amazonaws.com/",
        "not a url",
    ],
)
def test_other_hosts_are_refused(url: str) -> None:
    assert not SigningHosts(endpoints=frozenset()).allows(url)


def test_endpoint_hosts_come_from_every_aws_endpoint_url_variable() -> None:
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_ENDPOINT_URL_EXECUTE_API": "https://api.internal.example",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://localhost:8000/",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_BROKEN": "nonsense",
    }
    assert endpoint_hosts(env) == {("127.0.0.1", 4566), ("api.internal.example", 443), ("localhost", 8000)}


def test_endpoint_host_and_port_both_must_match() -> None:
    hosts = SigningHosts(endpoints=frozenset({("127.0.0.1", 4566)}))
    assert hosts.allows("http://127.0.0.1:4566/restapis/abc/prod/_user_request_/ingest")
    assert not hosts.allows("http://127.0.0.1:4567/prod/")  # another local process is not the emulator
    # An emulator's own execute-api names, under its host and port (LocalStack's style).
    local = SigningHosts(endpoints=frozenset({("localhost.localstack.cloud", 4566)}))
    assert local.allows("https://abc123.execute-api.localhost.localstack.cloud:4566/prod/")
    assert not local.allows("https://abc123.execute-api.localhost.localstack.cloud:4567/prod/")


def test_allow_entries_match_host_port_and_subdomains() -> None:
    hosts = SigningHosts(allow=("api.example.com", "127.0.0.1:8080", "*.corp.example"), endpoints=frozenset())
    assert hosts.allows("https://api.example.com/prod/")
    assert hosts.allows("https://api.example.com:8443/prod/")  # no port in the entry: any port
    assert hosts.allows("http://127.0.0.1:8080/prod/")
    assert not hosts.allows("http://127.0.0.1:8081/prod/")
    assert hosts.allows("https://gw.corp.example/prod/")
    assert not hosts.allows("https://corp.example/prod/")
    assert not hosts.allows("https://api.example.com.evil.example/prod/")


@pytest.mark.parametrize(
    ("entry", "valid"),
    [
        ("api.example.com", True),
        ("api.example.com:8443", True),
        ("*.example.com", True),
        ("127.0.0.1:8080", True),
        ("[::1]:8080", True),
        ("https://api.example.com", False),
        ("api.example.com/prod", False),
        ("*", False),
        ("user@api.example.com", False),
        ("", False),
    ],
)
def test_allow_entries_are_validated(entry: str, valid: bool) -> None:
    assert valid_allow_entry(entry) is valid


def test_a_custom_domain_is_allowed_when_api_gateway_vouches_for_it_once() -> None:
    asked: list[str] = []

    def vouch(domain: str) -> bool:
        asked.append(domain)
        return domain == "api.example.com"

    hosts = SigningHosts(endpoints=frozenset(), vouch=vouch)
    assert hosts.allows("https://api.example.com/prod/")
    assert hosts.allows("https://api.example.com/prod/other")
    assert not hosts.allows("https://evil.example/prod/")
    assert not hosts.allows("http://127.0.0.1:9999/prod/")
    assert asked == ["api.example.com", "evil.example", "127.0.0.1:9999"]  # each asked once


def test_a_vouch_that_fails_vouches_for_nothing() -> None:
    def broken(domain: str) -> bool:
        raise RuntimeError("no answer")

    assert not SigningHosts(endpoints=frozenset(), vouch=broken).allows("https://api.example.com/")


def test_refusal_names_the_output_and_the_host_and_sends_nothing(
    listener: HeaderListener, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = SigningHosts(endpoints=frozenset())
    url = listener.base + "/prod/"
    hosts.origin(url, "ApiEndpoint")
    http = SignedHttp(Credentials("AKIDEXAMPLE", "secret", CANARY_TOKEN), "us-east-1", hosts=hosts)
    for sign in (True, False):
        with pytest.raises(HostRefused) as refused:
            http.request("POST", url + "ingest", json_body={"a": 1}, sign=sign)
        message = str(refused.value)
        assert "`ApiEndpoint`" in message and f"127.0.0.1:{listener.server_address[1]}" in message
        assert "\n" not in message and CANARY_TOKEN not in message
    assert listener.seen == []


def test_an_allowed_local_host_receives_the_signed_request(listener: HeaderListener) -> None:
    port = listener.server_address[1]
    hosts = SigningHosts(endpoints=frozenset({("127.0.0.1", port)}))
    http = SignedHttp(Credentials("AKIDEXAMPLE", "secret", CANARY_TOKEN), "us-east-1", hosts=hosts)
    assert http.request("GET", listener.base + "/prod/query").status == 200
    headers = {k.lower(): v for k, v in listener.seen[0].items()}
    assert headers.get("x-amz-security-token") == CANARY_TOKEN and "authorization" in headers


@pytest.mark.parametrize(
    "text",
    [
        '[flow]\ningest_path = "https://attacker.example/collect"\n',
        '[flow]\nquery_path = "//attacker.example/q"\n',
        '[flow]\ningest_path = "\\\\\\\\attacker.example\\\\q"\n',
        '[smoke]\nsafe_paths = ["health", "http://attacker.example/"]\n',
    ],
)
def test_flow_and_smoke_paths_must_be_relative(tmp_path: Path, text: str) -> None:
    path = tmp_path / "verify.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(str(path))
    assert "relative" in str(error.value) and "\n" not in str(error.value)


def test_relative_flow_paths_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "verify.toml"
    path.write_text('[flow]\ningest_path = "/v1/ingest"\nquery_path = "v1/query"\n', encoding="utf-8")
    assert load_config(str(path)).flow.ingest_path == "/v1/ingest"


def test_allow_hosts_setting_is_read_and_validated(tmp_path: Path) -> None:
    path = tmp_path / "verify.toml"
    path.write_text('[http]\nallow_hosts = ["API.example.com", "127.0.0.1:8080"]\n', encoding="utf-8")
    assert load_config(str(path)).http.allow_hosts == ("api.example.com", "127.0.0.1:8080")
    path.write_text('[http]\nallow_hosts = ["https://api.example.com/prod"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="allow_hosts"):
        load_config(str(path))
    path.write_text("[http]\nallow_hosts = [1]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="allow_hosts"):
        load_config(str(path))


def test_api_gateway_vouches_for_a_custom_domain_mapped_to_the_named_api(moto_client: Any) -> None:
    from verify.probes.apigateway import custom_domain_maps_api

    apigw = moto_client("apigateway")
    api_id = apigw.create_rest_api(name="iot")["id"]
    other_id = apigw.create_rest_api(name="someone-elses")["id"]
    apigw.create_domain_name(
        domainName="api.example.com", certificateArn="arn:aws:acm:us-east-1:1:certificate/x"
    )
    apigw.create_base_path_mapping(domainName="api.example.com", restApiId=api_id)
    apigw.create_domain_name(
        domainName="bare.example.com", certificateArn="arn:aws:acm:us-east-1:1:certificate/y"
    )

    assert custom_domain_maps_api(apigw, "api.example.com")
    assert custom_domain_maps_api(apigw, "api.example.com", api_ids=frozenset({api_id}))
    assert not custom_domain_maps_api(apigw, "api.example.com", api_ids=frozenset({other_id}))
    assert not custom_domain_maps_api(apigw, "bare.example.com")  # a domain mapped to nothing
    assert not custom_domain_maps_api(apigw, "evil.example.com", moto_client("apigatewayv2"))
