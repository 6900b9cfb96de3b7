"""SigV4-signed HTTP for IAM-authorized APIs (execute-api), on requests + requests-aws4auth.

Every request is signed with credentials frozen at that moment, so refreshed or rotated credentials
are picked up and a session token travels as `X-Amz-Security-Token`. Each request carries an
`X-Amzn-Trace-Id` root of our own (unless the caller set one), so a check can later look the
request up in X-Ray even when the API does not echo the header. That header also carries the
sampling decision, made here: `Sampled=1` only for the request a check will look up in X-Ray (the
flow's tagged reading, `sampled=True`), `Sampled=0` for every other one. X-Ray's services honour an
upstream decision; a request with none (no header, or no `Sampled`) is judged by the sampling rules,
and under the default rule (the first request each second, then 5 %) a probe sent in the same second
as the reading would take the sample and leave the reading's trace unrecorded. Bodies are streamed and cut at
`max_body_bytes`, so a misbehaving endpoint cannot flood a report. Redirects are not followed: a
verifier reports the status it got.

Nothing here ever puts the Authorization header or the session token in a message or in evidence.

Where requests may go (`SigningHosts`): a run's session only ever talks to AWS hosts -- execute-api
and Lambda function URL hosts of the AWS partitions, over HTTPS -- the hosts of `AWS_ENDPOINT_URL` /
`AWS_ENDPOINT_URL_<SERVICE>` (how an emulator or the sandbox is reached), a custom domain the
account's API Gateway maps to an API, and the hosts the configuration allows (`[http] allow_hosts`).
Any other host is refused before a byte is sent, signed or not: an outputs file is input a pull
request controls, and a signature or a session token sent to its host is a credential handed over.

Every request has one overall deadline (not one per read): the exchange runs in a helper thread and
the caller stops waiting at the deadline, so an API trickling a byte a second cannot hold a check
past it. The run's deadline (`verify.polling.run_deadline`) and a stop signal end it sooner.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import requests
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import BotoCoreError
from requests.structures import CaseInsensitiveDict
from requests_aws4auth import AWS4Auth

from verify.errors import STOPPING, AwsAccessError, CheckFailed, ReadOnlyViolation, VerifyError
from verify.polling import run_deadline, stop_deadline, waits_cancelled
from verify.redact import REDACTOR

TEXT_LIMIT_CHARS = 4000
EVIDENCE_BODY_CHARS = 1000
_CHUNK_BYTES = 64 * 1024
_REQUEST_ID_HEADERS = ("x-amzn-RequestId", "x-amz-apigw-id", "x-amz-request-id")
_TRACE_HEADER = "X-Amzn-Trace-Id"
_ROOT_RE = re.compile(r"(?:^|;)\s*Root=([^;\s]+)")
_SAMPLED_RE = re.compile(r"(?:^|;)\s*Sampled=([^;\s]+)")
_CHARSET_RE = re.compile(r"charset=\"?([\w.:-]+)", re.IGNORECASE)

NO_CREDENTIALS = (
    "no AWS credentials found to sign API requests: set AWS_PROFILE or "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws sso login`"
)

CredentialSource = Callable[[], Credentials] | Credentials

# Hosts AWS itself serves APIs on, reached over HTTPS only: API Gateway's execute-api (regional,
# edge and private `-vpce-` forms, both partitions' suffixes) and Lambda function URLs.
_AWS_API_HOSTS = (
    re.compile(r"^[a-z0-9-]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$"),
    re.compile(r"^[a-z0-9]+\.lambda-url\.[a-z0-9-]+\.on\.aws$"),
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ALLOW_ENTRY = re.compile(
    r"^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::\d{1,5})?$"
)
_IPV6_ENTRY = re.compile(r"^\[[0-9a-f:.]+\](?::\d{1,5})?$")


class HostRefused(VerifyError):
    """A request to a host that is not an AWS API host nor allowed: refused before it was sent."""


def _host_port(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL; None when it is not one."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def valid_allow_entry(entry: str) -> bool:
    """`host`, `host:port`, `*.domain` or `[v6]:port`: no scheme, path, user or bare wildcard."""
    text = entry.strip().lower()
    return bool(_ALLOW_ENTRY.match(text) or _IPV6_ENTRY.match(text))


def endpoint_hosts(environ: Mapping[str, str] | None = None) -> frozenset[tuple[str, int]]:
    """(host, port) of `AWS_ENDPOINT_URL` and every `AWS_ENDPOINT_URL_<SERVICE>`: where boto3 sends
    the run's credentials already, so an API there (an emulator's, the sandbox's) may have them too."""
    env = os.environ if environ is None else environ
    found: set[tuple[str, int]] = set()
    for name, value in env.items():
        if name == "AWS_ENDPOINT_URL" or name.startswith("AWS_ENDPOINT_URL_"):
            parsed = _host_port(value.strip())
            if parsed is not None:
                found.add((parsed[1], parsed[2]))
    return frozenset(found)


