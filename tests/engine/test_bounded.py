"""Finding 6 of issue 16, in process: one overall deadline per HTTP request (not per read), and
checks running ahead abandoned at the run's deadline with an error naming it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from botocore.credentials import Credentials

from tests.helpers.trickle import TrickleServer
from verify.aws.http import SignedHttp, SigningHosts
from verify.engine.ahead import AheadRunner, Job
from verify.engine.evidence import CheckRecorder
from verify.errors import AwsAccessError, VerifyError
from verify.polling import (
    NotYet,
    allow_waits,
    begin_stop,
    end_stop,
    eventually,
    past_hard_deadline,
    run_budget_s,
    set_run_deadline,
)


@pytest.fixture(autouse=True)
def _no_deadline_left_behind() -> Iterator[None]:
    yield
    set_run_deadline(None)
    end_stop()
    allow_waits()


def _http(server: TrickleServer, deadline_s: float) -> SignedHttp:
    hosts = SigningHosts(endpoints=frozenset({("127.0.0.1", server.port)}))
    return SignedHttp(
        Credentials("AKIDEXAMPLE", "secret"),
        "us-east-1",
        timeout=(1.0, 5.0),
        deadline_s=deadline_s,
        hosts=hosts,
    )


@pytest.mark.parametrize("headers_first", [False, True], ids=["trickled-headers", "trickled-body"])
def test_a_trickling_answer_is_cut_at_the_per_request_deadline(headers_first: bool) -> None:
    # A byte every 0.05 s never trips the 5 s read timeout; the 0.4 s deadline must cut it.
    with TrickleServer(every_s=0.05, max_bytes=400, headers_first=headers_first) as server:
        started = time.monotonic()
        with pytest.raises(AwsAccessError) as error:
            _http(server, 0.4).request("GET", server.origin + "/prod/query")
        took = time.monotonic() - started
    # Uncut, the answer would take 20 s (400 bytes at 0.05 s); 3 s leaves room for a loaded machine.
    assert took < 3.0, took
    assert "per-request deadline" in str(error.value)


def test_the_run_deadline_cuts_a_request_sooner() -> None:
    with TrickleServer(every_s=0.05, max_bytes=400) as server:
        set_run_deadline(time.monotonic() + 0.3)
        started = time.monotonic()
        with pytest.raises(AwsAccessError, match="run's deadline"):
            _http(server, 30).request("GET", server.origin + "/prod/query")
        assert time.monotonic() - started < 2.5  # uncut: minutes; room for a loaded CI machine


def test_a_stop_abandons_a_request_in_flight() -> None:
    with TrickleServer(every_s=0.05, max_bytes=400) as server:
        threading.Timer(0.2, begin_stop, args=(3.0,)).start()
        started = time.monotonic()
        with pytest.raises(AwsAccessError, match="being stopped"):
            _http(server, 30).request("GET", server.origin + "/prod/query")
        assert time.monotonic() - started < 2.5  # uncut: minutes; room for a loaded CI machine


def test_a_check_stuck_in_a_call_is_abandoned_at_the_run_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # A check blocked where no timeout reaches (an AWS answer trickling through a proxy).
    monkeypatch.setattr("verify.engine.ahead.STOP_JOIN_S", 0.2)
    released = threading.Event()
    runner = AheadRunner(threads=2)
    set_run_deadline(time.monotonic() + 0.3)
    runner.start([Job(key="stuck", call=lambda: released.wait(30), recorder=CheckRecorder())])
    started = time.monotonic()
    try:
        outcome = runner.outcome("stuck")
        assert isinstance(outcome.error, VerifyError)
        assert "run's deadline" in str(outcome.error)
        assert time.monotonic() - started < 2.5  # uncut: minutes; room for a loaded CI machine
        runner.stop()  # never waits for the stuck thread longer than its join bound
        assert time.monotonic() - started < 1.0
    finally:
        released.set()


def test_a_wait_ends_at_the_run_deadline_with_an_error_naming_it() -> None:
    def never() -> None:
        raise NotYet("not there")

    set_run_deadline(time.monotonic() + 0.3)
    started = time.monotonic()
    with pytest.raises(VerifyError, match="run's deadline"):
        eventually(never, what="reading in table raw", timeout=30)
    assert time.monotonic() - started < 0.8


def test_the_run_budget_formula_and_the_hard_deadline() -> None:
    assert run_budget_s(90) == 240 and run_budget_s(3) == 66
    set_run_deadline(time.monotonic() - 31)  # deadline and its 30 s clean-up grace both spent
    assert past_hard_deadline() is not None
    set_run_deadline(time.monotonic() - 1)  # within the grace: clean-up may still call AWS
    assert past_hard_deadline() is None


def test_the_backstop_cuts_only_an_aws_call_and_only_past_the_hard_deadline() -> None:
    import sys

    from verify.signals import _backstop

    inside: dict[str, object] = {"__name__": "botocore.endpoint", "sys": sys}
    exec("def wait_for_answer():\n    return sys._getframe()\n", inside)
    aws_frame = inside["wait_for_answer"]()  # type: ignore[operator]
    own_frame = sys._getframe()
    _backstop(14, aws_frame)  # no deadline spent: nothing happens
    set_run_deadline(time.monotonic() - 31)
    _backstop(14, own_frame)  # writing a report, say: never cut
    with pytest.raises(VerifyError, match="cut short"):
        _backstop(14, aws_frame)


def test_a_trickled_aws_answer_is_cut_at_each_tries_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # An AWS answer trickled through a proxy: headers at once, then a byte every 0.05 s, so
    # botocore's per-read timeout never fires. Each try gets connect + read timeout in all.
    from verify.aws import Aws, aws_errors

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with TrickleServer(every_s=0.05, max_bytes=4000, headers_first=True) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.origin)
        aws = Aws("us-east-1", connect_timeout=0.1, read_timeout=0.2, max_attempts=1)
        started = time.monotonic()
        with (
            pytest.raises(AwsAccessError, match="could not reach"),
            aws_errors("lambda", "GetFunction", "fn"),
        ):
            aws.client("lambda").get_function(FunctionName="fn")
        assert time.monotonic() - started < 2.5  # uncut: minutes; room for a loaded CI machine


def test_a_stop_abandons_an_aws_try_without_tripping_the_breaker(monkeypatch: pytest.MonkeyPatch) -> None:
    from verify.aws import Aws, aws_errors

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with TrickleServer(every_s=0.05, max_bytes=4000, headers_first=True) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.origin)
        aws = Aws("us-east-1", connect_timeout=5, read_timeout=20)
        threading.Timer(0.2, begin_stop, args=(3.0,)).start()
        started = time.monotonic()
        with pytest.raises(AwsAccessError, match="being stopped"), aws_errors("dynamodb", "Query", "raw"):
            aws.client("dynamodb").query(TableName="raw", KeyConditionExpression="a = :a")
        assert time.monotonic() - started < 2.5  # uncut: minutes; room for a loaded CI machine
        endpoint = str(aws.client("dynamodb").meta.endpoint_url)
        assert not aws.breaker.is_open(endpoint, "dynamodb Query")  # the clean-up may still query


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_the_deadline_read_loop_still_decodes_compressed_bodies(chunked: bool) -> None:
    import gzip
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = json.dumps({"items": list(range(20000))}).encode()
    packed = gzip.compress(body)

    class Gzipped(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Type", "application/json")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(packed), 1000):
                    part = packed[i : i + 1000]
                    self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(packed)))
                self.end_headers()
                self.wfile.write(packed)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gzipped)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/prod/query"
        result = SignedHttp(Credentials("AKIDEXAMPLE", "secret"), "us-east-1").request("GET", url)
    finally:
        server.shutdown()
        server.server_close()
    assert result.body == body and not result.truncated
