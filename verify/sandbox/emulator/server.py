"""The AWS emulator: moto's WSGI app on a loopback port, behind a small fault middleware.

moto serves the AWS APIs; the middleware lets the sandbox express what moto cannot (a stream that is
not ACTIVE, an AccessDenied on one operation, a hanging endpoint) by intercepting one
(service, operation) at a time. The harness never knows: it only sees an HTTP endpoint that speaks AWS.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import logging
import socket
import socketserver
import threading
import urllib.parse
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

# An interceptor sees the parsed request and either returns None (let moto answer) or a full
# response (status, headers, body) that replaces moto's.
Response = tuple[int, dict[str, str], bytes]
Interceptor = Callable[["AwsRequest"], Response | None]
# A patcher sees moto's answer and may rewrite its body (e.g. flip a status field).
Patcher = Callable[["AwsRequest", bytes], bytes]


@dataclass(frozen=True)
class AwsRequest:
    service: str  # signing name from the Authorization header's credential scope, e.g. "dynamodb"
    operation: str  # X-Amz-Target suffix or the query protocol's Action
    body: bytes
    params: dict[str, str]  # JSON body (json protocols) or form/query parameters (query protocol)
    # Tells the harness's calls (`verify/<version>` in it) from the sandbox's own (its processor's).
    user_agent: str = ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServedInThread:
    """A socket server served from a daemon thread, with a quick stop (shared by moto and the API)."""

    def __init__(self) -> None:
        self._server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None

    def serve(self, server: socketserver.BaseServer, name: str) -> None:
        self._server = server
        # serve_forever's default 0.5 s poll interval is what shutdown() waits; keep stop() quick.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None


def _parse(environ: dict[str, Any], body: bytes) -> AwsRequest:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    service = ""
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            service = scope[3]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    params: dict[str, str] = {}
    operation = target.rsplit(".", 1)[-1] if target else ""
    if target:
        try:
            loaded = json.loads(body or b"{}")
            if isinstance(loaded, dict):
                params = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in loaded.items()}
        except ValueError:
            pass
    else:
        query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"))) if body else {}
        params = {**query, **form}
        operation = params.get("Action", "")
        if not operation:
            # REST-style services (lambda, apigateway, efs, xray, ...): method + path names the call.
            operation = f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')}"
    return AwsRequest(
        service=service,
        operation=operation,
        body=body,
        params=params,
        user_agent=environ.get("HTTP_USER_AGENT", ""),
    )


class FaultMiddleware:
    """WSGI middleware: interceptors answer instead of moto; patchers rewrite moto's answers."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._interceptors: list[tuple[str, str, Interceptor]] = []
        self._patchers: list[tuple[str, str, Patcher]] = []
        self.calls = 0

    def intercept(self, service: str, operation: str, fn: Interceptor) -> None:
        self._interceptors.append((service, operation, fn))

    def patch(self, service: str, operation: str, fn: Patcher) -> None:
        self._patchers.append((service, operation, fn))

    @staticmethod
    def _matches(rule_service: str, rule_op: str, req: AwsRequest) -> bool:
        service_ok = rule_service in ("*", req.service)
        prefix = rule_op.endswith("*") and req.operation.startswith(rule_op[:-1])
        op_ok = rule_op in ("*", req.operation) or prefix
        return service_ok and op_ok

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.calls += 1
        if not self._interceptors and not self._patchers:
            return self._app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        req = _parse(environ, body)
        for service, op, interceptor in self._interceptors:
            if self._matches(service, op, req):
                answer = interceptor(req)
                if answer is not None:
                    status, answer_headers, answer_body = answer
                    length_header = ("Content-Length", str(len(answer_body)))
                    start_response(f"{status} X", [*answer_headers.items(), length_header])
                    return [answer_body]
        environ["wsgi.input"] = io.BytesIO(body)
        patchers = [fn for service, op, fn in self._patchers if self._matches(service, op, req)]
        if not patchers:
            return self._app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        payload = b"".join(self._app(environ, capture))
        for fn in patchers:
            payload = fn(req, payload)
        # DynamoDB signs its body with a CRC32 header that botocore checks: recompute it.
        dropped = ("content-length", "x-amz-crc32")
        headers = [(k, v) for k, v in captured["headers"] if k.lower() not in dropped]
        if any(k.lower() == "x-amz-crc32" for k, _ in captured["headers"]):
            headers.append(("x-amz-crc32", str(zlib.crc32(payload) & 0xFFFFFFFF)))
        start_response(captured["status"], [*headers, ("Content-Length", str(len(payload)))])
        return [payload]


_DISPATCHER: list[Any] = []
_DISPATCHER_LOCK = threading.Lock()


def _dispatcher() -> Any:
    """The process's one moto WSGI app.

    moto builds a Flask app per service on its first request, compiling every URL rule of the
    service (~40 ms each); a dispatcher per sandbox start did that again at every start and fault
    switch -- a fifth of a switch's CPU -- and held one lock while doing it, so the first calls of
    a run queued behind each other. The apps hold no state (moto's backends are global to the
    process), so every emulator of the process can share them."""
    with _DISPATCHER_LOCK:
        if not _DISPATCHER:
            from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

            class Dispatcher(DomainDispatcherApplication):
                """Remembers which backend serves a host: moto matches the host against each of
                its ~400 services' URL patterns on every request, holding the lock every request
                of the emulator takes (a tenth of a run's emulator CPU). The patterns are fixed,
                so the answer for a host is too."""

                def __init__(self) -> None:
                    super().__init__(_one_at_a_time(create_backend_app))
                    self._hosts: dict[str | None, Any] = {}

                def get_backend_for_host(self, host: str | None) -> Any:
                    if host not in self._hosts:  # asked under the dispatcher's own lock
                        self._hosts[host] = super().get_backend_for_host(host)
                    return self._hosts[host]

            _reuse_kms_keys()
            build_moto_routes_one_at_a_time()
            _DISPATCHER.append(Dispatcher())
        return _DISPATCHER[0]