@dataclass
class SigningHosts:
    """Which hosts a run may send requests (and so credentials) to; see the module docstring.

    `origins` maps `host:port` to the output key that named it, for the refusal's sentence;
    `vouch(host)` asks the account's API Gateway whether a custom domain maps to an API (cached).
    """

    allow: tuple[str, ...] = ()
    endpoints: frozenset[tuple[str, int]] = field(default_factory=endpoint_hosts)
    origins: Mapping[str, str] = field(default_factory=dict)
    vouch: Callable[[str], bool] | None = None
    _vouched: dict[str, bool] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def allows(self, url: str) -> bool:
        parsed = _host_port(url)
        if parsed is None:
            return False
        scheme, host, port = parsed
        if scheme == "https" and port == 443 and any(p.match(host) for p in _AWS_API_HOSTS):
            return True
        if (host, port) in self.endpoints:
            return True
        # An emulator serves execute-api hosts under its own name (`<id>.execute-api.localhost...`).
        for endpoint_host, endpoint_port in self.endpoints:
            if port == endpoint_port and re.fullmatch(
                rf"[a-z0-9-]+\.execute-api\.{re.escape(endpoint_host)}", host
            ):
                return True
        if any(_entry_matches(entry, host, port) for entry in self.allow):
            return True
        return self._vouched_for(host if port == _DEFAULT_PORTS[scheme] else f"{host}:{port}")

    def _vouched_for(self, domain: str) -> bool:
        if self.vouch is None:
            return False
        with self._lock:
            known = self._vouched.get(domain)
        if known is None:
            try:
                known = bool(self.vouch(domain))
            except Exception:  # an answer we cannot read vouches for nothing
                known = False
            with self._lock:
                self._vouched[domain] = known
        return known

    def check(self, method: str, url: str) -> None:
        """Raise `HostRefused` (one sentence naming the output and the host) unless `url` is allowed."""
        if self.allows(url):
            return
        parsed = _host_port(url)
        host = f"{parsed[1]}:{parsed[2]}" if parsed else REDACTOR.redact(url)[:200]
        key = self.origins.get(host)
        named = f"output `{key}` names" if key else "the request goes to"
        raise HostRefused(
            f"refused {method} to {host}: {named} a host that is not an AWS API host (execute-api over "
            "HTTPS), not the host of AWS_ENDPOINT_URL*, not a custom domain of the account's API Gateway "
            "and not in [http] allow_hosts, so no request (and no credential) is sent there"
        )

    def origin(self, url: str, key: str) -> None:
        """Remember that output `key` named `url` (for the refusal's sentence)."""
        parsed = _host_port(url)
        if parsed is not None and isinstance(self.origins, dict):
            self.origins.setdefault(f"{parsed[1]}:{parsed[2]}", key)


def _entry_matches(entry: str, host: str, port: int) -> bool:
    text = entry.strip().lower()
    wanted_port: int | None = None
    if text.startswith("["):
        name, _, rest = text.partition("]")
        name += "]"
        if rest.startswith(":"):
            wanted_port = int(rest[1:])
    elif text.count(":") == 1:
        name, _, port_text = text.partition(":")
        wanted_port = int(port_text)
    else:
        name = text
    if wanted_port is not None and wanted_port != port:
        return False
    if name.startswith("*."):
        return host.endswith(name[1:]) and host != name[2:]
    return host == name


