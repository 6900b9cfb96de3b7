"""An independent AWS Signature Version 4 verifier, written from the AWS spec with hashlib/hmac only.

The sandbox's reference API uses it to accept or refuse requests the way API Gateway's IAM
authorization does, and the harness's own tests use it to prove the client signs correctly. It
deliberately shares no code with requests-aws4auth or botocore's signer, so a bug in either shows
up as a refusal here instead of being mirrored.

Canonical request (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)::

    METHOD \n canonical URI \n canonical query \n canonical headers \n signed headers \n payload hash

- Canonical URI: the path as sent on the wire, dot segments and repeated slashes removed, then
  URI-encoded once more. For every service but S3 the path is therefore *double* encoded
  (`/a%20b` → `/a%2520b`); that is what botocore and requests-aws4auth sign and what API Gateway
  checks.
- Canonical query: every name and value decoded (a raw "+" as a space) and re-encoded with RFC 3986
  unreserved characters left alone, sorted by name then value.
- Payload hash: SHA-256 of the body, always recomputed; an `x-amz-content-sha256` header must
  agree with it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote, unquote, unquote_plus

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


class SigV4Error(Exception):
    """The request is not validly signed; `reason` says why (it never contains a secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_request(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    secret_for: Callable[[str], str | None],
    region: str,
    service: str = "execute-api",
    now: datetime | None = None,
    max_skew_s: int = 300,
) -> str:
    """Check a received request's SigV4 signature; return the signing access key id.

    `path` and `query` are exactly as received (still percent-encoded, query without the `?`).
    `secret_for(access_key_id)` returns the secret key, or None for an unknown key.
    Raises `SigV4Error` with a short reason when anything does not match.
    """
    lower = {name.lower().strip(): value for name, value in headers.items()}
    authorization = lower.get("authorization")
    if not authorization:
        raise SigV4Error("missing Authorization header")
    if not authorization.startswith(ALGORITHM + " "):
        raise SigV4Error(f"unsupported signing algorithm (expected {ALGORITHM})")
    match = _AUTH_RE.match(authorization.strip())
    if match is None:
        raise SigV4Error("malformed Authorization header")

    credential_parts = match["credential"].split("/")
    if len(credential_parts) != 5 or credential_parts[4] != "aws4_request":
        raise SigV4Error("malformed credential scope")
    access_key, scope_date, scope_region, scope_service, _ = credential_parts
    secret = secret_for(access_key)
    if secret is None:
        raise SigV4Error("unknown access key")
    if scope_region != region:
        raise SigV4Error("credential scope region mismatch")
    if scope_service != service:
        raise SigV4Error("credential scope service mismatch")

    amz_date = lower.get("x-amz-date")
    if not amz_date:
        raise SigV4Error("missing X-Amz-Date header")
    try:
        signed_at = datetime.strptime(amz_date.strip(), AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SigV4Error("malformed X-Amz-Date header") from None
    if scope_date != signed_at.strftime("%Y%m%d"):
        raise SigV4Error("credential scope date mismatch")
    skew = ((now or datetime.now(UTC)) - signed_at).total_seconds()
    if skew > max_skew_s:
        raise SigV4Error(f"request too old (X-Amz-Date skew > {max_skew_s}s)")
    if skew < -max_skew_s:
        raise SigV4Error(f"request dated in the future (X-Amz-Date skew > {max_skew_s}s)")

    body_hash = hashlib.sha256(body).hexdigest()
    declared_hash = lower.get("x-amz-content-sha256")
    if declared_hash is not None and not hmac.compare_digest(declared_hash.strip().lower(), body_hash):
        raise SigV4Error("body hash mismatch")

    signed_headers = match["signed"].split(";")
    if signed_headers != sorted(signed_headers) or any(h != h.lower() for h in signed_headers):
        raise SigV4Error("malformed SignedHeaders (must be lowercase and sorted)")
    if "host" not in signed_headers:
        raise SigV4Error("host header is not signed")
    missing = [name for name in signed_headers if name not in lower]
    if missing:
        raise SigV4Error(f"signed header missing from request: {missing[0]}")
    if "x-amz-security-token" in lower and "x-amz-security-token" not in signed_headers:
        raise SigV4Error("x-amz-security-token header is not signed")

    canonical_headers = "".join(f"{name}:{_normalize_header_value(lower[name])}\n" for name in signed_headers)
    scope = "/".join(credential_parts[1:])
    key = signing_key(secret, scope_date, scope_region, scope_service)
    canonical_request = "\n".join(
        [
            method.upper(),
            canonical_uri(path, service),
            canonical_query(query),
            canonical_headers,
            match["signed"],
            body_hash,
        ]
    )
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date.strip(), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if hmac.compare_digest(signature, match["signature"]):
        return access_key
    raise SigV4Error("signature mismatch")


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_uri(path: str, service: str) -> str:
    if service == "s3":
        # S3 signs the path as sent, encoded once and never normalized.
        return quote(unquote(path or "/"), safe="/~")
    return quote(_remove_dot_segments(path or "/") or "/", safe="/~")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 plus collapsing repeated slashes, which AWS services also require."""
    output: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if output:
                output.pop()
        else:
            output.append(segment)
    trailing = "/" if path.endswith("/") and output else ""
    return "/" + "/".join(output) + trailing


def canonical_query(query: str) -> str:
    """Names and values decoded and re-encoded (RFC 3986 unreserved kept), sorted by name then value.

    A raw "+" is read as a space: only HTML-form encoders (requests' `params=`, which is also what
    requests-aws4auth signs) put one on the wire; RFC 3986 clients send a literal plus as %2B.
    """
    pairs: list[tuple[str, str]] = []
    for item in query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((quote(unquote_plus(name), safe="-_.~"), quote(unquote_plus(value), safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _normalize_header_value(value: str) -> str:
    return " ".join(value.split())
