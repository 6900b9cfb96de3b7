"""AWS-level faults: the sandbox's AWS answers as a bad day at AWS looks from outside.

Stack faults (`pipeline/`, `platform/`) make the stack wrong, so checks must *fail*. These make
AWS or the network misbehave while the stack is fine, so checks must say they *could not verify*
(`error`), naming the permission or endpoint, and the run must still finish within its timeouts:

- `aws_access_denied`: DynamoDB DescribeTable answers AccessDeniedException.
- `aws_throttling`: each service's first tries answer ThrottlingException, in bursts botocore's
  standard retries absorb; the run passes.
- `aws_5xx`: every SNS call answers HTTP 500, retries included.
- `aws_hang`: Lambda GetFunctionConfiguration never answers (longer than any read timeout).
- `aws_expired_token`: every call of the harness answers ExpiredTokenException.
- `api_html`: where the API would answer 2xx, it answers a 200 HTML page (a sign-in portal).
- `api_huge_body`: where the API would answer a GET with 2xx, the body is multi-megabyte.

Only the harness's calls are hit (its user agent carries `verify/`): the sandbox's own processor keeps
working, as a real stack's would while one caller's credentials expire. The API faults sit in a small
proxy in front of the sandbox API, whose URL the outputs then name.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import threading
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from verify.sandbox.emulator.api_gateway import map_custom_domain
from verify.sandbox.emulator.context import StackParts
from verify.sandbox.emulator.server import (
    AwsRequest,
    Emulator,
    Interceptor,
    Response,
    ServedInThread,
    free_port,
)
from verify.sandbox.faults.catalogue import AWS_FAULTS

log = logging.getLogger(__name__)

HARNESS_AGENT = "verify/"
THROTTLE_BURST = 2  # throttled tries per service: under botocore's 5 per call, so always absorbed
HANG_S = 120.0  # longer than the harness's read timeout (at most 20 s) times its tries
HUGE_BODY_BYTES = 5 * 1024 * 1024
SIGN_IN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Access</title></head>\n"
    b"<body><h1>Please sign in</h1><form method='post' action='/login'>"
    b"<input name='user'><input name='password' type='password'></form></body></html>\n"
)


def _protocol(req: AwsRequest) -> str:
    if " " in req.operation:
        return "rest-json"  # "GET /2015-03-31/functions/..." (lambda, apigateway, xray, ...)
    return "query" if "Action" in req.params else "json"


def error_response(req: AwsRequest, status: int, code: str, message: str) -> Response:
    """An AWS error as the request's protocol shapes it, so botocore parses the code like AWS's."""
    request_id = str(uuid.uuid4())
    protocol = _protocol(req)
    if protocol == "query":
        body = (
            f'<ErrorResponse xmlns="https://{req.service}.amazonaws.com/doc/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        ).encode()
        return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id}
    if protocol == "rest-json":
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": code,
            "x-amzn-RequestId": request_id,
        }
    return status, headers, json.dumps({"__type": code, "message": message}).encode()


def _from_harness(req: AwsRequest) -> bool:
    return HARNESS_AGENT in req.user_agent


def _harness_only(fn: Interceptor) -> Interceptor:
    def intercept(req: AwsRequest) -> Response | None:
        return fn(req) if _from_harness(req) else None

    return intercept


def access_denied(req: AwsRequest) -> Response:
    table = req.params.get("TableName", "*")
    return error_response(
        req,
        400,
        "AccessDeniedException",
        f"User: arn:aws:iam::123456789012:user/verify-ci is not authorized to perform: "
        f"dynamodb:{req.operation} on resource: arn:aws:dynamodb:us-east-1:123456789012:table/{table} "
        "because no identity-based policy allows the dynamodb:DescribeTable action",
    )


class Throttler:
    """Throttles the first THROTTLE_BURST tries the harness makes of each service: one call of each
    meets a burst (retried twice), the rest of the run goes through."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self.throttled = 0

    def __call__(self, req: AwsRequest) -> Response | None:
        with self._lock:
            self._seen[req.service] += 1
            if self._seen[req.service] > THROTTLE_BURST:
                return None
            self.throttled += 1
        code = "Throttling" if _protocol(req) == "query" else "ThrottlingException"
        status = 429 if _protocol(req) == "rest-json" else 400
        return error_response(req, status, code, "Rate exceeded")


def server_error(req: AwsRequest) -> Response:
    code = "InternalFailure" if _protocol(req) == "query" else "InternalServerError"
    return error_response(req, 500, code, "We encountered an internal error. Please try again.")


def make_hang(stopped: threading.Event) -> Interceptor:
    def hang(req: AwsRequest) -> Response | None:
        # Answer nothing until long after the caller gave up (or the sandbox stops).
        stopped.wait(HANG_S)
        return error_response(req, 503, "ServiceUnavailable", "too late")

    return hang


