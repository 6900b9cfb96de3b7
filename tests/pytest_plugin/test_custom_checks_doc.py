"""docs/custom-checks.md's examples run as written (issue 18): its Python blocks, joined into the one
file the page says they form, are run by pytest with verify's plugin against moto and a local HTTP
API -- once where every check must pass, once where each must fail -- so the page cannot drift from
the API (`signed_http.get` raised AttributeError while the page had no word on it)."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "custom-checks.md"


def doc_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)


class _Api(http.server.BaseHTTPRequestHandler):
    """/health answers ok to a SigV4-signed request only; /broken answers 503."""

    def do_GET(self) -> None:  # http.server calls it by this name
        if self.path == "/echo":
            return self._echo()
        signed = self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 ")
        status, body = (
            (200, {"status": "ok"}) if self.path == "/health" and signed else (503, {"status": "down"})
        )
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-RequestId", "req-1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _echo(self) -> None:
        """/echo: the method, the body and whether the request was signed, as JSON."""
        length = int(self.headers.get("Content-Length") or 0)
        signed = self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 ")
        sent = self.rfile.read(length).decode() if length else ""
        payload = json.dumps({"method": self.command, "body": sent, "signed": signed}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _echo

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def api() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _run(pytester: pytest.Pytester, outputs: dict[str, str], api: str, *extra: str) -> dict[str, Any]:
    pytester.makepyfile(test_orders="\n\n".join(doc_blocks()))
    (pytester.path / "outputs.json").write_text(json.dumps(outputs), encoding="utf-8")
    (pytester.path / "verify.toml").write_text(f'[http]\nallow_hosts = ["{api}"]\n', encoding="utf-8")
    report_dir = pytester.path / "reports"
    pytester.runpytest(
        f"--verify-outputs={pytester.path / 'outputs.json'}",
        f"--verify-config={pytester.path / 'verify.toml'}",
        f"--verify-report-dir={report_dir}",
        "-p",
        "no:cacheprovider",
        *extra,
    )
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    return {c["id"].split("::", 1)[1]: c for c in summary["checks"]}


def _tables(moto_client: Callable[[str], Any]) -> None:
    dynamodb = moto_client("dynamodb")
    for name in ("orders-dev", "orders-old-dev", "inventory-dev"):
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    dynamodb.update_continuous_backups(
        TableName="orders-dev", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )


def test_the_page_holds_the_examples_it_names() -> None:
    blocks = doc_blocks()
    assert len(blocks) >= 3
    joined = "\n".join(blocks)
    for used in ("signed_http.get(", "verify.aws_errors(", "check.record_all(", "eventually("):
        assert used in joined


def test_the_examples_pass_and_fail_as_the_stack_is(
    pytester: pytest.Pytester, moto_client: Callable[[str], Any], api: str
) -> None:
    # One run (a session's discovery costs seconds under moto): healthy and broken tables side by side.
    _tables(moto_client)
    outputs = {
        "OrdersTableName": "orders-dev",
        "OldOrdersTableName": "orders-old-dev",  # PITR off
        "GoneOrdersTableName": "orders-gone-dev",  # no such table
        "InventoryTableName": "inventory-dev",
        "HealthUrl": f"http://{api}/health",
    }
    checks = _run(pytester, outputs, api)
    assert checks["test_orders_table_has_pitr[OrdersTableName]"]["status"] == "passed"
    assert checks["test_orders_table_has_pitr[OrdersTableName]"]["evidence"]["pitr"] == "ENABLED"
    skipped = checks["test_orders_table_has_pitr[InventoryTableName]"]
    assert (skipped["status"], skipped["message"]) == ("skipped", "inventory-dev is not an orders table")
    assert checks["test_orders_table_active[OrdersTableName]"]["status"] == "passed"
    health = checks["test_health_endpoint"]
    assert health["status"] == "passed", health["message"]
    assert (health["evidence"]["status"], health["evidence"]["request_id"]) == (200, "req-1")
    assert health["evidence"]["http"][0]["request"].startswith("GET http://")  # recorded by itself

    off = checks["test_orders_table_has_pitr[OldOrdersTableName]"]
    assert (off["status"], off["message"]) == (
        "failed",
        "DynamoDB table `orders-old-dev`: expected PointInTimeRecovery ENABLED, got DISABLED",
    )
    gone = checks["test_orders_table_has_pitr[GoneOrdersTableName]"]
    assert (gone["status"], gone["message"]) == (
        "failed",
        "DynamoDB table `orders-gone-dev`: expected it to exist, got not found (DescribeContinuousBackups)",
    )
    assert checks["test_orders_table_active[GoneOrdersTableName]"]["status"] == "failed"


def test_the_api_example_fails_on_a_broken_api(pytester: pytest.Pytester, aws_mock: None, api: str) -> None:
    checks = _run(pytester, {"HealthUrl": f"http://{api}/broken"}, api, "-k", "health")
    health = checks["test_health_endpoint"]
    assert (health["status"], health["message"]) == (
        "failed",
        f"GET http://{api}/broken: expected HTTP 200, got 503",
    )


def test_every_documented_method_sends_its_method(api: str) -> None:
    from botocore.credentials import Credentials

    from verify import SignedHttp
    from verify.errors import ReadOnlyViolation

    http = SignedHttp(Credentials("AKIDEXAMPLE", "secret"), "us-east-1")
    url = f"http://{api}/echo"
    try:
        assert http.get(url).json() == {"method": "GET", "body": "", "signed": True}
        assert http.get(url, sign=False).json()["signed"] is False
        assert http.head(url).status == 200
        assert http.delete(url).json()["method"] == "DELETE"
        for send in (http.post, http.put, http.patch):
            answer = send(url, json_body={"reading": 1}).json()
            assert (answer["body"], answer["signed"]) == ('{"reading":1}', True)
        assert http.post(url, data="raw text").json()["body"] == "raw text"
    finally:
        http.close()
    smoke = SignedHttp(
        Credentials("AKIDEXAMPLE", "secret"), "us-east-1", allowed_methods=frozenset({"GET", "HEAD"})
    )
    with pytest.raises(ReadOnlyViolation):
        smoke.post(url, json_body={})
