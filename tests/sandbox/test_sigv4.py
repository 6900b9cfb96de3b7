"""The independent SigV4 verifier: what the client signs verifies, every kind of tampering is refused
with its reason, and botocore's own signer agrees with it."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock
from urllib.parse import quote, urlencode, urlsplit

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st
from requests_aws4auth import AWS4Auth

from verify.aws.http import SignedHttp
from verify.sandbox.emulator.sigv4 import (
    SigV4Error,
    canonical_query,
    canonical_uri,
    signing_key,
    verify_request,
)

REGION = "eu-west-1"
KEY_ID = "AKIDVERIFYTEST000001"
SECRET = "s3cr3t/Key+with/odd=chars0000000000000"
TOKEN = "IQoJb3JpZ2luX2VjEJr//session-token-example=="
KEYS = {KEY_ID: SECRET}


@pytest.fixture(scope="module")
def capture() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback server that records each raw request (path, headers, body) and answers 204."""
    captured: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            captured.append(
                {
                    "method": self.command,
                    "target": self.path,
                    "headers": dict(self.headers.items()),
                    "body": self.rfile.read(length) if length else b"",
                }
            )
            self.send_response(204)
            self.end_headers()

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", captured
    server.shutdown()
    server.server_close()


def send(
    capture: tuple[str, list[dict[str, Any]]], method: str, path: str, token: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    base, captured = capture
    captured.clear()
    SignedHttp(Credentials(KEY_ID, SECRET, token), REGION).request(method, base + path, **kwargs)
    return captured[-1]


def check(received: dict[str, Any], **overrides: Any) -> str:
    path, _, query = received["target"].partition("?")
    arguments: dict[str, Any] = {
        "method": received["method"],
        "path": path,
        "query": query,
        "headers": received["headers"],
        "body": received["body"],
        "secret_for": KEYS.get,
        "region": REGION,
    }
    arguments.update(overrides)
    return verify_request(**arguments)


def reason(received: dict[str, Any], **overrides: Any) -> str:
    with pytest.raises(SigV4Error) as info:
        check(received, **overrides)
    return info.value.reason


def with_header(received: dict[str, Any], name: str, value: str | None) -> dict[str, Any]:
    headers = {k: v for k, v in received["headers"].items() if k.lower() != name.lower()}
    if value is not None:
        headers[name] = value
    return {**received, "headers": headers}


# --- what SignedHttp sends verifies ----------------------------------------------------------------


def test_signed_post_verifies(capture: tuple[str, list[dict[str, Any]]]) -> None:
    received = send(capture, "POST", "/prod/ingest", json_body={"marker": "m-1"}, params={"mode": "sync"})
    assert check(received) == KEY_ID


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/prod/items/a%20b", None),
        ("/prod/items/caf%C3%A9/x:y@z", {"q": "a b+c", "empty": "", "list": "1,2"}),
        ("/prod/a/./b/../c//d/", {"z": "1", "a": "2", "A": "3"}),
        ("/", {"with/slash": "x=y&z", "tilde~": "~"}),
    ],
)
def test_awkward_paths_and_queries_verify(
    capture: tuple[str, list[dict[str, Any]]], path: str, params: dict[str, str] | None
) -> None:
    received = send(capture, "GET", path, params=params)
    assert check(received) == KEY_ID


def test_session_token_request_verifies(capture: tuple[str, list[dict[str, Any]]]) -> None:
    received = send(capture, "GET", "/prod/items", token=TOKEN)
    assert check(received) == KEY_ID
    assert reason(with_header(received, "X-Amz-Security-Token", TOKEN + "x")) == "signature mismatch"


# --- every tampering is refused with its reason ---------------------------------------------------


def test_unsigned(capture: tuple[str, list[dict[str, Any]]]) -> None:
    base, captured = capture
    captured.clear()
    SignedHttp(Credentials(KEY_ID, SECRET), REGION).request("GET", base + "/prod/items", sign=False)
    assert reason(captured[-1]) == "missing Authorization header"


def test_unknown_key_id(capture: tuple[str, list[dict[str, Any]]]) -> None:
    received = send(capture, "GET", "/prod/items")
    assert reason(received, secret_for={"AKIDSOMEONEELSE00000": SECRET}.get) == "unknown access key"


