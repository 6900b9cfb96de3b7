"""SigV4-signed HTTP for IAM-authorized APIs (execute-api), on requests + requests-aws4auth.

Every request is signed with credentials frozen at that moment, so refreshed or rotated credentials
are picked up and a session token travels as `X-Amz-Security-Token`. Each request carries an
`X-Amzn-Trace-Id` root of our own (unless the caller set one), so a check can later look the
request up in X-Ray even when the API does not echo the header. Bodies are streamed and cut at
`max_body_bytes`, so a misbehaving endpoint cannot flood a report. Redirects are not followed: a
verifier reports the status it got.

Nothing here ever puts the Authorization header or the session token in a message or in evidence.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import requests
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import BotoCoreError
from requests.structures import CaseInsensitiveDict
from requests_aws4auth import AWS4Auth

from verify.errors import AwsAccessError, CheckFailed, ReadOnlyViolation
from verify.redact import REDACTOR

TEXT_LIMIT_CHARS = 4000
EVIDENCE_BODY_CHARS = 1000
_CHUNK_BYTES = 64 * 1024
_REQUEST_ID_HEADERS = ("x-amzn-RequestId", "x-amz-apigw-id", "x-amz-request-id")
_TRACE_HEADER = "X-Amzn-Trace-Id"
_ROOT_RE = re.compile(r"(?:^|;)\s*Root=([^;\s]+)")
_CHARSET_RE = re.compile(r"charset=\"?([\w.:-]+)", re.IGNORECASE)

NO_CREDENTIALS = (
    "no AWS credentials found to sign API requests: set AWS_PROFILE or "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws sso login`"
)

CredentialSource = Callable[[], Credentials] | Credentials


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
            snippet = REDACTOR.redact(" ".join(self.text[:120].split()))
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
            "body": self.text[:EVIDENCE_BODY_CHARS],
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
    ) -> None:
        self._credentials = credentials
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
    ) -> HttpResult:
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
            request_headers[_TRACE_HEADER] = f"Root={new_trace_root()}"
        auth = self._auth(credentials_override) if sign else None

        started = time.perf_counter()
        try:
            response = self._session.request(
                method,
                url,
                params=dict(params) if params else None,
                data=body,
                headers=request_headers,
                auth=auth,
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            )
            with response:
                content, truncated = _read_limited(response, self.max_body_bytes)
        except requests.RequestException as error:
            raise AwsAccessError(_transport_message(method, shown_url, error, self.timeout)) from None
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


def _trace_root(header: str | None) -> str | None:
    if not header:
        return None
    match = _ROOT_RE.search(header)
    return match.group(1) if match else None


def _read_limited(response: requests.Response, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_CHUNK_BYTES):
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


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