def origins_of(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """`host:port` -> the first output key naming it, from (key, url) pairs."""
    found: dict[str, str] = {}
    for key, url in pairs:
        parsed = _host_port(url)
        if parsed is not None:
            found.setdefault(f"{parsed[1]}:{parsed[2]}", key)
    return found


@dataclass(frozen=True)
class HttpResult:
    method: str
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    text: str
    elapsed_s: float
    trace_id: str | None
    request_id: str | None
    truncated: bool

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def json(self) -> Any:
        """The body parsed as JSON; `CheckFailed` when it is not JSON (an HTML error page, say)."""
        where = f"{self.method} {REDACTOR.redact(self.url)}"
        if self.truncated:
            raise CheckFailed(
                f"{where}: expected a JSON body, got more than {len(self.body)} bytes (cut off)",
                actual=f"HTTP {self.status}, {self.content_type or 'no content type'}",
                evidence=self.evidence(),
            )
        try:
            return json.loads(self.body)
        except ValueError:
            snippet = " ".join(REDACTOR.cut(self.text, 120).split())  # masked, then cut
            raise CheckFailed(
                f"{where}: expected a JSON body, got {self.content_type or 'no content type'} "
                f"(HTTP {self.status}): {snippet!r}",
                actual=snippet,
                evidence=self.evidence(),
            ) from None

    def evidence(self) -> dict[str, object]:
        """What a report shows about this exchange: request line, status, ids, trimmed body; redacted."""
        raw: dict[str, object] = {
            "request": f"{self.method} {self.url}",
            "status": self.status,
            "elapsed_s": round(self.elapsed_s, 3),
            "trace_id": self.trace_id,
            "request_id": self.request_id,
            "content_type": self.content_type,
            "body": REDACTOR.cut(self.text, EVIDENCE_BODY_CHARS),  # masked, then cut
            "truncated": self.truncated,
        }
        return cast(dict[str, object], REDACTOR.redact_obj(raw))


class SignedHttp:
    """A requests session that signs each request with SigV4 for `service` in `region`."""

    def __init__(
        self,
        credentials: CredentialSource,
        region: str,
        *,
        service: str = "execute-api",
        timeout: tuple[float, float] = (5.0, 30.0),
        max_body_bytes: int = 1_000_000,
        allowed_methods: frozenset[str] | None = None,
        hosts: SigningHosts | None = None,
        deadline_s: float | None = None,
    ) -> None:
        """`hosts`: where requests may go (None: anywhere, for tools and tests that build their own
        session; a run always passes one). `deadline_s`: one request's whole budget, connect to last
        byte (default: the connect and read timeouts added)."""
        self._credentials = credentials
        self.hosts = hosts
        self.deadline_s = deadline_s if deadline_s is not None else timeout[0] + timeout[1]
        self.region = region
        self.service = service
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self.allowed_methods = (
            None if allowed_methods is None else frozenset(m.upper() for m in allowed_methods)
        )
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: object = None,
        data: bytes | str | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        sign: bool = True,
        credentials_override: tuple[str, str, str | None] | None = None,
        sampled: bool = False,
    ) -> HttpResult:
        """`sampled`: ask X-Ray to record this request's trace (see the module docstring); every
        other request says `Sampled=0`, so it never takes the sample a traced request needs."""
        method = method.upper()
        shown_url = REDACTOR.redact(url)
        if self.allowed_methods is not None and method not in self.allowed_methods:
            allowed = ", ".join(sorted(self.allowed_methods))
            raise ReadOnlyViolation(f"read-only mode: refused HTTP {method} {shown_url} (allowed: {allowed})")

        request_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(headers or {}))
        body: bytes | None
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            request_headers.setdefault("Content-Type", "application/json")
        else:
            body = data.encode() if isinstance(data, str) else data
        if _TRACE_HEADER not in request_headers:
            request_headers[_TRACE_HEADER] = trace_header(new_trace_root(), sampled=sampled)
        if self.hosts is not None:
            self.hosts.check(method, url)  # before the credentials are even read
        auth = self._auth(credentials_override) if sign else None

        started = time.perf_counter()
        exchange = _Exchange(
            self._session,
            method,
            url,
            params=dict(params) if params else None,
            data=body,
            headers=request_headers,
            auth=auth,
            timeout=self.timeout,
            max_body_bytes=self.max_body_bytes,
        )
        budget_at = time.monotonic() + self.deadline_s
        if not exchange.run(budget_at):
            raise AwsAccessError(self._cut_message(method, shown_url, budget_at))
        if isinstance(exchange.error, requests.RequestException):
            raise AwsAccessError(
                _transport_message(method, shown_url, exchange.error, self.timeout)
            ) from None
        response, content, truncated = exchange.response, exchange.content, exchange.truncated
        assert response is not None  # finished without an error: the answer is there
        elapsed = time.perf_counter() - started

        response_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(response.headers))
        trace_root = _trace_root(response_headers.get(_TRACE_HEADER)) or _trace_root(
            request_headers.get(_TRACE_HEADER)
        )
        request_id = next((response_headers[h] for h in _REQUEST_ID_HEADERS if h in response_headers), None)
        return HttpResult(
            method=method,
            url=response.url or url,
            status=response.status_code,
            headers=response_headers,
            body=content,
            text=_decode(content, response_headers.get("Content-Type", ""))[:TEXT_LIMIT_CHARS],
            elapsed_s=elapsed,
            trace_id=trace_root,
            request_id=request_id,
            truncated=truncated,
        )

    # The methods a check calls (docs/custom-checks.md): each is `request` with its method, so a run
    # records every exchange in the check's evidence and smoke refuses a write, whichever is used.
    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        sign: bool = True,
    ) -> HttpResult:
        """A signed GET; the answer whatever its status (a 4xx or 5xx is a result, not an exception)."""
        return self.request("GET", url, params=params, headers=headers, sign=sign)

    def head(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        sign: bool = True,
    ) -> HttpResult:
        return self.request("HEAD", url, params=params, headers=headers, sign=sign)

    def post(
        self,
        url: str,
        *,
        json_body: object = None,
        data: bytes | str | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        sign: bool = True,
    ) -> HttpResult:
        """A signed POST of `json_body` (sent as JSON) or `data` (sent as it is); refused in smoke."""
        return self.request(
            "POST", url, json_body=json_body, data=data, params=params, headers=headers, sign=sign
        )

    def put(
        self,
        url: str,
        *,
        json_body: object = None,
        data: bytes | str | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        sign: bool = True,
    ) -> HttpResult:
        return self.request(
            "PUT", url, json_body=json_body, data=data, params=params, headers=headers, sign=sign
        )

    def patch(
        self,
        url: str,
        *,
        json_body: object = None,
        data: bytes | str | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        sign: bool = True,
    ) -> HttpResult:
        return self.request(
            "PATCH", url, json_body=json_body, data=data, params=params, headers=headers, sign=sign
        )

    def delete(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        sign: bool = True,
    ) -> HttpResult:
        return self.request("DELETE", url, params=params, headers=headers, sign=sign)

    def _cut_message(self, method: str, url: str, budget_at: float) -> str:
        """Why an exchange was abandoned: a stop signal, the run's deadline or the request's own."""
        if waits_cancelled() or stop_deadline() is not None:
            return f"{method} {url}: abandoned unfinished because {STOPPING}"
        run_at = run_deadline()
        if run_at is not None and run_at < budget_at:
            return (
                f"{method} {url}: no whole answer before the run's deadline (derived from --timeout), "
                "so the request was abandoned"
            )
        return (
            f"{method} {url}: no whole answer within {self.deadline_s:g}s (the per-request deadline, "
            "from --timeout), so the request was abandoned; the API answers too slowly"
        )

    def _auth(self, override: tuple[str, str, str | None] | None) -> AWS4Auth:
        if override is not None:
            access_key, secret_key, token = override
        else:
            frozen = self._frozen_credentials()
            if not frozen.access_key or not frozen.secret_key:
                raise AwsAccessError(NO_CREDENTIALS)
            access_key, secret_key, token = frozen.access_key, frozen.secret_key, frozen.token
        REDACTOR.add(secret_key)
        if token:
            REDACTOR.add(token)
        return AWS4Auth(access_key, secret_key, self.region, self.service, session_token=token)

    def _frozen_credentials(self) -> ReadOnlyCredentials:
        source = self._credentials
        try:
            credentials = source if isinstance(source, Credentials) else source()
            if credentials is None:
                raise AwsAccessError(NO_CREDENTIALS)
            return credentials.get_frozen_credentials()
        except BotoCoreError as error:
            raise AwsAccessError(
                f"could not load AWS credentials to sign requests ({type(error).__name__}): "
                "refresh them (e.g. `aws sso login`) and retry"
            ) from None


