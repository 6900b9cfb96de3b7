"""SignedHttp against a tiny local HTTP server that records what it received."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.credentials import Credentials, RefreshableCredentials

from verify.aws.http import TEXT_LIMIT_CHARS, HttpResult, SignedHttp
from verify.errors import AwsAccessError, CheckFailed, ReadOnlyViolation
from verify.sandbox.emulator.sigv4 import verify_request

REGION = "us-east-1"
ACCESS_KEY = "AKIDEXAMPLEKEY000001"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEJr//////////wEaDEXAMPLEsessiontoken=="


class Recorder(BaseHTTPRequestHandler):
    """Records each request on the server and answers according to the path."""

    server: RecordingServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.received.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body}
        )
        route = urlsplit(self.path)
        query = parse_qs(route.query)
        if route.path == "/html":
            self._reply(
                502, b"<html><body>Bad gateway</body></html>", "text/html", {"x-amz-apigw-id": "gw-1"}
            )
        elif route.path == "/big":
            self._reply(200, b"x" * int(query["n"][0]), "application/octet-stream")
        elif route.path == "/slow":
            time.sleep(1.0)
            self._reply(200, b"{}", "application/json")
        elif route.path == "/redirect":
            self._reply(302, b"", "text/plain", {"Location": "/json"})
        elif route.path == "/latin1":
            self._reply(200, "café".encode("latin-1"), "text/plain; charset=ISO-8859-1")
        elif route.path == "/leaky":
            echoed = (
                self.headers.get("Authorization", "") + " " + self.headers.get("X-Amz-Security-Token", "")
            )
            self._reply(500, echoed.encode(), "text/plain")
        else:
            self._reply(
                200,
                json.dumps({"ok": True, "path": route.path}).encode(),
                "application/json",
                {
                    "x-amzn-RequestId": "req-123",
                    "X-Amzn-Trace-Id": "Root=1-5f84c7a1-abcdefabcdefabcdefabcdef;Sampled=1",
                },
            )

    def _reply(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


class RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Recorder)
        self.received: list[dict[str, Any]] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hanging up on /slow is the point of that test

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def module_server() -> Iterator[RecordingServer]:
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def server(module_server: RecordingServer) -> RecordingServer:
    module_server.received.clear()
    return module_server


def creds(token: str | None = None, access_key: str = ACCESS_KEY) -> Credentials:
    return Credentials(access_key, SECRET_KEY, token)


def last(server: RecordingServer) -> dict[str, Any]:
    return server.received[-1]


def header(received: dict[str, Any], name: str) -> str | None:
    return next((v for k, v in received["headers"].items() if k.lower() == name.lower()), None)


def assert_verifies(received: dict[str, Any], secrets: dict[str, str]) -> str:
    path, _, query = received["path"].partition("?")
    return verify_request(
        method=received["method"],
        path=path,
        query=query,
        headers=received["headers"],
        body=received["body"],
        secret_for=secrets.get,
        region=REGION,
    )


def test_signed_get_carries_a_valid_sigv4_signature(server: RecordingServer) -> None:
    result = SignedHttp(creds(), REGION).request("GET", f"{server.base}/items", params={"limit": "10"})
    assert result.status == 200
    received = last(server)
    assert header(
        received,
        "Authorization",
    ).startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")  # type: ignore[union-attr]
    assert header(received, "X-Amz-Date")
    assert received["path"] == "/items?limit=10"
    assert assert_verifies(received, {ACCESS_KEY: SECRET_KEY}) == ACCESS_KEY


def test_session_token_is_sent_and_signed(server: RecordingServer) -> None:
    SignedHttp(creds(TOKEN), REGION).request("POST", f"{server.base}/ingest", json_body={"id": 1})
    received = last(server)
    assert header(received, "X-Amz-Security-Token") == TOKEN
    assert "x-amz-security-token" in header(received, "Authorization")  # type: ignore[operator]
    assert_verifies(received, {ACCESS_KEY: SECRET_KEY})


def test_json_body_is_sent_as_json(server: RecordingServer) -> None:
    SignedHttp(creds(), REGION).request(
        "POST", f"{server.base}/ingest", json_body={"marker": "m-1", "n": [1, 2]}
    )
    received = last(server)
    assert json.loads(received["body"]) == {"marker": "m-1", "n": [1, 2]}
    assert header(received, "Content-Type") == "application/json"


def test_data_str_is_utf8_encoded(server: RecordingServer) -> None:
    SignedHttp(creds(), REGION).request(
        "PUT", f"{server.base}/raw", data="héllo", headers={"Content-Type": "text/plain"}
    )
    assert last(server)["body"] == "héllo".encode()
    assert_verifies(last(server), {ACCESS_KEY: SECRET_KEY})


def test_callable_credentials_are_read_for_every_request(server: RecordingServer) -> None:
    rotation = iter([creds(access_key="AKIDFIRST00000000001"), creds(access_key="AKIDSECOND0000000002")])
    http = SignedHttp(lambda: next(rotation), REGION)
    http.request("GET", f"{server.base}/a")
    http.request("GET", f"{server.base}/b")
    keys = [header(r, "Authorization").split("Credential=")[1].split("/")[0] for r in server.received]  # type: ignore[union-attr]
    assert keys == ["AKIDFIRST00000000001", "AKIDSECOND0000000002"]


def test_refreshable_credentials_are_refreshed(server: RecordingServer) -> None:
    generation = {"n": 0}

    def refresh() -> dict[str, str]:
        generation["n"] += 1
        expiry = datetime.now(UTC) + timedelta(
            seconds=30
        )  # inside botocore's refresh window: always refreshes
        return {
            "access_key": f"AKIDREFRESH{generation['n']:09d}",
            "secret_key": SECRET_KEY,
            "token": f"token-{generation['n']}-abcdef",
            "expiry_time": expiry.isoformat(),
        }

    refreshable = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    http = SignedHttp(refreshable, REGION)
    http.request("GET", f"{server.base}/a")
    http.request("GET", f"{server.base}/b")
    tokens = [header(r, "X-Amz-Security-Token") for r in server.received]
    assert tokens[0] != tokens[1]
    for received in server.received:
        key = header(received, "Authorization").split("Credential=")[1].split("/")[0]  # type: ignore[union-attr]
        assert assert_verifies(received, {key: SECRET_KEY}) == key


def test_unsigned_request_has_no_authorization(server: RecordingServer) -> None:
    SignedHttp(creds(TOKEN), REGION).request("GET", f"{server.base}/a", sign=False)
    received = last(server)
    assert header(received, "Authorization") is None
    assert header(received, "X-Amz-Security-Token") is None


def test_credentials_override_signs_with_other_credentials(server: RecordingServer) -> None:
    http = SignedHttp(creds(), REGION)
    http.request(
        "GET", f"{server.base}/a", credentials_override=("AKIDOTHER00000000000", "wrong-secret-0000", None)
    )
    received = last(server)
    assert "Credential=AKIDOTHER00000000000/" in header(received, "Authorization")  # type: ignore[operator]
    assert assert_verifies(received, {"AKIDOTHER00000000000": "wrong-secret-0000"}) == "AKIDOTHER00000000000"


def test_allowed_methods_refuse_before_sending(server: RecordingServer) -> None:
    http = SignedHttp(creds(), REGION, allowed_methods=frozenset({"GET", "HEAD"}))
    with pytest.raises(
        ReadOnlyViolation, match=r"read-only mode: refused HTTP POST http://127\.0\.0\.1:\d+/ingest"
    ):
        http.request("post", f"{server.base}/ingest", json_body={"x": 1})
    assert server.received == []
    assert http.request("HEAD", f"{server.base}/a").status == 200
    assert http.request("get", f"{server.base}/a").status == 200


def test_trace_and_request_ids_from_response(server: RecordingServer) -> None:
    result = SignedHttp(creds(), REGION).request("GET", f"{server.base}/json")
    assert result.trace_id == "1-5f84c7a1-abcdefabcdefabcdefabcdef"
    assert result.request_id == "req-123"
    # our own trace header went out too, and the response's wins
    assert header(last(server), "X-Amzn-Trace-Id").startswith("Root=1-")  # type: ignore[union-attr]


def test_trace_id_falls_back_to_the_header_we_sent(server: RecordingServer) -> None:
    result = SignedHttp(creds(), REGION).request("GET", f"{server.base}/html")
    sent = header(last(server), "X-Amzn-Trace-Id")
    assert sent == f"Root={result.trace_id};Sampled=0"  # not the reading: never takes a sample
    assert result.trace_id is not None
    assert result.trace_id.startswith("1-") and len(result.trace_id) == 35
    assert result.request_id == "gw-1"


def test_caller_trace_header_is_kept(server: RecordingServer) -> None:
    mine = "Root=1-00000001-000000000000000000000001;Sampled=1"
    result = SignedHttp(creds(), REGION).request(
        "GET", f"{server.base}/html", headers={"x-amzn-trace-id": mine}
    )
    assert header(last(server), "X-Amzn-Trace-Id") == mine
    assert result.trace_id == "1-00000001-000000000000000000000001"


def test_json_parses_json_bodies(server: RecordingServer) -> None:
    result = SignedHttp(creds(), REGION).request("GET", f"{server.base}/json")
    assert result.json() == {"ok": True, "path": "/json"}


def test_json_on_html_is_a_check_failure(server: RecordingServer) -> None:
    result = SignedHttp(creds(), REGION).request("GET", f"{server.base}/html")
    assert result.status == 502
    with pytest.raises(CheckFailed) as info:
        result.json()
    message = info.value.message
    assert message.startswith(f"GET {server.base}/html: expected a JSON body, got text/html (HTTP 502)")
    assert "Bad gateway" in message


def test_body_is_cut_at_max_body_bytes(server: RecordingServer) -> None:
    http = SignedHttp(creds(), REGION, max_body_bytes=1000)
    cut = http.request("GET", f"{server.base}/big?n=5000")
    assert cut.truncated
    assert len(cut.body) == 1000
    exact = http.request("GET", f"{server.base}/big?n=1000")
    assert not exact.truncated
    assert len(exact.body) == 1000
    with pytest.raises(CheckFailed, match="cut off"):
        cut.json()


def test_text_is_trimmed_for_reports(server: RecordingServer) -> None:
    result = SignedHttp(creds(), REGION).request("GET", f"{server.base}/big?n=50000")
    assert len(result.body) == 50000
    assert len(result.text) == TEXT_LIMIT_CHARS


def test_charset_is_honoured(server: RecordingServer) -> None:
    assert SignedHttp(creds(), REGION).request("GET", f"{server.base}/latin1").text == "café"


def test_redirects_are_reported_not_followed(server: RecordingServer) -> None:
    result = SignedHttp(creds(), REGION).request("GET", f"{server.base}/redirect")
    assert result.status == 302
    assert len(server.received) == 1


def test_evidence_never_holds_authorization_or_token(server: RecordingServer) -> None:
    result = SignedHttp(creds(TOKEN), REGION).request("GET", f"{server.base}/leaky")
    assert TOKEN in result.text  # the endpoint echoed our secrets back...
    evidence = result.evidence()
    dumped = json.dumps(evidence)
    assert TOKEN not in dumped  # ...but the evidence never shows them
    assert "Signature=" not in dumped or "Signature=***" in dumped
    assert SECRET_KEY not in dumped
    assert evidence["status"] == 500
    assert evidence["request"] == f"GET {server.base}/leaky"
    with pytest.raises(CheckFailed) as info:
        result.json()
    assert TOKEN not in str(info.value)
    assert TOKEN not in json.dumps(info.value.evidence)


def test_evidence_fields(server: RecordingServer) -> None:
    evidence = SignedHttp(creds(), REGION).request("GET", f"{server.base}/json").evidence()
    assert evidence["trace_id"] == "1-5f84c7a1-abcdefabcdefabcdefabcdef"
    assert evidence["request_id"] == "req-123"
    assert evidence["content_type"] == "application/json"
    assert json.loads(str(evidence["body"])) == {"ok": True, "path": "/json"}
    assert evidence["truncated"] is False


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_an_access_error_naming_the_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/prod/ingest"
    started = time.monotonic()
    with pytest.raises(AwsAccessError) as info:
        SignedHttp(creds(), REGION, timeout=(1.0, 1.0)).request("GET", url)
    assert time.monotonic() - started < 5
    assert str(info.value).startswith(f"could not reach {url} (GET): connection refused")


def test_read_timeout_is_an_access_error(server: RecordingServer) -> None:
    with pytest.raises(AwsAccessError, match=r"/slow \(GET\): no response within 0\.2s"):
        SignedHttp(creds(), REGION, timeout=(1.0, 0.2)).request("GET", f"{server.base}/slow")


def test_no_credentials_is_an_access_error(server: RecordingServer) -> None:
    http = SignedHttp(lambda: None, REGION)  # type: ignore[arg-type, return-value]
    with pytest.raises(AwsAccessError, match="no AWS credentials found"):
        http.request("GET", f"{server.base}/a")
    assert server.received == []


def test_result_is_immutable(server: RecordingServer) -> None:
    result = SignedHttp(creds(), REGION).request("GET", f"{server.base}/json")
    assert isinstance(result, HttpResult)
    with pytest.raises(AttributeError):
        result.status = 500  # type: ignore[misc]
    assert result.elapsed_s > 0
    assert result.method == "GET"