def expired_token(req: AwsRequest) -> Response:
    code = "ExpiredToken" if _protocol(req) == "query" else "ExpiredTokenException"
    status = 403 if _protocol(req) != "json" else 400
    return error_response(req, status, code, "The security token included in the request is expired")


# ---------------------------------------------------------------- the API proxy

Rewrite = Callable[[str, int, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


def html_page(
    method: str, status: int, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    if not 200 <= status < 300:
        return status, headers, body  # refusals stay what they are: only the answers turn to HTML
    return 200, {"Content-Type": "text/html; charset=utf-8"}, SIGN_IN_PAGE


def huge_body(
    method: str, status: int, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    if method != "GET" or not 200 <= status < 300:
        return status, headers, body
    padding = b'{"Items": [' + b'"' + b"x" * (HUGE_BODY_BYTES - 20) + b'"]}'
    return 200, {"Content-Type": "application/json"}, padding


class ApiFaultProxy:
    """Forwards every request to the sandbox API (Host header kept, so SigV4 still verifies) and
    rewrites the answer."""

    def __init__(self, target_url: str, rewrite: Rewrite) -> None:
        parsed = urllib.parse.urlsplit(target_url)
        self.target_host = parsed.hostname or "127.0.0.1"
        self.target_port = parsed.port or 80
        self.rewrite = rewrite
        self.port = free_port()
        # Same stage path as the real API, so the outputs only change their port.
        self.url = urllib.parse.urlunsplit((parsed.scheme, f"127.0.0.1:{self.port}", parsed.path, "", ""))
        self._proxy = ThreadingHTTPServer(("127.0.0.1", self.port), _proxy_handler(self))
        self._proxy.daemon_threads = True
        self._serving = ServedInThread()

    def start(self) -> None:
        self._serving.serve(self._proxy, "api-fault-proxy")

    def stop(self) -> None:
        self._serving.stop()

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.target_host, self.target_port, timeout=30)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            answer = conn.getresponse()
            content = answer.read()
            kept = {k: v for k, v in answer.getheaders() if k.lower() not in ("content-length", "connection")}
            return self.rewrite(method, answer.status, kept, content)
        finally:
            conn.close()


def _proxy_handler(proxy: ApiFaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            status, answer_headers, answer = proxy.forward(self.command, self.path, headers, body)
            self.send_response(status)
            for name, value in answer_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            # A client that caps what it reads hangs up half-way through a huge body: that is the point.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if self.command != "HEAD":
                    self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("api fault proxy: " + format, *args)

    return Handler


# ---------------------------------------------------------------- installation


def install_aws_faults(emulator: Emulator, started: list[StackParts], faults: frozenset[str]) -> None:
    """Install the chosen AWS faults after the stacks are provisioned (provisioning itself must work)."""
    chosen = faults & set(AWS_FAULTS)
    middleware = emulator.middleware
    if "aws_expired_token" in chosen:
        middleware.intercept("*", "*", _harness_only(expired_token))
    if "aws_access_denied" in chosen:
        middleware.intercept("dynamodb", "DescribeTable", _harness_only(access_denied))
    if "aws_throttling" in chosen:
        middleware.intercept("*", "*", _harness_only(Throttler()))
    if "aws_5xx" in chosen:
        middleware.intercept("sns", "*", _harness_only(server_error))
    if "aws_hang" in chosen:
        stopped = threading.Event()
        middleware.intercept(
            "lambda", "GET /2015-03-31/functions/*", _harness_only(_config_only(make_hang(stopped)))
        )
        pipeline = next((p for p in started if p.name == "pipeline"), None)
        if pipeline is not None:
            pipeline.stops.append(stopped.set)  # let the hanging threads go when the sandbox stops
    for name, rewrite in (("api_html", html_page), ("api_huge_body", huge_body)):
        if name in chosen:
            _proxy_api(started, rewrite, name)


def _config_only(fn: Interceptor) -> Interceptor:
    def intercept(req: AwsRequest) -> Response | None:
        return fn(req) if req.operation.endswith("/configuration") else None

    return intercept


def _proxy_api(started: list[StackParts], rewrite: Rewrite, fault: str) -> None:
    for parts in started:
        if parts.name != "pipeline" or "ApiEndpoint" not in parts.outputs:
            continue
        proxy = ApiFaultProxy(str(parts.outputs["ApiEndpoint"]), rewrite)
        proxy.start()
        # The harness signs only for hosts API Gateway maps (see map_custom_domain): the proxy is one.
        stage = next((s for s in urllib.parse.urlsplit(proxy.url).path.split("/") if s), "")
        map_custom_domain(f"127.0.0.1:{proxy.port}", stage)
        parts.stops.append(proxy.stop)
        parts.outputs["ApiEndpoint"] = proxy.url
        parts.services[f"api ({fault})"] = proxy.url