# Held while moto compiles URL rules into Python (werkzeug builds each rule's code as an `ast` tree).
# CPython 3.11 counts the depth of that construction per interpreter, not per thread: two threads
# building at once raised "SystemError: AST constructor recursion depth mismatch" (CPython
# gh-106905), and the request building it got a 500 -- once, in a suite run under load, a discovery
# step on a healthy stack. moto builds a service's rules on its first request in whichever thread
# serves it: a Flask app per service here, a router per service and protocol in every mode.
_AST_BUILDS = threading.RLock()
_T = TypeVar("_T")


def _one_at_a_time(build: Callable[..., _T]) -> Callable[..., _T]:
    @functools.wraps(build)
    def locked(*args: Any, **kwargs: Any) -> _T:
        with _AST_BUILDS:
            return build(*args, **kwargs)

    return locked


def build_moto_routes_one_at_a_time() -> None:
    """Make moto build its per-service routers one at a time (see `_AST_BUILDS`), for this process.

    Also for moto in a test process (`mock_aws`), where checks and discovery run in threads. A
    router already built is answered without the lock. Guarded: a moto without this router is left
    as it is."""
    try:
        routing = importlib.import_module("moto.core.routing")  # in moto 5.2.5, not in 5.2.1
    except ImportError:
        return  # an older moto matches URLs by regular expressions in mock mode: nothing to build
    router = getattr(routing, "ServiceOperationRouter", None)
    original = getattr(router, "_get_router", None)
    if router is None or original is None or getattr(original, "one_at_a_time", False):
        return

    def get_router(self: Any, protocol: str) -> Any:
        built = getattr(self, "_routers", {}).get(protocol)
        if built is not None:
            return built
        with _AST_BUILDS:
            return original(self, protocol)

    get_router.one_at_a_time = True  # type: ignore[attr-defined]
    setattr(router, "_get_router", get_router)  # noqa: B010 -- a private moto method


def _reuse_kms_keys() -> None:
    """One private key per key spec for the whole process, instead of moto's fresh one per CreateKey.

    moto generates a 2048-bit RSA key for every key, symmetric ones included: 50-300 ms of CPU each
    (prime search), a fifth of a pipeline's provisioning. No sandbox check needs two keys' key
    material to differ. Guarded: a moto without this function is left as it is, only slower."""
    from moto.kms import models

    original = getattr(models, "generate_private_key", None)
    if original is None or getattr(original, "shared_by_verify", False):
        return
    keys: dict[str, Any] = {}
    lock = threading.Lock()

    def shared(key_spec: str) -> Any:
        with lock:
            if key_spec not in keys:
                keys[key_spec] = original(key_spec)
            return keys[key_spec]

    shared.shared_by_verify = True  # type: ignore[attr-defined]
    setattr(models, "generate_private_key", shared)  # noqa: B010 -- moto does not export it


class Emulator:
    """moto on 127.0.0.1:<port> in a thread of this process, with a FaultMiddleware in front."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.middleware = FaultMiddleware(_dispatcher())
        self._serving = ServedInThread()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # werkzeug logs every request line to stderr; a verifier's console is no place for that.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._serving.serve(make_server("127.0.0.1", self.port, self.middleware, threaded=True), "moto")

    def stop(self) -> None:
        self._serving.stop()

    def connect(self, client: Any) -> Any:
        """Has `client` (a boto3 client of this process, aimed at `endpoint_url`) hand each request
        straight to the emulator's WSGI app instead of sending it through a socket.

        For the sandbox's own calls only -- provisioning, its functions and processor -- which live
        in the emulator's process: the loopback socket, the server's thread per request and both
        HTTP stacks were about half of a provisioning's CPU (a fault switch, every start). The
        request still passes the fault middleware, signed and with its headers as sent. The
        harness's calls never come here: they reach the emulator over HTTP, as they would AWS."""
        client.meta.events.register("before-send", self._answer)
        return client

    def _answer(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from urllib3.response import HTTPResponse

        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        url = urllib.parse.urlsplit(request.url)
        environ = EnvironBuilder(
            path=url.path or "/",
            base_url=f"{url.scheme}://{url.netloc}",
            query_string=url.query,
            method=request.method,
            headers=[
                (k, v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in request.headers.items()
            ],
            data=body or b"",
        ).get_environ()
        chunks, status, headers = run_wsgi_app(self.middleware, environ, buffered=True)
        payload = b"".join(chunks)
        raw = HTTPResponse(
            body=io.BytesIO(payload), status=int(status.split(" ", 1)[0]), preload_content=False
        )
        answer_headers: Any = dict(headers.items())  # botocore keeps them in a dict of its own
        return AWSResponse(request.url, raw.status, answer_headers, raw)