def test_wrong_secret(capture: tuple[str, list[dict[str, Any]]]) -> None:
    base, captured = capture
    captured.clear()
    SignedHttp(Credentials(KEY_ID, SECRET), REGION).request(
        "GET", base + "/prod/items", credentials_override=(KEY_ID, "not-the-secret-000000", None)
    )
    assert reason(captured[-1]) == "signature mismatch"


def test_wrong_region(capture: tuple[str, list[dict[str, Any]]]) -> None:
    assert (
        reason(send(capture, "GET", "/prod/items"), region="us-east-1") == "credential scope region mismatch"
    )


def test_wrong_service(capture: tuple[str, list[dict[str, Any]]]) -> None:
    assert (
        reason(send(capture, "GET", "/prod/items"), service="lambda") == "credential scope service mismatch"
    )


def test_stale_date(capture: tuple[str, list[dict[str, Any]]]) -> None:
    received = send(capture, "GET", "/prod/items")
    later = datetime.now(UTC) + timedelta(minutes=6)
    assert reason(received, now=later) == "request too old (X-Amz-Date skew > 300s)"
    assert check(received, now=datetime.now(UTC) + timedelta(minutes=4)) == KEY_ID
    earlier = datetime.now(UTC) - timedelta(minutes=6)
    assert reason(received, now=earlier).startswith("request dated in the future")


def test_tampered_body(capture: tuple[str, list[dict[str, Any]]]) -> None:
    received = send(capture, "POST", "/prod/ingest", json_body={"amount": 10})
    assert reason({**received, "body": b'{"amount":1000}'}) == "body hash mismatch"


def test_tampered_body_and_declared_hash(capture: tuple[str, list[dict[str, Any]]]) -> None:
    received = send(capture, "POST", "/prod/ingest", json_body={"amount": 10})
    forged_body = b'{"amount":1000}'
    forged = with_header(received, "x-amz-content-sha256", hashlib.sha256(forged_body).hexdigest())
    assert reason({**forged, "body": forged_body}) == "signature mismatch"


def test_tampered_query(capture: tuple[str, list[dict[str, Any]]]) -> None:
    received = send(capture, "GET", "/prod/items", params={"limit": "10"})
    assert reason({**received, "target": "/prod/items?limit=1000"}) == "signature mismatch"
    assert reason({**received, "target": "/prod/items?limit=10&admin=true"}) == "signature mismatch"


def test_tampered_path(capture: tuple[str, list[dict[str, Any]]]) -> None:
    received = send(capture, "GET", "/prod/items/1")
    assert reason({**received, "target": "/prod/items/2"}) == "signature mismatch"
    assert reason({**received, "method": "DELETE"}) == "signature mismatch"


def test_tampered_signed_header(capture: tuple[str, list[dict[str, Any]]]) -> None:
    received = send(capture, "POST", "/prod/ingest", json_body={"a": 1})
    assert reason(with_header(received, "Content-Type", "text/plain")) == "signature mismatch"
    assert reason(with_header(received, "Host", "evil.example.com")) == "signature mismatch"
    assert (
        reason(with_header(received, "Content-Type", None))
        == "signed header missing from request: content-type"
    )


def test_unsigned_token_header_is_refused(capture: tuple[str, list[dict[str, Any]]]) -> None:
    received = send(capture, "GET", "/prod/items")
    assert (
        reason(with_header(received, "X-Amz-Security-Token", TOKEN))
        == "x-amz-security-token header is not signed"
    )


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        ("Bearer abc", "unsupported signing algorithm (expected AWS4-HMAC-SHA256)"),
        ("AWS4-HMAC-SHA256 Credential=x", "malformed Authorization header"),
        (
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/execute-api, SignedHeaders=host, "
            "Signature=" + "0" * 64,
            "malformed credential scope",
        ),
    ],
)
def test_malformed_authorization(
    capture: tuple[str, list[dict[str, Any]]], authorization: str, expected: str
) -> None:
    received = send(capture, "GET", "/prod/items")
    assert reason(with_header(received, "Authorization", authorization)) == expected


def test_missing_or_bad_date(capture: tuple[str, list[dict[str, Any]]]) -> None:
    received = send(capture, "GET", "/prod/items")
    assert reason(with_header(received, "X-Amz-Date", None)) == "missing X-Amz-Date header"
    assert reason(with_header(received, "X-Amz-Date", "yesterday")) == "malformed X-Amz-Date header"
    next_day = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ")
    assert reason(with_header(received, "X-Amz-Date", next_day)) == "credential scope date mismatch"