def new_trace_root() -> str:
    """An X-Ray trace id: version 1, epoch seconds in hex, 96 random bits."""
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def trace_header(root: str, *, sampled: bool) -> str:
    """An `X-Amzn-Trace-Id` value that carries the sampling decision, so no sampling rule decides."""
    return f"Root={root};Sampled={1 if sampled else 0}"


def sampling_decision(header: str | None) -> str | None:
    """The `Sampled` value of a trace header ("1", "0", "?"); None when it carries none."""
    match = _SAMPLED_RE.search(header or "")
    return match.group(1) if match else None


def _trace_root(header: str | None) -> str | None:
    if not header:
        return None
    match = _ROOT_RE.search(header)
    return match.group(1) if match else None


class _Exchange:
    """One request and its body, read in a daemon thread so the caller can stop waiting at a deadline.

    requests' read timeout bounds each socket read, not the whole answer: a server that trickles a
    byte a second (headers or body) never trips it. The caller waits on `done` in short slices
    (a stop signal or the run's deadline ends the wait too) and then walks away; the thread stops
    reading at the same deadline, or when its socket is closed under it.
    """

    def __init__(self, session: requests.Session, method: str, url: str, **kwargs: Any) -> None:
        self.session, self.method, self.url = session, method, url
        self.max_body_bytes: int = kwargs.pop("max_body_bytes")
        self.kwargs = kwargs
        self.done = threading.Event()
        self.abandoned = threading.Event()
        self.response: requests.Response | None = None
        self.content = b""
        self.truncated = False
        self.error: BaseException | None = None
        self.until = 0.0

    def run(self, budget_at: float) -> bool:
        """Whether the exchange finished (with an answer in `response`, or a transport `error`);
        False when the deadline or a stop came first."""
        bounds = [at for at in (budget_at, run_deadline(), stop_deadline()) if at is not None]
        self.until = min(bounds)
        worker = threading.Thread(target=self._work, name="verify-http", daemon=True)
        worker.start()
        while not self.done.wait(min(0.05, max(0.0, self.until - time.monotonic()))):
            if time.monotonic() >= self.until or waits_cancelled():
                self._abandon()
                return False
        if self.abandoned.is_set():
            return False
        if self.error is not None and not isinstance(self.error, requests.RequestException):
            raise self.error
        return True

    def _abandon(self) -> None:
        self.abandoned.set()
        response = self.response
        if response is not None:
            with contextlib.suppress(Exception):
                response.close()  # the thread's blocked read fails at once

    def _work(self) -> None:
        try:
            response = self.session.request(
                self.method, self.url, stream=True, allow_redirects=False, **self.kwargs
            )
            self.response = response
            with response:
                self.content, self.truncated = self._read_body(response)
        except BaseException as error:  # handed to the caller, who decides what it means
            self.error = error
        finally:
            self.done.set()

    def _read_body(self, response: requests.Response) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        raw = response.raw
        while not self.abandoned.is_set() and time.monotonic() < self.until:
            # read1: whatever one socket read brings, so the deadline is checked between trickles.
            chunk = raw.read1(_CHUNK_BYTES, decode_content=True)
            if not chunk:
                return b"".join(chunks), False
            if size + len(chunk) > self.max_body_bytes:
                chunks.append(chunk[: self.max_body_bytes - size])
                return b"".join(chunks), True
            chunks.append(chunk)
            size += len(chunk)
        self.abandoned.set()
        return b"", False


def _decode(content: bytes, content_type: str) -> str:
    match = _CHARSET_RE.search(content_type)
    charset = match.group(1) if match else "utf-8"
    try:
        return content.decode(charset, errors="replace")
    except LookupError:
        return content.decode("utf-8", errors="replace")


def _transport_message(
    method: str, url: str, error: requests.RequestException, timeout: tuple[float, float]
) -> str:
    # requests' own messages repeat pool internals; keep only what tells the user what to fix.
    detail = str(error)
    if isinstance(error, requests.ConnectTimeout):
        reason = f"connection timed out after {timeout[0]:g}s"
    elif isinstance(error, requests.Timeout):
        reason = f"no response within {timeout[1]:g}s"
    elif "Connection refused" in detail:
        reason = "connection refused"
    elif any(s in detail for s in ("Name or service not known", "nodename nor servname", "getaddrinfo")):
        reason = "host name not found"
    elif isinstance(error, requests.exceptions.SSLError):
        reason = "TLS handshake failed"
    elif isinstance(error, requests.ConnectionError):
        reason = "connection failed"
    else:
        return f"could not send {method} {url}: {type(error).__name__}"
    return f"could not reach {url} ({method}): {reason}; check the URL and that the endpoint is up"
