"""A local stand-in for an API Gateway REST API stage with AWS_IAM authorization.

A real HTTP server on 127.0.0.1 that checks SigV4 for `execute-api` on every call, as API Gateway
does, then hands the request to a route. It answers the way API Gateway does from outside: a JSON
`message` on 403/404-style refusals, `x-amzn-RequestId`, `X-Amzn-Trace-Id`, and 502 when the
integration (the route) raises. Both sandbox stacks reuse it.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from verify.sandbox.emulator.server import ServedInThread, free_port

log = logging.getLogger(__name__)

# API Gateway's payload limit; anything larger is refused before a route sees it.
MAX_BODY_BYTES = 10 * 1024 * 1024
_TRACE_ROOT = re.compile(r"Root=(1-[0-9a-f]{8}-[0-9a-f]{24})", re.IGNORECASE)


@dataclass
class ApiRequest:
    method: str
    path: str  # after the stage prefix, e.g. "/ingest"
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    trace_id: str  # "1-<8 hex epoch>-<24 hex>"


Route = Callable[[ApiRequest], tuple[int, dict[str, str], bytes]]


def new_trace_id(now: float | None = None) -> str:
    return f"1-{int(now if now is not None else time.time()):08x}-{secrets.token_hex(12)}"


def json_response(
    status: int, payload: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload).encode()


def _message(status: int, message: str, error_type: str) -> tuple[int, dict[str, str], bytes]:
    return json_response(status, {"message": message}, {"x-amzn-ErrorType": error_type})


# API Gateway's wording for the refusals a verifier meets most; the reason is kept after it, since a
# sandbox exists to be debugged against.
_REFUSALS = {
    "unknown access key": (
        "The security token included in the request is invalid.",
        "UnrecognizedClientException",
    ),
    "signature mismatch": (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method.",
        "InvalidSignatureException",
    ),
    "body hash mismatch": (
        "The request signature we calculated does not match the signature you provided.",
        "InvalidSignatureException",
    ),
    "request too old": ("Signature expired.", "InvalidSignatureException"),
    "request dated in the future": ("Signature not yet current.", "InvalidSignatureException"),
}


def _refusal(reason: str) -> tuple[int, dict[str, str], bytes]:
    for prefix, (message, error_type) in _REFUSALS.items():
        if reason.startswith(prefix):
            return _message(403, f"{message} ({reason})", error_type)
    return _message(403, f"Authorization failed: {reason}", "IncompleteSignatureException")


class SignedApiServer:
    """One API stage on http://127.0.0.1:<free port>/<stage>/, SigV4-checked unless auth is off."""

    def __init__(
        self,
        *,
        region: str,
        stage: str,
        routes: dict[tuple[str, str], Route],
        secret_for: Callable[[str], str | None],
        require_auth: Callable[[], bool] = lambda: True,
    ) -> None:
        self.region = region
        self.stage = stage
        self.routes = routes
        self.secret_for = secret_for
        self.require_auth = require_auth
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/{stage}/"
        self._serving = ServedInThread()

    def start(self) -> None:
        handler = _make_handler(self)
        server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        server.daemon_threads = True
        self._serving.serve(server, "sandbox-api")
        map_custom_domain(f"127.0.0.1:{self.port}", self.stage)

    def stop(self) -> None:
        self._serving.stop()

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """The whole answer to one HTTP request (kept apart from the socket code to stay testable)."""
        path, _, raw_query = raw_path.partition("?")
        refusal = self._authorize(method, path, raw_query, headers, body)
        if refusal is not None:
            return refusal
        prefix = f"/{self.stage}"
        route_path = path[len(prefix) :] if path == prefix or path.startswith(prefix + "/") else None
        route = self.routes.get((method, route_path or "")) if route_path is not None else None
        if route is None:
            # What API Gateway answers for a path or method it has no resource for.
            return _message(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
        found = _TRACE_ROOT.search(headers.get("x-amzn-trace-id", ""))
        request = ApiRequest(
            method=method,
            path=route_path or "/",
            query=urllib.parse.parse_qs(raw_query, keep_blank_values=True),
            headers=headers,
            body=body,
            trace_id=found.group(1).lower() if found else new_trace_id(),
        )
        try:
            status, answer_headers, answer_body = route(request)
        except Exception:  # a failing integration is a 502 to the caller, as with a Lambda proxy
            # debug, not error: a fault such as queue_missing makes this the expected answer, and
            # Python's last-resort handler would print the traceback on a verifier's console.
            log.debug("sandbox API route %s %s failed", method, route_path, exc_info=True)
            status, answer_headers, answer_body = _message(
                502, "Internal server error", "InternalServerErrorException"
            )
        return status, {"X-Amzn-Trace-Id": f"Root={request.trace_id}", **answer_headers}, answer_body

    def _authorize(
        self, method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes] | None:
        if not self.require_auth():
            return None
        if "authorization" not in headers and "X-Amz-Signature=" not in raw_query:
            return _message(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
        from verify.sandbox.emulator.sigv4 import SigV4Error, verify_request

        try:
            verify_request(
                method=method,
                path=path,
                query=raw_query,
                headers=headers,
                body=body,
                secret_for=self.secret_for,
                region=self.region,
            )
        except SigV4Error as exc:
            return _refusal(exc.reason)
        return None


def _make_handler(api: SignedApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10  # an idle keep-alive connection must not pin a thread after stop()

        def _serve(self) -> None:
            request_id = str(uuid.uuid4())
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                status, headers, body = _message(413, "Request Too Long", "RequestTooLongException")
                self.close_connection = True
            else:
                raw = self.rfile.read(length) if length else b""
                names: dict[str, str] = {}
                for name, value in self.headers.items():
                    key = name.lower()
                    names[key] = f"{names[key]},{value}" if key in names else value
                status, headers, body = api.handle(self.command, self.path, names, raw)
            self.send_response(status)
            for name, value in {"x-amzn-RequestId": request_id, **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:
            # One line per request on a verifier's console is noise; debug logging still has them.
            log.debug("sandbox API: " + format, *args)

    return Handler


def map_custom_domain(domain: str, stage: str) -> None:
    """Register `domain` (`127.0.0.1:<port>`) as a custom domain of the emulator's API Gateway, mapped
    to the newest REST API with `stage` (else the newest API), as a deployed stack's custom domain is.

    The harness signs requests only for AWS hosts, AWS_ENDPOINT_URL* and custom domains API Gateway
    maps to an API (verify.aws.http.SigningHosts). The sandbox's APIs listen on loopback ports of their
    own; this mapping is how they qualify -- and how any other local port does not. Best effort: the
    emulator runs in this process (moto's backends), or nothing is registered.
    """
    try:
        from moto.apigateway.models import apigateway_backends

        from verify.sandbox.emulator.context import ACCOUNT_ID
    except ImportError:
        return
    for backend in list(apigateway_backends[ACCOUNT_ID].values()):
        apis = list(backend.apis.items())
        if not apis:
            continue
        with_stage = [api_id for api_id, api in apis if stage in api.stages]
        api_id = with_stage[-1] if with_stage else apis[-1][0]
        try:
            backend.create_domain_name(domain, "", [], "", "", "", "", "", "", None, "TLS_1_2")
            backend.create_base_path_mapping(domain, api_id, "", stage if with_stage else "")
            # moto looks a domain up by the request's still percent-encoded path (`%3A` for the
            # port's colon), so the name is found under that spelling too.
            quoted = urllib.parse.quote(domain, safe="")
            backend.domain_names[quoted] = backend.domain_names[domain]
            backend.base_path_mappings[quoted] = backend.base_path_mappings[domain]
        except Exception:  # a moto without these calls: the API is refused, and the run says so
            continue