# --- independent of the client library: AWS's vector and botocore's signer ------------------------


def test_aws_documented_get_vanilla_vector() -> None:
    # aws-sig-v4-test-suite "get-vanilla" (service "service", 2015-08-30 12:36:00 UTC).
    headers = {
        "Host": "example.amazonaws.com",
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    }
    accepted = verify_request(
        method="GET",
        path="/",
        query="",
        headers=headers,
        body=b"",
        secret_for={"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}.get,
        region="us-east-1",
        service="service",
        now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
    )
    assert accepted == "AKIDEXAMPLE"


def test_signing_key_derivation_matches_aws_example() -> None:
    # From the AWS General Reference's "deriving the signing key" example.
    key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


FIXED_NOW = datetime(2024, 3, 5, 7, 8, 9)


def botocore_signed(
    method: str, url: str, body: bytes, headers: dict[str, str], token: str | None = None
) -> dict[str, Any]:
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    with mock.patch("botocore.auth.get_current_datetime", return_value=FIXED_NOW):
        SigV4Auth(Credentials(KEY_ID, SECRET, token), "execute-api", REGION).add_auth(request)
    parts = urlsplit(url)
    sent = dict(request.headers.items())
    sent["Host"] = parts.netloc
    return {
        "method": method,
        "target": parts.path + ("?" + parts.query if parts.query else ""),
        "headers": sent,
        "body": body,
    }


@pytest.mark.parametrize("token", [None, TOKEN])
def test_botocore_sigv4_is_accepted(token: str | None) -> None:
    received = botocore_signed(
        "POST",
        "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/items/a%20b?b=2&a=1&c=x%2Fy",
        b'{"k":"v"}',
        {"Content-Type": "application/json", "X-Amzn-Trace-Id": "Root=1-2-3"},
        token,
    )
    assert check(received, now=FIXED_NOW.replace(tzinfo=UTC)) == KEY_ID
    assert (
        reason({**received, "body": b'{"k":"w"}'}, now=FIXED_NOW.replace(tzinfo=UTC)) == "signature mismatch"
    )


_SEGMENT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
)
_PAIRS = st.lists(st.tuples(_SEGMENT, st.text(max_size=10).filter(lambda s: "\x00" not in s)), max_size=4)


@settings(max_examples=60, deadline=None)
@given(
    segments=st.lists(_SEGMENT.filter(lambda s: s not in (".", "..")), min_size=1, max_size=4), pairs=_PAIRS
)
def test_any_path_and_query_signed_by_botocore_or_aws4auth_verifies(
    segments: list[str], pairs: list[tuple[str, str]]
) -> None:
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    query = urlencode(pairs, quote_via=quote)
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com" + path + ("?" + query if query else "")
    now = FIXED_NOW.replace(tzinfo=UTC)
    assert check(botocore_signed("GET", url, b"", {}), now=now) == KEY_ID

    prepared = requests.Request("GET", url).prepare()
    AWS4Auth(KEY_ID, SECRET, REGION, "execute-api")(prepared)
    target = urlsplit(prepared.url or "")
    sent = {**dict(prepared.headers.items()), "Host": target.netloc}
    received = {
        "method": "GET",
        "target": target.path + ("?" + target.query if target.query else ""),
        "headers": sent,
        "body": b"",
    }
    assert check(received) == KEY_ID


def test_canonical_uri_double_encodes_except_for_s3() -> None:
    assert canonical_uri("/prod/a%20b", "execute-api") == "/prod/a%2520b"
    assert canonical_uri("/prod/./x/../a//b/", "execute-api") == "/prod/a/b/"
    assert canonical_uri("", "execute-api") == "/"
    assert canonical_uri("/a%20b", "s3") == "/a%20b"


def test_canonical_query_reencodes_and_sorts() -> None:
    assert canonical_query("b=2&a=1&a=0") == "a=0&a=1&b=2"
    assert canonical_query("q=a+b%2Bc&x=%7e&flag") == "flag=&q=a%20b%2Bc&x=~"
    assert canonical_query("k=caf%c3%a9&s=a/b") == "k=caf%C3%A9&s=a%2Fb"
    assert canonical_query("") == ""
